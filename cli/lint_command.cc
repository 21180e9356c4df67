// `fleetpdp lint SRC`: audit checks on a policy source directory or bundle (engine/lint.h), as
// compiler-style text, JSON or SARIF 2.1.0. The JSON and SARIF shapes are documented in
// docs/lifecycle-lint.md; keep them in step.
#include <array>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bundles/archive.h"
#include "bundles/bundle_files.h"
#include "bundles/loader.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/absl_compat.h"
#include "engine/lint.h"
#include "engine/parser.h"
#include "nlohmann/json.hpp"

namespace fleetpdp::cli {
namespace {

namespace fs = std::filesystem;
using engine::LintFinding;
using engine::LintRule;
using engine::Severity;

constexpr char kUsageHead[] =
    R"(usage: fleetpdp lint SRC [--format text|json|sarif] [--fail-on SEVERITY] [--disable IDS]
                    [--output FILE]
       fleetpdp lint --list-rules

Audits the policies of SRC for risky patterns (in the spirit of AWS IoT Device Defender's audit
checks): wildcard grants, connect without binding to the client id, '$' system topics, statements
that can never apply, and denies a SUBSCRIBE can get around. SRC is a policy source directory
(manifest.yaml, policies/, entities/, tests/) or a bundle archive (its signature is not checked);
its policies must build (invalid policies are reported as "fleetpdp bundle build" reports them).
Nothing is evaluated or written besides the report. docs/lifecycle-lint.md explains every rule.

  --format FORMAT     text (default): one line per finding, like a compiler,
                        FILE:LINE:COL: SEVERITY [RULE] MESSAGE (POLICY/STATEMENT)
                      and a closing summary line with the count per severity;
                      json: one JSON object (docs/lifecycle-lint.md);
                      sarif: SARIF 2.1.0, for code-scanning tools
  --fail-on SEVERITY  exit 1 when a finding is at or above SEVERITY: critical, high (default),
                      medium, low, info, or never (always exit 0 once SRC builds)
  --disable IDS       leave out these rules: comma-separated ids, the flag may repeat
                      (--disable FPL006,FPL010)
  --output FILE, -o   write the report to FILE instead of standard output
  --list-rules        print every rule with its severity and what it catches, and exit

Exit status: 0 no finding at or above --fail-on; 1 at least one; 2 bad usage, unreadable SRC or
invalid policies.

Rules:
)";

int UsageError(std::string_view message) {
  std::cerr << "fleetpdp lint: " << message << " (see fleetpdp lint --help)\n";
  return kExitUsage;
}

std::string RuleList() {
  std::string out;
  for (const LintRule& r : engine::AllLintRules()) {
    absl::StrAppend(&out, "  ", Absl(r.id), "  ", Absl(engine::SeverityName(r.severity)),
                    std::string(10 - engine::SeverityName(r.severity).size(), ' '), Absl(r.name),
                    "\n          ", Absl(r.summary), "\n");
  }
  return out;
}

// How a finding's file is shown: for a directory, joined to SRC as given, so that an editor or a
// code-scanning tool run from the same place finds it; for an archive, the member path.
std::string DisplayPath(const std::string& src, bool is_directory, const std::string& file) {
  if (!is_directory || file.empty()) return file;
  return (fs::path(src) / file).lexically_normal().generic_string();
}

std::string Subject(const LintFinding& f) {
  return f.statement.empty() ? f.policy : absl::StrCat(f.policy, "/", f.statement);
}

using Counts = std::array<size_t, 5>;  // by Severity

std::string SummaryLine(const Counts& counts, size_t total) {
  std::string out = absl::StrCat(total, total == 1 ? " finding" : " findings", ":");
  for (size_t i = 0; i < counts.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? " " : ", ", counts[i], " ",
                    Absl(engine::SeverityName(static_cast<Severity>(i))));
  }
  return out;
}

std::string TextReport(const std::vector<LintFinding>& findings, const Counts& counts,
                       const std::string& src, bool is_directory) {
  std::string out;
  for (const LintFinding& f : findings) {
    absl::StrAppend(&out, DisplayPath(src, is_directory, f.location.file), ":", f.location.line,
                    ":", f.location.column, ": ", Absl(engine::SeverityName(f.rule->severity)),
                    " [", Absl(f.rule->id), "] ", f.message, " (", Subject(f), ")\n");
  }
  absl::StrAppend(&out, SummaryLine(counts, findings.size()), "\n");
  return out;
}

nlohmann::ordered_json CountsJson(const Counts& counts, size_t total) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < counts.size(); ++i) {
    j[std::string(engine::SeverityName(static_cast<Severity>(i)))] = counts[i];
  }
  j["total"] = total;
  return j;
}

std::string JsonReport(const std::vector<LintFinding>& findings, const Counts& counts,
                       const std::string& src, bool is_directory,
                       const bundles::BundleMetadata& bundle, const std::string& fail_on,
                       bool failed) {
  nlohmann::ordered_json j;
  j["schema"] = "fleetpdp-lint/v1";
  j["source"] = src;
  j["bundle"] = {{"name", bundle.name}, {"revision", bundle.revision}};
  j["findings"] = nlohmann::ordered_json::array();
  for (const LintFinding& f : findings) {
    j["findings"].push_back({
        {"rule", std::string(f.rule->id)},
        {"name", std::string(f.rule->name)},
        {"severity", std::string(engine::SeverityName(f.rule->severity))},
        {"message", f.message},
        {"policy", f.policy},
        {"statement", f.statement.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(f.statement)},
        {"file", f.location.file},
        {"path", DisplayPath(src, is_directory, f.location.file)},
        {"line", f.location.line},
        {"column", f.location.column},
    });
  }
  j["summary"] = CountsJson(counts, findings.size());
  j["fail_on"] = fail_on;
  j["failed"] = failed;
  return j.dump(2) + "\n";
}

std::string_view SarifLevel(Severity s) {
  switch (s) {
    case Severity::kCritical:
    case Severity::kHigh:
      return "error";
    case Severity::kMedium:
      return "warning";
    case Severity::kLow:
    case Severity::kInfo:
      return "note";
  }
  return "none";
}

// GitHub code scanning buckets security results by this score (≥9 critical, ≥7 high, ≥4 medium).
std::string_view SecuritySeverity(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return "9.5";
    case Severity::kHigh:
      return "8.0";
    case Severity::kMedium:
      return "5.0";
    case Severity::kLow:
      return "2.0";
    case Severity::kInfo:
      return "0.0";
  }
  return "0.0";
}

std::string SarifReport(const std::vector<LintFinding>& findings, const std::string& src,
                        bool is_directory, const std::vector<std::string>& disabled) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  std::vector<std::string_view> rule_ids;
  for (const LintRule& r : engine::AllLintRules()) {
    if (std::find(disabled.begin(), disabled.end(), r.id) != disabled.end()) continue;
    rule_ids.push_back(r.id);
    rules.push_back({
        {"id", std::string(r.id)},
        {"name", std::string(r.name)},
        {"shortDescription", {{"text", std::string(r.summary)}}},
        {"fullDescription", {{"text", std::string(r.help)}}},
        {"help", {{"text", std::string(r.help)}}},
        {"defaultConfiguration", {{"level", std::string(SarifLevel(r.severity))}}},
        {"properties",
         {{"tags", {"security"}},
          {"severity", std::string(engine::SeverityName(r.severity))},
          {"security-severity", std::string(SecuritySeverity(r.severity))}}},
    });
  }
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const LintFinding& f : findings) {
    size_t index = std::find(rule_ids.begin(), rule_ids.end(), f.rule->id) - rule_ids.begin();
    nlohmann::ordered_json region = {{"startLine", std::max(f.location.line, 1)}};
    if (f.location.column > 0) region["startColumn"] = f.location.column;
    results.push_back({
        {"ruleId", std::string(f.rule->id)},
        {"ruleIndex", index},
        {"level", std::string(SarifLevel(f.rule->severity))},
        {"message", {{"text", f.message}}},
        {"locations",
         {{{"physicalLocation",
            {{"artifactLocation", {{"uri", DisplayPath(src, is_directory, f.location.file)}}},
             {"region", region}}},
           {"logicalLocations",
            {{{"fullyQualifiedName", Subject(f)},
              {"kind", f.statement.empty() ? "policy" : "statement"}}}}}}},
        {"properties", {{"severity", std::string(engine::SeverityName(f.rule->severity))}}},
    });
  }
  nlohmann::ordered_json run = {
      {"tool",
       {{"driver",
         {{"name", "fleetpdp-lint"},
          {"fullName", "fleetpdp lint: audit checks for FleetPDP policies"},
          {"rules", rules}}}}},
      {"results", results},
  };
  nlohmann::ordered_json sarif = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", {run}},
  };
  return sarif.dump(2) + "\n";
}

}  // namespace

int RunLintCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) {
    std::cout << kUsageHead << RuleList();
    return kExitOk;
  }
  const bool list_rules = args.TakeSwitch("--list-rules");
  const std::string format = args.Take("--format").value_or("text");
  const std::string fail_on = args.Take("--fail-on").value_or("high");
  std::vector<std::string> disable_flags = args.TakeAll("--disable");
  std::optional<std::string> output = args.Take("--output");
  if (std::optional<std::string> o = args.Take("-o")) output = o;
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return UsageError(Std(s.message()));
  if (list_rules) {
    if (!positional.empty()) return UsageError("--list-rules takes no SRC");
    std::cout << RuleList();
    return kExitOk;
  }
  if (positional.size() != 1) return UsageError("expected one SRC (a directory or bundle)");
  if (format != "text" && format != "json" && format != "sarif") {
    return UsageError(absl::StrCat("--format \"", format, "\": expected text, json or sarif"));
  }
  std::optional<Severity> threshold = engine::ParseSeverity(fail_on);
  if (!threshold && fail_on != "never") {
    return UsageError(absl::StrCat("--fail-on \"", fail_on,
                                   "\": expected critical, high, medium, low, info or never"));
  }
  engine::LintOptions options;
  for (const std::string& flag : disable_flags) {
    for (absl::string_view id : absl::StrSplit(flag, ',', absl::SkipWhitespace())) {
      id = absl::StripAsciiWhitespace(id);
      if (engine::FindLintRule(Std(id)) == nullptr) {
        return UsageError(absl::StrCat("--disable: unknown rule \"", id,
                                       "\" (fleetpdp lint --list-rules shows them)"));
      }
      options.disabled.emplace_back(id);
    }
  }

  const std::string& src = positional[0];
  absl::StatusOr<bundles::BundleFiles> files = ReadSourceFiles(src);
  if (!files.ok()) {
    std::cerr << "fleetpdp lint: " << src << ": " << files.status().message() << "\n";
    return kExitUsage;
  }
  // Building first reports invalid policies exactly as `bundle build` does (every problem, with
  // file:line:column) and guarantees the model below is valid.
  absl::StatusOr<bundles::LoadedBundle> bundle = bundles::CompileBundleFiles(*files);
  if (!bundle.ok()) {
    std::cerr << "fleetpdp lint: " << src << ": " << bundle.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<engine::SourceFile> sources;
  for (const auto& [path, content] : *files) {
    if (bundles::IsBundleDocument(path)) sources.push_back(engine::SourceFile{path, content});
  }
  engine::ParsedSources parsed;
  if (engine::ValidationReport report = engine::ParseSources(sources, parsed); !report.ok()) {
    std::cerr << "fleetpdp lint: " << src << ": " << report.ToStatus().message() << "\n";
    return kExitUsage;
  }
  std::vector<LintFinding> findings = engine::Lint(parsed.set, options);

  Counts counts{};
  bool failed = false;
  for (const LintFinding& f : findings) {
    ++counts[static_cast<size_t>(f.rule->severity)];
    failed = failed || (threshold && f.rule->severity <= *threshold);
  }
  const bool is_directory = fs::is_directory(src);
  std::string report;
  if (format == "json") {
    report = JsonReport(findings, counts, src, is_directory, bundle->metadata, fail_on, failed);
  } else if (format == "sarif") {
    report = SarifReport(findings, src, is_directory, options.disabled);
  } else {
    report = TextReport(findings, counts, src, is_directory);
  }
  if (output) {
    if (absl::Status s = bundles::WriteFileBytes(*output, report); !s.ok()) {
      std::cerr << "fleetpdp lint: --output: " << s.message() << "\n";
      return kExitUsage;
    }
    std::cout << "wrote " << *output << ": " << SummaryLine(counts, findings.size()) << "\n";
  } else {
    std::cout << report;
  }
  return failed ? kExitFailed : kExitOk;
}

}  // namespace fleetpdp::cli
