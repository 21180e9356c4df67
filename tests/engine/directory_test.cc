// The directory (groups and entities) and compiling a new revision's policies against the one in
// force: the new index shares it and decides exactly as a compile of the whole set.
#include "engine/directory.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/engine_test_util.h"
#include "engine/parser.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::MakeRequest;
using ::fleetpdp::engine::testing::Summary;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - {id: site-a}
  - {id: cams, parents: [site-a]}
devices:
  - {id: cam-1, groups: [cams], attributes: {fw: "2.0"}}
  - {id: cam-2, groups: [cams]}
)";

PolicySet Parse(const std::string& yaml) {
  ParsedSources parsed;
  ValidationReport report = ParseSources(std::vector<SourceFile>{{"p.yaml", yaml}}, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  return std::move(parsed.set);
}

std::string Policy(const std::string& name, const std::string& principals,
                   const std::string& resource) {
  return "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: " + name +
         "}\nspec:\n  principals: " + principals +
         "\n  statements:\n    - {id: s, effect: allow, actions: [mqtt:publish], resources: [\"" +
         resource + "\"]}\n";
}

std::shared_ptr<const RuleIndex> CompileAll(const std::string& yaml) {
  auto index = Compile(Parse(yaml));
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : nullptr;
}

TEST(DirectoryTest, ANewRevisionsPoliciesCompiledAgainstTheDirectoryShareIt) {
  auto first = CompileAll(std::string(kEntities) + "---\n" +
                          Policy("p", "{groups: [cams]}", "d/${principal.id}/#"));
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::shared_ptr<const RuleIndex>> next = CompileWithDirectory(
      Parse(Policy("p", "{groups: [site-a]}", "site/${principal.id}")), first->shared_directory());
  ASSERT_OK(next);
  EXPECT_EQ(&(*next)->directory(), &first->directory());
  EXPECT_EQ((*next)->entity_count(), 2u);
  EXPECT_EQ((*next)->groups().size(), 2u);
  // The new policies decide, through the groups of the shared directory (cams ⊂ site-a)...
  EXPECT_EQ(Summary(**next, MakeRequest("cam-2", "mqtt:publish", "site/cam-2")), "ALLOW p/s");
  EXPECT_EQ(Summary(**next, MakeRequest("cam-2", "mqtt:publish", "d/cam-2/t")),
            "DENY(DEFAULT_DENY)");
  // ...and the index they replace still decides with its own, on the same directory.
  EXPECT_EQ(Summary(*first, MakeRequest("cam-2", "mqtt:publish", "d/cam-2/t")), "ALLOW p/s");
}

TEST(DirectoryTest, ASetWithGroupsOrEntitiesOfItsOwnIsRefused) {
  auto first = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x"));
  ASSERT_NE(first, nullptr);
  PolicySet with_entities =
      Parse(std::string(kEntities) + "---\n" + Policy("p", "{groups: [cams]}", "x"));
  EXPECT_THAT(CompileWithDirectory(std::move(with_entities), first->shared_directory()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must not have groups or entities of its own (it has 2 groups "
                                 "and 2 entities)")));
  EXPECT_THAT(CompileWithDirectory(Parse(Policy("p", "\"*\"", "x")), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no directory")));
}

TEST(DirectoryTest, PoliciesAreStillValidatedAgainstADirectory) {
  auto first = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x"));
  ASSERT_NE(first, nullptr);
  PolicySet twice = Parse(Policy("p", "\"*\"", "x"));
  twice.policies.push_back(Parse(Policy("p", "\"*\"", "y")).policies.front());
  EXPECT_THAT(CompileWithDirectory(std::move(twice), first->shared_directory()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate policy name")));
}

TEST(DirectoryTest, AGroupOnlyPoliciesNameSelectsRequestsThatCarryIt) {
  auto first = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x"));
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::shared_ptr<const RuleIndex>> next = CompileWithDirectory(
      Parse(Policy("p", "{groups: [vendor-x]}", "v/#")), first->shared_directory());
  ASSERT_OK(next);
  EXPECT_EQ((*next)->group_count(), 3u);  // site-a, cams, and vendor-x numbered after them
  EXPECT_EQ((*next)->group_name(2), "vendor-x");
  Request carrying = MakeRequest("cam-1", "mqtt:publish", "v/1");
  carrying.principal.groups = {"vendor-x"};
  EXPECT_EQ(Summary(**next, carrying), "ALLOW p/s");
  EXPECT_EQ(Summary(**next, MakeRequest("cam-1", "mqtt:publish", "v/1")), "DENY(DEFAULT_DENY)");
}

TEST(DirectoryTest, AnIdASelectorNamesSelectsWhetherOrNotTheDirectoryHasIt) {
  auto first = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x"));
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::shared_ptr<const RuleIndex>> next = CompileWithDirectory(
      Parse(Policy("p", "{ids: [cam-1, svc-9]}", "i/${principal.id}")), first->shared_directory());
  ASSERT_OK(next);
  EXPECT_EQ(Summary(**next, MakeRequest("cam-1", "mqtt:publish", "i/cam-1")), "ALLOW p/s");
  EXPECT_EQ(Summary(**next, MakeRequest("svc-9", "mqtt:publish", "i/svc-9")), "ALLOW p/s");
  EXPECT_EQ(Summary(**next, MakeRequest("cam-2", "mqtt:publish", "i/cam-2")), "DENY(DEFAULT_DENY)");
}

TEST(DirectoryTest, EveryEntityIsFoundByItsIdWithItsExpandedGroupsAndNoOtherIdIs) {
  // A chain of groups g0 <- g1 <- … <- g9 (g9's ancestors are g0 … g8), and ids of every length
  // from 1 to 40 bytes (prefixes of one another, sharing home slots in a table of 5,000).
  std::vector<Group> groups;
  for (int g = 0; g < 10; ++g) {
    Group group;
    group.id = absl::StrCat("g", g);
    if (g > 0) group.parents = {absl::StrCat("g", g - 1)};
    groups.push_back(std::move(group));
  }
  std::vector<Entity> entities;
  for (int e = 0; e < 5000; ++e) {
    Entity entity;
    entity.id = absl::StrCat(e, "-", std::string(static_cast<size_t>(e % 40), 'd'));
    entity.id.resize(1 + static_cast<size_t>(e % 40));
    entity.groups = {absl::StrCat("g", e % 10)};
    if (e % 7 == 0) entity.groups.clear();
    entities.push_back(std::move(entity));
  }
  // Ids cut to one byte collide ("1", "2" …): keep the first of each, as Validate would refuse
  // the rest.
  absl::flat_hash_map<std::string, size_t> first;
  for (size_t e = 0; e < entities.size(); ++e) first.try_emplace(entities[e].id, e);
  auto directory = Directory::Build(groups, entities, CompileLimits{});
  ASSERT_OK(directory);
  for (const auto& [id, e] : first) {
    std::optional<Directory::Principal> p = (*directory)->FindPrincipal(id);
    ASSERT_TRUE(p.has_value()) << id;
    EXPECT_EQ(p->entity, e) << id;
    std::vector<uint32_t> closure(p->closure, p->closure + p->closure_size);
    std::vector<uint32_t> expected;
    if (e % 7 != 0) {
      for (uint32_t g = 0; g <= e % 10; ++g) expected.push_back(g);
    }
    EXPECT_EQ(closure, expected) << id;
    for (const std::string& other :
         {absl::StrCat(id, "x"), id.substr(0, id.size() - 1), absl::StrCat("x", id)}) {
      if (!first.contains(other)) {
        EXPECT_FALSE((*directory)->FindPrincipal(other)) << other;
      }
    }
  }
  EXPECT_FALSE((*directory)->FindPrincipal(""));
}

TEST(DirectoryTest, EntitiesAndGroupsOverTheLimitsAreRefused) {
  CompileLimits limits;
  limits.max_entities = 1;
  EXPECT_THAT(
      Compile(Parse(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x")), limits),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("2 entities, over the limit of 1")));
  limits = CompileLimits{};
  limits.max_groups = 2;
  auto first = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "\"*\"", "x"));
  ASSERT_NE(first, nullptr);
  EXPECT_THAT(
      CompileWithDirectory(Parse(Policy("p", "{groups: [vendor-x]}", "x")),
                           first->shared_directory(), limits),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("3 groups, over the limit of 2")));
}

TEST(DirectoryTest, CopySetGivesBackEverythingTheIndexWasCompiledFrom) {
  auto index = CompileAll(std::string(kEntities) + "---\n" + Policy("p", "{groups: [cams]}", "x"));
  ASSERT_NE(index, nullptr);
  PolicySet copy = index->CopySet();
  ASSERT_EQ(copy.policies.size(), 1u);
  EXPECT_EQ(copy.policies[0].name, "p");
  ASSERT_EQ(copy.groups.size(), 2u);
  EXPECT_EQ(copy.groups[1].parents, std::vector<std::string>{"site-a"});
  ASSERT_EQ(copy.entities.size(), 2u);
  EXPECT_EQ(copy.entities[0].id, "cam-1");
  EXPECT_OK(Compile(std::move(copy)));
}

}  // namespace
}  // namespace fleetpdp::engine
