// Reads a policy source directory — the layout of a bundle before it is packed and signed:
//
//   manifest.yaml        (read by the bundle loader; ignored here)
//   policies/**.yaml     kind: Policy
//   entities/**.yaml     kind: Entities
//   tests/**.yaml        kind: PolicyTest
//
// and compiles it. This is the authoring path (`fleetpdp test`, `fleetpdp eval` on a directory):
// no signature is involved.
//
//   absl::StatusOr<CompiledSource> src = CompileSourceDirectory("examples/fleet");
//
// Thread safety: functions only; they read the file system.
#ifndef FLEETPDP_BUNDLES_SOURCE_DIRECTORY_H_
#define FLEETPDP_BUNDLES_SOURCE_DIRECTORY_H_

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/parser.h"
#include "engine/rule_index.h"

namespace fleetpdp::bundles {

// Every *.yaml, *.yml and *.json file under policies/, entities/ and tests/, sorted by path, with
// paths relative to `root` in errors. Errors: NotFound (no such directory), InvalidArgument (no
// policies/ directory, a symbolic link), Unavailable (a file cannot be read).
absl::StatusOr<std::vector<engine::SourceFile>> ReadSourceDirectory(
    const std::filesystem::path& root);

struct CompiledSource {
  std::vector<engine::TestCase> tests;
  std::shared_ptr<const engine::RuleIndex> index;
};

// Reads, parses, validates and compiles; InvalidArgument lists every problem found.
absl::StatusOr<CompiledSource> CompileSourceDirectory(const std::filesystem::path& root,
                                                      const engine::CompileLimits& limits = {});

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_SOURCE_DIRECTORY_H_
