// `fleetpdp import aws-iot`: AWS IoT Core policy shapes (written for these tests after the
// shapes AWS documents) are converted, the output is compiled with the engine, and concrete
// requests are decided as AWS would decide them. Where IAM wildcards meet MQTT levels, the
// decisions are compared with an independent IAM glob matcher over many topics and filters.
#include "cli/aws_iot_import.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::cli {
namespace {

using engine::Request;
using engine::testing::Allowed;
using engine::testing::CompileYaml;
using engine::testing::MakeRequest;
using ::testing::HasSubstr;

// AWS's matching of a resource ARN's name: '*' any run of characters ('/' included), '?' one
// character, everything else ('+' and '#' too) literal. Written here independently of the
// converter, as the reference the converted policies must agree with.
bool IamGlob(std::string_view glob, std::string_view text) {
  if (glob.empty()) return text.empty();
  if (glob[0] == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (IamGlob(glob.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (glob[0] == '?' || glob[0] == text[0]) return IamGlob(glob.substr(1), text.substr(1));
  return false;
}

AwsIotImportResult Convert(const std::string& json, bool any = true) {
  AwsIotImportOptions options;
  options.policy_name = "imported";
  options.principals_any = any;
  return ConvertAwsIotPolicy(json, "test.json", options);
}

// The issues as "where: severity: message" lines, for assertions and failure messages.
std::string Report(const AwsIotImportResult& r) {
  std::string out;
  for (const ImportIssue& i : r.issues) out += FormatImportIssue("test.json", i) + "\n";
  return out;
}

// Warnings about the AWS statements (not the document-level one --principals-any gives).
bool StatementWarnings(const AwsIotImportResult& r) {
  for (const ImportIssue& i : r.issues) {
    if (i.severity == ImportSeverity::kWarning && !i.pointer.empty()) return true;
  }
  return false;
}

// Errors about the AWS statements (not the document-level "nothing converted").
bool StatementErrors(const AwsIotImportResult& r) {
  for (const ImportIssue& i : r.issues) {
    if (i.severity == ImportSeverity::kError && !i.pointer.empty()) return true;
  }
  return false;
}

std::shared_ptr<const engine::RuleIndex> CompileResult(const AwsIotImportResult& r) {
  EXPECT_FALSE(r.yaml.empty()) << Report(r);
  EXPECT_TRUE(CheckImportedPolicy(r.yaml, "imported.yaml").ok()) << r.yaml;
  return CompileYaml(r.yaml);
}

std::string Policy(const std::string& statements) {
  return R"({"Version": "2012-10-17", "Statement": [)" + statements + "]}";
}

std::string Allow(const std::string& actions, const std::string& resources,
                  const std::string& extra = "") {
  return R"({"Effect": "Allow", "Action": )" + actions + R"(, "Resource": )" + resources + extra +
         "}";
}

constexpr char kArn[] = "arn:aws:iot:eu-west-1:123456789012:";

std::string Arn(const std::string& rest) { return std::string("\"") + kArn + rest + "\""; }

TEST(AwsIotImportTest, ConnectAsTheThingNameAllowsOnlyTheOwnClientIdAndNotesTheAssumption) {
  auto r =
      Convert(Policy(Allow(R"("iot:Connect")", Arn("client/${iot:Connection.Thing.ThingName}"))));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", "mqtt:connect", "cam-1")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", "mqtt:connect", "cam-2")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", "mqtt:publish", "cam-1")));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0].Resource: note: iot:Connection.Thing.ThingName "
                                   "became principal.id"));
  EXPECT_FALSE(r.HasErrors());
  EXPECT_FALSE(StatementWarnings(r));
}

TEST(AwsIotImportTest, TrailingStarCoversEveryLevelBelowButNotTheParentLevel) {
  auto r = Convert(
      Policy(Allow(R"(["iot:Publish", "iot:Receive"])", Arn("topic/devices/${iot:ClientId}/*"))));
  EXPECT_THAT(r.yaml, HasSubstr(R"("devices/${principal.id}/+/#")"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  for (const char* action : {"mqtt:publish", "mqtt:receive"}) {
    EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", action, "devices/cam-1/telemetry")));
    EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", action, "devices/cam-1/a/b/c")));
    EXPECT_TRUE(Allowed(*index, MakeRequest("cam-1", action, "devices/cam-1/")));
    // AWS's "devices/cam-1/*" needs the "/" after cam-1; FleetPDP's "#" would match the parent.
    EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", action, "devices/cam-1")));
    EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", action, "devices/cam-2/telemetry")));
  }
  EXPECT_FALSE(Allowed(*index, MakeRequest("cam-1", "mqtt:retain", "devices/cam-1/telemetry")));
  EXPECT_FALSE(StatementWarnings(r)) << Report(r);
}

// Every topic below is tried against every resource: the converted policy must allow exactly
// what the IAM glob matches (AWS IoT topics only: those starting with "$" are "$aws/…").
TEST(AwsIotImportTest, IamWildcardsInTopicResourcesDecideExactlyAsAws) {
  const std::vector<std::string> globs = {
      "sensor-*",
      "a/*/b",
      "a/*",
      "*/status",
      "a?c/x",
      "devices/*/cmd/*",
      "*",
      "a/b",
      "a/b*",
      "x/*y*/z",
      "$aws/things/*/shadow/update",
      "?",
      "a//*",
      "/a/*",   // a leading empty level (once lost by a join)
      "$aws*",  // a partial first level starting with "$" (once missed $aws/…)
  };
  const std::vector<std::string> topics = {
      "sensor-1",
      "sensor-",
      "sensor",
      "sensor-1/x",
      "a",
      "a/",
      "a/b",
      "a/x/b",
      "a/x/y/b",
      "a//b",
      "a/b/c",
      "abc/x",
      "a/c/x",
      "status",
      "x/status",
      "x/y/status",
      "devices/d1/cmd/reboot",
      "devices/d1/cmd",
      "devices/d1/x/cmd/y",
      "x/y/z",
      "x/ayb/z",
      "x/a/y/b/z",
      "x/yy/z",
      "$aws/things/t1/shadow/update",
      "$aws/things/a/b/shadow/update",
      "q",
      "qq",
      "a//",
      "a//x",
      "a/bcd",
      "/a",
      "/a/b",
      "/a/b/c",
      "/a/",
  };
  for (const std::string& glob : globs) {
    auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/" + glob))));
    auto index = CompileResult(r);
    ASSERT_NE(index, nullptr) << glob;
    for (const std::string& topic : topics) {
      EXPECT_EQ(Allowed(*index, MakeRequest("d1", "mqtt:publish", topic)), IamGlob(glob, topic))
          << "resource topic/" << glob << ", topic " << topic << "\n"
          << r.yaml;
    }
    EXPECT_FALSE(StatementWarnings(r)) << glob << "\n" << Report(r);
  }
}

// Random resources against random topics and filters (fixed seed): allows decide exactly as AWS;
// a deny never lets through what AWS denied, and is exact whenever its resource has an IAM
// wildcard. Topics and filters starting with "$" use AWS's only reserved prefix, "$aws".
TEST(AwsIotImportTest, RandomResourcesDecideAsAwsOnRandomTopicsAndFilters) {
  std::mt19937 rng(20261129);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  auto random_glob = [&] {
    std::string g;
    const int n = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int i = 0; i < n; ++i)
      g += pick({"a", "b", "/", "*", "?", "+", "#", "${iot:ClientId}", "$", "$aws"});
    return g;
  };
  const std::vector<std::string> firsts = {"a", "b", "ab", "", "$aws", "d"};
  const std::vector<std::string> topic_rests = {"", "/a", "/b", "/", "/a/b", "/b/a/a", "/d", "/ad"};
  const std::vector<std::string> filter_rests = {"", "/a", "/+", "/#", "/+/b", "/a/#", "//+"};
  std::vector<std::string> topics, filters = {"#", "+", "+/a", "+/#"};
  for (const std::string& first : firsts) {
    for (const std::string& rest : topic_rests) topics.push_back(first + rest);
    for (const std::string& rest : filter_rests) filters.push_back(first + rest);
  }
  topics.erase(std::remove(topics.begin(), topics.end(), ""), topics.end());
  filters.erase(std::remove(filters.begin(), filters.end(), ""), filters.end());

  for (int round = 0; round < 300; ++round) {
    const std::string glob = random_glob();
    // The principal is "d": AWS substitutes its client id for the variable.
    const std::string variable = "${iot:ClientId}";
    std::string resolved;
    for (size_t i = 0; i < glob.size();) {
      if (glob.compare(i, variable.size(), variable) == 0) {
        resolved += 'd';
        i += variable.size();
      } else {
        resolved += glob[i++];
      }
    }
    const bool iam_wildcard = resolved.find_first_of("*?") != std::string::npos;
    auto allow =
        Convert(Policy(Allow(R"(["iot:Connect", "iot:Publish", "iot:Subscribe"])",
                             "[" + Arn("topic/" + glob) + "," + Arn("topicfilter/" + glob) + "," +
                                 Arn("client/" + glob) + "]")));
    auto deny = Convert(
        Policy(Allow(R"(["iot:Connect", "iot:Publish", "iot:Subscribe"])", R"("*")") + "," +
               R"({"Effect": "Deny", "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe"],)" +
               R"( "Resource": [)" + Arn("topic/" + glob) + "," + Arn("topicfilter/" + glob) + "," +
               Arn("client/" + glob) + "]}"));
    EXPECT_FALSE(StatementErrors(allow)) << glob << "\n" << Report(allow);
    EXPECT_FALSE(StatementErrors(deny)) << glob << "\n" << Report(deny);
    auto allow_index = allow.yaml.empty() ? nullptr : CompileResult(allow);
    auto deny_index = CompileResult(deny);
    ASSERT_NE(deny_index, nullptr) << glob;
    for (const std::string& topic : topics) {
      const bool aws = IamGlob(resolved, topic);
      Request q = MakeRequest("d", "mqtt:publish", topic);
      EXPECT_EQ(allow_index != nullptr && Allowed(*allow_index, q), aws)
          << "allow topic/" << glob << ", publish " << topic << "\n"
          << allow.yaml;
      EXPECT_EQ(Allowed(*deny_index, q), !aws)
          << "deny topic/" << glob << ", publish " << topic << "\n"
          << deny.yaml;
      // The same texts as client ids; FleetPDP's leading wildcards never match ids starting
      // with "$" (a documented narrowing), so those are left out.
      if (topic[0] == '$') continue;
      q = MakeRequest("d", "mqtt:connect", topic);
      EXPECT_EQ(allow_index != nullptr && Allowed(*allow_index, q), aws)
          << "allow client/" << glob << ", connect " << topic << "\n"
          << allow.yaml;
      EXPECT_EQ(Allowed(*deny_index, q), !aws)
          << "deny client/" << glob << ", connect " << topic << "\n"
          << deny.yaml;
    }
    for (const std::string& filter : filters) {
      const bool aws = IamGlob(resolved, filter);
      Request q = MakeRequest("d", "mqtt:subscribe", filter);
      EXPECT_EQ(allow_index != nullptr && Allowed(*allow_index, q), aws)
          << "allow topicfilter/" << glob << ", subscribe " << filter << "\n"
          << allow.yaml;
      const bool allowed_despite_deny = Allowed(*deny_index, q);
      if (aws) {
        EXPECT_FALSE(allowed_despite_deny)
            << "deny topicfilter/" << glob << ", subscribe " << filter << "\n"
            << deny.yaml;
      } else if (iam_wildcard) {
        EXPECT_TRUE(allowed_despite_deny)
            << "deny topicfilter/" << glob << ", subscribe " << filter << "\n"
            << deny.yaml;
      }
    }
  }
}

TEST(AwsIotImportTest, LiteralPlusAndHashInTopicResourcesNeverMatchAndAreReported) {
  auto r =
      Convert(Policy(Allow(R"("iot:Publish")", "[" + Arn("topic/a/+/b") + ", " + Arn("topic/a/#") +
                                                   ", " + Arn("topic/ok") + "]")));
  EXPECT_THAT(Report(r),
              HasSubstr("Statement[0].Resource[0]: warning: \"+\" and \"#\" are literal"));
  EXPECT_THAT(Report(r),
              HasSubstr("Statement[0].Resource[1]: warning: \"+\" and \"#\" are literal"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/x/b")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/x")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "ok")));
  EXPECT_FALSE(r.HasErrors());
}

TEST(AwsIotImportTest, TopicFilterWildcardsAllowOnlyTheFilterWrittenLikeAws) {
  auto r = Convert(Policy(Allow(R"("iot:Subscribe")", Arn("topicfilter/fleet/+/announcements"))));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "fleet/+/announcements")));
  // AWS compares the filter as text: a narrower filter is not that text, so AWS refuses it.
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "fleet/eu/announcements")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "fleet/#")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "#")));
  // iot:Subscribe is not iot:Receive.
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:receive", "fleet/eu/announcements")));
  EXPECT_THAT(Report(r), HasSubstr("as text"));
}

TEST(AwsIotImportTest, TopicFilterResourcesDecideSubscriptionsExactlyAsAws) {
  const std::vector<std::string> globs = {
      "devices/${iot:ClientId}/#", "devices/*", "a/+/b", "*", "a/#", "a/+/#", "x/*/y", "s-?/+"};
  const std::vector<std::string> filters = {
      "devices/d1/#",
      "devices/d1/x",
      "devices/d2/#",
      "devices/#",
      "devices/+/t",
      "devices",
      "devices/",
      "#",
      "+",
      "a/+/b",
      "a/x/b",
      "a/#",
      "a/x",
      "a/+/#",
      "a/b/#",
      "x/q/y",
      "x/q/r/y",
      "x/+/y",
      "x/#",
      "s-1/+",
      "s-1/x",
      "s-12/+",
      "$aws/things/d1/shadow/update/accepted",
  };
  for (const std::string& glob : globs) {
    auto r = Convert(Policy(Allow(R"("iot:Subscribe")", Arn("topicfilter/" + glob))));
    auto index = CompileResult(r);
    ASSERT_NE(index, nullptr) << glob;
    std::string resolved = glob;
    if (size_t at = resolved.find("${iot:ClientId}"); at != std::string::npos) {
      resolved.replace(at, std::string("${iot:ClientId}").size(), "d1");
    }
    for (const std::string& filter : filters) {
      EXPECT_EQ(Allowed(*index, MakeRequest("d1", "mqtt:subscribe", filter)),
                IamGlob(resolved, filter))
          << "resource topicfilter/" << glob << ", filter " << filter << "\n"
          << r.yaml;
    }
  }
}

TEST(AwsIotImportTest, IotStarOnStarBecomesEveryMqttActionIncludingAwsReservedTopics) {
  auto r = Convert(Policy(Allow(R"("iot:*")", R"("*")")));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:connect", "anything")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/b/c")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:retain", "a")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:receive", "$aws/things/t/shadow/update")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "$aws/things/t/shadow/#")));
  // Not an AWS IoT topic: FleetPDP's leading wildcard does not reach it (reported as a note).
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "$SYS/#")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "ota:download", "a")));
  EXPECT_THAT(Report(r), HasSubstr("note: \"iot:*\" became the FleetPDP actions"));
  EXPECT_THAT(Report(r), HasSubstr("$SYS"));
  EXPECT_FALSE(r.HasErrors());
}

TEST(AwsIotImportTest, ThingAttributeConditionsReadPrincipalAttributes) {
  auto r = Convert(Policy(Allow(
      R"("iot:Connect")", Arn("client/${iot:ClientId}"),
      R"(, "Condition": {"StringEquals": {"iot:Connection.Thing.Attributes[region]": ["eu", "uk"]},
                         "IpAddress": {"aws:SourceIp": "10.20.0.0/16"}})")));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  auto request = [](const std::string& region, const std::string& ip) {
    Request q = MakeRequest("d1", "mqtt:connect", "d1");
    if (!region.empty()) engine::testing::AddAttribute(q.principal.attributes, "region", region);
    if (!ip.empty()) engine::testing::AddAttribute(q.context, "source_ip", ip);
    return q;
  };
  EXPECT_TRUE(Allowed(*index, request("eu", "10.20.3.4")));
  EXPECT_TRUE(Allowed(*index, request("uk", "10.20.3.4")));
  EXPECT_FALSE(Allowed(*index, request("us", "10.20.3.4")));
  EXPECT_FALSE(Allowed(*index, request("eu", "10.21.0.1")));
  EXPECT_FALSE(Allowed(*index, request("", "10.20.3.4")));
  EXPECT_FALSE(Allowed(*index, request("eu", "")));
}

TEST(AwsIotImportTest, ThingAttributeVariablesInResourcesNeverWidenTheTopic) {
  auto r = Convert(Policy(Allow(
      R"("iot:Publish")", Arn("topic/regions/${iot:Connection.Thing.Attributes[region]}/*"))));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  Request eu = MakeRequest("d1", "mqtt:publish", "regions/eu/x");
  engine::testing::AddAttribute(eu.principal.attributes, "region", "eu");
  EXPECT_TRUE(Allowed(*index, eu));
  eu.resource = "regions/us/x";
  EXPECT_FALSE(Allowed(*index, eu));
  // Without the attribute AWS cannot resolve the variable; FleetPDP's pattern matches nothing.
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:publish", "regions/eu/x")));
}

TEST(AwsIotImportTest, DenyWithWildcardsAndVariablesStillAppliesAndWins) {
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/devices/*")) + "," +
                          R"({"Effect": "Deny", "Action": "iot:Publish", "Resource": )" +
                          Arn("topic/devices/${iot:ClientId}/cmd/*") + "}"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("d1", "mqtt:publish", "devices/d1/telemetry")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:publish", "devices/d1/cmd/reboot")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d1", "mqtt:publish", "devices/d1/cmd/a/b")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d1", "mqtt:publish", "devices/d2/cmd/reboot")));
  // A client id holding "/" cannot dodge the deny: its variable sits in the StringLike condition,
  // not in a pattern (which would match nothing).
  EXPECT_FALSE(Allowed(*index, MakeRequest("d/1", "mqtt:publish", "devices/d/1/cmd/reboot")));
  EXPECT_THAT(r.yaml, HasSubstr("effect: deny"));
}

TEST(AwsIotImportTest, NotActionIsAnErrorNamingTheStatementAndTheRestIsConverted) {
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/ok")) + "," +
                          R"({"Effect": "Deny", "NotAction": "iot:Connect", "Resource": "*"})"));
  EXPECT_THAT(Report(r), HasSubstr("test.json: Statement[1]: error: NotAction is not supported"));
  EXPECT_TRUE(r.HasErrors());
  EXPECT_EQ(r.statements_in, 2);
  EXPECT_EQ(r.statements_skipped, 1);
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "ok")));
}

TEST(AwsIotImportTest, MalformedArnSkipsTheAllowStatement) {
  auto r = Convert(Policy(
      Allow(R"("iot:Publish")", "[" + Arn("topic/ok") + R"(, "arn:aws:iot:eu-west-1:1:topic"])") +
      "," + Allow(R"("iot:Publish")", Arn("topic/other"))));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0].Resource[1]: error: malformed resource "
                                   "\"arn:aws:iot:eu-west-1:1:topic\""));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0]: error: allow statement not converted"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "ok")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "other")));
}

TEST(AwsIotImportTest, AnUnconvertibleResourceOfADenyKeepsTheRestOfTheDeny) {
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/*")) + "," +
                          R"({"Effect": "Deny", "Action": "iot:Publish", "Resource": [")" + kArn +
                          R"(topic/${iot:Unknown}", ")" + kArn + R"(topic/secret/*"]})"));
  EXPECT_THAT(Report(r), HasSubstr("Statement[1].Resource[0]: error: variable ${iot:Unknown}: "
                                   "unknown or unsupported key"));
  EXPECT_THAT(Report(r), HasSubstr("the rest of this deny is kept"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "secret/x")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "public/x")));
}

TEST(AwsIotImportTest, AnUnknownVariableInAnAllowIsAnError) {
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/${iot:Nope}/x"))));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0].Resource: error: variable ${iot:Nope}"));
  EXPECT_TRUE(r.yaml.empty());
  EXPECT_THAT(Report(r), HasSubstr("no statement could be converted"));
}

TEST(AwsIotImportTest, InvalidJsonIsReportedWithLineAndColumn) {
  auto r = Convert("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [ }\n}");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(r.issues[0].line, 3);
  EXPECT_EQ(r.issues[0].column, 18);
  EXPECT_THAT(FormatImportIssue("p.json", r.issues[0]),
              HasSubstr("p.json:3:18: error: invalid JSON"));
  EXPECT_TRUE(r.yaml.empty());
  EXPECT_EQ(r.statements_in, 0);
}

TEST(AwsIotImportTest, AConditionFleetPdpCannotReadSkipsAnAllowButOnlyNarrowsADeny) {
  const std::string condition =
      R"(, "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}})";
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/a/*"), condition) + "," +
                          Allow(R"("iot:Publish")", Arn("topic/b/*")) + "," +
                          R"({"Effect": "Deny", "Action": "iot:Publish", "Resource": )" +
                          Arn("topic/b/secret") + condition + "}"));
  EXPECT_THAT(Report(r),
              HasSubstr("Statement[0].Condition.Bool[\"iot:Connection.Thing.IsAttached\"]: "
                        "error: condition not converted"));
  EXPECT_THAT(Report(r),
              HasSubstr("Statement[2].Condition.Bool[\"iot:Connection.Thing.IsAttached\"]: "
                        "warning: condition not converted"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "a/x")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "b/x")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "b/secret")));
}

TEST(AwsIotImportTest, IfExistsAndNullConditionsConvertWithTheirDifferenceReported) {
  auto r = Convert(Policy(Allow(
      R"("iot:Connect")", Arn("client/*"),
      R"(, "Condition": {"StringEqualsIfExists": {"iot:Connection.Thing.Attributes[tier]": "gold"},
                         "Null": {"iot:Connection.Thing.Attributes[banned]": "true"}})")));
  EXPECT_THAT(Report(r), HasSubstr("warning: StringEqualsIfExists holds in AWS when"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  Request gold = MakeRequest("d", "mqtt:connect", "d");
  engine::testing::AddAttribute(gold.principal.attributes, "tier", "gold");
  EXPECT_TRUE(Allowed(*index, gold));
  engine::testing::AddAttribute(gold.principal.attributes, "banned", "yes");
  EXPECT_FALSE(Allowed(*index, gold));  // Null true: the key must be absent
  // The narrowing the warning names: AWS would allow without a tier, FleetPDP does not.
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:connect", "d")));
}

TEST(AwsIotImportTest, ShadowApiActionsAreReportedAndNotGranted) {
  auto r = Convert(Policy(Allow(R"(["iot:GetThingShadow", "iot:UpdateThingShadow"])",
                                Arn("thing/${iot:Connection.Thing.ThingName}"))));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0].Action[0]: warning: \"iot:GetThingShadow\" is not "
                                   "an MQTT action"));
  EXPECT_TRUE(r.yaml.empty());
}

TEST(AwsIotImportTest, AResourceOfTheWrongTypeForItsActionIsReported) {
  auto r = Convert(Policy(Allow(R"("iot:Subscribe")", Arn("topic/a/b"))));
  EXPECT_THAT(Report(r), HasSubstr("Statement[0].Resource: warning: "));
  EXPECT_THAT(Report(r), HasSubstr("applies to none of this statement's MQTT actions"));
  EXPECT_TRUE(r.yaml.empty());
}

TEST(AwsIotImportTest, RetainPublishAndActionGlobsMapToTheirMqttActions) {
  auto r = Convert(Policy(Allow(R"("iot:RetainPublish")", Arn("topic/status/*")) + "," +
                          Allow(R"("iot:Pub*")", Arn("topic/logs/*"))));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:retain", "status/d")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:publish", "status/d")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:publish", "logs/d")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:receive", "logs/d")));
  EXPECT_THAT(Report(r), HasSubstr("Statement[1].Action: note: \"iot:Pub*\" became the FleetPDP "
                                   "actions for iot:Publish"));
}

// AWS compares a deny's topicfilter/ with the requested filter as text, so denying "a/#" does not
// stop "a/+" or "#" (the classic pitfall). FleetPDP denies every overlapping filter: stricter,
// reported as a warning.
TEST(AwsIotImportTest, ADenyOnATopicFilterDeniesEveryOverlappingFilter) {
  auto r = Convert(Policy(Allow(R"("iot:Subscribe")", Arn("topicfilter/*")) + "," +
                          R"({"Effect": "Deny", "Action": "iot:Subscribe", "Resource": )" +
                          Arn("topicfilter/a/#") + "}"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "a/#")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "a/+")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "#")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "b/#")));
  EXPECT_THAT(Report(r), HasSubstr("Statement[1].Resource: warning: stricter than AWS"));
}

// With IAM wildcards a deny's filter keeps AWS's text match (an MQTT superset such as "a/#" for
// "a/*/b" would deny unrelated filters like "a/x/c").
TEST(AwsIotImportTest, ADenyOnATopicFilterWithIamWildcardsMatchesTheTextLikeAws) {
  auto r = Convert(Policy(Allow(R"("iot:Subscribe")", Arn("topicfilter/*")) + "," +
                          R"({"Effect": "Deny", "Action": "iot:Subscribe", "Resource": )" +
                          Arn("topicfilter/a/*/b") + "}"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "a/x/b")));
  EXPECT_FALSE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "a/+/y/b")));
  EXPECT_TRUE(Allowed(*index, MakeRequest("d", "mqtt:subscribe", "a/x/c")));
}

TEST(AwsIotImportTest, DateConditionsOnTheCurrentTimeReadTheContextTime) {
  auto r = Convert(Policy(
      Allow(R"("iot:Connect")", Arn("client/*"),
            R"(, "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}})")));
  EXPECT_THAT(Report(r), HasSubstr("aws:CurrentTime became context.time"));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  Request q = MakeRequest("d", "mqtt:connect", "d");
  EXPECT_FALSE(Allowed(*index, q));  // no time sent: FleetPDP has no clock
  engine::testing::AddAttribute(q.context, "time", "2026-06-01T00:00:00Z");
  EXPECT_TRUE(Allowed(*index, q));
  q.context[0].values = {"2027-06-01T00:00:00Z"};
  EXPECT_FALSE(Allowed(*index, q));
}

TEST(AwsIotImportTest, ConditionValuesFleetPdpRejectsAreErrorsWithItsReason) {
  auto r =
      Convert(Policy(Allow(R"("iot:Connect")", Arn("client/*"),
                           R"(, "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.1/16"}})")));
  EXPECT_THAT(Report(r), HasSubstr("error: condition not converted: FleetPDP refuses it: "));
  EXPECT_THAT(Report(r), HasSubstr("10.20.0.1/16"));
  EXPECT_TRUE(r.yaml.empty());
}

TEST(AwsIotImportTest, PrincipalsDefaultToAGroupNamedLikeThePolicy) {
  auto r = Convert(Policy(Allow(R"("iot:Publish")", Arn("topic/a"))), /*any=*/false);
  EXPECT_THAT(r.yaml, HasSubstr("principals: {groups: [imported]}"));
  EXPECT_THAT(Report(r), HasSubstr("note: principals: group \"imported\""));
  auto index = CompileResult(r);
  ASSERT_NE(index, nullptr);
  Request member = MakeRequest("d", "mqtt:publish", "a");
  EXPECT_FALSE(Allowed(*index, member));
  member.principal.groups = {"imported"};
  EXPECT_TRUE(Allowed(*index, member));
}

TEST(AwsIotImportTest, CheckImportedPolicyReportsWhatFleetPdpRejects) {
  absl::Status s = CheckImportedPolicy(
      "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  principals: \"*\"\n"
      "  statements:\n    - {id: s, effect: allow, actions: [mqtt:publish], resources: "
      "[\"a/#/b\"]}\n",
      "out/x.yaml");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("out/x.yaml:7:"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"#\" must be the last level"));
}

TEST(AwsIotImportTest, ReadablePointersNameStatementsAndKeys) {
  EXPECT_EQ(ReadablePointer("/Statement/2/Resource/0"), "Statement[2].Resource[0]");
  EXPECT_EQ(ReadablePointer("/Statement/0/Condition/StringEquals/aws:SourceIp"),
            "Statement[0].Condition.StringEquals[\"aws:SourceIp\"]");
  EXPECT_EQ(ReadablePointer(""), "(document)");
  EXPECT_EQ(PolicyNameFromFile("dir/my policy.json"), "my-policy");
}

}  // namespace
}  // namespace fleetpdp::cli
