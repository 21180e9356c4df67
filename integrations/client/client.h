// fleetpdp_client: a small C++ client for fleetpdp.v1.DecisionService, shared by the load
// generator, the CLI and the broker plugins.
//
//   ClientOptions options;
//   options.target = "dns:///pdp.fleet.internal:50051";
//   absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
//   absl::StatusOr<v1::CheckResponse> answer = (*client)->Check(request);
//
// Targets: "host:port" (gRPC's default resolver, DNS for names), any gRPC URI such as
// "dns:///host:port" (every address the name resolves to), or a comma-separated list of IP
// addresses with ports "10.0.0.1:50051,10.0.0.2:50051" (IPv6 as "[::1]:50051"). Calls are spread
// over every resolved address round-robin, and a call that fails with UNAVAILABLE before the
// server answered is retried on another address by gRPC's retry policy (see ServiceConfigJson):
// every FleetPDP method is read-only, so a retry is always safe.
//
// No decision lost when a replica dies: give the client every replica (a comma list of
// addresses, or a DNS name resolving to all of them) and keep max_attempts ≥ 2 (default 3). A
// replica killed outright closes its connections; the calls it held fail with UNAVAILABLE before
// any answer arrived, so gRPC retries them (after 10 ms, 20 ms, … at most 100 ms) and round_robin
// picks another replica, while the dead one is skipped until it reconnects. Set
// max_reconnect_backoff (e.g. 1 s) so that a restarted replica gets its share again within about
// that long. tests/server/failover_test.sh checks it: 48,000 checks at 3,000/s, one of three
// replicas SIGKILLed and restarted, every check answered OK (with max_attempts 1, a few fail with
// UNAVAILABLE). Not retried, by design: RESOURCE_EXHAUSTED (an overloaded replica refusing at
// once; retrying everywhere would multiply the overload), DEADLINE_EXCEEDED (the deadline covers
// all attempts), and CANCELLED, which a replica answers to calls arriving after its SIGTERM drain
// began — stop sending before that (readiness NOT_SERVING, docs/operations.md).
//
// Errors: every call returns the server's gRPC status code as the absl::Status code (the numbers
// are the same) with the method and target added: `Check at "127.0.0.1:50051": no verified
// bundle loaded yet` (UNAVAILABLE), DEADLINE_EXCEEDED after options.deadline. A DENY is a
// decision in the response, never an error.
//
// Thread safety: a Client is safe to share between threads, and its channel is meant to be shared
// (it multiplexes every call over its connections). A CheckStream is used by one sender at a
// time; its handler runs on gRPC threads.
#ifndef FLEETPDP_INTEGRATIONS_CLIENT_CLIENT_H_
#define FLEETPDP_INTEGRATIONS_CLIENT_CLIENT_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fleetpdp/v1/decision.grpc.pb.h"

namespace fleetpdp::client {

namespace v1 = ::fleetpdp::v1;

struct TlsOptions {
  // PEM file of the CA certificates that verify the server; empty: the system's roots.
  std::string ca_file;
  // PEM client certificate chain and private key for mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  // Checks the server certificate against this name instead of the target's host (e.g. when
  // the target is an IP address). Empty: the target's host.
  std::string server_name;
};

struct ClientOptions {
  // Where the servers are; see the header comment. Required.
  std::string target;
  // Unset: plaintext (only for loopback and tests; FleetPDP answers authorization questions).
  std::optional<TlsOptions> tls;
  // Deadline of each unary call (Check, BatchCheck, GetBundleInfo), retries included. A CheckStream
  // has no deadline.
  absl::Duration deadline = absl::Seconds(1);
  // Attempts per call for UNAVAILABLE (first try included), 1 to 5 (gRPC caps it at 5). 1 turns
  // retries off.
  int max_attempts = 3;
  // Wait for a connection (up to the deadline) instead of failing fast with UNAVAILABLE while the
  // servers are unreachable.
  bool wait_for_ready = false;
  // Give this client's channel TCP connections of its own instead of sharing them with other
  // channels of the process to the same addresses (gRPC shares by default). The load generator
  // sets it to open N real connections.
  bool own_connections = false;
  // Longest wait between reconnection attempts while the servers are unreachable; zero: gRPC's
  // default (up to 120 s). A broker plugin sets ~1 s so that service resumes soon after an outage.
  absl::Duration max_reconnect_backoff = absl::ZeroDuration();
  // Wait before the first reconnection attempt after a connection failed; zero: gRPC's default
  // (1 s), or `max_reconnect_backoff` up to 1 s when that is set. gRPC raises anything under
  // 100 ms to 100 ms. Unlike `max_reconnect_backoff`, it leaves the connection timeout at gRPC's
  // (20 s, within the call's deadline). A one-shot client (`fleetpdp check`) sets 100 ms: a failed
  // connection's subchannel keeps gRPC running until this wait ends, and the process waits for
  // gRPC to end before it exits (grpc_library.h).
  absl::Duration initial_reconnect_backoff = absl::ZeroDuration();
  // Largest answer accepted (a BatchCheck of 1,000 answers is ~200 KB).
  int max_receive_message_bytes = 4 << 20;
};

// The default service config the channel is created with: round_robin over the resolved
// addresses, and for every DecisionService method a retry policy on UNAVAILABLE with
// `max_attempts` attempts and 10 ms→100 ms exponential backoff. Exposed for documentation and
// tests; a service config published through DNS does not replace it (resolution is disabled).
std::string ServiceConfigJson(int max_attempts);

// Turns `target` into the URI gRPC is given: comma lists of IP addresses become "ipv4:" or
// "ipv6:" URIs; anything else is returned as it is. InvalidArgument for an empty target, an empty
// list element, a list element that is not an IP literal with a port, or a list mixing IPv4 and
// IPv6.
absl::StatusOr<std::string> ChannelTarget(const std::string& target);

class CheckStream;

class Client {
 public:
  // Builds the channel (it connects lazily, on the first call). InvalidArgument for bad options;
  // NotFound / PermissionDenied when a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);

  // One decision. See the header comment for errors.
  absl::StatusOr<v1::CheckResponse> Check(const v1::CheckRequest& request) const;
  // Several decisions, answered in request order; all or nothing (one invalid check fails the
  // call with INVALID_ARGUMENT naming "checks[i]").
  absl::StatusOr<v1::BatchCheckResponse> BatchCheck(const v1::BatchCheckRequest& request) const;
  // What the server serves.
  absl::StatusOr<v1::BundleInfo> GetBundleInfo() const;

  // Asynchronous Check for callers that keep many calls in flight: `done` runs exactly once, on a
  // gRPC thread, when the call ends. `request` and `response` must stay valid until then.
  void CheckAsync(const v1::CheckRequest* request, v1::CheckResponse* response,
                  std::function<void(absl::Status)> done) const;
  // Asynchronous BatchCheck, same contract as CheckAsync.
  void BatchCheckAsync(const v1::BatchCheckRequest* request, v1::BatchCheckResponse* response,
                       std::function<void(absl::Status)> done) const;

  // Opens a CheckStream; answers go to `on_answer` (on a gRPC thread, one at a time, possibly out
  // of request order). Never null; a stream that cannot be opened ends with the error in Finish().
  std::unique_ptr<CheckStream> OpenStream(
      std::function<void(const v1::CheckStreamResponse&)> on_answer) const;

  // Waits until the channel is connected. DeadlineExceeded (naming the target) if it is not
  // within `timeout`.
  absl::Status WaitForConnected(absl::Duration timeout) const;

  const std::string& target() const { return target_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  Client() = default;
  void Prepare(grpc::ClientContext& context) const;
  absl::Status Error(const grpc::Status& status, const char* method) const;

  std::string target_;
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::DecisionService::Stub> stub_;
};

// One open CheckStream call. Send() never blocks: requests wait in a queue while a write is in
// flight (gRPC allows one at a time). The server stops reading when it holds 64 unwritten
// answers, so a sender that never lets answers drain fills this queue; bound what you send by
// what you have been answered.
//
// Lifetime: Finish() must be called before the stream is destroyed (the destructor calls it).
class CheckStream {
 public:
  virtual ~CheckStream() = default;
  // Queues one request. Ignored after Finish() began or after the stream failed.
  virtual void Send(v1::CheckStreamRequest request) = 0;
  // Half-closes, waits until every answer has arrived and the server ended the call, and returns
  // its status (with the target added). Idempotent.
  virtual absl::Status Finish() = 0;
};

}  // namespace fleetpdp::client

#endif  // FLEETPDP_INTEGRATIONS_CLIENT_CLIENT_H_
