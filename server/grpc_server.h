// The gRPC server of a replica: DecisionService, grpc.health.v1 and server reflection on one port.
//
//   absl::StatusOr<std::unique_ptr<GrpcServer>> s = GrpcServer::Start(options, holder, m, log);
//   (*s)->SetServing(true);                     // once a verified bundle is installed
//   (*s)->Shutdown(absl::Seconds(10));          // on SIGTERM: drains in-flight calls
//
// Health: the standard grpc.health.v1.Health service answers for "" and for
// "fleetpdp.v1.DecisionService"; both are NOT_SERVING until SetServing(true) and again from the
// start of Shutdown. (gRPC's default health service starts "" as SERVING; Start sets it to
// NOT_SERVING right after the port opens, so a probe in that first instant can still see
// SERVING — probes that must never be early should name "fleetpdp.v1.DecisionService", which is
// unknown until Start has set it.)
//
// Thread safety: SetServing and Shutdown may be called from any thread, but Shutdown not from a
// gRPC callback (it waits for those to end). The holder, metrics and log must outlive the server.
#ifndef FLEETPDP_SERVER_GRPC_SERVER_H_
#define FLEETPDP_SERVER_GRPC_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/bundle_holder.h"
#include "server/decision_service.h"
#include "server/limits.h"

namespace grpc {
class AuthMetadataProcessor;
class Server;
class ServerCredentials;
}  // namespace grpc

namespace fleetpdp::server {

class Metrics;
class DecisionLog;

// The name health checks use for the decision service.
inline constexpr char kDecisionServiceName[] = "fleetpdp.v1.DecisionService";

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (see GrpcServer::port).
  std::string listen = "0.0.0.0:50051";
  // Larger requests are refused with RESOURCE_EXHAUSTED before they are parsed.
  size_t max_message_bytes = 4 << 20;
  // Null: plaintext (grpc::InsecureServerCredentials).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Caller authorization (caller_authz.h), installed on `credentials`; needs credentials.
  std::shared_ptr<grpc::AuthMetadataProcessor> auth_processor;
  ServiceLimits limits;
  // Memory, threads and streams per connection (server/limits.h).
  OverloadLimits overload;
  // Where bundles come from, reported in BundleInfo.
  std::string source;
};

class GrpcServer {
 public:
  // Starts serving. Errors: InvalidArgument for an auth_processor without credentials;
  // Unavailable "cannot listen on <addr>" when the address cannot be
  // bound (also when another process holds the port: SO_REUSEPORT is off). `metrics` and `log`
  // may be null.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                           const BundleHolder& holder,
                                                           Metrics* metrics, DecisionLog* log);
  // Shuts down immediately (cancelling in-flight calls) unless Shutdown was called.
  ~GrpcServer();

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Health status for "" and kDecisionServiceName. Ignored once Shutdown has begun.
  void SetServing(bool serving);

  // Health goes NOT_SERVING, new calls are refused, and in-flight calls (streams included) may
  // finish until `deadline` from now; calls still open then are cancelled. Returns when every
  // call has ended (also for a second, concurrent caller). Idempotent. A call that reaches the
  // server after Shutdown began fails with CANCELLED (gRPC 1.51), which clients do not retry:
  // on SIGTERM, SetServing(false) and wait for load balancers to notice before calling this.
  void Shutdown(absl::Duration deadline);

 private:
  GrpcServer() = default;

  // Declared before server_: the service must outlive the server that calls it.
  std::unique_ptr<DecisionServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex shutdown_mu_;  // held for the whole of Shutdown
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_GRPC_SERVER_H_
