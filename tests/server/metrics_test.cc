#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using Labels = std::map<std::string, std::string>;

// One sample line of the text exposition format.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Parses the sample lines of `text` (comments skipped); enough of the format for these tests.
std::vector<Sample> ParseExposition(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample sample;
    size_t i = line.find_first_of("{ ");
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        const size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; line[i] != '"'; ++i) {
          if (line[i] == '\\') ++i;
          value += line[i];
        }
        sample.labels[key] = value;
        ++i;  // closing quote
        if (line[i] == ',') ++i;
      }
      ++i;  // closing brace
    }
    sample.value = std::stod(line.substr(i + 1));
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<Sample> SamplesNamed(const std::string& text, const std::string& name) {
  std::vector<Sample> named;
  for (Sample& s : ParseExposition(text)) {
    if (s.name == name) named.push_back(std::move(s));
  }
  return named;
}

// The value of the one sample with this name and exactly these labels.
std::optional<double> ValueOf(const std::string& text, const std::string& name,
                              const Labels& labels) {
  for (const Sample& s : ParseExposition(text)) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::unique_ptr<Metrics> NewMetrics() {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  EXPECT_OK(metrics.status());
  return *std::move(metrics);
}

TEST(MetricsTest, MethodNamesAreTheGrpcMethodNames) {
  EXPECT_EQ(MethodName(Method::kCheck), "Check");
  EXPECT_EQ(MethodName(Method::kBatchCheck), "BatchCheck");
  EXPECT_EQ(MethodName(Method::kCheckStream), "CheckStream");
  EXPECT_EQ(MethodName(Method::kEmqxHttp), "EmqxHttp");
}

TEST(MetricsTest, ObserveCheckCountsEachMethodInItsOwnHistogram) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  for (int i = 0; i < 3; ++i) {
    metrics->ObserveCheck(Method::kCheck, "mqtt:publish", true, absl::Microseconds(3));
  }
  metrics->ObserveCheck(Method::kBatchCheck, "mqtt:subscribe", false, absl::Milliseconds(2));

  const std::string text = metrics->Scrape();
  const std::string count = "fleetpdp_check_duration_seconds_count";
  EXPECT_EQ(ValueOf(text, count, {{"method", "Check"}}), 3);
  EXPECT_EQ(ValueOf(text, count, {{"method", "BatchCheck"}}), 1);
  EXPECT_EQ(ValueOf(text, count, {{"method", "CheckStream"}}), 0);
  EXPECT_DOUBLE_EQ(*ValueOf(text, "fleetpdp_check_duration_seconds_sum", {{"method", "Check"}}),
                   9e-6);
  // 3 µs falls in the 5 µs bucket, not the 2.5 µs one: the buckets resolve microseconds.
  int check_buckets = 0;
  for (const Sample& s : SamplesNamed(text, "fleetpdp_check_duration_seconds_bucket")) {
    if (s.labels.at("method") != "Check") continue;
    ++check_buckets;
    const double le = s.labels.at("le") == "+Inf" ? 1e300 : std::stod(s.labels.at("le"));
    EXPECT_EQ(s.value, le < 3e-6 ? 0 : 3) << "le=" << s.labels.at("le");
  }
  EXPECT_EQ(check_buckets, 17);  // 16 bounds and +Inf
}

TEST(MetricsTest, DecisionsAreCountedByActionAndOutcome) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  metrics->ObserveCheck(Method::kCheck, "mqtt:publish", true, absl::Microseconds(1));
  metrics->ObserveCheck(Method::kCheck, "mqtt:publish", true, absl::Microseconds(1));
  metrics->ObserveCheck(Method::kCheckStream, "mqtt:publish", false, absl::Microseconds(1));
  metrics->ObserveCheck(Method::kCheck, "ota:download", false, absl::Microseconds(1));

  const std::string text = metrics->Scrape();
  const std::string name = "fleetpdp_decisions_total";
  EXPECT_EQ(ValueOf(text, name, {{"action", "mqtt:publish"}, {"outcome", "allow"}}), 2);
  EXPECT_EQ(ValueOf(text, name, {{"action", "mqtt:publish"}, {"outcome", "deny"}}), 1);
  EXPECT_EQ(ValueOf(text, name, {{"action", "ota:download"}, {"outcome", "deny"}}), 1);
  EXPECT_EQ(ValueOf(text, name, {{"action", "ota:download"}, {"outcome", "allow"}}), 0);
  // Pre-created, so a dashboard sees zeros rather than absent series.
  EXPECT_EQ(ValueOf(text, name, {{"action", "mqtt:connect"}, {"outcome", "deny"}}), 0);
  EXPECT_EQ(ValueOf(text, name, {{"action", "mqtt:retain"}, {"outcome", "allow"}}), 0);
}

TEST(MetricsTest, ActionsBeyondTheFirst64AreCountedAsOther) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  for (int i = 0; i < 70; ++i) {
    metrics->ObserveCheck(Method::kCheck, "app:" + std::to_string(i), true, absl::Microseconds(1));
  }
  // Known actions keep their label after the limit; MQTT actions never count against it.
  metrics->ObserveCheck(Method::kCheck, "app:5", true, absl::Microseconds(1));
  metrics->ObserveCheck(Method::kCheck, "mqtt:receive", true, absl::Microseconds(1));
  metrics->ObserveCheck(Method::kCheck, "app:99", false, absl::Microseconds(1));

  const std::string text = metrics->Scrape();
  std::set<std::string> actions;
  for (const Sample& s : SamplesNamed(text, "fleetpdp_decisions_total")) {
    actions.insert(s.labels.at("action"));
  }
  EXPECT_THAT(actions, SizeIs(64 + 5 + 1));  // app actions, mqtt actions, "other"
  EXPECT_TRUE(actions.contains("app:63"));
  EXPECT_FALSE(actions.contains("app:64"));
  const std::string name = "fleetpdp_decisions_total";
  EXPECT_EQ(ValueOf(text, name, {{"action", "other"}, {"outcome", "allow"}}), 6);
  EXPECT_EQ(ValueOf(text, name, {{"action", "other"}, {"outcome", "deny"}}), 1);
  EXPECT_EQ(ValueOf(text, name, {{"action", "app:5"}, {"outcome", "allow"}}), 2);
  EXPECT_EQ(ValueOf(text, name, {{"action", "mqtt:receive"}, {"outcome", "allow"}}), 1);
}

TEST(MetricsTest, ConcurrentNewActionsStayWithinTheLimitAndLoseNoCounts) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Threads race on the same 100 new actions.
        metrics->ObserveCheck(Method::kCheckStream, "app:" + std::to_string((i + t) % 100), true,
                              absl::Microseconds(1));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const std::string text = metrics->Scrape();
  double total = 0;
  std::set<std::string> actions;
  for (const Sample& s : SamplesNamed(text, "fleetpdp_decisions_total")) {
    total += s.value;
    actions.insert(s.labels.at("action"));
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_THAT(actions, SizeIs(64 + 5 + 1));
  EXPECT_EQ(ValueOf(text, "fleetpdp_check_duration_seconds_count", {{"method", "CheckStream"}}),
            kThreads * kPerThread);
}

TEST(MetricsTest, SetBundleTwiceLeavesExactlyOneInfoSeriesWithTheNewLabels) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  metrics->SetBundle("fleet-7", 41, "sha256:aaa", "ops-2024", absl::FromUnixSeconds(1700000000));
  metrics->SetBundle("fleet-7", 42, "sha256:bbb", "ops-2025", absl::FromUnixSeconds(1700000100));

  const std::string text = metrics->Scrape();
  std::vector<Sample> info = SamplesNamed(text, "fleetpdp_bundle_info");
  ASSERT_THAT(info, SizeIs(1));
  EXPECT_THAT(info[0].labels, ElementsAre(Pair("digest", "sha256:bbb"), Pair("key_id", "ops-2025"),
                                          Pair("name", "fleet-7"), Pair("revision", "42")));
  EXPECT_EQ(info[0].value, 1);
  EXPECT_EQ(ValueOf(text, "fleetpdp_bundle_last_success_timestamp_seconds", {}), 1700000100);
}

TEST(MetricsTest, SetBundleWithUnchangedLabelsKeepsTheSeries) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  metrics->SetBundle("fleet-7", 42, "sha256:bbb", "ops", absl::FromUnixSeconds(1));
  metrics->SetBundle("fleet-7", 42, "sha256:bbb", "ops", absl::FromUnixSeconds(2));

  const std::string text = metrics->Scrape();
  std::vector<Sample> info = SamplesNamed(text, "fleetpdp_bundle_info");
  ASSERT_THAT(info, SizeIs(1));
  EXPECT_EQ(info[0].value, 1);
  EXPECT_EQ(ValueOf(text, "fleetpdp_bundle_last_success_timestamp_seconds", {}), 2);
}

TEST(MetricsTest, NoBundleInfoSeriesBeforeTheFirstLoad) {
  EXPECT_THAT(SamplesNamed(NewMetrics()->Scrape(), "fleetpdp_bundle_info"), IsEmpty());
}

TEST(MetricsTest, CountersForInvalidRequestsLoadsAndLogDropsAreExposed) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  metrics->CountInvalidRequest(Method::kBatchCheck);
  metrics->CountInvalidRequest(Method::kBatchCheck);
  metrics->CountBundleLoad("success");
  metrics->CountBundleLoad("signature_invalid");
  metrics->CountBundleLoad("success");
  metrics->CountDecisionLogDrop();

  const std::string text = metrics->Scrape();
  EXPECT_EQ(ValueOf(text, "fleetpdp_invalid_requests_total", {{"method", "BatchCheck"}}), 2);
  EXPECT_EQ(ValueOf(text, "fleetpdp_invalid_requests_total", {{"method", "Check"}}), 0);
  EXPECT_EQ(ValueOf(text, "fleetpdp_bundle_loads_total", {{"result", "success"}}), 2);
  EXPECT_EQ(ValueOf(text, "fleetpdp_bundle_loads_total", {{"result", "signature_invalid"}}), 1);
  EXPECT_EQ(ValueOf(text, "fleetpdp_decision_log_dropped_total", {}), 1);
}

TEST(MetricsTest, EveryFamilyHasHelpText) {
  std::unique_ptr<Metrics> metrics = NewMetrics();
  // A family without series is not exposed at all; give the lazily created ones a series.
  metrics->CountBundleLoad("success");
  metrics->SetBundle("fleet-7", 1, "sha256:abc", "ops", absl::FromUnixSeconds(1));
  const std::string text = metrics->Scrape();
  for (const std::string family :
       {"fleetpdp_check_duration_seconds", "fleetpdp_decisions_total",
        "fleetpdp_invalid_requests_total", "fleetpdp_bundle_loads_total", "fleetpdp_bundle_info",
        "fleetpdp_bundle_last_success_timestamp_seconds", "fleetpdp_decision_log_dropped_total"}) {
    EXPECT_NE(text.find("# HELP " + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find("# TYPE " + family + " "), std::string::npos) << family;
  }
}

TEST(MetricsTest, SuccessfulBundleLoadsAreExposedAsZeroBeforeTheFirstLoad) {
  EXPECT_EQ(ValueOf(NewMetrics()->Scrape(), "fleetpdp_bundle_loads_total", {{"result", "success"}}),
            0);
}

TEST(MetricsTest, NotServingWithoutAListenAddress) { EXPECT_EQ(NewMetrics()->port(), 0); }

// A listening socket on 127.0.0.1 with a kernel-chosen port; closed on destruction.
class ListeningSocket {
 public:
  ListeningSocket() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 1) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~ListeningSocket() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST(MetricsTest, CreateOnABusyPortReturnsUnavailable) {
  ListeningSocket busy;
  const std::string listen = "127.0.0.1:" + std::to_string(busy.port());
  EXPECT_THAT(Metrics::Create({.listen = listen}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("metrics endpoint " + listen)));
}

// GET `path` over HTTP/1.0 from 127.0.0.1:port; the whole response, headers included.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

TEST(MetricsTest, TheExposerServesTheSeriesOverHttp) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({.listen = "127.0.0.1:0"});
  ASSERT_OK(metrics.status());
  ASSERT_GT((*metrics)->port(), 0);
  (*metrics)->ObserveCheck(Method::kCheck, "mqtt:connect", true, absl::Microseconds(7));
  (*metrics)->SetBundle("fleet", 3, "sha256:ccc", "k1", absl::FromUnixSeconds(5));

  const std::string response = HttpGet((*metrics)->port(), "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response,
              HasSubstr("fleetpdp_decisions_total{action=\"mqtt:connect\",outcome=\"allow\"} 1"));
  EXPECT_THAT(response, HasSubstr("fleetpdp_bundle_info{"));
  EXPECT_THAT(response, HasSubstr("fleetpdp_check_duration_seconds_count{method=\"Check\"} 1"));
}

TEST(MetricsTest, ScrapePassesPromtoolCheckMetrics) {
  constexpr char kPromtool[] = "/usr/bin/promtool";
  if (access(kPromtool, X_OK) != 0) {
    FAIL() << kPromtool << " not installed: tools/setup.sh installs it (Debian package prometheus)";
  }
  std::unique_ptr<Metrics> metrics = NewMetrics();
  metrics->ObserveCheck(Method::kCheck, "mqtt:publish", true, absl::Microseconds(3));
  metrics->ObserveCheck(Method::kCheck, "ota:download", false, absl::Microseconds(30));
  metrics->CountInvalidRequest(Method::kCheck);
  metrics->CountBundleLoad("success");
  metrics->SetBundle("fleet-7", 42, "sha256:abc", "ops", absl::FromUnixSeconds(1700000000));
  metrics->CountDecisionLogDrop();

  const std::string dir = ::testing::TempDir();
  const std::string input = dir + "/metrics_test_scrape.txt";
  const std::string output = dir + "/metrics_test_promtool.txt";
  std::ofstream(input) << metrics->Scrape();
  const std::string command =
      std::string(kPromtool) + " check metrics < " + input + " > " + output + " 2>&1";
  const int status = std::system(command.c_str());
  std::stringstream lint;
  lint << std::ifstream(output).rdbuf();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << lint.str();
  EXPECT_THAT(lint.str(), IsEmpty());
}

}  // namespace
}  // namespace fleetpdp::server
