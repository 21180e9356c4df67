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

#include <string>
#include <string_view>

#include "bundles/bundle_files.h"

namespace fleetpdp::bundles {

std::string Sha256Hex(std::string_view bytes);
std::string CanonicalList(const BundleFiles& files);
inline std::string BundleDigest(const BundleFiles& files) {
  return Sha256Hex(CanonicalList(files));
}

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_DIGEST_H_
