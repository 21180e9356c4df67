// The compiled rule index and the evaluator: the hot path of every decision.
//
//   absl::StatusOr<std::shared_ptr<const RuleIndex>> index = Compile(std::move(set));
//   Decision d = Evaluate(**index, request);   // never fails: default deny
//
// Layout. Statements are grouped by the principal key that selects them (a principal id, a group,
// a first attribute pair, or "*"), then by action (exact, or a prefix for "mqtt:*"), then held in
// a trie over resource levels with literal, '+', '#' and ${…} edges, one trie for allows and one
// for denies. A check looks up only the keys the principal has (its id, its expanded groups, its
// attributes and "*"), walks only the tries for its action, and tests conditions only on the
// statements whose pattern matched — so its cost does not grow with the number of statements or
// entities in the bundle. The index may over-select candidates (conditions and selector
// attributes are checked afterwards) but never misses one: EvaluateReference checks every
// statement without the index, and tests compare the two.
//
// Decision rule: an applicable deny wins (EXPLICIT_DENY, naming every applicable deny); else an
// applicable allow (ALLOWED, naming every applicable allow); else DEFAULT_DENY. A statement is
// applicable when its policy selects the principal, one of its actions matches the request's, one
// of its resources matches (for mqtt:subscribe: an allow pattern must contain the requested filter
// and a deny pattern must overlap it), and all of its conditions hold.
//
// Thread safety: a RuleIndex is immutable after Compile; Evaluate may run on many threads at once.
#ifndef FLEETPDP_ENGINE_RULE_INDEX_H_
#define FLEETPDP_ENGINE_RULE_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/conditions.h"
#include "engine/pattern.h"
#include "engine/policy.h"
#include "engine/request.h"

namespace fleetpdp::engine {

// Budgets that make a huge bundle fail cleanly (ResourceExhausted) instead of exhausting memory.
struct CompileLimits {
  size_t max_statements = 2'000'000;
  size_t max_entities = 20'000'000;
  size_t max_groups = 1'000'000;
  size_t max_resource_levels = 64;  // levels in one resource pattern
  size_t max_trie_nodes = 20'000'000;
};

class RuleIndex;

// Validates (validate.h) and compiles. Errors: InvalidArgument with every problem (as
// ValidationReport::ToStatus), ResourceExhausted when a limit is exceeded.
absl::StatusOr<std::shared_ptr<const RuleIndex>> Compile(PolicySet set,
                                                         const CompileLimits& limits = {});

// The decision for one request through the index. Never fails; an invalid request (see
// ValidateRequest) is denied with DEFAULT_DENY.
Decision Evaluate(const RuleIndex& index, const Request& request);

// The same decision computed by checking every statement of the bundle with the plain matchers of
// topic.h: slow, obviously correct, kept for tests and fuzzers.
Decision EvaluateReference(const RuleIndex& index, const Request& request);

// Why each statement did or did not apply to a request, for `fleetpdp eval --explain`: every
// statement whose policy selects the principal, in bundle order. Slow (the reference path).
struct StatementTrace {
  StatementRef statement = 0;
  bool action_matched = false;
  bool resource_matched = false;
  std::vector<Truth> conditions;  // per condition, evaluated only when action and resource match
  bool applies = false;
};
std::vector<StatementTrace> ExplainDecision(const RuleIndex& index, const Request& request);

class RuleIndex {
 public:
  // A statement as compiled: what both evaluators check once a statement is a candidate.
  struct CompiledStatement {
    std::string name;  // "policy/statement"
    Effect effect = Effect::kAllow;
    uint32_t policy = 0;  // index into set().policies
    std::vector<std::string> actions;
    std::vector<ResourcePattern> resources;
    std::vector<CompiledCondition> conditions;
    bool needs_groups = false;  // a condition reads principal.groups
    SourceLocation location;    // where the statement is written
  };

  const PolicySet& set() const { return set_; }
  size_t statement_count() const { return statements_.size(); }
  size_t policy_count() const { return set_.policies.size(); }
  size_t entity_count() const { return set_.entities.size(); }
  size_t group_count() const { return group_names_.size(); }
  size_t trie_node_count() const { return nodes_.size(); }
  const CompiledStatement& statement(StatementRef ref) const { return statements_[ref]; }
  std::string_view statement_name(StatementRef ref) const { return statements_[ref].name; }
  std::vector<std::string> StatementNames(const Decision& decision) const;

  RuleIndex(const RuleIndex&) = delete;
  RuleIndex& operator=(const RuleIndex&) = delete;

 private:
  friend class IndexBuilder;
  friend class Evaluator;
  friend Decision EvaluateReference(const RuleIndex&, const Request&);
  friend std::vector<StatementTrace> ExplainDecision(const RuleIndex&, const Request&);
  friend absl::StatusOr<std::shared_ptr<const RuleIndex>> Compile(PolicySet, const CompileLimits&);
  RuleIndex() = default;

  static constexpr uint32_t kNone = UINT32_MAX;

  struct TemplateEdge {
    Template parts;
    uint32_t child = kNone;
  };
  struct TrieNode {
    absl::flat_hash_map<std::string, uint32_t> literal;
    uint32_t plus = kNone;
    std::vector<TemplateEdge> templated;
    std::vector<StatementRef> terminal;  // patterns ending at this node
    std::vector<StatementRef> hash;      // patterns ending in '#' below this node
  };
  struct Trie {
    uint32_t allow = kNone;
    uint32_t deny = kNone;
  };
  struct Bucket {
    absl::flat_hash_map<std::string, Trie> exact_actions;
    std::vector<std::pair<std::string, Trie>> prefix_actions;  // "mqtt:" for "mqtt:*"
  };

  PolicySet set_;
  std::vector<CompiledStatement> statements_;
  std::vector<TrieNode> nodes_;

  // Principal keys → buckets.
  Bucket any_;
  absl::flat_hash_map<std::string, Bucket> by_id_;
  std::vector<Bucket> by_group_;  // by group number
  // Attribute-only selectors: key → value → bucket (indexed by the selector's first pair).
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Bucket>> by_attribute_;

  // Groups: numbered; each group's closure (itself and every ancestor) in closure_pool_.
  std::vector<std::string> group_names_;
  absl::flat_hash_map<std::string, uint32_t> group_numbers_;
  struct Span32 {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  std::vector<Span32> group_closure_;
  // Entities: id → entity number; each entity's expanded groups in closure_pool_.
  absl::flat_hash_map<std::string_view, uint32_t> entity_numbers_;  // views into set_
  std::vector<Span32> entity_closure_;
  std::vector<uint32_t> closure_pool_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_RULE_INDEX_H_
