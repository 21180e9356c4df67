// .signatures.json: the signed statement of what a bundle holds (docs/bundle-format.md §4).
//
//   {
//     "format": "fleetpdp-signatures/v1",
//     "revision": 42,
//     "digest": "<sha256 hex of the canonical list>",
//     "files": [ { "path": "manifest.yaml", "sha256": "<hex>" }, … ],
//     "signatures": [ { "key_id": "ci-2026", "algorithm": "ed25519", "signature": "<base64>" } ]
//   }
//
// Each signature is Ed25519 over SignedPayload(revision, key_id, canonical list):
//   "fleetpdp-bundle-signature-v1\nrevision: 42\nkey-id: ci-2026\n" + canonical list
// so that changing the files, the revision or the claimed key invalidates it.
//
// Thread safety: pure functions.
#ifndef FLEETPDP_BUNDLES_SIGNATURES_H_
#define FLEETPDP_BUNDLES_SIGNATURES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bundles/bundle_files.h"

namespace fleetpdp::bundles {

inline constexpr std::string_view kSignaturesFormat = "fleetpdp-signatures/v1";

struct FileHash {
  std::string path;
  std::string sha256;
};

struct SignatureEntry {
  std::string key_id;
  std::string algorithm = "ed25519";
  std::string signature;  // raw bytes (base64 in the file)
};

struct SignaturesFile {
  uint64_t revision = 0;
  std::string digest;
  std::vector<FileHash> files;
  std::vector<SignatureEntry> signatures;
};

std::string SignedPayload(uint64_t revision, std::string_view key_id,
                          std::string_view canonical_list);

// InvalidArgument naming what is malformed: not JSON, wrong format, missing fields, bad hex or
// base64, an unsupported algorithm, duplicate paths.
absl::StatusOr<SignaturesFile> ParseSignatures(std::string_view json);
// Pretty-printed, stable field order, trailing newline.
std::string SerializeSignatures(const SignaturesFile& file);

// The file list and digest of `files` (without .signatures.json) for `revision`, unsigned.
SignaturesFile DescribeBundle(const BundleFiles& files, uint64_t revision);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_SIGNATURES_H_
