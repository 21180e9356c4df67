#include "engine/policy_tests.h"

#include "engine/engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: "*"
  statements:
    - {id: own, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/#"]}
    - {id: no-cmd, effect: deny, actions: [mqtt:publish], resources: ["d/+/cmd"]}
)";

std::vector<TestResult> RunTests(const std::string& tests, std::vector<TestCase>& storage) {
  ParsedSources parsed;
  ValidationReport report =
      ParseSources(std::vector<SourceFile>{{"p.yaml", kPolicy}, {"t.yaml", tests}}, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  storage = parsed.tests;
  auto index = Compile(parsed.set);
  EXPECT_TRUE(index.ok());
  return RunPolicyTests(**index, storage);
}

TEST(RunPolicyTestsTest, PassesWhenDecisionReasonAndStatementsMatch) {
  std::vector<TestCase> storage;
  auto results = RunTests(R"(
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: s}
cases:
  - {name: own, principal: a, action: mqtt:publish, resource: d/a/x, expect: allow,
     reason: ALLOWED, statements: [p/own]}
  - {name: cmd, principal: a, action: mqtt:publish, resource: d/a/cmd, expect: deny,
     reason: EXPLICIT_DENY, statements: [p/no-cmd]}
)",
                          storage);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].passed) << results[0].failure;
  EXPECT_TRUE(results[1].passed) << results[1].failure;
}

TEST(RunPolicyTestsTest, FailsOnTheWrongDecisionAndSaysWhatItGot) {
  std::vector<TestCase> storage;
  auto results = RunTests(R"(
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: s}
cases:
  - {name: wrong, principal: a, action: mqtt:publish, resource: d/b/x, expect: allow}
)",
                          storage);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].passed);
  EXPECT_EQ(results[0].failure, "expected ALLOW, got DENY (DEFAULT_DENY)");
}

TEST(RunPolicyTestsTest, FailsOnTheWrongReasonOrStatements) {
  std::vector<TestCase> storage;
  auto results = RunTests(R"(
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: s}
cases:
  - {name: reason, principal: a, action: mqtt:publish, resource: d/a/cmd, expect: deny,
     reason: DEFAULT_DENY}
  - {name: statements, principal: a, action: mqtt:publish, resource: d/a/x, expect: allow,
     statements: [p/other]}
)",
                          storage);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].passed);
  EXPECT_THAT(results[0].failure,
              HasSubstr("expected reason DEFAULT_DENY, got DENY (EXPLICIT_DENY: p/no-cmd)"));
  EXPECT_FALSE(results[1].passed);
  EXPECT_THAT(results[1].failure,
              HasSubstr("expected statements [p/other], got ALLOW (ALLOWED: p/own)"));
}

TEST(RunPolicyTestsTest, AnInvalidRequestFailsTheTestInsteadOfPassingAsADeny) {
  std::vector<TestCase> storage;
  auto results = RunTests(R"(
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: s}
cases:
  - {name: wildcard publish, principal: a, action: mqtt:publish, resource: "d/+/x", expect: deny}
)",
                          storage);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].passed);
  EXPECT_THAT(results[0].failure,
              HasSubstr("invalid request: resource: topic \"d/+/x\" contains a wildcard"));
}

TEST(RunPolicyTestsTest, ASuiteWithoutMetadataIsNamedByItsFile) {
  std::vector<TestCase> storage;
  auto results = RunTests(R"(
apiVersion: fleetpdp/v1
kind: PolicyTest
cases:
  - {name: own, principal: a, action: mqtt:publish, resource: d/a/x, expect: allow}
)",
                          storage);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].test->suite, "t.yaml");
}

}  // namespace
}  // namespace fleetpdp::engine
