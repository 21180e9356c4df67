// `fleetpdp eval`: one decision, from the command line, against a policy source directory.
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/rule_index.h"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: fleetpdp eval --bundle SRC --principal ID --action ACTION --resource RESOURCE
                     [--type TYPE] [--group G]... [--attr KEY=VALUE]... [--context KEY=VALUE]...
                     [--exit-code]

Decides one request against the policy source directory SRC and prints the decision, the reason
and the deciding statements. A source directory needs no signature: this is the authoring tool.

  --bundle SRC          policy source directory (policies/, entities/)
  --principal ID        who asks: an MQTT client id, thing name or service name
  --type TYPE           principal type when the bundle does not know ID (device, service, user)
  --group G             a group the principal belongs to, added to what the bundle says (repeatable)
  --attr KEY=VALUE      a principal attribute; the bundle's value wins for the same key (repeatable)
  --context KEY=VALUE   a context attribute: source_ip, tls_version, time (RFC 3339), … (repeatable)
  --action ACTION       mqtt:connect, mqtt:publish, mqtt:subscribe, mqtt:receive, mqtt:retain, or
                        an application action such as ota:download
  --resource RESOURCE   a topic (publish, receive, retain), a topic filter (subscribe), a client id
                        (connect) or a path (application actions)
  --explain             list every statement that selects the principal and why it did or did
                        not apply (action, resource, each condition)
  --exit-code           exit 1 when the decision is DENY (for scripts)

Exit status: 0 (1 for DENY with --exit-code); 2 for bad usage, an invalid request or a bundle that
does not compile.
)";

std::string_view TruthName(engine::Truth t) {
  switch (t) {
    case engine::Truth::kTrue:
      return "holds";
    case engine::Truth::kFalse:
      return "fails";
    case engine::Truth::kUnknown:
      return "unknown (attribute missing or unparseable)";
  }
  return "?";
}

void PrintExplanation(const engine::RuleIndex& index, const engine::Request& request) {
  std::vector<engine::StatementTrace> traces = engine::ExplainDecision(index, request);
  std::cout << "\nexplain: " << traces.size() << " of " << index.statement_count()
            << " statements select principal \"" << request.principal.id << "\"\n";
  for (const engine::StatementTrace& t : traces) {
    const auto& s = index.statement(t.statement);
    std::cout << (t.applies ? "  applies  " : "  -        ") << index.statement_name(t.statement)
              << " (" << (s.effect == engine::Effect::kAllow ? "allow" : "deny") << ", "
              << s.location.file << ":" << s.location.line << ")\n";
    if (!t.action_matched) {
      std::cout << "             action: none of [" << absl::StrJoin(s.actions, ", ")
                << "] matches " << request.action << "\n";
      continue;
    }
    if (!t.resource_matched) {
      std::vector<std::string> patterns;
      for (const auto& p : s.resources) patterns.push_back(p.text);
      std::cout << "             resource: none of [" << absl::StrJoin(patterns, ", ") << "] "
                << (request.action == engine::kSubscribe
                        ? (s.effect == engine::Effect::kAllow ? "contains" : "overlaps")
                        : "matches")
                << " " << request.resource << "\n";
      continue;
    }
    for (size_t i = 0; i < t.conditions.size(); ++i) {
      const engine::CompiledCondition& c = s.conditions[i];
      std::cout << "             condition " << c.op->name << " on " << c.key.ToString() << ": "
                << TruthName(t.conditions[i]) << "\n";
    }
  }
}

}  // namespace

int RunEvalCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) {
    std::cout << kUsage;
    return kExitOk;
  }
  auto fail = [](const std::string& message) {
    std::cerr << "fleetpdp eval: " << message << "\n";
    return kExitUsage;
  };
  std::optional<std::string> bundle = args.Take("--bundle");
  engine::Request request;
  request.principal.id = args.Take("--principal").value_or("");
  request.principal.type = args.Take("--type").value_or("");
  request.principal.groups = args.TakeAll("--group");
  request.action = args.Take("--action").value_or("");
  request.resource = args.Take("--resource").value_or("");
  for (const auto& [flag, to] : {std::pair{"--attr", &request.principal.attributes},
                                 std::pair{"--context", &request.context}}) {
    for (const std::string& kv : args.TakeAll(flag)) {
      engine::Attribute a;
      a.values.emplace_back();
      if (absl::Status s = SplitKeyValue(flag, kv, a.key, a.values.back()); !s.ok()) {
        return fail(std::string(s.message()));
      }
      to->push_back(std::move(a));
    }
  }
  bool exit_code = args.TakeSwitch("--exit-code");
  bool explain = args.TakeSwitch("--explain");
  std::optional<std::string> keys = args.Take("--keys");
  if (absl::Status s = args.Finish(); !s.ok()) {
    std::cerr << "fleetpdp eval: " << s.message() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (!bundle) return fail("missing --bundle SRC (see fleetpdp eval --help)");
  if (absl::Status s = engine::ValidateRequest(request); !s.ok()) {
    return fail(absl::StrCat("invalid request: ", s.message(), " (see fleetpdp eval --help)"));
  }
  std::string note;
  absl::StatusOr<bundles::LoadedBundle> source = LoadForAuthoring(*bundle, keys, note);
  if (!source.ok()) return fail(absl::StrCat(*bundle, ": ", source.status().message()));
  if (!note.empty()) std::cerr << note << "\n";

  engine::Decision d = engine::Evaluate(*source->index, request);
  std::cout << (d.allowed ? "ALLOW" : "DENY") << " (" << engine::ReasonName(d.reason) << ")\n";
  for (engine::StatementRef ref : d.statements) {
    const auto& s = source->index->statement(ref);
    std::cout << "  " << source->index->statement_name(ref) << "  (" << s.location.file << ":"
              << s.location.line << ")\n";
  }
  if (explain) PrintExplanation(*source->index, request);
  return exit_code && !d.allowed ? kExitFailed : kExitOk;
}

}  // namespace fleetpdp::cli
