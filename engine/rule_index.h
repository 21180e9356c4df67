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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/conditions.h"
#include "engine/directory.h"
#include "engine/edge_table.h"
#include "engine/pattern.h"
#include "engine/policy.h"
#include "engine/request.h"
#include "engine/span_table.h"

namespace fleetpdp::engine {

// Budgets that make a huge bundle fail cleanly (ResourceExhausted) instead of exhausting memory.
struct CompileLimits {
  size_t max_statements = 2'000'000;
  size_t max_entities = 20'000'000;
  size_t max_groups = 1'000'000;
  size_t max_resource_levels = 64;  // levels in one resource pattern
  size_t max_trie_nodes = 20'000'000;
  // "policy/statement" of every statement together; above 4 GiB is refused whatever this says
  // (the name table's offsets are 32 bits).
  size_t max_statement_name_bytes = UINT32_MAX;
};

class RuleIndex;

// Validates (validate.h) and compiles. Errors: InvalidArgument with every problem (as
// ValidationReport::ToStatus), ResourceExhausted when a limit is exceeded.
absl::StatusOr<std::shared_ptr<const RuleIndex>> Compile(PolicySet set,
                                                         const CompileLimits& limits = {});

// The same for a set without groups and entities: its policies are compiled against `directory`,
// the groups and entities of an index compiled before (RuleIndex::shared_directory()), which the
// new index shares instead of building its own. The caller asserts the groups and entities are
// still the bundle's; only the policies are validated. InvalidArgument when `set` has groups or
// entities of its own.
absl::StatusOr<std::shared_ptr<const RuleIndex>> CompileWithDirectory(
    PolicySet set, std::shared_ptr<const Directory> directory, const CompileLimits& limits = {});

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
  // Its name ("policy/statement") is kept apart: statement_name.
  struct CompiledStatement {
    Effect effect = Effect::kAllow;
    uint32_t policy = 0;  // index into policies()
    std::vector<std::string> actions;
    std::vector<ResourcePattern> resources;
    std::vector<CompiledCondition> conditions;
    bool needs_groups = false;  // a condition reads principal.groups
    SourceLocation location;    // where the statement is written
  };

  const std::vector<Policy>& policies() const { return policies_; }
  const std::vector<Group>& groups() const { return directory_->groups(); }
  const std::vector<Entity>& entities() const { return directory_->entities(); }
  const Directory& directory() const { return *directory_; }
  std::shared_ptr<const Directory> shared_directory() const { return directory_; }
  // A copy of the whole set this index was compiled from (policies, groups, entities).
  PolicySet CopySet() const;

  size_t statement_count() const { return statements_.size(); }
  size_t policy_count() const { return policies_.size(); }
  size_t entity_count() const { return directory_->entities().size(); }
  // Declared groups and groups that only policies name.
  size_t group_count() const { return directory_->group_count() + policy_groups_.size(); }
  // A group's name by number (declared groups first, then groups that only policies name).
  std::string_view group_name(uint32_t number) const {
    const uint32_t declared = directory_->group_count();
    return number < declared ? directory_->group_name(number) : policy_groups_[number - declared];
  }
  size_t trie_node_count() const { return nodes_.size(); }
  const CompiledStatement& statement(StatementRef ref) const { return statements_[ref]; }
  std::string_view statement_name(StatementRef ref) const {
    const uint32_t begin = ref == 0 ? 0 : statement_name_ends_[ref - 1];
    return std::string_view(statement_names_).substr(begin, statement_name_ends_[ref] - begin);
  }
  std::vector<std::string> StatementNames(const Decision& decision) const;

  RuleIndex(const RuleIndex&) = delete;
  RuleIndex& operator=(const RuleIndex&) = delete;
  ~RuleIndex();  // frees the policies and statements with pace points (pace.h)

 private:
  friend class IndexBuilder;
  friend class Evaluator;
  friend Decision EvaluateReference(const RuleIndex&, const Request&);
  friend std::vector<StatementTrace> ExplainDecision(const RuleIndex&, const Request&);
  friend absl::StatusOr<std::shared_ptr<const RuleIndex>> CompileWithDirectory(
      PolicySet, std::shared_ptr<const Directory>, const CompileLimits&);
  RuleIndex() = default;

  static constexpr uint32_t kNone = UINT32_MAX;

  using Span32 = SpanTable::Span;

  // Principal keys: the ways a policy selects a principal, numbered densely. kAnyKey is "*";
  // group number g has key kFirstGroupKey + g; principal ids and attribute pairs named by
  // selectors take the numbers after the groups.
  static constexpr uint32_t kAnyKey = 0;
  static constexpr uint32_t kFirstGroupKey = 1;

  // A posting: one place in a trie where patterns end, as a span of entries_ — (principal key,
  // statement) pairs sorted by key, then statement, without duplicates. A posting with more than
  // kScannedEntries entries also has the run of each of its keys in runs_, so a check probes it
  // once per principal key instead of scanning it. A run of one entry — the usual case: a group
  // with one statement at that place — is held in its runs_ slot itself ({statement |
  // kInlineRun, condition} instead of {offset, size}), so a probe that finds it reads nothing
  // more; offsets into entries_ stay below kInlineRun (Compile refuses larger indexes).
  //
  // An entry holds the statement as `ref << 1 | check`, where `check` says whether its
  // HotStatement must be read once it matched (selector attributes, or conditions that did not
  // pack), and the number of its packed condition in packed_conditions_ if its only condition
  // packed. Most statements then cost nothing beyond the entry, and sorting the encoded values
  // sorts by statement.
  static constexpr uint32_t kScannedEntries = 16;
  static constexpr uint32_t kInlineRun = 1u << 31;
  struct Entry {
    uint32_t key;
    uint32_t statement;  // ref << 1 | check
    uint32_t condition;  // in packed_conditions_, or kNone
  };

  struct TemplateEdge {
    Template parts;
    uint32_t child = kNone;
  };
  struct TrieNode {
    uint32_t plus = kNone;
    Span32 terminal;   // posting of patterns ending at this node
    Span32 hash;       // posting of patterns ending in '#' below this node
    Span32 templates;  // this node's ${…} edges, in template_edges_
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

  // What a check needs of a statement once it is a candidate, packed apart from the rest so
  // that a statement without conditions costs one small read. `conditions` points into the
  // statement's CompiledStatement::conditions (never resized after Compile).
  struct HotStatement {
    const CompiledCondition* conditions = nullptr;
    uint32_t condition_count = 0;
    uint32_t policy = 0;
    Effect effect = Effect::kAllow;
    bool needs_groups = false;
    bool selector_attributes = false;       // its policy's selector also requires attribute values
    std::optional<PackedCondition> packed;  // its only condition, when that one packs
  };

  std::vector<Policy> policies_;
  std::shared_ptr<const Directory> directory_;  // groups and entities, shared across revisions
  std::vector<CompiledStatement> statements_;
  std::vector<HotStatement> hot_;  // by StatementRef
  // Every statement's name, one after the other; name `ref` ends at statement_name_ends_[ref].
  // An answer names its deciding statements: in one buffer (about 4 MB for 100,000 statements)
  // a name costs a read of a small, mostly cached table and one run of characters, where a
  // string of its own in each CompiledStatement cost two cache misses in a large index.
  std::string statement_names_;
  std::vector<uint32_t> statement_name_ends_;

  // The tries, by action.
  absl::flat_hash_map<std::string, Trie> exact_actions_;
  std::vector<std::pair<std::string, Trie>> prefix_actions_;  // "mqtt:" for "mqtt:*"
  std::vector<TrieNode> nodes_;
  LiteralEdgeTable literal_edges_;
  std::vector<TemplateEdge> template_edges_;

  // Postings (see Entry).
  std::vector<Entry> entries_;
  SpanTable runs_;  // (posting's offset in entries_ << 32 | key) → run in entries_
  // The distinct packed conditions of statements whose only condition packed: few (statements
  // of many policies share them), so they stay in cache.
  std::vector<PackedCondition> packed_conditions_;

  // For deny tries only: (node << 32 | principal key) → the children of node on the way to a
  // pattern selected by that key, in guide_children_. A SUBSCRIBE filter's '+' or '#' level
  // against deny patterns enumerates children; the guide lets it visit only those leading to
  // patterns of this principal instead of every deny pattern in the bundle.
  SpanTable guide_;
  std::vector<uint32_t> guide_children_;

  // Principal ids that selectors name → their principal key.
  absl::flat_hash_map<std::string, uint32_t> id_keys_;
  // One bit per entity of the directory: whether id_keys_ holds its id. A check on a known
  // principal reads one bit (in a table of an eighth of a byte per entity, mostly cached) and
  // hashes its id again only when a selector names it, instead of on every check.
  std::vector<uint64_t> entities_with_id_key_;
  bool EntityHasIdKey(uint32_t entity) const {
    return (entities_with_id_key_[entity / 64] >> (entity % 64) & 1) != 0;
  }
  // Attribute-only selectors: attribute key → value → principal key.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, uint32_t>> attribute_keys_;

  // Groups that only policies name (requests may carry them), numbered after the directory's;
  // the closure of each is itself.
  std::vector<std::string> policy_groups_;
  absl::flat_hash_map<std::string, uint32_t> policy_group_numbers_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_RULE_INDEX_H_
