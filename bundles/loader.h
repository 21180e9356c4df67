// Loading a bundle: verify, then compile. The one path every consumer of bundles takes (the CLI's
// `bundle verify|inspect|eval`, the server's reload), so the rules live in one place.
//
//   absl::StatusOr<BundleFiles> files = ReadBundle("fleet.tar.gz");
//   absl::StatusOr<LoadedBundle> b = LoadBundle(*files, &keyring, options);
//   if (!b.ok()) log(RejectionReasonOf(b.status()), b.status().message());
//
// Verification order (docs/bundle-format.md §5): manifest; signature file present (else unsigned,
// accepted only with allow_unsigned); listed files == present files and every hash matches (else
// tampered: added / removed / changed, each named); digest and revision agree; a signature by a
// trusted key verifies (else unknown key / bad signature); revision not older than the one in force
// (else rollback); then policies parse, validate and compile. Nothing is half-loaded: the result
// is a complete, verified bundle or an error.
//
// Thread safety: pure functions over their inputs.
#ifndef FLEETPDP_BUNDLES_LOADER_H_
#define FLEETPDP_BUNDLES_LOADER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bundles/bundle_files.h"
#include "bundles/manifest.h"
#include "bundles/parse_cache.h"
#include "bundles/signing.h"
#include "engine/policy_tests.h"
#include "engine/rule_index.h"

namespace fleetpdp::bundles {

// The groups and entities compiled for the bundle in force, and what they were built from.
struct DirectoryInForce {
  std::shared_ptr<const engine::Directory> directory;  // LoadedBundle::index->shared_directory()
  std::string fingerprint;                             // LoadedBundle::directory_fingerprint
};

struct LoadOptions {
  // Accept a bundle without .signatures.json (or with no signature). For local development only.
  bool allow_unsigned = false;
  // The revision and digest currently in force: an older revision is refused (rollback), and the
  // same revision with a different digest too.
  std::optional<uint64_t> revision_in_force;
  std::string digest_in_force;
  engine::CompileLimits compile_limits;
  // When set, documents are parsed through this cache (parse_cache.h): a file identical to one
  // of the previous load is not parsed again. Not owned; the caller serializes loads.
  ParseCache* parse_cache = nullptr;
  // With parse_cache: when the new bundle's group and entity documents are the same files (paths
  // and SHA-256) as those this directory was built from, the new index shares it and only the
  // policies are compiled — a revision that changes policies of a million-device fleet then
  // costs what its policies cost.
  std::optional<DirectoryInForce> directory_in_force;
};

struct BundleMetadata {
  std::string name;
  uint64_t revision = 0;
  std::string created;
  std::string description;  // manifest.yaml's, e.g. what `bundle prune` pruned for
  std::string digest;
  std::string key_id;  // the trusted key whose signature verified; empty when unsigned
  bool is_signed = false;
  size_t files = 0;
  size_t policies = 0;
  size_t statements = 0;
  size_t entities = 0;
  size_t groups = 0;
  size_t tests = 0;
  std::vector<std::string> compliance;  // every metadata.compliance tag, sorted, unique
  // The groups and entities were not compiled again: the index shares those of the bundle that
  // was in force (LoadOptions::directory_in_force).
  bool directory_reused = false;
};

struct LoadedBundle {
  BundleMetadata metadata;
  std::shared_ptr<const engine::RuleIndex> index;
  std::vector<engine::TestCase> tests;
  // What index->directory() was built from (ParseCache::Stats::directory_fingerprint); empty
  // when loaded without a parse cache. Keep it with the bundle for DirectoryInForce.
  std::string directory_fingerprint;
};

// `keyring` may be null only with allow_unsigned. Errors, by rejection reason:
//   malformed (InvalidArgument), unsigned (FailedPrecondition), tampered (DataLoss),
//   unknown_key (PermissionDenied), bad_signature (DataLoss), rollback (FailedPrecondition),
//   invalid_policy (InvalidArgument).
absl::StatusOr<LoadedBundle> LoadBundle(const BundleFiles& files, const Keyring* keyring,
                                        const LoadOptions& options = {});

// The rejection class of an error from ReadBundle/LoadBundle, for metrics and logs: "malformed",
// "unsigned", "tampered", "unknown_key", "bad_signature", "rollback", "invalid_policy",
// "unsafe_archive", "too_large", "unreadable".
std::string_view RejectionReasonOf(const absl::Status& status);

// Adds a signature by `key_id` to `files` (writing .signatures.json): existing signatures over the
// same content and revision are kept (a second key co-signs; the same key id is replaced), others
// are dropped. The revision comes from manifest.yaml.
absl::StatusOr<BundleFiles> SignBundle(BundleFiles files, std::string_view private_pem,
                                       std::string_view key_id);

// Parses the manifest and compiles the documents of `files` (policies/, entities/, tests/)
// without looking at signatures; errors are prefixed with the bundle's name and revision.
// With `parse_cache`, unchanged documents are taken from it (see LoadOptions::parse_cache), and
// the directory in force is reused when it can be (LoadOptions::directory_in_force). `hashes`, when
// given, must be HashFiles(files): the parse cache then does not hash the files again.
absl::StatusOr<LoadedBundle> CompileBundleFiles(
    const BundleFiles& files, const engine::CompileLimits& limits = {},
    ParseCache* parse_cache = nullptr, const DirectoryInForce* directory_in_force = nullptr,
    const FileHashes* hashes = nullptr);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_LOADER_H_
