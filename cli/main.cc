// fleetpdp: the policy decision point for IoT fleets, one binary with subcommands.
#include <cstring>
#include <iostream>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "cli/commands.h"
#include "integrations/client/grpc_library.h"

namespace {

constexpr char kVersion[] = "0.1.0";

constexpr char kUsage[] = R"(usage: fleetpdp COMMAND [ARGS…]

FleetPDP decides whether IoT devices and services may connect, publish, subscribe, receive or
perform an application action, from signed policy bundles.

Commands:
  serve                    serve decisions over gRPC (the embedded example bundle by default)
  check --server ADDR …    ask a running server for one decision
  drift --targets A,B,…    check that every replica serves the same bundle
  test SRC                 run the policy unit tests of a source directory or bundle
  eval …                   decide one request (with --explain: why)
  lint SRC …               audit policies for risky patterns
  bundle build SRC -o B    validate, compile, test and pack a bundle (the CI gate)
  bundle sign B …          sign a bundle with an Ed25519 key
  bundle verify B …        check a bundle as a server would
  bundle inspect B         show a bundle's revision, digest, signers, counts
  bundle prune B --for SEL -o OUT
                           a smaller bundle with only what applies to SEL (edge gateways)
  diff OLD NEW             the decisions a new revision changes (a CI rollout gate)
  keygen --key-id ID       generate an Ed25519 signing key pair
  compliance report SRC    controls → policies → tests, with gaps
  import aws-iot FILE…     convert AWS IoT Core policies

Run "fleetpdp COMMAND --help" for a command's flags. "fleetpdp --version" prints the version.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace fleetpdp::cli;
  // Debian builds Abseil without NDEBUG, so every absl::Mutex (gRPC's included) keeps a lock-order
  // graph for deadlock detection: ~3,000 instructions per gRPC call (docs/performance.md). The
  // tests keep the detector (they do not run this main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "fleetpdp " << kVersion << "\n";
    return kExitOk;
  }
  // Subcommands see their own name as argv[0].
  if (command == "test") return RunTestCommand(argc - 1, argv + 1);
  if (command == "eval") return RunEvalCommand(argc - 1, argv + 1);
  if (command == "bundle") return RunBundleCommand(argc - 1, argv + 1);
  if (command == "keygen") return RunKeygenCommand(argc - 1, argv + 1);
  if (command == "serve" || command == "check" || command == "drift") {
    // The commands that use gRPC end it here, on the main thread, before exit
    // (integrations/client/grpc_library.h: otherwise its clean-up races the exit).
    fleetpdp::client::GrpcLibraryScope grpc;
    if (command == "serve") return RunServeCommand(argc - 1, argv + 1);
    if (command == "check") return RunCheckCommand(argc - 1, argv + 1);
    return RunDriftCommand(argc - 1, argv + 1);
  }
  if (command == "compliance") return RunComplianceCommand(argc - 1, argv + 1);
  if (command == "lint") return RunLintCommand(argc - 1, argv + 1);
  if (command == "import") return RunImportCommand(argc - 1, argv + 1);
  if (command == "diff") return RunDiffCommand(argc - 1, argv + 1);
  std::cerr << "fleetpdp: unknown command \"" << command << "\"\n\n" << kUsage;
  return kExitUsage;
}
