// `fleetpdp eval`: one decision, from the command line, against a policy source directory.
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bundles/source_directory.h"
#include "cli/args.h"
#include "cli/commands.h"
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
  --exit-code           exit 1 when the decision is DENY (for scripts)

Exit status: 0 (1 for DENY with --exit-code); 2 for bad usage, an invalid request or a bundle that
does not compile.
)";

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
  if (absl::Status s = args.Finish(); !s.ok()) {
    std::cerr << "fleetpdp eval: " << s.message() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (!bundle) return fail("missing --bundle SRC (see fleetpdp eval --help)");
  if (absl::Status s = engine::ValidateRequest(request); !s.ok()) {
    return fail(absl::StrCat("invalid request: ", s.message(), " (see fleetpdp eval --help)"));
  }
  absl::StatusOr<bundles::CompiledSource> source = bundles::CompileSourceDirectory(*bundle);
  if (!source.ok()) return fail(absl::StrCat(*bundle, ": ", source.status().message()));

  engine::Decision d = engine::Evaluate(*source->index, request);
  std::cout << (d.allowed ? "ALLOW" : "DENY") << " (" << engine::ReasonName(d.reason) << ")\n";
  for (engine::StatementRef ref : d.statements) {
    const auto& s = source->index->statement(ref);
    std::cout << "  " << s.name << "  (" << s.location.file << ":" << s.location.line << ")\n";
  }
  return exit_code && !d.allowed ? kExitFailed : kExitOk;
}

}  // namespace fleetpdp::cli
