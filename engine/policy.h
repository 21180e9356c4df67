// The policy model: what policy and entity documents say, after parsing and before compilation.
//
// Plain data with source locations, produced by ParseDocument (parser.h), checked by Validate
// (validate.h) and compiled by Compile (rule_index.h). Nothing here evaluates anything.
//
//   PolicySet set;
//   ValidationReport report;
//   ParseDocument({"policies/cams.yaml", text}, set, report);
//
// Thread safety: plain values; const access from many threads is safe.
#ifndef FLEETPDP_ENGINE_POLICY_H_
#define FLEETPDP_ENGINE_POLICY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fleetpdp::engine {

// Where a construct appears in its source: 1-based line and column, as editors count.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Effect : uint8_t { kAllow, kDeny };

// How a condition treats a list-valued attribute (IAM's set operators).
enum class Quantifier : uint8_t {
  kSingle,        // the attribute must have exactly one value
  kForAnyValue,   // at least one attribute value satisfies the operator
  kForAllValues,  // every attribute value satisfies it (an empty list does; a missing one does not)
};

// One "Operator: { key: values }" entry of a statement's conditions.
struct Condition {
  Quantifier quantifier = Quantifier::kSingle;
  std::string op;   // e.g. "StringEquals", without the quantifier prefix
  std::string key;  // an attribute path, e.g. "principal.attributes.region"
  std::vector<std::string> values;
  SourceLocation location;
};

struct Statement {
  std::string id;
  Effect effect = Effect::kAllow;
  std::vector<std::string> actions;    // exact, or with a trailing '*'
  std::vector<std::string> resources;  // MQTT topic filters with ${…} variables
  std::vector<Condition> conditions;   // all must hold
  SourceLocation location;
};

// Whom a policy applies to. `any` applies to every principal. Otherwise a principal is selected
// when its id is in `ids` or it belongs to one of `groups` (directly or through a descendant
// group), and — if `attributes` is non-empty — every listed attribute equals the given value.
// Only `attributes` (no ids, no groups) selects by attributes alone.
struct PrincipalSelector {
  bool any = false;
  std::vector<std::string> ids;
  std::vector<std::string> groups;
  std::vector<std::pair<std::string, std::string>> attributes;
  SourceLocation location;
};

struct Policy {
  std::string name;
  std::vector<std::string> compliance;               // metadata.compliance: regulatory control ids
  std::vector<SourceLocation> compliance_locations;  // where each tag is written, same order
  PrincipalSelector principals;
  std::vector<Statement> statements;
  SourceLocation location;
};

// An attribute with one value or a list of values (for ForAnyValue / ForAllValues).
struct Attribute {
  std::string key;
  std::vector<std::string> values;
  bool is_list = false;
};

struct Group {
  std::string id;
  std::vector<std::string> parents;
  SourceLocation location;
};

// A device, service or user the bundle knows: its groups and attributes are authoritative.
struct Entity {
  std::string id;
  std::string type = "device";
  std::vector<std::string> groups;
  std::vector<Attribute> attributes;
  SourceLocation location;
};

// Everything a bundle says, from all of its documents.
struct PolicySet {
  std::vector<Policy> policies;
  std::vector<Group> groups;
  std::vector<Entity> entities;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_POLICY_H_
