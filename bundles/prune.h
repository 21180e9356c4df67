// The files of a pruned bundle (engine/prune.h): the source bundle's documents with what Prune
// dropped taken out, everything else as written.
//
//   absl::StatusOr<engine::PruneResult> pruned = engine::Prune(index->CopySet(), tests, selection);
//   absl::StatusOr<BundleFiles> out = PruneBundleFiles(files, *pruned, "group:cameras");
//
// - Policy documents are kept whole or dropped (by metadata.name); Entities documents keep the
//   groups and entities Prune kept; PolicyTest documents keep the cases Prune kept (matched by
//   file, line and column). A document left empty is dropped, and a file left without documents.
//   Comments and key order within a kept mapping may change (documents are re-emitted from the
//   YAML tree); quoted scalars stay quoted, so values read the same.
// - Files that are not documents (a README) are kept; .signatures.json is not (sign again).
// - manifest.yaml keeps name, revision and created; its description becomes
//   `pruned for "SELECTOR" from digest <source digest>` followed by the old description. The
//   manifest format has no other place for it and rejects unknown keys, so the signing and digest
//   rules are untouched: the pruned bundle is an ordinary bundle.
//
// Thread safety: pure function.
#ifndef FLEETPDP_BUNDLES_PRUNE_H_
#define FLEETPDP_BUNDLES_PRUNE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "bundles/bundle_files.h"
#include "engine/prune.h"

namespace fleetpdp::bundles {

// `pruned` must come from Prune over the documents of `files`. InvalidArgument when a document
// cannot be re-read (it parsed before, so only for inputs that do not match `pruned`).
absl::StatusOr<BundleFiles> PruneBundleFiles(const BundleFiles& files,
                                             const engine::PruneResult& pruned,
                                             std::string_view selector);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_PRUNE_H_
