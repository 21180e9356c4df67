#include "engine/policy_tests.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"

namespace fleetpdp::engine {
namespace {

std::string Describe(const RuleIndex& index, const Decision& d) {
  std::string s = absl::StrCat(d.allowed ? "ALLOW" : "DENY", " (", Absl(ReasonName(d.reason)));
  if (!d.statements.empty())
    absl::StrAppend(&s, ": ", absl::StrJoin(index.StatementNames(d), ", "));
  return absl::StrCat(s, ")");
}

}  // namespace

std::vector<TestResult> RunPolicyTests(const RuleIndex& index, const std::vector<TestCase>& tests) {
  std::vector<TestResult> results;
  results.reserve(tests.size());
  for (const TestCase& t : tests) {
    TestResult r;
    r.test = &t;
    r.decision = Evaluate(index, t.request);
    if (absl::Status valid = ValidateRequest(t.request); !valid.ok()) {
      // A deny for an invalid request proves nothing about the policies: the test is wrong.
      r.failure = absl::StrCat("invalid request: ", valid.message());
      results.push_back(std::move(r));
      continue;
    }
    std::vector<std::string> problems;
    if (r.decision.allowed != t.expect_allow) {
      problems.push_back(absl::StrCat("expected ", t.expect_allow ? "ALLOW" : "DENY"));
    }
    if (t.expect_reason && *t.expect_reason != r.decision.reason) {
      problems.push_back(absl::StrCat("expected reason ", Absl(ReasonName(*t.expect_reason))));
    }
    if (t.expect_statements) {
      std::vector<std::string> want = *t.expect_statements;
      std::vector<std::string> got = index.StatementNames(r.decision);
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      if (want != got) {
        problems.push_back(absl::StrCat("expected statements [", absl::StrJoin(want, ", "), "]"));
      }
    }
    r.passed = problems.empty();
    if (!r.passed) {
      r.failure =
          absl::StrCat(absl::StrJoin(problems, "; "), ", got ", Describe(index, r.decision));
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace fleetpdp::engine
