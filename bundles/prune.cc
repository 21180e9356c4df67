#include "bundles/prune.h"

#include <exception>
#include <set>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "bundles/digest.h"
#include "engine/absl_compat.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::bundles {
namespace {

// Emits `node` keeping what a plain `emitter << node` loses: a scalar quoted in the source stays
// double-quoted (else "true" or "null" written as strings would come back as other YAML types),
// and flow collections stay flow.
void Emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") out << YAML::DoubleQuoted;
      out << node.Scalar();
      break;
    case YAML::NodeType::Sequence:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const YAML::Node& item : node) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginMap;
      for (auto it = node.begin(); it != node.end(); ++it) {
        out << YAML::Key;
        Emit(out, it->first);
        out << YAML::Value;
        Emit(out, it->second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      break;
  }
}

// yaml-cpp throws when asked the type of a node a lookup did not find: ask IsDefined first.
bool IsSequence(const YAML::Node& node) { return node.IsDefined() && node.IsSequence(); }
bool IsScalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }
bool IsMap(const YAML::Node& node) { return node.IsDefined() && node.IsMap(); }

std::string IdOf(const YAML::Node& item) {
  if (!IsMap(item)) return "";
  YAML::Node id = item["id"];
  return IsScalar(id) ? id.Scalar() : "";
}

// Replaces the list `doc[key]` by its items whose id is in `keep` (removes it when none is left);
// returns how many remain.
size_t FilterById(YAML::Node doc, const char* key, const std::set<std::string>& keep) {
  YAML::Node list = static_cast<const YAML::Node&>(doc)[key];
  if (!IsSequence(list)) return 0;
  YAML::Node kept(YAML::NodeType::Sequence);
  kept.SetStyle(list.Style());
  for (const YAML::Node& item : list) {
    if (keep.contains(IdOf(item))) kept.push_back(item);
  }
  if (kept.size() == 0) {
    doc.remove(key);  // an emptied list is left out rather than written as "[]"
  } else {
    doc[key] = kept;
  }
  return kept.size();
}

using CaseKey = std::tuple<std::string, int, int>;  // file, line, column (1-based)

struct Kept {
  std::set<std::string> policies, groups, entities;
  std::set<CaseKey> cases;
};

// The document as it should appear in the pruned bundle, or a null node to drop it.
// Lookups go through `view` (const): a non-const yaml-cpp operator[] may add the key it looks for.
YAML::Node PruneDocument(YAML::Node doc, const std::string& path, const Kept& kept) {
  const YAML::Node& view = doc;
  if (!IsMap(view) || !IsScalar(view["kind"])) return doc;
  const std::string kind = view["kind"].Scalar();
  if (kind == "Policy") {
    YAML::Node metadata = view["metadata"];
    bool keep = IsMap(metadata) && IsScalar(metadata["name"]) &&
                kept.policies.contains(metadata["name"].Scalar());
    return keep ? doc : YAML::Node();
  }
  if (kind == "Entities") {
    size_t remaining = 0;
    if (IsSequence(view["groups"])) remaining += FilterById(doc, "groups", kept.groups);
    for (const char* section : {"devices", "services", "users"}) {
      if (IsSequence(view[section])) remaining += FilterById(doc, section, kept.entities);
    }
    return remaining > 0 ? doc : YAML::Node();
  }
  if (kind == "PolicyTest") {
    YAML::Node cases = view["cases"];
    if (!IsSequence(cases)) return {};
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node& c : cases) {
      const YAML::Mark mark = c.Mark();
      if (kept.cases.contains(CaseKey{path, mark.line + 1, mark.column + 1})) out.push_back(c);
    }
    if (out.size() == 0) return {};
    doc["cases"] = out;
    return doc;
  }
  return doc;
}

}  // namespace

absl::StatusOr<BundleFiles> PruneBundleFiles(const BundleFiles& files,
                                             const engine::PruneResult& pruned,
                                             std::string_view selector) {
  Kept kept;
  for (const engine::Policy& p : pruned.set.policies) kept.policies.insert(p.name);
  for (const engine::Group& g : pruned.set.groups) kept.groups.insert(g.id);
  for (const engine::Entity& e : pruned.set.entities) kept.entities.insert(e.id);
  for (const engine::TestCase& t : pruned.tests) {
    kept.cases.insert(CaseKey{t.location.file, t.location.line, t.location.column});
  }
  BundleFiles source = files;
  source.erase(std::string(kSignaturesPath));
  const std::string source_digest = BundleDigest(source);

  BundleFiles out;
  for (const auto& [path, content] : source) {
    try {
      if (path == kManifestPath) {
        YAML::Node manifest = YAML::Load(content);
        std::string old;
        const YAML::Node& view = manifest;
        if (IsScalar(view["description"])) old = view["description"].Scalar();
        std::string note = absl::StrCat("pruned for \"", Absl(selector), "\" from digest ",
                                        source_digest, old.empty() ? "" : ": ", old);
        manifest["description"] = note;
        YAML::Emitter e;
        Emit(e, manifest);
        out.emplace(path, absl::StrCat(e.c_str(), "\n"));
        continue;
      }
      if (!IsBundleDocument(path)) {
        out.emplace(path, content);
        continue;
      }
      std::string text;
      for (const YAML::Node& doc : YAML::LoadAll(content)) {
        if (doc.IsNull()) continue;
        YAML::Node kept_doc = PruneDocument(doc, path, kept);
        if (!kept_doc.IsDefined() || kept_doc.IsNull()) continue;
        YAML::Emitter e;
        Emit(e, kept_doc);
        absl::StrAppend(&text, text.empty() ? "" : "---\n", e.c_str(), "\n");
      }
      if (!text.empty()) out.emplace(path, std::move(text));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot re-read: ", e.what()));
    }
  }
  return out;
}

}  // namespace fleetpdp::bundles
