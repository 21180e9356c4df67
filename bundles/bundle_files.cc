#include "bundles/bundle_files.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/absl_compat.h"

namespace fleetpdp::bundles {

namespace {

// Paths are user input: quote them escaped, so a control character cannot forge a log line, and
// cut a huge one short.
std::string QuotePath(std::string_view path) {
  constexpr size_t kShown = 128;
  if (path.size() <= kShown) return absl::StrCat("\"", absl::CHexEscape(Absl(path)), "\"");
  return absl::StrCat("\"", absl::CHexEscape(Absl(path.substr(0, kShown))), "\"...");
}

absl::Status Invalid(std::string_view path, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("path ", QuotePath(path), " ", Absl(problem)));
}

}  // namespace

absl::Status ValidateBundlePath(std::string_view path, const ReadLimits& limits) {
  if (path.empty()) return absl::InvalidArgumentError("path \"\" is empty");
  if (path.size() > limits.max_path_bytes) {
    return Invalid(path, absl::StrCat("is ", path.size(), " bytes long, over the limit of ",
                                      limits.max_path_bytes, " (max_path_bytes)"));
  }
  if (path.front() == '/') return Invalid(path, "is absolute");
  for (char c : path) {
    // Control characters (a newline above all) would make the canonical list ambiguous: a path
    // "a\n<hash>  b" reads like two lines of it.
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return Invalid(path, absl::StrFormat("contains a control character (0x%02x)", byte));
    }
    if (c == '\\') return Invalid(path, "contains a backslash");
  }
  // Segments: every piece between '/' separators, including an empty last one ("a/").
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view segment =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment == "..") return Invalid(path, "leaves the bundle (\"..\" segment)");
    if (segment == ".") return Invalid(path, "has a \".\" segment");
    if (segment.empty()) return Invalid(path, "has an empty segment");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return absl::OkStatus();
}

bool IsBundleDocument(std::string_view path) {
  const bool in_dir =
      path.starts_with("policies/") || path.starts_with("entities/") || path.starts_with("tests/");
  return in_dir && (path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json"));
}

}  // namespace fleetpdp::bundles
