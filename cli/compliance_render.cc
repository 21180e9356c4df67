// Markdown and JSON renderings of a compliance report (cli/compliance.h). The JSON schema is
// documented in docs/lifecycle-compliance-ci.md; change both together.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/compliance.h"
#include "engine/absl_compat.h"
#include "nlohmann/json.hpp"

namespace fleetpdp::cli {
namespace {

constexpr char kSchema[] = "fleetpdp.compliance-report/v1";

// A table cell: no pipe or newline may break the row.
std::string Cell(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"|", "\\|"}, {"\n", " "}, {"\r", " "}});
}

std::string Code(absl::string_view text) { return absl::StrCat("`", Cell(text), "`"); }

std::string TestName(const TestEvidence& t) { return absl::StrCat(t.suite, ": ", t.name); }

struct Counts {
  size_t total = 0;
  std::map<ControlStatus, size_t> by_status;
};

std::map<std::string, Counts> CountByFramework(const Report& report) {
  std::map<std::string, Counts> out;
  for (const ControlReport& c : report.controls) {
    Counts& counts = out[c.control.framework];
    ++counts.total;
    ++counts.by_status[c.status];
  }
  return out;
}

constexpr ControlStatus kStatuses[] = {ControlStatus::kCovered, ControlStatus::kUntested,
                                       ControlStatus::kFailingTest, ControlStatus::kNoPolicy,
                                       ControlStatus::kOutOfScope};

std::string Location(const engine::SourceLocation& l) {
  return absl::StrCat(l.file, ":", l.line, ":", l.column);
}

}  // namespace

std::string RenderMarkdown(const Report& report) {
  std::string out;
  const BundleInfo& b = report.bundle;
  absl::StrAppend(&out, "# Compliance report: ", b.name, " rev ", b.revision, "\n\n");
  size_t attributed = 0;
  for (const auto& policies : report.test_policies) attributed += !policies.empty();
  absl::StrAppend(&out, "- bundle digest: `", b.digest, "`\n- catalogue: ", report.catalogue_name,
                  " (`", report.catalogue_path, "`)\n- policy tests: ", report.tests.size(), " (",
                  attributed, " attributed to a policy)\n- gaps: ", report.gaps.size(), "\n\n");

  absl::StrAppend(&out, "## Summary\n\n| framework | controls |");
  for (ControlStatus s : kStatuses) absl::StrAppend(&out, " ", Absl(ControlStatusName(s)), " |");
  absl::StrAppend(&out, "\n| --- | ---: |");
  for (size_t i = 0; i < std::size(kStatuses); ++i) absl::StrAppend(&out, " ---: |");
  absl::StrAppend(&out, "\n");
  std::map<std::string, Counts> counts = CountByFramework(report);
  for (const Framework& f : report.frameworks) {
    Counts& c = counts[f.id];
    absl::StrAppend(&out, "| ", Cell(f.id), " | ", c.total, " |");
    for (ControlStatus s : kStatuses) absl::StrAppend(&out, " ", c.by_status[s], " |");
    absl::StrAppend(&out, "\n");
  }

  absl::StrAppend(&out, "\n## Gaps\n\n");
  if (report.gaps.empty()) {
    absl::StrAppend(&out, "None.\n");
  } else {
    absl::StrAppend(&out, "| kind | control | policy | detail |\n| --- | --- | --- | --- |\n");
    for (const Gap& g : report.gaps) {
      absl::StrAppend(&out, "| ", g.kind, " | ", Code(g.control), " | ",
                      g.policy.empty() ? "" : Code(g.policy), " | ", Cell(g.message), " |\n");
    }
  }

  if (!report.alias_tags.empty()) {
    absl::StrAppend(&out, "\n## Tags written with an alias\n\n| where | policy | tag | control |\n",
                    "| --- | --- | --- | --- |\n");
    for (const TagNote& n : report.alias_tags) {
      absl::StrAppend(&out, "| ", Cell(Location(n.location)), " | ", Code(n.policy), " | ",
                      Code(n.tag), " | ", Code(n.control), " |\n");
    }
  }

  for (const Framework& f : report.frameworks) {
    absl::StrAppend(&out, "\n## ", Cell(f.id), ": ", Cell(f.title), "\n\n");
    if (!f.source.empty()) absl::StrAppend(&out, "Source: ", f.source, ".\n\n");
    absl::StrAppend(&out,
                    "| control | title | status | policies (statements) | tests |\n"
                    "| --- | --- | --- | --- | --- |\n");
    for (const ControlReport& c : report.controls) {
      if (c.control.framework != f.id) continue;
      std::vector<std::string> policies, tests;
      for (const PolicyLink& p : c.policies) {
        policies.push_back(
            absl::StrCat(Code(p.policy), " (", Cell(absl::StrJoin(p.statements, ", ")), ")"));
        for (const TestLink& l : p.tests) {
          const TestEvidence& t = report.tests[l.test];
          tests.push_back(
              absl::StrCat(t.passed ? "✔ " : "✘ ", Cell(TestName(t)), " → ",
                           Code(absl::StrCat(p.policy, "/", absl::StrJoin(l.statements, ",")))));
        }
      }
      absl::StrAppend(&out, "| ", Code(c.control.id), " | ", Cell(c.control.title), " | ",
                      Absl(ControlStatusName(c.status)), " | ", absl::StrJoin(policies, "<br>"),
                      " | ", absl::StrJoin(tests, "<br>"), " |\n");
    }
  }

  absl::StrAppend(&out, "\n## Policy tests\n\n| test | result | deciding statements | policies |\n",
                  "| --- | --- | --- | --- |\n");
  for (size_t i = 0; i < report.tests.size(); ++i) {
    const TestEvidence& t = report.tests[i];
    absl::StrAppend(&out, "| ", Cell(TestName(t)), " | ",
                    t.passed ? "pass" : absl::StrCat("FAIL: ", Cell(t.failure)), " | ",
                    Cell(absl::StrJoin(t.decided, ", ")), " | ",
                    Cell(absl::StrJoin(report.test_policies[i], ", ")), " |\n");
  }
  if (!report.untagged_policies.empty()) {
    absl::StrAppend(&out, "\nPolicies without compliance tags: ",
                    Cell(absl::StrJoin(report.untagged_policies, ", ")), "\n");
  }
  return out;
}

std::string RenderJson(const Report& report) {
  using nlohmann::json;
  auto location = [](const engine::SourceLocation& l) {
    return json{{"file", l.file}, {"line", l.line}, {"column", l.column}};
  };
  json out;
  out["schema"] = kSchema;
  out["bundle"] = {{"name", report.bundle.name},
                   {"revision", report.bundle.revision},
                   {"digest", report.bundle.digest}};
  out["catalogue"] = {{"name", report.catalogue_name}, {"path", report.catalogue_path}};
  json summary = json::object();
  std::map<std::string, Counts> counts = CountByFramework(report);
  for (const Framework& f : report.frameworks) {
    json s = {{"controls", counts[f.id].total}};
    for (ControlStatus st : kStatuses)
      s[std::string(ControlStatusName(st))] = counts[f.id].by_status[st];
    summary[f.id] = s;
  }
  out["summary"] = {
      {"frameworks", summary}, {"gaps", report.gaps.size()}, {"tests", report.tests.size()}};
  json frameworks = json::array();
  for (const Framework& f : report.frameworks) {
    frameworks.push_back({{"id", f.id}, {"title", f.title}, {"source", f.source}});
  }
  out["frameworks"] = frameworks;
  json controls = json::array();
  for (const ControlReport& c : report.controls) {
    json policies = json::array();
    for (const PolicyLink& p : c.policies) {
      json tests = json::array();
      for (const TestLink& l : p.tests) {
        const TestEvidence& t = report.tests[l.test];
        tests.push_back({{"suite", t.suite},
                         {"name", t.name},
                         {"passed", t.passed},
                         {"statements", l.statements},
                         {"decided", l.decided},
                         {"named", l.named}});
      }
      policies.push_back({{"name", p.policy},
                          {"tag", p.tag},
                          {"location", location(p.location)},
                          {"statements", p.statements},
                          {"tests", tests}});
    }
    controls.push_back({{"id", c.control.id},
                        {"framework", c.control.framework},
                        {"ref", c.control.ref},
                        {"title", c.control.title},
                        {"scope", c.control.scope == ControlScope::kPolicy ? "policy" : "process"},
                        {"status", std::string(ControlStatusName(c.status))},
                        {"policies", policies}});
  }
  out["controls"] = controls;
  json gaps = json::array();
  for (const Gap& g : report.gaps) {
    json gap = {{"kind", g.kind}, {"control", g.control}, {"message", g.message}};
    if (!g.policy.empty()) gap["policy"] = g.policy;
    if (!g.test.empty()) gap["test"] = g.test;
    gaps.push_back(gap);
  }
  out["gaps"] = gaps;
  auto notes = [&](const std::vector<TagNote>& list) {
    json a = json::array();
    for (const TagNote& n : list) {
      json note = {{"policy", n.policy}, {"tag", n.tag}, {"location", location(n.location)}};
      if (!n.control.empty()) note["control"] = n.control;
      if (!n.suggestion.empty()) note["suggestion"] = n.suggestion;
      a.push_back(note);
    }
    return a;
  };
  out["alias_tags"] = notes(report.alias_tags);
  out["unknown_tags"] = notes(report.unknown_tags);
  json tests = json::array();
  for (size_t i = 0; i < report.tests.size(); ++i) {
    const TestEvidence& t = report.tests[i];
    json test = {{"suite", t.suite},
                 {"name", t.name},
                 {"location", location(t.location)},
                 {"passed", t.passed},
                 {"decided", t.decided},
                 {"named", t.named},
                 {"policies", report.test_policies[i]}};
    if (!t.passed) test["failure"] = t.failure;
    tests.push_back(test);
  }
  out["tests"] = tests;
  out["untagged_policies"] = report.untagged_policies;
  return out.dump(2) + "\n";
}

}  // namespace fleetpdp::cli
