// The compliance report of `fleetpdp compliance report`: which regulatory controls of a catalogue
// the policies of a bundle claim (their `metadata.compliance` tags), which statements implement
// them, which policy tests exercise those statements, and the gaps.
//
//   absl::StatusOr<Catalogue> catalogue = ParseCatalogue("(built in)", BuiltinCatalogueText());
//   std::vector<TestEvidence> tests = CollectEvidence(*bundle.index, results);
//   Report report = BuildReport(*catalogue, policy_set, std::move(tests), {.name = "fleet"});
//   std::cout << RenderMarkdown(report);
//
// A test is attributed to a policy when one of the policy's statements decided it or when the
// test names one of them in `statements:`. A tag that is neither a control id nor an alias is an
// unknown tag: the command refuses it unless told to list it as a gap
// (docs/lifecycle-compliance-ci.md).
//
// Thread safety: pure functions over their inputs.
#ifndef FLEETPDP_CLI_COMPLIANCE_H_
#define FLEETPDP_CLI_COMPLIANCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/policy.h"
#include "engine/policy_tests.h"

namespace fleetpdp::engine {
class RuleIndex;
}

namespace fleetpdp::cli {

// `policy`: an access policy can implement part of the control, so an untagged control is a gap.
// `process`: the evidence lives elsewhere (risk assessment, SBOM, logs); never a gap.
enum class ControlScope { kPolicy, kProcess };

struct Framework {
  std::string id;  // e.g. "CRA"
  std::string title;
  std::string source;
};

struct Control {
  std::string id;  // e.g. "CRA-AnnexI-1.2.d"
  std::string framework;
  std::string ref;  // where the source says it, e.g. "Annex I, Part I (2)(d)"
  std::string title;
  std::string description;
  std::string note;
  ControlScope scope = ControlScope::kPolicy;
  std::vector<std::string> aliases;  // other ids that resolve to this control (older numbering)
  engine::SourceLocation location;
};

struct Catalogue {
  std::string name;
  std::string path;  // as given to ParseCatalogue, for messages
  std::vector<Framework> frameworks;
  std::vector<Control> controls;  // in file order
};

// Parses a catalogue (YAML, kind ComplianceCatalogue; the format is described in the header of
// cli/data/compliance-catalogue.yaml). InvalidArgument lists every problem found, one per line, as
// `path:line:column: message`: syntax, unknown keys, missing fields, a bad scope, an undeclared
// framework, a duplicate id or alias.
absl::StatusOr<Catalogue> ParseCatalogue(std::string_view path, std::string_view text);

// The catalogue compiled into the binary (cli/data/compliance-catalogue.yaml).
std::string_view BuiltinCatalogueText();

// One policy test as the report sees it: its outcome and the statements ("policy/statement") that
// decided it or that it names.
struct TestEvidence {
  std::string suite;
  std::string name;
  engine::SourceLocation location;
  bool passed = false;
  std::string failure;
  std::vector<std::string> decided;
  std::vector<std::string> named;
};

// REQUIRES: every result's test pointer is valid and `index` is the index the tests ran against.
std::vector<TestEvidence> CollectEvidence(const engine::RuleIndex& index,
                                          const std::vector<engine::TestResult>& results);

struct BundleInfo {
  std::string name;
  uint64_t revision = 0;
  std::string digest;
};

struct TestLink {
  size_t test = 0;                      // index into Report::tests
  std::vector<std::string> statements;  // this policy's statement ids that link them
  bool decided = false;                 // a statement of this policy decided the test
  bool named = false;                   // the test names a statement of this policy
};

struct PolicyLink {
  std::string policy;
  std::string tag;  // as written in the policy (an alias when it differs from the control id)
  engine::SourceLocation location;      // of the tag
  std::vector<std::string> statements;  // every statement id of the policy
  std::vector<TestLink> tests;
};

enum class ControlStatus {
  kCovered,      // tagged policies, each with at least one test, none failing
  kUntested,     // a tagged policy has no test
  kFailingTest,  // a test attributed to a tagged policy fails
  kNoPolicy,     // policy scope, no policy tags it: a gap
  kOutOfScope,   // process scope, no policy tags it: not a gap
};
std::string_view ControlStatusName(ControlStatus status);  // "covered", "untested", …

struct ControlReport {
  Control control;
  ControlStatus status = ControlStatus::kNoPolicy;
  std::vector<PolicyLink> policies;
};

// A tag on a policy that is not a control id: unknown, or an alias of one.
struct TagNote {
  std::string policy;
  std::string tag;
  engine::SourceLocation location;
  std::string control;     // the control an alias resolves to; empty when unknown
  std::string suggestion;  // for an unknown tag, the nearest control id, if one is close
};

struct Gap {
  std::string kind;  // "no-policy", "no-test", "failing-test", "unknown-tag"
  std::string control;
  std::string policy;
  std::string test;  // "suite: name" for failing-test
  std::string message;
};

struct Report {
  BundleInfo bundle;
  std::string catalogue_name;
  std::string catalogue_path;
  std::vector<Framework> frameworks;
  std::vector<ControlReport> controls;  // catalogue order
  std::vector<TagNote> unknown_tags;
  std::vector<TagNote> alias_tags;
  std::vector<std::string> untagged_policies;
  std::vector<TestEvidence> tests;
  std::vector<std::vector<std::string>>
      test_policies;  // per test: the policies it is attributed to
  std::vector<Gap> gaps;
};

// Builds the report. Unknown tags are listed in `unknown_tags` and, as "unknown-tag" gaps, in
// `gaps` (the command decides whether they are an error).
Report BuildReport(const Catalogue& catalogue, const engine::PolicySet& policies,
                   std::vector<TestEvidence> tests, BundleInfo bundle);

// `path:line:column: policy "p": compliance tag "t" is not in catalogue "c" (did you mean "…"?)`
std::string UnknownTagMessage(const Report& report, const TagNote& note);
// `path:line:column: policy "p": compliance tag "t" is the 2022 proposal's … ` — see the catalogue.
std::string AliasTagMessage(const TagNote& note);

// Markdown with tables (summary, gaps, tag notes, controls, tests).
std::string RenderMarkdown(const Report& report);
// JSON, schema "fleetpdp.compliance-report/v1" (docs/lifecycle-compliance-ci.md).
std::string RenderJson(const Report& report);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_COMPLIANCE_H_
