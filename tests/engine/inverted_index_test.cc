// The inverted layout of the rule index (rule_index.h): one trie per action for the whole bundle,
// whose pattern ends hold statements keyed by the principal key that selects them. These tests
// put many principals' statements at the same places in a trie, so that a check must pick the
// asker's out of them — through the scanned postings and through the per-key runs of large ones —
// and must not be misled by the others'. Every decision is also checked against the reference
// evaluator (DecideBoth).
#include <string>
#include <vector>

#include "engine/rule_index.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::AddAttribute;
using ::fleetpdp::engine::testing::MakeRequest;
using ::fleetpdp::engine::testing::Summary;

Statement MakeStatement(std::string id, Effect effect, std::string action, std::string resource) {
  Statement s;
  s.id = std::move(id);
  s.effect = effect;
  s.actions = {std::move(action)};
  s.resources = {std::move(resource)};
  return s;
}

// `groups` groups g0 … g<groups-1> (flat), one device d<i> in each group g<i>, and per group one
// policy holding `statements` (built per group number).
template <typename Statements>
PolicySet GroupFleet(int groups, Statements statements) {
  PolicySet set;
  for (int g = 0; g < groups; ++g) {
    const std::string n = std::to_string(g);
    set.groups.push_back(Group{"g" + n, {}, {}});
    Entity e;
    e.id = "d" + n;
    e.groups = {"g" + n};
    set.entities.push_back(e);
    Policy p;
    p.name = "p" + n;
    p.principals.groups = {"g" + n};
    p.statements = statements(g);
    set.policies.push_back(p);
  }
  return set;
}

std::shared_ptr<const RuleIndex> CompileSet(const PolicySet& set) {
  auto index = Compile(set);
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : nullptr;
}

// Few and many principals at one pattern: below and above RuleIndex::kScannedEntries.
class SharedPatternTest : public ::testing::TestWithParam<int> {};

TEST_P(SharedPatternTest, OnlyTheAskersStatementsAtASharedPatternApply) {
  auto index = CompileSet(GroupFleet(GetParam(), [](int g) {
    return std::vector<Statement>{
        MakeStatement("own", Effect::kAllow, "mqtt:publish", "devices/${principal.id}/#")};
  }));
  ASSERT_NE(index, nullptr);
  for (int g : {0, GetParam() / 2, GetParam() - 1}) {
    const std::string d = "d" + std::to_string(g);
    EXPECT_EQ(Summary(*index, MakeRequest(d, "mqtt:publish", "devices/" + d + "/t")),
              "ALLOW p" + std::to_string(g) + "/own");
  }
  EXPECT_EQ(Summary(*index, MakeRequest("stranger", "mqtt:publish", "devices/stranger/t")),
            "DENY(DEFAULT_DENY)");
}

TEST_P(SharedPatternTest, EveryApplicableStatementIsNamedWhenManyKeysShareAPattern) {
  // Each group's policy also selects the next group's device by id and a "*" policy adds one:
  // the asker is selected through "*", its group and its id at the same place.
  PolicySet set = GroupFleet(GetParam(), [](int g) {
    return std::vector<Statement>{MakeStatement("deny", Effect::kDeny, "mqtt:publish", "x/#")};
  });
  for (int g = 0; g < GetParam(); ++g) {
    set.policies[g].principals.ids = {"d" + std::to_string((g + 1) % GetParam())};
  }
  Policy any;
  any.name = "any";
  any.principals.any = true;
  any.statements = {MakeStatement("deny", Effect::kDeny, "mqtt:*", "x/+")};
  set.policies.push_back(any);
  auto index = CompileSet(set);
  ASSERT_NE(index, nullptr);
  const int n = GetParam();
  const int g = n / 2;
  EXPECT_EQ(Summary(*index, MakeRequest("d" + std::to_string(g), "mqtt:publish", "x/y")),
            n == 1 ? "DENY(EXPLICIT_DENY) p0/deny,any/deny"
                   : "DENY(EXPLICIT_DENY) p" + std::to_string(g - 1) + "/deny,p" +
                         std::to_string(g) + "/deny,any/deny");
}

INSTANTIATE_TEST_SUITE_P(Sizes, SharedPatternTest, ::testing::Values(1, 3, 40));

// In a posting above kScannedEntries, a key with one statement has its entry in its run slot
// and a key with several has a span of entries; both must keep the statement's condition.
TEST(InvertedIndexTest, OneAndSeveralStatementsPerKeyInALargePostingKeepTheirConditions) {
  auto index = CompileSet(GroupFleet(40, [](int g) {
    const std::string n = std::to_string(g);
    if (g % 2 == 0) {
      return std::vector<Statement>{MakeStatement("a", Effect::kAllow, "mqtt:publish", "t/#"),
                                    MakeStatement("b", Effect::kAllow, "mqtt:publish", "t/+")};
    }
    Statement zoned = MakeStatement("zoned", Effect::kAllow, "mqtt:publish", "t/#");
    zoned.conditions = {
        Condition{Quantifier::kSingle, "StringEquals", "context.zone", {"z" + n}, {}}};
    return std::vector<Statement>{zoned};
  }));
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(Summary(*index, MakeRequest("d4", "mqtt:publish", "t/x")), "ALLOW p4/a,p4/b");
  EXPECT_EQ(Summary(*index, MakeRequest("d4", "mqtt:publish", "t/x/y")), "ALLOW p4/a");
  Request in_zone = MakeRequest("d5", "mqtt:publish", "t/x");
  AddAttribute(in_zone.context, "zone", "z5");
  EXPECT_EQ(Summary(*index, in_zone), "ALLOW p5/zoned");
  Request other_zone = MakeRequest("d5", "mqtt:publish", "t/x");
  AddAttribute(other_zone.context, "zone", "z7");
  EXPECT_EQ(Summary(*index, other_zone), "DENY(DEFAULT_DENY)");
  EXPECT_EQ(Summary(*index, MakeRequest("d5", "mqtt:publish", "t/x")), "DENY(DEFAULT_DENY)");
}

// Ids that selectors name are found for devices of the directory (through one bit per entity)
// and for principals the bundle does not know (through the ids themselves) alike.
TEST(InvertedIndexTest, PrincipalsNamedByIdAreSelectedWhetherOrNotTheBundleKnowsThem) {
  PolicySet set = GroupFleet(100, [](int g) {
    return std::vector<Statement>{MakeStatement("own", Effect::kAllow, "mqtt:publish", "g/#")};
  });
  Policy named;
  named.name = "named";
  named.principals.ids = {"d63", "d64", "d99", "ghost"};
  named.statements = {MakeStatement("n", Effect::kAllow, "mqtt:publish", "n/#")};
  set.policies.push_back(named);
  auto index = CompileSet(set);
  ASSERT_NE(index, nullptr);
  for (const char* id : {"d63", "d64", "d99", "ghost"}) {
    EXPECT_EQ(Summary(*index, MakeRequest(id, "mqtt:publish", "n/1")), "ALLOW named/n") << id;
  }
  for (const char* id : {"d0", "d62", "d65", "d98", "ghost2"}) {
    EXPECT_EQ(Summary(*index, MakeRequest(id, "mqtt:publish", "n/1")), "DENY(DEFAULT_DENY)") << id;
  }
  EXPECT_EQ(Summary(*index, MakeRequest("d64", "mqtt:publish", "g/1")), "ALLOW p64/own");
}

TEST(InvertedIndexTest, SubscribePlusOverlapsOnlyTheAskersDenyPatterns) {
  auto index = CompileSet(GroupFleet(40, [](int g) {
    return std::vector<Statement>{
        MakeStatement("all", Effect::kAllow, "mqtt:subscribe", "#"),
        MakeStatement("no-peer", Effect::kDeny, "mqtt:subscribe",
                      "devices/d" + std::to_string((g + 1) % 40) + "/secret")};
  }));
  ASSERT_NE(index, nullptr);
  // d5's group denies d6's secret only; the other 39 deny patterns belong to other principals.
  EXPECT_EQ(Summary(*index, MakeRequest("d5", "mqtt:subscribe", "devices/+/secret")),
            "DENY(EXPLICIT_DENY) p5/no-peer");
  EXPECT_EQ(Summary(*index, MakeRequest("d5", "mqtt:subscribe", "devices/#")),
            "DENY(EXPLICIT_DENY) p5/no-peer");
  EXPECT_EQ(Summary(*index, MakeRequest("d5", "mqtt:subscribe", "devices/d5/#")), "ALLOW p5/all");
  EXPECT_EQ(Summary(*index, MakeRequest("stranger", "mqtt:subscribe", "#")), "DENY(DEFAULT_DENY)");
}

TEST(InvertedIndexTest, SubscribeHashAtTheRootSkipsDollarDenyPatternsButNotTheAskersOthers) {
  auto index = CompileSet(GroupFleet(20, [](int g) {
    return std::vector<Statement>{
        MakeStatement("all", Effect::kAllow, "mqtt:subscribe", "#"),
        MakeStatement("no-sys", Effect::kDeny, "mqtt:subscribe", "$SYS/#"),
        MakeStatement("no-own", Effect::kDeny, "mqtt:subscribe",
                      "${principal.id}/" + std::to_string(g))};
  }));
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(Summary(*index, MakeRequest("d3", "mqtt:subscribe", "#")),
            "DENY(EXPLICIT_DENY) p3/no-own");
  EXPECT_EQ(Summary(*index, MakeRequest("d3", "mqtt:subscribe", "$SYS/#")),
            "DENY(EXPLICIT_DENY) p3/no-sys");
  EXPECT_EQ(Summary(*index, MakeRequest("d3", "mqtt:subscribe", "+/4")), "ALLOW p3/all");
}

TEST(InvertedIndexTest, OneTriePerActionIsSharedByEveryPrincipal) {
  auto index = CompileSet(GroupFleet(50, [](int g) {
    return std::vector<Statement>{
        MakeStatement("a", Effect::kAllow, "mqtt:publish", "sites/s1/status"),
        MakeStatement("b", Effect::kAllow, "mqtt:publish", "sites/s2/status")};
  }));
  ASSERT_NE(index, nullptr);
  // One root and one path per pattern, whatever the number of groups that hold them.
  EXPECT_EQ(index->trie_node_count(), 1u + 1 + 2 + 2);
  EXPECT_EQ(Summary(*index, MakeRequest("d7", "mqtt:publish", "sites/s2/status")), "ALLOW p7/b");
}

}  // namespace
}  // namespace fleetpdp::engine
