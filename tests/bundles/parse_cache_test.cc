// The parse cache: a reload of a new revision parses only the documents that changed, and decides
// exactly as a load that parses everything.
#include "bundles/parse_cache.h"

#include <string>

#include "bundles/loader.h"
#include "engine/request.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: {groups: [cams]}
  statements:
    - {id: own, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/#"]}
)";

constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups: [{id: cams}]
devices:
  - {id: cam-1, groups: [cams]}
  - {id: cam-2, groups: [cams]}
)";

BundleFiles Fleet(int revision, std::string policy = kPolicy) {
  return BundleFiles{
      {"manifest.yaml", "name: fleet\nrevision: " + std::to_string(revision) + "\n"},
      {"policies/p.yaml", std::move(policy)},
      {"entities/devices.yaml", kEntities},
      {"README.md", "not a document"},
  };
}

absl::StatusOr<LoadedBundle> Load(const BundleFiles& files, ParseCache* cache) {
  LoadOptions options;
  options.allow_unsigned = true;
  options.parse_cache = cache;
  return LoadBundle(files, nullptr, options);
}

engine::Decision Decide(const LoadedBundle& b, std::string principal, std::string topic) {
  engine::Request r;
  r.principal.id = std::move(principal);
  r.action = "mqtt:publish";
  r.resource = std::move(topic);
  return engine::Evaluate(*b.index, r);
}

TEST(ParseCacheTest, FirstLoadParsesEveryDocumentAndNothingElse) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  EXPECT_EQ(cache.last().parsed, 2u);  // the policy and the entities; not the manifest or README
  EXPECT_EQ(cache.last().reused, 0u);
}

TEST(ParseCacheTest, NewRevisionWithTheSameDocumentsParsesNothing) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  absl::StatusOr<LoadedBundle> next = Load(Fleet(2), &cache);
  ASSERT_OK(next);
  EXPECT_EQ(cache.last().parsed, 0u);
  EXPECT_EQ(cache.last().reused, 2u);
  EXPECT_EQ(next->metadata.revision, 2u);
  EXPECT_EQ(next->metadata.entities, 2u);
  EXPECT_EQ(Decide(*next, "cam-2", "d/cam-2/t").reason, engine::Reason::kAllowed);
}

TEST(ParseCacheTest, AChangedDocumentIsParsedAgainAndItsNewContentDecides) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  std::string narrower = kPolicy;
  narrower.replace(narrower.find("d/${principal.id}/#"), 19, "d/${principal.id}/telemetry");
  absl::StatusOr<LoadedBundle> next = Load(Fleet(2, narrower), &cache);
  ASSERT_OK(next);
  EXPECT_EQ(cache.last().parsed, 1u);
  EXPECT_EQ(cache.last().reused, 1u);
  EXPECT_EQ(Decide(*next, "cam-1", "d/cam-1/telemetry").reason, engine::Reason::kAllowed);
  EXPECT_EQ(Decide(*next, "cam-1", "d/cam-1/other").reason, engine::Reason::kDefaultDeny);
}

TEST(ParseCacheTest, CachedLoadDecidesLikeALoadWithoutTheCache) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  absl::StatusOr<LoadedBundle> cached = Load(Fleet(2), &cache);
  absl::StatusOr<LoadedBundle> fresh = Load(Fleet(2), nullptr);
  ASSERT_OK(cached);
  ASSERT_OK(fresh);
  EXPECT_EQ(cached->metadata.digest, fresh->metadata.digest);
  for (const char* principal : {"cam-1", "cam-2", "cam-3"}) {
    for (const char* topic : {"d/cam-1/x", "d/cam-2/x", "d/cam-3/x"}) {
      engine::Decision a = Decide(*cached, principal, topic);
      engine::Decision b = Decide(*fresh, principal, topic);
      EXPECT_EQ(a.reason, b.reason) << principal << " " << topic;
      EXPECT_EQ(cached->index->StatementNames(a), fresh->index->StatementNames(b));
    }
  }
}

TEST(ParseCacheTest, ADocumentWithAnErrorIsReportedOnEveryLoadAndNeverCached) {
  ParseCache cache;
  BundleFiles broken = Fleet(1, "kind: [unclosed");
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<LoadedBundle> b = Load(broken, &cache);
    EXPECT_THAT(b.status(), fleetpdp::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                        HasSubstr("policies/p.yaml:")));
    EXPECT_EQ(cache.last().parsed, attempt == 0 ? 2u : 1u) << "attempt " << attempt;
  }
}

TEST(ParseCacheTest, CrossDocumentChecksRunOnReusedDocuments) {
  // The entities file is reused; a new policy file naming a group it lacks must still fail the
  // cross-document validation that runs on the whole set.
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  BundleFiles next = Fleet(2);
  next["policies/q.yaml"] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: "*"
  statements:
    - {id: x, effect: deny, actions: [mqtt:publish], resources: ["a"]}
)";
  absl::StatusOr<LoadedBundle> b = Load(next, &cache);
  EXPECT_THAT(b.status(),
              fleetpdp::testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"p\"")));
  EXPECT_EQ(cache.last().reused, 2u);
}

TEST(ParseCacheTest, RemovedDocumentsLeaveTheCache) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  BundleFiles without = Fleet(2);
  without.erase("entities/devices.yaml");
  without["policies/p.yaml"] =
      std::string(kPolicy).replace(std::string(kPolicy).find("{groups: [cams]}"), 16, "\"*\"");
  ASSERT_OK(Load(without, &cache));
  ASSERT_OK(Load(Fleet(3), &cache));
  EXPECT_EQ(cache.last().parsed, 2u);  // both came back changed or new: nothing stale was reused
}

// Reusing the directory (groups and entities) of the bundle in force.

absl::StatusOr<LoadedBundle> LoadOver(const BundleFiles& files, ParseCache* cache,
                                      const LoadedBundle& in_force) {
  LoadOptions options;
  options.allow_unsigned = true;
  options.parse_cache = cache;
  options.directory_in_force =
      DirectoryInForce{in_force.index->shared_directory(), in_force.directory_fingerprint};
  return LoadBundle(files, nullptr, options);
}

std::string NarrowerPolicy() {
  std::string narrower = kPolicy;
  return narrower.replace(narrower.find("d/${principal.id}/#"), 19, "d/${principal.id}/telemetry");
}

TEST(ParseCacheTest, TheDirectoryFingerprintFollowsOnlyDocumentsWithGroupsOrEntities) {
  ParseCache cache;
  ASSERT_OK(Load(Fleet(1), &cache));
  const std::string first = cache.last().directory_fingerprint;
  EXPECT_EQ(first.size(), 64u);
  ASSERT_OK(Load(Fleet(2, NarrowerPolicy()), &cache));  // a policy changed
  EXPECT_EQ(cache.last().directory_fingerprint, first);
  BundleFiles moved = Fleet(3);
  moved["entities/renamed.yaml"] = moved["entities/devices.yaml"];
  moved.erase("entities/devices.yaml");
  ASSERT_OK(Load(moved, &cache));  // same entities, another file
  EXPECT_NE(cache.last().directory_fingerprint, first);
  BundleFiles more = Fleet(4);
  more["entities/devices.yaml"] += "  - {id: cam-3, groups: [cams]}\n";
  ASSERT_OK(Load(more, &cache));
  EXPECT_NE(cache.last().directory_fingerprint, first);
}

TEST(ParseCacheTest, ARevisionThatChangesOnlyPoliciesSharesTheDirectoryInForce) {
  ParseCache cache;
  absl::StatusOr<LoadedBundle> in_force = Load(Fleet(1), &cache);
  ASSERT_OK(in_force);
  EXPECT_FALSE(in_force->metadata.directory_reused);
  absl::StatusOr<LoadedBundle> next = LoadOver(Fleet(2, NarrowerPolicy()), &cache, *in_force);
  ASSERT_OK(next);
  EXPECT_TRUE(next->metadata.directory_reused);
  EXPECT_TRUE(cache.last().directory_omitted);
  EXPECT_EQ(&next->index->directory(), &in_force->index->directory());
  EXPECT_EQ(next->metadata.entities, 2u);
  EXPECT_EQ(next->metadata.groups, 1u);
  EXPECT_EQ(next->directory_fingerprint, in_force->directory_fingerprint);
  // It decides as a load of the same files from scratch.
  absl::StatusOr<LoadedBundle> fresh = Load(Fleet(2, NarrowerPolicy()), nullptr);
  ASSERT_OK(fresh);
  for (const char* principal : {"cam-1", "cam-2", "cam-3"}) {
    for (const char* topic : {"d/cam-1/telemetry", "d/cam-2/telemetry", "d/cam-2/x"}) {
      engine::Decision a = Decide(*next, principal, topic);
      engine::Decision b = Decide(*fresh, principal, topic);
      EXPECT_EQ(a.reason, b.reason) << principal << " " << topic;
      EXPECT_EQ(next->index->StatementNames(a), fresh->index->StatementNames(b));
    }
  }
  EXPECT_EQ(Decide(*next, "cam-2", "d/cam-2/telemetry").reason, engine::Reason::kAllowed);
  EXPECT_EQ(Decide(*next, "cam-2", "d/cam-2/x").reason, engine::Reason::kDefaultDeny);
}

TEST(ParseCacheTest, ARevisionThatChangesEntitiesBuildsANewDirectory) {
  ParseCache cache;
  absl::StatusOr<LoadedBundle> in_force = Load(Fleet(1), &cache);
  ASSERT_OK(in_force);
  BundleFiles more = Fleet(2);
  more["entities/devices.yaml"] += "  - {id: cam-3, groups: [cams]}\n";
  absl::StatusOr<LoadedBundle> next = LoadOver(more, &cache, *in_force);
  ASSERT_OK(next);
  EXPECT_FALSE(next->metadata.directory_reused);
  EXPECT_NE(&next->index->directory(), &in_force->index->directory());
  EXPECT_EQ(next->metadata.entities, 3u);
  EXPECT_EQ(Decide(*next, "cam-3", "d/cam-3/t").reason, engine::Reason::kAllowed);
  EXPECT_EQ(Decide(*in_force, "cam-3", "d/cam-3/t").reason, engine::Reason::kDefaultDeny);
}

TEST(ParseCacheTest, AFailedRevisionInBetweenDoesNotStopTheNextFromReusingTheDirectory) {
  ParseCache cache;
  absl::StatusOr<LoadedBundle> in_force = Load(Fleet(1), &cache);
  ASSERT_OK(in_force);
  BundleFiles broken = Fleet(2);
  broken["entities/devices.yaml"] = "kind: [unclosed";  // rejected; rev 1 stays in force
  EXPECT_FALSE(LoadOver(broken, &cache, *in_force).ok());
  EXPECT_TRUE(cache.last().directory_fingerprint.empty());
  absl::StatusOr<LoadedBundle> next = LoadOver(Fleet(3, NarrowerPolicy()), &cache, *in_force);
  ASSERT_OK(next);
  EXPECT_TRUE(next->metadata.directory_reused);
  EXPECT_EQ(Decide(*next, "cam-1", "d/cam-1/telemetry").reason, engine::Reason::kAllowed);
}

TEST(ParseCacheTest, ADirectoryBuiltFromOtherDocumentsIsNotReused) {
  ParseCache cache;
  absl::StatusOr<LoadedBundle> in_force = Load(Fleet(1), &cache);
  ASSERT_OK(in_force);
  LoadedBundle other = *in_force;
  other.directory_fingerprint = std::string(64, '0');  // as from another bundle's documents
  absl::StatusOr<LoadedBundle> next = LoadOver(Fleet(2, NarrowerPolicy()), &cache, other);
  ASSERT_OK(next);
  EXPECT_FALSE(next->metadata.directory_reused);
  EXPECT_NE(&next->index->directory(), &in_force->index->directory());
  EXPECT_EQ(Decide(*next, "cam-1", "d/cam-1/telemetry").reason, engine::Reason::kAllowed);
}

}  // namespace
}  // namespace fleetpdp::bundles
