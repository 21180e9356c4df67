#include "server/decision_log.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/metrics.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Le;
using ::testing::SizeIs;
using Json = nlohmann::json;

// A fresh path under the test's temporary directory; removed on destruction.
class TempLogPath {
 public:
  TempLogPath() {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "/decision_log_test_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + ".jsonl";
    unlink(path_.c_str());
  }
  ~TempLogPath() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<Json> ReadJsonLines(const std::string& path) {
  std::vector<Json> records;
  for (const std::string& line : ReadLines(path)) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    records.push_back(std::move(parsed));
  }
  return records;
}

DecisionRecord SampleRecord(bool allowed = true) {
  DecisionRecord record;
  record.time = absl::FromUnixMicros(1714566896789012);  // 2024-05-01T12:34:56.789012Z
  record.decision_id = "d-1";
  record.method = "Check";
  record.request.principal = {
      .id = "cam-0042",
      .type = "device",
      .groups = {"cameras", "site-7"},
      .attributes = {{.key = "serial", .values = {"SN-1"}},
                     {.key = "zones", .values = {"a", "b"}, .is_list = true}}};
  record.request.action = "mqtt:publish";
  record.request.resource = "devices/cam-0042/telemetry";
  record.request.context = {{.key = "source_ip", .values = {"10.0.0.7"}},
                            {.key = "tls_version", .values = {"1.3"}}};
  record.allowed = allowed;
  record.reason = allowed ? engine::Reason::kAllowed : engine::Reason::kExplicitDeny;
  record.statements = {"device-baseline/own-telemetry"};
  record.bundle_revision = 42;
  record.bundle_digest = "sha256:abc";
  record.latency = absl::Nanoseconds(3500);
  return record;
}

// Options logging to `path`, then changed by `adjust`.
DecisionLogOptions LogTo(
    std::string path,
    const std::function<void(DecisionLogOptions&)>& adjust = [](DecisionLogOptions&) {}) {
  DecisionLogOptions options;
  options.path = std::move(path);
  adjust(options);
  return options;
}

std::unique_ptr<DecisionLog> NewLog(const DecisionLogOptions& options, Metrics* metrics = nullptr) {
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Create(options, metrics);
  EXPECT_OK(log.status());
  return log.ok() ? *std::move(log) : nullptr;
}

TEST(DecisionIdTest, IsTheProcessPrefixAndACounterInHexAndOverwritesItsTarget) {
  std::string a = "left over from an earlier answer, longer than an id";
  SetDecisionId(a);
  std::string b;
  SetDecisionId(b);
  const std::string c = NextDecisionId();
  for (const std::string& id : {a, b, c}) {
    EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{16}-[0-9a-f]+")) << id;
  }
  EXPECT_EQ(a.substr(0, 17), b.substr(0, 17));  // one prefix per process
  EXPECT_EQ(b.substr(0, 17), c.substr(0, 17));
  // Consecutive on this thread, no other thread taking ids meanwhile.
  const uint64_t na = std::stoull(a.substr(17), nullptr, 16);
  EXPECT_EQ(std::stoull(b.substr(17), nullptr, 16), na + 1);
  EXPECT_EQ(std::stoull(c.substr(17), nullptr, 16), na + 2);
}

TEST(DecisionLogTest, WritesOneJsonLinePerRecordWithEveryField) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->Submit(SampleRecord(true)));
  EXPECT_TRUE(log->Submit(SampleRecord(false)));
  log->Flush();
  EXPECT_EQ(log->written(), 2);

  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(2));
  const Json expected = Json::parse(R"({
    "time": "2024-05-01T12:34:56.789012Z",
    "decision_id": "d-1",
    "method": "Check",
    "principal": {"id": "cam-0042", "type": "device", "groups": ["cameras", "site-7"],
                  "attributes": {"serial": "SN-1", "zones": ["a", "b"]}},
    "action": "mqtt:publish",
    "resource": "devices/cam-0042/telemetry",
    "context": {"source_ip": "10.0.0.7", "tls_version": "1.3"},
    "decision": "ALLOW",
    "reason": "ALLOWED",
    "statements": ["device-baseline/own-telemetry"],
    "bundle_revision": 42,
    "bundle_digest": "sha256:abc",
    "latency_us": 3.5
  })");
  EXPECT_EQ(lines[0], expected) << lines[0].dump();
  EXPECT_EQ(lines[1]["decision"], "DENY");
  EXPECT_EQ(lines[1]["reason"], "EXPLICIT_DENY");
}

TEST(DecisionLogTest, FieldsAppearInTheDocumentedOrder) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  log->Submit(SampleRecord());
  log->Flush();
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0],
              ::testing::StartsWith(R"({"time":"2024-05-01T12:34:56.789012Z","decision_id")"));
  EXPECT_THAT(lines[0], ::testing::EndsWith(R"("bundle_digest":"sha256:abc","latency_us":3.5})"));
}

TEST(DecisionLogTest, MaskedFieldsAreWrittenAsStars) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path(), [](auto& o) {
    o.masked_fields = {"principal.id",
                       "principal.attributes.serial",
                       "principal.attributes.zones",
                       "context.source_ip",
                       "resource",
                       "context.absent"};
  }));
  log->Submit(SampleRecord());
  log->Flush();

  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(1));
  const Json& line = lines[0];
  EXPECT_EQ(line["principal"]["id"], "***");
  EXPECT_EQ(line["principal"]["attributes"]["serial"], "***");
  EXPECT_EQ(line["principal"]["attributes"]["zones"], "***");
  EXPECT_EQ(line["context"]["source_ip"], "***");
  EXPECT_EQ(line["resource"], "***");
  // Unmasked fields are untouched, and a masked key the request lacks is not invented.
  EXPECT_EQ(line["context"]["tls_version"], "1.3");
  EXPECT_FALSE(line["context"].contains("absent"));
  EXPECT_EQ(line["principal"]["groups"], Json::parse(R"(["cameras", "site-7"])"));
  EXPECT_EQ(line["action"], "mqtt:publish");
}

TEST(DecisionLogTest, SampleRateZeroKeepsOnlyDenies) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log =
      NewLog(LogTo(file.path(), [](auto& o) { o.allow_sample_rate = 0.0; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(log->Submit(SampleRecord(/*allowed=*/true)));
    EXPECT_TRUE(log->Submit(SampleRecord(/*allowed=*/false)));
  }
  log->Flush();
  EXPECT_EQ(log->written(), 100);
  EXPECT_EQ(log->dropped(), 0);  // sampled out is not dropped
  for (const Json& line : ReadJsonLines(file.path())) EXPECT_EQ(line["decision"], "DENY");
}

TEST(DecisionLogTest, SampleRateKeepsAboutThatFractionOfAllows) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log =
      NewLog(LogTo(file.path(), [](auto& o) { o.allow_sample_rate = 0.25; }));
  int kept = 0;
  for (int i = 0; i < 20000; ++i) kept += log->Submit(SampleRecord(/*allowed=*/true));
  log->Flush();
  EXPECT_THAT(kept, AllOf(Ge(4000), Le(6000)));  // 5000 expected; σ ≈ 61
  EXPECT_EQ(log->written(), static_cast<uint64_t>(kept));
}

TEST(DecisionLogTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_OK(metrics.status());
  TempLogPath file;
  std::unique_ptr<DecisionLog> log =
      NewLog(LogTo(file.path(), [](auto& o) { o.queue_capacity = 8; }), metrics->get());
  constexpr int kRecords = 10000;
  int accepted = 0;
  for (int i = 0; i < kRecords; ++i) accepted += log->Submit(SampleRecord());
  log->Flush();

  EXPECT_GT(log->dropped(), 0);
  EXPECT_EQ(log->written() + log->dropped(), kRecords);
  EXPECT_EQ(log->written(), static_cast<uint64_t>(accepted));
  EXPECT_THAT(ReadLines(file.path()), SizeIs(accepted));
  EXPECT_THAT((*metrics)->Scrape(),
              HasSubstr("fleetpdp_decision_log_dropped_total " + std::to_string(log->dropped())));
}

TEST(DecisionLogTest, WriteErrorsAreCountedAndTheLogKeepsRunning) {
  std::unique_ptr<DecisionLog> log = NewLog(LogTo("/dev/full"));
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->last_error(), IsEmpty());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(log->Submit(SampleRecord()));
  log->Flush();
  EXPECT_EQ(log->written(), 0);
  EXPECT_EQ(log->dropped(), 3);
  EXPECT_THAT(log->last_error(),
              AllOf(HasSubstr("\"/dev/full\""), HasSubstr("No space left on device")));

  // Still accepting and still trying.
  EXPECT_TRUE(log->Submit(SampleRecord()));
  log->Flush();
  EXPECT_EQ(log->dropped(), 4);
}

TEST(DecisionLogTest, APartlyWrittenLineIsEndedSoTheNextRecordsStayParseable) {
  // The length of one line, to place a file size limit in the middle of the third.
  size_t line_length = 0;
  {
    TempLogPath probe;
    NewLog(LogTo(probe.path()))->Submit(SampleRecord());
    line_length = ReadLines(probe.path()).at(0).size() + 1;
  }
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  {
    // Writes past the limit fail with EFBIG (SIGXFSZ ignored) after a partial write.
    struct sigaction ignore = {}, previous = {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &previous), 0);
    rlimit old_limit = {};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    rlimit limit = old_limit;
    limit.rlim_cur = 2 * line_length + line_length / 2;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
    for (int i = 0; i < 5; ++i) log->Submit(SampleRecord());
    log->Flush();
    setrlimit(RLIMIT_FSIZE, &old_limit);
    sigaction(SIGXFSZ, &previous, nullptr);
  }
  EXPECT_EQ(log->written(), 2);
  EXPECT_EQ(log->dropped(), 3);
  EXPECT_THAT(log->last_error(), HasSubstr("File too large"));

  log->Submit(SampleRecord(/*allowed=*/false));
  log->Flush();
  EXPECT_EQ(log->written(), 3);
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_THAT(lines, SizeIs(4));  // two lines, the torn fragment, the line written after
  EXPECT_EQ(lines[2].size(), line_length / 2);
  EXPECT_TRUE(Json::parse(lines[2], nullptr, false).is_discarded());
  EXPECT_EQ(Json::parse(lines[3])["decision"], "DENY");
}

TEST(DecisionLogTest, FlushWaitsForEverythingSubmittedFromAnyThread) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(log->Submit(SampleRecord()));
    });
  }
  for (std::thread& thread : threads) thread.join();
  log->Flush();
  EXPECT_EQ(log->written(), kThreads * kPerThread);
  EXPECT_THAT(ReadJsonLines(file.path()), SizeIs(kThreads * kPerThread));
}

TEST(DecisionLogTest, DestructionWritesWhatIsQueued) {
  TempLogPath file;
  {
    std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
    for (int i = 0; i < 500; ++i) log->Submit(SampleRecord());
  }
  EXPECT_THAT(ReadJsonLines(file.path()), SizeIs(500));
}

TEST(DecisionLogTest, AnExistingFileIsAppendedTo) {
  TempLogPath file;
  std::ofstream(file.path()) << "{\"earlier\":true}\n";
  {
    std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
    log->Submit(SampleRecord());
  }
  std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
}

TEST(DecisionLogTest, DashWritesToStdout) {
  ::testing::internal::CaptureStdout();
  {
    std::unique_ptr<DecisionLog> log = NewLog(LogTo("-"));
    log->Submit(SampleRecord());
  }
  EXPECT_THAT(::testing::internal::GetCapturedStdout(),
              HasSubstr(R"("decision_id":"d-1","method":"Check")"));
}

TEST(DecisionLogTest, InvalidUtf8FromCallersIsReplacedNotFatal) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  DecisionRecord record = SampleRecord();
  record.request.resource = "devices/\xff\xfe/x";
  log->Submit(std::move(record));
  log->Flush();
  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["resource"], "devices/\xEF\xBF\xBD\xEF\xBF\xBD/x");  // U+FFFD twice
}

TEST(DecisionLogTest, StringsAreEscapedAndValidUtf8IsKept) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  const std::vector<std::string> values = {
      "quote \" backslash \\ slash /",
      "newline \n tab \t cr \r bell \x07 nul " + std::string(1, '\0') + " del \x7f",
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xB7",  // 2-, 3- and 4-byte sequences
  };
  for (const std::string& value : values) {
    DecisionRecord record = SampleRecord();
    record.request.resource = value;
    record.request.context = {{.key = value, .values = {value}}};
    log->Submit(std::move(record));
  }
  log->Flush();
  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(lines[i]["resource"], values[i]);
    EXPECT_EQ(lines[i]["context"][values[i]], values[i]);
  }
}

TEST(DecisionLogTest, IllFormedUtf8BecomesReplacementCharacters) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  const std::string kFffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xC0\x80", kFffd + kFffd},                          // overlong NUL
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},              // a UTF-16 surrogate
      {"a\xE2\x82", "a" + kFffd + kFffd},                   // truncated at the end
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\x80x", kFffd + "x"},                               // a lone continuation byte
  };
  for (const auto& [input, expected] : cases) {
    DecisionRecord record = SampleRecord();
    record.request.principal.groups = {input};
    log->Submit(std::move(record));
  }
  log->Flush();
  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(cases.size()));
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(lines[i]["principal"]["groups"][0], cases[i].second) << i;
  }
}

TEST(DecisionLogTest, EveryLineIsJsonWhateverBytesCallersSend) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  std::mt19937 random(7);
  std::vector<std::string> inputs;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(random() % 12, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    DecisionRecord record = SampleRecord();
    record.decision_id = bytes;
    log->Submit(std::move(record));
    inputs.push_back(std::move(bytes));
  }
  log->Flush();
  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    // Well-formed input (as nlohmann, a strict validator, judges it) comes back unchanged.
    const Json as_given = Json::parse("\"" + inputs[i] + "\"", nullptr, false);
    const bool plain = std::none_of(inputs[i].begin(), inputs[i].end(), [](char c) {
      return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
    });
    if (plain && !as_given.is_discarded()) {
      EXPECT_EQ(lines[i]["decision_id"], inputs[i]);
    }
  }
}

TEST(DecisionLogTest, TimeAndLatencyAreExact) {
  TempLogPath file;
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(file.path()));
  const std::vector<std::pair<absl::Time, std::string>> times = {
      {absl::FromUnixMicros(0), "1970-01-01T00:00:00.000000Z"},
      {absl::FromUnixMicros(-1), "1969-12-31T23:59:59.999999Z"},
      {absl::FromUnixMicros(1714566896000001), "2024-05-01T12:34:56.000001Z"},
      {absl::FromUnixMicros(1714566896999999), "2024-05-01T12:34:56.999999Z"},
      {absl::FromUnixMicros(1714566897000000), "2024-05-01T12:34:57.000000Z"},
  };
  const std::vector<std::pair<absl::Duration, double>> latencies = {{absl::Nanoseconds(1), 0.001},
                                                                    {absl::Microseconds(3), 3},
                                                                    {absl::Nanoseconds(1230), 1.23},
                                                                    {absl::Seconds(2), 2e6},
                                                                    {absl::ZeroDuration(), 0}};
  for (size_t i = 0; i < times.size(); ++i) {
    DecisionRecord record = SampleRecord();
    record.time = times[i].first;
    record.latency = latencies[i].first;
    log->Submit(std::move(record));
  }
  log->Flush();
  std::vector<Json> lines = ReadJsonLines(file.path());
  ASSERT_THAT(lines, SizeIs(times.size()));
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(lines[i]["time"], times[i].second);
    EXPECT_TRUE(lines[i]["latency_us"].is_number());
    EXPECT_DOUBLE_EQ(lines[i]["latency_us"].get<double>(), latencies[i].second);
  }
}

TEST(DecisionLogTest, AnEmptyPathLogsNothing) {
  std::unique_ptr<DecisionLog> log = NewLog(LogTo(""));
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(log->Submit(SampleRecord()));
  log->Flush();
  EXPECT_EQ(log->written(), 0);
  EXPECT_EQ(log->dropped(), 0);
}

TEST(DecisionLogTest, BadOptionsAreRejected) {
  const auto create = [](auto adjust) {
    return DecisionLog::Create(LogTo("/dev/null", adjust), nullptr).status();
  };
  for (double rate : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_THAT(create([rate](auto& o) { o.allow_sample_rate = rate; }),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allow_sample_rate")))
        << rate;
  }
  EXPECT_THAT(create([](auto& o) { o.queue_capacity = 0; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("queue_capacity")));
  EXPECT_THAT(create([](auto& o) {
                o.masked_fields = {"context.source_ip", "request.secret"};
              }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown root \"request\"")));
  EXPECT_THAT(create([](auto& o) { o.masked_fields = {"principal.name"}; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"principal.name\"")));
  EXPECT_THAT(create([](auto& o) { o.masked_fields = {"context."}; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"context.\"")));
  EXPECT_OK(create([](auto& o) { o.allow_sample_rate = 0.0; }));
  EXPECT_OK(create([](auto& o) { o.allow_sample_rate = 1.0; }));
}

TEST(DecisionLogTest, AFileThatCannotBeOpenedIsUnavailable) {
  EXPECT_THAT(DecisionLog::Create(LogTo("/nonexistent-dir/decisions.jsonl"), nullptr),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("\"/nonexistent-dir/decisions.jsonl\""),
                             HasSubstr("No such file or directory"))));
}

}  // namespace
}  // namespace fleetpdp::server
