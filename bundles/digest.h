// The canonical file list and the bundle digest (docs/bundle-format.md §3).
//
// The canonical list has one line per file except .signatures.json, sorted by path (byte order):
//   <sha256 of the content, 64 lowercase hex>  <path>\n
// — exactly what `sha256sum` prints, so it can be reproduced with coreutils. The bundle digest is
// the SHA-256 (lowercase hex) of the canonical list: the same content gives the same digest however
// it is packaged.
//
//   std::string list = CanonicalList(files);
//   std::string digest = Sha256Hex(list);
//
// Thread safety: pure functions (OpenSSL EVP, no global state of ours).
#ifndef FLEETPDP_BUNDLES_DIGEST_H_
#define FLEETPDP_BUNDLES_DIGEST_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "bundles/bundle_files.h"

namespace fleetpdp::bundles {

std::string Sha256Hex(std::string_view bytes);

// The SHA-256 (hex) of every file by path, .signatures.json included. A load computes it once and
// hands it to every check that needs a file's hash (digest, signed file list, parse cache): a
// million-device bundle is ~140 MB, and each pass over it costs a tenth of a second.
using FileHashes = std::map<std::string, std::string, std::less<>>;
FileHashes HashFiles(const BundleFiles& files);

std::string CanonicalList(const BundleFiles& files);
// The same from hashes computed before: `hashes` must be HashFiles(files).
std::string CanonicalList(const BundleFiles& files, const FileHashes& hashes);
inline std::string BundleDigest(const BundleFiles& files) {
  return Sha256Hex(CanonicalList(files));
}

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_DIGEST_H_
