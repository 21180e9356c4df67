// Decisions through the rule index for each rule of DESIGN §3. Every check also runs the
// reference evaluator (DecideBoth) and requires the two to agree.
#include "engine/rule_index.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "engine/engine_test_util.h"
#include "engine/topic.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::Allowed;
using ::fleetpdp::engine::testing::CompileOrDie;
using ::fleetpdp::engine::testing::CompileYaml;
using ::fleetpdp::engine::testing::MakeRequest;
using ::fleetpdp::engine::testing::Summary;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

std::string Policy(const std::string& principals, const std::string& statements,
                   const std::string& name = "p") {
  return "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: " + name +
         "}\nspec:\n  principals: " + principals + "\n  statements:\n" + statements;
}

std::string Allow(const std::string& id, const std::string& action, const std::string& resource) {
  return "    - {id: " + id + ", effect: allow, actions: [\"" + action + "\"], resources: [\"" +
         resource + "\"]}\n";
}

std::string Deny(const std::string& id, const std::string& action, const std::string& resource) {
  return "    - {id: " + id + ", effect: deny, actions: [\"" + action + "\"], resources: [\"" +
         resource + "\"]}\n";
}

TEST(DecisionTest, DefaultDenyWhenNoStatementApplies) {
  auto index = CompileYaml(Policy("\"*\"", Allow("a", "mqtt:publish", "x/y")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "x/z")), "DENY(DEFAULT_DENY)");
}

TEST(DecisionTest, AllowNamesEveryApplicableAllow) {
  auto index = CompileYaml(Policy("\"*\"", Allow("a", "mqtt:publish", "x/+") +
                                               Allow("b", "mqtt:publish", "x/#") +
                                               Allow("c", "mqtt:publish", "y/#")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "x/y")), "ALLOW p/a,p/b");
}

TEST(DecisionTest, DenyOverridesAllowAndNamesOnlyTheDenies) {
  auto index = CompileYaml(Policy("\"*\"", Allow("a", "mqtt:publish", "#") +
                                               Deny("d1", "mqtt:publish", "x/#") +
                                               Deny("d2", "mqtt:*", "+/y")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "x/y")),
            "DENY(EXPLICIT_DENY) p/d1,p/d2");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "z/z")), "ALLOW p/a");
}

TEST(DecisionTest, ActionsMatchExactlyOrByTrailingStar) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("any-mqtt", "mqtt:*", "t") + Allow("everything", "*", "u") +
                                      Allow("exact", "ota:download", "v")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "t")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:receive", "t")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "ota:download", "t")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "shadow:update", "u")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "ota:download", "v")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "ota:downloads", "v")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "ota:downloa", "v")));
}

TEST(TopicRuleTest, PlusMatchesExactlyOneLevelIncludingAnEmptyOne) {
  auto index = CompileYaml(Policy("\"*\"", Allow("a", "mqtt:publish", "a/+/c")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/b/c")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a//c")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/c")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/b/b/c")));
}

TEST(TopicRuleTest, HashMatchesTheRestAndTheParentLevel) {
  auto index = CompileYaml(Policy("\"*\"", Allow("a", "mqtt:publish", "a/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/b/c/d")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "ab")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "b/a")));
}

TEST(TopicRuleTest, EmptyLevelsAreRealLevels) {
  auto index = CompileYaml(
      Policy("\"*\"", Allow("a", "mqtt:publish", "/a") + Allow("b", "mqtt:publish", "b/")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "/a")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "b/")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "b")));
}

TEST(TopicRuleTest, LeadingWildcardsNeverMatchDollarTopics) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("all", "mqtt:*", "#") + Allow("plus", "mqtt:*", "+/info")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:receive", "$SYS/broker/uptime")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:receive", "$SYS/info")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:receive", "x/info")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "$SYS/#")));
}

TEST(TopicRuleTest, ExplicitDollarPatternsMatchDollarTopics) {
  auto index = CompileYaml(Policy("\"*\"", Allow("sys", "mqtt:*", "$SYS/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:receive", "$SYS/broker/uptime")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "$SYS/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "$SYS/+/uptime")));
}

TEST(DecisionTest, RequestWithoutPrincipalOrActionIsDenied) {
  auto index = CompileYaml(Policy("\"*\"", Allow("all", "*", "#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "x:y", "t")));
  EXPECT_EQ(Summary(*index, MakeRequest("", "x:y", "t")), "DENY(DEFAULT_DENY)");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "", "t")), "DENY(DEFAULT_DENY)");
}

TEST(TopicRuleTest, PublishToATopicWithWildcardsIsDenied) {
  auto index = CompileYaml(Policy("\"*\"", Allow("all", "mqtt:publish", "#")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "a/+")), "DENY(DEFAULT_DENY)");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "a/#")), "DENY(DEFAULT_DENY)");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:publish", "")), "DENY(DEFAULT_DENY)");
}

TEST(SubscribeRuleTest, AllowRequiresThePatternToContainTheFilter) {
  auto index = CompileYaml(Policy("\"*\"", Allow("own", "mqtt:subscribe", "devices/d1/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "devices/d1/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "devices/d1/+/x")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "devices/d1")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "devices/+/cmd")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "devices/#")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", "#")));
}

TEST(SubscribeRuleTest, DenyAppliesWhenTheFilterOverlapsADenyPattern) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("all", "mqtt:subscribe", "devices/#") +
                                      Deny("no-cmd", "mqtt:subscribe", "devices/+/cmd/#")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "devices/#")),
            "DENY(EXPLICIT_DENY) p/no-cmd");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "devices/+/+/x")),
            "DENY(EXPLICIT_DENY) p/no-cmd");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "devices/d1/cmd")),
            "DENY(EXPLICIT_DENY) p/no-cmd");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "devices/d1/telemetry")),
            "ALLOW p/all");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "devices/+/telemetry/#")),
            "ALLOW p/all");
}

TEST(SubscribeRuleTest, LiteralWildcardsInPoliciesWorkAsFilters) {
  // The AWS IoT pitfall: there, "devices/+/status" in a topicfilter resource is literal.
  auto index = CompileYaml(Policy("\"*\"", Allow("status", "mqtt:subscribe", "devices/+/status")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "devices/+/status")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "devices/cam/status")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "devices/#")));
}

TEST(SubscribeRuleTest, HashDenyOnDollarTopicsDoesNotBlockPlainHash) {
  auto index = CompileYaml(Policy(
      "\"*\"", Allow("all", "mqtt:subscribe", "#") + Deny("sys", "mqtt:subscribe", "$SYS/#")));
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "#")), "ALLOW p/all");
  EXPECT_EQ(Summary(*index, MakeRequest("d", "mqtt:subscribe", "$SYS/x")),
            "DENY(EXPLICIT_DENY) p/sys");
}

TEST(VariableTest, WholeLevelVariableBindsThePrincipalId) {
  auto index = CompileYaml(
      Policy("\"*\"", Allow("own", "mqtt:publish", "devices/${principal.id}/telemetry")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "devices/cam-1/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "devices/cam-2/telemetry")));
}

TEST(VariableTest, VariableInsideALevelBindsOnlyThatPart) {
  auto index = CompileYaml(Policy(
      "\"*\"", Allow("own", "mqtt:publish", "fleet/cam-${principal.attributes.serial}-x/t")));
  Request r = MakeRequest("d", "mqtt:publish", "fleet/cam-42-x/t");
  testing::AddAttribute(r.principal.attributes, "serial", "42");
  EXPECT_TRUE(Allowed(*index, r));
  r.resource = "fleet/cam-43-x/t";
  EXPECT_FALSE(Allowed(*index, r));
  r.resource = "fleet/cam--x/t";
  EXPECT_FALSE(Allowed(*index, r));
}

TEST(VariableTest, MissingVariableMatchesNothingNotTheEmptyString) {
  auto index = CompileYaml(
      Policy("\"*\"", Allow("own", "mqtt:publish", "fleet/${principal.attributes.serial}/t") +
                          Allow("ctx", "mqtt:publish", "site/${context.site}")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "fleet//t")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "site/")));
  Request r = MakeRequest("d", "mqtt:publish", "fleet//t");
  testing::AddAttribute(r.principal.attributes, "serial", "");  // present but empty
  EXPECT_FALSE(Allowed(*index, r));
}

TEST(VariableTest, ClientIdWithPlusDoesNotWidenAPattern) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("own", "mqtt:*", "devices/${principal.id}/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("+", "mqtt:publish", "devices/cam-2/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("+", "mqtt:subscribe", "devices/+/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("+", "mqtt:subscribe", "devices/cam-2/telemetry")));
}

TEST(VariableTest, ClientIdWithHashDoesNotWidenAPattern) {
  auto index = CompileYaml(Policy("\"*\"", Allow("own", "mqtt:*", "devices/${principal.id}")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("#", "mqtt:publish", "devices/x/y")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("#", "mqtt:subscribe", "devices/#")));
}

TEST(VariableTest, ClientIdWithSlashDoesNotAddLevels) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("own", "mqtt:*", "devices/${principal.id}/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("a/b", "mqtt:publish", "devices/a/b/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("a/b", "mqtt:subscribe", "devices/a/b/telemetry")));
}

TEST(VariableTest, ALeadingVariableNeverReachesDollarTopics) {
  auto index = CompileYaml(Policy("\"*\"", Allow("own-tree", "mqtt:*", "${principal.id}/#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam", "mqtt:publish", "cam/x")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("$SYS", "mqtt:publish", "$SYS/broker/clients")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("$SYS", "mqtt:subscribe", "$SYS/#")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("$SYS", "mqtt:subscribe", "$SYS")));
  // A '$' written by the policy author is the author's choice.
  auto literal = CompileYaml(Policy("\"*\"", Allow("sys", "mqtt:*", "$${principal.id}/#")));
  EXPECT_TRUE(Allowed(*literal, MakeRequest("SYS", "mqtt:publish", "$SYS/x")));
}

TEST(VariableTest, DenyWithAVariableOverlapsASubscribeFilter) {
  auto index = CompileYaml(
      Policy("\"*\"", Allow("all", "mqtt:subscribe", "devices/#") +
                          Deny("own-cmd", "mqtt:subscribe", "devices/${principal.id}/cmd")));
  EXPECT_EQ(Summary(*index, MakeRequest("cam", "mqtt:subscribe", "devices/+/cmd")),
            "DENY(EXPLICIT_DENY) p/own-cmd");
  EXPECT_EQ(Summary(*index, MakeRequest("cam", "mqtt:subscribe", "devices/#")),
            "DENY(EXPLICIT_DENY) p/own-cmd");
  EXPECT_EQ(Summary(*index, MakeRequest("cam", "mqtt:subscribe", "devices/other/cmd")),
            "ALLOW p/all");
}

TEST(VariableTest, ContextVariablesBindToRequestContext) {
  auto index =
      CompileYaml(Policy("\"*\"", Allow("site", "mqtt:publish", "sites/${context.site}/#")));
  Request r = MakeRequest("d", "mqtt:publish", "sites/berlin/x");
  testing::AddAttribute(r.context, "site", "berlin");
  EXPECT_TRUE(Allowed(*index, r));
  r.resource = "sites/paris/x";
  EXPECT_FALSE(Allowed(*index, r));
}

constexpr char kEntities[] = R"(
apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: sensors }
  - { id: cameras, parents: [sensors] }
  - { id: outdoor-cameras, parents: [cameras] }
devices:
  - { id: cam-1, groups: [outdoor-cameras], attributes: { region: eu } }
  - { id: therm-1, groups: [sensors], attributes: { region: us } }
)";

TEST(PrincipalTest, GroupPoliciesApplyToDescendantGroups) {
  auto index = CompileOrDie(
      {{"e.yaml", kEntities},
       {"p.yaml", Policy("{groups: [sensors]}", Allow("s", "mqtt:publish", "sensors/#"))},
       {"q.yaml", Policy("{groups: [cameras]}", Allow("c", "mqtt:publish", "cameras/#"), "q")}});
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "sensors/x")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "cameras/x")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("therm-1", "mqtt:publish", "sensors/x")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("therm-1", "mqtt:publish", "cameras/x")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("unknown", "mqtt:publish", "sensors/x")));
}

TEST(PrincipalTest, RequestGroupsAddToBundleGroupsAndExpandToParents) {
  auto index = CompileOrDie(
      {{"e.yaml", kEntities},
       {"p.yaml", Policy("{groups: [sensors]}", Allow("s", "mqtt:publish", "sensors/#"))}});
  Request r = MakeRequest("unknown", "mqtt:publish", "sensors/x");
  r.principal.groups = {"cameras"};
  EXPECT_TRUE(Allowed(*index, r));
  r.principal.groups = {"not-a-group"};
  EXPECT_FALSE(Allowed(*index, r));
}

TEST(PrincipalTest, IdSelectorAppliesOnlyToThoseIds) {
  auto index = CompileYaml(Policy("{ids: [a, b]}", Allow("x", "mqtt:publish", "t")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("a", "mqtt:publish", "t")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("b", "mqtt:publish", "t")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("c", "mqtt:publish", "t")));
}

TEST(PrincipalTest, AttributeSelectorsUseBundleValuesOverRequestValues) {
  auto index = CompileOrDie(
      {{"e.yaml", kEntities},
       {"p.yaml", Policy("{attributes: {region: eu}}", Allow("eu", "mqtt:publish", "eu/#"))}});
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "eu/x")));
  Request r = MakeRequest("therm-1", "mqtt:publish", "eu/x");
  testing::AddAttribute(r.principal.attributes, "region", "eu");  // the bundle says us
  EXPECT_FALSE(Allowed(*index, r));
  Request stranger = MakeRequest("stranger", "mqtt:publish", "eu/x");
  testing::AddAttribute(stranger.principal.attributes, "region", "eu");  // bundle knows nothing
  EXPECT_TRUE(Allowed(*index, stranger));
}

TEST(PrincipalTest, IdsOrGroupsTogetherWithAttributesRequireBoth) {
  auto index = CompileOrDie({{"e.yaml", kEntities},
                             {"p.yaml", Policy("{groups: [sensors], attributes: {region: us}}",
                                               Allow("us", "mqtt:publish", "t"))}});
  EXPECT_TRUE(Allowed(*index, MakeRequest("therm-1", "mqtt:publish", "t")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "t")));
}

TEST(PrincipalTest, EntityTypeComesFromTheBundle) {
  auto index = CompileOrDie(
      {{"e.yaml", "apiVersion: fleetpdp/v1\nkind: Entities\nservices:\n  - {id: ota}\n"},
       {"p.yaml", Policy("\"*\"",
                         "    - {id: svc, effect: allow, actions: [\"ota:*\"], "
                         "resources: [\"#\"], conditions: {StringEquals: "
                         "{principal.type: service}}}\n")}});
  Request r = MakeRequest("ota", "ota:publish", "firmware/x");
  r.principal.type = "device";
  EXPECT_TRUE(Allowed(*index, r));
  r.principal.id = "other";
  EXPECT_FALSE(Allowed(*index, r));
  r.principal.type = "service";
  EXPECT_TRUE(Allowed(*index, r));
}

TEST(CompileTest, ReportsEveryValidationProblem) {
  PolicySet set;
  set.groups = {{"a", {"b"}, {"e.yaml", 1, 1}}, {"b", {"a"}, {"e.yaml", 2, 1}}};
  set.entities = {{"d", "device", {"missing"}, {}, {"e.yaml", 3, 1}}};
  auto index = Compile(set);
  EXPECT_THAT(index, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 problems")));
  EXPECT_THAT(index, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle")));
  EXPECT_THAT(index, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown group")));
}

// The budget tests' input, parsed but not compiled: policy "p" with statements "a" and "b".
void ParseTwoStatements(ParsedSources& parsed) {
  ASSERT_TRUE(ParseSources(
                  std::vector<SourceFile>{
                      {"p.yaml", Policy("\"*\"", Allow("a", "x:y", "t") + Allow("b", "x:y", "u"))}},
                  parsed)
                  .ok());
}

TEST(CompileTest, ExceedingTheStatementBudgetFailsCleanly) {
  ParsedSources parsed;
  ASSERT_NO_FATAL_FAILURE(ParseTwoStatements(parsed));  // "p/a" and "p/b"
  CompileLimits limits;
  limits.max_statements = 1;
  EXPECT_THAT(Compile(parsed.set, limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("over the limit of 1")));
}

TEST(CompileTest, ExceedingTheTrieNodeBudgetFailsCleanly) {
  ParsedSources parsed;
  ASSERT_TRUE(ParseSources(std::vector<SourceFile>{{"p.yaml",
                                                    Policy("\"*\"", Allow("a", "x:y", "a/b/c/d"))}},
                           parsed)
                  .ok());
  CompileLimits limits;
  limits.max_trie_nodes = 3;
  EXPECT_THAT(Compile(parsed.set, limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("trie nodes")));
}

TEST(CompileTest, ExceedingTheStatementNameBudgetFailsCleanly) {
  ParsedSources parsed;
  ASSERT_NO_FATAL_FAILURE(ParseTwoStatements(parsed));  // "p/a" and "p/b"
  CompileLimits limits;
  limits.max_statement_name_bytes = 7;  // the names are "p/a" and "p/b": 6 bytes
  EXPECT_OK(Compile(parsed.set, limits));
  limits.max_statement_name_bytes = 5;
  EXPECT_THAT(Compile(parsed.set, limits),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("statement names take 6 bytes in all, over the limit of 5")));
}

TEST(CompileTest, CompiledIndexCountsWhatItHolds) {
  auto index =
      CompileOrDie({{"e.yaml", kEntities},
                    {"p.yaml", Policy("\"*\"", Allow("a", "x:y", "t") + Allow("b", "x:y", "u"))}});
  EXPECT_EQ(index->statement_count(), 2u);
  EXPECT_EQ(index->policy_count(), 1u);
  EXPECT_EQ(index->entity_count(), 2u);
  EXPECT_EQ(index->group_count(), 3u);
}

TEST(ValidateRequestTest, NamesTheFieldThatIsWrong) {
  EXPECT_THAT(ValidateRequest(MakeRequest("", "mqtt:publish", "t")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("principal.id")));
  EXPECT_THAT(ValidateRequest(MakeRequest("d", "", "t")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action")));
  EXPECT_THAT(ValidateRequest(MakeRequest("d", "mqtt:publish", "a/+")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resource: ")));
  EXPECT_THAT(ValidateRequest(MakeRequest("d", "mqtt:subscribe", "a/#/b")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resource: ")));
  EXPECT_OK(ValidateRequest(MakeRequest("d", "mqtt:subscribe", "a/+/#")));
}

// The evaluator checks and splits the resource eight bytes at a time; every resource up to three
// bytes over a small alphabet, and every place of a wildcard or NUL in longer ones (across the
// eight-byte words), must be refused exactly when ValidateRequest refuses it.
TEST(EvaluateTest, RefusesExactlyTheResourcesValidateRequestRefuses) {
  auto index = CompileOrDie({{"p.yaml", Policy("\"*\"", Allow("all", "mqtt:*", "#"))}});
  std::vector<std::string> resources;
  const std::string alphabet("a/+#\0", 5);
  std::vector<std::string> shorter = {""};
  for (int length = 1; length <= 3; ++length) {
    std::vector<std::string> longer;
    for (const std::string& prefix : shorter) {
      for (char c : alphabet) longer.push_back(prefix + c);
    }
    resources.insert(resources.end(), longer.begin(), longer.end());
    shorter = std::move(longer);
  }
  for (size_t length = 6; length <= 18; ++length) {
    const std::string plain = std::string(length, 'a').replace(length / 2, 1, "/");
    for (size_t at = 0; at < length; ++at) {
      for (const std::string& piece :
           {std::string("+"), std::string("#"), std::string(1, '\0'), std::string("/")}) {
        std::string r = plain;
        r.replace(at, 1, piece);
        resources.push_back(r);
        if (at > 0 && at + 1 < length) {  // as a whole level
          std::string level = plain;
          level.replace(at - 1, 3, "/" + piece + "/");
          resources.push_back(level);
          resources.push_back(level.substr(0, at + 1));  // as the last level
        }
      }
    }
  }
  resources.push_back(std::string(kMaxTopicLength, 'a'));
  resources.push_back(std::string(kMaxTopicLength + 1, 'a'));
  int valid = 0;
  for (const char* action : {"mqtt:publish", "mqtt:subscribe"}) {
    for (const std::string& resource : resources) {
      const Request request = MakeRequest("d", action, resource);
      const bool ok = ValidateRequest(request).ok();
      valid += ok;
      EXPECT_EQ(Evaluate(*index, request).allowed, ok)
          << action << " \"" << absl::CEscape(resource) << "\"";
    }
  }
  EXPECT_GT(valid, 100);  // both outcomes are exercised
}

}  // namespace
}  // namespace fleetpdp::engine
