#include "bundles/manifest.h"

#include <charconv>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/absl_compat.h"
#include "engine/values.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::bundles {
namespace {

std::string At(const YAML::Mark& mark) {
  if (mark.is_null()) return "manifest.yaml";
  return absl::StrCat("manifest.yaml:", mark.line + 1, ":", mark.column + 1);
}

bool IsValidName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(std::string_view text) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(absl::StrCat(At(e.mark), ": ", e.msg));
  }
  if (!doc.IsMap()) {
    return absl::InvalidArgumentError(
        "manifest.yaml: must be a mapping with name and revision (and optionally created, "
        "description)");
  }
  Manifest m;
  std::vector<std::string> problems;
  bool has_name = false, has_revision = false;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    YAML::Node key = it->first;     // a copy: it-> points into a temporary
    YAML::Node value = it->second;  // a copy: it-> points into a temporary
    std::string k = key.IsScalar() ? key.Scalar() : "";
    if (!value.IsScalar() && !(value.IsNull() && k == "description")) {
      problems.push_back(absl::StrCat(At(value.Mark()), ": \"", k, "\" must be a single value"));
      continue;
    }
    const std::string v = value.IsScalar() ? value.Scalar() : "";
    if (k == "name") {
      has_name = true;
      if (!IsValidName(v)) {
        problems.push_back(absl::StrCat(At(value.Mark()), ": name \"", v,
                                        "\" must be non-empty letters, digits, '-', '_' or '.'"));
      }
      m.name = v;
    } else if (k == "revision") {
      has_revision = true;
      uint64_t r = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
      if (ec != std::errc() || end != v.data() + v.size() || r == 0) {
        problems.push_back(
            absl::StrCat(At(value.Mark()), ": revision \"", v, "\" must be a positive integer"));
      }
      m.revision = r;
    } else if (k == "created") {
      if (!engine::ParseDate(v)) {
        problems.push_back(absl::StrCat(At(value.Mark()), ": created \"", v,
                                        "\" must be an RFC 3339 time, e.g. 2026-11-28T00:00:00Z"));
      }
      m.created = v;
    } else if (k == "description") {
      m.description = v;
    } else {
      problems.push_back(absl::StrCat(At(key.Mark()), ": unknown key \"", k,
                                      "\" (expected name, revision, created, description)"));
    }
  }
  if (!has_name) problems.push_back("manifest.yaml: missing required key \"name\"");
  if (!has_revision) problems.push_back("manifest.yaml: missing required key \"revision\"");
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  return m;
}

}  // namespace fleetpdp::bundles
