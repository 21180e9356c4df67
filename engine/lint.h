// Policy lint: audit checks for risky or dead policy statements, in the spirit of AWS IoT Device
// Defender's audit checks. Pure analysis of the model (policy.h); no I/O.
//
//   ParsedSources parsed;
//   if (ParseSources(files, parsed).ok()) {
//     for (const LintFinding& f : Lint(parsed.set)) std::cout << f.rule->id << " " << f.message;
//   }
//
// REQUIRES: the set parsed and validated without errors (ParseSources returned an ok report):
// patterns and conditions that do not compile are skipped, not reported.
//
// Every rule is sound in the direction that matters for it: rules that call a statement dead
// (FPL005, FPL007) report only what provably never applies, treating a ${…} variable as an
// unknown value; rules that call a statement risky (the others) may over-approximate, e.g. a
// variable is assumed to be able to take any one-level value when judging whether two patterns
// overlap. docs/lifecycle-lint.md explains each rule with an example.
//
// Thread safety: pure functions; the rule table is immutable.
#ifndef FLEETPDP_ENGINE_LINT_H_
#define FLEETPDP_ENGINE_LINT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "engine/policy.h"

namespace fleetpdp::engine {

// Ordered from most to least severe: a lower value is more severe.
enum class Severity : uint8_t { kCritical, kHigh, kMedium, kLow, kInfo };

std::string_view SeverityName(Severity severity);  // "critical", "high", …
// The severity named `name` (as SeverityName prints it), or nullopt.
std::optional<Severity> ParseSeverity(std::string_view name);

struct LintRule {
  std::string_view id;       // "FPL001": stable, never reused
  std::string_view name;     // "allow-all-topics": a readable key
  Severity severity;         // every finding of the rule has this severity
  std::string_view summary;  // one line: what it catches
  std::string_view help;     // why it matters and how to fix it
};

// Every rule, by id.
absl::Span<const LintRule> AllLintRules();
// The rule with this id ("FPL001"), or null.
const LintRule* FindLintRule(std::string_view id);

struct LintFinding {
  const LintRule* rule = nullptr;  // points into AllLintRules()
  std::string message;             // lowercase, no final period, user input quoted
  std::string policy;              // the policy's name
  std::string statement;           // the statement's id; empty for a finding about a policy
  SourceLocation location;         // the statement, condition or principal selector
};

struct LintOptions {
  std::vector<std::string> disabled;  // rule ids whose findings are left out
};

// Runs every enabled rule over `set`. Findings are sorted by file, line, column, rule id and
// message, so the output is stable for a given input.
std::vector<LintFinding> Lint(const PolicySet& set, const LintOptions& options = {});

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_LINT_H_
