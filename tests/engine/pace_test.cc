// Tests for engine/pace.h: the long stages of a load (parsing, validating, compiling, freeing)
// reach the pacer installed on their thread often, and only that thread's pacer; pacing changes
// no result.
#include "engine/pace.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/parser.h"
#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::MakeRequest;
using ::fleetpdp::engine::testing::Summary;

class CountingPacer : public Pacer {
 public:
  void Point() override { ++points; }
  size_t points = 0;
};

// `n` policy documents of two statements each for four devices (i to i+3), and a registry of `n`
// devices in one document. At 3,000 policies the index has 24,000 postings: SortPaced sorts them
// in two blocks.
std::vector<SourceFile> Fleet(int n) {
  std::string policies, devices =
                            "apiVersion: fleetpdp/v1\nkind: Entities\ngroups: [{id: cams}]\n"
                            "devices:\n";
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(
        &policies, "---\napiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: p", i,
        "}\nspec:\n  principals: {ids: [cam-", i, ", cam-", (i + 1) % n, ", cam-", (i + 2) % n,
        ", cam-", (i + 3) % n, "]}\n  statements:\n",
        "    - {id: pub, effect: allow, actions: [mqtt:publish], resources: [\"d/", i, "/#\"]}\n",
        "    - {id: no, effect: deny, actions: [mqtt:publish], resources: [\"d/", i, "/cmd\"]}\n");
    absl::StrAppend(&devices, "  - {id: cam-", i, ", groups: [cams]}\n");
  }
  return {{"policies.yaml", policies}, {"devices.yaml", devices}};
}

TEST(PaceTest, ParsingAndCompilingReachThePacerOfTheirThreadAndDecideAsWithout) {
  constexpr int kPolicies = 3000;
  const std::vector<SourceFile> files = Fleet(kPolicies);
  ParsedSources unpaced_parse;
  ASSERT_TRUE(ParseSources(files, unpaced_parse).ok());
  auto unpaced = Compile(std::move(unpaced_parse.set));
  ASSERT_TRUE(unpaced.ok()) << unpaced.status();

  CountingPacer parsing, compiling;
  ParsedSources parsed;
  {
    ScopedPacer pacing(&parsing);
    ASSERT_TRUE(ParseSources(files, parsed).ok());
  }
  // Two passes over each policy document (the syntax check and the nodes), plus the registry.
  EXPECT_GE(parsing.points, 2u * kPolicies);
  absl::StatusOr<std::shared_ptr<const RuleIndex>> paced;
  {
    ScopedPacer pacing(&compiling);
    paced = Compile(std::move(parsed.set));
  }
  ASSERT_TRUE(paced.ok()) << paced.status();
  // Validation and the statement loop (every 16 policies), the entities, the layout.
  EXPECT_GE(compiling.points, kPolicies / 16u + kPolicies / 1024u);
  for (int i = 0; i < kPolicies; i += 97) {
    for (int principal : {i, (i + 3) % kPolicies, (i + 4) % kPolicies}) {
      for (const std::string topic : {"/t", "/cmd"}) {
        const Request r = MakeRequest(absl::StrCat("cam-", principal), "mqtt:publish",
                                      absl::StrCat("d/", i, topic));
        ASSERT_EQ(Summary(**paced, r), Summary(**unpaced, r));
      }
    }
  }
  // Freeing the index is paced too, by the thread that lets go of it last.
  CountingPacer freeing;
  {
    ScopedPacer pacing(&freeing);
    paced->reset();
    unpaced->reset();
  }
  EXPECT_GE(freeing.points, 2 * (kPolicies / 256u + 2 * kPolicies / 1024u));
}

TEST(PaceTest, SortPacedSortsInPiecesWithPointsAndAgreesWithStdSort) {
  std::vector<uint64_t> v(100'003);
  uint64_t x = 88172645463325252ULL;
  for (uint64_t& e : v) {  // xorshift; a tenth of the values repeat
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    e = x % 90'000;
  }
  std::vector<uint64_t> expected = v;
  std::sort(expected.begin(), expected.end());
  CountingPacer pacer;
  {
    ScopedPacer pacing(&pacer);
    SortPaced(v.begin(), v.end(), std::less<>(), 1000);
  }
  EXPECT_EQ(v, expected);
  // 101 blocks, then 50 + 25 + 13 + 6 + 3 + 2 + 1 merges.
  EXPECT_EQ(pacer.points, 101u + 100u);
}

TEST(PaceTest, APacerIsPerThreadAndAScopeRestoresTheOneBefore) {
  CountingPacer outer, inner, other;
  {
    ScopedPacer a(&outer);
    PacePoint();
    {
      ScopedPacer b(&inner);
      PacePoint();
      PacePoint();
      std::thread([&] {
        PacePoint();  // no pacer on this thread: nothing counted anywhere
        ScopedPacer c(&other);
        PacePoint();
      }).join();
    }
    PacePoint();
  }
  PacePoint();  // none installed any more
  EXPECT_EQ(outer.points, 2u);
  EXPECT_EQ(inner.points, 2u);
  EXPECT_EQ(other.points, 1u);
}

TEST(PaceTest, ClearPacedDestroysEveryElementWithAPointEveryStepAndFreesTheBuffer) {
  auto alive = std::make_shared<int>(0);
  std::vector<std::shared_ptr<int>> v(1000, alive);
  CountingPacer pacer;
  {
    ScopedPacer pacing(&pacer);
    ClearPaced(v, 64);
  }
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.capacity(), 0u);
  EXPECT_EQ(alive.use_count(), 1);
  EXPECT_EQ(pacer.points, 1000u / 64);
  std::vector<std::shared_ptr<int>> w(10, alive);
  ClearPaced(w);  // without a pacer: a plain clear
  EXPECT_EQ(alive.use_count(), 1);
  EXPECT_EQ(w.capacity(), 0u);
}

}  // namespace
}  // namespace fleetpdp::engine
