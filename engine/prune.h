// Pruning a policy set down to what can apply to a selection of principals, for edge-local
// enforcement (a gateway's Mosquitto plugin in local mode needs only its own devices' rules).
//
//   absl::StatusOr<PrincipalSelection> sel = ParseSelection("group:cameras,id:gw-berlin-01");
//   absl::StatusOr<PruneResult> pruned = Prune(index->CopySet(), tests, *sel);
//   Compile(pruned->set) ...   // decides like the full set for every in-scope request
//
// Selection syntax: comma-separated terms, their union:
//   group:G    every entity in group G or in a descendant of G (G must be a declared group)
//   id:X       the entity X (X must be an entity of the set)
//   attr:K=V   every entity whose attribute K is V (or, for a list attribute, holds V)
// The selection must select at least one entity.
//
// The guarantee (what "applies to the selected principals" means). For every request whose
// principal.id is a selected entity and whose principal.groups add nothing beyond the groups the
// bundle gives that entity (and their ancestors), the pruned set decides exactly as the full set:
// same decision, reason and deciding statements (by "policy/statement" name), whatever the
// action, resource, context and request attributes. Request attributes are in scope: a request may
// add an attribute the entity lacks (DESIGN §2), so a policy selecting by attribute equality is
// kept unless the entity itself has a different value for that attribute. Out of scope: requests
// naming groups the entity is not in (they could select policies that were dropped) and
// principals that are not selected entities (for them the pruned set is not meaningful).
//
// What is kept: every policy whose selector can select a selected entity ("*"; an id of it; one of
// its groups or an ancestor of one — a device in G is in all of G's ancestors; attribute equality
// as above), with all of its statements; the selected entities; the groups they are in and every
// ancestor of those; the tests whose request is in scope. Policies, statements, groups and
// entities keep their names, so deciding statement names and test expectations stay valid.
//
// Thread safety: pure functions.
#ifndef FLEETPDP_ENGINE_PRUNE_H_
#define FLEETPDP_ENGINE_PRUNE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/policy.h"
#include "engine/policy_tests.h"

namespace fleetpdp::engine {

struct SelectionTerm {
  enum Kind { kGroup, kId, kAttribute };
  Kind kind = kGroup;
  std::string name;   // group id, entity id or attribute key
  std::string value;  // kAttribute only
};

struct PrincipalSelection {
  std::vector<SelectionTerm> terms;
  std::string ToString() const;  // the canonical text, e.g. "group:cameras,attr:region=eu"
};

// InvalidArgument naming the bad term: empty text or term, an unknown kind ("grp:x"), a missing
// name or value ("attr:region").
absl::StatusOr<PrincipalSelection> ParseSelection(std::string_view text);

struct PruneResult {
  PolicySet set;                      // what is kept, in the original order
  std::vector<TestCase> tests;        // the kept tests (locations as in the input)
  std::vector<std::string> selected;  // ids of the selected entities, in bundle order
};

// Errors (InvalidArgument): a group or entity the set does not declare; a selection that selects
// no entity.
absl::StatusOr<PruneResult> Prune(const PolicySet& set, const std::vector<TestCase>& tests,
                                  const PrincipalSelection& selection);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_PRUNE_H_
