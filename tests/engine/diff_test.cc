// engine/diff.h and engine/request_generator.h: classifying the decision impact of a new revision,
// and the requests it is measured on.
#include "engine/diff.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "engine/request_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {
namespace {

using testing::CompileYaml;
using ::testing::ElementsAre;
using testing::MakeRequest;

constexpr char kOld[] = R"(
apiVersion: fleetpdp/v1
kind: Entities
groups: [{ id: devices }, { id: cameras, parents: [devices] }]
devices:
  - { id: cam-1, groups: [cameras], attributes: { site: s1 } }
  - { id: dev-2, groups: [devices], attributes: { site: s2 } }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: base }
spec:
  principals: { groups: [devices] }
  statements:
    - { id: telemetry, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/t/#"] }
    - { id: status, effect: allow, actions: [mqtt:publish, mqtt:retain], resources: ["d/${principal.id}/status"] }
    - { id: cmds, effect: allow, actions: [mqtt:subscribe], resources: ["d/${principal.id}/c/#"] }
)";

std::string WithPolicies(const std::string& base, const std::string& extra) {
  return base + "---\n" + extra;
}

std::string Without(std::string text, const std::string& line) {
  size_t at = text.find(line);
  EXPECT_NE(at, std::string::npos) << line;
  if (at != std::string::npos) text.erase(at, line.size());
  return text;
}

std::vector<Request> SomeRequests() {
  return {MakeRequest("cam-1", "mqtt:publish", "d/cam-1/t/x"),
          MakeRequest("cam-1", "mqtt:publish", "d/cam-1/status"),
          MakeRequest("dev-2", "mqtt:publish", "d/dev-2/status"),
          MakeRequest("cam-1", "mqtt:retain", "d/cam-1/status"),
          MakeRequest("cam-1", "mqtt:subscribe", "d/cam-1/c/#"),
          MakeRequest("cam-1", "mqtt:publish", "d/cam-1/c/reboot")};
}

TEST(DiffDecisionsTest, IdenticalBundlesChangeNothing) {
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(kOld);
  DecisionDiff d = DiffDecisions(*a, *b, SomeRequests());
  EXPECT_EQ(d.evaluated, 6u);
  EXPECT_EQ(d.unchanged, 6u);
  EXPECT_TRUE(d.groups.empty());
  EXPECT_FALSE(d.decisions_changed());
}

TEST(DiffDecisionsTest, ARemovedAllowIsAllowToDenyGroupedByAction) {
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(
      Without(kOld,
              "    - { id: status, effect: allow, actions: [mqtt:publish, mqtt:retain], resources: "
              "[\"d/${principal.id}/status\"] }\n"));
  std::vector<Request> requests = SomeRequests();
  DecisionDiff d = DiffDecisions(*a, *b, requests);
  EXPECT_EQ(d.allow_to_deny, 3u);
  EXPECT_EQ(d.deny_to_allow, 0u);
  EXPECT_EQ(d.unchanged, 3u);
  EXPECT_TRUE(d.decisions_changed());
  ASSERT_EQ(d.groups.size(), 2u);  // mqtt:publish (2 requests), mqtt:retain (1)
  EXPECT_EQ(d.groups[0].kind, ChangeKind::kAllowToDeny);
  EXPECT_EQ(d.groups[0].action, "mqtt:publish");
  EXPECT_EQ(d.groups[0].count, 2u);
  EXPECT_THAT(d.groups[0].examples, ElementsAre(1, 2));
  EXPECT_THAT(d.groups[0].old_decision.statements, ElementsAre("base/status"));
  EXPECT_TRUE(d.groups[0].new_decision.statements.empty());
  EXPECT_EQ(d.groups[0].new_decision.reason, Reason::kDefaultDeny);
  EXPECT_EQ(d.groups[1].action, "mqtt:retain");
  EXPECT_EQ(d.groups[1].count, 1u);
}

TEST(DiffDecisionsTest, AnAddedAllowIsDenyToAllow) {
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(WithPolicies(kOld, R"(
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: cmds }
spec:
  principals: "*"
  statements:
    - { id: publish-cmds, effect: allow, actions: [mqtt:publish], resources: ["d/+/c/#"] }
)"));
  DecisionDiff d = DiffDecisions(*a, *b, SomeRequests());
  EXPECT_EQ(d.deny_to_allow, 1u);
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_EQ(d.groups[0].kind, ChangeKind::kDenyToAllow);
  EXPECT_THAT(d.groups[0].new_decision.statements, ElementsAre("cmds/publish-cmds"));
}

TEST(DiffDecisionsTest, ADenyOnAlreadyDeniedRequestsIsAStatementChangeNotADecisionChange) {
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(WithPolicies(kOld, R"(
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: no-cmds }
spec:
  principals: "*"
  statements:
    - { id: deny, effect: deny, actions: [mqtt:publish], resources: ["d/+/c/#"] }
)"));
  DecisionDiff d = DiffDecisions(*a, *b, SomeRequests());
  EXPECT_EQ(d.statements_changed, 1u);
  EXPECT_FALSE(d.decisions_changed());
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_EQ(d.groups[0].kind, ChangeKind::kStatementsChanged);
  EXPECT_EQ(d.groups[0].old_decision.reason, Reason::kDefaultDeny);
  EXPECT_EQ(d.groups[0].new_decision.reason, Reason::kExplicitDeny);
}

TEST(DiffDecisionsTest, ARenamedStatementIsAStatementChange) {
  std::string renamed = kOld;
  renamed.replace(renamed.find("id: telemetry"), 13, "id: telemetry-v2");
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(renamed);
  DecisionDiff d = DiffDecisions(*a, *b, SomeRequests());
  EXPECT_EQ(d.statements_changed, 1u);
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_THAT(d.groups[0].old_decision.statements, ElementsAre("base/telemetry"));
  EXPECT_THAT(d.groups[0].new_decision.statements, ElementsAre("base/telemetry-v2"));
}

TEST(DiffDecisionsTest, DecisionChangesComeBeforeStatementChangesAndExamplesAreCapped) {
  std::string changed = Without(kOld,
                                "    - { id: cmds, effect: allow, actions: [mqtt:subscribe], "
                                "resources: [\"d/${principal.id}/c/#\"] }\n");
  changed.replace(changed.find("id: telemetry"), 13, "id: telemetry-v2");
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(changed);
  std::vector<Request> requests;
  for (int i = 0; i < 10; ++i) {
    requests.push_back(MakeRequest("cam-1", "mqtt:publish", "d/cam-1/t/" + std::to_string(i)));
  }
  requests.push_back(MakeRequest("cam-1", "mqtt:subscribe", "d/cam-1/c/#"));
  DecisionDiff d = DiffDecisions(*a, *b, requests, {.max_examples = 2});
  ASSERT_EQ(d.groups.size(), 2u);
  EXPECT_EQ(d.groups[0].kind, ChangeKind::kAllowToDeny);  // 1 request, but a decision change
  EXPECT_EQ(d.groups[1].kind, ChangeKind::kStatementsChanged);
  EXPECT_EQ(d.groups[1].count, 10u);
  EXPECT_THAT(d.groups[1].examples, ElementsAre(0, 1));
}

// A differential check: DiffDecisions counts what the reference evaluator says, on generated
// requests over two revisions that differ in several ways.
TEST(DiffDecisionsTest, CountsAgreeWithTheReferenceEvaluatorOnGeneratedRequests) {
  std::string changed =
      Without(kOld,
              "    - { id: status, effect: allow, actions: [mqtt:publish, mqtt:retain], resources: "
              "[\"d/${principal.id}/status\"] }\n");
  changed = WithPolicies(changed, R"(
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: extra }
spec:
  principals: { groups: [cameras] }
  statements:
    - { id: site, effect: allow, actions: ["mqtt:*"], resources: ["s/${principal.attributes.site}/+"] }
    - { id: no-t, effect: deny, actions: [mqtt:publish], resources: ["d/+/t/secret/#"] }
)");
  auto a = CompileYaml(kOld);
  auto b = CompileYaml(changed);
  const PolicySet set_a = a->CopySet(), set_b = b->CopySet();
  const PolicySet* sets[] = {&set_a, &set_b};
  RequestGeneratorOptions options;
  options.count = 20'000;
  options.extra_groups = true;
  std::vector<Request> requests = GenerateRequests(sets, options);
  DecisionDiff d = DiffDecisions(*a, *b, requests);
  size_t to_deny = 0, to_allow = 0, statements = 0, same = 0;
  for (const Request& r : requests) {
    DecisionSummary x = Summarize(*a, EvaluateReference(*a, r));
    DecisionSummary y = Summarize(*b, EvaluateReference(*b, r));
    if (x.allowed && !y.allowed) {
      ++to_deny;
    } else if (!x.allowed && y.allowed) {
      ++to_allow;
    } else if (x != y) {
      ++statements;
    } else {
      ++same;
    }
  }
  EXPECT_EQ(d.evaluated, requests.size());
  EXPECT_EQ(d.allow_to_deny, to_deny);
  EXPECT_EQ(d.deny_to_allow, to_allow);
  EXPECT_EQ(d.statements_changed, statements);
  EXPECT_EQ(d.unchanged, same);
  // The generated requests reach every kind of change.
  EXPECT_GT(to_deny, 0u);
  EXPECT_GT(to_allow, 0u);
  EXPECT_GT(statements, 0u);
  size_t grouped = 0;
  for (const ChangeGroup& g : d.groups) grouped += g.count;
  EXPECT_EQ(grouped, to_deny + to_allow + statements);
}

TEST(RequestGeneratorTest, EveryRequestIsValidAndTheSameSeedGivesTheSameRequests) {
  auto a = CompileYaml(kOld);
  const PolicySet set_a = a->CopySet();
  const PolicySet* sets[] = {&set_a};
  RequestGeneratorOptions options;
  options.count = 5'000;
  options.seed = 42;
  std::vector<Request> first = GenerateRequests(sets, options);
  std::vector<Request> second = GenerateRequests(sets, options);
  ASSERT_EQ(first.size(), 5'000u);
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_TRUE(ValidateRequest(first[i]).ok()) << first[i].resource;
    ASSERT_EQ(first[i].resource, second[i].resource);
    ASSERT_EQ(first[i].action, second[i].action);
    ASSERT_EQ(first[i].principal.id, second[i].principal.id);
  }
  options.seed = 43;
  std::vector<Request> other = GenerateRequests(sets, options);
  size_t differ = 0;
  for (size_t i = 0; i < first.size(); ++i) differ += first[i].resource != other[i].resource;
  EXPECT_GT(differ, first.size() / 2);
}

TEST(RequestGeneratorTest, AsksAboutEveryPrincipalAndFillsVariablesWithItsValues) {
  auto a = CompileYaml(kOld);
  const PolicySet set_a = a->CopySet();
  const PolicySet* sets[] = {&set_a};
  RequestGeneratorOptions options;
  options.count = 2'000;
  options.per_principal = 3;
  std::vector<Request> requests = GenerateRequests(sets, options);
  ASSERT_EQ(requests.size(), 2'000u + 2 * 3);
  EXPECT_EQ(requests[0].principal.id, "cam-1");
  EXPECT_EQ(requests[3].principal.id, "dev-2");
  std::set<std::string> actions;
  size_t own_topics = 0, wildcard_filters = 0, allowed = 0;
  for (const Request& r : requests) {
    actions.insert(r.action);
    own_topics += r.resource.starts_with("d/" + r.principal.id + "/");
    wildcard_filters += r.action == kSubscribe && (r.resource.find('+') != std::string::npos ||
                                                   r.resource.find('#') != std::string::npos);
    allowed += Evaluate(*a, r).allowed;
  }
  EXPECT_TRUE(actions.contains("mqtt:publish"));
  EXPECT_TRUE(actions.contains("mqtt:retain"));
  EXPECT_TRUE(actions.contains("mqtt:subscribe"));
  EXPECT_GT(own_topics, requests.size() / 2);
  EXPECT_GT(wildcard_filters, 0u);
  EXPECT_GT(allowed, requests.size() / 10);
  EXPECT_LT(allowed, requests.size() * 9 / 10);  // near misses are denied
}

TEST(RequestGeneratorTest, MakesTrailingStarActionsConcreteWithEveryMqttAction) {
  auto a = CompileYaml(R"(
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: p }
spec:
  principals: "*"
  statements:
    - { id: s, effect: allow, actions: ["mqtt:*", "ota:*"], resources: ["a/+"] }
)");
  const PolicySet set_a = a->CopySet();
  const PolicySet* sets[] = {&set_a};
  RequestGeneratorOptions options;
  options.count = 3'000;
  std::set<std::string> actions;
  for (const Request& r : GenerateRequests(sets, options)) actions.insert(r.action);
  for (std::string_view mqtt : {kConnect, kPublish, kSubscribe, kReceive, kRetain}) {
    EXPECT_TRUE(actions.contains(std::string(mqtt))) << mqtt;
  }
  EXPECT_TRUE(actions.contains("ota:download"));
  EXPECT_TRUE(actions.contains("app:unnamed"));
}

}  // namespace
}  // namespace fleetpdp::engine
