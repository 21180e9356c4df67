#include "engine/rule_index.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"
#include "engine/diagnostics.h"
#include "engine/pace.h"
#include "engine/validate.h"

namespace fleetpdp::engine {

// Builds a RuleIndex from a validated PolicySet.
class IndexBuilder {
 public:
  IndexBuilder(RuleIndex& index, const CompileLimits& limits) : index_(index), limits_(limits) {}

  absl::Status Build() {
    size_t statements = 0;
    size_t name_bytes = 0;  // "policy/statement" of every statement
    // What Insert adds to the postings and the guide (at most), so that those lists are
    // allocated once: growing one copies it whole onto fresh pages, with no pace point between.
    // (Trie nodes and literal edges are not reserved: shared prefixes make their bound several
    // times too large, and reserving a hash table touches its whole control array.)
    size_t entries = 0, guide_steps = 0;
    for (const Policy& p : index_.policies_) {
      statements += p.statements.size();
      const PrincipalSelector& who = p.principals;
      const size_t keys = who.any ? 1
                                  : who.ids.size() + who.groups.size() +
                                        (who.ids.empty() && who.groups.empty() ? 1 : 0);
      for (const Statement& s : p.statements) {
        name_bytes += p.name.size() + 1 + s.id.size();
        entries += s.actions.size() * s.resources.size() * keys;
        if (s.effect == Effect::kDeny) {
          size_t levels = 0;
          for (const std::string& r : s.resources) {
            levels += 1 + static_cast<size_t>(std::count(r.begin(), r.end(), '/'));
          }
          guide_steps += s.actions.size() * levels * keys;
        }
      }
    }
    if (statements > limits_.max_statements) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bundle has ", statements, " statements, over the limit of ", limits_.max_statements));
    }
    if (const size_t limit = std::min<size_t>(limits_.max_statement_name_bytes, UINT32_MAX);
        name_bytes > limit) {
      return absl::ResourceExhaustedError(absl::StrCat("bundle's statement names take ", name_bytes,
                                                       " bytes in all, over the limit of ", limit));
    }
    if (absl::Status s = NumberPolicyGroups(); !s.ok()) return s;
    next_key_ = RuleIndex::kFirstGroupKey + static_cast<uint32_t>(index_.group_count());
    index_.statements_.reserve(statements);
    index_.hot_.reserve(statements);
    index_.statement_names_.reserve(name_bytes);
    index_.statement_name_ends_.reserve(statements);
    raw_entries_.reserve(entries);
    guide_steps_.reserve(guide_steps);
    for (uint32_t p = 0; p < index_.policies_.size(); ++p) {
      PaceEvery(p, 16);
      const Policy& policy = index_.policies_[p];
      const Keys keys = PolicyKeys(policy.principals);
      for (const Statement& s : policy.statements) {
        if (absl::Status st = AddStatement(p, policy, s, keys); !st.ok()) return st;
      }
    }
    return Finish();
  }

 private:
  // Groups that policies name but no document declares (requests may carry them) get numbers
  // after the directory's.
  absl::Status NumberPolicyGroups() {
    const Directory& directory = *index_.directory_;
    for (size_t i = 0; i < index_.policies_.size(); ++i) {
      PaceEvery(i, 1024);
      const Policy& p = index_.policies_[i];
      for (const std::string& g : p.principals.groups) {
        if (directory.GroupNumber(g) != Directory::kNone) continue;
        auto [it, inserted] = index_.policy_group_numbers_.emplace(
            g, directory.group_count() + index_.policy_groups_.size());
        if (inserted) index_.policy_groups_.push_back(g);
      }
    }
    if (index_.group_count() > limits_.max_groups) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bundle has ", index_.group_count(), " groups, over the limit of ", limits_.max_groups));
    }
    return absl::OkStatus();
  }

  // The principal key of a group a selector names (declared, or numbered by NumberPolicyGroups).
  uint32_t GroupKey(const std::string& name) const {
    uint32_t number = index_.directory_->GroupNumber(name);
    if (number == Directory::kNone) number = index_.policy_group_numbers_.find(name)->second;
    return RuleIndex::kFirstGroupKey + number;
  }

  static std::string Where(const SourceLocation& loc) {
    return absl::StrCat(loc.file, ":", loc.line, ":", loc.column, ": ");
  }

  using Keys = absl::InlinedVector<uint32_t, 4>;

  // The principal keys through which `selector` selects (see RuleIndex::kAnyKey), ascending and
  // unique. Ids and attribute pairs get their numbers on first use.
  Keys PolicyKeys(const PrincipalSelector& selector) {
    Keys keys;
    if (selector.any) {
      keys.push_back(RuleIndex::kAnyKey);
      return keys;
    }
    for (const std::string& id : selector.ids) {
      auto [it, inserted] = index_.id_keys_.emplace(id, next_key_);
      if (inserted) ++next_key_;
      keys.push_back(it->second);
    }
    for (const std::string& g : selector.groups) keys.push_back(GroupKey(g));
    if (selector.ids.empty() && selector.groups.empty()) {
      // Indexed by the first pair; every pair is checked once the statement is a candidate.
      const auto& [key, value] = selector.attributes.front();
      auto [it, inserted] = index_.attribute_keys_[key].emplace(value, next_key_);
      if (inserted) ++next_key_;
      keys.push_back(it->second);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

  absl::Status AddStatement(uint32_t policy_number, const Policy& policy, const Statement& s,
                            const Keys& keys) {
    RuleIndex::CompiledStatement c;
    c.effect = s.effect;
    c.policy = policy_number;
    c.actions = s.actions;
    c.location = s.location;
    for (const std::string& r : s.resources) {
      absl::StatusOr<ResourcePattern> p = ParseResourcePattern(r);
      if (!p.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(Where(s.location), p.status().message()));
      }
      if (p->levels.size() > limits_.max_resource_levels) {
        return absl::ResourceExhaustedError(
            absl::StrCat(Where(s.location), "resource \"", r, "\" has ", p->levels.size(),
                         " levels, over the limit of ", limits_.max_resource_levels));
      }
      c.resources.push_back(*std::move(p));
    }
    for (const Condition& cond : s.conditions) {
      absl::StatusOr<CompiledCondition> cc = CompileCondition(cond);
      if (!cc.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(cond.location), cc.status().message()));
      }
      c.needs_groups = c.needs_groups || cc->key.root == AttributePath::kPrincipalGroups;
      c.conditions.push_back(*std::move(cc));
    }
    absl::StrAppend(&index_.statement_names_, policy.name, "/", s.id);
    index_.statement_name_ends_.push_back(static_cast<uint32_t>(index_.statement_names_.size()));
    StatementRef ref = static_cast<StatementRef>(index_.statements_.size());
    index_.statements_.push_back(std::move(c));
    const RuleIndex::CompiledStatement& stored = index_.statements_.back();
    index_.hot_.push_back(RuleIndex::HotStatement{
        stored.conditions.data(), static_cast<uint32_t>(stored.conditions.size()), policy_number,
        stored.effect, stored.needs_groups,
        !policy.principals.any && !policy.principals.attributes.empty(),
        stored.conditions.size() == 1 ? PackedCondition::Pack(stored.conditions.front())
                                      : std::nullopt});

    const bool deny = stored.effect == Effect::kDeny;
    for (const std::string& action : stored.actions) {
      RuleIndex::Trie& trie = TrieFor(action);
      uint32_t& root = deny ? trie.deny : trie.allow;
      for (const ResourcePattern& pattern : stored.resources) {
        if (absl::Status st = Insert(root, pattern, ref, keys, /*guided=*/deny); !st.ok()) {
          return st;
        }
      }
    }
    return absl::OkStatus();
  }

  RuleIndex::Trie& TrieFor(std::string_view action) {
    if (action.ends_with('*')) {
      std::string_view prefix = action.substr(0, action.size() - 1);
      for (auto& [p, trie] : index_.prefix_actions_) {
        if (p == prefix) return trie;
      }
      index_.prefix_actions_.emplace_back(std::string(prefix), RuleIndex::Trie{});
      return index_.prefix_actions_.back().second;
    }
    return index_.exact_actions_[Absl(action)];
  }

  absl::StatusOr<uint32_t> NewNode() {
    if (index_.nodes_.size() >= limits_.max_trie_nodes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "rule index needs more than ", limits_.max_trie_nodes, " trie nodes (the limit)"));
    }
    index_.nodes_.emplace_back();
    return static_cast<uint32_t>(index_.nodes_.size() - 1);
  }

  // Inserts `pattern` for statement `ref`, selected through `keys`, under `root` (created on
  // first use). With `guided`, records every step for the guide (deny tries).
  absl::Status Insert(uint32_t& root, const ResourcePattern& pattern, StatementRef ref,
                      const Keys& keys, bool guided) {
    if (root == RuleIndex::kNone) {
      absl::StatusOr<uint32_t> n = NewNode();
      if (!n.ok()) return n.status();
      root = *n;
    }
    uint32_t node = root;
    for (const PatternLevel& level : pattern.levels) {
      if (level.kind == PatternLevel::kHash) {
        AddEntries(node, /*hash=*/true, keys, ref);
        return absl::OkStatus();
      }
      uint32_t next = RuleIndex::kNone;
      uint64_t text_hash = 0;
      switch (level.kind) {
        case PatternLevel::kLiteral: {
          text_hash = LevelHash(level.literal);
          auto it = literal_edges_.find(LiteralEdgeKey{node, text_hash, level.literal});
          if (it != literal_edges_.end()) next = it->second;
          break;
        }
        case PatternLevel::kPlus:
          next = index_.nodes_[node].plus;
          break;
        case PatternLevel::kTemplate:
          if (auto it = node_templates_.find(node); it != node_templates_.end()) {
            for (uint32_t e : it->second) {
              if (SameTemplate(index_.template_edges_[e].parts, level.parts)) {
                next = index_.template_edges_[e].child;
              }
            }
          }
          break;
        case PatternLevel::kHash:
          break;
      }
      if (next == RuleIndex::kNone) {
        absl::StatusOr<uint32_t> n = NewNode();
        if (!n.ok()) return n.status();
        next = *n;
        switch (level.kind) {
          case PatternLevel::kLiteral:
            literal_edges_.emplace(LiteralEdge{node, text_hash, level.literal}, next);
            index_.nodes_[next].dollar = level.literal.starts_with('$');
            break;
          case PatternLevel::kPlus:
            index_.nodes_[node].plus = next;
            break;
          case PatternLevel::kTemplate: {
            auto e = static_cast<uint32_t>(index_.template_edges_.size());
            index_.template_edges_.push_back(RuleIndex::TemplateEdge{level.parts, next});
            node_templates_[node].push_back(e);
            index_.nodes_[next].via_template = e;
            break;
          }
          case PatternLevel::kHash:
            break;
        }
      }
      if (guided) {
        for (uint32_t key : keys) guide_steps_.push_back(GuideStep{node, key, next});
      }
      node = next;
    }
    AddEntries(node, /*hash=*/false, keys, ref);
    return absl::OkStatus();
  }

  void AddEntries(uint32_t node, bool hash, const Keys& keys, StatementRef ref) {
    for (uint32_t key : keys) raw_entries_.push_back(RawEntry{node, hash, key, ref});
  }

  // Lays out what Insert collected: each node's template edges together, the postings with their
  // runs, and the guide.
  absl::Status Finish() {
    std::vector<LiteralEdgeTable::Edge> literal;
    literal.reserve(literal_edges_.size());
    for (const auto& [edge, child] : literal_edges_) {
      PaceEvery(literal.size(), 4096);
      literal.push_back(LiteralEdgeTable::Edge{edge.parent, child, edge.text});
    }
    index_.literal_edges_ = LiteralEdgeTable(literal);
    literal = {};
    literal_edges_ = {};

    std::vector<RuleIndex::TemplateEdge> edges;
    edges.reserve(index_.template_edges_.size());
    for (auto& [node, ids] : node_templates_) {
      PaceEvery(edges.size(), 4096);
      index_.nodes_[node].templates = {static_cast<uint32_t>(edges.size()),
                                       static_cast<uint32_t>(ids.size())};
      for (uint32_t id : ids) {
        index_.nodes_[index_.template_edges_[id].child].via_template =
            static_cast<uint32_t>(edges.size());
        edges.push_back(std::move(index_.template_edges_[id]));
      }
    }
    index_.template_edges_ = std::move(edges);
    node_templates_.clear();

    auto entry_order = [](const RawEntry& e) { return std::tie(e.node, e.hash, e.key, e.ref); };
    SortPaced(raw_entries_.begin(), raw_entries_.end(), [&](const RawEntry& a, const RawEntry& b) {
      return entry_order(a) < entry_order(b);
    });
    raw_entries_.erase(std::unique(raw_entries_.begin(), raw_entries_.end(),
                                   [&](const RawEntry& a, const RawEntry& b) {
                                     return entry_order(a) == entry_order(b);
                                   }),
                       raw_entries_.end());
    // Offsets into entries_ and encoded statements (ref << 1 | check) must leave kInlineRun free.
    if (raw_entries_.size() >= RuleIndex::kInlineRun ||
        index_.statements_.size() >= RuleIndex::kInlineRun / 2) {
      return absl::ResourceExhaustedError("rule index has too many (statement, principal) pairs");
    }
    index_.entries_.reserve(raw_entries_.size());
    std::vector<std::pair<uint64_t, RuleIndex::Span32>> runs;
    for (size_t i = 0, groups = 0; i < raw_entries_.size(); ++groups) {
      PaceEvery(groups, 1024);
      const RawEntry& first = raw_entries_[i];
      size_t end = i;
      while (end < raw_entries_.size() && raw_entries_[end].node == first.node &&
             raw_entries_[end].hash == first.hash) {
        ++end;
      }
      const auto offset = static_cast<uint32_t>(index_.entries_.size());
      RuleIndex::TrieNode& node = index_.nodes_[first.node];
      (first.hash ? node.hash : node.terminal) = {offset, static_cast<uint32_t>(end - i)};
      for (size_t j = i; j < end; ++j) {
        const StatementRef ref = raw_entries_[j].ref;
        const RuleIndex::HotStatement& hot = index_.hot_[ref];
        const uint32_t condition = hot.packed ? PackedNumber(*hot.packed) : RuleIndex::kNone;
        const bool check =
            hot.selector_attributes || (hot.condition_count != 0 && condition == RuleIndex::kNone);
        index_.entries_.push_back(
            RuleIndex::Entry{raw_entries_[j].key, ref << 1 | check, condition});
      }
      if (end - i > RuleIndex::kScannedEntries) {
        for (uint32_t j = offset; j < index_.entries_.size();) {
          uint32_t run_end = j;  // the entries of one key are adjacent
          while (run_end < index_.entries_.size() &&
                 index_.entries_[run_end].key == index_.entries_[j].key) {
            ++run_end;
          }
          const RuleIndex::Entry& e = index_.entries_[j];
          runs.emplace_back(
              RunKey(offset, e.key),
              run_end - j == 1 ? RuleIndex::Span32{e.statement | RuleIndex::kInlineRun, e.condition}
                               : RuleIndex::Span32{j, run_end - j});
          j = run_end;
        }
      }
      i = end;
    }
    index_.runs_ = SpanTable(runs);
    raw_entries_ = {};

    auto step_order = [](const GuideStep& s) { return std::tie(s.node, s.key, s.child); };
    SortPaced(
        guide_steps_.begin(), guide_steps_.end(),
        [&](const GuideStep& a, const GuideStep& b) { return step_order(a) < step_order(b); });
    guide_steps_.erase(std::unique(guide_steps_.begin(), guide_steps_.end(),
                                   [&](const GuideStep& a, const GuideStep& b) {
                                     return step_order(a) == step_order(b);
                                   }),
                       guide_steps_.end());
    index_.guide_children_.reserve(guide_steps_.size());
    std::vector<std::pair<uint64_t, RuleIndex::Span32>> guide;
    for (size_t i = 0; i < guide_steps_.size();) {
      PaceEvery(guide.size(), 4096);
      const GuideStep& first = guide_steps_[i];
      const auto offset = static_cast<uint32_t>(index_.guide_children_.size());
      for (; i < guide_steps_.size() && guide_steps_[i].node == first.node &&
             guide_steps_[i].key == first.key;
           ++i) {
        index_.guide_children_.push_back(guide_steps_[i].child);
      }
      guide.emplace_back(
          RunKey(first.node, first.key),
          RuleIndex::Span32{offset, static_cast<uint32_t>(index_.guide_children_.size()) - offset});
    }
    index_.guide_ = SpanTable(guide);
    guide_steps_ = {};

    if (!index_.id_keys_.empty()) {
      const Directory& directory = *index_.directory_;
      index_.entities_with_id_key_.assign((directory.entities().size() + 63) / 64, 0);
      size_t done = 0;
      for (const auto& [id, key] : index_.id_keys_) {
        PaceEvery(done++, 1024);
        if (std::optional<Directory::Principal> p = directory.FindPrincipal(id)) {
          index_.entities_with_id_key_[p->entity / 64] |= uint64_t{1} << (p->entity % 64);
        }
      }
    }
    return absl::OkStatus();
  }

  // The number of `c` in packed_conditions_, added on first use.
  uint32_t PackedNumber(const PackedCondition& c) {
    auto [it, inserted] =
        packed_numbers_.emplace(c, static_cast<uint32_t>(index_.packed_conditions_.size()));
    if (inserted) index_.packed_conditions_.push_back(c);
    return it->second;
  }

  static uint64_t RunKey(uint32_t high, uint32_t key) { return (uint64_t{high} << 32) | key; }

  static bool SameTemplate(const Template& a, const Template& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_variable != b[i].is_variable || a[i].literal != b[i].literal ||
          !(a[i].variable == b[i].variable)) {
        return false;
      }
    }
    return true;
  }

  // A (principal key, statement) pair at a place in a trie, before postings are laid out.
  struct RawEntry {
    uint32_t node;
    bool hash;  // the node's '#' posting, else its terminal one
    uint32_t key;
    StatementRef ref;
  };
  // A step of a deny pattern for a principal key: from node to child.
  struct GuideStep {
    uint32_t node;
    uint32_t key;
    uint32_t child;
  };

  // A literal edge (parent node, level text) → child node, while building; Finish lays them out
  // in a LiteralEdgeTable. The level's hash is stored so growing the map does not rehash text.
  struct LiteralEdge {
    uint32_t parent;
    uint64_t text_hash;
    std::string text;
  };
  struct LiteralEdgeKey {
    uint32_t parent;
    uint64_t text_hash;
    std::string_view text;
  };
  struct LiteralEdgeHash {
    using is_transparent = void;
    template <typename E>
    size_t operator()(const E& e) const {
      return static_cast<size_t>(e.text_hash ^ (uint64_t{e.parent} * 0x9E3779B97F4A7C15ULL));
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

  RuleIndex& index_;
  const CompileLimits& limits_;
  uint32_t next_key_ = 0;
  absl::flat_hash_map<LiteralEdge, uint32_t, LiteralEdgeHash, LiteralEdgeEq> literal_edges_;
  std::vector<RawEntry> raw_entries_;
  std::vector<GuideStep> guide_steps_;
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> node_templates_;  // node → edges
  absl::flat_hash_map<PackedCondition, uint32_t> packed_numbers_;
};

absl::StatusOr<std::shared_ptr<const RuleIndex>> Compile(PolicySet set,
                                                         const CompileLimits& limits) {
  ValidationReport report;
  Validate(set, report);
  if (!report.ok()) return report.ToStatus();
  absl::StatusOr<std::shared_ptr<const Directory>> directory =
      Directory::Build(std::move(set.groups), std::move(set.entities), limits);
  if (!directory.ok()) return directory.status();
  set.groups.clear();
  set.entities.clear();
  return CompileWithDirectory(std::move(set), *std::move(directory), limits);
}

absl::StatusOr<std::shared_ptr<const RuleIndex>> CompileWithDirectory(
    PolicySet set, std::shared_ptr<const Directory> directory, const CompileLimits& limits) {
  if (directory == nullptr) return absl::InvalidArgumentError("no directory to compile against");
  if (!set.groups.empty() || !set.entities.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a set compiled against an existing directory must not have groups or entities of its "
        "own (it has ",
        set.groups.size(), " groups and ", set.entities.size(), " entities)"));
  }
  ValidationReport report;
  Validate(set, report);  // the policies; the directory's part was validated when it was built
  if (!report.ok()) return report.ToStatus();
  std::shared_ptr<RuleIndex> index(new RuleIndex());
  index->policies_ = std::move(set.policies);
  index->directory_ = std::move(directory);
  if (absl::Status s = IndexBuilder(*index, limits).Build(); !s.ok()) return s;
  return std::shared_ptr<const RuleIndex>(std::move(index));
}

RuleIndex::~RuleIndex() {
  ClearPaced(statements_);
  ClearPaced(policies_, 256);
}

PolicySet RuleIndex::CopySet() const {
  PolicySet set;
  set.policies = policies_;
  set.groups = directory_->groups();
  set.entities = directory_->entities();
  return set;
}

std::vector<std::string> RuleIndex::StatementNames(const Decision& decision) const {
  std::vector<std::string> names;
  names.reserve(decision.statements.size());
  for (StatementRef ref : decision.statements) names.emplace_back(statement_name(ref));
  return names;
}

}  // namespace fleetpdp::engine
