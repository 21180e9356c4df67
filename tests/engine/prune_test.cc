// engine/prune.h: selector parsing, what is kept, and the proof that a pruned set decides like the
// full one for the selected principals (seeded random requests, 100,000 per fleet).
#include "engine/prune.h"

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "benchmarks/fleet_generator.h"
#include "engine/engine_test_util.h"
#include "engine/parser.h"
#include "engine/request_generator.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// A fleet with every way a selector can reach a device: "*", ids, a group and its ancestors, a
// sibling group, attribute equality (matching, different, and an attribute the device lacks that a
// request may add), conditions on groups, mqtt:* actions, subscribe and deny overrides.
constexpr char kFleet[] = R"(
apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: fleet }
  - { id: sensors, parents: [fleet] }
  - { id: cameras, parents: [sensors] }
  - { id: outdoor, parents: [cameras] }
  - { id: thermostats, parents: [sensors] }
  - { id: gateways, parents: [fleet] }
  - { id: lab }
devices:
  - { id: cam-1, groups: [outdoor], attributes: { region: eu, firmware: "2.4.1", site: s1 } }
  - { id: cam-2, groups: [cameras, lab], attributes: { region: us, firmware: "1.0.0", site: s2 } }
  - { id: therm-1, groups: [thermostats], attributes: { region: eu, site: s1 } }
  - { id: gw-1, groups: [gateways], attributes: { region: eu, site: s1, tier: edge } }
services:
  - { id: ota, attributes: { team: firmware } }
  - { id: monitor, attributes: { team: sre } }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: everyone }
spec:
  principals: "*"
  statements:
    - { id: connect, effect: allow, actions: [mqtt:connect], resources: ["${principal.id}"] }
    - { id: no-sys, effect: deny, actions: ["mqtt:*"], resources: ["$SYS/#"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: fleet-base }
spec:
  principals: { groups: [fleet] }
  statements:
    - { id: telemetry, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/t/#"] }
    - { id: cmds, effect: allow, actions: [mqtt:subscribe, mqtt:receive], resources: ["d/${principal.id}/c/+"] }
    - { id: no-cmds, effect: deny, actions: [mqtt:publish], resources: ["d/+/c/#"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: cameras }
spec:
  principals: { groups: [cameras] }
  statements:
    - id: video
      effect: allow
      actions: [mqtt:publish]
      resources: ["v/${principal.attributes.site}/${principal.id}/+"]
      conditions: { SemverAtLeast: { principal.attributes.firmware: "2.0.0" } }
    - id: ota
      effect: allow
      actions: ["ota:*"]
      resources: ["fw/cameras/#"]
      conditions: { "ForAnyValue:StringEquals": { principal.groups: [outdoor] } }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: eu-cameras }
spec:
  principals: { groups: [cameras], attributes: { region: eu } }
  statements:
    - { id: eu-feed, effect: allow, actions: [mqtt:subscribe], resources: ["eu/feed/#"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: thermostats }
spec:
  principals: { groups: [thermostats] }
  statements:
    - { id: setpoint, effect: allow, actions: [mqtt:receive], resources: ["sites/${principal.attributes.site}/setpoint"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: gateways }
spec:
  principals: { groups: [gateways] }
  statements:
    - id: relay
      effect: allow
      actions: [mqtt:subscribe, mqtt:receive]
      resources: ["sites/${principal.attributes.site}/+/t/#"]
      conditions: { IpAddress: { context.source_ip: ["10.20.0.0/16"] } }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: lab }
spec:
  principals: { groups: [lab] }
  statements:
    - { id: lab-deny, effect: deny, actions: ["mqtt:*"], resources: ["v/#"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: by-id }
spec:
  principals: { ids: [cam-1, ghost] }
  statements:
    - { id: special, effect: allow, actions: [mqtt:retain], resources: ["d/cam-1/status"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: sre }
spec:
  principals: { attributes: { team: sre } }
  statements:
    - { id: read-all, effect: allow, actions: [mqtt:subscribe], resources: ["d/+/t/#"] }
    - { id: read-only, effect: deny, actions: [mqtt:publish], resources: ["#"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: us-only }
spec:
  principals: { attributes: { region: us } }
  statements:
    - { id: us-topic, effect: allow, actions: [mqtt:publish], resources: ["us/${principal.id}"] }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: edge-tier }
spec:
  principals: { groups: [gateways], attributes: { tier: edge } }
  statements:
    - { id: edge, effect: allow, actions: [mqtt:publish], resources: ["edge/#"],
        conditions: { DateLessThan: { context.time: "2027-01-01T00:00:00Z" } } }
---
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: t }
cases:
  - { name: camera telemetry, principal: cam-1, action: mqtt:publish, resource: d/cam-1/t/x, expect: allow }
  - { name: gateway relay, principal: gw-1, action: mqtt:receive, resource: sites/s1/a/t, expect: deny }
  - { name: camera in the lab by request, principal: { id: cam-1, groups: [lab] }, action: mqtt:publish, resource: v/s1/cam-1/x, expect: deny }
  - { name: camera with its own group again, principal: { id: cam-1, groups: [cameras] }, action: mqtt:publish, resource: d/cam-1/t, expect: allow }
  - { name: unknown principal, principal: { id: stranger, groups: [cameras] }, action: mqtt:publish, resource: d/stranger/t, expect: allow }
)";

ParsedSources ParseFleet() {
  ParsedSources parsed;
  ValidationReport report = ParseSources(std::vector<SourceFile>{{"fleet.yaml", kFleet}}, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  return parsed;
}

PruneResult PruneOrDie(const ParsedSources& parsed, const std::string& selector) {
  absl::StatusOr<PrincipalSelection> selection = ParseSelection(selector);
  EXPECT_TRUE(selection.ok()) << selection.status();
  absl::StatusOr<PruneResult> result = Prune(parsed.set, parsed.tests, *selection);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : PruneResult{};
}

std::vector<std::string> PolicyNames(const PolicySet& set) {
  std::vector<std::string> names;
  for (const Policy& p : set.policies) names.push_back(p.name);
  return names;
}

std::vector<std::string> GroupIds(const PolicySet& set) {
  std::vector<std::string> ids;
  for (const Group& g : set.groups) ids.push_back(g.id);
  return ids;
}

std::vector<std::string> TestNames(const std::vector<TestCase>& tests) {
  std::vector<std::string> names;
  for (const TestCase& t : tests) names.push_back(t.name);
  return names;
}

std::string Describe(const std::vector<Attribute>& attributes, const char* flag) {
  std::string out;
  for (const Attribute& a : attributes) {
    out += std::string(" ") + flag + " " + a.key + "=" + absl::StrJoin(a.values, ",");
  }
  return out;
}

// A `fleetpdp eval` command line for `r`: the minimal reproduction of a disagreement.
std::string Reproduction(const Request& r) {
  std::string out = "fleetpdp eval --bundle SRC --principal '" + r.principal.id + "' --action '" +
                    r.action + "' --resource '" + r.resource + "'";
  for (const std::string& g : r.principal.groups) out += " --group " + g;
  out += Describe(r.principal.attributes, "--attr");
  out += Describe(r.context, "--context");
  return out;
}

std::string DecisionText(const RuleIndex& index, const Decision& d) {
  return std::string(d.allowed ? "ALLOW" : "DENY") + " (" + std::string(ReasonName(d.reason)) +
         ": " + absl::StrJoin(index.StatementNames(d), ", ") + ")";
}

bool Disagree(const RuleIndex& full, const RuleIndex& small, const Request& r) {
  Decision a = Evaluate(full, r);
  Decision b = Evaluate(small, r);
  return a.allowed != b.allowed || a.reason != b.reason ||
         full.StatementNames(a) != small.StatementNames(b);
}

// Drops context entries, request attributes and request groups one at a time while the two
// indexes still disagree: what is left is needed for the disagreement.
Request Minimize(const RuleIndex& full, const RuleIndex& small, Request r) {
  for (auto* list : {&r.context, &r.principal.attributes}) {
    for (size_t i = list->size(); i-- > 0;) {
      Request candidate = r;
      auto* candidate_list =
          list == &r.context ? &candidate.context : &candidate.principal.attributes;
      candidate_list->erase(candidate_list->begin() + static_cast<ptrdiff_t>(i));
      if (Disagree(full, small, candidate)) r = std::move(candidate);
    }
  }
  for (size_t i = r.principal.groups.size(); i-- > 0;) {
    Request candidate = r;
    candidate.principal.groups.erase(candidate.principal.groups.begin() +
                                     static_cast<ptrdiff_t>(i));
    if (Disagree(full, small, candidate)) r = std::move(candidate);
  }
  return r;
}

// Decides `count` random requests from the selected principals with both sets and expects the
// same decision, reason and deciding statements; reports the first disagreement as a command.
void ExpectSameDecisions(const PolicySet& full_set, const PruneResult& pruned, size_t count,
                         uint64_t seed) {
  absl::StatusOr<std::shared_ptr<const RuleIndex>> full = Compile(full_set);
  absl::StatusOr<std::shared_ptr<const RuleIndex>> small = Compile(pruned.set);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(small.ok()) << small.status();
  RequestGeneratorOptions options;
  options.count = count;
  options.seed = seed;
  options.principals = pruned.selected;
  options.extra_attributes = true;  // in scope: a request may add attributes
  // Half the requests from the kept policies' patterns (they reach the kept statements), half
  // from the whole set's (they reach what was dropped: it must not have applied).
  options.count = count / 2;
  const PolicySet* kept_sets[] = {&pruned.set};
  std::vector<Request> requests = GenerateRequests(kept_sets, options);
  options.count = count - count / 2;
  options.seed = seed + 1;
  const PolicySet* full_sets[] = {&full_set};
  std::vector<Request> more = GenerateRequests(full_sets, options);
  requests.insert(requests.end(), more.begin(), more.end());
  ASSERT_EQ(requests.size(), count);
  size_t allowed = 0, explicit_denies = 0;
  for (const Request& r : requests) {
    Decision a = Evaluate(**full, r);
    allowed += a.allowed;
    explicit_denies += a.reason == Reason::kExplicitDeny;
    if (Disagree(**full, **small, r)) {
      Request m = Minimize(**full, **small, r);
      ADD_FAILURE() << "the pruned set decides differently for (minimized)\n  " << Reproduction(m)
                    << "\n  full:   " << DecisionText(**full, Evaluate(**full, m))
                    << "\n  pruned: " << DecisionText(**small, Evaluate(**small, m));
      return;
    }
  }
  // The requests reach every outcome, or the comparison would prove little.
  EXPECT_GT(allowed, count / 50);
  EXPECT_GT(explicit_denies, count / 100);
  EXPECT_GT(count - allowed - explicit_denies, count / 50);
}

TEST(ParseSelectionTest, ReadsAUnionOfGroupIdAndAttributeTerms) {
  absl::StatusOr<PrincipalSelection> s = ParseSelection("group:cameras,id:gw-1,attr:region=eu");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->terms.size(), 3u);
  EXPECT_EQ(s->terms[0].kind, SelectionTerm::kGroup);
  EXPECT_EQ(s->terms[1].kind, SelectionTerm::kId);
  EXPECT_EQ(s->terms[2].kind, SelectionTerm::kAttribute);
  EXPECT_EQ(s->terms[2].name, "region");
  EXPECT_EQ(s->terms[2].value, "eu");
  EXPECT_EQ(s->ToString(), "group:cameras,id:gw-1,attr:region=eu");
}

TEST(ParseSelectionTest, RejectsMalformedSelectorsNamingTheTerm) {
  EXPECT_THAT(ParseSelection(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ParseSelection("grp:x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown kind \"grp\"")));
  EXPECT_THAT(ParseSelection("cameras"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"cameras\"")));
  EXPECT_THAT(ParseSelection("attr:region"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("attr:KEY=VALUE")));
  EXPECT_THAT(ParseSelection("group:a,,id:b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty term")));
  EXPECT_THAT(ParseSelection("id:"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names no id")));
}

TEST(PruneTest, RejectsAnUnknownGroupOrEntityAndAnEmptySelection) {
  ParsedSources parsed = ParseFleet();
  EXPECT_THAT(Prune(parsed.set, parsed.tests, *ParseSelection("group:kameras")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the bundle declares no group \"kameras\"")));
  EXPECT_THAT(Prune(parsed.set, parsed.tests, *ParseSelection("id:ghost")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no entity \"ghost\"")));
  EXPECT_THAT(Prune(parsed.set, parsed.tests, *ParseSelection("attr:region=mars")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("selects no entity")));
}

TEST(PruneTest, AGroupSelectsItsDescendantsAndKeepsTheirAncestorGroups) {
  PruneResult r = PruneOrDie(ParseFleet(), "group:cameras");
  EXPECT_THAT(r.selected, ElementsAre("cam-1", "cam-2"));
  // cam-1 is in outdoor (a descendant of cameras); both need sensors and fleet; cam-2 needs lab.
  EXPECT_THAT(GroupIds(r.set), ElementsAre("fleet", "sensors", "cameras", "outdoor", "lab"));
  EXPECT_EQ(r.set.entities.size(), 2u);
}

TEST(PruneTest, KeepsPoliciesOnAncestorsStarIdsAndPossibleAttributeMatches) {
  PruneResult r = PruneOrDie(ParseFleet(), "id:cam-1");
  // everyone ("*"), fleet-base (an ancestor), cameras (a parent), eu-cameras (region eu), by-id,
  // sre (cam-1 has no "team": a request may add team=sre). Not: thermostats, gateways, lab,
  // us-only (cam-1's region is eu, and the bundle's value wins), edge-tier.
  EXPECT_THAT(PolicyNames(r.set),
              ElementsAre("everyone", "fleet-base", "cameras", "eu-cameras", "by-id", "sre"));
}

TEST(PruneTest, AnAttributeTheEntityHasExcludesASelectorAskingForAnotherValue) {
  PruneResult r = PruneOrDie(ParseFleet(), "id:cam-2");
  std::vector<std::string> names = PolicyNames(r.set);
  EXPECT_THAT(names, ::testing::Contains("us-only"));
  EXPECT_THAT(names, ::testing::Contains("lab"));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("eu-cameras")));  // cam-2 is in us
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("by-id")));
}

TEST(PruneTest, AnAttributeTermSelectsEntitiesHoldingTheValue) {
  PruneResult r = PruneOrDie(ParseFleet(), "attr:site=s1,id:monitor");
  EXPECT_THAT(r.selected, ElementsAre("cam-1", "therm-1", "gw-1", "monitor"));
}

TEST(PruneTest, KeepsOnlyTestsAskingForASelectedEntityWithoutExtraGroups) {
  PruneResult r = PruneOrDie(ParseFleet(), "group:cameras");
  // Not the gateway's, not the stranger's, not cam-1 claiming the lab group it is not in.
  EXPECT_THAT(TestNames(r.tests),
              UnorderedElementsAre("camera telemetry", "camera with its own group again"));
}

TEST(PruneTest, KeepsStatementNamesSoTestExpectationsStillHold) {
  ParsedSources parsed = ParseFleet();
  PruneResult r = PruneOrDie(parsed, "group:cameras");
  absl::StatusOr<std::shared_ptr<const RuleIndex>> index = Compile(r.set);
  ASSERT_TRUE(index.ok()) << index.status();
  for (const TestResult& result : RunPolicyTests(**index, r.tests)) {
    EXPECT_TRUE(result.passed) << result.test->name << ": " << result.failure;
  }
}

TEST(PruneEquivalenceTest, PrunedSetDecidesLikeTheFullOneOnAHundredThousandRequestsPerSelection) {
  ParsedSources parsed = ParseFleet();
  for (const char* selector : {"group:cameras", "id:gw-1,attr:team=sre", "group:sensors"}) {
    SCOPED_TRACE(selector);
    PruneResult r = PruneOrDie(parsed, selector);
    ExpectSameDecisions(parsed.set, r, 100'000, /*seed=*/7);
  }
}

TEST(PruneEquivalenceTest, PrunedGeneratedFleetDecidesLikeTheFullOneAndIsSmaller) {
  PolicySet fleet = benchmarks::GenerateFleet(
      {.statements = 5'000, .entities = 2'000, .groups = 2'000, .seed = 3});
  // A middle-level group (a "site"): with 2,000 groups, g0000 and g0001 are the top level.
  PruneResult r = PruneOrDie(ParsedSources{fleet, {}}, "group:g0002");
  size_t full_statements = 0, kept_statements = 0;
  for (const Policy& p : fleet.policies) full_statements += p.statements.size();
  for (const Policy& p : r.set.policies) kept_statements += p.statements.size();
  std::cout << "generated fleet pruned for group:g0002: " << r.selected.size() << " of "
            << fleet.entities.size() << " entities, " << r.set.groups.size() << " of "
            << fleet.groups.size() << " groups, " << r.set.policies.size() << " of "
            << fleet.policies.size() << " policies, " << kept_statements << " of "
            << full_statements << " statements\n";
  EXPECT_GT(r.selected.size(), 0u);
  EXPECT_LT(r.set.entities.size(), fleet.entities.size() / 2);
  EXPECT_LT(r.set.groups.size(), fleet.groups.size() / 2);
  EXPECT_LT(kept_statements, full_statements / 2);
  ExpectSameDecisions(fleet, r, 100'000, /*seed=*/11);
}

}  // namespace
}  // namespace fleetpdp::engine
