// manifest.yaml: a bundle's name, monotonically increasing revision and creation time.
//
//   name: example-fleet            # required: letters, digits, '-', '_', '.'
//   revision: 42                   # required: an integer ≥ 1, increasing with every release
//   created: "2026-11-28T00:00:00Z" # optional: RFC 3339
//   description: …                 # optional
//
//   absl::StatusOr<Manifest> m = ParseManifest(text);
//
// Thread safety: pure function.
#ifndef FLEETPDP_BUNDLES_MANIFEST_H_
#define FLEETPDP_BUNDLES_MANIFEST_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fleetpdp::bundles {

struct Manifest {
  std::string name;
  uint64_t revision = 0;
  std::string created;
  std::string description;
};

// InvalidArgument with "manifest.yaml:LINE:COLUMN: …" for every problem: not a mapping, unknown
// key, missing or empty name, revision not a positive integer, created not RFC 3339.
absl::StatusOr<Manifest> ParseManifest(std::string_view text);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_MANIFEST_H_
