// A synthetic but fleet-shaped PolicySet and request mix for the engine benchmarks, built in code
// (parsing a million entities from YAML would take longer than the benchmarks themselves).
//
//   engine::PolicySet set = GenerateFleet({.statements = 100'000, .entities = 10'000});
//   std::vector<engine::Request> requests = GenerateRequests(set, kAllRequestKinds, 1024, 7);
//
// The fleet (what docs/benchmarks.md describes in prose):
//   - groups in a three-level hierarchy: 1 per 1,000 at the top ("regions"), 1 per 100 in the
//     middle ("sites"), the rest leaves ("fleets"), each leaf under one middle group and each
//     middle group under one top group; named g0000, g0001, … (top groups first);
//   - entities dev-0000000, … each in one leaf group plus 0–2 other random groups, with the
//     attributes region and site (derived from the leaf's ancestors) and firmware (a semver);
//   - a handful of "*" statements (own telemetry, own commands, a deny on publishing to any
//     device's cmd/ topics and on $SYS/#);
//   - about 5% of statements in per-device policies (literal topics under devices/<id>/);
//   - the rest in group policies of five statements each, spread over the groups by a seeded
//     permutation, cycling through ten statement shapes: group topics (groups/gNNNN/config/#,
//     …/ota/+, …/broadcast/+, …/events/${principal.id}), site topics
//     (sites/${principal.attributes.site}/+/status), own telemetry, the cmd/ deny and the $SYS
//     deny; three shapes carry a condition (StringEquals region, SemverAtLeast firmware, IpAddress
//     source_ip).
// Everything is a function of the options: the same options give the same set, bit for bit.
//
// Thread safety: pure functions.
#ifndef FLEETPDP_BENCHMARKS_FLEET_GENERATOR_H_
#define FLEETPDP_BENCHMARKS_FLEET_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "engine/policy.h"
#include "engine/request.h"

namespace fleetpdp::benchmarks {

struct FleetOptions {
  size_t statements = 1'000;  // total over all policies; at least 1
  size_t entities = 10'000;   // at least 1
  size_t groups = 10'000;     // at least 3 (one per hierarchy level)
  uint64_t seed = 1;
};

// REQUIRES: the minimums above. The result passes Validate (engine/validate.h).
engine::PolicySet GenerateFleet(const FleetOptions& options);

// What a device asks for.
enum class RequestKind : uint8_t {
  kPublishTelemetry,    // mqtt:publish devices/<own id>/telemetry/<sensor>
  kReceiveGroupConfig,  // mqtt:receive groups/<one of its groups or their ancestors>/config/<key>
  kSubscribe,           // mqtt:subscribe groups/<group>/config/# or sites/<own site>/+/status
  kDeniedCommand,       // mqtt:publish devices/<another device>/cmd/reboot (an explicit deny)
};
inline constexpr RequestKind kAllRequestKinds[] = {
    RequestKind::kPublishTelemetry, RequestKind::kReceiveGroupConfig, RequestKind::kSubscribe,
    RequestKind::kDeniedCommand};
std::string_view RequestKindName(RequestKind kind);  // "publish", "receive", "subscribe", "denied"

// `count` requests from random entities of `set` (as GenerateFleet builds them), cycling through
// `kinds` in order, with a source_ip context (mostly 10.0.0.0/8). REQUIRES: set.entities is not
// empty and `kinds` is not.
std::vector<engine::Request> GenerateRequests(const engine::PolicySet& set,
                                              absl::Span<const RequestKind> kinds, size_t count,
                                              uint64_t seed);

}  // namespace fleetpdp::benchmarks

#endif  // FLEETPDP_BENCHMARKS_FLEET_GENERATOR_H_
