// `fleetpdp check --server ADDR …`: ask a running server, for people and scripts.
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/client_flags.h"
#include "cli/commands.h"
#include "fleetpdp/v1/decision.grpc.pb.h"

namespace fleetpdp::cli {
namespace {

namespace v1 = fleetpdp::v1;

constexpr char kUsage[] =
    R"(usage: fleetpdp check --server ADDR --principal ID --action ACTION --resource RESOURCE
                      [--type TYPE] [--group G]... [--attr KEY=VALUE]... [--context KEY=VALUE]...
                      [--timeout DURATION] [--exit-code] [TLS FLAGS]
       fleetpdp check --server ADDR --bundle-info [TLS FLAGS]

Asks the FleetPDP server at ADDR (host:port; plaintext unless a TLS flag is given) for one
decision and prints it with the deciding statements, the bundle revision and digest, and the
decision id. The flags describe the request as for "fleetpdp eval". --bundle-info prints what the
server serves instead.

  --timeout DURATION   deadline for the call (default 5s)
  --exit-code          exit 1 when the decision is DENY

TLS FLAGS:
)";

constexpr char kUsageExit[] = R"(
Exit status: 0 (1 for DENY with --exit-code); 2 for bad usage; 3 when the call fails (the server is
unreachable, has no bundle, or refused the request).
)";

void PrintUsage(std::ostream& out) { out << kUsage << kClientTlsUsage << kUsageExit; }

constexpr int kExitCallFailed = 3;

const char* DecisionName(v1::Decision d) {
  return d == v1::DECISION_ALLOW ? "ALLOW" : d == v1::DECISION_DENY ? "DENY" : "UNSPECIFIED";
}

const char* ReasonName(v1::Reason r) {
  switch (r) {
    case v1::REASON_ALLOWED:
      return "ALLOWED";
    case v1::REASON_EXPLICIT_DENY:
      return "EXPLICIT_DENY";
    case v1::REASON_DEFAULT_DENY:
      return "DEFAULT_DENY";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace

int RunCheckCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (PrintUsage(std::cout), kExitOk);
  std::optional<std::string> server = args.Take("--server");
  bool info = args.TakeSwitch("--bundle-info");
  bool exit_code = args.TakeSwitch("--exit-code");
  std::optional<client::TlsOptions> tls = TakeClientTlsFlags(args);
  absl::Duration timeout = absl::Seconds(5);
  if (std::optional<std::string> t = args.Take("--timeout");
      t && (!absl::ParseDuration(*t, &timeout) || timeout <= absl::ZeroDuration())) {
    std::cerr << "fleetpdp check: --timeout \"" << *t << "\" is not a duration like 2s\n";
    return kExitUsage;
  }
  v1::CheckRequest request;
  request.mutable_principal()->set_id(args.Take("--principal").value_or(""));
  request.mutable_principal()->set_type(args.Take("--type").value_or(""));
  for (const std::string& g : args.TakeAll("--group")) request.mutable_principal()->add_groups(g);
  request.set_action(args.Take("--action").value_or(""));
  request.set_resource(args.Take("--resource").value_or(""));
  for (const auto& [flag, map] :
       {std::pair{"--attr", request.mutable_principal()->mutable_attributes()},
        std::pair{"--context", request.mutable_context()}}) {
    for (const std::string& kv : args.TakeAll(flag)) {
      std::string key, value;
      if (absl::Status s = SplitKeyValue(flag, kv, key, value); !s.ok()) {
        std::cerr << "fleetpdp check: " << s.message() << "\n";
        return kExitUsage;
      }
      (*map)[key].add_values(value);
    }
  }
  if (absl::Status s = args.Finish(); !s.ok() || !server) {
    std::cerr << "fleetpdp check: " << (s.ok() ? "missing --server ADDR" : s.message()) << "\n\n";
    PrintUsage(std::cerr);
    return kExitUsage;
  }

  client::ClientOptions options;
  options.target = *server;
  options.tls = tls;
  options.deadline = timeout;
  options.max_attempts = 1;  // a person or script asking once: report the first failure
  // One call, then exit: a subchannel that failed to connect lives (holding gRPC up) until its
  // first reconnect backoff ends, and main waits for gRPC to end (integrations/client/
  // grpc_library.h) — 1 s at gRPC's default, about 0.1 s with this. Not max_reconnect_backoff:
  // that also shortens the connection timeout, and a slow TLS handshake would fail.
  options.initial_reconnect_backoff = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<client::Client>> made = client::Client::Create(options);
  if (!made.ok()) {
    std::cerr << "fleetpdp check: " << made.status().message() << "\n";
    return kExitUsage;
  }
  const client::Client& c = **made;
  if (info) {
    absl::StatusOr<v1::BundleInfo> answer = c.GetBundleInfo();
    if (!answer.ok()) {
      std::cerr << "fleetpdp check: " << answer.status().message() << "\n";
      return kExitCallFailed;
    }
    const v1::BundleInfo& bundle = *answer;
    std::cout << "serving:     " << (bundle.serving() ? "yes" : "no") << "\n"
              << "name:        " << bundle.name() << "\n"
              << "revision:    " << bundle.revision() << "\n"
              << "digest:      " << bundle.digest() << "\n"
              << "key id:      " << bundle.key_id() << "\n"
              << "source:      " << bundle.source() << "\n"
              << "last error:  "
              << (bundle.last_load_error().empty() ? "-" : bundle.last_load_error()) << "\n";
    return kExitOk;
  }
  absl::StatusOr<v1::CheckResponse> answer = c.Check(request);
  if (!answer.ok()) {
    std::cerr << "fleetpdp check: " << answer.status().message() << "\n";
    return kExitCallFailed;
  }
  const v1::CheckResponse& response = *answer;
  std::cout << DecisionName(response.decision()) << " (" << ReasonName(response.reason()) << ")\n";
  for (const std::string& s : response.statements()) std::cout << "  " << s << "\n";
  std::cout << "bundle rev " << response.bundle_revision() << " digest " << response.bundle_digest()
            << ", decision id " << response.decision_id() << "\n";
  return exit_code && response.decision() != v1::DECISION_ALLOW ? kExitFailed : kExitOk;
}

}  // namespace fleetpdp::cli
