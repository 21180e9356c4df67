#include "server/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fleetpdp::server {
namespace {

// Both are process-wide switches read when a ServerBuilder is created; neither is thread-safe,
// so they are flipped once.
void EnableHealthAndReflection() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

void SetHealth(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(kDecisionServiceName, serving);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                              const BundleHolder& holder,
                                                              Metrics* metrics, DecisionLog* log) {
  if (options.auth_processor != nullptr && options.credentials == nullptr) {
    return absl::InvalidArgumentError(
        "caller authorization needs TLS credentials with client certificates (mutual TLS)");
  }
  EnableHealthAndReflection();
  std::unique_ptr<GrpcServer> out(new GrpcServer());
  out->service_ =
      std::make_unique<DecisionServiceImpl>(holder, metrics, log, options.limits, options.source);

  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials =
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials();
  if (options.auth_processor != nullptr) {
    credentials->SetAuthMetadataProcessor(options.auth_processor);
  }
  builder.AddListeningPort(options.listen, credentials, &out->port_);
  // gRPC sets SO_REUSEPORT by default: a second replica on the same port would start silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  // Overload limits (server/limits.h). The builder keeps its own reference to the quota.
  grpc::ResourceQuota quota;  // unnamed: gRPC gives each server's quota its own name
  quota.Resize(options.overload.memory_bytes);
  quota.SetMaxThreads(options.overload.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.overload.max_concurrent_streams);
  builder.RegisterService(out->service_.get());
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr || out->port_ == 0) {
    if (out->server_ != nullptr) out->server_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  // The default health service starts "" as SERVING; nothing is served before a bundle is.
  SetHealth(*out->server_, false);
  return out;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_ || server_ == nullptr) return;
  SetHealth(*server_, serving);
}

void GrpcServer::Shutdown(absl::Duration deadline) {
  absl::MutexLock shutdown_lock(&shutdown_mu_);  // a second caller waits for the first to end
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    // NOT_SERVING for every name, and no later change (health watchers are told too).
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->Shutdown();
    }
  }
  // Outside mu_: this waits for in-flight calls, and SetServing may be called meanwhile.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  server_->Wait();
}

}  // namespace fleetpdp::server
