#include "engine/rule_index.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"
#include "engine/diagnostics.h"
#include "engine/validate.h"

namespace fleetpdp::engine {

// Builds a RuleIndex from a validated PolicySet.
class IndexBuilder {
 public:
  IndexBuilder(RuleIndex& index, const CompileLimits& limits) : index_(index), limits_(limits) {}

  absl::Status Build() {
    const PolicySet& set = index_.set_;
    size_t statements = 0;
    for (const Policy& p : set.policies) statements += p.statements.size();
    if (statements > limits_.max_statements) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bundle has ", statements, " statements, over the limit of ", limits_.max_statements));
    }
    if (set.entities.size() > limits_.max_entities) {
      return absl::ResourceExhaustedError(absl::StrCat("bundle has ", set.entities.size(),
                                                       " entities, over the limit of ",
                                                       limits_.max_entities));
    }
    if (absl::Status s = NumberGroups(); !s.ok()) return s;
    ExpandGroups();
    IndexEntities();
    index_.statements_.reserve(statements);
    for (uint32_t p = 0; p < set.policies.size(); ++p) {
      const Policy& policy = set.policies[p];
      for (const Statement& s : policy.statements) {
        if (absl::Status st = AddStatement(p, policy, s); !st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }

 private:
  uint32_t GroupNumber(std::string_view name) {
    auto [it, inserted] =
        index_.group_numbers_.emplace(std::string(name), index_.group_names_.size());
    if (inserted) index_.group_names_.emplace_back(name);
    return it->second;
  }

  absl::Status NumberGroups() {
    const PolicySet& set = index_.set_;
    for (const Group& g : set.groups) GroupNumber(g.id);
    // Groups that only policies name (requests may carry them) get numbers too.
    for (const Policy& p : set.policies) {
      for (const std::string& g : p.principals.groups) GroupNumber(g);
    }
    if (index_.group_names_.size() > limits_.max_groups) {
      return absl::ResourceExhaustedError(absl::StrCat("bundle has ", index_.group_names_.size(),
                                                       " groups, over the limit of ",
                                                       limits_.max_groups));
    }
    return absl::OkStatus();
  }

  // Each group's closure: itself and all ancestors, sorted. Iterative (no recursion on input);
  // Validate has rejected cycles, and the visited set guards against them anyway.
  void ExpandGroups() {
    const PolicySet& set = index_.set_;
    size_t n = index_.group_names_.size();
    std::vector<std::vector<uint32_t>> parents(n);
    for (const Group& g : set.groups) {
      uint32_t me = index_.group_numbers_.find(g.id)->second;
      for (const std::string& p : g.parents) {
        auto it = index_.group_numbers_.find(p);
        if (it != index_.group_numbers_.end()) parents[me].push_back(it->second);
      }
    }
    index_.group_closure_.resize(n);
    std::vector<uint32_t> stack, closure;
    std::vector<uint32_t> seen_mark(n, UINT32_MAX);
    for (uint32_t g = 0; g < n; ++g) {
      closure.clear();
      stack.assign(1, g);
      seen_mark[g] = g;
      while (!stack.empty()) {
        uint32_t x = stack.back();
        stack.pop_back();
        closure.push_back(x);
        for (uint32_t p : parents[x]) {
          if (seen_mark[p] != g) {
            seen_mark[p] = g;
            stack.push_back(p);
          }
        }
      }
      std::sort(closure.begin(), closure.end());
      index_.group_closure_[g] = {static_cast<uint32_t>(index_.closure_pool_.size()),
                                  static_cast<uint32_t>(closure.size())};
      index_.closure_pool_.insert(index_.closure_pool_.end(), closure.begin(), closure.end());
    }
  }

  void IndexEntities() {
    const PolicySet& set = index_.set_;
    index_.entity_numbers_.reserve(set.entities.size());
    index_.entity_closure_.resize(set.entities.size());
    std::vector<uint32_t> closure;
    for (uint32_t e = 0; e < set.entities.size(); ++e) {
      const Entity& entity = set.entities[e];
      index_.entity_numbers_.emplace(entity.id, e);
      closure.clear();
      for (const std::string& g : entity.groups) {
        auto it = index_.group_numbers_.find(g);
        if (it == index_.group_numbers_.end()) continue;
        RuleIndex::Span32 span = index_.group_closure_[it->second];
        closure.insert(closure.end(), index_.closure_pool_.begin() + span.offset,
                       index_.closure_pool_.begin() + span.offset + span.size);
      }
      std::sort(closure.begin(), closure.end());
      closure.erase(std::unique(closure.begin(), closure.end()), closure.end());
      index_.entity_closure_[e] = {static_cast<uint32_t>(index_.closure_pool_.size()),
                                   static_cast<uint32_t>(closure.size())};
      index_.closure_pool_.insert(index_.closure_pool_.end(), closure.begin(), closure.end());
    }
  }

  static std::string Where(const SourceLocation& loc) {
    return absl::StrCat(loc.file, ":", loc.line, ":", loc.column, ": ");
  }

  absl::Status AddStatement(uint32_t policy_number, const Policy& policy, const Statement& s) {
    RuleIndex::CompiledStatement c;
    c.name = absl::StrCat(policy.name, "/", s.id);
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
    StatementRef ref = static_cast<StatementRef>(index_.statements_.size());
    index_.statements_.push_back(std::move(c));
    const RuleIndex::CompiledStatement& stored = index_.statements_.back();

    // Insert into every bucket this statement's policy selects through. Buckets are filled one at
    // a time: a reference into a flat_hash_map does not survive the next insertion.
    auto add_to = [&](RuleIndex::Bucket& bucket) -> absl::Status {
      for (const std::string& action : stored.actions) {
        RuleIndex::Trie& trie = TrieFor(bucket, action);
        uint32_t& root = stored.effect == Effect::kAllow ? trie.allow : trie.deny;
        for (const ResourcePattern& pattern : stored.resources) {
          if (absl::Status st = Insert(root, pattern, ref); !st.ok()) return st;
        }
      }
      return absl::OkStatus();
    };
    const PrincipalSelector& sel = policy.principals;
    if (sel.any) return add_to(index_.any_);
    if (sel.ids.empty() && sel.groups.empty()) {
      const auto& [key, value] = sel.attributes.front();
      return add_to(index_.by_attribute_[key][value]);
    }
    for (const std::string& id : sel.ids) {
      if (absl::Status st = add_to(index_.by_id_[id]); !st.ok()) return st;
    }
    index_.by_group_.resize(index_.group_names_.size());
    for (const std::string& g : sel.groups) {
      uint32_t number = index_.group_numbers_.find(g)->second;
      if (absl::Status st = add_to(index_.by_group_[number]); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  static RuleIndex::Trie& TrieFor(RuleIndex::Bucket& bucket, std::string_view action) {
    if (action.ends_with('*')) {
      std::string_view prefix = action.substr(0, action.size() - 1);
      for (auto& [p, trie] : bucket.prefix_actions) {
        if (p == prefix) return trie;
      }
      bucket.prefix_actions.emplace_back(std::string(prefix), RuleIndex::Trie{});
      return bucket.prefix_actions.back().second;
    }
    return bucket.exact_actions[Absl(action)];
  }

  absl::StatusOr<uint32_t> NewNode() {
    if (index_.nodes_.size() >= limits_.max_trie_nodes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "rule index needs more than ", limits_.max_trie_nodes, " trie nodes (the limit)"));
    }
    index_.nodes_.emplace_back();
    return static_cast<uint32_t>(index_.nodes_.size() - 1);
  }

  // Inserts `pattern` under `root` (created on first use). Node references are re-read after
  // every NewNode() because the node vector may reallocate.
  absl::Status Insert(uint32_t& root, const ResourcePattern& pattern, StatementRef ref) {
    if (root == RuleIndex::kNone) {
      absl::StatusOr<uint32_t> n = NewNode();
      if (!n.ok()) return n.status();
      root = *n;
    }
    uint32_t node = root;
    for (const PatternLevel& level : pattern.levels) {
      if (level.kind == PatternLevel::kHash) {
        AddUnique(index_.nodes_[node].hash, ref);
        return absl::OkStatus();
      }
      uint32_t next = RuleIndex::kNone;
      switch (level.kind) {
        case PatternLevel::kLiteral: {
          auto& literal = index_.nodes_[node].literal;
          if (auto it = literal.find(level.literal); it != literal.end()) next = it->second;
          break;
        }
        case PatternLevel::kPlus:
          next = index_.nodes_[node].plus;
          break;
        case PatternLevel::kTemplate:
          for (const RuleIndex::TemplateEdge& e : index_.nodes_[node].templated) {
            if (SameTemplate(e.parts, level.parts)) next = e.child;
          }
          break;
        case PatternLevel::kHash:
          break;
      }
      if (next == RuleIndex::kNone) {
        absl::StatusOr<uint32_t> n = NewNode();
        if (!n.ok()) return n.status();
        next = *n;
        RuleIndex::TrieNode& parent = index_.nodes_[node];
        switch (level.kind) {
          case PatternLevel::kLiteral:
            parent.literal.emplace(level.literal, next);
            break;
          case PatternLevel::kPlus:
            parent.plus = next;
            break;
          case PatternLevel::kTemplate:
            parent.templated.push_back(RuleIndex::TemplateEdge{level.parts, next});
            break;
          case PatternLevel::kHash:
            break;
        }
      }
      node = next;
    }
    AddUnique(index_.nodes_[node].terminal, ref);
    return absl::OkStatus();
  }

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

  // Statements are inserted in ascending order, so a duplicate can only be the last entry.
  static void AddUnique(std::vector<StatementRef>& refs, StatementRef ref) {
    if (refs.empty() || refs.back() != ref) refs.push_back(ref);
  }

  RuleIndex& index_;
  const CompileLimits& limits_;
};

absl::StatusOr<std::shared_ptr<const RuleIndex>> Compile(PolicySet set,
                                                         const CompileLimits& limits) {
  ValidationReport report;
  Validate(set, report);
  if (!report.ok()) return report.ToStatus();
  std::shared_ptr<RuleIndex> index(new RuleIndex());
  index->set_ = std::move(set);
  if (absl::Status s = IndexBuilder(*index, limits).Build(); !s.ok()) return s;
  return std::shared_ptr<const RuleIndex>(std::move(index));
}

std::vector<std::string> RuleIndex::StatementNames(const Decision& decision) const {
  std::vector<std::string> names;
  names.reserve(decision.statements.size());
  for (StatementRef ref : decision.statements) names.emplace_back(statement_name(ref));
  return names;
}

}  // namespace fleetpdp::engine
