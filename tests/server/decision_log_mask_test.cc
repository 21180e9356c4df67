// Decision log masking through a real gRPC server: masked values never reach the file, decisions
// are what they would be without a log, and a salted mask gives stable, correlatable tags
// without the salt ever being written.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bundles/archive.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/decision_log.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;
using testing::MakeCheck;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::TestBundle;
using testing::TestServer;
namespace v1 = ::fleetpdp::v1;
namespace fs = std::filesystem;

constexpr char kSerial[] = "SN-5f1c9e-SECRET";
constexpr char kSourceIp[] = "203.0.113.77";
constexpr char kSalt[] = "9b4e0d1c7a2f4e55b8e1c3d6a0f7b2c4";

fs::path TempFile(const std::string& name) {
  return fs::path(::testing::TempDir()) / absl::StrCat("fleetpdp-mask-", getpid(), "-", name);
}

// Three requests that carry the secret values: an allowed publish, a denied command, and a
// subscribe. `serial` and `source_ip` are set on each.
std::vector<v1::CheckRequest> Requests(const std::string& serial) {
  std::vector<v1::CheckRequest> out = {
      MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/temp"),
      MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/cmd/reboot"),
      MakeCheck("cam-0042", "mqtt:subscribe", "devices/cam-0042/cmd/#")};
  for (v1::CheckRequest& r : out) {
    (*r.mutable_principal()->mutable_attributes())["serial"].add_values(serial);
    (*r.mutable_context())["source_ip"].add_values(kSourceIp);
  }
  return out;
}

// Decisions (allow/deny, reason, statements) for `requests`, and the log lines they wrote.
struct LoggedRun {
  std::vector<std::string> decisions;
  std::vector<nlohmann::json> lines;
  std::string text;
};

LoggedRun Decide(const std::vector<v1::CheckRequest>& requests, DecisionLogOptions options) {
  LoggedRun run;
  std::unique_ptr<DecisionLog> log;
  if (!options.path.empty()) {
    absl::StatusOr<std::unique_ptr<DecisionLog>> made = DecisionLog::Create(options, nullptr);
    EXPECT_TRUE(made.ok()) << made.status();
    if (made.ok()) log = *std::move(made);
  }
  {
    TestServer server({}, nullptr, log.get());
    server.Install(TestBundle(1));
    for (const v1::CheckRequest& r : requests) {
      grpc::ClientContext ctx;
      v1::CheckResponse response;
      EXPECT_TRUE(server.stub().Check(&ctx, r, &response).ok());
      std::string d = absl::StrCat(v1::Decision_Name(response.decision()), " ",
                                   v1::Reason_Name(response.reason()));
      for (const std::string& s : response.statements()) absl::StrAppend(&d, " ", s);
      run.decisions.push_back(d);
    }
  }
  if (log != nullptr) {
    log->Flush();
    run.text = bundles::ReadFileBytes(options.path).value_or("");
    for (absl::string_view line : absl::StrSplit(run.text, '\n', absl::SkipEmpty())) {
      run.lines.push_back(nlohmann::json::parse(std::string(line)));
    }
  }
  return run;
}

TEST(DecisionLogMaskTest, MaskedFieldsNeverReachTheFileAndDecisionsAreUnchanged) {
  const LoggedRun plain = Decide(Requests(kSerial), {});
  DecisionLogOptions options;
  options.path = TempFile("fixed.jsonl").string();
  options.masked_fields = {"principal.attributes.serial,context.source_ip", "resource"};
  const LoggedRun masked = Decide(Requests(kSerial), options);
  fs::remove(options.path);

  EXPECT_EQ(masked.decisions, plain.decisions);
  ASSERT_EQ(masked.lines.size(), 3u);
  EXPECT_THAT(masked.text, Not(HasSubstr(kSerial)));
  EXPECT_THAT(masked.text, Not(HasSubstr(kSourceIp)));
  EXPECT_THAT(masked.text, Not(HasSubstr("devices/cam-0042")));
  for (const nlohmann::json& line : masked.lines) {
    EXPECT_EQ(line["principal"]["attributes"]["serial"], "***");
    EXPECT_EQ(line["context"]["source_ip"], "***");
    EXPECT_EQ(line["resource"], "***");
    EXPECT_EQ(line["principal"]["id"], "cam-0042");  // not masked: still there
  }
  EXPECT_EQ(masked.lines[1]["decision"], "DENY");
}

TEST(DecisionLogMaskTest, ASaltedMaskWritesStableTagsThatCorrelateWithoutTheValueOrTheSalt) {
  DecisionLogOptions options;
  options.path = TempFile("salted.jsonl").string();
  options.masked_fields = {"principal.attributes.serial", "context.source_ip"};
  options.mask_salt = kSalt;
  std::vector<v1::CheckRequest> requests = Requests(kSerial);
  for (const v1::CheckRequest& r : Requests("SN-other-device")) requests.push_back(r);
  const LoggedRun run = Decide(requests, options);
  fs::remove(options.path);

  ASSERT_EQ(run.lines.size(), 6u);
  EXPECT_THAT(run.text, Not(HasSubstr(kSerial)));
  EXPECT_THAT(run.text, Not(HasSubstr(kSourceIp)));
  EXPECT_THAT(run.text, Not(HasSubstr(kSalt)));
  const std::string tag = run.lines[0]["principal"]["attributes"]["serial"];
  EXPECT_THAT(tag, MatchesRegex("hmac:[0-9a-f]{16}"));
  // The same serial gives the same tag; another serial another one.
  EXPECT_EQ(run.lines[1]["principal"]["attributes"]["serial"], tag);
  EXPECT_EQ(run.lines[2]["principal"]["attributes"]["serial"], tag);
  EXPECT_NE(run.lines[3]["principal"]["attributes"]["serial"], tag);
  EXPECT_EQ(run.lines[0]["context"]["source_ip"], run.lines[5]["context"]["source_ip"]);

  // Another salt, other tags: the tag depends on the key, not only on the value.
  options.mask_salt = std::string(kSalt) + "-rotated";
  options.path = TempFile("salted2.jsonl").string();
  const LoggedRun rotated = Decide(Requests(kSerial), options);
  fs::remove(options.path);
  ASSERT_FALSE(rotated.lines.empty());
  EXPECT_NE(rotated.lines[0]["principal"]["attributes"]["serial"], tag);
}

TEST(DecisionLogMaskTest, AShortSaltIsRefusedWithoutShowingIt) {
  DecisionLogOptions options;
  options.path = TempFile("short.jsonl").string();
  options.mask_salt = "tiny-salt";
  EXPECT_THAT(DecisionLog::Create(options, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("at least 16"), Not(HasSubstr("tiny-salt")))));
}

TEST(DecisionLogMaskTest, ASaltFileLosesItsFinalNewlineAndAShortOneIsNamedNotShown) {
  const fs::path good = TempFile("salt");
  ASSERT_TRUE(bundles::WriteFileBytes(good, std::string(kSalt) + "\n").ok());
  EXPECT_EQ(ReadMaskSalt(good.string()).value_or(""), kSalt);
  const fs::path short_salt = TempFile("short-salt");
  ASSERT_TRUE(bundles::WriteFileBytes(short_salt, "pepper\n").ok());
  EXPECT_THAT(ReadMaskSalt(short_salt.string()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr(short_salt.string()), HasSubstr("6 bytes"),
                                        Not(HasSubstr("pepper")))));
  EXPECT_THAT(ReadMaskSalt(TempFile("missing").string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("mask salt file")));
  fs::remove(good);
  fs::remove(short_salt);
}

TEST(DecisionLogMaskTest, AnUnknownFieldInACommaListIsNamed) {
  DecisionLogOptions options;
  options.path = TempFile("bad.jsonl").string();
  options.masked_fields = {"resource,principal.serial"};
  EXPECT_THAT(DecisionLog::Create(options, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unsupported field \"principal.serial\"")));
}

}  // namespace
}  // namespace fleetpdp::server
