// fleetpdp: the policy decision point for IoT fleets, one binary with subcommands.
#include <cstring>
#include <iostream>
#include <string_view>

#include "cli/commands.h"

namespace {

constexpr char kVersion[] = "0.1.0";

constexpr char kUsage[] = R"(usage: fleetpdp COMMAND [ARGS…]

FleetPDP decides whether IoT devices and services may connect, publish, subscribe, receive or
perform an application action, from signed policy bundles.

Commands:
  test SRC        run a policy source directory's unit tests
  eval …          decide one request against a policy source directory

Run "fleetpdp COMMAND --help" for a command's flags. "fleetpdp --version" prints the version.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace fleetpdp::cli;
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
  std::cerr << "fleetpdp: unknown command \"" << command << "\"\n\n" << kUsage;
  return kExitUsage;
}
