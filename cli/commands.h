// The `fleetpdp` subcommands. Each takes the arguments after the subcommand name (argv[0] is the
// subcommand) and returns the process exit code: 0 success, 1 a failed check (a test, a denied
// decision with --exit-code), 2 bad usage or input.
#ifndef FLEETPDP_CLI_COMMANDS_H_
#define FLEETPDP_CLI_COMMANDS_H_

namespace fleetpdp::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int RunTestCommand(int argc, char** argv);
int RunEvalCommand(int argc, char** argv);
int RunBundleCommand(int argc, char** argv);
int RunKeygenCommand(int argc, char** argv);
int RunServeCommand(int argc, char** argv);
int RunCheckCommand(int argc, char** argv);
int RunDriftCommand(int argc, char** argv);
int RunComplianceCommand(int argc, char** argv);
int RunLintCommand(int argc, char** argv);
int RunImportCommand(int argc, char** argv);
int RunDiffCommand(int argc, char** argv);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_COMMANDS_H_
