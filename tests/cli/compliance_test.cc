// Tests for cli/compliance.h: the catalogue parser (built-in catalogue and every error with its
// location), the control → policy → test mapping, each kind of gap, unknown and aliased tags, and
// the two renderings.
#include "cli/compliance.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/parser.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/status_matchers.h"

namespace fleetpdp::cli {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// A small catalogue: two policy-scope controls (one with an alias) and one process-scope control.
constexpr char kCatalogue[] = R"(apiVersion: fleetpdp/v1
kind: ComplianceCatalogue
metadata: { name: small }
frameworks:
  - { id: F, title: A framework }
controls:
  - id: F-access
    framework: F
    title: Access control
    description: Who may do what.
    scope: policy
    aliases: [F-old-access]
  - id: F-integrity
    framework: F
    title: Integrity
    description: Commands come from the right place.
    scope: policy
  - id: F-sbom
    framework: F
    title: Bill of materials
    description: Not a policy matter.
    scope: process
)";

Catalogue SmallCatalogue() {
  absl::StatusOr<Catalogue> c = ParseCatalogue("small.yaml", kCatalogue);
  EXPECT_OK(c.status());
  return *c;
}

struct Bundle {
  engine::ParsedSources parsed;
  std::shared_ptr<const engine::RuleIndex> index;
};

// Parses and compiles policy (and test) documents, failing the test on any problem.
Bundle Load(const std::vector<engine::SourceFile>& files) {
  Bundle b;
  engine::ValidationReport report = engine::ParseSources(files, b.parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  absl::StatusOr<std::shared_ptr<const engine::RuleIndex>> index = engine::Compile(b.parsed.set);
  EXPECT_OK(index.status());
  b.index = *index;
  return b;
}

Report ReportFor(const std::vector<engine::SourceFile>& files) {
  Bundle b = Load(files);
  std::vector<engine::TestResult> results = engine::RunPolicyTests(*b.index, b.parsed.tests);
  return BuildReport(SmallCatalogue(), b.parsed.set, CollectEvidence(*b.index, results),
                     {"b", 1, "digest"});
}

const ControlReport& ControlById(const Report& r, std::string_view id) {
  auto it = std::find_if(r.controls.begin(), r.controls.end(),
                         [&](const ControlReport& c) { return c.control.id == id; });
  EXPECT_NE(it, r.controls.end()) << id;
  return *it;
}

constexpr char kDevicePolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: devices
  compliance: [F-access]
spec:
  principals: "*"
  statements:
    - { id: own-telemetry, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/t"] }
    - { id: no-commands, effect: deny, actions: [mqtt:publish], resources: ["d/+/cmd"] }
)";

TEST(CatalogueTest, BuiltInCatalogueParsesAndListsEveryCraAnnexIItem) {
  absl::StatusOr<Catalogue> c = ParseCatalogue("<built-in>", BuiltinCatalogueText());
  ASSERT_OK(c.status());
  std::vector<std::string> ids;
  for (const Control& control : c->controls) ids.push_back(control.id);
  std::vector<std::string> expected = {"CRA-AnnexI-1.1"};
  for (char letter = 'a'; letter <= 'm'; ++letter) {
    expected.push_back(std::string("CRA-AnnexI-1.2.") + letter);
  }
  for (int point = 1; point <= 8; ++point) {
    expected.push_back("CRA-AnnexI-2." + std::to_string(point));
  }
  for (const std::string& id : expected) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  }
  EXPECT_THAT(c->frameworks,
              ElementsAre(Field(&Framework::id, "CRA"), Field(&Framework::id, "ISO27400")));
}

TEST(CatalogueTest, BuiltInCatalogueResolvesTheDesignExampleTagThroughAnAlias) {
  // DESIGN.md §3 writes CRA-AnnexI-1.3.d, the proposal's number for the integrity requirement.
  absl::StatusOr<Catalogue> c = ParseCatalogue("<built-in>", BuiltinCatalogueText());
  ASSERT_OK(c.status());
  auto it = std::find_if(c->controls.begin(), c->controls.end(), [](const Control& control) {
    return std::find(control.aliases.begin(), control.aliases.end(), "CRA-AnnexI-1.3.d") !=
           control.aliases.end();
  });
  ASSERT_NE(it, c->controls.end());
  EXPECT_EQ(it->id, "CRA-AnnexI-1.2.f");
}

TEST(CatalogueTest, SyntaxErrorNamesFileLineAndColumn) {
  EXPECT_THAT(ParseCatalogue("c.yaml", "controls: [a, b\nframeworks: x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.yaml:")));
  EXPECT_THAT(ParseCatalogue("c.yaml", "controls: [a, b\nframeworks: x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::ContainsRegex("^c.yaml:[0-9]+:[0-9]+: ")));
}

TEST(CatalogueTest, EveryProblemIsReportedWithItsLocation) {
  const std::string text = R"(apiVersion: fleetpdp/v1
kind: ComplianceCatalogue
metadata: { name: bad }
frameworks:
  - { id: F, title: A framework }
controls:
  - { id: F-1, framework: G, title: t, description: d, scope: policy }
  - { id: F-2, framework: F, title: t, description: d, scope: maybe }
  - { id: F-1, framework: F, title: t, description: d, scope: policy, colour: red }
  - { id: F-3, framework: F, title: t, scope: policy, aliases: [F-2] }
  - { id: "F 4", framework: F, title: t, description: d, scope: process }
)";
  absl::StatusOr<Catalogue> c = ParseCatalogue("bad.yaml", text);
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  const std::string message(c.status().message());
  EXPECT_THAT(message,
              HasSubstr("bad.yaml:7:27: framework \"G\" is not declared under frameworks"));
  EXPECT_THAT(message,
              HasSubstr("bad.yaml:8:63: scope must be \"policy\" or \"process\", not \"maybe\""));
  EXPECT_THAT(message, HasSubstr("bad.yaml:9:71: unknown key \"colour\" in a control"));
  EXPECT_THAT(message, HasSubstr("bad.yaml:9:11: id \"F-1\" is already defined at bad.yaml:7:11"));
  EXPECT_THAT(message, HasSubstr("bad.yaml:10:5: missing required key \"description\""));
  EXPECT_THAT(message, HasSubstr("bad.yaml:10:65: id \"F-2\" is already defined at bad.yaml:8:11"));
  EXPECT_THAT(message, HasSubstr("bad.yaml:11:11: id \"F 4\" may only contain"));
}

TEST(CatalogueTest, WrongKindAndMissingControlsAreReported) {
  absl::StatusOr<Catalogue> c = ParseCatalogue(
      "k.yaml", "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: x}\nframeworks: []\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("k.yaml:2:7: kind must be \"ComplianceCatalogue\""));
  EXPECT_THAT(c.status().message(),
              HasSubstr("k.yaml:4:13: \"frameworks\" must be a non-empty list"));
  EXPECT_THAT(c.status().message(), HasSubstr("k.yaml:1:1: missing required key \"controls\""));
}

TEST(CatalogueTest, AnEmptyFileIsAnErrorNotACrash) {
  EXPECT_THAT(ParseCatalogue("e.yaml", ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("e.yaml:1:1: the catalogue must be a mapping")));
}

TEST(ComplianceParserTest, ParserKeepsWhereEachComplianceTagIsWritten) {
  Bundle b = Load({{"p.yaml", kDevicePolicy}});
  const engine::Policy& p = b.parsed.set.policies.at(0);
  ASSERT_THAT(p.compliance_locations, SizeIs(1));
  EXPECT_EQ(p.compliance_locations[0].file, "p.yaml");
  EXPECT_EQ(p.compliance_locations[0].line, 5);
  EXPECT_EQ(p.compliance_locations[0].column, 16);
}

TEST(ReportTest, TestDecidedByAPolicyStatementCoversItsControl) {
  Report r = ReportFor({{"p.yaml", kDevicePolicy}, {"t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: s }
cases:
  - { name: own telemetry, principal: d1, action: mqtt:publish, resource: d/d1/t, expect: allow }
)"}});
  const ControlReport& access = ControlById(r, "F-access");
  EXPECT_EQ(access.status, ControlStatus::kCovered);
  ASSERT_THAT(access.policies, SizeIs(1));
  EXPECT_EQ(access.policies[0].policy, "devices");
  EXPECT_THAT(access.policies[0].statements, ElementsAre("own-telemetry", "no-commands"));
  ASSERT_THAT(access.policies[0].tests, SizeIs(1));
  EXPECT_THAT(access.policies[0].tests[0].statements, ElementsAre("own-telemetry"));
  EXPECT_TRUE(access.policies[0].tests[0].decided);
  EXPECT_FALSE(access.policies[0].tests[0].named);
  EXPECT_THAT(r.test_policies, ElementsAre(ElementsAre("devices")));
}

TEST(ReportTest, ATestIsAttributedToThePolicyItNamesEvenWhenAnotherDecides) {
  // The test expects `other/x` but `devices/no-commands` decides: both policies get the test.
  Report r = ReportFor({{"p.yaml", kDevicePolicy},
                        {"o.yaml", R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: other, compliance: [F-integrity] }
spec:
  principals: "*"
  statements:
    - { id: x, effect: allow, actions: [mqtt:publish], resources: ["d/+/cmd"] }
)"},
                        {"t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: s }
cases:
  - { name: cmd, principal: d1, action: mqtt:publish, resource: d/d1/cmd, expect: deny, statements: [devices/no-commands, other/x] }
)"}});
  const ControlReport& integrity = ControlById(r, "F-integrity");
  ASSERT_THAT(integrity.policies, SizeIs(1));
  ASSERT_THAT(integrity.policies[0].tests, SizeIs(1));
  EXPECT_TRUE(integrity.policies[0].tests[0].named);
  EXPECT_FALSE(integrity.policies[0].tests[0].decided);
  // The test fails (it expects `other/x` among the deciding statements): a failing-test gap.
  EXPECT_EQ(integrity.status, ControlStatus::kFailingTest);
  EXPECT_THAT(r.test_policies, ElementsAre(ElementsAre("devices", "other")));
}

TEST(ReportTest, GapsNameTheControlWithoutPolicyAndThePolicyWithoutTest) {
  Report r = ReportFor({{"p.yaml", kDevicePolicy}});  // no tests at all
  EXPECT_EQ(ControlById(r, "F-access").status, ControlStatus::kUntested);
  EXPECT_EQ(ControlById(r, "F-integrity").status, ControlStatus::kNoPolicy);
  EXPECT_EQ(ControlById(r, "F-sbom").status, ControlStatus::kOutOfScope);
  // In catalogue order.
  EXPECT_THAT(
      r.gaps,
      ElementsAre(AllOf(Field(&Gap::kind, "no-test"), Field(&Gap::control, "F-access"),
                        Field(&Gap::policy, "devices")),
                  AllOf(Field(&Gap::kind, "no-policy"), Field(&Gap::control, "F-integrity"))));
}

TEST(ReportTest, AFailingTestIsAGapNamingTheTest) {
  std::vector<TestEvidence> tests(1);
  tests[0].suite = "s";
  tests[0].name = "broken";
  tests[0].passed = false;
  tests[0].failure = "expected ALLOW, got DENY (DEFAULT_DENY)";
  tests[0].named = {"devices/own-telemetry"};
  Bundle b = Load({{"p.yaml", kDevicePolicy}});
  Report r = BuildReport(SmallCatalogue(), b.parsed.set, tests, {});
  EXPECT_EQ(ControlById(r, "F-access").status, ControlStatus::kFailingTest);
  EXPECT_THAT(r.gaps, ::testing::Contains(
                          AllOf(Field(&Gap::kind, "failing-test"), Field(&Gap::test, "s: broken"),
                                Field(&Gap::message, HasSubstr("expected ALLOW, got DENY")))));
}

TEST(ReportTest, AProcessControlWithoutPolicyIsNotAGap) {
  Report r = ReportFor({{"p.yaml", kDevicePolicy}});
  for (const Gap& g : r.gaps) EXPECT_NE(g.control, "F-sbom");
}

TEST(ReportTest, UnknownTagIsListedWithLocationAndSuggestion) {
  Bundle b = Load({{"p.yaml", R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: typo
  compliance: [F-acess, Z-9]
spec:
  principals: "*"
  statements:
    - { id: s, effect: allow, actions: [mqtt:publish], resources: [a] }
)"}});
  Report r = BuildReport(SmallCatalogue(), b.parsed.set, {}, {});
  ASSERT_THAT(r.unknown_tags, SizeIs(2));
  EXPECT_EQ(r.unknown_tags[0].suggestion, "F-access");
  EXPECT_EQ(r.unknown_tags[1].suggestion, "");
  EXPECT_EQ(UnknownTagMessage(r, r.unknown_tags[0]),
            "p.yaml:5:16: policy \"typo\": compliance tag \"F-acess\" is not in catalogue "
            "\"small\" (did you mean \"F-access\"?)");
  EXPECT_THAT(r.gaps, ::testing::Contains(
                          AllOf(Field(&Gap::kind, "unknown-tag"), Field(&Gap::control, "Z-9"))));
}

TEST(ReportTest, AliasResolvesToItsControlWithANoteAndCountsOnce) {
  Bundle b = Load({{"p.yaml", R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: old
  compliance: [F-old-access, F-access]
spec:
  principals: "*"
  statements:
    - { id: s, effect: allow, actions: [mqtt:publish], resources: [a] }
)"}});
  Report r = BuildReport(SmallCatalogue(), b.parsed.set, {}, {});
  EXPECT_THAT(r.unknown_tags, IsEmpty());
  ASSERT_THAT(r.alias_tags, SizeIs(1));
  EXPECT_EQ(r.alias_tags[0].control, "F-access");
  EXPECT_THAT(AliasTagMessage(r.alias_tags[0]),
              HasSubstr("p.yaml:5:16: policy \"old\": compliance tag \"F-old-access\" is an alias "
                        "of \"F-access\""));
  EXPECT_THAT(ControlById(r, "F-access").policies, SizeIs(1));
  for (const Gap& g : r.gaps) EXPECT_NE(g.kind, "unknown-tag");
}

TEST(RenderTest, JsonFollowsTheDocumentedSchema) {
  Report r = ReportFor({{"p.yaml", kDevicePolicy}, {"t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: s }
cases:
  - { name: own telemetry, principal: d1, action: mqtt:publish, resource: d/d1/t, expect: allow }
)"}});
  nlohmann::json j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["schema"], "fleetpdp.compliance-report/v1");
  EXPECT_EQ(j["bundle"]["name"], "b");
  EXPECT_EQ(j["summary"]["frameworks"]["F"]["covered"], 1);
  EXPECT_EQ(j["summary"]["frameworks"]["F"]["no-policy"], 1);
  EXPECT_EQ(j["summary"]["gaps"], 1);
  EXPECT_EQ(j["controls"][0]["id"], "F-access");
  EXPECT_EQ(j["controls"][0]["status"], "covered");
  EXPECT_EQ(j["controls"][0]["policies"][0]["tests"][0]["name"], "own telemetry");
  EXPECT_EQ(j["controls"][0]["policies"][0]["location"]["line"], 5);
  EXPECT_EQ(j["gaps"][0]["kind"], "no-policy");
  EXPECT_EQ(j["tests"][0]["decided"][0], "devices/own-telemetry");
}

TEST(RenderTest, MarkdownEscapesPipesInsideTableCells) {
  Report r = ReportFor({{"p.yaml", kDevicePolicy}, {"t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: s }
cases:
  - { name: "a | b", principal: d1, action: mqtt:publish, resource: d/d1/t, expect: allow }
)"}});
  std::string md = RenderMarkdown(r);
  EXPECT_THAT(md, HasSubstr("| s: a \\| b | pass |"));
  EXPECT_THAT(md, HasSubstr("| `F-access` | Access control | covered |"));
  EXPECT_THAT(md, Not(HasSubstr("s: a | b")));
}

}  // namespace
}  // namespace fleetpdp::cli
