// Request files: both formats, weights, expectations, and every error naming file and line.
#include "benchmarks/load/request_file.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::load {
namespace {

using ::fleetpdp::testing::IsOk;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

namespace v1 = ::fleetpdp::v1;

TEST(RequestFileTest, JsonLinesGiveOneRequestPerLineSkippingCommentsAndBlanks) {
  absl::StatusOr<std::vector<WeightedRequest>> r = ParseRequests("r.jsonl", R"(# a comment

{"principal": "cam-1", "action": "mqtt:publish", "resource": "devices/cam-1/telemetry/t", "weight": 70, "expect": "allow", "context": {"source_ip": "10.0.0.1"}}
{"principal": {"id": "svc", "type": "service", "groups": ["ops"], "attributes": {"team": ["sre", "oncall"]}}, "action": "mqtt:subscribe", "resource": "a/#", "expect": "deny"}
)");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->size(), 2u);
  const WeightedRequest& a = (*r)[0];
  EXPECT_EQ(a.request.principal().id(), "cam-1");
  EXPECT_EQ(a.weight, 70u);
  EXPECT_EQ(a.expect, v1::DECISION_ALLOW);
  EXPECT_EQ(a.request.context().at("source_ip").values(0), "10.0.0.1");
  const WeightedRequest& b = (*r)[1];
  EXPECT_EQ(b.weight, 1u);
  EXPECT_EQ(b.expect, v1::DECISION_DENY);
  EXPECT_EQ(b.request.principal().type(), "service");
  EXPECT_EQ(b.request.principal().groups(0), "ops");
  EXPECT_EQ(b.request.principal().attributes().at("team").values_size(), 2);
}

TEST(RequestFileTest, YamlTakesAListUnderRequests) {
  absl::StatusOr<std::vector<WeightedRequest>> r = ParseRequests("r.yaml", R"(requests:
  - {principal: cam-1, action: mqtt:publish, resource: x/y}
  - principal: cam-2
    action: mqtt:receive
    resource: x/z
    weight: 3
)");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].weight, 3u);
  EXPECT_FALSE((*r)[0].expect.has_value());
}

TEST(RequestFileTest, AnUnknownKeyNamesFileAndLine) {
  EXPECT_THAT(
      ParseRequests(
          "r.jsonl",
          "\n{\"principal\": \"a\", \"action\": \"x\", \"resource\": \"r\", \"wieght\": 2}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("r.jsonl:2: unknown key \"wieght\"")));
}

TEST(RequestFileTest, AMissingRequiredFieldIsNamed) {
  EXPECT_THAT(ParseRequests("r.jsonl", R"({"principal": "a", "action": "x"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"resource\" is required")));
  EXPECT_THAT(ParseRequests("r.yaml", "- {action: x, resource: r}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("r.yaml:1: \"principal\" is required")));
}

TEST(RequestFileTest, BadWeightAndExpectAreRefused) {
  EXPECT_THAT(ParseRequests("r.jsonl",
                            R"({"principal": "a", "action": "x", "resource": "r", "weight": 0})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"weight\": \"0\" is not a positive integer")));
  EXPECT_THAT(
      ParseRequests("r.jsonl",
                    R"({"principal": "a", "action": "x", "resource": "r", "expect": "yes"})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("\"expect\": \"yes\" is not allow or deny")));
}

TEST(RequestFileTest, MalformedJsonNamesTheLine) {
  EXPECT_THAT(ParseRequests("r.jsonl", "{\"principal\": \"a\"}\n{\"principal\": \n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("r.jsonl:")));
}

TEST(RequestFileTest, AnEmptyFileAndAnUnknownExtensionAreRefused) {
  EXPECT_THAT(ParseRequests("r.jsonl", "# nothing\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds no requests")));
  EXPECT_THAT(ParseRequests("r.txt", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown format")));
}

TEST(RequestFileTest, AMissingFileIsNotFound) {
  EXPECT_THAT(ReadRequestFile("/nonexistent/requests.jsonl"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/requests.jsonl")));
}

TEST(RequestFileTest, TheShippedExampleFleetMixParses) {
  absl::StatusOr<std::vector<WeightedRequest>> r =
      ReadRequestFile(FLEETPDP_SOURCE_DIR "/benchmarks/requests/example-fleet.jsonl");
  ASSERT_THAT(r, IsOk());
  for (const WeightedRequest& w : *r) EXPECT_TRUE(w.expect.has_value()) << w.name;
}

TEST(MixOrderTest, WeightsGiveExactProportionsOverWholeRounds) {
  std::vector<WeightedRequest> requests(3);
  requests[0].weight = 7;
  requests[1].weight = 2;
  requests[2].weight = 1;
  std::vector<uint32_t> order = MixOrder(requests, 1000, 1);
  ASSERT_EQ(order.size(), 1000u);
  std::map<uint32_t, int> counts;
  for (uint32_t i : order) counts[i]++;
  EXPECT_EQ(counts[0], 700);
  EXPECT_EQ(counts[1], 200);
  EXPECT_EQ(counts[2], 100);
}

TEST(MixOrderTest, TheOrderIsShuffledAndDependsOnlyOnTheSeed) {
  std::vector<WeightedRequest> requests(2);
  requests[0].weight = 1;
  requests[1].weight = 1;
  std::vector<uint32_t> a = MixOrder(requests, 100, 5);
  EXPECT_EQ(a, MixOrder(requests, 100, 5));
  EXPECT_NE(a, MixOrder(requests, 100, 6));
  // Not two blocks: somewhere a 1 comes before a 0.
  bool interleaved = false;
  for (size_t i = 1; i < a.size(); ++i) interleaved |= a[i - 1] == 1 && a[i] == 0;
  EXPECT_TRUE(interleaved);
}

}  // namespace
}  // namespace fleetpdp::load
