// Fuzzes the policy pipeline: text (YAML or JSON: policy, entity and policy-test documents, any
// number separated by "---") → ParseSources (parser + validator) → Compile → Evaluate.
//
// Input: the text of one bundle document file. Checks:
//   - parsing and validation never crash, and every problem has a message and a location file;
//   - when the documents are valid and compile (under small CompileLimits), every request the
//     input's own PolicyTest cases make, and requests derived from its statements, get the same
//     decision from the rule index (Evaluate) as from the reference evaluator (EvaluateReference),
//     and the policy tests run.
// Any disagreement aborts (a crash for libFuzzer).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/parser.h"
#include "engine/policy_tests.h"
#include "engine/rule_index.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace engine = fleetpdp::engine;

std::string Describe(const engine::RuleIndex& index, const engine::Decision& d) {
  std::string out = d.allowed ? "ALLOW " : "DENY ";
  out += engine::ReasonName(d.reason);
  for (const std::string& name : index.StatementNames(d)) out += " " + name;
  return out;
}

void CheckAgreement(const engine::RuleIndex& index, const engine::Request& request) {
  const engine::Decision fast = engine::Evaluate(index, request);
  const engine::Decision slow = engine::EvaluateReference(index, request);
  FLEETPDP_FUZZ_CHECK(fast.allowed == slow.allowed && fast.reason == slow.reason &&
                          fast.statements == slow.statements,
                      "index and reference disagree for principal \""
                          << request.principal.id << "\" action \"" << request.action
                          << "\" resource \"" << request.resource << "\": index says "
                          << Describe(index, fast) << ", reference says " << Describe(index, slow));
  (void)engine::ExplainDecision(index, request);
}

// "devices/${principal.id}/+/#" → a concrete resource for `id`: variables become `id`, '+' a
// literal level; '#' is kept for mqtt:subscribe (a filter) and becomes a level otherwise.
std::string Concretize(std::string_view pattern, std::string_view id, bool keep_wildcards) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i, 2) == "${") {
      const size_t end = pattern.find('}', i);
      if (end == std::string_view::npos) break;
      out += id;
      i = end;
    } else if ((pattern[i] == '+' || pattern[i] == '#') && !keep_wildcards) {
      out += pattern[i] == '+' ? "x" : "y";
    } else {
      out += pattern[i];
    }
  }
  return out;
}

// Requests aimed at the statements of `set`: the principal each policy selects, each action
// (a trailing '*' completed) and each resource made concrete. Bounded so one input stays fast.
std::vector<engine::Request> DerivedRequests(const engine::PolicySet& set) {
  std::vector<engine::Request> requests;
  for (size_t p = 0; p < set.policies.size() && p < 4; ++p) {
    const engine::Policy& policy = set.policies[p];
    engine::Request base;
    base.principal.id = !policy.principals.ids.empty() ? policy.principals.ids.front()
                        : !set.entities.empty()        ? set.entities.front().id
                                                       : "fuzz-device";
    if (!policy.principals.groups.empty()) {
      base.principal.groups.push_back(policy.principals.groups.front());
    }
    for (const auto& [key, value] : policy.principals.attributes) {
      base.principal.attributes.push_back({key, {value}, false});
    }
    base.context.push_back({"source_ip", {"10.0.0.1"}, false});
    for (size_t s = 0; s < policy.statements.size() && s < 8; ++s) {
      const engine::Statement& statement = policy.statements[s];
      for (size_t a = 0; a < statement.actions.size() && a < 2; ++a) {
        std::string action = statement.actions[a];
        if (!action.empty() && action.back() == '*') action.back() = 'x';
        for (size_t r = 0; r < statement.resources.size() && r < 3; ++r) {
          engine::Request request = base;
          request.action = action;
          request.resource =
              Concretize(statement.resources[r], base.principal.id, action == engine::kSubscribe);
          requests.push_back(std::move(request));
        }
      }
    }
  }
  return requests;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<engine::SourceFile> files = {
      {"policies/fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)}};
  engine::ParsedSources parsed;
  const engine::ValidationReport report = engine::ParseSources(files, parsed);
  for (const engine::Diagnostic& d : report.errors()) {
    FLEETPDP_FUZZ_CHECK(!d.message.empty(), "a problem without a message at " << d.ToString());
    FLEETPDP_FUZZ_CHECK(d.location.file == "policies/fuzz.yaml",
                        "a problem in the wrong file: " << d.ToString());
  }
  (void)report.ToStatus();
  if (!report.ok()) return 0;

  engine::CompileLimits limits;
  limits.max_statements = 1000;
  limits.max_entities = 1000;
  limits.max_groups = 1000;
  limits.max_trie_nodes = 100'000;
  auto index = engine::Compile(parsed.set, limits);
  if (!index.ok()) {
    FLEETPDP_FUZZ_CHECK(!index.status().message().empty(), "a compile error without a message");
    return 0;
  }
  for (size_t i = 0; i < parsed.tests.size() && i < 16; ++i) {
    CheckAgreement(**index, parsed.tests[i].request);
  }
  for (const engine::Request& request : DerivedRequests(parsed.set)) {
    CheckAgreement(**index, request);
  }
  (void)engine::RunPolicyTests(**index, parsed.tests);
  return 0;
}
