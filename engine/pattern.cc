#include "engine/pattern.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/absl_compat.h"

namespace fleetpdp::engine {
namespace {

constexpr std::string_view kAttributesPrefix = "principal.attributes.";
constexpr std::string_view kContextPrefix = "context.";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':';
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

const Attribute* FindAttribute(const std::vector<Attribute>& attributes, std::string_view key) {
  for (const Attribute& a : attributes) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

RequestView::Values FromAttribute(const Attribute* a) {
  RequestView::Values v;
  if (a == nullptr) return v;
  v.found = true;
  if (a->is_list || a->values.size() != 1) {
    v.is_list = true;
    v.list = &a->values;
  } else {
    v.scalar = a->values.front();
  }
  return v;
}

RequestView::Values FromScalar(std::string_view s) {
  RequestView::Values v;
  v.found = true;
  v.scalar = s;
  return v;
}

}  // namespace

std::string AttributePath::ToString() const {
  switch (root) {
    case kPrincipalId:
      return "principal.id";
    case kPrincipalType:
      return "principal.type";
    case kPrincipalGroups:
      return "principal.groups";
    case kPrincipalAttribute:
      return absl::StrCat(Absl(kAttributesPrefix), name);
    case kContext:
      return absl::StrCat(Absl(kContextPrefix), name);
    case kAction:
      return "action";
    case kResource:
      return "resource";
  }
  return "?";
}

absl::StatusOr<AttributePath> ParseAttributePath(std::string_view text, bool for_variable) {
  AttributePath path;
  if (text == "principal.id") {
    path.root = AttributePath::kPrincipalId;
  } else if (text == "principal.type") {
    path.root = AttributePath::kPrincipalType;
  } else if (text.starts_with(kAttributesPrefix) &&
             IsValidName(text.substr(kAttributesPrefix.size()))) {
    path.root = AttributePath::kPrincipalAttribute;
    path.name = std::string(text.substr(kAttributesPrefix.size()));
  } else if (text.starts_with(kContextPrefix) && IsValidName(text.substr(kContextPrefix.size()))) {
    path.root = AttributePath::kContext;
    path.name = std::string(text.substr(kContextPrefix.size()));
  } else if (!for_variable && text == "principal.groups") {
    path.root = AttributePath::kPrincipalGroups;
  } else if (!for_variable && text == "action") {
    path.root = AttributePath::kAction;
  } else if (!for_variable && text == "resource") {
    path.root = AttributePath::kResource;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown attribute path \"", Absl(text), "\" (expected ",
        for_variable ? "principal.id, principal.type, principal.attributes.NAME or context.NAME"
                     : "principal.id, principal.type, principal.groups, "
                       "principal.attributes.NAME, context.NAME, action or resource",
        ")"));
  }
  return path;
}

absl::StatusOr<Template> ParseTemplate(std::string_view text) {
  Template parts;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) {
      parts.push_back(TemplatePart{false, std::string(text.substr(pos)), {}});
      break;
    }
    if (open > pos)
      parts.push_back(TemplatePart{false, std::string(text.substr(pos, open - pos)), {}});
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable in \"", Absl(text), "\" has no closing \"}\""));
    }
    std::string_view name = text.substr(open + 2, close - open - 2);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty variable \"${}\" in \"", Absl(text), "\""));
    }
    if (name.find("${") != std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("nested \"${\" in \"", Absl(text), "\""));
    }
    auto path = ParseAttributePath(name, /*for_variable=*/true);
    if (!path.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable \"${", Absl(name), "}\": ", path.status().message()));
    }
    parts.push_back(TemplatePart{true, {}, *std::move(path)});
    pos = close + 1;
  }
  return parts;
}

bool HasVariables(const Template& t) {
  for (const TemplatePart& p : t) {
    if (p.is_variable) return true;
  }
  return false;
}

absl::StatusOr<ResourcePattern> ParseResourcePattern(std::string_view text) {
  if (absl::Status s = ValidateTopicFilter(text); !s.ok()) return s;
  ResourcePattern pattern;
  pattern.text = std::string(text);
  for (std::string_view level : SplitLevels(text)) {
    PatternLevel l;
    if (level == "+") {
      l.kind = PatternLevel::kPlus;
    } else if (level == "#") {
      l.kind = PatternLevel::kHash;
    } else {
      absl::StatusOr<Template> parts = ParseTemplate(level);
      if (!parts.ok()) return parts.status();
      if (HasVariables(*parts)) {
        l.kind = PatternLevel::kTemplate;
        l.parts = *std::move(parts);
        pattern.has_variables = true;
      } else {
        l.kind = PatternLevel::kLiteral;
        l.literal = std::string(level);
      }
    }
    pattern.levels.push_back(std::move(l));
  }
  return pattern;
}

std::string_view RequestView::principal_type() const {
  if (entity_ != nullptr) return entity_->type;
  return request_.principal.type;
}

namespace {

std::optional<std::string_view> SingleValue(const RequestView::Values& v) {
  if (!v.found) return std::nullopt;
  if (v.is_list) {
    if (v.list->size() != 1) return std::nullopt;
    return std::string_view(v.list->front());
  }
  return v.scalar;
}

}  // namespace

RequestView::Values RequestView::PrincipalAttributeValues(std::string_view name) const {
  // The bundle is authoritative: the request can add attributes, never override them.
  if (entity_ != nullptr) {
    if (const Attribute* a = FindAttribute(entity_->attributes, name)) return FromAttribute(a);
  }
  return FromAttribute(FindAttribute(request_.principal.attributes, name));
}

std::optional<std::string_view> RequestView::PrincipalAttribute(std::string_view name) const {
  return SingleValue(PrincipalAttributeValues(name));
}

RequestView::Values RequestView::Lookup(const AttributePath& path) const {
  return Lookup(path.root, path.name);
}

RequestView::Values RequestView::Lookup(AttributePath::Root root, std::string_view name) const {
  switch (root) {
    case AttributePath::kPrincipalId:
      return FromScalar(request_.principal.id);
    case AttributePath::kPrincipalType: {
      std::string_view type = principal_type();
      return type.empty() ? Values{} : FromScalar(type);
    }
    case AttributePath::kPrincipalAttribute:
      return PrincipalAttributeValues(name);
    case AttributePath::kContext:
      return FromAttribute(FindAttribute(request_.context, name));
    case AttributePath::kAction:
      return FromScalar(request_.action);
    case AttributePath::kResource:
      return FromScalar(request_.resource);
    case AttributePath::kPrincipalGroups:
      break;
  }
  return Values{};
}

std::optional<std::string_view> RequestView::Scalar(const AttributePath& path) const {
  return SingleValue(Lookup(path));
}

bool IsSafeLevelValue(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

bool ResolveLevelTemplate(const Template& parts, const RequestView& view, std::string& out) {
  out.clear();
  for (const TemplatePart& part : parts) {
    if (!part.is_variable) {
      out.append(part.literal);
      continue;
    }
    std::optional<std::string_view> value = view.Scalar(part.variable);
    if (!value || !IsSafeLevelValue(*value)) return false;
    out.append(*value);
  }
  return true;
}

bool ResolvePattern(const ResourcePattern& pattern, const RequestView& view, ResolvedPattern& out) {
  out.levels.clear();
  out.storage.clear();
  // Storage must not reallocate while views into it are held: size it first.
  size_t partial = 0;
  for (const PatternLevel& l : pattern.levels) {
    if (l.kind == PatternLevel::kTemplate && l.parts.size() > 1) ++partial;
  }
  out.storage.reserve(partial);
  for (const PatternLevel& l : pattern.levels) {
    // A value may not steer the first level into '$' topics ("${principal.id}/#" with the client
    // id "$SYS"): like a leading wildcard, a leading variable never matches a '$' topic.
    const bool first = out.levels.empty();
    if (first && l.kind == PatternLevel::kTemplate && l.parts.front().is_variable) {
      std::optional<std::string_view> value = view.Scalar(l.parts.front().variable);
      if (value && value->starts_with('$')) return false;
    }
    switch (l.kind) {
      case PatternLevel::kLiteral:
        out.levels.push_back(l.literal);
        break;
      case PatternLevel::kPlus:
        out.levels.push_back("+");
        break;
      case PatternLevel::kHash:
        out.levels.push_back("#");
        break;
      case PatternLevel::kTemplate:
        if (l.parts.size() == 1) {
          std::optional<std::string_view> value = view.Scalar(l.parts.front().variable);
          if (!value || !IsSafeLevelValue(*value)) return false;
          out.levels.push_back(*value);
        } else {
          out.storage.emplace_back();
          if (!ResolveLevelTemplate(l.parts, view, out.storage.back())) return false;
          out.levels.push_back(out.storage.back());
        }
        break;
    }
  }
  return true;
}

}  // namespace fleetpdp::engine
