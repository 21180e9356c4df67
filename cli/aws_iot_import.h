// Converts AWS IoT Core policy documents (IAM-style JSON) into FleetPDP policies (YAML, kind
// Policy), reporting exactly what could not be converted and why. Pure functions: no file I/O.
//
//   AwsIotImportOptions options;
//   options.policy_name = "device-baseline";
//   AwsIotImportResult r = ConvertAwsIotPolicy(json_text, "device.json", options);
//   for (const ImportIssue& i : r.issues) std::cerr << FormatImportIssue("device.json", i) << "\n";
//   if (!r.yaml.empty()) CheckImportedPolicy(r.yaml, "device.yaml");   // re-parse and validate
//
// The promise: every AWS statement is converted exactly, converted narrower than AWS would allow
// (a warning says how), or not converted (an error says why). The result never allows a request
// that the AWS policy would not have allowed, and never drops a deny silently. The translation
// rules — actions, ARNs, IAM wildcards against MQTT levels, variables, conditions — are written
// down in docs/lifecycle-import.md.
//
// Thread safety: pure functions.
#ifndef FLEETPDP_CLI_AWS_IOT_IMPORT_H_
#define FLEETPDP_CLI_AWS_IOT_IMPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace fleetpdp::cli {

enum class ImportSeverity {
  kNote,     // converted exactly; something worth knowing (an assumption, a difference)
  kWarning,  // converted narrower than AWS (the FleetPDP policy allows less), or dropped text
             // that could never match anything in AWS either
  kError,    // not converted: the statement (or, for a deny, this part of it) is missing
};
std::string_view SeverityName(ImportSeverity severity);  // "note", "warning", "error"

struct ImportIssue {
  ImportSeverity severity = ImportSeverity::kNote;
  // RFC 6901 pointer into the AWS document: "/Statement/2/Resource/0"; "" for the whole document.
  std::string pointer;
  // For JSON syntax errors: 1-based line and column; 0 otherwise.
  int line = 0;
  int column = 0;
  std::string message;  // lowercase, no final period, AWS text quoted
};

// "Statement[2].Resource[0]" for "/Statement/2/Resource/0"; "(document)" for "".
std::string ReadablePointer(std::string_view pointer);
// "FILE: Statement[2].Resource[0]: warning: message", or "FILE:3:14: error: message".
std::string FormatImportIssue(std::string_view file, const ImportIssue& issue);

struct AwsIotImportOptions {
  std::string policy_name;  // metadata.name of the output; letters, digits, '-', '_', '.'
  // Whom the policy applies to. AWS attaches a policy to certificates and things; FleetPDP
  // policies select principals. Exactly one of: principals_any ("*"), or a group (default: a
  // group named like the policy, which selects nobody until its members are declared).
  bool principals_any = false;
  std::string principals_group;  // empty: the policy name
};

struct AwsIotImportResult {
  std::string yaml;  // the FleetPDP policy; empty when no statement could be converted
  std::vector<ImportIssue> issues;
  int statements_in = 0;       // AWS statements read
  int statements_skipped = 0;  // AWS statements with nothing converted
  int statements_out = 0;      // FleetPDP statements written
  bool HasErrors() const;
  bool HasWarnings() const;
};

// Converts one AWS IoT Core policy document. `source` names it in the output's description.
// Never fails: a JSON syntax error or a document that is not a policy is an error issue (with
// line and column for syntax errors) and an empty yaml.
AwsIotImportResult ConvertAwsIotPolicy(std::string_view json_text, std::string_view source,
                                       const AwsIotImportOptions& options);

// Parses, validates and compiles `yaml` as FleetPDP does for a bundle (reported as `path`):
// OK, or InvalidArgument with every problem as "path:line:column: message".
absl::Status CheckImportedPolicy(std::string_view yaml, std::string_view path);

// A policy name from a file name: the stem with every character outside [A-Za-z0-9_.-] turned
// into '-' ("my policy.json" → "my-policy"), "aws-iot-policy" when nothing is left.
std::string PolicyNameFromFile(std::string_view file_name);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_AWS_IOT_IMPORT_H_
