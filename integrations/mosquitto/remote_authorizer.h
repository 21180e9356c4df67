// Remote mode of the Mosquitto plugin: each check asks a FleetPDP server over gRPC, behind a
// bounded cache of decisions.
//
//   absl::StatusOr<std::unique_ptr<RemoteAuthorizer>> a = RemoteAuthorizer::Create(options, log);
//   bool ok = (*a)->Allowed(event);             // cached, or one Check with options.deadline
//
// Cache: up to options.cache_size decisions keyed by the whole request (principal, action,
// resource, context), least recently used dropped first, each trusted for options.cache_ttl. Every
// answer carries the digest of the bundle that made it; when it changes, the whole cache is
// dropped, so a new bundle takes effect for every cached decision at the next miss, and for all of
// them within cache_ttl at the latest.
//
// Failure: when the server cannot answer within the deadline (down, overloaded, no bundle yet),
// the decision is the fail mode — deny (default) or allow with options.fail_open — and it is not
// cached, so the next check asks again. gRPC reconnects in the background (at most 1 s apart), so
// service resumes within about a second of the server's return. Failures are logged once per
// outage, not once per check.
//
// Cost: a cache hit is a hash lookup; a miss blocks the calling (broker) thread for one round
// trip, at most options.deadline. Size the deadline and TTL with docs/brokers.md.
//
// Thread safety: Allowed() may be called from any thread (the cache is locked).
#ifndef FLEETPDP_INTEGRATIONS_MOSQUITTO_REMOTE_AUTHORIZER_H_
#define FLEETPDP_INTEGRATIONS_MOSQUITTO_REMOTE_AUTHORIZER_H_

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "integrations/client/client.h"
#include "integrations/mosquitto/authorizer.h"

namespace fleetpdp::mosquitto {

class RemoteAuthorizer : public Authorizer {
 public:
  using Clock = std::function<absl::Time()>;

  // InvalidArgument for a bad server address or unreadable TLS files. Does not connect yet.
  static absl::StatusOr<std::unique_ptr<RemoteAuthorizer>> Create(const PluginOptions& options,
                                                                  LogFn log,
                                                                  Clock clock = absl::Now);

  bool Allowed(const MqttEvent& event) override;
  std::optional<ServingBundle> Serving() const override;

  // For tests and the plugin's statistics.
  size_t cached() const;
  uint64_t server_calls() const;

 private:
  struct Entry {
    std::string key;
    bool allowed;
    absl::Time expires;
  };

  RemoteAuthorizer() = default;
  // The decision for one request: cached, or asked.
  bool Decide(const engine::Request& request);

  PluginOptions options_;
  LogFn log_;
  Clock clock_;
  std::unique_ptr<client::Client> client_;

  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingBundle> serving_ ABSL_GUARDED_BY(mu_);
  bool failing_ ABSL_GUARDED_BY(mu_) = false;  // logged the current outage already
  uint64_t server_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fleetpdp::mosquitto

#endif  // FLEETPDP_INTEGRATIONS_MOSQUITTO_REMOTE_AUTHORIZER_H_
