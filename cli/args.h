// Command-line arguments for `fleetpdp` subcommands: "--name value", "--name=value", repeated
// flags, boolean switches and positional arguments, with errors that name the flag.
//
//   Args args(argc, argv);            // argv[0] is the subcommand
//   std::string bundle = args.Take("--bundle");
//   if (absl::Status s = args.Finish(); !s.ok()) ...   // unknown flags, missing values
//
// Thread safety: not synchronized.
#ifndef FLEETPDP_CLI_ARGS_H_
#define FLEETPDP_CLI_ARGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace fleetpdp::cli {

class Args {
 public:
  Args(int argc, char** argv);

  bool Help() const { return help_; }
  // The last value of a flag, or nullopt when absent.
  std::optional<std::string> Take(std::string_view name);
  // Every value of a repeated flag, in order.
  std::vector<std::string> TakeAll(std::string_view name);
  // A switch without value.
  bool TakeSwitch(std::string_view name);
  // The positional arguments.
  std::vector<std::string> TakePositional();

  // InvalidArgument naming the first flag nobody took or the flag missing its value.
  absl::Status Finish() const;

 private:
  struct Item {
    std::string name;  // empty for a positional argument
    std::string value;
    bool has_value = false;
    bool taken = false;
  };
  std::vector<Item> items_;
  bool help_ = false;
};

// Splits "key=value"; InvalidArgument naming `flag` when there is no '='.
absl::Status SplitKeyValue(std::string_view flag, std::string_view text, std::string& key,
                           std::string& value);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_ARGS_H_
