#include "bundles/parse_cache.h"

#include <utility>
#include <vector>

#include "bundles/digest.h"
#include "engine/validate.h"

namespace fleetpdp::bundles {
namespace {

template <typename T>
void Append(const std::vector<T>& from, std::vector<T>& to) {
  to.insert(to.end(), from.begin(), from.end());
}

void Append(const engine::ParsedSources& from, engine::ParsedSources& to) {
  Append(from.set.policies, to.set.policies);
  Append(from.set.groups, to.set.groups);
  Append(from.set.entities, to.set.entities);
  Append(from.tests, to.tests);
}

}  // namespace

engine::ValidationReport ParseCache::Parse(const BundleFiles& files, engine::ParsedSources& out) {
  engine::ValidationReport report;
  absl::flat_hash_map<std::string, Entry> next;
  last_ = Stats{};
  for (const auto& [path, content] : files) {
    if (!IsBundleDocument(path)) continue;
    std::string sha256 = Sha256Hex(content);
    if (auto it = by_path_.find(path); it != by_path_.end() && it->second.sha256 == sha256) {
      Append(*it->second.parsed, out);
      ++last_.reused;
      last_.bytes_reused += content.size();
      next.emplace(path, std::move(it->second));
      continue;
    }
    auto parsed = std::make_shared<engine::ParsedSources>();
    engine::ValidationReport file_report;
    engine::ParseFile(engine::SourceFile{path, content}, *parsed, file_report);
    ++last_.parsed;
    last_.bytes_parsed += content.size();
    for (const engine::Diagnostic& d : file_report.errors()) report.AddError(d.location, d.message);
    Append(*parsed, out);
    if (file_report.ok()) next.emplace(path, Entry{std::move(sha256), std::move(parsed)});
  }
  by_path_ = std::move(next);
  engine::Validate(out.set, report);
  return report;
}

}  // namespace fleetpdp::bundles
