// Helpers shared by the engine tests: compile policy text, build requests, decide with both
// evaluators and check they agree.
#ifndef FLEETPDP_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
#define FLEETPDP_TESTS_ENGINE_ENGINE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/parser.h"
#include "engine/rule_index.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine::testing {

// Parses `files` (path, text) and compiles them; fails the test on any problem.
inline std::shared_ptr<const RuleIndex> CompileOrDie(std::vector<SourceFile> files) {
  ParsedSources parsed;
  ValidationReport report = ParseSources(files, parsed);
  EXPECT_TRUE(report.ok()) << report.ToString();
  if (!report.ok()) return nullptr;
  auto index = Compile(std::move(parsed.set));
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : nullptr;
}

inline std::shared_ptr<const RuleIndex> CompileYaml(const std::string& yaml) {
  return CompileOrDie({{"policy.yaml", yaml}});
}

// The problems ParseSources reports for `yaml` (empty when it is valid).
inline std::string ProblemsIn(const std::string& yaml, const std::string& path = "p.yaml") {
  ParsedSources parsed;
  ValidationReport report = ParseSources(std::vector<SourceFile>{{path, yaml}}, parsed);
  return report.ToString();
}

inline Request MakeRequest(std::string principal, std::string action, std::string resource) {
  Request r;
  r.principal.id = std::move(principal);
  r.action = std::move(action);
  r.resource = std::move(resource);
  return r;
}

inline void AddAttribute(std::vector<Attribute>& to, std::string key, std::string value) {
  to.push_back(Attribute{std::move(key), {std::move(value)}, false});
}

// Decides through the index, checks the reference evaluator agrees exactly, and returns the index
// decision. Use through the macros below so failures point at the calling line.
inline Decision DecideBoth(const RuleIndex& index, const Request& request) {
  Decision fast = Evaluate(index, request);
  Decision slow = EvaluateReference(index, request);
  EXPECT_EQ(fast.allowed, slow.allowed)
      << "index and reference disagree on " << request.action << " " << request.resource;
  EXPECT_EQ(fast.reason, slow.reason);
  EXPECT_EQ(index.StatementNames(fast), index.StatementNames(slow));
  return fast;
}

inline bool Allowed(const RuleIndex& index, const Request& request) {
  return DecideBoth(index, request).allowed;
}

// "ALLOW policy/statement,…", "DENY(EXPLICIT_DENY) policy/statement", "DENY(DEFAULT_DENY)".
inline std::string Summary(const RuleIndex& index, const Request& request) {
  Decision d = DecideBoth(index, request);
  std::string s = d.allowed ? "ALLOW" : "DENY(" + std::string(ReasonName(d.reason)) + ")";
  if (!d.statements.empty()) absl::StrAppend(&s, " ", absl::StrJoin(index.StatementNames(d), ","));
  return s;
}

}  // namespace fleetpdp::engine::testing

#endif  // FLEETPDP_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
