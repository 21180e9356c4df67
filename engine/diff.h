// The decision impact of a new bundle revision: the same requests decided by two indexes, each
// request classified, the changes grouped so a reviewer sees "these 40 publishes lost their allow".
//
//   DecisionDiff d = DiffDecisions(*old_index, *new_index, requests, {.max_examples = 3});
//   if (d.allow_to_deny + d.deny_to_allow > 0) ...   // a decision changed
//
// Classification of one request (statements compared by "policy/statement" name, since the two
// indexes number them differently):
//   kUnchanged          same decision, reason and deciding statements
//   kAllowToDeny        ALLOW before, DENY now
//   kDenyToAllow        DENY before, ALLOW now
//   kStatementsChanged  same decision, but another reason or other deciding statements (e.g. a
//                       DEFAULT_DENY that is now an EXPLICIT_DENY, or an allow by a renamed
//                       statement)
// Changes are grouped by (kind, action, old reason and statements, new reason and statements),
// decision changes first and then the largest groups, each with its first `max_examples`
// requests.
//
// Thread safety: pure function over immutable indexes.
#ifndef FLEETPDP_ENGINE_DIFF_H_
#define FLEETPDP_ENGINE_DIFF_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "engine/request.h"
#include "engine/rule_index.h"

namespace fleetpdp::engine {

enum class ChangeKind { kUnchanged, kAllowToDeny, kDenyToAllow, kStatementsChanged };
// "unchanged", "allow_to_deny", "deny_to_allow", "statements_changed"
std::string_view ChangeKindName(ChangeKind kind);

// A decision in index-independent terms.
struct DecisionSummary {
  bool allowed = false;
  Reason reason = Reason::kDefaultDeny;
  std::vector<std::string> statements;  // "policy/statement", ascending
  friend bool operator==(const DecisionSummary&, const DecisionSummary&) = default;
};
DecisionSummary Summarize(const RuleIndex& index, const Decision& decision);

struct ChangeGroup {
  ChangeKind kind = ChangeKind::kUnchanged;
  std::string action;
  DecisionSummary old_decision;
  DecisionSummary new_decision;
  size_t count = 0;
  std::vector<size_t> examples;  // indices into the requests, ascending
};

struct DecisionDiff {
  size_t evaluated = 0;
  size_t unchanged = 0;
  size_t allow_to_deny = 0;
  size_t deny_to_allow = 0;
  size_t statements_changed = 0;
  // Changed requests only: decision changes (ALLOW→DENY, DENY→ALLOW) first, then by size.
  std::vector<ChangeGroup> groups;
  bool decisions_changed() const { return allow_to_deny + deny_to_allow > 0; }
};

struct DiffOptions {
  size_t max_examples = 3;  // per group
};

// Decides every request with both indexes (Evaluate) and classifies it.
DecisionDiff DiffDecisions(const RuleIndex& old_index, const RuleIndex& new_index,
                           absl::Span<const Request> requests, const DiffOptions& options = {});

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_DIFF_H_
