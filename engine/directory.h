// The directory: a bundle's groups and entities, compiled for lookups — group numbers, each
// group's closure (itself and every ancestor), and each entity's expanded groups by principal id.
// A RuleIndex (rule_index.h) shares it, so a new revision whose group and entity documents did not
// change compiles only its policies against the directory already in force:
//
//   auto index = Compile(std::move(set));                             // builds a directory
//   auto next = Compile(std::move(next_policies), (*index)->shared_directory());  // reuses it
//
// Why: with a million devices the directory is most of a bundle's memory and most of its
// compile time (hashing a million ids, copying and later freeing millions of small objects),
// while fleets change policies far more often than the device registry. Rebuilding it on every
// reload cost seconds of CPU and gigabytes of allocation on the request threads' cores.
//
// Deciding that two revisions have the same groups and entities is the caller's business
// (bundles/ compares the paths and SHA-256 of the documents that hold them).
//
// Thread safety: immutable after Build; lookups may run on many threads at once.
#ifndef FLEETPDP_ENGINE_DIRECTORY_H_
#define FLEETPDP_ENGINE_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/edge_table.h"  // LevelHash
#include "engine/policy.h"
#include "engine/span_table.h"

namespace fleetpdp::engine {

struct CompileLimits;

class Directory {
 public:
  using Span32 = SpanTable::Span;
  static constexpr uint32_t kNone = UINT32_MAX;

  // A principal id that names an entity.
  struct Principal {
    uint32_t entity = kNone;            // index into entities()
    const uint32_t* closure = nullptr;  // the entity's expanded groups (group numbers, ascending)
    uint32_t closure_size = 0;
  };

  // Compiles groups and entities that Validate (validate.h) accepted. Errors: ResourceExhausted
  // over `limits`.
  static absl::StatusOr<std::shared_ptr<const Directory>> Build(std::vector<Group> groups,
                                                                std::vector<Entity> entities,
                                                                const CompileLimits& limits);

  const std::vector<Group>& groups() const { return groups_; }
  const std::vector<Entity>& entities() const { return entities_; }

  // Declared groups, numbered 0 … group_count()-1 in document order.
  uint32_t group_count() const { return static_cast<uint32_t>(group_names_.size()); }
  std::string_view group_name(uint32_t number) const { return group_names_[number]; }
  // The number of a declared group, or kNone.
  uint32_t GroupNumber(std::string_view name) const {
    auto it = group_numbers_.find(name);
    return it == group_numbers_.end() ? kNone : it->second;
  }
  // A group's closure: itself and every ancestor, ascending.
  Span32 group_closure(uint32_t number) const { return group_closure_[number]; }
  // The group numbers named by a closure span.
  const uint32_t* closure_data(Span32 span) const { return closure_pool_.data() + span.offset; }

  // Starts loading the memory FindPrincipal(id) will read first (a hint; no effect on the
  // result).
  void PrefetchPrincipal(std::string_view id) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[LevelHash(id) & mask_]);
  }

  // The entity with this id, if there is one.
  std::optional<Principal> FindPrincipal(std::string_view id) const {
    if (slots_.empty()) return std::nullopt;
    const uint64_t slot = slots_[Probe(id, LevelHash(id))];
    if (slot == kEmptySlot) return std::nullopt;
    const uint32_t* record = records_.data() + static_cast<uint32_t>(slot);
    return Principal{record[kEntity], record + kClosure, record[kClosureSize]};
  }

  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
  ~Directory();  // frees the entities with pace points (pace.h)

 private:
  Directory() = default;
  void Index();

  std::vector<Group> groups_;
  std::vector<Entity> entities_;
  std::vector<std::string_view> group_names_;  // views into groups_
  absl::flat_hash_map<std::string_view, uint32_t> group_numbers_;
  std::vector<Span32> group_closure_;
  std::vector<uint32_t> closure_pool_;  // spans named by group_closure_

  // Principals by id. With a million devices, a lookup is cache misses more than instructions,
  // so everything a check needs of an entity's id sits in one compact record in records_:
  //   [entity][closure size][id size][closure: group numbers …][id bytes, padded to 4]
  // and the table is open-addressed 8-byte slots (LevelHash(id) >> 32 << 32 | record offset),
  // at most half full, probed linearly from LevelHash(id) & mask_: a lookup reads one slot and
  // one record, where a general map read a control byte, a slot, the entity (for its id) and the
  // closure pool. LevelHash is about 15 instructions for an id (absl::Hash of a string_view
  // about 100); only the bundle's own ids are ever inserted (see LevelHash).
  static constexpr uint32_t kEntity = 0, kClosureSize = 1, kIdSize = 2, kClosure = 3;
  static constexpr uint64_t kEmptySlot = UINT64_MAX;
  absl::Status IndexPrincipals();
  // The slot that holds `id` (hash == LevelHash(id)), or else the empty slot where it would go.
  size_t Probe(std::string_view id, uint64_t hash) const {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == kEmptySlot) return i;
      if (static_cast<uint32_t>(slot >> 32) != tag) continue;
      const uint32_t* record = records_.data() + static_cast<uint32_t>(slot);
      const char* text = reinterpret_cast<const char*>(record + kClosure + record[kClosureSize]);
      if (std::string_view(text, record[kIdSize]) == id) return i;
    }
  }
  std::vector<uint32_t> records_;
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_DIRECTORY_H_
