// The hot path: one decision through the rule index (see rule_index.h for the layout).
//
// A check hashes the principal id, the action and each resource level once; it walks the tries of
// its action (an exact one and the few prefix ones that match) and, wherever a pattern matched,
// probes the principal's keys. Nothing here allocates for ordinary requests: the levels, keys,
// candidate statements and the traversal stack are inline vectors sized for typical fleets that
// spill to the heap only beyond; typed request values are parsed once per request (ParsedValues).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"
#include "engine/topic.h"

namespace fleetpdp::engine {

// ParseResource reads eight bytes at a time as a little-endian word.
static_assert(std::endian::native == std::endian::little);

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

// Per-request scratch space: the first N elements live inline, so push_back is a compare and a
// store; beyond N they move to the heap. Only for trivially copyable T; not copyable (data_ may
// point into the object itself).
template <typename T, size_t N>
class Scratch {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  void push_back(T value) {
    if (size_ == capacity_) Grow();
    data_[size_++] = value;
  }
  void pop_back() { --size_; }
  T& back() { return data_[size_ - 1]; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  // Keeps [0, new_end - begin()).
  void truncate(T* new_end) { size_ = static_cast<size_t>(new_end - data_); }

 private:
  // Out of line and cold, so that push_back stays a compare and a store where it is inlined.
  [[gnu::noinline, gnu::cold]] void Grow() {
    capacity_ *= 2;
    if (data_ == inline_) {
      heap_.resize(capacity_);
      std::memcpy(heap_.data(), inline_, size_ * sizeof(T));
    } else {
      heap_.resize(capacity_);  // keeps the elements
    }
    data_ = heap_.data();
  }

  T inline_[N];
  T* data_ = inline_;
  size_t size_ = 0;
  size_t capacity_ = N;
  std::vector<T> heap_;
};

// Sorts and removes duplicates.
template <typename T, size_t N>
void SortUnique(Scratch<T, N>& v) {
  if (v.size() < 2) return;
  std::sort(v.begin(), v.end());
  v.truncate(std::unique(v.begin(), v.end()));
}

}  // namespace

class Evaluator {
 public:
  Evaluator(const RuleIndex& index, const Request& request)
      : index_(index), directory_(*index.directory_), request_(request), view_(request, nullptr) {}

  Decision Run() {
    Decision decision;
    // With a large fleet the principal's entry is not in cache: start loading it now, so that the
    // misses overlap with checking and splitting the resource instead of following it.
    directory_.PrefetchPrincipal(request_.principal.id);
    if (!ParseResource()) return decision;  // invalid request: default deny
    CollectTries();
    if (tries_.empty()) return decision;  // nothing for this action
    FindPrincipal();
    ExpandGroups();
    CollectKeys();

    // Denies first: any applicable deny decides, and then allows do not matter.
    for (const RuleIndex::Trie* t : tries_) Walk(t->deny, /*deny=*/true);
    if (Applicable(Effect::kDeny, decision.statements)) {
      decision.reason = Reason::kExplicitDeny;
      return decision;
    }
    candidates_.clear();
    for (const RuleIndex::Trie* t : tries_) Walk(t->allow, /*deny=*/false);
    if (Applicable(Effect::kAllow, decision.statements)) {
      decision.allowed = true;
      decision.reason = Reason::kAllowed;
    }
    return decision;
  }

 private:
  using Node = RuleIndex::TrieNode;
  static constexpr uint32_t kNone = RuleIndex::kNone;

  // The principal's entity and expanded groups; asks for the memory conditions may read (the
  // entity's attributes) while the tries are walked.
  void FindPrincipal() {
    principal_ = directory_.FindPrincipal(request_.principal.id);
    if (!principal_) return;
    const Entity& entity = directory_.entities()[principal_->entity];
    view_.set_entity(&entity);
    if (!entity.attributes.empty()) __builtin_prefetch(entity.attributes.data());
  }

  // False for a request ValidateRequest would refuse: no principal, no action, or a resource that
  // is not a valid topic name (filter, for subscribe). Splits the resource into levels and finds
  // every '+', '#' and NUL in one pass, eight bytes at a time (ByteMask), with the rules of
  // IsValidTopicName and IsValidTopicFilter.
  bool ParseResource() {
    if (request_.principal.id.empty() || request_.action.empty()) return false;
    const std::string_view r = request_.resource;
    subscribe_ = request_.action == kSubscribe;
    if (r.empty() || r.size() > kMaxTopicLength) return false;
    size_t start = 0;
    for (size_t base = 0; base < r.size(); base += 8) {
      const size_t n = std::min<size_t>(8, r.size() - base);
      const uint64_t word = LoadWord(r, base, n);
      const uint64_t valid = n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
      for (uint64_t special =
               (ByteMask(word, '+') | ByteMask(word, '#') | ByteMask(word, '\0')) & valid;
           special != 0; special &= special - 1) {
        if (!subscribe_ || !IsWildcardLevelAt(r, base + std::countr_zero(special) / 8))
          return false;
      }
      for (uint64_t slashes = ByteMask(word, '/') & valid; slashes != 0; slashes &= slashes - 1) {
        const size_t i = base + static_cast<size_t>(std::countr_zero(slashes)) / 8;
        AddLevel(r.substr(start, i - start));
        start = i + 1;
      }
    }
    AddLevel(r.substr(start));
    dollar_ = StartsWithDollar(levels_[0]);
    return true;
  }

  // The n (1-8) bytes of r at base as a little-endian word, the bytes beyond n zero. A short
  // last word of a resource of at least eight bytes is read as the resource's last eight bytes,
  // shifted.
  static uint64_t LoadWord(std::string_view r, size_t base, size_t n) {
    uint64_t word = 0;
    if (n == 8) {
      std::memcpy(&word, r.data() + base, 8);
    } else if (r.size() >= 8) {
      std::memcpy(&word, r.data() + r.size() - 8, 8);
      word >>= 8 * (8 - n);
    } else {
      for (size_t i = 0; i < n; ++i) {
        word |= uint64_t{static_cast<unsigned char>(r[base + i])} << (8 * i);
      }
    }
    return word;
  }

  // 0x80 in each byte of `word` that equals `c`, 0 in the others (exact: no false positives from
  // borrows, unlike the shorter "has a zero byte" test).
  static uint64_t ByteMask(uint64_t word, char c) {
    constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
    const uint64_t x = word ^ (0x0101010101010101ULL * static_cast<unsigned char>(c));
    return ~(((x & kLow7) + kLow7) | x | kLow7);
  }

  void AddLevel(std::string_view level) {
    levels_.push_back(level);
    level_hashes_.push_back(LevelHash(level));
  }

  // The tries for this action: the exact one and every matching prefix ("mqtt:*", "*").
  void CollectTries() {
    auto it = index_.exact_actions_.find(Absl(request_.action));
    if (it != index_.exact_actions_.end()) tries_.push_back(&it->second);
    for (const auto& [prefix, trie] : index_.prefix_actions_) {
      if (request_.action.starts_with(prefix)) tries_.push_back(&trie);
    }
  }

  void ExpandGroups() {
    auto add = [&](const uint32_t* closure, uint32_t size) {
      for (uint32_t i = 0; i < size; ++i) groups_.push_back(closure[i]);
    };
    if (principal_) add(principal_->closure, principal_->closure_size);
    for (const std::string& g : request_.principal.groups) {
      if (uint32_t number = directory_.GroupNumber(g); number != Directory::kNone) {
        const Directory::Span32 span = directory_.group_closure(number);
        add(directory_.closure_data(span), span.size);
      } else if (auto it = index_.policy_group_numbers_.find(g);
                 it != index_.policy_group_numbers_.end()) {
        groups_.push_back(it->second);  // a group only policies name: its closure is itself
      } else {
        unknown_groups_.push_back(g);  // selects nothing, but conditions may read it
      }
    }
    if (!request_.principal.groups.empty()) SortUnique(groups_);
  }

  // The principal's keys, ascending: "*", its groups (already sorted), then its id and attribute
  // pairs (numbered after every group).
  void CollectKeys() {
    keys_.push_back(RuleIndex::kAnyKey);
    for (uint32_t g : groups_) keys_.push_back(RuleIndex::kFirstGroupKey + g);
    const size_t named = keys_.size();
    if (!index_.id_keys_.empty() && (!principal_ || index_.EntityHasIdKey(principal_->entity))) {
      auto it = index_.id_keys_.find(request_.principal.id);
      if (it != index_.id_keys_.end()) keys_.push_back(it->second);
    }
    if (!index_.attribute_keys_.empty()) {
      const Entity* entity = view_.entity();
      auto visit = [&](const std::vector<Attribute>& attributes, bool from_request) {
        for (const Attribute& a : attributes) {
          if (a.values.size() != 1) continue;
          // A request attribute the entity also has is overridden by the entity's value.
          if (from_request && entity != nullptr &&
              std::any_of(entity->attributes.begin(), entity->attributes.end(),
                          [&](const Attribute& e) { return e.key == a.key; })) {
            continue;
          }
          auto k = index_.attribute_keys_.find(a.key);
          if (k == index_.attribute_keys_.end()) continue;
          auto v = k->second.find(a.values.front());
          if (v != k->second.end()) keys_.push_back(v->second);
        }
      };
      if (entity != nullptr) visit(entity->attributes, false);
      visit(request_.principal.attributes, true);
    }
    if (keys_.size() - named > 1) {
      std::sort(keys_.begin() + named, keys_.end());
      keys_.truncate(std::unique(keys_.begin() + named, keys_.end()));
    }
  }

  // The statements of a posting selected through one of the principal's keys.
  void Take(RuleIndex::Span32 posting) {
    if (posting.size == 0) return;
    const RuleIndex::Entry* entries = index_.entries_.data() + posting.offset;
    if (posting.size <= RuleIndex::kScannedEntries) {
      // Both ascending by key: merge.
      size_t k = 0;
      for (uint32_t i = 0; i < posting.size; ++i) {
        const uint32_t key = entries[i].key;
        while (k < keys_.size() && keys_[k] < key) ++k;
        if (k == keys_.size()) return;
        if (keys_[k] == key) candidates_.push_back(Candidate(entries[i]));
      }
      return;
    }
    // One probe per key, each a likely miss in a large index: start them all first so that the
    // misses overlap instead of following one another.
    const uint64_t high = uint64_t{posting.offset} << 32;
    for (uint32_t key : keys_) index_.runs_.Prefetch(high | key);
    for (uint32_t key : keys_) {
      const RuleIndex::Span32* run = index_.runs_.Find(high | key);
      if (run == nullptr) continue;
      if ((run->offset & RuleIndex::kInlineRun) != 0) {  // a run of one entry, in the slot
        candidates_.push_back(uint64_t{run->offset & ~RuleIndex::kInlineRun} << 32 | run->size);
        continue;
      }
      const RuleIndex::Entry* first = index_.entries_.data() + run->offset;
      for (uint32_t i = 0; i < run->size; ++i) candidates_.push_back(Candidate(first[i]));
    }
  }

  // The child of `node` along a literal edge labelled with resource level `i`.
  uint32_t LiteralChild(uint32_t node, size_t i) const {
    return index_.literal_edges_.Find(node, level_hashes_[i], levels_[i]);
  }

  void Walk(uint32_t root, bool deny) {
    if (root == kNone) return;
    if (!subscribe_) {
      WalkTopic(root);
    } else if (deny) {
      WalkOverlap(root);
    } else {
      WalkContainment(root);
    }
  }

  // Follows a literal, '+' and ${…} edges from `n` that match the ordinary level `i`.
  void PushMatchingChildren(uint32_t n, const Node& node, uint32_t i, bool at_root) {
    if (uint32_t child = LiteralChild(n, i); child != kNone) stack_.push_back({child, i + 1});
    if (node.plus != kNone && !(at_root && dollar_)) stack_.push_back({node.plus, i + 1});
    for (uint32_t e = 0; e < node.templates.size; ++e) {
      const RuleIndex::TemplateEdge& edge = index_.template_edges_[node.templates.offset + e];
      if (TemplateMatchesLevel(edge.parts, view_, levels_[i], at_root)) {
        stack_.push_back({edge.child, i + 1});
      }
    }
  }

  struct Frame {
    uint32_t node;
    uint32_t level;
  };

  // Patterns matching the topic name levels_.
  void WalkTopic(uint32_t root) {
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const Node& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar_)) Take(node.hash);
      if (i == levels_.size()) {
        Take(node.terminal);
        continue;
      }
      PushMatchingChildren(n, node, i, at_root);
    }
  }

  // Allow patterns that contain the filter levels_.
  void WalkContainment(uint32_t root) {
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const Node& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar_)) Take(node.hash);
      if (i == levels_.size()) {
        Take(node.terminal);
        continue;
      }
      std::string_view level = levels_[i];
      if (level == "#") {
        // Only a '#' pattern level contains a '#' filter level — and, at the root, "+/#": topic
        // names have at least one level, so there "#" and "+/#" match the same topics.
        if (at_root && node.plus != kNone) Take(index_.nodes_[node.plus].hash);
        continue;
      }
      if (level == "+") {
        if (node.plus != kNone) stack_.push_back({node.plus, i + 1});
        continue;
      }
      PushMatchingChildren(n, node, i, at_root);
    }
  }

  // Deny patterns that overlap the filter levels_.
  void WalkOverlap(uint32_t root) {
    stack_.clear();
    stack_.push_back({root, 0});
    while (!stack_.empty()) {
      auto [n, i] = stack_.back();
      stack_.pop_back();
      const Node& node = index_.nodes_[n];
      const bool at_root = i == 0;
      if (!(at_root && dollar_)) Take(node.hash);
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
        // Every child: a literal one unless it is a '$' level at the root, '+', and ${…} ones
        // with a value. Only children on the way to this principal's patterns are visited.
        GuidedChildren(n, at_root, children_);
        for (uint32_t child : children_) stack_.push_back({child, i + 1});
        continue;
      }
      PushMatchingChildren(n, node, i, at_root);
    }
  }

  // The children of `n` on the way to deny patterns selected by one of the principal's keys that
  // a '+' or '#' filter level overlaps: not a literal '$' level at the root, not a ${…} level
  // without a value. Unique.
  template <typename Out>
  void GuidedChildren(uint32_t n, bool at_root, Out& out) {
    out.clear();
    const uint64_t high = uint64_t{n} << 32;
    for (uint32_t key : keys_) {
      const RuleIndex::Span32* children = index_.guide_.Find(high | key);
      if (children == nullptr) continue;
      for (uint32_t c = 0; c < children->size; ++c) {
        const uint32_t child = index_.guide_children_[children->offset + c];
        const Node& node = index_.nodes_[child];
        if (at_root && node.dollar) continue;
        if (node.via_template != kNone &&
            !TemplateResolvable(index_.template_edges_[node.via_template].parts, view_, at_root)) {
          continue;
        }
        out.push_back(child);
      }
    }
    SortUnique(out);
  }

  // Every pattern of this principal below node `n`'s children: a '#' filter level overlaps them
  // all (their own hash entries were taken by the caller). At the root, '$' children are
  // excluded.
  void TakeSubtree(uint32_t n, bool at_root) {
    Scratch<uint32_t, 16> pending, children;
    GuidedChildren(n, at_root, pending);
    while (!pending.empty()) {
      const uint32_t next = pending.back();
      pending.pop_back();
      const Node& node = index_.nodes_[next];
      Take(node.hash);
      Take(node.terminal);
      GuidedChildren(next, /*at_root=*/false, children);
      for (uint32_t child : children) pending.push_back(child);
    }
  }

  // A candidate as (ref << 1 | check) << 32 | packed condition: sorting sorts by statement.
  static uint64_t Candidate(const RuleIndex::Entry& e) {
    return uint64_t{e.statement} << 32 | e.condition;
  }

  // Filters candidates_ (all of `effect`) down to applicable statements (selector attributes and
  // conditions), writing them ascending and unique into `out`. Returns whether any applied.
  template <typename Out>
  bool Applicable(Effect effect, Out& out) {
    if (candidates_.empty()) return false;
    SortUnique(candidates_);
    for (uint64_t candidate : candidates_) {
      const auto statement = static_cast<uint32_t>(candidate >> 32);
      const StatementRef ref = statement >> 1;
      if (const auto packed = static_cast<uint32_t>(candidate); packed != kNone) {
        const Truth t = PackedTruth(packed);
        if (t == Truth::kFalse || (t == Truth::kUnknown && effect == Effect::kAllow)) continue;
      }
      if ((statement & 1) != 0) {
        const RuleIndex::HotStatement& s = index_.hot_[ref];
        if (s.selector_attributes &&
            !SelectorAttributesHold(index_.policies_[s.policy].principals)) {
          continue;
        }
        // A packed condition was tested above, from the entry.
        if (!s.packed && s.condition_count != 0 && !ConditionsHold(s)) continue;
      }
      out.push_back(ref);
    }
    return !out.empty();
  }

  // The packed condition `number` for this request, evaluated once per request: statements of
  // many policies share one (the same region, the same network).
  Truth PackedTruth(uint32_t number) {
    for (const PackedTruthEntry& e : packed_truths_) {
      if (e.number == number) return e.truth;
    }
    const Truth t = index_.packed_conditions_[number].Evaluate(view_, &parsed_);
    packed_truths_.push_back({number, t});
    return t;
  }

  bool SelectorAttributesHold(const PrincipalSelector& selector) const {
    for (const auto& [key, value] : selector.attributes) {
      std::optional<std::string_view> actual = view_.PrincipalAttribute(key);
      if (!actual || *actual != value) return false;
    }
    return true;
  }

  bool ConditionsHold(const RuleIndex::HotStatement& s) {
    if (s.needs_groups && !group_names_ready_) {
      for (uint32_t g : groups_) group_names_.push_back(index_.group_name(g));
      for (std::string_view g : unknown_groups_) {
        if (std::find(group_names_.begin(), group_names_.end(), g) == group_names_.end()) {
          group_names_.push_back(g);
        }
      }
      group_names_ready_ = true;
    }
    return ConditionsApply(absl::MakeConstSpan(s.conditions, s.condition_count), s.effect, view_,
                           group_names_, &parsed_);
  }

  const RuleIndex& index_;
  const Directory& directory_;
  const Request& request_;
  std::optional<Directory::Principal> principal_;  // none for a principal the bundle lacks
  RequestView view_;                               // its entity is set by FindPrincipal
  bool subscribe_ = false;
  bool dollar_ = false;  // the resource's first level starts with '$'
  Scratch<std::string_view, 8> levels_;
  Scratch<uint64_t, 8> level_hashes_;  // LevelHash of each level
  Scratch<uint32_t, 16> groups_;
  absl::InlinedVector<std::string_view, 4> unknown_groups_;
  absl::InlinedVector<std::string_view, 16> group_names_;  // built on first need
  bool group_names_ready_ = false;
  Scratch<uint32_t, 16> keys_;
  Scratch<const RuleIndex::Trie*, 4> tries_;
  Scratch<Frame, 32> stack_;
  Scratch<uint32_t, 16> children_;
  Scratch<uint64_t, 32> candidates_;  // see Candidate()
  struct PackedTruthEntry {
    uint32_t number;
    Truth truth;
  };
  Scratch<PackedTruthEntry, 8> packed_truths_;
  ParsedValues parsed_;
};

Decision Evaluate(const RuleIndex& index, const Request& request) {
  return Evaluator(index, request).Run();
}

}  // namespace fleetpdp::engine
