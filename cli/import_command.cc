// `fleetpdp import aws-iot FILE…`: converts AWS IoT Core policy documents into FleetPDP policies
// (aws_iot_import.h), writes them, and re-reads and validates what it wrote.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/aws_iot_import.h"
#include "cli/commands.h"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] = R"(usage: fleetpdp import aws-iot FILE… [-o DIR] [--name-prefix P]
                               [--principals-group G | --principals-any] [--strict]

Converts AWS IoT Core policy documents (the JSON of "aws iot get-policy"'s policyDocument) into
FleetPDP policies (kind: Policy), one per FILE, and reports on stderr everything it could not
convert exactly, as "FILE: Statement[2].Resource[0]: SEVERITY: message":

  note      converted exactly; an assumption or a difference worth knowing
  warning   converted narrower than AWS (the FleetPDP policy allows less), or dropped text that
            never matched anything in AWS either
  error     not converted: an allow statement is skipped whole; of a deny, the part that could
            not be converted is missing (the rest is kept, since skipping a deny allows more)

The output never allows a request the AWS policy would not allow. Each policy written is parsed,
validated and compiled again as "fleetpdp bundle build" would; a policy that fails is an
internal error (exit 2). docs/lifecycle-import.md has the mapping tables.

  FILE                    an AWS IoT policy document (JSON); several may be given
  -o DIR                  write DIR/NAME.yaml for each FILE (DIR is created if missing);
                          without -o the policies go to stdout, separated by "---"
  --name-prefix P         prefix for policy names; a name is P + FILE's stem with characters
                          other than letters, digits, '-', '_', '.' replaced by '-'
  --principals-group G    the policies apply to members of group G (and its descendants)
  --principals-any        the policies apply to every principal ("*"; reported as a warning)
                          Default: a group named like the policy, which selects nobody until
                          the things the AWS policy was attached to are put in it (entities)
  --strict                exit 1 on warnings too

Exit status: 0 when every statement was converted (notes and warnings allowed), 1 when anything
was not converted (with --strict: also on a warning), 2 on bad usage, an unreadable file, invalid
JSON or a document that is not a policy.
)";

constexpr char kTopUsage[] = R"(usage: fleetpdp import FORMAT …

Converts policies written for another system into FleetPDP policies. Formats:
  aws-iot FILE…   AWS IoT Core policy documents ("fleetpdp import aws-iot --help")
)";

bool ValidId(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

int RunAwsIot(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) {
    std::cout << kUsage;
    return kExitOk;
  }
  std::optional<std::string> out_dir = args.Take("-o");
  if (!out_dir) out_dir = args.Take("--output");
  std::string prefix = args.Take("--name-prefix").value_or("");
  std::optional<std::string> group = args.Take("--principals-group");
  const bool any = args.TakeSwitch("--principals-any");
  const bool strict = args.TakeSwitch("--strict");
  std::vector<std::string> files = args.TakePositional();
  auto usage = [](const std::string& message) {
    std::cerr << "fleetpdp import aws-iot: " << message << "\n\n" << kUsage;
    return kExitUsage;
  };
  if (absl::Status s = args.Finish(); !s.ok()) return usage(std::string(s.message()));
  if (files.empty()) return usage("expected at least one FILE");
  if (any && group) return usage("--principals-group and --principals-any exclude each other");
  if (group && !ValidId(*group)) {
    return usage(absl::StrCat("--principals-group \"", *group,
                              "\": a group id has letters, digits, '-', '_' and '.' only"));
  }
  if (!prefix.empty() && !ValidId(prefix)) {
    return usage(
        absl::StrCat("--name-prefix \"", prefix, "\": use letters, digits, '-', '_' and '.' only"));
  }
  if (out_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*out_dir, ec);
    if (ec) {
      std::cerr << "fleetpdp import aws-iot: cannot create -o directory \"" << *out_dir
                << "\": " << ec.message() << "\n";
      return kExitUsage;
    }
  }

  int exit_code = kExitOk;
  auto raise = [&](int code) { exit_code = std::max(exit_code, code); };
  std::set<std::string> names;
  bool first_document = true;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "fleetpdp import aws-iot: cannot read \"" << file << "\"\n";
      raise(kExitUsage);
      continue;
    }
    AwsIotImportOptions options;
    options.policy_name = prefix + PolicyNameFromFile(file);
    for (int i = 2; names.count(options.policy_name); ++i) {
      options.policy_name = absl::StrCat(prefix, PolicyNameFromFile(file), "-", i);
    }
    names.insert(options.policy_name);
    options.principals_any = any;
    options.principals_group = group.value_or("");
    AwsIotImportResult result = ConvertAwsIotPolicy(text.str(), file, options);
    int errors = 0, warnings = 0;
    for (const ImportIssue& issue : result.issues) {
      std::cerr << FormatImportIssue(file, issue) << "\n";
      errors += issue.severity == ImportSeverity::kError;
      warnings += issue.severity == ImportSeverity::kWarning;
    }
    if (result.yaml.empty()) {
      // Invalid JSON or not a policy document: usage/input error. A valid policy whose every
      // statement failed: nothing converted.
      const bool document_error = result.statements_in == 0;
      std::cerr << file << ": nothing written\n";
      raise(document_error ? kExitUsage : kExitFailed);
      continue;
    }
    const std::string out_path =
        out_dir ? (std::filesystem::path(*out_dir) / (options.policy_name + ".yaml")).string()
                : "<stdout>";
    // What is written must be what FleetPDP accepts: checked before writing and, for files,
    // again on the bytes read back.
    if (absl::Status s = CheckImportedPolicy(result.yaml, out_path); !s.ok()) {
      std::cerr << "fleetpdp import aws-iot: internal error: the policy converted from \"" << file
                << "\" does not validate; nothing written for it:\n"
                << s.message() << "\n";
      raise(kExitUsage);
      continue;
    }
    if (out_dir) {
      {
        std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
        out << result.yaml;
        if (!out) {
          std::cerr << "fleetpdp import aws-iot: cannot write \"" << out_path << "\"\n";
          raise(kExitUsage);
          continue;
        }
      }
      std::ifstream back(out_path, std::ios::binary);
      std::stringstream written;
      written << back.rdbuf();
      if (absl::Status s = CheckImportedPolicy(written.str(), out_path); !s.ok()) {
        std::cerr << "fleetpdp import aws-iot: internal error: \"" << out_path
                  << "\" does not validate after writing:\n"
                  << s.message() << "\n";
        raise(kExitUsage);
        continue;
      }
    } else {
      if (!first_document) std::cout << "---\n";
      std::cout << result.yaml;
      first_document = false;
    }
    std::cerr << file << ": " << result.statements_in << " AWS statement"
              << (result.statements_in == 1 ? "" : "s") << " → " << result.statements_out
              << " FleetPDP statement" << (result.statements_out == 1 ? "" : "s") << " in policy \""
              << options.policy_name << "\" (" << out_path << "); " << result.statements_skipped
              << " skipped, " << errors << " error" << (errors == 1 ? "" : "s") << ", " << warnings
              << " warning" << (warnings == 1 ? "" : "s") << "\n";
    if (errors > 0) raise(kExitFailed);
    if (strict && warnings > 0) raise(kExitFailed);
  }
  return exit_code;
}

}  // namespace

int RunImportCommand(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kTopUsage;
    return kExitUsage;
  }
  std::string_view format = argv[1];
  if (format == "--help" || format == "-h") {
    std::cout << kTopUsage;
    return kExitOk;
  }
  if (format == "aws-iot") return RunAwsIot(argc - 1, argv + 1);
  std::cerr << "fleetpdp import: unknown format \"" << format << "\"\n\n" << kTopUsage;
  return kExitUsage;
}

}  // namespace fleetpdp::cli
