// What the authoring commands share: reading a source directory or a bundle archive, loading it
// with or without signature checks, and running its policy tests.
#ifndef FLEETPDP_CLI_LOADING_H_
#define FLEETPDP_CLI_LOADING_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "bundles/bundle_files.h"
#include "bundles/loader.h"
#include "engine/policy_tests.h"

namespace fleetpdp::cli {

inline constexpr char kUnsignedWarning[] =
    "WARNING: --allow-unsigned: accepting bundles without a verified signature. For local "
    "development only; never in production.\n";

// A directory: manifest.yaml and the documents under policies/, entities/, tests/ (other files —
// READMEs, CI scripts, a stale .signatures.json — are not part of the bundle). A file: a bundle
// archive, read whole.
absl::StatusOr<bundles::BundleFiles> ReadSourceFiles(const std::string& path);

// Loads `path` for authoring: a directory or archive compiled without a signature check, unless
// `keys_dir` is given, in which case the bundle must verify against it. `note` receives a line
// to show the user (e.g. that the signature was not checked).
absl::StatusOr<bundles::LoadedBundle> LoadForAuthoring(const std::string& path,
                                                       const std::optional<std::string>& keys_dir,
                                                       std::string& note);

struct TestSummary {
  size_t passed = 0;
  size_t failed = 0;
  std::vector<engine::TestResult> results;
};

// Runs the bundle's tests, printing failures (every test when verbose) to stdout, and the closing
// line "N passed, N failed".
TestSummary RunAndPrintTests(const bundles::LoadedBundle& bundle, bool verbose);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_LOADING_H_
