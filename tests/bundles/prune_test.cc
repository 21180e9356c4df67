// bundles/prune.h: the documents of a pruned bundle say exactly what engine::Prune kept, and they
// decide like the full bundle for the selected principals.
#include "bundles/prune.h"

#include <string>
#include <vector>

#include "bundles/digest.h"
#include "bundles/loader.h"
#include "bundles/manifest.h"
#include "engine/prune.h"
#include "engine/request_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::bundles {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

BundleFiles ExampleLike() {
  BundleFiles files;
  files.emplace("manifest.yaml",
                "name: fleet\nrevision: 7\ncreated: \"2026-11-28T00:00:00Z\"\ndescription: the "
                "fleet\n");
  files.emplace(".signatures.json", "{}");
  files.emplace("README.md", "not a document\n");
  files.emplace("entities/e.yaml", R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: devices }
  - { id: cameras, parents: [devices] }
  - { id: gateways, parents: [devices] }
devices:
  - { id: cam-1, groups: [cameras], attributes: { flag: "true", empty: "", n: "007", nul: "null" } }
  - { id: gw-1, groups: [gateways], attributes: { site: s1 } }
services:
  - { id: ota, attributes: { team: fw } }
)");
  files.emplace("policies/p.yaml", R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: devices, description: "# not a comment" }
spec:
  principals: { groups: [devices] }
  statements:
    - id: own
      effect: allow
      actions: [mqtt:publish]
      resources: ["d/${principal.id}/#"]
      conditions:
        StringEquals: { principal.attributes.flag: "true" }
        NumericEquals: { principal.attributes.n: "7" }
---
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: gateways }
spec:
  principals: { groups: [gateways] }
  statements:
    - { id: relay, effect: allow, actions: [mqtt:subscribe], resources: ["sites/+/#"] }
)");
  files.emplace("policies/ota.yaml", R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: ota }
spec:
  principals: { ids: [ota] }
  statements:
    - { id: push, effect: allow, actions: [mqtt:publish], resources: ["d/+/ota"] }
)");
  files.emplace("tests/t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: t }
cases:
  - { name: camera, principal: cam-1, action: mqtt:publish, resource: d/cam-1/x, expect: allow }
  - { name: gateway, principal: gw-1, action: mqtt:subscribe, resource: sites/a/#, expect: allow }
---
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: ota-only }
cases:
  - { name: ota, principal: ota, action: mqtt:publish, resource: d/x/ota, expect: allow }
)");
  return files;
}

struct Pruned {
  LoadedBundle full;
  engine::PruneResult result;
  BundleFiles files;
  LoadedBundle small;
};

Pruned PruneFor(const BundleFiles& files, const std::string& selector) {
  Pruned p;
  absl::StatusOr<LoadedBundle> full = CompileBundleFiles(files);
  EXPECT_TRUE(full.ok()) << full.status();
  p.full = *std::move(full);
  absl::StatusOr<engine::PruneResult> result =
      engine::Prune(p.full.index->CopySet(), p.full.tests, *engine::ParseSelection(selector));
  EXPECT_TRUE(result.ok()) << result.status();
  p.result = *std::move(result);
  absl::StatusOr<BundleFiles> out = PruneBundleFiles(files, p.result, selector);
  EXPECT_TRUE(out.ok()) << out.status();
  p.files = *std::move(out);
  absl::StatusOr<LoadedBundle> small = CompileBundleFiles(p.files);
  EXPECT_TRUE(small.ok()) << small.status();
  if (small.ok()) p.small = *std::move(small);
  return p;
}

std::vector<std::string> Paths(const BundleFiles& files) {
  std::vector<std::string> paths;
  for (const auto& [path, content] : files) paths.push_back(path);
  return paths;
}

TEST(PruneBundleFilesTest, KeepsTheDocumentsPruneKeptAndDropsEmptiedFilesAndTheSignatures) {
  Pruned p = PruneFor(ExampleLike(), "group:cameras");
  // ota.yaml held only the ota policy; the signature file must be made again by signing.
  EXPECT_THAT(Paths(p.files), ElementsAre("README.md", "entities/e.yaml", "manifest.yaml",
                                          "policies/p.yaml", "tests/t.yaml"));
  ASSERT_NE(p.small.index, nullptr);
  const engine::PolicySet set = p.small.index->CopySet();
  ASSERT_EQ(set.policies.size(), 1u);
  EXPECT_EQ(set.policies[0].name, "devices");
  ASSERT_EQ(set.entities.size(), 1u);
  EXPECT_EQ(set.entities[0].id, "cam-1");
  EXPECT_EQ(set.groups.size(), 2u);  // cameras and its parent devices
  ASSERT_EQ(p.small.tests.size(), 1u);
  EXPECT_EQ(p.small.tests[0].name, "camera");
  // The emptied "services" list is left out, not written as an empty list.
  EXPECT_THAT(p.files.at("entities/e.yaml"), Not(HasSubstr("services")));
  EXPECT_THAT(p.files.at("tests/t.yaml"), Not(HasSubstr("ota-only")));
}

TEST(PruneBundleFilesTest, QuotedValuesStayStringsSoConditionsStillHold) {
  Pruned p = PruneFor(ExampleLike(), "id:cam-1");
  const std::string& entities = p.files.at("entities/e.yaml");
  EXPECT_THAT(entities, HasSubstr("flag: \"true\""));
  EXPECT_THAT(entities, HasSubstr("nul: \"null\""));
  EXPECT_THAT(entities, HasSubstr("empty: \"\""));
  EXPECT_THAT(p.files.at("policies/p.yaml"), HasSubstr("\"# not a comment\""));
  std::vector<engine::TestResult> results = engine::RunPolicyTests(*p.small.index, p.small.tests);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].passed) << results[0].failure;
}

TEST(PruneBundleFilesTest, TheManifestKeepsNameAndRevisionAndNotesTheSelectorAndSourceDigest) {
  Pruned p = PruneFor(ExampleLike(), "group:gateways");
  absl::StatusOr<Manifest> m = ParseManifest(p.files.at("manifest.yaml"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name, "fleet");
  EXPECT_EQ(m->revision, 7u);
  EXPECT_EQ(m->created, "2026-11-28T00:00:00Z");
  BundleFiles unsigned_source = ExampleLike();
  unsigned_source.erase(".signatures.json");
  EXPECT_EQ(m->description, "pruned for \"group:gateways\" from digest " +
                                BundleDigest(unsigned_source) + ": the fleet");
}

TEST(PruneBundleFilesTest, RewrittenBundleDecidesLikeTheFullOneForTheSelection) {
  BundleFiles files = ExampleLike();
  Pruned p = PruneFor(files, "group:cameras,id:gw-1");
  ASSERT_NE(p.small.index, nullptr);
  engine::RequestGeneratorOptions options;
  options.count = 20'000;
  options.principals = p.result.selected;
  const engine::PolicySet full_set = p.full.index->CopySet();
  const engine::PolicySet* sets[] = {&full_set};
  size_t allowed = 0;
  for (const engine::Request& r : engine::GenerateRequests(sets, options)) {
    engine::Decision a = engine::Evaluate(*p.full.index, r);
    engine::Decision b = engine::Evaluate(*p.small.index, r);
    allowed += a.allowed;
    ASSERT_EQ(a.allowed, b.allowed) << r.principal.id << " " << r.action << " " << r.resource;
    ASSERT_EQ(p.full.index->StatementNames(a), p.small.index->StatementNames(b))
        << r.principal.id << " " << r.action << " " << r.resource;
  }
  EXPECT_GT(allowed, 0u);
}

}  // namespace
}  // namespace fleetpdp::bundles
