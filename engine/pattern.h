// Attribute paths, policy variables and resource patterns: the compiled form of the strings in a
// statement, and how they are resolved against one request.
//
//   absl::StatusOr<ResourcePattern> p =
//   ParseResourcePattern("devices/${principal.id}/telemetry/#"); ResolvedPattern r; if
//   (ResolvePattern(*p, view, r)) { ... r.levels is {"devices", "cam-1", "telemetry", "#"} ... }
//
// Invariant (the "no widening" rule): a variable's value is always compared as literal text. A
// value that is missing, empty, or contains '/', '+', '#' or NUL makes the whole pattern match
// nothing, so no value can add levels or wildcards to a pattern; and a variable that starts the
// first level never matches a '$' topic (as a leading wildcard would not).
//
// Thread safety: parsed patterns are immutable values; resolution writes only to its output.
#ifndef FLEETPDP_ENGINE_PATTERN_H_
#define FLEETPDP_ENGINE_PATTERN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "engine/policy.h"
#include "engine/request.h"
#include "engine/topic.h"

namespace fleetpdp::engine {

// A place a value comes from: "principal.id", "principal.attributes.region", "context.source_ip".
struct AttributePath {
  enum Root : uint8_t {
    kPrincipalId,
    kPrincipalType,
    kPrincipalGroups,     // conditions only (a list)
    kPrincipalAttribute,  // name = the attribute key
    kContext,             // name = the context key
    kAction,              // conditions only
    kResource,            // conditions only
  };
  Root root = kPrincipalId;
  std::string name;
  std::string ToString() const;
  friend bool operator==(const AttributePath&, const AttributePath&) = default;
};

// Parses an attribute path. `for_variable` restricts it to the single-valued roots a ${…} variable
// may name. Errors are InvalidArgument: `unknown attribute path "principle.id"`.
absl::StatusOr<AttributePath> ParseAttributePath(std::string_view text, bool for_variable);

// Text with ${…} variables: alternating literal and variable parts.
struct TemplatePart {
  bool is_variable = false;
  std::string literal;     // when !is_variable
  AttributePath variable;  // when is_variable
};
using Template = std::vector<TemplatePart>;

// Splits "cam-${principal.attributes.serial}" into parts; errors on "${" without "}", an empty or
// unknown variable, or a stray "$" followed by "{" inside a variable.
absl::StatusOr<Template> ParseTemplate(std::string_view text);
bool HasVariables(const Template& t);

// One level of a resource pattern.
struct PatternLevel {
  enum Kind : uint8_t { kLiteral, kPlus, kHash, kTemplate };
  Kind kind = kLiteral;
  std::string literal;  // kLiteral
  Template parts;       // kTemplate: literal text and at least one variable
};

struct ResourcePattern {
  std::string text;  // as written
  std::vector<PatternLevel> levels;
  bool has_variables = false;
};

// Parses a resource pattern: a valid MQTT topic filter (see topic.h) whose levels may contain
// ${…} variables. '+' and '#' are wildcards only as a whole level.
absl::StatusOr<ResourcePattern> ParseResourcePattern(std::string_view text);

// Read access to the values of one request: the bundle's entity (authoritative) merged with what
// the request says. Lookups never allocate.
class RequestView {
 public:
  // `entity` may be null (a principal the bundle does not know).
  RequestView(const Request& request, const Entity* entity) : request_(request), entity_(entity) {}

  const Request& request() const { return request_; }
  const Entity* entity() const { return entity_; }
  void set_entity(const Entity* entity) { entity_ = entity; }
  std::string_view principal_type() const;

  // The values at `path`. kPrincipalGroups is not served here: the evaluator holds the expanded
  // group set. Views point into the request or the entity.
  struct Values {
    bool found = false;
    bool is_list = false;
    std::string_view scalar;                         // when found && !is_list
    const std::vector<std::string>* list = nullptr;  // when found && is_list
    size_t size() const { return !found ? 0 : is_list ? list->size() : 1; }
    std::string_view at(size_t i) const { return is_list ? std::string_view((*list)[i]) : scalar; }
  };
  Values Lookup(const AttributePath& path) const;
  // Lookup({root, name}) without building a path.
  Values Lookup(AttributePath::Root root, std::string_view name) const;
  // The single value at a path, or nullopt when missing or list-valued.
  std::optional<std::string_view> Scalar(const AttributePath& path) const;
  // Scalar({kPrincipalAttribute, name}) without building a path.
  std::optional<std::string_view> PrincipalAttribute(std::string_view name) const;

 private:
  Values PrincipalAttributeValues(std::string_view name) const;

  const Request& request_;
  const Entity* entity_;
};

// A resource pattern with its variables substituted: each level is either a wildcard ("+", "#")
// or literal text. Views point into the pattern or the request, or into `storage`.
struct ResolvedPattern {
  Levels levels;
  absl::InlinedVector<std::string, 2> storage;  // texts built from partial-level templates
};

// Substitutes variables. Returns false when the pattern can match nothing for this request (a
// variable missing, empty, or holding '/', '+', '#' or NUL). Wildcard levels come out as "+"/"#"
// only from the pattern itself; substituted text never contains them (see the invariant above).
bool ResolvePattern(const ResourcePattern& pattern, const RequestView& view, ResolvedPattern& out);

// Resolves a template standing for (part of) one level into `out` (cleared first); false under the
// same rule as ResolvePattern.
bool ResolveLevelTemplate(const Template& parts, const RequestView& view, std::string& out);

// True if `value` may stand as (part of) one topic level: non-empty, no '/', '+', '#' or NUL.
bool IsSafeLevelValue(std::string_view value);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_PATTERN_H_
