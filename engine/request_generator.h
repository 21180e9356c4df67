// Random requests shaped by policy sets' own patterns, for comparing two bundles (diff.h) and for
// checking that a pruned bundle decides like the full one (prune.h).
//
//   RequestGeneratorOptions options;
//   options.count = 100'000;
//   std::vector<Request> requests = GenerateRequests({&old_set, &new_set}, options);
//
// What a request is made of:
//   - principal: an entity of the sets (or of `options.principals` when given), sometimes one a
//     selector names by id, with now and then a request attribute the entity lacks (keys and values
//     from selectors and conditions) and, with `extra_groups`, a group from the sets;
//   - action: one a statement names; a trailing-'*' action ("mqtt:*") is made concrete with every
//     MQTT action and a few others ("mqtt:retain", "mqtt:other"); sometimes an action no statement
//     names;
//   - resource: one of the statements' patterns made concrete: ${…} variables with this
//     principal's values (sometimes another principal's: a near miss), '+' with a sample level,
//     '#' with zero to two levels; for mqtt:subscribe the wildcards are sometimes kept (a filter);
//     then, one time in five, a near miss (a level dropped, added or changed, a '$' prefix);
//     for mqtt:connect often a principal id;
//   - context: for every context key the conditions read, a value the condition names (an address
//     inside a CIDR for IpAddress), a different one, or none.
// Every request passes ValidateRequest. The same sets and options give the same requests.
//
// Thread safety: pure function.
#ifndef FLEETPDP_ENGINE_REQUEST_GENERATOR_H_
#define FLEETPDP_ENGINE_REQUEST_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "engine/policy.h"
#include "engine/request.h"

namespace fleetpdp::engine {

struct RequestGeneratorOptions {
  size_t count = 10'000;
  uint64_t seed = 1;
  // The principals to draw from, by id (their groups and attributes come from the sets' entities).
  // Empty: every entity of the sets and every id a selector names.
  std::vector<std::string> principals;
  // Also draw ids that selectors name but no entity is (only when `principals` is empty).
  bool selector_ids = true;
  // Sometimes add a group of the sets to the request's principal (outside prune's scope).
  bool extra_groups = false;
  // Sometimes add an attribute the entity lacks to the request's principal.
  bool extra_attributes = true;
  // Requests per principal made before the random ones, so that every principal is asked about.
  size_t per_principal = 0;
};

std::vector<Request> GenerateRequests(absl::Span<const PolicySet* const> sets,
                                      const RequestGeneratorOptions& options);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_REQUEST_GENERATOR_H_
