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
    uint32_t entity = kNone;  // index into entities()
    Span32 closure;           // the entity's expanded groups (group numbers, ascending)
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

  // Starts loading the memory FindPrincipal(id) will read (a hint; no effect on the result).
  void PrefetchPrincipal(std::string_view id) const { principals_.prefetch(id); }

  // The entity with this id, or null.
  const Principal* FindPrincipal(std::string_view id) const {
    auto it = principals_.find(id);
    return it == principals_.end() ? nullptr : &it->second;
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
  std::vector<uint32_t> closure_pool_;  // spans named by group_closure_ and Principal::closure
  // Keys view entities_. Hashed with LevelHash: absl::Hash of a std::string_view goes through
  // std::hash and then mixes, about 100 instructions for an id against about 15; only the
  // bundle's own ids are ever inserted (see LevelHash).
  struct IdHash {
    size_t operator()(std::string_view id) const { return LevelHash(id); }
  };
  absl::flat_hash_map<std::string_view, Principal, IdHash> principals_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_DIRECTORY_H_
