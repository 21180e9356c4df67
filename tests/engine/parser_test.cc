// Tests for engine/parser.cc and engine/validate.cc: every problem in policy, entity and test
// documents is reported with the exact file:line:column where it was found and a message that
// names what is wrong.
//
// Most policies below are written with WithStatements(), which puts the statements given to it at
// line 8 of the document, each statement starting at column 7 ("    - id: …"):
//
//   1 apiVersion: fleetpdp/v1
//   2 kind: Policy
//   3 metadata:
//   4   name: cams
//   5 spec:
//   6   principals: "*"
//   7   statements:
//   8     - id: …
#include "engine/parser.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::AddAttribute;
using ::fleetpdp::engine::testing::Allowed;
using ::fleetpdp::engine::testing::CompileOrDie;
using ::fleetpdp::engine::testing::MakeRequest;
using ::fleetpdp::engine::testing::ProblemsIn;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kPolicyHeader[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: "*"
  statements:
)";

// A policy whose statements (given from line 8 on) are `statements`; a leading newline is dropped
// so that callers can start their raw string on the line after R"(.
std::string WithStatements(std::string_view statements) {
  if (statements.starts_with('\n')) statements.remove_prefix(1);
  return std::string(kPolicyHeader).append(statements);
}

// The problems ParseSources reports for several files together.
std::string ProblemsInFiles(std::vector<SourceFile> files) {
  ParsedSources parsed;
  return ParseSources(files, parsed).ToString();
}

// Every problem ParseSources reports for `yaml`, one per element.
std::vector<Diagnostic> DiagnosticsIn(const std::string& yaml) {
  ParsedSources parsed;
  return ParseSources(std::vector<SourceFile>{{"p.yaml", yaml}}, parsed).errors();
}

// A statement that is valid on its own, for tests about the parts around it.
constexpr char kValidStatement[] = R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
)";

TEST(ParserTest, ValidPolicyHasNoProblems) {
  EXPECT_THAT(ProblemsIn(WithStatements(kValidStatement)), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Documents

TEST(ParserTest, YamlSyntaxErrorIsReportedWithLineAndColumn) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
     actions: [mqtt:publish]
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:10:6: end of sequence not found"));
}

TEST(ParserTest, UnclosedFlowMappingIsAYamlSyntaxError) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: cams
spec: {}
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:4:5: end of map flow not found"));
}

TEST(ParserTest, EmptyFileIsReported) {
  EXPECT_EQ(ProblemsIn(""), "p.yaml: file holds no document");
}

TEST(ParserTest, FileWithOnlyCommentsIsReported) {
  EXPECT_EQ(ProblemsIn("# nothing here yet\n"), "p.yaml: file holds no document");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, FileWithOnlyADocumentSeparatorIsReported) {
  EXPECT_THAT(ProblemsIn("---\n"), HasSubstr("p.yaml: file holds no document"));
}

// Regression (fuzz/policy_fuzzer; fuzz/corpus/policy/regression-stray-comma.yaml): yaml-cpp 0.7's
// LoadAll never returns on these, allocating without bound.
TEST(ParserTest, AStrayCommaAfterADocumentIsReportedInsteadOfParsedForever) {
  EXPECT_EQ(ProblemsIn(R"({"":[]},)"),
            "p.yaml:1:8: unexpected \",\" where a document should start");
  EXPECT_EQ(ProblemsIn("\"quoted\",\n"),
            "p.yaml:1:9: unexpected \",\" where a document should start");
  EXPECT_EQ(ProblemsIn(","), "p.yaml:1:1: unexpected \",\" where a document should start");
}

TEST(ParserTest, DocumentsAfterTheFirstAreStillParsed) {
  const std::string yaml = WithStatements(kValidStatement) + "---\n" + "kind: Nonsense\n";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("unknown kind \"Nonsense\""));
}

TEST(ParserTest, DocumentThatIsNotAMappingIsReported) {
  EXPECT_THAT(ProblemsIn("- apiVersion: fleetpdp/v1\n"),
              HasSubstr("p.yaml:1:1: a document must be a mapping with apiVersion and kind"));
}

TEST(ParserTest, UnsupportedApiVersionIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v2
kind: Entities
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:1:13: unsupported apiVersion \"fleetpdp/v2\" (expected \"fleetpdp/v1\")");
}

TEST(ParserTest, UnknownKindIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Polcy
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:2:7: unknown kind \"Polcy\" (expected Policy, Entities or PolicyTest)");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, EmptyKindIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: ""
metadata:
  name: cams
)";
  EXPECT_THAT(ProblemsIn(yaml), AllOf(HasSubstr("p.yaml:2:7: "), HasSubstr("kind")));
}

TEST(ParserTest, MissingKindAndApiVersionAreReported) {
  const std::string yaml = "metadata: { name: cams }\n";
  EXPECT_THAT(ProblemsIn(yaml),
              AllOf(HasSubstr("p.yaml:1:1: missing required key \"kind\""),
                    HasSubstr("p.yaml:1:1: missing required key \"apiVersion\"")));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys, at every level

TEST(ParserTest, UnknownKeyInPolicyDocumentIsReported) {
  const std::string yaml = absl::StrCat(WithStatements(kValidStatement), "labels: {}\n");
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:12:1: unknown key \"labels\" in a Policy (expected one of: "
                        "apiVersion, kind, metadata, spec)"));
}

TEST(ParserTest, UnknownKeyInMetadataIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
  owner: team-a
spec:
  principals: "*"
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:5:3: unknown key \"owner\" in metadata (expected one of: name, "
                        "description, compliance, labels)"));
}

TEST(ParserTest, UnknownKeyInSpecIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: "*"
  statement: []
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:7:3: unknown key \"statement\" in spec "
                                          "(expected one of: principals, statements)"));
}

TEST(ParserTest, UnknownKeyInPrincipalsIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: { ids: [cam-1], group: [cameras] }
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:6:31: unknown key \"group\" in principals (expected one of: ids, "
                        "groups, attributes)"));
}

TEST(ParserTest, UnknownKeyInStatementIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      condition: {}
)");
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:12:7: unknown key \"condition\" in a statement (expected one of: "
                        "id, effect, actions, resources, conditions, description)"));
}

TEST(ParserTest, UnknownKeyInEntitiesDocumentIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
device: []
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:3:1: unknown key \"device\" in an Entities "
                                          "document"));
}

TEST(ParserTest, UnknownKeyInPolicyTestMetadataIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: cams, owner: team-a }
cases:
  - { name: c1, principal: cam-1, action: mqtt:publish, resource: a, expect: deny }
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:3:25: unknown key \"owner\" in metadata "
                                          "(expected one of: name, description)"));
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, UnknownKeyInEntitiesMetadataIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
metadata:
  nmae: fleet
groups:
  - { id: sensors }
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:4:3: unknown key \"nmae\" in metadata"));
}

TEST(ParserTest, UnknownKeyInEntityIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras }
devices:
  - { id: cam-1, group: [cameras] }
)";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:6:18: unknown key \"group\" in an entity (expected one of: id, "
                        "groups, attributes, description)"));
}

TEST(ParserTest, UnknownKeyInGroupIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: sensors }
  - { id: cameras, parent: [sensors] }
)";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:5:20: unknown key \"parent\" in a group (expected one of: id, "
                        "parents, description)"));
}

TEST(ParserTest, UnknownKeyInTestCaseIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata:
  name: cams
cases:
  - name: own-telemetry
    principal: cam-1
    action: mqtt:publish
    resource: devices/cam-1/telemetry
    expected: allow
)";
  EXPECT_THAT(ProblemsIn(yaml),
              AllOf(HasSubstr("p.yaml:10:5: unknown key \"expected\" in a test case"),
                    HasSubstr("p.yaml:6:5: missing required key \"expect\"")));
}

TEST(ParserTest, UnknownKeyInTestPrincipalIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - name: own-telemetry
    principal: { id: cam-1, group: [cameras] }
    action: mqtt:publish
    resource: devices/cam-1/telemetry
    expect: allow
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:5:29: unknown key \"group\" in principal"));
}

// ---------------------------------------------------------------------------------------------
// Duplicate keys

TEST(ParserTest, DuplicateKeyInStatementIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      effect: deny
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:12:7: duplicate key \"effect\" in a statement"));
}

TEST(ParserTest, DuplicateKeyInMetadataIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
  name: cameras
spec:
  principals: "*"
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:5:3: duplicate key \"name\" in metadata");
}

TEST(ParserTest, DuplicateKeyInEntityAttributesIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
devices:
  - { id: cam-1, attributes: { region: eu, region: us } }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:4:44: duplicate key \"region\" in attributes");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, DuplicateOperatorKeyInConditionsIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: deny
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { principal.attributes.region: eu }
        StringEquals: { principal.attributes.tier: free }
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:14:9: duplicate key \"StringEquals\""));
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, DuplicateAttributePathInOneOperatorIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: deny
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { context.tier: free, context.tier: trial }
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:13:45: duplicate key \"context.tier\""));
}

// ---------------------------------------------------------------------------------------------
// Missing required keys

TEST(ParserTest, MissingMetadataNameIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  description: cameras
spec:
  principals: "*"
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:4:3: missing required key \"name\"");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, EmptyMetadataNameIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: ""
spec:
  principals: "*"
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml), AllOf(HasSubstr("p.yaml:4:9: "), HasSubstr("name")));
}

TEST(ParserTest, MissingMetadataIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
spec:
  principals: "*"
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:1:1: missing required key \"metadata\"");
}

TEST(ParserTest, MissingSpecIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:1:1: missing required key \"spec\"");
}

TEST(ParserTest, MissingPrincipalsIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:6:3: missing required key \"principals\" (use \"*\" to apply to everyone)");
}

TEST(ParserTest, MissingStatementsIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: "*"
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:6:3: missing required key \"statements\"");
}

TEST(ParserTest, EmptyStatementsListIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: "*"
  statements: []
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:7:15: statements must be a non-empty list");
}

TEST(ParserTest, MissingStatementIdIsReported) {
  const std::string yaml = WithStatements(R"(
    - effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:8:7: missing required key \"id\"");
}

TEST(ParserTest, MissingEffectIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:8:7: missing required key \"effect\"");
}

TEST(ParserTest, MissingActionsIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:8:7: missing required key \"actions\"");
}

TEST(ParserTest, EmptyActionsListIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: []
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:10:16: \"actions\" must not be empty");
}

TEST(ParserTest, MissingResourcesIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:8:7: missing required key \"resources\"");
}

TEST(ParserTest, MissingTestCaseExpectIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - name: own-telemetry
    principal: cam-1
    action: mqtt:publish
    resource: devices/cam-1/telemetry
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:4:5: missing required key \"expect\"");
}

// ---------------------------------------------------------------------------------------------
// Statements: effect, ids, actions, resources

TEST(ParserTest, BadEffectIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: permit
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:9:15: effect must be \"allow\" or \"deny\", not \"permit\"");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, EmptyEffectIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: ""
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_THAT(ProblemsIn(yaml), AllOf(HasSubstr("p.yaml:9:15: "), HasSubstr("effect")));
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, EmptyStatementIdIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: ""
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_THAT(ProblemsIn(yaml), AllOf(HasSubstr("p.yaml:8:11: "), HasSubstr("id")));
}

TEST(ParserTest, StatementIdWithSpacesIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: own telemetry
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:8:11: statement id \"own telemetry\" may only contain "
            "letters, digits, '-', '_' and '.'");
}

TEST(ParserTest, ActionWithStarInTheMiddleIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish, "mqtt:*:x"]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:10:31: invalid action \"mqtt:*:x\" (expected "
            "\"namespace:name\", optionally ending in \"*\")");
}

TEST(ParserTest, ActionWithLeadingStarIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: ["*mqtt"]
      resources: ["devices/#"]
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:10:17: invalid action \"*mqtt\" (expected "
            "\"namespace:name\", optionally ending in \"*\")");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, ActionWithoutNamespaceIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [publish]
      resources: ["devices/#"]
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:10:17: invalid action \"publish\""));
}

TEST(ParserTest, HashThatIsNotTheLastLevelIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#", "a/#/b"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:11:32: topic filter \"a/#/b\": \"#\" must be the last level");
}

TEST(ParserTest, PlusInsideALevelIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["a+/b"]
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:11:19: topic filter \"a+/b\": \"+\" must be a whole level, not part of \"a+\"");
}

TEST(ParserTest, UnknownVariableInResourceIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/${principle.id}/telemetry"]
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:11:19: variable \"${principle.id}\": unknown "
                                          "attribute path \"principle.id\""));
}

TEST(ParserTest, UnterminatedVariableInResourceIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/${principal.id"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:11:19: variable in \"${principal.id\" has no closing \"}\"");
}

TEST(ParserTest, GroupsVariableInResourceIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["groups/${principal.groups}/#"]
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:11:19: variable \"${principal.groups}\": "
                                          "unknown attribute path \"principal.groups\""));
}

// ---------------------------------------------------------------------------------------------
// Conditions. Operators sit at line 13, column 9; the attribute path of a flow mapping
// "{ key: value }" after an operator of length N at column 9 + N + 4.

TEST(ParserTest, UnknownOperatorIsReportedWithASuggestion) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEqual: { principal.attributes.region: eu }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:9: unknown operator \"StringEqual\" (did you mean \"StringEquals\"?)");
}

TEST(ParserTest, UnknownOperatorFarFromAnyIsReportedWithoutASuggestion) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        Frobnicate: { principal.attributes.region: eu }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:9: unknown operator \"Frobnicate\"");
}

TEST(ParserTest, UnknownQualifiedOperatorIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        ForAnyValue:StringLikes: { context.tags: "a*" }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:9: unknown operator \"StringLikes\" (did you mean \"StringLike\"?)");
}

TEST(ParserTest, UnknownAttributePathInConditionIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { principal.atributes.region: eu }
)");
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:13:25: unknown attribute path \"principal.atributes.region\""));
}

TEST(ParserTest, CidrWithHostBitsSetIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        IpAddress: { context.source_ip: "10.0.0.1/8" }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:22: IpAddress: \"10.0.0.1/8\" is not an IP address or CIDR block with zero "
            "host bits, e.g. \"10.0.0.0/8\"");
}

TEST(ParserTest, CidrWithTooLongPrefixIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        NotIpAddress: { context.source_ip: ["10.0.0.0/8", "10.0.0.0/33"] }
)");
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:13:25: NotIpAddress: \"10.0.0.0/33\" is not an IP address"));
}

TEST(ParserTest, BadNumberIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        NumericLessThan: { context.qos: ten }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:28: NumericLessThan: \"ten\" is not a number");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ParserTest, BadNumberIsReportedAtTheAttributePathWhateverItsText) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        NumericLessThan: { context.qos: operator }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:28: NumericLessThan: \"operator\" is not a number");
}

TEST(ParserTest, BadDateIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        DateLessThan: { context.time: "2026-01-31" }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:25: DateLessThan: \"2026-01-31\" is not an RFC 3339 date with a time zone, "
            "e.g. \"2026-01-31T00:00:00Z\"");
}

TEST(ParserTest, BadSemverIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        SemverAtLeast: { principal.attributes.firmware: "2.x" }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:26: SemverAtLeast: \"2.x\" is not a semantic version, e.g. \"2.1.0\"");
}

TEST(ParserTest, BoolWithANonBooleanValueIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        Bool: { context.tls: "yes" }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:17: Bool: \"yes\" is not true or false");
}

TEST(ParserTest, BoolWithTwoValuesIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        Bool: { context.tls: [true, false] }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:17: Bool takes exactly one value, true or false");
}

TEST(ParserTest, ExistsWithAQualifierIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        ForAnyValue:Exists: { context.tags: "true" }
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:13:9: Exists takes no ForAnyValue:/ForAllValues: qualifier");
}

TEST(ParserTest, PrincipalGroupsWithoutAQualifierIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { principal.groups: cameras }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:9: principal.groups is a list: qualify the operator "
            "with ForAnyValue: or ForAllValues:");
}

TEST(ParserTest, VariableInANonStringOperatorIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        NumericLessThan: { context.qos: "${principal.attributes.max_qos}" }
)");
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("NumericLessThan: variables are only allowed in String operators, found "
                        "\"${principal.attributes.max_qos}\""));
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:13:"));
}

TEST(ParserTest, UnknownVariableInAConditionValueIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { context.owner: "${principle.id}" }
)");
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:13:25: variable \"${principle.id}\": unknown "
                                          "attribute path \"principle.id\""));
}

TEST(ParserTest, OperatorWithoutAttributesIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals:
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:9: operator \"StringEquals\" must map attribute paths to values");
}

TEST(ParserTest, ConditionWithoutAValueIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        StringEquals: { context.owner: }
)");
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:13:25: condition on \"context.owner\" needs a value or a list of values");
}

// ---------------------------------------------------------------------------------------------
// Principals

TEST(ParserTest, PrincipalsSelectingNobodyIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: {}
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:6:15: principals selects nobody: give ids, groups or attributes, or \"*\"");
}

TEST(ParserTest, PrincipalsAsAStringOtherThanStarIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: everyone
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml), HasSubstr("p.yaml:6:15: principals must be \"*\" or a mapping"));
}

TEST(ParserTest, PrincipalAttributeGivenAsAListIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals:
    attributes: { region: [eu, us] }
  statements:
    - { id: s1, effect: allow, actions: [mqtt:publish], resources: [a] }
)";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:7:17: principal attribute \"region\" must be a single value"));
}

// ---------------------------------------------------------------------------------------------
// Cross-document checks (validate.cc)

TEST(ValidateTest, DuplicateStatementIdsAreReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/#"]
    - id: s1
      effect: deny
      actions: [mqtt:publish]
      resources: ["devices/+/cmd"]
)");
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:12:7: duplicate statement id \"s1\" in policy \"cams\"");
}

TEST(ValidateTest, DuplicatePolicyNamesAcrossFilesAreReported) {
  const std::string policy = WithStatements(kValidStatement);
  EXPECT_EQ(ProblemsInFiles({{"policies/a.yaml", policy}, {"policies/b.yaml", policy}}),
            "policies/b.yaml:1:1: duplicate policy name \"cams\" (first defined at "
            "policies/a.yaml:1)");
}

TEST(ValidateTest, DuplicatePolicyNamesInOneFileAreReported) {
  const std::string policy = WithStatements(kValidStatement);
  EXPECT_EQ(ProblemsIn(absl::StrCat(policy, "---\n", policy)),
            "p.yaml:13:1: duplicate policy name \"cams\" (first defined at p.yaml:1)");
}

TEST(ValidateTest, DuplicateGroupIdIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras }
  - { id: sensors }
  - { id: cameras }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:6:5: duplicate group id \"cameras\" (first defined at p.yaml:4)");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ValidateTest, GroupsWithoutIdsAreReportedOnlyAsMissingIds) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { parents: [] }
  - { description: cameras }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:4:5: missing required key \"id\"\n"
            "p.yaml:5:5: missing required key \"id\"");
}

// Regression: found by this test and fixed in the parser/validator.
TEST(ValidateTest, EmptyEntityIdIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
devices:
  - { id: "" }
)";
  EXPECT_THAT(ProblemsIn(yaml), AllOf(HasSubstr("p.yaml:4:"), HasSubstr("id")));
}

TEST(ValidateTest, DuplicateEntityIdIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
devices:
  - { id: cam-1 }
services:
  - { id: cam-1 }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:6:5: duplicate entity id \"cam-1\" (first defined at p.yaml:4)");
}

TEST(ValidateTest, EntityNamingAnUnknownGroupIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras }
devices:
  - { id: cam-1, groups: [cameras, camreas] }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:6:5: entity \"cam-1\" names unknown group \"camreas\" "
            "(declare it under groups:)");
}

TEST(ValidateTest, GroupWithAnUnknownParentIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras, parents: [sensor] }
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:4:5: group \"cameras\" names unknown parent group \"sensor\"");
}

TEST(ValidateTest, GroupCycleIsReportedWithItsPath) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: a, parents: [b] }
  - { id: b, parents: [c] }
  - { id: c, parents: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:6:5: cycle in the group hierarchy: a → b → c → a");
}

TEST(ValidateTest, GroupThatIsItsOwnParentIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: a, parents: [a] }
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:4:5: cycle in the group hierarchy: a → a");
}

TEST(ValidateTest, GroupsAcrossFilesFormOneHierarchy) {
  const std::string sensors = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: sensors }
)";
  const std::string cameras = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras, parents: [sensors] }
)";
  EXPECT_THAT(ProblemsInFiles({{"entities/a.yaml", sensors}, {"entities/b.yaml", cameras}}),
              IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Policy tests

TEST(ParserTest, TestCaseWithABadExpectIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - name: own-telemetry
    principal: cam-1
    action: mqtt:publish
    resource: devices/cam-1/telemetry
    expect: allowed
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:8:13: expect must be \"allow\" or \"deny\", not \"allowed\"");
}

TEST(ParserTest, TestCaseWithABadReasonIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - name: own-telemetry
    principal: cam-1
    action: mqtt:publish
    resource: devices/cam-1/telemetry
    expect: deny
    reason: DENIED
)";
  EXPECT_EQ(ProblemsIn(yaml),
            "p.yaml:9:13: reason must be ALLOWED, EXPLICIT_DENY or "
            "DEFAULT_DENY, not \"DENIED\"");
}

TEST(ParserTest, PolicyTestWithoutCasesIsReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: cams }
cases: []
)";
  EXPECT_EQ(ProblemsIn(yaml), "p.yaml:4:8: cases must be a non-empty list");
}

// ---------------------------------------------------------------------------------------------
// Whole files

TEST(ParserTest, EveryProblemInAFileIsReported) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: permit
      actions: ["*mqtt"]
      resources: ["a/#/b"]
      conditions:
        StringEqual: { context.a: x }
        IpAddress: { context.source_ip: "10.0.0.0/33" }
    - id: s1
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/+/telemetry"]
      colour: blue
)");
  const std::vector<Diagnostic> problems = DiagnosticsIn(yaml);
  // effect, action, resource, operator, CIDR, unknown key, duplicate id.
  EXPECT_THAT(problems, SizeIs(7));
  const std::string all = ProblemsIn(yaml);
  EXPECT_THAT(all, HasSubstr("p.yaml:9:15: effect must be"));
  EXPECT_THAT(all, HasSubstr("p.yaml:10:17: invalid action \"*mqtt\""));
  EXPECT_THAT(all, HasSubstr("p.yaml:11:19: topic filter \"a/#/b\""));
  EXPECT_THAT(all, HasSubstr("p.yaml:13:9: unknown operator \"StringEqual\""));
  EXPECT_THAT(all, HasSubstr("p.yaml:14:22: IpAddress: \"10.0.0.0/33\""));
  EXPECT_THAT(all, HasSubstr("p.yaml:19:7: unknown key \"colour\" in a statement"));
  EXPECT_THAT(all, HasSubstr("p.yaml:15:7: duplicate statement id \"s1\""));
}

TEST(ParserTest, ProblemsInEveryDocumentOfAFileAreReported) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: cameras, parents: [sensors] }
---
apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - { name: c1, principal: cam-1, action: mqtt:publish, resource: a, expect: maybe }
)";
  EXPECT_THAT(DiagnosticsIn(yaml), SizeIs(2));
  EXPECT_THAT(ProblemsIn(yaml),
              AllOf(HasSubstr("p.yaml:9:78: expect must be"),
                    HasSubstr("p.yaml:4:5: group \"cameras\" names unknown parent group")));
}

TEST(ParserTest, JsonPolicyParsesAndCompiles) {
  const std::string json = R"({
  "apiVersion": "fleetpdp/v1",
  "kind": "Policy",
  "metadata": {"name": "cams"},
  "spec": {
    "principals": {"groups": ["cameras"]},
    "statements": [{
      "id": "own-telemetry",
      "effect": "allow",
      "actions": ["mqtt:publish"],
      "resources": ["devices/${principal.id}/telemetry/#"],
      "conditions": {"StringEquals": {"principal.attributes.region": "eu"}}
    }]
  }
})";
  EXPECT_THAT(ProblemsIn(json, "p.json"), IsEmpty());
  std::shared_ptr<const RuleIndex> index = CompileOrDie({{"policies/cams.json", json}});
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->statement_count(), 1u);

  Request request = MakeRequest("cam-1", "mqtt:publish", "devices/cam-1/telemetry/temp");
  request.principal.groups = {"cameras"};
  AddAttribute(request.principal.attributes, "region", "eu");
  EXPECT_TRUE(Allowed(*index, request));
}

TEST(ParserTest, JsonErrorsAreReportedWithLineAndColumn) {
  const std::string json = R"({
  "apiVersion": "fleetpdp/v1",
  "kind": "Policy",
  "metadata": {"name": "cams"},
  "spec": {
    "principals": "*",
    "statements": [{"id": "s1", "effect": "alow", "actions": ["mqtt:publish"],
                    "resources": ["a"]}]
  }
})";
  EXPECT_EQ(ProblemsIn(json, "p.json"),
            "p.json:7:43: effect must be \"allow\" or \"deny\", not \"alow\"");
}

TEST(ParserTest, FileWithPolicyEntitiesAndTestsParses) {
  const std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: cams
spec:
  principals: { groups: [sensors] }
  statements:
    - id: own-telemetry
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/${principal.id}/telemetry"]
---
apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: sensors }
  - { id: cameras, parents: [sensors] }
devices:
  - { id: cam-1, groups: [cameras], attributes: { region: eu } }
---
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata:
  name: cams
cases:
  - name: own-telemetry
    principal: cam-1
    action: mqtt:publish
    resource: devices/cam-1/telemetry
    expect: allow
    reason: ALLOWED
    statements: [cams/own-telemetry]
  - name: other-telemetry
    principal: { id: cam-1, attributes: { region: us } }
    action: mqtt:publish
    resource: devices/cam-2/telemetry
    expect: deny
)";
  ParsedSources parsed;
  ValidationReport report = ParseSources(std::vector<SourceFile>{{"p.yaml", yaml}}, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  ASSERT_THAT(parsed.set.policies, SizeIs(1));
  EXPECT_EQ(parsed.set.policies[0].name, "cams");
  EXPECT_THAT(parsed.set.groups, SizeIs(2));
  ASSERT_THAT(parsed.set.entities, SizeIs(1));
  EXPECT_EQ(parsed.set.entities[0].type, "device");
  ASSERT_THAT(parsed.tests, SizeIs(2));
  EXPECT_EQ(parsed.tests[0].suite, "cams");
  EXPECT_TRUE(parsed.tests[0].expect_allow);
  EXPECT_EQ(parsed.tests[0].expect_reason, Reason::kAllowed);
  EXPECT_EQ(parsed.tests[1].location.line, 33);
  EXPECT_FALSE(parsed.tests[1].expect_allow);
}

TEST(ParserTest, ReportConvertsToAnInvalidArgumentStatusCountingProblems) {
  const std::string yaml = WithStatements(R"(
    - id: s1
      effect: permit
      actions: ["*mqtt"]
      resources: ["devices/#"]
)");
  ParsedSources parsed;
  absl::Status status = ParseSources(std::vector<SourceFile>{{"p.yaml", yaml}}, parsed).ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("2 problems:\n"), HasSubstr("p.yaml:9:15: effect must be")));
}

TEST(ParserTest, CompileRejectsASetThatFailsValidation) {
  // ParseFile does no cross-document checks, so the duplicate name reaches Compile.
  ParsedSources parsed;
  ValidationReport report;
  const std::string policy = WithStatements(kValidStatement);
  ParseFile({"a.yaml", policy}, parsed, report);
  ParseFile({"b.yaml", policy}, parsed, report);
  ASSERT_TRUE(report.ok()) << report.ToString();
  absl::StatusOr<std::shared_ptr<const RuleIndex>> index = Compile(std::move(parsed.set));
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(index.status().message()),
              HasSubstr("b.yaml:1:1: duplicate policy name \"cams\""));
}

TEST(ParserTest, EntityIdThatCouldNeverMatchAVariableIsReported) {
  const std::string yaml = "apiVersion: fleetpdp/v1\nkind: Entities\ndevices:\n  - {id: \"a/b\"}\n";
  EXPECT_THAT(ProblemsIn(yaml),
              HasSubstr("p.yaml:4:10: entity id \"a/b\" may not contain '/', '+', '#'"));
  EXPECT_EQ(
      ProblemsIn("apiVersion: fleetpdp/v1\nkind: Entities\ndevices:\n  - {id: \"urn:dev:1\"}\n"),
      "");
}

}  // namespace
}  // namespace fleetpdp::engine

namespace fleetpdp::engine {
namespace {

std::string At(const SourceLocation& l) { return absl::StrCat(l.file, ":", l.line, ":", l.column); }

// Everything ParseFile produced, locations included, as text.
std::string Describe(const ParsedSources& parsed, const ValidationReport& report) {
  std::string out;
  for (const Policy& p : parsed.set.policies) {
    absl::StrAppend(&out, "policy ", p.name, " @", At(p.location),
                    " ids=", absl::StrJoin(p.principals.ids, ","),
                    " groups=", absl::StrJoin(p.principals.groups, ","), "\n");
    for (const SourceLocation& l : p.compliance_locations)
      absl::StrAppend(&out, "  tag @", At(l), "\n");
    for (const Statement& s : p.statements) {
      absl::StrAppend(&out, "  statement ", s.id, " @", At(s.location), " ",
                      absl::StrJoin(s.actions, ","), " ", absl::StrJoin(s.resources, ","), "\n");
      for (const Condition& c : s.conditions) {
        absl::StrAppend(&out, "    condition ", c.op, " ", c.key, " @", At(c.location), "\n");
      }
    }
  }
  for (const Group& g : parsed.set.groups)
    absl::StrAppend(&out, "group ", g.id, " @", At(g.location), "\n");
  for (const Entity& e : parsed.set.entities) {
    absl::StrAppend(&out, "entity ", e.id, " @", At(e.location), " ", absl::StrJoin(e.groups, ","),
                    " attributes=", e.attributes.size(), "\n");
  }
  for (const TestCase& t : parsed.tests)
    absl::StrAppend(&out, "test ", t.name, " @", At(t.location), "\n");
  for (const Diagnostic& d : report.errors())
    absl::StrAppend(&out, "error @", At(d.location), " ", d.message, "\n");
  return out;
}

std::string ParseWith(const SourceFile& file, DocumentSplit split) {
  ParsedSources parsed;
  ValidationReport report;
  ParseFile(file, parsed, report, split);
  return Describe(parsed, report);
}

TEST(ParserTest, ParsingADocumentAtATimeGivesWhatLoadAllGivesLocationsIncluded) {
  std::vector<SourceFile> files = {
      {"comments-first.yaml", "# fleet policies\n\n---\n" + WithStatements(R"(    - id: a
      effect: allow
      actions: [mqtt:publish]
      resources: ["d/#"]
)") + "---\n" + WithStatements(R"(    - id: b
      effect: deny
      actions: [mqtt:publish]
      resources: ["d/x"]
      conditions: {StringEquals: {principal.attributes.region: eu}}
)")},
      {"no-leading-separator.yaml", WithStatements("    - {id: a, effect: allow, actions: "
                                                   "[mqtt:publish], resources: [\"a\"]}\n") +
                                        "---\n---\n" +
                                        WithStatements("    - {id: b, effect: allow}\n")},
      {"document-ends.yaml",
       WithStatements("    - {id: a, effect: allow, actions: [x:y], resources: [\"a\"]}\n") +
           "...\n" +
           WithStatements("    - {id: c, effect: maybe, actions: [x:y], resources: [a]}\n")},
      {"directive.yaml", "%YAML 1.2\n---\n" + WithStatements("    - {id: a, effect: allow}\n") +
                             "---\n" + WithStatements("    - {id: b, effect: nope}\n")},
      {"errors-later.yaml", WithStatements("    - {id: a, effect: allow, actions: [mqtt:publish], "
                                           "resources: [\"a\"]}\n") +
                                "---\napiVersion: fleetpdp/v1\nkind: Entities\ngroups: [{id: g}]\n"
                                "devices:\n  - {id: d1, groups: [g], colour: red}\n"
                                "  - {id: d2, groups: [g]}\n---\nkind: Nonsense\n"},
      {"flow-first.yaml", "  " + WithStatements("    - {id: a, effect: allow}\n")},
  };
  // And every document the project ships.
  for (const char* dir : {"/../../examples", ""}) {
    const std::filesystem::path root = std::filesystem::path(FLEETPDP_TESTDATA_DIR).concat(dir);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (entry.path().extension() != ".yaml") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      files.push_back({entry.path().string(), text.str()});
    }
  }
  ASSERT_GT(files.size(), 20u);
  size_t multi_document = 0;
  for (const SourceFile& file : files) {
    SCOPED_TRACE(file.path);
    const std::string whole = ParseWith(file, DocumentSplit::kWholeFile);
    EXPECT_EQ(ParseWith(file, DocumentSplit::kPerDocument), whole);
    if (absl::StrContains(file.text, "\n---")) ++multi_document;
  }
  EXPECT_GT(multi_document, 8u);
  // The locations are the file's, not the document's.
  EXPECT_THAT(ParseWith(files[4], DocumentSplit::kPerDocument),
              AllOf(HasSubstr("entity d1 @errors-later.yaml:14:5"),
                    HasSubstr("error @errors-later.yaml:17:7 unknown kind \"Nonsense\"")));
}

}  // namespace
}  // namespace fleetpdp::engine
