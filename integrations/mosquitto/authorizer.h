// What the Mosquitto plugin decides, without Mosquitto: MQTT events mapped to FleetPDP requests and
// answered from a signed bundle held in-process (local mode).
//
//   absl::StatusOr<std::unique_ptr<LocalAuthorizer>> a = LocalAuthorizer::Start(options, log);
//   bool ok = (*a)->Allowed(event);            // event: an MqttEvent
//
// Mapping (docs/brokers.md): CONNECT → mqtt:connect on the client id; PUBLISH → mqtt:publish on
// the topic (and mqtt:retain too when the retain flag is set); SUBSCRIBE → mqtt:subscribe on the
// filter; delivery to a subscriber → mqtt:receive on the topic, as that subscriber. The principal
// is the client id, the username or the client certificate's CN (PluginOptions::principal); the
// bundle's entities add its groups and attributes. Context: source_ip, protocol ("mqtt"),
// protocol_version ("3.1", "3.1.1", "5"), tls ("true"/"false"). No bundle yet, an empty principal
// or an invalid topic: deny.
//
// Thread safety: Allowed() may be called from any thread (Mosquitto calls it from its main thread);
// the bundle is swapped atomically by a background reloader.
#ifndef FLEETPDP_INTEGRATIONS_MOSQUITTO_AUTHORIZER_H_
#define FLEETPDP_INTEGRATIONS_MOSQUITTO_AUTHORIZER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/request.h"
#include "integrations/mosquitto/options.h"
#include "server/bundle_holder.h"
#include "server/reloader.h"

namespace fleetpdp::mosquitto {

// Who is asking, as the broker knows the connection.
struct MqttClient {
  std::string client_id;
  std::string username;
  std::string cert_cn;       // empty without a client certificate
  std::string address;       // peer IP address
  int protocol_version = 4;  // 3: MQTT 3.1, 4: 3.1.1, 5: 5.0
  bool tls = false;
};

enum class MqttAccess { kConnect, kPublish, kSubscribe, kReceive };

struct MqttEvent {
  MqttAccess access = MqttAccess::kConnect;
  MqttClient client;
  std::string topic;  // topic or filter; unused for kConnect
  bool retain = false;
};

// The requests an event needs allowed (one, or two for a retained publish). Empty when the
// principal is missing, which is a deny.
std::vector<engine::Request> RequestsFor(const MqttEvent& event, const PluginOptions& options);

// Log lines (possibly from another thread), for the broker's log.
using LogFn = std::function<void(bool error, const std::string& line)>;

// The bundle that decides, as far as the plugin knows.
struct ServingBundle {
  std::string name;
  uint64_t revision = 0;
  std::string digest;
  std::string key_id;
};

// What the plugin asks. Implementations: LocalAuthorizer (below), RemoteAuthorizer
// (remote_authorizer.h).
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // True when every request of the event is allowed.
  virtual bool Allowed(const MqttEvent& event) = 0;
  // The bundle deciding now; nullopt before any is known.
  virtual std::optional<ServingBundle> Serving() const = 0;
};

class LocalAuthorizer : public Authorizer {
 public:
  // Loads the bundle once (falling back to the persisted copy) and starts polling. Errors: bad
  // keys directory or bundle location (InvalidArgument). A first load that fails is not an error:
  // the plugin denies everything until a good bundle arrives, and says so through `log`.
  static absl::StatusOr<std::unique_ptr<LocalAuthorizer>> Start(const PluginOptions& options,
                                                                LogFn log);
  ~LocalAuthorizer() override;

  // True when every request of the event is allowed by the current bundle.
  bool Allowed(const MqttEvent& event) override;
  std::optional<ServingBundle> Serving() const override;

  // The serving bundle, or null.
  std::shared_ptr<const bundles::LoadedBundle> Current() const { return holder_.Current(); }

 private:
  LocalAuthorizer() = default;

  PluginOptions options_;
  bundles::Keyring keyring_;
  server::BundleHolder holder_;
  std::unique_ptr<server::Reloader> reloader_;  // declared last: stopped first
};

}  // namespace fleetpdp::mosquitto

#endif  // FLEETPDP_INTEGRATIONS_MOSQUITTO_AUTHORIZER_H_
