// `fleetpdp test SRC`: runs a policy source directory's tests (tests/*.yaml, kind: PolicyTest).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/policy_tests.h"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] = R"(usage: fleetpdp test SRC [--keys DIR] [--junit FILE] [--verbose]

Runs the policy unit tests of SRC (tests/**.yaml, kind: PolicyTest) against its policies and
entities, and prints one line per failed test (every test with --verbose) and a closing line
"N passed, N failed".

  SRC             a policy source directory (manifest.yaml, policies/, entities/, tests/) or a
                  bundle archive
  --keys DIR      verify the bundle's signature against these trusted keys first
  --junit FILE    also write the results as JUnit XML to FILE (for CI test reports)
  --verbose, -v   print every test with its decision and deciding statements

Exit status: 0 when every test passed, 1 when one failed, 2 when SRC cannot be read or compiled.
)";

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool WriteJunit(const std::string& path, const std::vector<engine::TestResult>& results,
                double seconds) {
  std::ofstream out(path);
  if (!out) return false;
  size_t failures = 0;
  for (const auto& r : results) failures += !r.passed;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuite name=\"fleetpdp\" tests=\"" << results.size() << "\" failures=\"" << failures
      << "\" time=\"" << seconds << "\">\n";
  for (const auto& r : results) {
    out << "  <testcase classname=\"" << XmlEscape(r.test->suite) << "\" name=\""
        << XmlEscape(r.test->name) << "\" file=\"" << XmlEscape(r.test->location.file)
        << "\" line=\"" << r.test->location.line << "\"";
    if (r.passed) {
      out << "/>\n";
    } else {
      out << ">\n    <failure message=\"" << XmlEscape(r.failure) << "\"/>\n  </testcase>\n";
    }
  }
  out << "</testsuite>\n";
  return static_cast<bool>(out);
}

}  // namespace

int RunTestCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) {
    std::cout << kUsage;
    return kExitOk;
  }
  std::optional<std::string> junit = args.Take("--junit");
  bool verbose = args.TakeSwitch("--verbose") || args.TakeSwitch("-v");
  std::optional<std::string> keys = args.Take("--keys");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) {
    std::cerr << "fleetpdp test: " << s.message() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (positional.size() != 1) {
    std::cerr << "fleetpdp test: expected one source directory\n\n" << kUsage;
    return kExitUsage;
  }
  auto start = std::chrono::steady_clock::now();
  std::string note;
  absl::StatusOr<bundles::LoadedBundle> bundle = LoadForAuthoring(positional[0], keys, note);
  if (!bundle.ok()) {
    std::cerr << "fleetpdp test: " << positional[0] << ": " << bundle.status().message() << "\n";
    return kExitUsage;
  }
  if (!note.empty()) std::cerr << note << "\n";
  if (keys) {
    std::cout << "verified " << bundle->metadata.name << " rev " << bundle->metadata.revision
              << ", digest " << bundle->metadata.digest << ", signed by \""
              << bundle->metadata.key_id << "\"\n";
  }
  TestSummary summary = RunAndPrintTests(*bundle, verbose);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t failed = summary.failed;
  const std::vector<engine::TestResult>& results = summary.results;
  if (junit && !WriteJunit(*junit, results, seconds)) {
    std::cerr << "fleetpdp test: cannot write JUnit report to \"" << *junit << "\"\n";
    return kExitUsage;
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace fleetpdp::cli
