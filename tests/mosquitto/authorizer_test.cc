// The Mosquitto plugin's decisions without Mosquitto: options, MQTT → request mapping, and the
// local authorizer on the broker test bundle (tests/testdata/broker-fleet).
#include "integrations/mosquitto/authorizer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::mosquitto {
namespace {

using fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kBrokerFleet[] = FLEETPDP_TESTDATA_DIR "/broker-fleet";

TEST(PluginOptionsTest, BundleAndKeysAreEnough) {
  absl::StatusOr<PluginOptions> o = ParsePluginOptions({{"bundle", "/b.tar.gz"}, {"keys", "/k"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->principal, PrincipalSource::kClientId);
  EXPECT_TRUE(o->check_receive);
  EXPECT_EQ(o->poll_interval, absl::Seconds(5));
}

TEST(PluginOptionsTest, AMissingBundleIsNamed) {
  EXPECT_THAT(
      ParsePluginOptions({{"keys", "/k"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_bundle is required")));
}

TEST(PluginOptionsTest, KeysAreRequiredUnlessUnsignedBundlesAreAllowed) {
  EXPECT_THAT(
      ParsePluginOptions({{"bundle", "/b"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_keys is required")));
  EXPECT_TRUE(ParsePluginOptions({{"bundle", "/b"}, {"allow_unsigned", "true"}}).ok());
}

TEST(PluginOptionsTest, AnUnknownOptionIsNamed) {
  EXPECT_THAT(
      ParsePluginOptions({{"bundle", "/b"}, {"keys", "/k"}, {"bundel", "x"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown option plugin_opt_bundel")));
}

TEST(PluginOptionsTest, BadValuesAreNamedWithWhatIsExpected) {
  EXPECT_THAT(
      ParsePluginOptions({{"bundle", "/b"}, {"keys", "/k"}, {"principal", "cn"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("plugin_opt_principal: \"cn\" is not client_id, username or cert_cn")));
  EXPECT_THAT(
      ParsePluginOptions({{"bundle", "/b"}, {"keys", "/k"}, {"poll_interval", "5"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a duration like 5s")));
  EXPECT_THAT(
      ParsePluginOptions({{"bundle", "/b"}, {"keys", "/k"}, {"check_receive", "yes"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("true or false")));
}

MqttEvent Event(MqttAccess access, std::string client_id, std::string topic = "") {
  MqttEvent e;
  e.access = access;
  e.client.client_id = std::move(client_id);
  e.client.address = "10.1.2.3";
  e.client.protocol_version = 5;
  e.topic = std::move(topic);
  return e;
}

TEST(RequestsForTest, ConnectAsksForTheClientIdAsResource) {
  std::vector<engine::Request> r = RequestsFor(Event(MqttAccess::kConnect, "d1"), PluginOptions());
  ASSERT_THAT(r, SizeIs(1));
  EXPECT_EQ(r[0].principal.id, "d1");
  EXPECT_EQ(r[0].action, "mqtt:connect");
  EXPECT_EQ(r[0].resource, "d1");
}

TEST(RequestsForTest, TheContextCarriesAddressProtocolAndTls) {
  std::vector<engine::Request> r =
      RequestsFor(Event(MqttAccess::kPublish, "d1", "a/b"), PluginOptions());
  ASSERT_THAT(r, SizeIs(1));
  std::map<std::string, std::string> context;
  for (const engine::Attribute& a : r[0].context) context[a.key] = a.values.at(0);
  EXPECT_EQ(context["source_ip"], "10.1.2.3");
  EXPECT_EQ(context["protocol"], "mqtt");
  EXPECT_EQ(context["protocol_version"], "5");
  EXPECT_EQ(context["tls"], "false");
}

TEST(RequestsForTest, ARetainedPublishAlsoNeedsRetain) {
  MqttEvent e = Event(MqttAccess::kPublish, "d1", "devices/d1/status");
  e.retain = true;
  std::vector<engine::Request> r = RequestsFor(e, PluginOptions());
  ASSERT_THAT(r, SizeIs(2));
  EXPECT_EQ(r[0].action, "mqtt:publish");
  EXPECT_EQ(r[1].action, "mqtt:retain");
  PluginOptions no_retain;
  no_retain.check_retain = false;
  EXPECT_THAT(RequestsFor(e, no_retain), SizeIs(1));
}

TEST(RequestsForTest, ThePrincipalCanComeFromTheUsernameOrCertificate) {
  MqttEvent e = Event(MqttAccess::kSubscribe, "random-id", "x/#");
  e.client.username = "d1";
  e.client.cert_cn = "d2";
  PluginOptions o;
  o.principal = PrincipalSource::kUsername;
  EXPECT_EQ(RequestsFor(e, o).at(0).principal.id, "d1");
  o.principal = PrincipalSource::kCertificateCn;
  EXPECT_EQ(RequestsFor(e, o).at(0).principal.id, "d2");
}

TEST(RequestsForTest, AMissingPrincipalAsksNothing) {
  MqttEvent e = Event(MqttAccess::kPublish, "d1", "a");
  PluginOptions o;
  o.principal = PrincipalSource::kUsername;  // no username given
  EXPECT_TRUE(RequestsFor(e, o).empty());
}

class LocalAuthorizerTest : public ::testing::Test {
 protected:
  static std::unique_ptr<LocalAuthorizer> Start(PluginOptions o = {}) {
    o.bundle = kBrokerFleet;
    o.allow_unsigned = true;  // the source directory; signed archives are tested end to end
    absl::StatusOr<std::unique_ptr<LocalAuthorizer>> a = LocalAuthorizer::Start(o, nullptr);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }
};

TEST_F(LocalAuthorizerTest, DecidesEachMqttAccessFromTheBundle) {
  std::unique_ptr<LocalAuthorizer> a = Start();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a->Current(), nullptr);
  EXPECT_TRUE(a->Allowed(Event(MqttAccess::kConnect, "d1")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kConnect, "stranger")));
  EXPECT_TRUE(a->Allowed(Event(MqttAccess::kPublish, "d1", "devices/d1/telemetry/t")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kPublish, "d1", "devices/d2/telemetry/t")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kPublish, "d1", "devices/d1/cmd/x")));
  EXPECT_TRUE(a->Allowed(Event(MqttAccess::kSubscribe, "d1", "devices/d1/cmd/#")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kSubscribe, "d1", "devices/#")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kSubscribe, "operator", "ops/#")));
  EXPECT_TRUE(a->Allowed(Event(MqttAccess::kReceive, "dashboard", "devices/d1/telemetry/t")));
  EXPECT_FALSE(
      a->Allowed(Event(MqttAccess::kReceive, "dashboard", "devices/d1/telemetry/secret/k")));
}

TEST_F(LocalAuthorizerTest, RetainIsCheckedSeparately) {
  std::unique_ptr<LocalAuthorizer> a = Start();
  ASSERT_NE(a, nullptr);
  MqttEvent status = Event(MqttAccess::kPublish, "d1", "devices/d1/status");
  status.retain = true;
  EXPECT_TRUE(a->Allowed(status));
  MqttEvent telemetry = Event(MqttAccess::kPublish, "d1", "devices/d1/telemetry/t");
  telemetry.retain = true;  // own-telemetry allows publish, not retain
  EXPECT_FALSE(a->Allowed(telemetry));
}

TEST_F(LocalAuthorizerTest, AnInvalidTopicIsDenied) {
  std::unique_ptr<LocalAuthorizer> a = Start();
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kPublish, "d1", "devices/d1/telemetry/+")));
  EXPECT_FALSE(a->Allowed(Event(MqttAccess::kPublish, "", "devices//telemetry/t")));
}

TEST_F(LocalAuthorizerTest, WithoutABundleEverythingIsDeniedAndTheReasonLogged) {
  PluginOptions o;
  o.bundle = "/nonexistent/fleet.tar.gz";
  o.allow_unsigned = true;
  std::vector<std::string> lines;
  absl::StatusOr<std::unique_ptr<LocalAuthorizer>> a = LocalAuthorizer::Start(
      o, [&lines](bool error, const std::string& line) { lines.push_back(line); });
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->Current(), nullptr);
  EXPECT_FALSE((*a)->Allowed(Event(MqttAccess::kConnect, "d1")));
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("no bundle: every check is denied"));
}

TEST_F(LocalAuthorizerTest, AnUnreadableKeysDirectoryIsAnError) {
  PluginOptions o;
  o.bundle = kBrokerFleet;
  o.keys = "/nonexistent/keys";
  EXPECT_THAT(LocalAuthorizer::Start(o, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("plugin_opt_keys")));
}

}  // namespace
}  // namespace fleetpdp::mosquitto
