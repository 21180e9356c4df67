// `fleetpdp diff OLD NEW`: the decision impact of a new bundle revision, as a CI rollout gate.
#include <charconv>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bundles/archive.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/absl_compat.h"
#include "engine/diff.h"
#include "engine/parser.h"
#include "engine/request_generator.h"
#include "nlohmann/json.hpp"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: fleetpdp diff OLD NEW [--requests FILE]... [--generate N] [--seed S]
                     [--format text|json] [--fail-on-change] [--max-examples K]
                     [--max-groups G] [--keys DIR]

Decides the same requests with the bundle OLD and the bundle NEW (each a bundle archive or a
policy source directory) and reports what changed: requests whose decision went from ALLOW to
DENY or from DENY to ALLOW, and requests with the same decision but another reason or other
deciding statements, grouped by action and by the old and new deciding statements, with example
requests. The first line of the text output sums it up:
  diff: N requests, N unchanged, N ALLOW→DENY, N DENY→ALLOW, N same decision with other statements

Requests:
  --requests FILE    requests to decide, as PolicyTest documents (the format of a bundle's tests/,
                     read by "fleetpdp test"; their expectations are not checked here).
                     Repeatable. Without it, requests are generated (below).
  --generate N       N random requests built from both revisions' own patterns: variables filled
                     with the principals' values, '+' and '#' with sample levels, near-miss topics,
                     actions and contexts from the statements and conditions; plus 4 requests for
                     every principal the bundles know and the requests of both bundles' tests.
                     Default 10000 when no --requests is given.
  --seed S           seed of the generated requests (default 1): the same seed, the same requests

Output:
  --format FORMAT    text (default) or json (schema: docs/policy-lifecycle.md)
  --max-examples K   example requests per group (default 3)
  --max-groups G     show the G first groups (default 50; 0: all); the counts always cover all

  --fail-on-change   exit 1 when any decision changed (for a CI gate)
  --keys DIR         verify the signature of OLD and NEW, where they are bundle archives (source
                     directories are not signed), against these trusted keys

Exit status: 0 no decision changed (or changes without --fail-on-change); 1 with --fail-on-change
and a decision changed; 2 bad usage, an unreadable or invalid bundle or request file.
)";

int Fail(const std::string& message) {
  std::cerr << "fleetpdp diff: " << message << "\n";
  return kExitUsage;
}

std::optional<size_t> ParseCount(const std::string& text) {
  size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::string Values(const engine::Attribute& a) {
  if (a.values.size() == 1 && !a.is_list) return a.values.front();
  return absl::StrCat("[", absl::StrJoin(a.values, ","), "]");
}

std::string RequestText(const engine::Request& r) {
  std::string out = absl::StrCat(r.principal.id, " ", r.action, " ", r.resource);
  std::vector<std::string> extras;
  if (!r.principal.groups.empty()) {
    extras.push_back(absl::StrCat("groups=", absl::StrJoin(r.principal.groups, ",")));
  }
  for (const engine::Attribute& a : r.principal.attributes) {
    extras.push_back(absl::StrCat("attr ", a.key, "=", Values(a)));
  }
  for (const engine::Attribute& a : r.context) {
    extras.push_back(absl::StrCat("context ", a.key, "=", Values(a)));
  }
  if (!extras.empty()) absl::StrAppend(&out, "  [", absl::StrJoin(extras, "; "), "]");
  return out;
}

std::string DecisionText(const engine::DecisionSummary& d) {
  std::string out =
      absl::StrCat(d.allowed ? "ALLOW" : "DENY", " (", Absl(engine::ReasonName(d.reason)));
  if (!d.statements.empty()) absl::StrAppend(&out, ": ", absl::StrJoin(d.statements, ", "));
  return out + ")";
}

std::string_view KindText(engine::ChangeKind kind) {
  switch (kind) {
    case engine::ChangeKind::kAllowToDeny:
      return "ALLOW→DENY";
    case engine::ChangeKind::kDenyToAllow:
      return "DENY→ALLOW";
    case engine::ChangeKind::kStatementsChanged:
      return "same decision, other statements";
    case engine::ChangeKind::kUnchanged:
      break;
  }
  return "unchanged";
}

nlohmann::ordered_json AttributesJson(const std::vector<engine::Attribute>& attributes) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const engine::Attribute& a : attributes) {
    out[a.key] = a.is_list || a.values.size() != 1 ? nlohmann::ordered_json(a.values)
                                                   : nlohmann::ordered_json(a.values.front());
  }
  return out;
}

// A request in the shape of a PolicyTest case, so an example can be pasted into a request file.
nlohmann::ordered_json RequestJson(const engine::Request& r) {
  nlohmann::ordered_json principal = {{"id", r.principal.id}};
  if (!r.principal.type.empty()) principal["type"] = r.principal.type;
  if (!r.principal.groups.empty()) principal["groups"] = r.principal.groups;
  if (!r.principal.attributes.empty())
    principal["attributes"] = AttributesJson(r.principal.attributes);
  nlohmann::ordered_json out = {
      {"principal", principal}, {"action", r.action}, {"resource", r.resource}};
  if (!r.context.empty()) out["context"] = AttributesJson(r.context);
  return out;
}

nlohmann::ordered_json DecisionJson(const engine::DecisionSummary& d) {
  return {{"decision", d.allowed ? "ALLOW" : "DENY"},
          {"reason", std::string(engine::ReasonName(d.reason))},
          {"statements", d.statements}};
}

nlohmann::ordered_json BundleJson(const std::string& path, const bundles::BundleMetadata& m) {
  return {{"path", path}, {"name", m.name}, {"revision", m.revision}, {"digest", m.digest}};
}

struct RequestSources {
  size_t from_files = 0;
  size_t generated = 0;
  size_t per_principal = 0;
  size_t principals = 0;
  size_t from_tests = 0;
};

absl::StatusOr<std::vector<engine::Request>> ReadRequestFile(const std::string& path) {
  absl::StatusOr<std::string> text = bundles::ReadFileBytes(path);
  if (!text.ok()) return text.status();
  engine::ParsedSources parsed;
  engine::ValidationReport report;
  engine::ParseFile(engine::SourceFile{path, *std::move(text)}, parsed, report);
  if (!report.ok()) return report.ToStatus();
  if (!parsed.set.policies.empty() || !parsed.set.entities.empty() || !parsed.set.groups.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": a request file holds PolicyTest documents only (found policies or entities)"));
  }
  std::vector<engine::Request> out;
  for (engine::TestCase& t : parsed.tests) {
    if (absl::Status s = engine::ValidateRequest(t.request); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.location.file, ":", t.location.line, ": \"", t.name, "\": ", s.message()));
    }
    out.push_back(std::move(t.request));
  }
  return out;
}

}  // namespace

int RunDiffCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kUsage, kExitOk);
  std::vector<std::string> request_files = args.TakeAll("--requests");
  std::optional<std::string> generate_text = args.Take("--generate");
  std::string seed_text = args.Take("--seed").value_or("1");
  std::string format = args.Take("--format").value_or("text");
  std::string examples_text = args.Take("--max-examples").value_or("3");
  std::string groups_text = args.Take("--max-groups").value_or("50");
  bool fail_on_change = args.TakeSwitch("--fail-on-change");
  std::optional<std::string> keys = args.Take("--keys");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) {
    std::cerr << "fleetpdp diff: " << s.message() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (positional.size() != 2) {
    std::cerr << "fleetpdp diff: expected OLD and NEW\n\n" << kUsage;
    return kExitUsage;
  }
  if (format != "text" && format != "json") {
    return Fail(absl::StrCat("--format: expected text or json, not \"", format, "\""));
  }
  std::optional<size_t> max_examples = ParseCount(examples_text);
  if (!max_examples) {
    return Fail(absl::StrCat("--max-examples: expected a count, not \"", examples_text, "\""));
  }
  std::optional<size_t> max_groups = ParseCount(groups_text);
  if (!max_groups) {
    return Fail(absl::StrCat("--max-groups: expected a count, not \"", groups_text, "\""));
  }
  std::optional<size_t> seed = ParseCount(seed_text);
  if (!seed) return Fail(absl::StrCat("--seed: expected a number, not \"", seed_text, "\""));
  std::optional<size_t> generate;
  if (generate_text) {
    generate = ParseCount(*generate_text);
    if (!generate) {
      return Fail(absl::StrCat("--generate: expected a count, not \"", *generate_text, "\""));
    }
  } else if (request_files.empty()) {
    generate = 10'000;
  }

  bundles::LoadedBundle bundles[2];
  for (int i = 0; i < 2; ++i) {
    std::string note;
    // Source directories are not signed: --keys verifies the archives among OLD and NEW.
    const bool archive = !std::filesystem::is_directory(positional[i]);
    absl::StatusOr<bundles::LoadedBundle> b =
        LoadForAuthoring(positional[i], archive ? keys : std::nullopt, note);
    if (!b.ok()) return Fail(absl::StrCat(positional[i], ": ", b.status().message()));
    if (!note.empty()) std::cerr << positional[i] << ": " << note << "\n";
    bundles[i] = *std::move(b);
  }
  const bundles::LoadedBundle& old_bundle = bundles[0];
  const bundles::LoadedBundle& new_bundle = bundles[1];

  std::vector<engine::Request> requests;
  RequestSources sources;
  for (const std::string& file : request_files) {
    absl::StatusOr<std::vector<engine::Request>> read = ReadRequestFile(file);
    if (!read.ok()) return Fail(absl::StrCat("--requests ", file, ": ", read.status().message()));
    sources.from_files += read->size();
    requests.insert(requests.end(), read->begin(), read->end());
  }
  if (generate) {
    const engine::PolicySet old_set = old_bundle.index->CopySet();
    const engine::PolicySet new_set = new_bundle.index->CopySet();
    const engine::PolicySet* sets[] = {&old_set, &new_set};
    engine::RequestGeneratorOptions options;
    options.count = *generate;
    options.seed = *seed;
    options.extra_groups = true;
    options.per_principal = 4;
    std::vector<engine::Request> generated = engine::GenerateRequests(sets, options);
    sources.per_principal = generated.size() - *generate;
    sources.principals = sources.per_principal / options.per_principal;
    sources.generated = *generate;
    requests.insert(requests.end(), generated.begin(), generated.end());
    for (const bundles::LoadedBundle* b : {&old_bundle, &new_bundle}) {
      for (const engine::TestCase& t : b->tests) requests.push_back(t.request);
      sources.from_tests += b->tests.size();
    }
  }

  engine::DiffOptions diff_options;
  diff_options.max_examples = *max_examples;
  engine::DecisionDiff diff =
      engine::DiffDecisions(*old_bundle.index, *new_bundle.index, requests, diff_options);
  // Shown groups: decision changes come first, so a limit drops statement-only changes first.
  size_t omitted_groups = 0, omitted_requests = 0;
  if (*max_groups > 0 && diff.groups.size() > *max_groups) {
    for (size_t i = *max_groups; i < diff.groups.size(); ++i) {
      ++omitted_groups;
      omitted_requests += diff.groups[i].count;
    }
    diff.groups.resize(*max_groups);
  }

  if (format == "json") {
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (const engine::ChangeGroup& g : diff.groups) {
      nlohmann::ordered_json examples = nlohmann::ordered_json::array();
      for (size_t i : g.examples) examples.push_back(RequestJson(requests[i]));
      changes.push_back({{"kind", std::string(engine::ChangeKindName(g.kind))},
                         {"action", g.action},
                         {"count", g.count},
                         {"old", DecisionJson(g.old_decision)},
                         {"new", DecisionJson(g.new_decision)},
                         {"examples", examples}});
    }
    nlohmann::ordered_json out = {
        {"format", "fleetpdp-diff/v1"},
        {"old", BundleJson(positional[0], old_bundle.metadata)},
        {"new", BundleJson(positional[1], new_bundle.metadata)},
        {"requests",
         {{"from_files", sources.from_files},
          {"generated", sources.generated},
          {"per_principal", sources.per_principal},
          {"from_tests", sources.from_tests},
          {"seed", *seed}}},
        {"summary",
         {{"evaluated", diff.evaluated},
          {"unchanged", diff.unchanged},
          {"allow_to_deny", diff.allow_to_deny},
          {"deny_to_allow", diff.deny_to_allow},
          {"statements_changed", diff.statements_changed}}},
        {"decisions_changed", diff.decisions_changed()},
        {"changes", changes},
        {"omitted", {{"groups", omitted_groups}, {"requests", omitted_requests}}}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "diff: " << diff.evaluated << " requests, " << diff.unchanged << " unchanged, "
              << diff.allow_to_deny << " ALLOW→DENY, " << diff.deny_to_allow << " DENY→ALLOW, "
              << diff.statements_changed << " same decision with other statements\n";
    for (int i = 0; i < 2; ++i) {
      const bundles::BundleMetadata& m = bundles[i].metadata;
      std::cout << (i == 0 ? "old: " : "new: ") << positional[i] << " (" << m.name << " rev "
                << m.revision << ", digest " << m.digest << ")\n";
    }
    std::vector<std::string> parts;
    if (sources.from_files > 0) {
      parts.push_back(
          absl::StrCat(sources.from_files, " from ", absl::StrJoin(request_files, ", ")));
    }
    if (generate) {
      parts.push_back(absl::StrCat(sources.generated, " generated (seed ", *seed, ")"));
      parts.push_back(
          absl::StrCat(sources.per_principal, " for ", sources.principals, " known principals"));
      parts.push_back(absl::StrCat(sources.from_tests, " from the bundles' tests"));
    }
    std::cout << "requests: " << absl::StrJoin(parts, ", ") << "\n";
    for (const engine::ChangeGroup& g : diff.groups) {
      std::cout << "\n"
                << KindText(g.kind) << "  " << g.action << "  (" << g.count
                << (g.count == 1 ? " request)\n" : " requests)\n")
                << "  old: " << DecisionText(g.old_decision) << "\n"
                << "  new: " << DecisionText(g.new_decision) << "\n";
      for (size_t i : g.examples) std::cout << "  e.g. " << RequestText(requests[i]) << "\n";
    }
    if (omitted_groups > 0) {
      std::cout << "\n… " << omitted_groups << " more group(s) with " << omitted_requests
                << " changed request(s) not shown (--max-groups 0 shows all)\n";
    }
  }
  return fail_on_change && diff.decisions_changed() ? kExitFailed : kExitOk;
}

}  // namespace fleetpdp::cli
