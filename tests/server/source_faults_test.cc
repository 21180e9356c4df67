// Faults of the bundle source and of the decision log's disk, against a real gRPC server on
// loopback: a fault-injecting HTTP server (fault_http_server.h) serves a good bundle, then HTTP
// 500s, stalls, trickles, truncated bodies, garbage and resets; the decision log is written to
// /dev/full (every write fails with ENOSPC). Through each fault the server keeps deciding on its
// last good bundle, says what is wrong, and recovers when the source is good again.
//
// Each fault test prints one line "FAULT-FIGURES …" with what it measured (the table in
// docs/reliability-authz-faults.md comes from those lines).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/bundle_source.h"
#include "server/decision_log.h"
#include "server/fault_http_server.h"
#include "server/http_fetch.h"
#include "server/metrics.h"
#include "server/reloader.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using ::testing::AllOf;
using testing::FaultHttpServer;
using ::testing::HasSubstr;
using testing::MakeCheck;
using testing::TestBundleFiles;
using testing::TestServer;
namespace v1 = ::fleetpdp::v1;

constexpr absl::Duration kFetchTimeout = absl::Seconds(1);

std::string Archive(uint64_t revision) {
  absl::StatusOr<std::string> archive = bundles::WriteBundleArchive(TestBundleFiles(revision));
  EXPECT_TRUE(archive.ok()) << archive.status();
  return archive.ok() ? *archive : "";
}

std::string DigestOf(uint64_t revision) { return bundles::BundleDigest(TestBundleFiles(revision)); }

// The value of one sample in the exposition text (a line starting with `sample`), or -1.
double Sample(const std::string& text, const std::string& sample) {
  const std::string line_start = absl::StrCat("\n", sample, " ");
  const size_t at = text.find(line_start);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line_start.size()));
}

// A gRPC server whose bundle comes from `url` through a Reloader (unsigned bundles: the faults
// under test are the source's, not the signature's).
class Replica {
 public:
  explicit Replica(const std::string& url) : metrics_(*Metrics::Create({})), server_({}, nullptr) {
    HttpSourceOptions http;
    http.timeout = kFetchTimeout;
    absl::StatusOr<std::unique_ptr<BundleSource>> source = MakeBundleSource(url, {}, http);
    EXPECT_TRUE(source.ok()) << source.status();
    ReloaderOptions options;
    options.allow_unsigned = true;
    reloader_ = std::make_unique<Reloader>(*std::move(source), nullptr, options, server_.holder(),
                                           metrics_.get());
  }

  Reloader& reloader() { return *reloader_; }
  Metrics& metrics() { return *metrics_; }

  // A Check over gRPC: the digest that answered, or the error.
  absl::StatusOr<std::string> CheckDigest() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CheckResponse response;
    grpc::Status s = server_.stub().Check(
        &ctx, MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/t"), &response);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    return response.bundle_digest();
  }

  v1::BundleInfo Info() {
    grpc::ClientContext ctx;
    v1::BundleInfo info;
    EXPECT_TRUE(server_.stub().GetBundleInfo(&ctx, v1::GetBundleInfoRequest(), &info).ok());
    return info;
  }

 private:
  std::unique_ptr<Metrics> metrics_;
  TestServer server_;
  std::unique_ptr<Reloader> reloader_;  // stopped before the server goes
};

struct FaultCase {
  const char* name;
  FaultHttpServer::Mode mode;
  const char* reason;   // the result label of fleetpdp_bundle_loads_total
  const char* message;  // what GetBundleInfo.last_load_error says about it
};

class SourceFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(SourceFaultTest, TheServerKeepsDecidingOnItsLastGoodBundleThroughTheFaultAndRecovers) {
  const FaultCase& fault = GetParam();
  FaultHttpServer http;
  http.SetBody(Archive(1), "\"rev-1\"");
  Replica replica(http.url());
  ASSERT_TRUE(replica.reloader().ReloadNow().ok());
  ASSERT_EQ(replica.CheckDigest().value_or(""), DigestOf(1));

  // Revision 2 is published, but the source now fails.
  http.SetBody(Archive(2), "\"rev-2\"");
  http.SetMode(fault.mode);
  const absl::Time start = absl::Now();
  const absl::Status failed = replica.reloader().ReloadNow();
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(LoadFailureReason(failed), fault.reason) << failed;
  // Not held by the source: a stalled or trickling server is left behind at the timeout, long
  // before it would have finished (60 s for a stall, 3+ minutes for a trickled archive).
  EXPECT_LT(took, absl::Seconds(30));

  // Still deciding on revision 1, and saying why revision 2 is not there.
  EXPECT_EQ(replica.CheckDigest().value_or(""), DigestOf(1));
  const v1::BundleInfo info = replica.Info();
  EXPECT_EQ(info.digest(), DigestOf(1));
  EXPECT_THAT(info.last_load_error(), AllOf(HasSubstr(http.url()), HasSubstr(fault.message)));
  const std::string text = replica.metrics().Scrape();
  EXPECT_EQ(
      Sample(text, absl::StrCat("fleetpdp_bundle_loads_total{result=\"", fault.reason, "\"}")), 1);

  // The source is good again: revision 2 arrives and the error is cleared.
  http.SetMode(FaultHttpServer::Mode::kGood);
  ASSERT_TRUE(replica.reloader().ReloadNow().ok());
  EXPECT_EQ(replica.CheckDigest().value_or(""), DigestOf(2));
  EXPECT_EQ(replica.Info().last_load_error(), "");
  std::cout << "FAULT-FIGURES " << fault.name << " | reload attempt returned after "
            << absl::FormatDuration(absl::Trunc(took, absl::Microseconds(100))) << " | result=\""
            << fault.reason << "\" | last_load_error: " << info.last_load_error() << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    EachFault, SourceFaultTest,
    ::testing::Values(
        FaultCase{"Http500", FaultHttpServer::Mode::kHttp500, "fetch_http_error",
                  "HTTP 500 Internal Server Error"},
        FaultCase{"Stall", FaultHttpServer::Mode::kStall, "fetch_timeout", "timeout"},
        FaultCase{"Trickle", FaultHttpServer::Mode::kTrickle, "fetch_timeout", "timeout"},
        FaultCase{"Truncated", FaultHttpServer::Mode::kTruncated, "fetch_truncated",
                  "connection closed before the whole body arrived (truncated)"},
        FaultCase{"Garbage", FaultHttpServer::Mode::kGarbage, "malformed", "bundle from"},
        FaultCase{"Reset", FaultHttpServer::Mode::kReset, "fetch_failed", "GET "}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

// The polling thread (as `serve` runs it) is not held by a stalled source either: once the source
// is good again the next poll installs the new bundle, and checks went on all along.
TEST(SourceFaultTest, APollingReloaderRidesOutAStallAndPicksUpTheNextGoodBundle) {
  FaultHttpServer http;
  http.SetBody(Archive(1), "\"rev-1\"");
  Replica replica(http.url());
  ASSERT_TRUE(replica.reloader().ReloadNow().ok());
  http.SetBody(Archive(2), "\"rev-2\"");
  http.SetMode(FaultHttpServer::Mode::kStall);
  replica.reloader().Start(absl::Milliseconds(200));
  // Let at least two polls run into the stall, deciding meanwhile.
  int answered = 0;
  while (http.requests() < 3) {
    ASSERT_EQ(replica.CheckDigest().value_or(""), DigestOf(1));
    ++answered;
    absl::SleepFor(absl::Milliseconds(50));
  }
  http.SetMode(FaultHttpServer::Mode::kGood);
  bool recovered = false;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); !recovered && absl::Now() < give_up;) {
    recovered = replica.CheckDigest().value_or("") == DigestOf(2);
    if (!recovered) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(recovered) << "revision 2 was not installed within 20 s of the source recovering";
  EXPECT_GE(
      Sample(replica.metrics().Scrape(), R"(fleetpdp_bundle_loads_total{result="fetch_timeout"})"),
      2);
  replica.reloader().Stop();
  std::cout << "FAULT-FIGURES PollingStall | " << answered << " checks answered on rev 1 during "
            << http.requests() - 1 << " stalled polls, then rev 2 installed\n";
}

// ---- the decision log on a full disk ----

TEST(DecisionLogFaultTest, OnAFullDiskDecisionsGoOnAndWriteErrorsAreCountedAndLoggedAtARateLimit) {
  std::unique_ptr<Metrics> metrics = *Metrics::Create({});
  testing::LogLines errors;
  DecisionLogOptions options;
  options.path = "/dev/full";
  options.on_error = errors.Sink();
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Create(options, metrics.get());
  ASSERT_TRUE(log.ok()) << log.status();
  TestServer server({}, metrics.get(), log->get());
  server.Install(testing::TestBundle(1));

  constexpr int kChecks = 300;
  for (int i = 0; i < kChecks; ++i) {
    grpc::ClientContext ctx;
    v1::CheckResponse response;
    ASSERT_TRUE(server.stub()
                    .Check(&ctx,
                           MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/t"),
                           &response)
                    .ok());
    ASSERT_EQ(response.decision(), v1::DECISION_ALLOW);
    // Spread over many writer batches, so that there are many failed writes.
    if (i % 10 == 0) (*log)->Flush();
  }
  (*log)->Flush();

  EXPECT_EQ((*log)->written(), 0u);
  EXPECT_EQ((*log)->dropped(), static_cast<uint64_t>(kChecks));
  EXPECT_THAT((*log)->last_error(), HasSubstr("No space left on device"));
  const std::string text = metrics->Scrape();
  const double write_errors = Sample(text, "fleetpdp_decision_log_write_errors_total");
  EXPECT_GE(write_errors, 10);
  EXPECT_EQ(Sample(text, "fleetpdp_decision_log_dropped_total"), kChecks);
  // Logged, but not per failed write.
  const std::vector<std::string> lines = errors.lines();
  ASSERT_GE(lines.size(), 1u);
  EXPECT_LE(lines.size(), 5u);
  EXPECT_THAT(lines[0], AllOf(HasSubstr("decision log"), HasSubstr("\"/dev/full\""),
                              HasSubstr("No space left on device")));
  std::cout << "FAULT-FIGURES DevFull | " << kChecks << " checks answered ALLOW, "
            << (*log)->dropped() << " records lost, " << write_errors << " failed writes counted, "
            << lines.size() << " log lines: " << lines[0] << "\n";
}

}  // namespace
}  // namespace fleetpdp::server
