// Tests for engine/conditions.cc through the public API: each test compiles a small policy whose
// one allow statement carries the conditions under test, and asks whether a request is allowed.
// Allowed() also checks that the rule index and the reference evaluator agree.
#include "engine/conditions.h"

#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rule_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::engine::testing::AddAttribute;
using ::fleetpdp::engine::testing::Allowed;
using ::fleetpdp::engine::testing::CompileOrDie;
using ::fleetpdp::engine::testing::CompileYaml;
using ::fleetpdp::engine::testing::DecideBoth;
using ::fleetpdp::engine::testing::MakeRequest;
using ::testing::ElementsAre;

// A policy with one allow statement for mqtt:publish on devices/+/telemetry whose conditions are
// `conditions`: one or more lines such as `StringEquals: { context.v: "eu" }`.
std::string PolicyWithConditions(std::string_view conditions) {
  std::string policy = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: p
spec:
  principals: "*"
  statements:
    - id: s
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/+/telemetry"]
      conditions:
)";
  size_t start = 0;
  while (start < conditions.size()) {
    size_t end = conditions.find('\n', start);
    if (end == std::string_view::npos) end = conditions.size();
    if (end > start)
      policy.append("        ").append(conditions.substr(start, end - start)) += '\n';
    start = end + 1;
  }
  return policy;
}

// Entities shared by the tests about groups and bundle attributes.
constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - { id: sensors }
  - { id: cameras, parents: [sensors] }
  - { id: quarantined }
devices:
  - { id: cam-1, groups: [cameras], attributes: { region: eu, firmware: "2.4.1" } }
  - { id: cam-2, groups: [cameras, quarantined] }
services:
  - { id: ota, attributes: { tags: [signed, internal] } }
)";

Request Publish(std::string principal = "cam-1") {
  return MakeRequest(principal, "mqtt:publish", "devices/" + principal + "/telemetry");
}

// A publish request carrying context.v = value, or no context.v at all.
Request PublishWithValue(std::optional<std::string_view> value) {
  Request request = Publish();
  if (value) AddAttribute(request.context, "v", std::string(*value));
  return request;
}

void AddList(std::vector<Attribute>& to, std::string key, std::vector<std::string> values) {
  to.push_back(Attribute{std::move(key), std::move(values), /*is_list=*/true});
}

// Whether `request` is allowed by a policy whose statement has `conditions`.
bool Holds(std::string_view conditions, const Request& request) {
  std::shared_ptr<const RuleIndex> index = CompileYaml(PolicyWithConditions(conditions));
  if (index == nullptr) {
    ADD_FAILURE() << "policy did not compile: " << conditions;
    return false;
  }
  return Allowed(*index, request);
}

// The same, with kEntities in the bundle.
bool HoldsWithEntities(std::string_view conditions, const Request& request) {
  std::shared_ptr<const RuleIndex> index = CompileOrDie(
      {{"policy.yaml", PolicyWithConditions(conditions)}, {"entities.yaml", kEntities}});
  if (index == nullptr) {
    ADD_FAILURE() << "bundle did not compile: " << conditions;
    return false;
  }
  return Allowed(*index, request);
}

// `Op: { context.v: "operand" }`
std::string OnValue(std::string_view op, std::string_view operand) {
  return std::string(op) + ": { context.v: \"" + std::string(operand) + "\" }";
}

// ---------------------------------------------------------------------------------------------
// Every operator

struct OperatorCase {
  std::string_view op;
  std::string_view operand;
  std::optional<std::string_view> holds;  // a value of context.v that satisfies the condition;
  std::optional<std::string_view> fails;  // one that does not (nullopt: no context.v at all)
};

constexpr std::string_view kDate = "2026-01-31T00:00:00Z";

const OperatorCase kOperatorCases[] = {
    {"StringEquals", "eu", "eu", "EU"},
    {"StringNotEquals", "eu", "us", "eu"},
    {"StringEqualsIgnoreCase", "EU", "eu", "us"},
    {"StringNotEqualsIgnoreCase", "EU", "us", "Eu"},
    {"StringLike", "cam-*", "cam-7", "sensor-7"},
    {"StringNotLike", "cam-*", "sensor-7", "cam-7"},
    {"NumericEquals", "10", "10.0", "11"},
    {"NumericNotEquals", "10", "11", "1e1"},
    {"NumericLessThan", "10", "9.5", "10"},
    {"NumericLessThanEquals", "10", "10", "10.5"},
    {"NumericGreaterThan", "10", "10.5", "10"},
    {"NumericGreaterThanEquals", "10", "10", "9.99"},
    {"DateEquals", kDate, "2026-01-31T01:00:00+01:00", "2026-01-31T00:00:01Z"},
    {"DateNotEquals", kDate, "2026-01-31T00:00:01Z", "2026-01-30T23:00:00-01:00"},
    {"DateLessThan", kDate, "2026-01-30T23:59:59Z", kDate},
    {"DateLessThanEquals", kDate, kDate, "2026-01-31T00:00:01Z"},
    {"DateGreaterThan", kDate, "2026-01-31T00:00:01Z", kDate},
    {"DateGreaterThanEquals", kDate, kDate, "2026-01-30T23:59:59Z"},
    {"Bool", "true", "TRUE", "false"},
    {"IpAddress", "10.0.0.0/8", "10.1.2.3", "11.0.0.1"},
    {"NotIpAddress", "10.0.0.0/8", "11.0.0.1", "10.1.2.3"},
    {"SemverEquals", "2.1.0", "v2.1.0+build.7", "2.1.1"},
    {"SemverAtLeast", "2.1.0", "2.1.0", "2.0.9"},
    {"SemverBelow", "2.1.0", "2.0.9", "2.1.0"},
    {"Exists", "true", "anything", std::nullopt},
};

const OperatorCase* FindCase(std::string_view op) {
  for (const OperatorCase& c : kOperatorCases) {
    if (c.op == op) return &c;
  }
  return nullptr;
}

TEST(ConditionOperatorTest, EveryOperatorHasACaseHere) {
  for (const OperatorInfo& op : AllOperators()) {
    EXPECT_NE(FindCase(op.name), nullptr) << "no test case for operator " << op.name;
  }
  EXPECT_EQ(std::size(kOperatorCases), AllOperators().size());
}

TEST(ConditionOperatorTest, EveryOperatorHoldsForAMatchingValueAndNotForAnother) {
  for (const OperatorCase& c : kOperatorCases) {
    SCOPED_TRACE(OnValue(c.op, c.operand));
    EXPECT_TRUE(Holds(OnValue(c.op, c.operand), PublishWithValue(c.holds)))
        << "should hold for " << c.holds.value_or("(missing)");
    EXPECT_FALSE(Holds(OnValue(c.op, c.operand), PublishWithValue(c.fails)))
        << "should not hold for " << c.fails.value_or("(missing)");
  }
}

TEST(ConditionOperatorTest, MissingAttributeMakesEveryOperatorButExistsNotHold) {
  for (const OperatorInfo& op : AllOperators()) {
    if (op.type == OperatorType::kExists) continue;
    const OperatorCase* c = FindCase(op.name);
    ASSERT_NE(c, nullptr) << op.name;
    SCOPED_TRACE(OnValue(c->op, c->operand));
    EXPECT_FALSE(Holds(OnValue(c->op, c->operand), PublishWithValue(std::nullopt)))
        << (op.negated ? "a negated operator must not hold on a missing attribute either" : "");
  }
}

TEST(ConditionOperatorTest, UnparseableRequestValueDoesNotHoldEvenForNegatedOperators) {
  const struct {
    std::string_view op;
    std::string_view operand;
    std::string_view garbage;
  } kCases[] = {
      {"NotIpAddress", "10.0.0.0/8", "garbage"},
      {"IpAddress", "10.0.0.0/8", "10.0.0.1/32"},
      {"NumericNotEquals", "10", "ten"},
      {"NumericLessThan", "10", " 5"},
      {"DateNotEquals", kDate, "yesterday"},
      {"DateLessThan", kDate, "2026-01-01"},
      {"SemverBelow", "2.0.0", "latest"},
      {"SemverEquals", "2.0.0", "2.0.0.0"},
      {"Bool", "false", "no"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(OnValue(c.op, c.operand));
    EXPECT_FALSE(Holds(OnValue(c.op, c.operand), PublishWithValue(c.garbage))) << c.garbage;
  }
}

// ---------------------------------------------------------------------------------------------
// Several values

TEST(ConditionValuesTest, PositiveOperatorHoldsWhenAnyValueMatches) {
  const std::string condition = R"(StringEquals: { context.v: [eu, us] })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("eu")));
  EXPECT_TRUE(Holds(condition, PublishWithValue("us")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("ap")));
}

TEST(ConditionValuesTest, NumericOperatorHoldsWhenAnyValueCompares) {
  const std::string condition = R"(NumericLessThan: { context.v: [1, 5] })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("4")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("5")));
}

TEST(ConditionValuesTest, NegatedOperatorHoldsOnlyWhenNoValueMatches) {
  const std::string condition = R"(StringNotEquals: { context.v: [eu, us] })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("ap")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("eu")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("us")));
}

TEST(ConditionValuesTest, NotIpAddressHoldsOnlyOutsideEveryBlock) {
  const std::string condition = R"(NotIpAddress: { context.v: ["10.0.0.0/8", "192.168.0.0/16"] })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("172.16.0.1")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("10.9.9.9")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("192.168.1.1")));
}

TEST(ConditionValuesTest, StringNotLikeHoldsOnlyWhenNoPatternMatches) {
  const std::string condition = R"(StringNotLike: { context.v: ["cam-*", "sensor-*"] })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("gateway-1")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("sensor-1")));
}

// ---------------------------------------------------------------------------------------------
// Lists and quantifiers

Request PublishWithTags(std::optional<std::vector<std::string>> tags) {
  Request request = Publish();
  if (tags) AddList(request.context, "tags", *tags);
  return request;
}

TEST(ConditionQuantifierTest, ForAnyValueHoldsWhenOneListValueMatches) {
  const std::string condition = R"(ForAnyValue:StringEquals: { context.tags: signed })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"beta", "signed"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"beta", "unsigned"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags(std::nullopt)));
}

TEST(ConditionQuantifierTest, ForAllValuesHoldsWhenEveryListValueMatches) {
  const std::string condition = R"(ForAllValues:StringEquals: { context.tags: [signed, beta] })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"beta", "signed"}})));
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"signed"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"beta", "unsigned"}})));
}

TEST(ConditionQuantifierTest, ForAllValuesHoldsOnAnEmptyListButNotOnAMissingOne) {
  const std::string condition = R"(ForAllValues:StringEquals: { context.tags: signed })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags(std::nullopt)));
}

TEST(ConditionQuantifierTest, ForAllValuesWithANegatedOperatorExcludesEveryValue) {
  const std::string condition =
      R"(ForAllValues:StringNotEquals: { context.tags: [revoked, debug] })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"beta", "signed"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"beta", "debug"}})));
}

TEST(ConditionQuantifierTest, ForAnyValueWithANegatedOperatorNeedsOneValueOutside) {
  const std::string condition = R"(ForAnyValue:StringNotEquals: { context.tags: beta })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"beta", "signed"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"beta"}})));
}

TEST(ConditionQuantifierTest, NoQualifierDoesNotHoldOnATwoElementList) {
  const std::string condition = R"(StringEquals: { context.tags: signed })";
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"signed", "signed"}})));
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"signed", "beta"}})));
}

TEST(ConditionQuantifierTest, NoQualifierNegatedDoesNotHoldOnATwoElementList) {
  const std::string condition = R"(StringNotEquals: { context.tags: revoked })";
  EXPECT_FALSE(Holds(condition, PublishWithTags({{"beta", "signed"}})));
}

TEST(ConditionQuantifierTest, NoQualifierHoldsOnAOneElementList) {
  const std::string condition = R"(StringEquals: { context.tags: signed })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{"signed"}})));
}

TEST(ConditionQuantifierTest, ForAnyValueOnAListFromTheBundleEntity) {
  const std::string condition =
      R"(ForAnyValue:StringEquals: { principal.attributes.tags: signed })";
  Request ota = MakeRequest("ota", "mqtt:publish", "devices/ota/telemetry");
  EXPECT_TRUE(HoldsWithEntities(condition, ota));
  EXPECT_FALSE(HoldsWithEntities(condition, Publish("cam-1")));
}

// ---------------------------------------------------------------------------------------------
// principal.groups

TEST(ConditionGroupsTest, ForAnyValueSeesGroupsInheritedFromParents) {
  const std::string condition = R"(ForAnyValue:StringEquals: { principal.groups: sensors })";
  EXPECT_TRUE(HoldsWithEntities(condition, Publish("cam-1")));  // cameras → sensors
  EXPECT_FALSE(HoldsWithEntities(condition, Publish("stranger")));
}

TEST(ConditionGroupsTest, ForAnyValueSeesGroupsTheRequestNamesAndTheirParents) {
  const std::string condition = R"(ForAnyValue:StringEquals: { principal.groups: sensors })";
  Request request = Publish("cam-9");
  request.principal.groups = {"cameras"};
  EXPECT_TRUE(HoldsWithEntities(condition, request));
}

TEST(ConditionGroupsTest, ForAnyValueSeesRequestGroupsTheBundleDoesNotDeclare) {
  const std::string condition = R"(ForAnyValue:StringEquals: { principal.groups: lab })";
  Request request = Publish("cam-1");
  request.principal.groups = {"lab"};
  EXPECT_TRUE(HoldsWithEntities(condition, request));
  EXPECT_FALSE(HoldsWithEntities(condition, Publish("cam-1")));
}

TEST(ConditionGroupsTest, ForAllValuesStringNotEqualsExcludesAGroup) {
  const std::string condition =
      R"(ForAllValues:StringNotEquals: { principal.groups: quarantined })";
  EXPECT_TRUE(HoldsWithEntities(condition, Publish("cam-1")));
  EXPECT_FALSE(HoldsWithEntities(condition, Publish("cam-2")));
}

TEST(ConditionGroupsTest, ExistsOnGroupsNeedsAtLeastOneGroup) {
  EXPECT_TRUE(HoldsWithEntities(R"(Exists: { principal.groups: "true" })", Publish("cam-1")));
  EXPECT_FALSE(HoldsWithEntities(R"(Exists: { principal.groups: "true" })", Publish("stranger")));
  EXPECT_TRUE(HoldsWithEntities(R"(Exists: { principal.groups: "false" })", Publish("stranger")));
}

// ---------------------------------------------------------------------------------------------
// Exists

TEST(ConditionExistsTest, ExistsTrueHoldsWhenTheAttributeIsPresent) {
  const std::string condition = R"(Exists: { context.v: "true" })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("")));
  EXPECT_FALSE(Holds(condition, PublishWithValue(std::nullopt)));
}

TEST(ConditionExistsTest, ExistsFalseHoldsWhenTheAttributeIsMissing) {
  const std::string condition = R"(Exists: { context.v: "false" })";
  EXPECT_TRUE(Holds(condition, PublishWithValue(std::nullopt)));
  EXPECT_FALSE(Holds(condition, PublishWithValue("x")));
}

TEST(ConditionExistsTest, ExistsSeesAnEmptyListAsPresent) {
  const std::string condition = R"(Exists: { context.tags: "true" })";
  EXPECT_TRUE(Holds(condition, PublishWithTags({{}})));
}

// ---------------------------------------------------------------------------------------------
// Typed values

Request PublishFrom(std::string_view source_ip) {
  Request request = Publish();
  AddAttribute(request.context, "source_ip", std::string(source_ip));
  return request;
}

TEST(ConditionIpTest, Ipv6CidrContainsOnlyItsAddresses) {
  const std::string condition = R"(IpAddress: { context.source_ip: "2001:db8::/32" })";
  EXPECT_TRUE(Holds(condition, PublishFrom("2001:db8:abcd::1")));
  EXPECT_TRUE(Holds(condition, PublishFrom("2001:0DB8:0000::ffff")));
  EXPECT_FALSE(Holds(condition, PublishFrom("2001:db9::1")));
  EXPECT_FALSE(Holds(condition, PublishFrom("10.0.0.1")));
}

TEST(ConditionIpTest, Ipv4BlockDoesNotContainIpv6Addresses) {
  const std::string condition = R"(IpAddress: { context.source_ip: "0.0.0.0/0" })";
  EXPECT_TRUE(Holds(condition, PublishFrom("203.0.113.9")));
  EXPECT_FALSE(Holds(condition, PublishFrom("2001:db8::1")));
}

TEST(ConditionIpTest, Ipv4MappedIpv6AddressIsAnIpv4Address) {
  const std::string condition = R"(IpAddress: { context.source_ip: "10.0.0.0/8" })";
  EXPECT_TRUE(Holds(condition, PublishFrom("::ffff:10.1.2.3")));
}

TEST(ConditionIpTest, SingleAddressIsAFullLengthBlock) {
  EXPECT_TRUE(
      Holds(R"(IpAddress: { context.source_ip: "192.168.1.10" })", PublishFrom("192.168.1.10")));
  EXPECT_FALSE(
      Holds(R"(IpAddress: { context.source_ip: "192.168.1.10" })", PublishFrom("192.168.1.11")));
  EXPECT_TRUE(Holds(R"(IpAddress: { context.source_ip: "::1" })", PublishFrom("::1")));
}

TEST(ConditionIpTest, NotIpAddressWithGarbageSourceIpDoesNotHold) {
  const std::string condition = R"(NotIpAddress: { context.source_ip: "10.0.0.0/8" })";
  EXPECT_TRUE(Holds(condition, PublishFrom("192.0.2.1")));
  EXPECT_FALSE(Holds(condition, PublishFrom("garbage")));
  EXPECT_FALSE(Holds(condition, Publish()));
}

Request PublishAt(std::string_view time) {
  Request request = Publish();
  AddAttribute(request.context, "time", std::string(time));
  return request;
}

TEST(ConditionDateTest, TimeWindowFromTwoDateConditions) {
  const std::string conditions = R"(
DateGreaterThanEquals: { context.time: "2026-01-01T00:00:00Z" }
DateLessThan: { context.time: "2027-01-01T00:00:00Z" }
)";
  EXPECT_TRUE(Holds(conditions, PublishAt("2026-01-01T00:00:00Z")));
  EXPECT_TRUE(Holds(conditions, PublishAt("2026-06-15T12:00:00.250+02:00")));
  EXPECT_FALSE(Holds(conditions, PublishAt("2025-12-31T23:59:59Z")));
  EXPECT_FALSE(Holds(conditions, PublishAt("2027-01-01T00:00:00Z")));
  // 23:30 at UTC-1 is already 00:30 UTC on 2027-01-01.
  EXPECT_FALSE(Holds(conditions, PublishAt("2026-12-31T23:30:00-01:00")));
  EXPECT_FALSE(Holds(conditions, Publish()));
}

Request PublishWithFirmware(std::string_view version) {
  Request request = Publish("cam-9");
  AddAttribute(request.principal.attributes, "firmware", std::string(version));
  return request;
}

TEST(ConditionSemverTest, SemverAtLeastPutsAPrereleaseBelowItsRelease) {
  const std::string condition = R"(SemverAtLeast: { principal.attributes.firmware: "2.0.0" })";
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("2.0.0")));
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("10.0.0")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("2.0.0-rc.1")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("1.99.99")));
}

TEST(ConditionSemverTest, SemverBelowHoldsForAPrereleaseOfTheBound) {
  const std::string condition = R"(SemverBelow: { principal.attributes.firmware: "2.0.0" })";
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("2.0.0-rc.1")));
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("1.9.0")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("2.0.0")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("2.0.0+build.1")));
}

TEST(ConditionSemverTest, PrereleasesCompareByTheirIdentifiers) {
  const std::string condition = R"(SemverAtLeast: { principal.attributes.firmware: "2.0.0-rc.2" })";
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("2.0.0-rc.10")));
  EXPECT_TRUE(Holds(condition, PublishWithFirmware("2.0.0")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("2.0.0-rc.1")));
  EXPECT_FALSE(Holds(condition, PublishWithFirmware("2.0.0-beta")));
}

// ---------------------------------------------------------------------------------------------
// StringLike and variables

TEST(ConditionStringLikeTest, StarMatchesAnyRunAndQuestionMarkOneCharacter) {
  const std::string condition = R"(StringLike: { context.v: "cam-??-*" })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("cam-01-eu")));
  EXPECT_TRUE(Holds(condition, PublishWithValue("cam-01-")));
  EXPECT_TRUE(Holds(condition, PublishWithValue("cam-é1-x")));  // '?' is one code point
  EXPECT_FALSE(Holds(condition, PublishWithValue("cam-1-eu")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("cam-010")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("xcam-01-eu")));
}

TEST(ConditionStringLikeTest, PatternWithoutWildcardsMatchesOnlyItself) {
  const std::string condition = R"(StringLike: { context.v: "cam" })";
  EXPECT_TRUE(Holds(condition, PublishWithValue("cam")));
  EXPECT_FALSE(Holds(condition, PublishWithValue("cam1")));
}

Request PublishWithHost(std::string principal, std::string_view host) {
  Request request = MakeRequest(principal, "mqtt:publish", "devices/x/telemetry");
  AddAttribute(request.context, "host", std::string(host));
  return request;
}

TEST(ConditionVariableTest, StringLikeVariableIsSubstituted) {
  const std::string condition = R"(StringLike: { context.host: "${principal.id}.example.com" })";
  EXPECT_TRUE(Holds(condition, PublishWithHost("cam", "cam.example.com")));
  EXPECT_FALSE(Holds(condition, PublishWithHost("cam", "cam2.example.com")));
}

TEST(ConditionVariableTest, StarInAVariableValueIsNotAWildcardInStringLike) {
  const std::string condition = R"(StringLike: { context.host: "${principal.id}.example.com" })";
  EXPECT_FALSE(Holds(condition, PublishWithHost("*", "cam.example.com")));
  EXPECT_TRUE(Holds(condition, PublishWithHost("*", "*.example.com")));
}

TEST(ConditionVariableTest, QuestionMarkInAVariableValueIsNotAWildcardInStringLike) {
  const std::string condition = R"(StringLike: { context.host: "${principal.id}.example.com" })";
  EXPECT_FALSE(Holds(condition, PublishWithHost("ca?", "cam.example.com")));
  EXPECT_TRUE(Holds(condition, PublishWithHost("ca?", "ca?.example.com")));
}

TEST(ConditionVariableTest, WildcardsOfThePatternStillWorkAroundAVariable) {
  const std::string condition = R"(StringLike: { context.host: "*.${principal.id}.example.?om" })";
  EXPECT_TRUE(Holds(condition, PublishWithHost("eu", "cam-1.eu.example.com")));
  EXPECT_FALSE(Holds(condition, PublishWithHost("eu", "cam-1.us.example.com")));
  EXPECT_FALSE(Holds(condition, PublishWithHost("*", "cam-1.eu.example.com")));
}

TEST(ConditionVariableTest, StarInAVariableValueIsNotAWildcardInStringEquals) {
  const std::string condition = R"(StringEquals: { context.host: "${principal.id}.example.com" })";
  EXPECT_TRUE(Holds(condition, PublishWithHost("cam", "cam.example.com")));
  EXPECT_FALSE(Holds(condition, PublishWithHost("*", "cam.example.com")));
  EXPECT_TRUE(Holds(condition, PublishWithHost("*", "*.example.com")));
}

TEST(ConditionVariableTest, MissingVariableMakesTheConditionNotHoldEvenWhenNegated) {
  Request without_site = PublishWithHost("cam", "eu.example.com");
  Request with_site = without_site;
  AddAttribute(with_site.principal.attributes, "site", "us");
  const std::string negated =
      R"(StringNotEquals: { context.host: "${principal.attributes.site}.example.com" })";
  EXPECT_TRUE(Holds(negated, with_site));
  EXPECT_FALSE(Holds(negated, without_site));
  const std::string like = R"(StringNotLike: { context.host: "${principal.attributes.site}*" })";
  EXPECT_TRUE(Holds(like, with_site));
  EXPECT_FALSE(Holds(like, without_site));
}

// ---------------------------------------------------------------------------------------------
// What a condition reads

TEST(ConditionAttributesTest, BundleEntityAttributeWinsOverTheRequest) {
  Request request = Publish("cam-1");
  AddAttribute(request.principal.attributes, "region", "us");
  EXPECT_TRUE(HoldsWithEntities(R"(StringEquals: { principal.attributes.region: eu })", request));
  EXPECT_FALSE(HoldsWithEntities(R"(StringEquals: { principal.attributes.region: us })", request));
}

TEST(ConditionAttributesTest, RequestAttributesAddToTheBundleEntity) {
  Request request = Publish("cam-1");
  AddAttribute(request.principal.attributes, "tier", "gold");
  EXPECT_TRUE(HoldsWithEntities(R"(StringEquals: { principal.attributes.tier: gold })", request));
  EXPECT_TRUE(HoldsWithEntities(R"(StringEquals: { principal.attributes.region: eu })", request));
}

TEST(ConditionAttributesTest, RequestAttributesServeAPrincipalTheBundleDoesNotKnow) {
  Request request = Publish("cam-9");
  AddAttribute(request.principal.attributes, "region", "us");
  EXPECT_TRUE(HoldsWithEntities(R"(StringEquals: { principal.attributes.region: us })", request));
}

TEST(ConditionAttributesTest, BundleEntityTypeWinsOverTheRequest) {
  Request request = Publish("cam-1");
  request.principal.type = "service";
  EXPECT_TRUE(HoldsWithEntities(R"(StringEquals: { principal.type: device })", request));
  EXPECT_FALSE(HoldsWithEntities(R"(StringEquals: { principal.type: service })", request));
}

TEST(ConditionAttributesTest, BundleEntityAttributeFeedsASemverCondition) {
  Request request = Publish("cam-1");
  AddAttribute(request.principal.attributes, "firmware", "9.0.0");
  EXPECT_TRUE(
      HoldsWithEntities(R"(SemverBelow: { principal.attributes.firmware: "3.0.0" })", request));
}

TEST(ConditionAttributesTest, ActionAndResourceCanBeConditionKeys) {
  EXPECT_TRUE(Holds(R"(StringLike: { resource: "devices/cam-*/telemetry" })", Publish("cam-1")));
  EXPECT_FALSE(Holds(R"(StringLike: { resource: "devices/cam-*/telemetry" })", Publish("gw-1")));
  EXPECT_TRUE(Holds(R"(StringEquals: { action: "mqtt:publish" })", Publish()));
  EXPECT_FALSE(Holds(R"(StringNotEquals: { action: "mqtt:publish" })", Publish()));
}

// ---------------------------------------------------------------------------------------------
// Several conditions

TEST(ConditionStatementTest, EveryConditionOfAStatementMustHold) {
  const std::string conditions = R"(
StringEquals: { context.region: eu }
NumericLessThanEquals: { context.qos: 1 }
)";
  Request request = Publish();
  AddAttribute(request.context, "region", "eu");
  AddAttribute(request.context, "qos", "1");
  EXPECT_TRUE(Holds(conditions, request));

  Request wrong_qos = Publish();
  AddAttribute(wrong_qos.context, "region", "eu");
  AddAttribute(wrong_qos.context, "qos", "2");
  EXPECT_FALSE(Holds(conditions, wrong_qos));

  Request wrong_region = Publish();
  AddAttribute(wrong_region.context, "region", "us");
  AddAttribute(wrong_region.context, "qos", "0");
  EXPECT_FALSE(Holds(conditions, wrong_region));
}

TEST(ConditionStatementTest, EveryAttributeOfOneOperatorMustHold) {
  const std::string condition = R"(StringEquals: { context.region: eu, context.protocol: mqtts })";
  Request request = Publish();
  AddAttribute(request.context, "region", "eu");
  AddAttribute(request.context, "protocol", "mqtts");
  EXPECT_TRUE(Holds(condition, request));
  Request plain = Publish();
  AddAttribute(plain.context, "region", "eu");
  AddAttribute(plain.context, "protocol", "mqtt");
  EXPECT_FALSE(Holds(condition, plain));
}

TEST(ConditionStatementTest, ConditionDecidesWhetherADenyApplies) {
  std::shared_ptr<const RuleIndex> index = CompileYaml(R"(apiVersion: fleetpdp/v1
kind: Policy
metadata:
  name: p
spec:
  principals: "*"
  statements:
    - id: telemetry
      effect: allow
      actions: [mqtt:publish]
      resources: ["devices/+/telemetry"]
    - id: outside-network
      effect: deny
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
        NotIpAddress: { context.source_ip: ["10.0.0.0/8", "fd00::/8"] }
)");
  ASSERT_NE(index, nullptr);
  for (std::string_view inside : {"10.1.1.1", "fd12::1"}) {
    SCOPED_TRACE(inside);
    Decision d = DecideBoth(*index, PublishFrom(inside));
    EXPECT_EQ(d.reason, Reason::kAllowed);
    EXPECT_THAT(index->StatementNames(d), ElementsAre("p/telemetry"));
  }
  Decision outside = DecideBoth(*index, PublishFrom("198.51.100.7"));
  EXPECT_EQ(outside.reason, Reason::kExplicitDeny);
  EXPECT_THAT(index->StatementNames(outside), ElementsAre("p/outside-network"));
}

}  // namespace
}  // namespace fleetpdp::engine

namespace fleetpdp::engine {
namespace {

// Uncertainty never helps a request: an undecidable condition blocks an allow and lets a deny
// apply. The policy allows all telemetry and denies publishes whose condition says so.
std::shared_ptr<const RuleIndex> AllowWithGuardedDeny(std::string_view deny_conditions) {
  std::string yaml = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: "*"
  statements:
    - {id: telemetry, effect: allow, actions: [mqtt:publish], resources: ["devices/+/telemetry"]}
    - id: guard
      effect: deny
      actions: [mqtt:publish]
      resources: ["devices/#"]
      conditions:
)";
  yaml += "        " + std::string(deny_conditions) + "\n";
  return testing::CompileYaml(yaml);
}

Reason ReasonFor(const RuleIndex& index, const Request& r) {
  return testing::DecideBoth(index, r).reason;
}

TEST(UnknownConditionTest, DenyGuardedByNotIpAddressAppliesWhenSourceIpIsMissing) {
  auto index = AllowWithGuardedDeny(R"(NotIpAddress: { context.source_ip: "10.0.0.0/8" })");
  EXPECT_EQ(ReasonFor(*index, Publish()), Reason::kExplicitDeny);
  EXPECT_EQ(ReasonFor(*index, PublishFrom("10.2.3.4")), Reason::kAllowed);
  EXPECT_EQ(ReasonFor(*index, PublishFrom("192.0.2.1")), Reason::kExplicitDeny);
}

TEST(UnknownConditionTest, DenyAppliesWhenTheRequestValueDoesNotParse) {
  auto index = AllowWithGuardedDeny(R"(NotIpAddress: { context.source_ip: "10.0.0.0/8" })");
  EXPECT_EQ(ReasonFor(*index, PublishFrom("garbage")), Reason::kExplicitDeny);
}

TEST(UnknownConditionTest, DenyWithAPositiveOperatorAppliesWhenTheAttributeIsMissing) {
  auto index = AllowWithGuardedDeny(R"(StringEquals: { context.v: "legacy" })");
  EXPECT_EQ(ReasonFor(*index, PublishWithValue(std::nullopt)), Reason::kExplicitDeny);
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("modern")), Reason::kAllowed);
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("legacy")), Reason::kExplicitDeny);
}

TEST(UnknownConditionTest, DenyDoesNotApplyWhenAnotherConditionDefinitelyFails) {
  auto index = AllowWithGuardedDeny(
      R"({NotIpAddress: { context.source_ip: "10.0.0.0/8" }, StringEquals: { context.v: "x" }})");
  // source_ip unknown, v definitely not "x": the deny cannot apply.
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("y")), Reason::kAllowed);
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("x")), Reason::kExplicitDeny);
}

TEST(UnknownConditionTest, ExistsGuardLetsAnAuthorOptOutOfFailClosed) {
  auto index = AllowWithGuardedDeny(
      R"({Exists: { context.v: true }, StringEquals: { context.v: "legacy" }})");
  EXPECT_EQ(ReasonFor(*index, PublishWithValue(std::nullopt)), Reason::kAllowed);
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("legacy")), Reason::kExplicitDeny);
}

TEST(UnknownConditionTest, ForAnyValueHoldsWhenOneValueMatchesDespiteAnUnparseableOne) {
  Request r = Publish();
  AddList(r.context, "ips", {"garbage", "10.0.0.1"});
  EXPECT_TRUE(Holds(R"(ForAnyValue:IpAddress: { context.ips: "10.0.0.0/8" })", r));
}

TEST(UnknownConditionTest, ForAllValuesWithAnUnparseableValueIsUnknown) {
  Request r = Publish();
  AddList(r.context, "ips", {"garbage", "10.0.0.1"});
  EXPECT_FALSE(Holds(R"(ForAllValues:IpAddress: { context.ips: "10.0.0.0/8" })", r));
  auto index = AllowWithGuardedDeny(R"(ForAllValues:IpAddress: { context.ips: "10.0.0.0/8" })");
  EXPECT_EQ(ReasonFor(*index, r), Reason::kExplicitDeny);
  Request outside = Publish();
  AddList(outside.context, "ips", {"garbage", "192.0.2.1"});
  EXPECT_EQ(ReasonFor(*index, outside), Reason::kAllowed);  // one value definitely fails
}

TEST(UnknownConditionTest, AnEmptyVariableDoesNotTurnAStringLikePatternIntoAStar) {
  Request r = Publish();
  AddAttribute(r.principal.attributes, "prefix", "");
  AddAttribute(r.context, "v", "anything");
  EXPECT_FALSE(Holds(R"(StringLike: { context.v: "${principal.attributes.prefix}*" })", r));
  Request set = Publish();
  AddAttribute(set.principal.attributes, "prefix", "any");
  AddAttribute(set.context, "v", "anything");
  EXPECT_TRUE(Holds(R"(StringLike: { context.v: "${principal.attributes.prefix}*" })", set));
}

TEST(UnknownConditionTest, DenyWithAMissingVariableInItsValueApplies) {
  auto index =
      AllowWithGuardedDeny(R"(StringNotEquals: { context.v: "${principal.attributes.owner}" })");
  EXPECT_EQ(ReasonFor(*index, PublishWithValue("a")), Reason::kExplicitDeny);
}

// ---------------------------------------------------------------------------------------------
// Parsed request values (ParsedValues): parsed once per request, the same answers as without.

TEST(ParsedValuesTest, ParsesEachTextOnceAndReturnsTheSameValue) {
  ParsedValues parsed;
  const std::string ip = "10.1.2.3";
  const std::optional<IpAddress>& first = parsed.Ip(ip);
  ASSERT_TRUE(first.has_value());
  const IpAddress copy = *first;
  EXPECT_EQ(&parsed.Ip(ip), &first);  // the cached slot, not a second parse
  EXPECT_EQ(*parsed.Ip(ip), copy);
}

TEST(ParsedValuesTest, KeysByWhereTheTextLivesSoEqualTextsElsewhereParseOnTheirOwn) {
  ParsedValues parsed;
  const std::string a = "2.3.0-rc.1";
  const std::string b = "2.3.0-rc.1";
  const std::string bad = "two";
  EXPECT_EQ(parsed.Version(a)->prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_EQ(parsed.Version(b)->prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_FALSE(parsed.Version(bad).has_value());
  EXPECT_FALSE(parsed.Number(bad).has_value());
  EXPECT_EQ(*parsed.Number(std::string_view(a).substr(0, 1)), 2.0);
}

TEST(ParsedValuesTest, StaysCorrectBeyondItsCapacity) {
  ParsedValues parsed;
  std::vector<std::string> texts;
  for (int i = 0; i < 20; ++i) texts.push_back(std::to_string(i));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) EXPECT_EQ(*parsed.Number(texts[i]), i);
  }
  const std::string date = "2026-01-31T00:00:00Z";
  EXPECT_EQ(*parsed.Date(date), absl::FromUnixSeconds(1769817600));
}

TEST(ParsedValuesTest, ConditionsGiveTheSameAnswersWithAndWithoutParsedValues) {
  const std::string conditions[] = {
      R"(IpAddress: { context.v: "10.0.0.0/8" })",
      R"(NotIpAddress: { context.v: "10.0.0.0/8" })",
      R"(SemverAtLeast: { context.v: "2.1.0" })",
      R"(NumericLessThan: { context.v: "5" })",
      R"(DateLessThan: { context.v: "2026-01-31T00:00:00Z" })",
  };
  const std::string values[] = {
      "10.1.2.3", "11.0.0.1", "2.1.0", "2.0.9-rc.1", "3", "7", "2026-01-30T00:00:00Z", "garbage"};
  for (const std::string& text : conditions) {
    std::shared_ptr<const RuleIndex> index = CompileYaml(PolicyWithConditions(text));
    ASSERT_NE(index, nullptr);
    const CompiledCondition& c = index->statement(0).conditions.front();
    ParsedValues parsed;  // shared by every request below, as by the conditions of one request
    std::vector<Request> requests;
    for (const std::string& v : values) requests.push_back(PublishWithValue(v));
    for (int round = 0; round < 2; ++round) {
      for (const Request& r : requests) {
        RequestView view(r, nullptr);
        EXPECT_EQ(EvaluateCondition(c, view, {}, &parsed), EvaluateCondition(c, view, {}))
            << text << " on " << r.context.front().values.front();
      }
    }
  }
}

TEST(ConditionStringTest, OperandsWithoutVariablesAreComparedAsWritten) {
  std::shared_ptr<const RuleIndex> index = CompileYaml(
      PolicyWithConditions(R"(StringEquals: { context.v: ["eu", "${principal.id}-x"] })"));
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->statement(0).conditions.front().operands_have_variables);
  std::shared_ptr<const RuleIndex> plain =
      CompileYaml(PolicyWithConditions(R"(StringEquals: { context.v: ["eu", "us"] })"));
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->statement(0).conditions.front().operands_have_variables);
  EXPECT_TRUE(Allowed(*index, PublishWithValue("cam-1-x")));
  EXPECT_FALSE(Allowed(*index, PublishWithValue("cam-1-")));
  EXPECT_FALSE(Allowed(*index, PublishWithValue("cam-1-xx")));
  EXPECT_TRUE(Allowed(*plain, PublishWithValue("us")));
  EXPECT_FALSE(Allowed(*plain, PublishWithValue("u")));
}

TEST(ConditionStringTest, IgnoreCaseComparesEverySubstitutedPieceIgnoringCase) {
  Request r = PublishWithValue("CAM-1-EU");
  EXPECT_TRUE(Holds(R"(StringEqualsIgnoreCase: { context.v: "${principal.id}-eu" })", r));
  EXPECT_FALSE(Holds(R"(StringEqualsIgnoreCase: { context.v: "${principal.id}-e" })", r));
}

TEST(PackedConditionTest, PacksOnlyTheSimpleShapes) {
  auto packs = [](std::string_view conditions) {
    std::shared_ptr<const RuleIndex> index = CompileYaml(PolicyWithConditions(conditions));
    if (index == nullptr) return false;
    return PackedCondition::Pack(index->statement(0).conditions.front()).has_value();
  };
  EXPECT_TRUE(packs(R"(StringEquals: { principal.attributes.region: "eu" })"));
  EXPECT_TRUE(packs(R"(NotIpAddress: { context.source_ip: "10.0.0.0/8" })"));
  EXPECT_TRUE(packs(R"(SemverAtLeast: { principal.attributes.firmware: "2.1.0" })"));
  EXPECT_FALSE(packs(R"(SemverAtLeast: { principal.attributes.firmware: "2.1.0-rc.1" })"));
  EXPECT_FALSE(packs(R"(StringEquals: { context.v: ["eu", "us"] })"));
  EXPECT_FALSE(packs(R"(StringEquals: { context.v: "${principal.id}" })"));
  EXPECT_FALSE(packs(R"(StringEquals: { principal.type: "device" })"));
  EXPECT_FALSE(packs(R"(ForAnyValue:StringEquals: { context.v: "eu" })"));
  EXPECT_FALSE(packs(R"(StringEqualsIgnoreCase: { context.v: "eu" })"));
  EXPECT_FALSE(packs(R"(NumericLessThan: { context.v: "5" })"));
}

TEST(PackedConditionTest, DecidesExactlyAsTheConditionItWasPackedFrom) {
  const std::string conditions[] = {
      R"(StringEquals: { context.v: "eu" })",
      R"(StringNotEquals: { context.v: "eu" })",
      R"(StringEquals: { context.v: "" })",
      R"(IpAddress: { context.v: "10.0.0.0/8" })",
      R"(NotIpAddress: { context.v: "2001:db8::/32" })",
      R"(SemverAtLeast: { context.v: "2.1.0" })",
      R"(SemverBelow: { context.v: "2.1.0" })",
      R"(SemverEquals: { context.v: "2" })",
  };
  std::vector<Request> requests;
  requests.push_back(Publish());  // no context.v
  for (const char* v : {"eu", "EU", "", "10.1.2.3", "2001:db8::1", "11.0.0.1", "2.1.0",
                        "2.1.0-rc.1", "v2.0.0+build", "2.2", "garbage"}) {
    requests.push_back(PublishWithValue(v));
  }
  Request list = Publish();
  AddList(list.context, "v", {"eu"});
  requests.push_back(list);
  Request pair = Publish();
  AddList(pair.context, "v", {"eu", "us"});
  requests.push_back(pair);
  for (const std::string& text : conditions) {
    std::shared_ptr<const RuleIndex> index = CompileYaml(PolicyWithConditions(text));
    ASSERT_NE(index, nullptr);
    const CompiledCondition& c = index->statement(0).conditions.front();
    std::optional<PackedCondition> packed = PackedCondition::Pack(c);
    ASSERT_TRUE(packed.has_value()) << text;
    for (const Request& r : requests) {
      RequestView view(r, nullptr);
      ParsedValues parsed;
      EXPECT_EQ(packed->Evaluate(view, &parsed), EvaluateCondition(c, view, {})) << text;
      EXPECT_EQ(packed->Evaluate(view, nullptr), EvaluateCondition(c, view, {})) << text;
    }
  }
}

}  // namespace
}  // namespace fleetpdp::engine
