// The example fleet bundle (examples/fleet.bundle.tar.gz) and the public half of the development
// key that signed it, compiled into the binary: `fleetpdp serve` without --bundle serves them, so
// a fresh install answers real checks with no other input. The key is published (see
// examples/keys/README.md): never trust it for real bundles.
#ifndef FLEETPDP_SERVER_EMBEDDED_EXAMPLE_H_
#define FLEETPDP_SERVER_EMBEDDED_EXAMPLE_H_

#include <string_view>

namespace fleetpdp::server {

inline constexpr std::string_view kEmbeddedExampleKeyId = "dev-DO-NOT-USE";
std::string_view EmbeddedExampleBundle();  // a .tar.gz
std::string_view EmbeddedExampleKey();     // PEM

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_EMBEDDED_EXAMPLE_H_
