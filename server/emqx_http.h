// An HTTP/1.1 authorization endpoint for EMQX 5's HTTP authorizer (an authorization source of type
// "http"): EMQX asks it before a client publishes or subscribes, FleetPDP answers from the bundle
// it serves. It runs on its own io_context and threads, apart from the gRPC server.
//
//   absl::StatusOr<std::unique_ptr<EmqxHttpServer>> s =
//       EmqxHttpServer::Start({.listen = "0.0.0.0:8081"}, holder, log);
//   ...
//   (*s)->Stop(absl::Seconds(5));
//
// The protocol (docs/brokers.md, section "EMQX"):
//   POST /v1/emqx/authorize   body: JSON object or x-www-form-urlencoded
//   GET  /v1/emqx/authorize?clientid=…&topic=…&action=…
// Fields: clientid, username, peerhost, action (publish | subscribe), topic, qos (0–2), retain
// (true | false), proto_name; other fields are ignored. The URL's query parameters count for a POST
// too (EMQX templates may put ${clientid} in the URL); a body field wins over a query parameter.
// Answers: 200 {"result":"allow"|"deny"} — with no bundle loaded, {"result":"deny"} or
// {"result":"ignore"} per the configured fail mode. A malformed request gets
// 400 {"error":"topic: missing","field":"topic"}; EMQX treats any status but 200/204 as "ignore".
// A body over the limit gets 413 and the connection is closed.
//
// Thread safety: Start, Stop and port() may be called from any thread; requests are served on the
// server's own threads, each taking one bundle snapshot (BundleHolder::Current).
#ifndef FLEETPDP_SERVER_EMQX_HTTP_H_
#define FLEETPDP_SERVER_EMQX_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/bundle_holder.h"

namespace fleetpdp::server {

class Metrics;

class DecisionLog;

// Which request field is the principal id.
enum class EmqxPrincipal : uint8_t { kClientId, kUsername };
// What to answer while no verified bundle is loaded.
enum class EmqxNoBundle : uint8_t { kDeny, kIgnore };

// "clientid" | "username"; "deny" | "ignore". InvalidArgument otherwise.
absl::StatusOr<EmqxPrincipal> ParseEmqxPrincipal(std::string_view text);
absl::StatusOr<EmqxNoBundle> ParseEmqxNoBundle(std::string_view text);

struct EmqxHttpOptions {
  std::string listen;  // "host:port", "[v6]:port" or ":port"; port 0 picks a free port
  EmqxPrincipal principal = EmqxPrincipal::kClientId;
  EmqxNoBundle no_bundle = EmqxNoBundle::kDeny;
  size_t max_body_bytes = 16 * 1024;  // larger bodies: 413
  int threads = 1;                    // 1 or 2: a decision takes microseconds
  size_t max_connections = 1024;      // further connections are closed at once
  // From the end of one answer until the next request's header has arrived (keep-alive idle).
  absl::Duration idle_timeout = absl::Seconds(60);
  // For reading a request's body once its header arrived, and for writing an answer.
  absl::Duration io_timeout = absl::Seconds(10);
  // Decisions and invalid requests are counted here under method "EmqxHttp" when non-null; it
  // must outlive the server.
  Metrics* metrics = nullptr;
};

// One HTTP request as the transport received it, and the answer to send.
struct EmqxHttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // "/v1/emqx/authorize?clientid=…"
  std::string content_type;
  std::string body;
};
struct EmqxHttpAnswer {
  int status = 200;
  std::string body;  // JSON
};

// Answers one request: the whole protocol without sockets (the server calls it; so can tests).
// Decisions are submitted to `log` when it is non-null.
EmqxHttpAnswer AnswerEmqxRequest(const EmqxHttpRequest& request, const EmqxHttpOptions& options,
                                 const BundleHolder& holder, DecisionLog* log);

class EmqxHttpServer {
 public:
  // Binds and starts serving. `holder` and `log` (may be null) must outlive the server.
  // Errors: InvalidArgument for a bad address or option, Unavailable when it cannot bind.
  static absl::StatusOr<std::unique_ptr<EmqxHttpServer>> Start(const EmqxHttpOptions& options,
                                                               const BundleHolder& holder,
                                                               DecisionLog* log);
  ~EmqxHttpServer();  // Stop(absl::ZeroDuration()) if not stopped

  // Stops accepting, closes idle connections, lets answers being written finish for up to
  // `grace`, then closes whatever is left and joins the threads. Idempotent.
  void Stop(absl::Duration grace);

  int port() const;  // the bound port

  struct Impl;

 private:
  explicit EmqxHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_EMQX_HTTP_H_
