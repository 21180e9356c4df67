// Policy unit tests: requests with the decision the author expects, kept in a bundle's tests/
// directory as `kind: PolicyTest` documents and run by `fleetpdp test` and `fleetpdp bundle build`.
//
//   std::vector<TestResult> results = RunPolicyTests(*index, cases);
//
// Thread safety: pure functions over immutable inputs.
#ifndef FLEETPDP_ENGINE_POLICY_TESTS_H_
#define FLEETPDP_ENGINE_POLICY_TESTS_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/policy.h"
#include "engine/request.h"

namespace fleetpdp::engine {

class RuleIndex;

struct TestCase {
  std::string suite;  // metadata.name of the PolicyTest document
  std::string name;
  Request request;
  bool expect_allow = false;
  std::optional<Reason> expect_reason;                        // checked when given
  std::optional<std::vector<std::string>> expect_statements;  // "policy/statement", any order
  SourceLocation location;
};

struct TestResult {
  const TestCase* test = nullptr;
  bool passed = false;
  std::string failure;  // what differed, e.g. `expected ALLOW, got DENY (DEFAULT_DENY)`
  Decision decision;
};

std::vector<TestResult> RunPolicyTests(const RuleIndex& index, const std::vector<TestCase>& tests);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_POLICY_TESTS_H_
