// The hot path: one decision through the rule index (see rule_index.h for the layout).
//
// Nothing here allocates for ordinary requests: candidate lists, the expanded group set and the
// traversal stack are inline vectors sized for typical fleets and spill to the heap only beyond.
#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"
#include "engine/topic.h"

namespace fleetpdp::engine {

namespace {

bool StartsWithDollar(std::string_view level) { return !level.empty() && level.front() == '$'; }

// True when the level template `parts` produces exactly `level` for this request, without
// building the string. Variable values must be safe level values (pattern.h's invariant).
bool TemplateMatchesLevel(const Template& parts, const RequestView& view, std::string_view level,
                          bool at_root) {
  // A leading variable never matches a '$' topic (pattern.h's invariant).
  if (at_root && parts.front().is_variable && level.starts_with('$')) return false;
  for (const TemplatePart& part : parts) {
    std::string_view piece;
    if (part.is_variable) {
      std::optional<std::string_view> value = view.Scalar(part.variable);
      if (!value || !IsSafeLevelValue(*value)) return false;
      piece = *value;
    } else {
      piece = part.literal;
    }
    if (!level.starts_with(piece)) return false;
    level.remove_prefix(piece.size());
  }
  return level.empty();
}

// Whether a template has a value for this request that a '+' or '#' filter level can overlap:
// it resolves, and at the root it does not start with '$'.
bool TemplateResolvable(const Template& parts, const RequestView& view, bool at_root) {
  bool first = true;
  for (const TemplatePart& part : parts) {
    std::string_view piece;
    if (part.is_variable) {
      std::optional<std::string_view> value = view.Scalar(part.variable);
      if (!value || !IsSafeLevelValue(*value)) return false;
      piece = *value;
    } else {
      piece = part.literal;
    }
    if (first && at_root && !piece.empty() && piece.front() == '$') return false;
    if (!piece.empty()) first = false;
  }
  return true;
}

using Candidates = absl::InlinedVector<StatementRef, 16>;

}  // namespace

class Evaluator {
 public:
  Evaluator(const RuleIndex& index, const Request& request)
      : index_(index), request_(request), view_(request, FindEntity(index, request)) {}

  Decision Run() {
    Decision decision;
    if (!ParseResource()) return decision;  // invalid request: default deny
    ExpandGroups();
    CollectTries();

    // Denies first: any applicable deny decides, and then allows do not matter.
    for (const RuleIndex::Trie* t : tries_) Walk(t->deny, /*deny=*/true);
    if (Applicable(decision.statements)) {
      decision.reason = Reason::kExplicitDeny;
      return decision;
    }
    candidates_.clear();
    for (const RuleIndex::Trie* t : tries_) Walk(t->allow, /*deny=*/false);
    if (Applicable(decision.statements)) {
      decision.allowed = true;
      decision.reason = Reason::kAllowed;
    }
    return decision;
  }

 private:
  static const Entity* FindEntity(const RuleIndex& index, const Request& request) {
    auto it = index.entity_numbers_.find(request.principal.id);
    return it == index.entity_numbers_.end() ? nullptr : &index.set_.entities[it->second];
  }

  // False for a request ValidateRequest would refuse: no principal, no action, or a resource that
  // is not a valid topic name (filter, for subscribe).
  bool ParseResource() {
    if (request_.principal.id.empty() || request_.action.empty()) return false;
    const std::string& r = request_.resource;
    subscribe_ = request_.action == kSubscribe;
    if (subscribe_ ? !IsValidTopicFilter(r) : !IsValidTopicName(r)) return false;
    levels_ = SplitLevels(r);
    return true;
  }

  void ExpandGroups() {
    auto add = [&](RuleIndex::Span32 span) {
      for (uint32_t i = 0; i < span.size; ++i)
        groups_.push_back(index_.closure_pool_[span.offset + i]);
    };
    if (view_.entity() != nullptr) {
      add(index_.entity_closure_[view_.entity() - index_.set_.entities.data()]);
    }
    for (const std::string& g : request_.principal.groups) {
      auto it = index_.group_numbers_.find(g);
      if (it != index_.group_numbers_.end()) {
        add(index_.group_closure_[it->second]);
      } else {
        unknown_groups_.push_back(g);  // selects nothing, but conditions may read it
      }
    }
    if (!request_.principal.groups.empty()) {
      std::sort(groups_.begin(), groups_.end());
      groups_.erase(std::unique(groups_.begin(), groups_.end()), groups_.end());
    }
  }

  void AddBucket(const RuleIndex::Bucket& bucket) {
    if (auto it = bucket.exact_actions.find(request_.action); it != bucket.exact_actions.end()) {
      tries_.push_back(&it->second);
    }
    for (const auto& [prefix, trie] : bucket.prefix_actions) {
      if (request_.action.starts_with(prefix)) tries_.push_back(&trie);
    }
  }

  void CollectTries() {
    AddBucket(index_.any_);
    if (auto it = index_.by_id_.find(request_.principal.id); it != index_.by_id_.end()) {
      AddBucket(it->second);
    }
    for (uint32_t g : groups_) {
      if (g < index_.by_group_.size()) AddBucket(index_.by_group_[g]);
    }
    if (!index_.by_attribute_.empty()) {
      auto visit = [&](const std::vector<Attribute>& attributes, bool from_request) {
        for (const Attribute& a : attributes) {
          if (a.values.size() != 1) continue;
          // A request attribute the entity also has is overridden by the entity's value.
          if (from_request && view_.entity() != nullptr &&
              std::any_of(view_.entity()->attributes.begin(), view_.entity()->attributes.end(),
                          [&](const Attribute& e) { return e.key == a.key; })) {
            continue;
          }
          auto k = index_.by_attribute_.find(a.key);
          if (k == index_.by_attribute_.end()) continue;
          auto v = k->second.find(a.values.front());
          if (v != k->second.end()) AddBucket(v->second);
        }
      };
      if (view_.entity() != nullptr) visit(view_.entity()->attributes, false);
      visit(request_.principal.attributes, true);
    }
  }

  void Walk(uint32_t root, bool deny) {
    if (root == RuleIndex::kNone) return;
    if (!subscribe_) {
      WalkTopic(root);
    } else if (deny) {
      WalkOverlap(root);
    } else {
      WalkContainment(root);
    }
  }

  void Take(const std::vector<StatementRef>& refs) {
    candidates_.insert(candidates_.end(), refs.begin(), refs.end());
  }

  struct Frame {
    uint32_t node;
    uint32_t level;
  };

  // Patterns matching the topic name levels_.
  void WalkTopic(uint32_t root) {
    const bool dollar = StartsWithDollar(levels_.front());
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const RuleIndex::TrieNode& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar)) Take(node.hash);
      if (i == levels_.size()) {
        Take(node.terminal);
        continue;
      }
      std::string_view level = levels_[i];
      if (auto it = node.literal.find(Absl(level)); it != node.literal.end())
        stack_.push_back({it->second, i + 1});
      if (node.plus != RuleIndex::kNone && !(at_root && dollar))
        stack_.push_back({node.plus, i + 1});
      for (const RuleIndex::TemplateEdge& e : node.templated) {
        if (TemplateMatchesLevel(e.parts, view_, level, at_root))
          stack_.push_back({e.child, i + 1});
      }
    }
  }

  // Allow patterns that contain the filter levels_.
  void WalkContainment(uint32_t root) {
    const bool dollar_literal = StartsWithDollar(levels_.front());
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const RuleIndex::TrieNode& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar_literal)) Take(node.hash);
      if (i == levels_.size()) {
        Take(node.terminal);
        continue;
      }
      std::string_view level = levels_[i];
      if (level == "#") {
        // Only a '#' pattern level contains a '#' filter level — and, at the root, "+/#": topic
        // names have at least one level, so there "#" and "+/#" match the same topics.
        if (at_root && node.plus != RuleIndex::kNone) Take(index_.nodes_[node.plus].hash);
        continue;
      }
      if (level == "+") {
        if (node.plus != RuleIndex::kNone) stack_.push_back({node.plus, i + 1});
        continue;
      }
      if (auto it = node.literal.find(Absl(level)); it != node.literal.end())
        stack_.push_back({it->second, i + 1});
      if (node.plus != RuleIndex::kNone && !(at_root && dollar_literal)) {
        stack_.push_back({node.plus, i + 1});
      }
      for (const RuleIndex::TemplateEdge& e : node.templated) {
        if (TemplateMatchesLevel(e.parts, view_, level, at_root))
          stack_.push_back({e.child, i + 1});
      }
    }
  }

  // Deny patterns that overlap the filter levels_.
  void WalkOverlap(uint32_t root) {
    const bool dollar_literal = StartsWithDollar(levels_.front());
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const RuleIndex::TrieNode& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar_literal)) Take(node.hash);
      if (i == levels_.size()) {
        Take(node.terminal);
        continue;
      }
      std::string_view level = levels_[i];
      if (level == "#") {
        Take(node.terminal);  // '#' also matches the parent level, where these patterns end
        TakeSubtree(n, at_root);
        continue;
      }
      if (level == "+") {
        for (const auto& [text, child] : node.literal) {
          if (!(at_root && StartsWithDollar(text))) stack_.push_back({child, i + 1});
        }
        if (node.plus != RuleIndex::kNone) stack_.push_back({node.plus, i + 1});
        for (const RuleIndex::TemplateEdge& e : node.templated) {
          if (TemplateResolvable(e.parts, view_, at_root)) stack_.push_back({e.child, i + 1});
        }
        continue;
      }
      if (auto it = node.literal.find(Absl(level)); it != node.literal.end())
        stack_.push_back({it->second, i + 1});
      if (node.plus != RuleIndex::kNone && !(at_root && dollar_literal)) {
        stack_.push_back({node.plus, i + 1});
      }
      for (const RuleIndex::TemplateEdge& e : node.templated) {
        if (TemplateMatchesLevel(e.parts, view_, level, at_root))
          stack_.push_back({e.child, i + 1});
      }
    }
  }

  // Every pattern below node `n`'s children: a '#' filter level overlaps them all (their own
  // hash entries were taken by the caller). At the root, '$' children are excluded.
  void TakeSubtree(uint32_t n, bool at_root) {
    absl::InlinedVector<uint32_t, 16> pending;
    const RuleIndex::TrieNode& start = index_.nodes_[n];
    for (const auto& [text, child] : start.literal) {
      if (!(at_root && StartsWithDollar(text))) pending.push_back(child);
    }
    if (start.plus != RuleIndex::kNone) pending.push_back(start.plus);
    for (const RuleIndex::TemplateEdge& e : start.templated) {
      if (TemplateResolvable(e.parts, view_, at_root)) pending.push_back(e.child);
    }
    while (!pending.empty()) {
      const RuleIndex::TrieNode& node = index_.nodes_[pending.back()];
      pending.pop_back();
      Take(node.hash);
      Take(node.terminal);
      for (const auto& [text, child] : node.literal) pending.push_back(child);
      if (node.plus != RuleIndex::kNone) pending.push_back(node.plus);
      for (const RuleIndex::TemplateEdge& e : node.templated) {
        if (TemplateResolvable(e.parts, view_, /*at_root=*/false)) pending.push_back(e.child);
      }
    }
  }

  // Filters candidates_ down to applicable statements (selector attributes and conditions),
  // writing them ascending and unique into `out`. Returns whether any applied.
  template <typename Out>
  bool Applicable(Out& out) {
    if (candidates_.empty()) return false;
    std::sort(candidates_.begin(), candidates_.end());
    candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
    for (StatementRef ref : candidates_) {
      const RuleIndex::CompiledStatement& s = index_.statements_[ref];
      if (!SelectorAttributesHold(index_.set_.policies[s.policy].principals)) continue;
      if (!ConditionsHold(s)) continue;
      out.push_back(ref);
    }
    return !out.empty();
  }

  bool SelectorAttributesHold(const PrincipalSelector& selector) const {
    for (const auto& [key, value] : selector.attributes) {
      AttributePath path{AttributePath::kPrincipalAttribute, key};
      std::optional<std::string_view> actual = view_.Scalar(path);
      if (!actual || *actual != value) return false;
    }
    return true;
  }

  bool ConditionsHold(const RuleIndex::CompiledStatement& s) {
    if (s.conditions.empty()) return true;
    if (s.needs_groups && !group_names_ready_) {
      for (uint32_t g : groups_) group_names_.push_back(index_.group_names_[g]);
      for (std::string_view g : unknown_groups_) {
        if (std::find(group_names_.begin(), group_names_.end(), g) == group_names_.end()) {
          group_names_.push_back(g);
        }
      }
      group_names_ready_ = true;
    }
    return ConditionsApply(s.conditions, s.effect, view_, group_names_);
  }

  const RuleIndex& index_;
  const Request& request_;
  const RequestView view_;
  bool subscribe_ = false;
  Levels levels_;
  absl::InlinedVector<uint32_t, 16> groups_;
  absl::InlinedVector<std::string_view, 4> unknown_groups_;
  absl::InlinedVector<std::string_view, 16> group_names_;  // built on first need
  bool group_names_ready_ = false;
  absl::InlinedVector<const RuleIndex::Trie*, 16> tries_;
  absl::InlinedVector<Frame, 32> stack_;
  Candidates candidates_;
};

Decision Evaluate(const RuleIndex& index, const Request& request) {
  return Evaluator(index, request).Run();
}

}  // namespace fleetpdp::engine
