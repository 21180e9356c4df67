// The reference evaluator: every statement of the bundle, checked one by one with the plain
// matchers of topic.h. It shares the compiled statements (patterns, conditions) with the index but
// none of its structure: no buckets, no tries, no precomputed group closures.
#include <algorithm>
#include <deque>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "engine/rule_index.h"
#include "engine/topic.h"

namespace fleetpdp::engine {
namespace {

bool ActionMatches(std::string_view pattern, std::string_view action) {
  if (pattern.ends_with('*')) {
    return action.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == action;
}

// The principal's groups and all their ancestors, by breadth-first search over group parents.
std::vector<std::string> ExpandGroups(const std::vector<Group>& declared, const Entity* entity,
                                      const Principal& principal) {
  absl::flat_hash_set<std::string> seen;
  std::deque<std::string> queue;
  auto push = [&](const std::string& g) {
    if (seen.insert(g).second) queue.push_back(g);
  };
  if (entity != nullptr) {
    for (const std::string& g : entity->groups) push(g);
  }
  for (const std::string& g : principal.groups) push(g);
  std::vector<std::string> out;
  while (!queue.empty()) {
    std::string g = queue.front();
    queue.pop_front();
    out.push_back(g);
    for (const Group& group : declared) {
      if (group.id == g) {
        for (const std::string& p : group.parents) push(p);
      }
    }
  }
  return out;
}

bool Selects(const PrincipalSelector& selector, const Request& request, const RequestView& view,
             const std::vector<std::string>& groups) {
  if (selector.any) return true;
  bool named = selector.ids.empty() && selector.groups.empty();  // attributes alone
  for (const std::string& id : selector.ids) named = named || id == request.principal.id;
  for (const std::string& g : selector.groups) {
    named = named || std::find(groups.begin(), groups.end(), g) != groups.end();
  }
  if (!named) return false;
  for (const auto& [key, value] : selector.attributes) {
    std::optional<std::string_view> actual =
        view.Scalar(AttributePath{AttributePath::kPrincipalAttribute, key});
    if (!actual || *actual != value) return false;
  }
  return true;
}

bool ResourceMatches(const ResourcePattern& pattern, Effect effect, bool subscribe,
                     LevelSpan resource, const RequestView& view) {
  ResolvedPattern resolved;
  if (!ResolvePattern(pattern, view, resolved)) return false;
  if (!subscribe) return FilterMatchesTopic(resolved.levels, resource);
  if (effect == Effect::kAllow) return FilterContains(resolved.levels, resource);
  return FiltersOverlap(resolved.levels, resource);
}

}  // namespace

std::vector<StatementTrace> ExplainDecision(const RuleIndex& index, const Request& request) {
  std::vector<StatementTrace> traces;
  const bool subscribe = request.action == kSubscribe;
  const bool valid = !request.principal.id.empty() && !request.action.empty() &&
                     (subscribe ? ValidateTopicFilter(request.resource).ok()
                                : ValidateTopicName(request.resource).ok());
  Levels resource = SplitLevels(request.resource);

  const Entity* entity = nullptr;
  for (const Entity& e : index.entities()) {
    if (e.id == request.principal.id) entity = &e;
  }
  RequestView view(request, entity);
  std::vector<std::string> groups = ExpandGroups(index.groups(), entity, request.principal);
  std::sort(groups.begin(), groups.end());
  std::vector<std::string_view> group_views(groups.begin(), groups.end());

  for (StatementRef ref = 0; ref < index.statement_count(); ++ref) {
    const RuleIndex::CompiledStatement& s = index.statement(ref);
    if (!Selects(index.policies()[s.policy].principals, request, view, groups)) continue;
    StatementTrace t;
    t.statement = ref;
    t.action_matched = std::any_of(s.actions.begin(), s.actions.end(), [&](const std::string& a) {
      return ActionMatches(a, request.action);
    });
    t.resource_matched =
        valid && std::any_of(s.resources.begin(), s.resources.end(), [&](const ResourcePattern& p) {
          return ResourceMatches(p, s.effect, subscribe, resource, view);
        });
    // Conditions, spelled out: all must hold for an allow; none may fail for a deny.
    bool conditions_apply = true;
    if (t.action_matched && t.resource_matched) {
      for (const CompiledCondition& c : s.conditions) {
        Truth truth = EvaluateCondition(c, view, group_views);
        t.conditions.push_back(truth);
        if (truth == Truth::kFalse || (truth == Truth::kUnknown && s.effect == Effect::kAllow)) {
          conditions_apply = false;
        }
      }
    }
    t.applies = t.action_matched && t.resource_matched && conditions_apply;
    traces.push_back(std::move(t));
  }
  return traces;
}

Decision EvaluateReference(const RuleIndex& index, const Request& request) {
  Decision decision;
  std::vector<StatementRef> allows, denies;
  for (const StatementTrace& t : ExplainDecision(index, request)) {
    if (!t.applies) continue;
    (index.statement(t.statement).effect == Effect::kDeny ? denies : allows).push_back(t.statement);
  }
  if (!denies.empty()) {
    decision.reason = Reason::kExplicitDeny;
    decision.statements.assign(denies.begin(), denies.end());
  } else if (!allows.empty()) {
    decision.allowed = true;
    decision.reason = Reason::kAllowed;
    decision.statements.assign(allows.begin(), allows.end());
  }
  return decision;
}

}  // namespace fleetpdp::engine
