#include "cli/loading.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "bundles/signing.h"
#include "engine/policy_tests.h"

namespace fleetpdp::cli {

absl::StatusOr<bundles::BundleFiles> ReadSourceFiles(const std::string& path) {
  absl::StatusOr<bundles::BundleFiles> all = bundles::ReadBundle(path);
  if (!all.ok() || !std::filesystem::is_directory(path)) return all;
  bundles::BundleFiles out;
  for (auto& [name, content] : *all) {
    if (name == bundles::kManifestPath || bundles::IsBundleDocument(name)) {
      out.emplace(name, std::move(content));
    }
  }
  return out;
}

absl::StatusOr<bundles::LoadedBundle> LoadForAuthoring(const std::string& path,
                                                       const std::optional<std::string>& keys_dir,
                                                       std::string& note) {
  absl::StatusOr<bundles::BundleFiles> files = ReadSourceFiles(path);
  if (!files.ok()) return files.status();
  if (keys_dir) {
    absl::StatusOr<bundles::Keyring> keyring = bundles::Keyring::LoadDirectory(*keys_dir);
    if (!keyring.ok()) return keyring.status();
    return bundles::LoadBundle(*files, &*keyring);
  }
  absl::StatusOr<bundles::LoadedBundle> bundle = bundles::CompileBundleFiles(*files);
  if (bundle.ok()) {
    bundle->metadata.digest = bundles::BundleDigest(*files);
    if (!std::filesystem::is_directory(path)) {
      note = "note: signature not checked (pass --keys DIR to verify it)";
    }
  }
  return bundle;
}

TestSummary RunAndPrintTests(const bundles::LoadedBundle& bundle, bool verbose) {
  TestSummary summary;
  summary.results = engine::RunPolicyTests(*bundle.index, bundle.tests);
  for (const engine::TestResult& r : summary.results) {
    const engine::TestCase& t = *r.test;
    r.passed ? ++summary.passed : ++summary.failed;
    if (r.passed && !verbose) continue;
    const engine::Decision& d = r.decision;
    std::cout << (r.passed ? "PASS " : "FAIL ") << t.suite << ": " << t.name << "\n";
    std::cout << "     " << t.request.principal.id << " " << t.request.action << " "
              << t.request.resource << " → " << (d.allowed ? "ALLOW" : "DENY") << " ("
              << engine::ReasonName(d.reason);
    if (!d.statements.empty()) {
      std::cout << ": " << absl::StrJoin(bundle.index->StatementNames(d), ", ");
    }
    std::cout << ")\n";
    if (!r.passed) {
      std::cout << "     " << t.location.file << ":" << t.location.line << ": " << r.failure
                << "\n";
    }
  }
  if (summary.results.empty()) std::cout << "no tests found (tests/**.yaml, kind: PolicyTest)\n";
  std::cout << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace fleetpdp::cli
