#include "bundles/parse_cache.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bundles/digest.h"
#include "engine/pace.h"
#include "engine/validate.h"

namespace fleetpdp::bundles {
namespace {

// Copies in steps of 64 with a pace point between them (engine/pace.h). `to` has room for all
// of `from`: a reserve here, once per document, re-allocated the whole list each time (exactly
// the size asked for), moving every policy already appended — quadratic in the documents, and
// the longest unpaced stretches of a reload.
template <typename T>
void Append(const std::vector<T>& from, std::vector<T>& to) {
  for (size_t i = 0; i < from.size(); i += 64) {
    engine::PacePoint();
    const size_t end = std::min(from.size(), i + 64);
    to.insert(to.end(), from.begin() + i, from.begin() + end);
  }
}

}  // namespace

engine::ValidationReport ParseCache::Parse(const BundleFiles& files, engine::ParsedSources& out,
                                           std::string_view omit_directory_if,
                                           const FileHashes* hashes) {
  engine::ValidationReport report;
  absl::flat_hash_map<std::string, Entry> next;
  last_ = Stats{};
  // Each document, parsed or taken from the cache, in path order.
  struct Document {
    const std::string* path;
    std::string sha256;  // empty when it failed to parse
    std::shared_ptr<const engine::ParsedSources> parsed;
  };
  std::vector<Document> documents;
  bool all_parsed = true;
  for (const auto& [path, content] : files) {
    if (!IsBundleDocument(path)) continue;
    engine::PacePoint();
    std::string sha256 = hashes != nullptr ? hashes->find(path)->second : Sha256Hex(content);
    if (auto it = by_path_.find(path); it != by_path_.end() && it->second.sha256 == sha256) {
      ++last_.reused;
      last_.bytes_reused += content.size();
      documents.push_back({&path, sha256, it->second.parsed});
      next.emplace(path, std::move(it->second));
      continue;
    }
    auto parsed = std::make_shared<engine::ParsedSources>();
    engine::ValidationReport file_report;
    engine::ParseFile(engine::SourceFile{path, content}, *parsed, file_report);
    ++last_.parsed;
    last_.bytes_parsed += content.size();
    for (const engine::Diagnostic& d : file_report.errors()) report.AddError(d.location, d.message);
    if (file_report.ok()) {
      documents.push_back({&path, sha256, parsed});
      next.emplace(path, Entry{std::move(sha256), std::move(parsed)});
    } else {
      all_parsed = false;
      documents.push_back({&path, "", std::move(parsed)});
    }
  }
  by_path_ = std::move(next);

  if (all_parsed) {
    std::string listing;
    for (const Document& d : documents) {
      if (d.parsed->set.groups.empty() && d.parsed->set.entities.empty()) continue;
      absl::StrAppend(&listing, *d.path, "\n", d.sha256, "\n");
    }
    last_.directory_fingerprint = Sha256Hex(listing);
  }
  last_.directory_omitted =
      !omit_directory_if.empty() && last_.directory_fingerprint == omit_directory_if;
  size_t policies = out.set.policies.size(), groups = out.set.groups.size(),
         entities = out.set.entities.size(), tests = out.tests.size();
  for (const Document& d : documents) {
    policies += d.parsed->set.policies.size();
    groups += d.parsed->set.groups.size();
    entities += d.parsed->set.entities.size();
    tests += d.parsed->tests.size();
  }
  out.set.policies.reserve(policies);
  if (!last_.directory_omitted) {
    out.set.groups.reserve(groups);
    out.set.entities.reserve(entities);
  }
  out.tests.reserve(tests);
  for (const Document& d : documents) {
    Append(d.parsed->set.policies, out.set.policies);
    if (!last_.directory_omitted) {
      Append(d.parsed->set.groups, out.set.groups);
      Append(d.parsed->set.entities, out.set.entities);
    }
    Append(d.parsed->tests, out.tests);
  }
  engine::Validate(out.set, report);
  return report;
}

}  // namespace fleetpdp::bundles
