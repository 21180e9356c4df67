#include "engine/directory.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/pace.h"
#include "engine/rule_index.h"

namespace fleetpdp::engine {

absl::StatusOr<std::shared_ptr<const Directory>> Directory::Build(std::vector<Group> groups,
                                                                  std::vector<Entity> entities,
                                                                  const CompileLimits& limits) {
  if (entities.size() > limits.max_entities) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bundle has ", entities.size(), " entities, over the limit of ", limits.max_entities));
  }
  if (groups.size() > limits.max_groups) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bundle has ", groups.size(), " groups, over the limit of ", limits.max_groups));
  }
  std::shared_ptr<Directory> d(new Directory());
  d->groups_ = std::move(groups);
  d->entities_ = std::move(entities);
  d->Index();
  if (absl::Status s = d->IndexPrincipals(); !s.ok()) return s;
  return std::shared_ptr<const Directory>(std::move(d));
}

Directory::~Directory() { ClearPaced(entities_); }

void Directory::Index() {
  // Numbers. Validate has rejected duplicate ids; emplace keeps the first anyway.
  group_names_.reserve(groups_.size());
  for (const Group& g : groups_) {
    auto [it, inserted] = group_numbers_.emplace(g.id, group_names_.size());
    if (inserted) group_names_.push_back(g.id);
  }

  // Each group's closure: itself and all ancestors, sorted. Iterative (no recursion on input);
  // Validate has rejected cycles, and the seen marks guard against them anyway.
  const size_t n = group_names_.size();
  std::vector<std::vector<uint32_t>> parents(n);
  for (const Group& g : groups_) {
    const uint32_t me = group_numbers_.find(g.id)->second;
    for (const std::string& p : g.parents) {
      if (uint32_t parent = GroupNumber(p); parent != kNone) parents[me].push_back(parent);
    }
  }
  group_closure_.resize(n);
  std::vector<uint32_t> stack, closure;
  std::vector<uint32_t> seen_mark(n, kNone);
  for (uint32_t g = 0; g < n; ++g) {
    PaceEvery(g, 1024);
    closure.clear();
    stack.assign(1, g);
    seen_mark[g] = g;
    while (!stack.empty()) {
      const uint32_t x = stack.back();
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
    group_closure_[g] = {static_cast<uint32_t>(closure_pool_.size()),
                         static_cast<uint32_t>(closure.size())};
    closure_pool_.insert(closure_pool_.end(), closure.begin(), closure.end());
  }
}

// Each entity's expanded groups, and the table of principals by id (see directory.h).
absl::Status Directory::IndexPrincipals() {
  size_t capacity = 16;
  while (capacity < 2 * entities_.size()) capacity *= 2;
  slots_.assign(capacity, kEmptySlot);
  mask_ = capacity - 1;
  std::vector<uint32_t> closure;
  for (uint32_t e = 0; e < entities_.size(); ++e) {
    PaceEvery(e, 1024);
    const Entity& entity = entities_[e];
    // Validate has rejected duplicate ids; the first is kept anyway.
    const uint64_t hash = LevelHash(entity.id);
    const size_t slot = Probe(entity.id, hash);
    if (slots_[slot] != kEmptySlot) continue;
    closure.clear();
    for (const std::string& g : entity.groups) {
      const uint32_t number = GroupNumber(g);
      if (number == kNone) continue;
      const Span32 span = group_closure_[number];
      closure.insert(closure.end(), closure_pool_.begin() + span.offset,
                     closure_pool_.begin() + span.offset + span.size);
    }
    std::sort(closure.begin(), closure.end());
    closure.erase(std::unique(closure.begin(), closure.end()), closure.end());

    const size_t offset = records_.size();
    const size_t id_words = (entity.id.size() + 3) / 4;
    if (offset + kClosure + closure.size() + id_words >= UINT32_MAX) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the entities' ids and groups need more than 16 GiB of index (at entity \"",
                       entity.id, "\")"));
    }
    records_.push_back(e);
    records_.push_back(static_cast<uint32_t>(closure.size()));
    records_.push_back(static_cast<uint32_t>(entity.id.size()));
    records_.insert(records_.end(), closure.begin(), closure.end());
    records_.resize(records_.size() + id_words, 0);
    std::memcpy(records_.data() + records_.size() - id_words, entity.id.data(), entity.id.size());
    slots_[slot] = (hash >> 32 << 32) | offset;
  }
  return absl::OkStatus();
}

}  // namespace fleetpdp::engine
