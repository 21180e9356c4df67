#include "engine/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace fleetpdp::engine {

std::string_view ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kUnchanged:
      return "unchanged";
    case ChangeKind::kAllowToDeny:
      return "allow_to_deny";
    case ChangeKind::kDenyToAllow:
      return "deny_to_allow";
    case ChangeKind::kStatementsChanged:
      return "statements_changed";
  }
  return "?";
}

DecisionSummary Summarize(const RuleIndex& index, const Decision& decision) {
  DecisionSummary s;
  s.allowed = decision.allowed;
  s.reason = decision.reason;
  s.statements = index.StatementNames(decision);
  std::sort(s.statements.begin(), s.statements.end());
  return s;
}

namespace {

// Orders groups for the map that collects them.
using GroupKey = std::tuple<int, std::string, bool, int, std::vector<std::string>, bool, int,
                            std::vector<std::string>>;

GroupKey KeyOf(ChangeKind kind, const std::string& action, const DecisionSummary& a,
               const DecisionSummary& b) {
  return {static_cast<int>(kind),     action,       a.allowed,
          static_cast<int>(a.reason), a.statements, b.allowed,
          static_cast<int>(b.reason), b.statements};
}

}  // namespace

DecisionDiff DiffDecisions(const RuleIndex& old_index, const RuleIndex& new_index,
                           absl::Span<const Request> requests, const DiffOptions& options) {
  DecisionDiff diff;
  std::map<GroupKey, ChangeGroup> groups;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    DecisionSummary before = Summarize(old_index, Evaluate(old_index, r));
    DecisionSummary after = Summarize(new_index, Evaluate(new_index, r));
    ++diff.evaluated;
    ChangeKind kind;
    if (before.allowed && !after.allowed) {
      kind = ChangeKind::kAllowToDeny;
      ++diff.allow_to_deny;
    } else if (!before.allowed && after.allowed) {
      kind = ChangeKind::kDenyToAllow;
      ++diff.deny_to_allow;
    } else if (before != after) {
      kind = ChangeKind::kStatementsChanged;
      ++diff.statements_changed;
    } else {
      ++diff.unchanged;
      continue;
    }
    ChangeGroup& g = groups[KeyOf(kind, r.action, before, after)];
    if (g.count == 0) {
      g.kind = kind;
      g.action = r.action;
      g.old_decision = std::move(before);
      g.new_decision = std::move(after);
    }
    ++g.count;
    if (g.examples.size() < options.max_examples) g.examples.push_back(i);
  }
  for (auto& [key, g] : groups) diff.groups.push_back(std::move(g));
  // Decision changes before statement changes, then the largest groups; ties keep key order.
  std::stable_sort(diff.groups.begin(), diff.groups.end(),
                   [](const ChangeGroup& a, const ChangeGroup& b) {
                     bool a_decides = a.kind != ChangeKind::kStatementsChanged;
                     bool b_decides = b.kind != ChangeKind::kStatementsChanged;
                     if (a_decides != b_decides) return a_decides;
                     return a.count > b.count;
                   });
  return diff;
}

}  // namespace fleetpdp::engine
