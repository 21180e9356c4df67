// The audit checks of engine/lint.h: for every rule, a policy that triggers it and a near miss
// that must not.
#include "engine/lint.h"

#include <string>
#include <vector>

#include "engine/parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Policy(const std::string& principals, const std::string& statements,
                   const std::string& name = "p") {
  return "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: " + name +
         "}\nspec:\n  principals: " + principals + "\n  statements:\n" + statements;
}

std::string Statement(const std::string& id, const std::string& effect, const std::string& actions,
                      const std::string& resources, const std::string& conditions = "") {
  std::string s = "    - id: " + id + "\n      effect: " + effect + "\n      actions: " + actions +
                  "\n      resources: " + resources + "\n";
  if (!conditions.empty()) s += "      conditions:\n" + conditions;
  return s;
}

std::string Allow(const std::string& id, const std::string& actions, const std::string& resources,
                  const std::string& conditions = "") {
  return Statement(id, "allow", actions, resources, conditions);
}

std::string Deny(const std::string& id, const std::string& actions, const std::string& resources,
                 const std::string& conditions = "") {
  return Statement(id, "deny", actions, resources, conditions);
}

constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: devices }
  - { id: cameras, parents: [devices] }
  - { id: outdoor, parents: [cameras] }
devices:
  - { id: cam-1, groups: [outdoor] }
services:
  - { id: svc-1 }
)";

std::vector<LintFinding> LintDocs(const std::vector<std::string>& docs,
                                  const LintOptions& options = {}) {
  std::vector<SourceFile> files;
  for (size_t i = 0; i < docs.size(); ++i) {
    files.push_back({"policies/f" + std::to_string(i) + ".yaml", docs[i]});
  }
  ParsedSources parsed;
  ValidationReport report = ParseSources(files, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  return Lint(parsed.set, options);
}

// "FPL001 p/s" per finding, in order.
std::vector<std::string> Ids(const std::vector<LintFinding>& findings) {
  std::vector<std::string> out;
  for (const LintFinding& f : findings) {
    out.push_back(std::string(f.rule->id) + " " + f.policy +
                  (f.statement.empty() ? "" : "/" + f.statement));
  }
  return out;
}

// Only the findings of one rule.
std::vector<std::string> Of(const std::string& rule, const std::vector<std::string>& docs) {
  std::vector<std::string> out;
  for (const std::string& id : Ids(LintDocs(docs))) {
    if (id.starts_with(rule + " ")) out.push_back(id);
  }
  return out;
}

// ---- FPL001 allow-all-topics ----

TEST(LintAllowAllTopicsTest, AllowOnHashForPublishIsCritical) {
  auto findings = LintDocs({Policy("\"*\"", Allow("s", "[mqtt:publish]", "[\"#\"]"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL001 p/s"));
  EXPECT_EQ(findings[0].rule->severity, Severity::kCritical);
  EXPECT_THAT(findings[0].message, HasSubstr("matches every topic"));
  EXPECT_EQ(findings[0].location.file, "policies/f0.yaml");
  EXPECT_EQ(findings[0].location.line, 7);
}

TEST(LintAllowAllTopicsTest, PlusHashAndWildcardOnlyPatternsAreFound) {
  EXPECT_THAT(Of("FPL001", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"+/#\"]") +
                                                Allow("b", "[mqtt:receive]", "[\"+/+/#\"]"))}),
              ElementsAre("FPL001 p/a", "FPL001 p/b"));
  auto findings = LintDocs({Policy("\"*\"", Allow("b", "[mqtt:receive]", "[\"+/+/#\"]"))});
  ASSERT_FALSE(findings.empty());
  EXPECT_THAT(findings[0].message, HasSubstr("every topic of at least 2 levels"));
}

TEST(LintAllowAllTopicsTest, StarActionsCoverPublish) {
  EXPECT_THAT(Of("FPL001", {Policy("\"*\"", Allow("s", "[\"mqtt:p*\"]", "[\"#\"]"))}),
              ElementsAre("FPL001 p/s"));
}

TEST(LintAllowAllTopicsTest, APrincipalScopedPatternIsNotAWildcardEverything) {
  EXPECT_THAT(Of("FPL001", {Policy("\"*\"", Allow("s", "[mqtt:publish, mqtt:subscribe]",
                                                  "[\"devices/${principal.id}/#\"]"))}),
              IsEmpty());
  EXPECT_THAT(
      Of("FPL001", {Policy("\"*\"", Allow("s", "[mqtt:publish]", "[\"${principal.id}/#\"]"))}),
      IsEmpty());
}

TEST(LintAllowAllTopicsTest, DenyOnHashAndNonMqttActionsAreFine) {
  EXPECT_THAT(Of("FPL001", {Policy("\"*\"", Deny("d", "[mqtt:publish]", "[\"#\"]") +
                                                Allow("ota", "[ota:download]", "[\"#\"]") +
                                                Allow("c", "[mqtt:connect]", "[\"#\"]"))}),
              IsEmpty());
}

// ---- FPL002 allow-wildcard-action ----

TEST(LintWildcardActionTest, MqttStarAndStarInAnAllowAreFound) {
  EXPECT_THAT(Of("FPL002", {Policy("\"*\"", Allow("a", "[\"mqtt:*\"]", "[\"x/${principal.id}\"]") +
                                                Allow("b", "[\"*\"]", "[\"y/${principal.id}\"]"))}),
              ElementsAre("FPL002 p/a", "FPL002 p/b"));
}

TEST(LintWildcardActionTest, APartialStarOrADenyIsNotFound) {
  EXPECT_THAT(Of("FPL002", {Policy("\"*\"", Allow("a", "[\"mqtt:p*\", \"ota:*\"]", "[\"x\"]") +
                                                Deny("d", "[\"mqtt:*\"]", "[\"y\"]"))}),
              IsEmpty());
}

// ---- FPL003 connect-any-client-id ----

TEST(LintConnectTest, ConnectOnAWildcardClientIdIsFoundOncePerPattern) {
  EXPECT_THAT(Of("FPL003", {Policy("{ groups: [cameras] }",
                                   Allow("a", "[mqtt:connect]", "[\"+\"]") +
                                       Allow("b", "[\"mqtt:*\"]", "[\"#\", \"cams/+\"]"))}),
              ElementsAre("FPL003 p/a", "FPL003 p/b", "FPL003 p/b"));
}

TEST(LintConnectTest, ConnectBoundToPrincipalIdIsFine) {
  EXPECT_THAT(Of("FPL003",
                 {Policy("\"*\"", Allow("a", "[mqtt:connect]", "[\"${principal.id}\"]") +
                                      Allow("b", "[mqtt:connect]", "[\"site/${principal.id}/+\"]") +
                                      Allow("c", "[mqtt:publish]", "[\"+\"]"))}),
              IsEmpty());
}

// ---- FPL004 broad-system-topics ----

TEST(LintSystemTopicsTest, AWholeDollarTreeIsFound) {
  EXPECT_THAT(Of("FPL004", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"$SYS/#\"]") +
                                                Allow("b", "[mqtt:publish]", "[\"$aws/+/#\"]"))}),
              ElementsAre("FPL004 p/a", "FPL004 p/b"));
}

TEST(LintSystemTopicsTest, ANamedSystemTopicIsFine) {
  EXPECT_THAT(
      Of("FPL004", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"$SYS/broker/load/#\"]") +
                                        Allow("b", "[mqtt:publish]",
                                              "[\"$aws/things/${principal.id}/shadow/#\"]") +
                                        Deny("d", "[mqtt:publish]", "[\"$SYS/#\"]"))}),
      IsEmpty());
}

// ---- FPL005 allow-shadowed-by-deny ----

TEST(LintShadowedTest, AnAllowInsideAnUnconditionalDenyIsFound) {
  auto findings =
      LintDocs({Policy("\"*\"", Allow("a", "[mqtt:publish]", "[\"devices/+/cmd/ota\"]") +
                                    Deny("d", "[\"mqtt:*\"]", "[\"devices/#\"]"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL005 p/a"));
  EXPECT_THAT(findings[0].message, HasSubstr("deny \"p/d\" (policies/f0.yaml:11)"));
}

TEST(LintShadowedTest, AShadowAcrossPoliciesFollowsTheGroupHierarchy) {
  // The deny selects cameras; the allow selects outdoor (a child group) and cam-1 (an outdoor
  // camera): every principal the allow selects is a camera.
  EXPECT_THAT(
      Of("FPL005",
         {kEntities,
          Policy("{ ids: [cam-1], groups: [outdoor] }",
                 Allow("a", "[mqtt:subscribe]", "[\"video/${principal.id}/+\"]"), "narrow"),
          Policy("{ groups: [cameras] }", Deny("d", "[mqtt:subscribe]", "[\"video/#\"]"), "wide")}),
      ElementsAre("FPL005 narrow/a"));
}

TEST(LintShadowedTest, ADenyWithItsOwnConditionOrNarrowerScopeDoesNotShadow) {
  const std::string allow = Allow("a", "[mqtt:publish]", "[\"devices/+/cmd/ota\"]");
  // A condition only the deny has.
  EXPECT_THAT(Of("FPL005", {Policy("\"*\"", allow + Deny("d", "[mqtt:publish]", "[\"devices/#\"]",
                                                         "        Bool: { context.x: true }\n"))}),
              IsEmpty());
  // The same condition on both: the deny applies wherever the allow does.
  EXPECT_THAT(Of("FPL005", {Policy("\"*\"", Allow("a", "[mqtt:publish]", "[\"devices/+/cmd/ota\"]",
                                                  "        Bool: { context.x: true }\n") +
                                                Deny("d", "[mqtt:publish]", "[\"devices/#\"]",
                                                     "        Bool: { context.x: true }\n"))}),
              ElementsAre("FPL005 p/a"));
  // Not every action.
  EXPECT_THAT(
      Of("FPL005",
         {Policy("\"*\"", Allow("a", "[mqtt:publish, mqtt:retain]", "[\"devices/+/cmd/ota\"]") +
                              Deny("d", "[mqtt:publish]", "[\"devices/#\"]"))}),
      IsEmpty());
  // Not every resource.
  EXPECT_THAT(
      Of("FPL005",
         {Policy("\"*\"", Allow("a", "[mqtt:publish]", "[\"devices/+/cmd/ota\", \"other\"]") +
                              Deny("d", "[mqtt:publish]", "[\"devices/#\"]"))}),
      IsEmpty());
  // A deny for fewer principals (the parent group is wider than the deny's child group).
  EXPECT_THAT(Of("FPL005", {kEntities, Policy("{ groups: [cameras] }", allow, "cams"),
                            Policy("{ groups: [outdoor] }",
                                   Deny("d", "[mqtt:publish]", "[\"devices/#\"]"), "outdoor")}),
              IsEmpty());
}

TEST(LintShadowedTest, AVariableInTheDenyIsNotAssumedToMatch) {
  // The deny needs principal.attributes.site; a principal without it is not denied.
  EXPECT_THAT(
      Of("FPL005", {Policy("\"*\"", Allow("a", "[mqtt:publish]", "[\"sites/x/cmd\"]") +
                                        Deny("d", "[mqtt:publish]",
                                             "[\"sites/${principal.attributes.site}/#\"]"))}),
      IsEmpty());
  // The same variable on both sides resolves to the same value.
  EXPECT_THAT(
      Of("FPL005",
         {Policy("\"*\"",
                 Allow("a", "[mqtt:publish]", "[\"sites/${principal.attributes.site}/cmd\"]") +
                     Deny("d", "[mqtt:publish]", "[\"sites/${principal.attributes.site}/#\"]"))}),
      ElementsAre("FPL005 p/a"));
}

TEST(LintShadowedTest, AShadowIsFoundWhateverLevelTheDenyPatternsStartWith) {
  // A deny's later pattern, a leading '+', and a leading variable shared with the allow.
  EXPECT_THAT(
      Of("FPL005",
         {Policy("\"*\"", Allow("a", "[mqtt:publish]", "[\"devices/cmd\"]") +
                              Allow("b", "[mqtt:publish]", "[\"sites/x/cmd\"]") +
                              Allow("c", "[mqtt:publish]", "[\"${principal.id}/cmd/x\"]") +
                              Allow("e", "[mqtt:publish]", "[\"fine/cmd\"]") +
                              Deny("d1", "[mqtt:publish]", "[\"other/#\", \"devices/#\"]") +
                              Deny("d2", "[mqtt:publish]", "[\"+/x/cmd\"]") +
                              Deny("d3", "[mqtt:publish]", "[\"${principal.id}/cmd/#\"]"))}),
      ElementsAre("FPL005 p/a", "FPL005 p/b", "FPL005 p/c"));
}

TEST(LintShadowedTest, AHashDenyDoesNotShadowADollarAllow) {
  EXPECT_THAT(Of("FPL005", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"$SYS/load\"]") +
                                                Deny("d", "[mqtt:subscribe]", "[\"#\"]"))}),
              IsEmpty());
}

// ---- FPL006 unknown-principal-reference ----

TEST(LintUnknownPrincipalTest, UndeclaredGroupsAndIdsAreFoundWhenTheBundleHasEntities) {
  auto findings = LintDocs({kEntities, Policy("{ ids: [cam-1, cam-9], groups: [camera, outdoor] }",
                                              Allow("a", "[mqtt:publish]", "[\"x\"]"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL006 p", "FPL006 p"));
  EXPECT_THAT(findings[0].message + findings[1].message,
              AllOf(HasSubstr("id \"cam-9\""), HasSubstr("group \"camera\"")));
  EXPECT_EQ(findings[0].location.line, 5);  // the principals selector
}

TEST(LintUnknownPrincipalTest, IdsAreCheckedOnlyAgainstEntitiesAndGroupsOnlyAgainstGroups) {
  const std::string groups_only =
      "apiVersion: fleetpdp/v1\nkind: Entities\ngroups: [{ id: cameras }]\n";
  EXPECT_THAT(Of("FPL006", {groups_only, Policy("{ ids: [cam-9], groups: [camera] }",
                                                Allow("a", "[mqtt:publish]", "[\"x\"]"))}),
              ElementsAre("FPL006 p"));
  EXPECT_THAT(LintDocs({groups_only, Policy("{ ids: [cam-9], groups: [camera] }",
                                            Allow("a", "[mqtt:publish]", "[\"x\"]"))})[0]
                  .message,
              HasSubstr("group \"camera\""));
}

TEST(LintUnknownPrincipalTest, NothingIsFoundWithoutEntities) {
  EXPECT_THAT(
      Of("FPL006", {Policy("{ groups: [camera] }", Allow("a", "[mqtt:publish]", "[\"x\"]"))}),
      IsEmpty());
}

// ---- FPL007 unsatisfiable-conditions ----

std::vector<std::string> ConditionFindings(const std::string& conditions,
                                           const std::string& effect = "allow") {
  return Of("FPL007",
            {Policy("\"*\"", Statement("s", effect, "[mqtt:publish]", "[\"x\"]", conditions))});
}

TEST(LintConditionsTest, StringEqualsAndStringNotEqualsOfTheSameValue) {
  EXPECT_THAT(ConditionFindings("        StringEquals: { context.x: a }\n"
                                "        StringNotEquals: { context.x: [a, b] }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings("        StringEquals: { context.x: [a, c] }\n"
                                "        StringNotEquals: { context.x: [a, b] }\n"),
              IsEmpty());
  // Different keys never contradict.
  EXPECT_THAT(ConditionFindings("        StringEquals: { context.x: a }\n"
                                "        StringNotEquals: { context.y: a }\n"),
              IsEmpty());
}

TEST(LintConditionsTest, StringEqualsOutsideEveryStringLikePattern) {
  EXPECT_THAT(ConditionFindings("        StringEquals: { context.cn: gw-1 }\n"
                                "        StringLike: { context.cn: \"cam-*\" }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings("        StringEquals: { context.cn: cam-1 }\n"
                                "        StringLike: { context.cn: \"cam-*\" }\n"),
              IsEmpty());
}

TEST(LintConditionsTest, NumericRangesThatDoNotMeet) {
  EXPECT_THAT(ConditionFindings("        NumericLessThan: { context.battery: 5 }\n"
                                "        NumericGreaterThan: { context.battery: 10 }\n"),
              ElementsAre("FPL007 p/s"));
  // Touching bounds: < 5 and >= 5 cannot meet; <= 5 and >= 5 meet at 5, unless 5 is excluded.
  EXPECT_THAT(ConditionFindings("        NumericLessThan: { context.b: 5 }\n"
                                "        NumericGreaterThanEquals: { context.b: 5 }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings("        NumericLessThanEquals: { context.b: 5 }\n"
                                "        NumericGreaterThan: { context.b: 5 }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings("        NumericLessThanEquals: { context.b: 5 }\n"
                                "        NumericGreaterThanEquals: { context.b: 5 }\n"),
              IsEmpty());
  EXPECT_THAT(ConditionFindings("        NumericLessThanEquals: { context.b: 5 }\n"
                                "        NumericGreaterThanEquals: { context.b: 5 }\n"
                                "        NumericNotEquals: { context.b: 5 }\n"),
              ElementsAre("FPL007 p/s"));
  // "Less than any of [5, 20]" is "less than 20": it meets "greater than 10".
  EXPECT_THAT(ConditionFindings("        NumericLessThan: { context.battery: [5, 20] }\n"
                                "        NumericGreaterThan: { context.battery: 10 }\n"),
              IsEmpty());
}

TEST(LintConditionsTest, DatesAndVersionsThatDoNotMeet) {
  EXPECT_THAT(
      ConditionFindings("        DateGreaterThan: { context.time: \"2027-01-01T00:00:00Z\" }\n"
                        "        DateLessThan: { context.time: \"2026-01-01T00:00:00Z\" }\n"),
      ElementsAre("FPL007 p/s"));
  EXPECT_THAT(
      ConditionFindings("        DateGreaterThan: { context.time: \"2026-01-01T00:00:00Z\" }\n"
                        "        DateLessThan: { context.time: \"2027-01-01T00:00:00Z\" }\n"),
      IsEmpty());
  EXPECT_THAT(ConditionFindings("        SemverAtLeast: { principal.attributes.fw: \"2.0.0\" }\n"
                                "        SemverBelow: { principal.attributes.fw: \"2.0.0\" }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(
      ConditionFindings("        SemverAtLeast: { principal.attributes.fw: \"2.0.0-rc.1\" }\n"
                        "        SemverBelow: { principal.attributes.fw: \"2.0.0\" }\n"),
      IsEmpty());
}

TEST(LintConditionsTest, AnAddressBlockInsideTheExcludedBlocks) {
  EXPECT_THAT(ConditionFindings("        IpAddress: { context.source_ip: 10.20.1.0/24 }\n"
                                "        NotIpAddress: { context.source_ip: 10.20.0.0/16 }\n"),
              ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings("        IpAddress: { context.source_ip: 10.20.0.0/16 }\n"
                                "        NotIpAddress: { context.source_ip: 10.20.1.0/24 }\n"),
              IsEmpty());
}

TEST(LintConditionsTest, ExistsFalseBesideATestOfTheSameKeyKillsOnlyAnAllow) {
  const std::string conditions =
      "        Exists: { context.x: false }\n"
      "        StringEquals: { context.x: a }\n";
  EXPECT_THAT(ConditionFindings(conditions), ElementsAre("FPL007 p/s"));
  EXPECT_THAT(ConditionFindings(conditions, "deny"), IsEmpty());
}

TEST(LintConditionsTest, AContradictoryDenyAppliesOnlyWhenTheKeyIsMissing) {
  auto findings = LintDocs({Policy("\"*\"", Deny("s", "[mqtt:publish]", "[\"x\"]",
                                                 "        StringEquals: { context.x: a }\n"
                                                 "        StringNotEquals: { context.x: a }\n"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL007 p/s"));
  EXPECT_THAT(findings[0].message,
              HasSubstr("the deny applies only when context.x is missing or undecidable"));
  EXPECT_EQ(findings[0].location.line, 12);  // the first condition of the pair
}

TEST(LintConditionsTest, QuantifiedConditionsAreNotCompared) {
  EXPECT_THAT(ConditionFindings("        ForAnyValue:StringEquals: { principal.groups: a }\n"
                                "        ForAnyValue:StringNotEquals: { principal.groups: a }\n"),
              IsEmpty());
}

// ---- FPL008 receive-deny-without-subscribe-deny / FPL009 conditional-subscribe-deny ----

TEST(LintSubscribeHoleTest, AReceiveOnlyDenyUnderAnAllowedSubscribeIsFound) {
  auto findings =
      LintDocs({Policy("\"*\"", Allow("a", "[mqtt:subscribe, mqtt:receive]", "[\"devices/#\"]") +
                                    Deny("d", "[mqtt:receive]", "[\"devices/+/cmd/#\"]"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL008 p/d"));
  EXPECT_EQ(findings[0].rule->severity, Severity::kHigh);
}

TEST(LintSubscribeHoleTest, AMirroredDenyOrADisjointAllowIsFine) {
  EXPECT_THAT(Of("FPL008", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"devices/#\"]") +
                                                Deny("d", "[mqtt:subscribe, mqtt:receive]",
                                                     "[\"devices/+/cmd/#\"]"))}),
              IsEmpty());
  EXPECT_THAT(
      Of("FPL008", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"telemetry/#\"]") +
                                        Deny("d", "[mqtt:receive]", "[\"devices/+/cmd/#\"]"))}),
      IsEmpty());
  // Different principals (ids only, no common id).
  EXPECT_THAT(
      Of("FPL008", {Policy("{ ids: [a] }", Allow("a", "[mqtt:subscribe]", "[\"devices/#\"]"), "pa"),
                    Policy("{ ids: [b] }", Deny("d", "[mqtt:receive]", "[\"devices/#\"]"), "pb")}),
      IsEmpty());
  // A publish-side deny is not a read hole: a subscription cannot publish.
  EXPECT_THAT(
      Of("FPL008", {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"devices/#\"]") +
                                        Deny("d", "[mqtt:publish]", "[\"devices/+/cmd/#\"]"))}),
      IsEmpty());
}

TEST(LintSubscribeHoleTest, ADenyInAnotherStatementMirrorsIt) {
  const std::string allow = Allow("a", "[mqtt:subscribe, mqtt:receive]", "[\"devices/#\"]");
  const std::string window =
      "        DateGreaterThan: { context.time: \"2026-12-31T18:00:00Z\" }\n";
  // The receive deny is mirrored by a subscribe deny on a containing pattern elsewhere.
  EXPECT_THAT(
      Of("FPL008", {Policy("\"*\"", allow + Deny("r", "[mqtt:receive]", "[\"devices/+/cmd/#\"]")),
                    Policy("\"*\"", Deny("s", "[mqtt:subscribe]", "[\"devices/#\"]"), "q")}),
      IsEmpty());
  // A subscribe deny for fewer principals does not mirror it.
  EXPECT_THAT(
      Of("FPL008", {Policy("\"*\"", allow + Deny("r", "[mqtt:receive]", "[\"devices/+/cmd/#\"]")),
                    Policy("{ ids: [x] }", Deny("s", "[mqtt:subscribe]", "[\"devices/#\"]"), "q")}),
      ElementsAre("FPL008 p/r"));
  // The conditional subscribe deny is mirrored by a receive deny with the same conditions...
  EXPECT_THAT(
      Of("FPL009",
         {Policy("\"*\"", allow + Deny("s", "[mqtt:subscribe]", "[\"devices/+/cmd/#\"]", window) +
                              Deny("r", "[mqtt:receive]", "[\"devices/+/cmd/#\"]", window))}),
      IsEmpty());
  // ...but not by one with a condition of its own.
  EXPECT_THAT(
      Of("FPL009",
         {Policy("\"*\"", allow + Deny("s", "[mqtt:subscribe]", "[\"devices/+/cmd/#\"]", window) +
                              Deny("r", "[mqtt:receive]", "[\"devices/+/cmd/#\"]",
                                   "        Bool: { context.y: true }\n"))}),
      ElementsAre("FPL009 p/s"));
}

TEST(LintSubscribeHoleTest, AVariableInAnAllowMayOverlapTheDeny) {
  EXPECT_THAT(
      Of("FPL008",
         {Policy("\"*\"", Allow("a", "[mqtt:subscribe]", "[\"devices/${principal.id}/#\"]") +
                              Deny("d", "[mqtt:receive]", "[\"devices/+/cmd/#\"]"))}),
      ElementsAre("FPL008 p/d"));
}

TEST(LintSubscribeHoleTest, AConditionalSubscribeOnlyDenyIsFound) {
  const std::string allow = Allow("a", "[mqtt:subscribe, mqtt:receive]", "[\"devices/#\"]");
  const std::string window =
      "        DateGreaterThan: { context.time: \"2026-12-31T18:00:00Z\" }\n";
  EXPECT_THAT(
      Of("FPL009",
         {Policy("\"*\"", allow + Deny("d", "[mqtt:subscribe]", "[\"devices/+/cmd/#\"]", window))}),
      ElementsAre("FPL009 p/d"));
  // Without conditions the SUBSCRIBE check is always the same: no finding.
  EXPECT_THAT(Of("FPL009",
                 {Policy("\"*\"", allow + Deny("d", "[mqtt:subscribe]", "[\"devices/+/cmd/#\"]"))}),
              IsEmpty());
  // Mirrored on receive: every delivery is checked too.
  EXPECT_THAT(Of("FPL009", {Policy("\"*\"", allow + Deny("d", "[mqtt:subscribe, mqtt:receive]",
                                                         "[\"devices/+/cmd/#\"]", window))}),
              IsEmpty());
}

// ---- FPL010 literal-star-in-resource ----

TEST(LintLiteralStarTest, AStarInAResourceIsFound) {
  EXPECT_THAT(Of("FPL010",
                 {Policy("\"*\"", Deny("d", "[mqtt:publish]", "[\"devices/*/cmd\"]") +
                                      Allow("c", "[mqtt:connect]", "[\"*\"]") +
                                      Allow("v", "[mqtt:publish]", "[\"v/*-${principal.id}\"]"))}),
              ElementsAre("FPL010 p/d", "FPL010 p/c", "FPL010 p/v"));
}

TEST(LintLiteralStarTest, StarsInActionsAndConditionsAreNotResources) {
  EXPECT_THAT(
      Of("FPL010", {Policy("\"*\"", Allow("a", "[\"ota:*\"]", "[\"firmware/+\"]",
                                          "        StringLike: { context.cn: \"*.x\" }\n"))}),
      IsEmpty());
}

// ---- FPL011 deny-pattern-with-variable ----

TEST(LintDenyVariableTest, ADenyOnAnAttributeVariableIsFound) {
  auto findings = LintDocs({Policy("\"*\"", Deny("d", "[mqtt:subscribe, mqtt:receive]",
                                                 "[\"sites/${principal.attributes.site}/#\"]"))});
  ASSERT_THAT(Ids(findings), ElementsAre("FPL011 p/d"));
  EXPECT_THAT(findings[0].message, HasSubstr("without principal.attributes.site"));
}

TEST(LintDenyVariableTest, PrincipalIdInADenyAndVariablesInAllowsAreFine) {
  EXPECT_THAT(
      Of("FPL011",
         {Policy("\"*\"",
                 Deny("d", "[mqtt:publish]", "[\"devices/${principal.id}/cmd/#\"]") +
                     Allow("a", "[mqtt:publish]", "[\"sites/${principal.attributes.site}/#\"]"))}),
      IsEmpty());
}

// ---- the whole ----

TEST(LintTest, DisabledRulesAreLeftOutAndFindingsAreSortedByPlace) {
  const std::string doc = Policy(
      "\"*\"", Allow("b", "[\"mqtt:*\"]", "[\"#\"]") + Allow("a", "[mqtt:publish]", "[\"+/#\"]"));
  EXPECT_THAT(Ids(LintDocs({doc})),
              ElementsAre("FPL001 p/b", "FPL002 p/b", "FPL003 p/b", "FPL001 p/a"));
  LintOptions options;
  options.disabled = {"FPL001", "FPL003"};
  EXPECT_THAT(Ids(LintDocs({doc}, options)), ElementsAre("FPL002 p/b"));
}

TEST(LintTest, EveryRuleHasAUniqueIdASummaryAndHelp) {
  std::vector<std::string> ids;
  for (const LintRule& r : AllLintRules()) {
    EXPECT_EQ(FindLintRule(r.id), &r);
    EXPECT_FALSE(r.summary.empty()) << r.id;
    EXPECT_FALSE(r.help.empty()) << r.id;
    ids.emplace_back(r.id);
  }
  EXPECT_EQ(ids.size(), 11u);
  EXPECT_EQ(FindLintRule("FPL999"), nullptr);
  EXPECT_EQ(ParseSeverity("medium"), Severity::kMedium);
  EXPECT_EQ(ParseSeverity("never"), std::nullopt);
  EXPECT_EQ(SeverityName(Severity::kInfo), "info");
}

}  // namespace
}  // namespace fleetpdp::engine
