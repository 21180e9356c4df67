#include "bundles/source_directory.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleetpdp::bundles {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSourceDirectories[] = {"policies", "entities", "tests"};

bool IsDocument(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

absl::Status ReadFile(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot open \"", path.string(), "\""));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read \"", path.string(), "\""));
  out = std::move(buffer).str();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<engine::SourceFile>> ReadSourceDirectory(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat("\"", root.string(),
                                            "\" is not a directory (expected a policy source "
                                            "directory with policies/, entities/ and tests/)"));
  }
  if (!fs::is_directory(root / "policies", ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", root.string(), "\" has no policies/ directory"));
  }
  std::vector<engine::SourceFile> files;
  for (const char* dir : kSourceDirectories) {
    fs::path base = root / dir;
    if (!fs::exists(base, ec)) continue;
    fs::recursive_directory_iterator it(base, ec), end;
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot list \"", base.string(), "\": ", ec.message()));
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("cannot list \"", base.string(), "\": ", ec.message()));
      }
      const fs::directory_entry& entry = *it;
      fs::path relative = entry.path().lexically_relative(root);
      if (entry.is_symlink(ec)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", relative.string(), "\" is a symbolic link; bundles hold regular files only"));
      }
      if (!entry.is_regular_file(ec) || !IsDocument(entry.path())) continue;
      engine::SourceFile file;
      file.path = relative.generic_string();
      if (absl::Status s = ReadFile(entry.path(), file.text); !s.ok()) return s;
      files.push_back(std::move(file));
    }
  }
  std::sort(
      files.begin(), files.end(),
      [](const engine::SourceFile& a, const engine::SourceFile& b) { return a.path < b.path; });
  return files;
}

absl::StatusOr<CompiledSource> CompileSourceDirectory(const fs::path& root,
                                                      const engine::CompileLimits& limits) {
  absl::StatusOr<std::vector<engine::SourceFile>> files = ReadSourceDirectory(root);
  if (!files.ok()) return files.status();
  engine::ParsedSources parsed;
  engine::ValidationReport report = engine::ParseSources(*files, parsed);
  if (!report.ok()) return report.ToStatus();
  absl::StatusOr<std::shared_ptr<const engine::RuleIndex>> index =
      engine::Compile(std::move(parsed.set), limits);
  if (!index.ok()) return index.status();
  return CompiledSource{std::move(parsed.tests), *std::move(index)};
}

}  // namespace fleetpdp::bundles
