// Overload limits (server/limits.h): the counter, byte sizes, and the limits as a real server
// applies them. The load behaviour itself is tests/server/overload_test.sh.
#include "server/limits.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/grpc_server.h"
#include "server/metrics.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

namespace v1 = ::fleetpdp::v1;
using ::fleetpdp::server::testing::MakeCheck;
using ::fleetpdp::server::testing::TestBundle;
using ::fleetpdp::server::testing::TestServer;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ConcurrencyLimitTest, RefusesAboveTheLimitUntilAUnitIsReleased) {
  ConcurrencyLimit limit(2);
  EXPECT_TRUE(limit.TryAcquire());
  EXPECT_TRUE(limit.TryAcquire());
  EXPECT_FALSE(limit.TryAcquire());
  EXPECT_EQ(limit.in_use(), 2u);  // a refusal takes nothing
  limit.Release();
  EXPECT_TRUE(limit.TryAcquire());
  EXPECT_FALSE(limit.TryAcquire());
}

TEST(ConcurrencyLimitTest, ZeroMeansNoLimit) {
  ConcurrencyLimit limit(0);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limit.TryAcquire());
  EXPECT_EQ(limit.in_use(), 10000u);
}

TEST(ConcurrencyLimitTest, ConcurrentAcquirersNeverHoldMoreThanTheLimit) {
  ConcurrencyLimit limit(3);
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!limit.TryAcquire()) continue;
        const int now = held.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(1);
        limit.Release();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(limit.in_use(), 0u);
}

TEST(ParseByteSizeTest, AcceptsPlainBytesAndBinaryUnits) {
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("512KiB"), 512u << 10);
  EXPECT_EQ(*ParseByteSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("64mb"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("2G"), size_t{2} << 30);
}

TEST(ParseByteSizeTest, RejectsOtherTextNamingIt) {
  for (const char* bad : {"", "MiB", "12x", "1.5GiB", "-1", "64 MiB", "1TiB"}) {
    EXPECT_THAT(ParseByteSize(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", bad, "\" is not a byte size"))))
        << bad;
  }
  EXPECT_THAT(ParseByteSize("99999999999999GiB"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
}

// A metric line's value, or -1 when the series is missing.
double SeriesValue(const std::string& scrape, const std::string& series) {
  const size_t at = scrape.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(scrape.substr(at + series.size() + 2));
}

// Opens a CheckStream and waits for the answer to one request: the server holds the stream.
struct OpenStream {
  explicit OpenStream(v1::DecisionService::Stub& stub) : stream(stub.CheckStream(&context)) {}
  bool Answered() {
    v1::CheckStreamRequest request;
    request.set_request_id(1);
    *request.mutable_check() = MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry");
    v1::CheckStreamResponse answer;
    return stream->Write(request) && stream->Read(&answer) && answer.error().empty();
  }
  grpc::Status Close() {
    stream->WritesDone();
    v1::CheckStreamResponse ignored;
    while (stream->Read(&ignored)) {
    }
    return stream->Finish();
  }
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::CheckStreamRequest, v1::CheckStreamResponse>> stream;
};

TEST(OverloadLimitsTest, StreamOverTheOpenStreamsLimitIsRefusedWithResourceExhausted) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  GrpcServerOptions options;
  options.limits.max_open_streams = 2;
  TestServer t(options, metrics->get());
  t.Install(TestBundle(1));
  OpenStream first(t.stub()), second(t.stub());
  ASSERT_TRUE(first.Answered());
  ASSERT_TRUE(second.Answered());
  EXPECT_EQ(SeriesValue((*metrics)->Scrape(), "fleetpdp_open_streams"), 2);

  OpenStream third(t.stub());
  EXPECT_FALSE(third.Answered());
  grpc::Status refused = third.Close();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("server overloaded: 2 streams already open (--max-open-streams)"));
  EXPECT_EQ(SeriesValue((*metrics)->Scrape(),
                        "fleetpdp_rejected_requests_total{method="
                        "\"CheckStream\",reason=\"open_streams_limit\"}"),
            1);

  // Unary calls are limited apart: they are still served.
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  EXPECT_TRUE(t.stub().Check(&ctx, MakeCheck("d", "mqtt:publish", "devices/d/telemetry"), &r).ok());

  // A stream that ends gives its place back.
  EXPECT_TRUE(first.Close().ok());
  bool fourth_answered = false;
  for (int attempt = 0; attempt < 50 && !fourth_answered; ++attempt) {
    OpenStream fourth(t.stub());  // the first one's OnDone may lag its Finish by a moment
    fourth_answered = fourth.Answered();
    (void)fourth.Close();
    if (!fourth_answered) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(fourth_answered);
  EXPECT_TRUE(second.Close().ok());
}

TEST(OverloadLimitsTest, InFlightCountReturnsToZeroOnceCallsHaveEnded) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  GrpcServerOptions options;
  options.limits.max_in_flight_calls = 1000;
  TestServer t(options, metrics->get());
  t.Install(TestBundle(1));
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        grpc::ClientContext ctx;
        v1::CheckResponse r;
        EXPECT_TRUE(
            t.stub().Check(&ctx, MakeCheck("d", "mqtt:publish", "devices/d/telemetry"), &r).ok());
        grpc::ClientContext batch_ctx;
        v1::BatchCheckRequest batch;
        *batch.add_checks() = MakeCheck("d", "mqtt:publish", "devices/d/telemetry");
        v1::BatchCheckResponse batch_r;
        EXPECT_TRUE(t.stub().BatchCheck(&batch_ctx, batch, &batch_r).ok());
      }
    });
  }
  for (std::thread& c : callers) c.join();
  // Each call gives its unit back in OnDone, which may run just after the client has its answer.
  double in_flight = -1;
  for (int i = 0; i < 100 && in_flight != 0; ++i) {
    in_flight = SeriesValue((*metrics)->Scrape(), "fleetpdp_in_flight_calls");
    if (in_flight != 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(in_flight, 0);
  EXPECT_EQ(SeriesValue((*metrics)->Scrape(),
                        "fleetpdp_rejected_requests_total{method=\"Check\","
                        "reason=\"in_flight_limit\"}"),
            0);
}

TEST(OverloadLimitsTest, GaugesAreZeroOnceTheServiceIsGone) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok());
  {
    TestServer t(GrpcServerOptions{}, metrics->get());
    t.Install(TestBundle(1));
    OpenStream open(t.stub());
    ASSERT_TRUE(open.Answered());
    EXPECT_EQ(SeriesValue((*metrics)->Scrape(), "fleetpdp_open_streams"), 1);
    EXPECT_TRUE(open.Close().ok());
  }
  // The service unregistered its counters: a scrape reads nothing freed.
  EXPECT_EQ(SeriesValue((*metrics)->Scrape(), "fleetpdp_open_streams"), 0);
  EXPECT_EQ(SeriesValue((*metrics)->Scrape(), "fleetpdp_in_flight_calls"), 0);
}

}  // namespace
}  // namespace fleetpdp::server
