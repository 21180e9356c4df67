// The compiled rule index and the evaluator: the hot path of every decision.
//
//   absl::StatusOr<std::shared_ptr<const RuleIndex>> index = Compile(std::move(set));
//   Decision d = Evaluate(**index, request);   // never fails: default deny
//
// Layout. The index is inverted: the resource is matched first, the principal last. For every
// action (exact, or a prefix for "mqtt:*") there is one trie of allows and one of denies over the
// resource levels of the whole bundle, with literal, '+', '#' and ${…} edges. Where a pattern
// ends, the trie holds its statements keyed by the principal key that selects them: "*", a
// principal id, a group, or the first attribute pair of an attribute-only selector. A check
// hashes its action and each resource level once, walks the one or two tries of its action, and
// at each place a pattern matched probes only the principal's own keys ("*", its id, its
// expanded groups, its attribute pairs) — so its cost depends on how many patterns match the
// resource and how many keys the principal has, not on the number of statements or entities in
// the bundle. Literal edges of all tries live in one hash table keyed by (node, level text).
// The index may over-select candidates (conditions and selector attributes are checked
// afterwards) but never misses one: EvaluateReference checks every statement without the index,
// and tests compare the two.
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
#include <utility>
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

  struct Span32 {
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  // Principal keys: the ways a policy selects a principal, numbered densely. kAnyKey is "*";
  // group number g has key kFirstGroupKey + g; principal ids and attribute pairs named by
  // selectors take the numbers after the groups.
  static constexpr uint32_t kAnyKey = 0;
  static constexpr uint32_t kFirstGroupKey = 1;

  // One place in a trie where patterns end: (principal key, statement) pairs in entries_, sorted
  // by key, then statement, without duplicates. A posting with more than kScannedEntries entries
  // also has the run of each of its keys in runs_, so a check probes it once per principal key
  // instead of scanning it.
  static constexpr uint32_t kScannedEntries = 16;
  struct Entry {
    uint32_t key;
    StatementRef ref;
  };

  struct TemplateEdge {
    Template parts;
    uint32_t child = kNone;
  };
  struct TrieNode {
    uint32_t plus = kNone;
    uint32_t terminal = kNone;  // posting of patterns ending at this node
    uint32_t hash = kNone;      // posting of patterns ending in '#' below this node
    Span32 templates;           // this node's ${…} edges, in template_edges_
    // How the edge into this node is labelled, for walks that enumerate children (a '+' or '#'
    // level of a SUBSCRIBE filter against deny patterns): the ${…} edge, if it is one, and
    // whether it is a literal starting with '$'.
    uint32_t via_template = kNone;
    bool dollar = false;
  };
  struct Trie {
    uint32_t allow = kNone;
    uint32_t deny = kNone;
  };

  // A literal edge (parent node, level text) → child node. The level's hash is stored and looked
  // up precomputed, so a check hashes each resource level once for all the tries it walks.
  struct LiteralEdge {
    uint32_t parent;
    size_t text_hash;
    std::string text;
  };
  struct LiteralEdgeKey {
    uint32_t parent;
    size_t text_hash;
    std::string_view text;
  };
  struct LiteralEdgeHash {
    using is_transparent = void;
    size_t operator()(const LiteralEdge& e) const { return Mix(e.parent, e.text_hash); }
    size_t operator()(const LiteralEdgeKey& e) const { return Mix(e.parent, e.text_hash); }
    static size_t Mix(uint32_t parent, size_t text_hash) {
      uint64_t x = (text_hash ^ (uint64_t{parent} * 0x9E3779B97F4A7C15ULL));
      x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ULL;
      return static_cast<size_t>(x ^ (x >> 29));
    }
  };
  struct LiteralEdgeEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.parent == b.parent && a.text_hash == b.text_hash &&
             std::string_view(a.text) == std::string_view(b.text);
    }
  };
  static size_t LevelHash(std::string_view level);

  // What a check needs of a statement once it is a candidate, packed apart from the rest.
  struct StatementFlags {
    bool has_conditions = false;
    bool selector_attributes = false;  // its policy's selector also requires attribute values
  };

  // A principal id the bundle names (as an entity, in a selector, or both).
  struct PrincipalEntry {
    uint32_t entity = kNone;  // index into set_.entities
    uint32_t key = kNone;     // its principal key, when a selector names it
  };

  PolicySet set_;
  std::vector<CompiledStatement> statements_;
  std::vector<StatementFlags> flags_;  // by StatementRef

  // The tries, by action.
  absl::flat_hash_map<std::string, Trie> exact_actions_;
  std::vector<std::pair<std::string, Trie>> prefix_actions_;  // "mqtt:" for "mqtt:*"
  std::vector<TrieNode> nodes_;
  absl::flat_hash_map<LiteralEdge, uint32_t, LiteralEdgeHash, LiteralEdgeEq> literal_edges_;
  std::vector<TemplateEdge> template_edges_;

  // Postings (see Entry).
  std::vector<Span32> postings_;  // into entries_
  std::vector<Entry> entries_;
  absl::flat_hash_map<uint64_t, Span32> runs_;  // (posting << 32 | key) → run in entries_

  // For deny tries only: (node << 32 | principal key) → the children of node on the way to a
  // pattern selected by that key, in guide_children_. A SUBSCRIBE filter's '+' or '#' level
  // against deny patterns enumerates children; the guide lets it visit only those leading to
  // patterns of this principal instead of every deny pattern in the bundle.
  absl::flat_hash_map<uint64_t, Span32> guide_;
  std::vector<uint32_t> guide_children_;

  // Principal ids → entity and key (views into set_).
  absl::flat_hash_map<std::string_view, PrincipalEntry> principals_;
  // Attribute-only selectors: attribute key → value → principal key.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, uint32_t>> attribute_keys_;

  // Groups: numbered; each group's closure (itself and every ancestor) in closure_pool_.
  std::vector<std::string> group_names_;
  absl::flat_hash_map<std::string, uint32_t> group_numbers_;
  std::vector<Span32> group_closure_;
  // Entities: each entity's expanded groups in closure_pool_.
  std::vector<Span32> entity_closure_;
  std::vector<uint32_t> closure_pool_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_RULE_INDEX_H_
