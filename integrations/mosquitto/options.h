// The Mosquitto plugin's settings, from `plugin_opt_<key> <value>` lines in mosquitto.conf.
//
//   absl::StatusOr<PluginOptions> o = ParsePluginOptions({{"bundle", "/b.tar.gz"}, {"keys",
//   "/k"}});
//
// Every key is documented in docs/brokers.md and in kPluginOptionsHelp. An unknown key, a bad value
// or a missing required one is an error naming the key: the broker then refuses to start rather
// than run without the policy it was configured with.
//
// Thread safety: plain values.
#ifndef FLEETPDP_INTEGRATIONS_MOSQUITTO_OPTIONS_H_
#define FLEETPDP_INTEGRATIONS_MOSQUITTO_OPTIONS_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fleetpdp::mosquitto {

// Where a client's principal id comes from.
enum class PrincipalSource { kClientId, kUsername, kCertificateCn };

// local: the plugin holds the signed bundle and decides in-process. remote: it asks a FleetPDP
// server over gRPC for each check it has not cached.
enum class Mode { kLocal, kRemote };

struct PluginOptions {
  Mode mode = Mode::kLocal;

  // Local mode.
  std::string bundle;           // path or http(s) URL of the signed bundle (required)
  std::string keys;             // trusted public keys directory (required unless allow_unsigned)
  bool allow_unsigned = false;  // development only
  absl::Duration poll_interval = absl::Seconds(5);
  std::string persist;       // last good bundle kept here for a cold start
  std::string http_ca_file;  // CAs for an https bundle URL

  // Remote mode.
  std::string server;  // FleetPDP target, e.g. dns:///pdp:50051 (required)
  absl::Duration deadline = absl::Milliseconds(100);  // per uncached check, on the broker thread
  size_t cache_size = 100'000;                        // decisions kept, least recently used dropped
  absl::Duration cache_ttl = absl::Seconds(10);       // how long a cached decision is trusted
  bool fail_open = false;     // when the PDP cannot answer: deny (default) or allow
  std::string tls_ca_file;    // TLS to the PDP (any of the four turns it on)
  std::string tls_cert_file;  // client certificate for mutual TLS, with tls_key_file
  std::string tls_key_file;
  std::string tls_server_name;

  // Both modes.
  PrincipalSource principal = PrincipalSource::kClientId;
  // Checks on delivery to each subscriber (mqtt:receive). Off saves one check per delivery when
  // the policies never deny a receive that their subscribe allowed.
  bool check_receive = true;
  // Publishing with the retain flag also needs mqtt:retain on the topic.
  bool check_retain = true;
  // Publish the serving bundle's revision and digest, retained, on this topic ("" to disable).
  std::string status_topic = "$SYS/broker/fleetpdp/bundle";
};

// `options` are (key, value) pairs without the "plugin_opt_" prefix, in file order.
absl::StatusOr<PluginOptions> ParsePluginOptions(
    const std::vector<std::pair<std::string, std::string>>& options);

}  // namespace fleetpdp::mosquitto

#endif  // FLEETPDP_INTEGRATIONS_MOSQUITTO_OPTIONS_H_
