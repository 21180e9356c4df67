// The gRPC DecisionService (callback API): Check, BatchCheck, CheckStream, GetBundleInfo.
//
//   DecisionServiceImpl service(holder, metrics, log, limits);
//   builder.RegisterService(&service);
//
// Every call takes one bundle snapshot (BundleHolder::Current) and answers from it; without a
// bundle it fails with UNAVAILABLE ("no verified bundle loaded yet"). A malformed request gets
// INVALID_ARGUMENT naming the field ("check.principal.id: must not be empty",
// "checks[3].resource: topic \"a/+\" contains a wildcard"); BatchCheck over max_batch_size gets
// RESOURCE_EXHAUSTED. Overload: a Check or BatchCheck arriving while max_in_flight_calls are in
// flight, and a CheckStream opened while max_open_streams are open, are refused at once with
// RESOURCE_EXHAUSTED naming the limit (counted in fleetpdp_rejected_requests_total; see
// server/limits.h). On a stream, an invalid request is answered with `error` set and the
// stream goes on; a stream keeps working across reloads (each message takes a fresh snapshot).
//
// Thread safety: the service is shared by gRPC's threads; all state it touches is thread-safe.
#ifndef FLEETPDP_SERVER_DECISION_SERVICE_H_
#define FLEETPDP_SERVER_DECISION_SERVICE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "engine/request.h"
#include "fleetpdp/v1/decision.grpc.pb.h"
#include "server/arena_messages.h"
#include "server/bundle_holder.h"
#include "server/limits.h"

namespace fleetpdp::server {

class Metrics;
class DecisionLog;

struct ServiceLimits {
  size_t max_batch_size = 1000;
  // Check and BatchCheck calls in flight across the server (from the handler until the answer
  // is sent); 0: no limit. Streams are counted apart.
  size_t max_in_flight_calls = 4096;
  // CheckStream calls open at once; 0: no limit.
  size_t max_open_streams = 1024;
};

// Converts and validates one request. `field` prefixes error messages ("check", "checks[3]").
// INVALID_ARGUMENT names the field: "<field>.principal.id: must not be empty". Every field of
// `out` is overwritten; a request converted before keeps only its buffers' capacity, so a reused
// `out` allocates nothing once its buffers are large enough.
absl::Status FromProto(const fleetpdp::v1::CheckRequest& in, std::string_view field,
                       engine::Request& out);

class DecisionServiceImpl final : public fleetpdp::v1::DecisionService::CallbackService {
 public:
  // `metrics` and `log` may be null (not recorded). `source` is reported in BundleInfo.
  DecisionServiceImpl(const BundleHolder& holder, Metrics* metrics, DecisionLog* log,
                      ServiceLimits limits, std::string source);
  ~DecisionServiceImpl() override;

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const fleetpdp::v1::CheckRequest* request,
                                  fleetpdp::v1::CheckResponse* response) override;
  grpc::ServerUnaryReactor* BatchCheck(grpc::CallbackServerContext* context,
                                       const fleetpdp::v1::BatchCheckRequest* request,
                                       fleetpdp::v1::BatchCheckResponse* response) override;
  grpc::ServerBidiReactor<fleetpdp::v1::CheckStreamRequest, fleetpdp::v1::CheckStreamResponse>*
  CheckStream(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetBundleInfo(grpc::CallbackServerContext* context,
                                          const fleetpdp::v1::GetBundleInfoRequest* request,
                                          fleetpdp::v1::BundleInfo* response) override;

 private:
  const BundleHolder& holder_;
  Metrics* metrics_;
  DecisionLog* log_;
  ServiceLimits limits_;
  std::string source_;
  ConcurrencyLimit calls_;
  ConcurrencyLimit streams_;
  // Each Check and BatchCheck call's request and response on one arena (server/arena_messages.h).
  ArenaMessageAllocator<fleetpdp::v1::CheckRequest, fleetpdp::v1::CheckResponse> check_messages_;
  ArenaMessageAllocator<fleetpdp::v1::BatchCheckRequest, fleetpdp::v1::BatchCheckResponse, 4096>
      batch_messages_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_DECISION_SERVICE_H_
