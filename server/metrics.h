// Prometheus metrics of a FleetPDP replica (prometheus-cpp), served on their own port.
//
//   absl::StatusOr<std::unique_ptr<Metrics>> m = Metrics::Create({.listen = "0.0.0.0:9090"});
//   (*m)->ObserveCheck(Method::kCheck, "mqtt:publish", /*allowed=*/true, absl::Microseconds(3));
//
// Series (docs/operations.md lists them all):
//   fleetpdp_check_duration_seconds{method}            histogram, µs-range buckets
//   fleetpdp_decisions_total{action,outcome}           outcome: allow | deny
//   fleetpdp_invalid_requests_total{method}
//   fleetpdp_bundle_loads_total{result}                result: success | <rejection reason>
//   fleetpdp_bundle_info{name,revision,digest,key_id}  1 — exactly one series: replaced on swap
//   fleetpdp_bundle_last_success_timestamp_seconds
//   fleetpdp_decision_log_dropped_total
//   fleetpdp_rejected_requests_total{method,reason}    reason: in_flight_limit | open_streams_limit
//   fleetpdp_in_flight_calls, fleetpdp_open_streams    gauges read from the limits at scrape time
//   fleetpdp_decision_log_write_errors_total           failed write(2) calls (disk full …)
//   fleetpdp_unauthorized_calls_total{method}          refused by caller authorization
//
// Thread safety: every method may be called from any thread.
#ifndef FLEETPDP_SERVER_METRICS_H_
#define FLEETPDP_SERVER_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prometheus {
class Registry;
}

namespace fleetpdp::server {

class ConcurrencyLimit;

// The ways decisions are asked: the three gRPC methods and the EMQX HTTP endpoint.
enum class Method : uint8_t { kCheck, kBatchCheck, kCheckStream, kEmqxHttp };
std::string_view MethodName(Method method);  // "Check", "BatchCheck", "CheckStream", "EmqxHttp"

// Why a call was refused at once, before any decision (server/limits.h).
enum class Rejection : uint8_t { kInFlightLimit, kOpenStreamsLimit };
std::string_view RejectionName(Rejection reason);  // "in_flight_limit", "open_streams_limit"

struct MetricsOptions {
  // host:port for the /metrics HTTP endpoint; empty: metrics are kept but not served (tests).
  std::string listen;
};

class Metrics {
 public:
  // Errors: Unavailable when the port cannot be bound ("metrics port 9090: address in use").
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const MetricsOptions& options);
  ~Metrics();

  // One decision. Actions outside mqtt:* are counted under their own label up to 64 distinct
  // actions, then as "other" (label cardinality stays bounded whatever callers send).
  void ObserveCheck(Method method, std::string_view action, bool allowed, absl::Duration latency);
  void CountInvalidRequest(Method method);
  // `result` is "success" or a rejection reason (bundles::RejectionReasonOf).
  void CountBundleLoad(std::string_view result);
  // Replaces the single fleetpdp_bundle_info series and sets the last-success timestamp.
  void SetBundle(std::string_view name, uint64_t revision, std::string_view digest,
                 std::string_view key_id, absl::Time loaded_at);
  void CountDecisionLogDrop();
  // A call refused by an overload limit (RESOURCE_EXHAUSTED).
  void CountRejected(Method method, Rejection reason);
  // Every scrape reports calls.in_use() as fleetpdp_in_flight_calls and streams.in_use() as
  // fleetpdp_open_streams (0 while unset). Null for both unsets them. REQUIRES: both outlive this
  // Metrics or are unset before they go (the decision service does so in its destructor).
  void WatchLimits(const ConcurrencyLimit* calls, const ConcurrencyLimit* streams);
  // One failed write(2) of the decision log (its lost records are counted as drops).
  void CountDecisionLogWriteError();
  // A call refused by caller authorization (caller_authz.h). `method` is "Check", "BatchCheck",
  // "CheckStream", "GetBundleInfo", "ServerReflectionInfo" or "other"; anything else counts as
  // "other".
  void CountUnauthorizedCall(std::string_view method);

  // The exposition text, as /metrics serves it (for tests and the CLI).
  std::string Scrape() const;
  // The bound port (useful with "127.0.0.1:0"); 0 when not serving.
  int port() const;
  prometheus::Registry& registry();

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_METRICS_H_
