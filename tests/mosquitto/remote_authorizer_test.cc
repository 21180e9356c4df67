// Remote mode against a real FleetPDP gRPC server on loopback: answers, the cache (hits, TTL, LRU
// bound, dropped on a new bundle digest), and the fail modes when the server is gone.
#include "integrations/mosquitto/remote_authorizer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::mosquitto {
namespace {

using fleetpdp::testing::StatusIs;
using server::testing::CompileTestBundle;
using server::testing::TestBundle;
using server::testing::TestBundleFiles;
using server::testing::TestServer;
using ::testing::HasSubstr;

MqttEvent Publish(std::string topic, std::string client = "cam-0042") {
  MqttEvent e;
  e.access = MqttAccess::kPublish;
  e.client.client_id = std::move(client);
  e.topic = std::move(topic);
  return e;
}

class RemoteAuthorizerTest : public ::testing::Test {
 protected:
  std::unique_ptr<RemoteAuthorizer> Make(const std::string& address, PluginOptions o = {}) {
    o.mode = Mode::kRemote;
    o.server = address;
    o.deadline = absl::Seconds(2);  // loopback; generous for a loaded machine
    absl::StatusOr<std::unique_ptr<RemoteAuthorizer>> a = RemoteAuthorizer::Create(
        o, [this](bool error, const std::string& line) { log_.push_back(line); },
        [this] { return now_; });
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::vector<std::string> log_;
};

TEST_F(RemoteAuthorizerTest, AnswersComeFromTheServer) {
  TestServer t;
  t.Install(TestBundle(1));
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address());
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/cmd/x")));
  ASSERT_TRUE(a->Serving().has_value());
  EXPECT_EQ(a->Serving()->revision, 1u);
  EXPECT_EQ(a->Serving()->digest.size(), 64u);
}

TEST_F(RemoteAuthorizerTest, ARepeatedQuestionIsAnsweredFromTheCache) {
  TestServer t;
  t.Install(TestBundle(1));
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address());
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/cmd/x")));
  EXPECT_EQ(a->server_calls(), 2u);
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/cmd/x")));
  EXPECT_EQ(a->server_calls(), 2u);
  EXPECT_EQ(a->cached(), 2u);
}

TEST_F(RemoteAuthorizerTest, ACachedDecisionExpiresAfterItsTtl) {
  TestServer t;
  t.Install(TestBundle(1));
  PluginOptions o;
  o.cache_ttl = absl::Seconds(10);
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address(), o);
  a->Allowed(Publish("devices/cam-0042/telemetry/t"));
  now_ += absl::Seconds(9);
  a->Allowed(Publish("devices/cam-0042/telemetry/t"));
  EXPECT_EQ(a->server_calls(), 1u);
  now_ += absl::Seconds(2);
  a->Allowed(Publish("devices/cam-0042/telemetry/t"));
  EXPECT_EQ(a->server_calls(), 2u);
}

TEST_F(RemoteAuthorizerTest, TheCacheKeepsAtMostCacheSizeDecisions) {
  TestServer t;
  t.Install(TestBundle(1));
  PluginOptions o;
  o.cache_size = 2;
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address(), o);
  a->Allowed(Publish("devices/cam-0042/telemetry/1"));
  a->Allowed(Publish("devices/cam-0042/telemetry/2"));
  a->Allowed(Publish("devices/cam-0042/telemetry/1"));  // now the most recently used
  a->Allowed(Publish("devices/cam-0042/telemetry/3"));  // drops 2
  EXPECT_EQ(a->cached(), 2u);
  EXPECT_EQ(a->server_calls(), 3u);
  a->Allowed(Publish("devices/cam-0042/telemetry/1"));
  EXPECT_EQ(a->server_calls(), 3u);
  a->Allowed(Publish("devices/cam-0042/telemetry/2"));
  EXPECT_EQ(a->server_calls(), 4u);
}

TEST_F(RemoteAuthorizerTest, ANewBundleDigestDropsEveryCachedDecision) {
  TestServer t;
  t.Install(TestBundle(1));
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address());
  ASSERT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
  // Revision 2 no longer allows own telemetry.
  constexpr char kNoTelemetry[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: devices}
spec:
  principals: "*"
  statements:
    - {id: only-status, effect: allow, actions: [mqtt:publish], resources: ["devices/${principal.id}/status"]}
)";
  t.Install(CompileTestBundle(TestBundleFiles(2, kNoTelemetry)));
  // The cached allow is still trusted until a fresh answer shows the new digest…
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/status")));  // a miss: answered by rev 2
  EXPECT_EQ(a->Serving()->revision, 2u);
  // …which drops the cache, so the old allow is asked again and denied.
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/telemetry/t")));
}

TEST_F(RemoteAuthorizerTest, WhenTheServerIsGoneUncachedChecksFailClosed) {
  auto t = std::make_unique<TestServer>();
  t->Install(TestBundle(1));
  std::unique_ptr<RemoteAuthorizer> a = Make(t->address());
  ASSERT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/cached")));
  t.reset();  // the server stops
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/telemetry/new")));
  EXPECT_FALSE(a->Allowed(Publish("devices/cam-0042/telemetry/new2")));
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/telemetry/cached")));  // within its TTL
  EXPECT_EQ(a->cached(), 1u);                                             // failures are not cached
  int failures = 0;
  for (const std::string& line : log_) failures += line.find("failing closed") != std::string::npos;
  EXPECT_EQ(failures, 1) << "one log line per outage";
}

TEST_F(RemoteAuthorizerTest, FailOpenAllowsWhenTheServerIsGone) {
  auto t = std::make_unique<TestServer>();
  std::string address = t->address();
  t.reset();
  PluginOptions o;
  o.fail_open = true;
  std::unique_ptr<RemoteAuthorizer> a = Make(address, o);
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/cmd/x")));
  EXPECT_EQ(a->cached(), 0u);
}

TEST_F(RemoteAuthorizerTest, AServerWithoutABundleIsAFailureNotADeny) {
  TestServer t;  // no bundle: UNAVAILABLE
  PluginOptions o;
  o.fail_open = true;
  std::unique_ptr<RemoteAuthorizer> a = Make(t.address(), o);
  EXPECT_TRUE(a->Allowed(Publish("devices/cam-0042/cmd/x")));
  ASSERT_FALSE(log_.empty());
  EXPECT_THAT(log_[0], HasSubstr("no verified bundle"));
}

TEST(RemoteOptionsTest, RemoteModeNeedsAServerAndNoBundle) {
  EXPECT_THAT(
      ParsePluginOptions({{"mode", "remote"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_server is required")));
  EXPECT_THAT(ParsePluginOptions({{"mode", "remote"}, {"server", "a:1"}, {"bundle", "b"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plugin_opt_bundle is for local mode")));
  absl::StatusOr<PluginOptions> o = ParsePluginOptions(
      {{"mode", "remote"}, {"server", "a:1"}, {"cache_ttl", "0s"}, {"fail_mode", "open"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->cache_ttl, absl::ZeroDuration());
  EXPECT_TRUE(o->fail_open);
}

TEST(RemoteOptionsTest, BadRemoteValuesAreNamed) {
  EXPECT_THAT(ParsePluginOptions({{"mode", "cloud"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plugin_opt_mode: \"cloud\" is not local or remote")));
  EXPECT_THAT(
      ParsePluginOptions({{"mode", "remote"}, {"server", "a:1"}, {"deadline", "0s"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_deadline")));
  EXPECT_THAT(
      ParsePluginOptions({{"mode", "remote"}, {"server", "a:1"}, {"fail_mode", "maybe"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("closed or open")));
  EXPECT_THAT(
      ParsePluginOptions({{"mode", "remote"}, {"server", "a:1"}, {"cache_size", "-1"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_cache_size")));
}

}  // namespace
}  // namespace fleetpdp::mosquitto
