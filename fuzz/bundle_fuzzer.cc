// Fuzzes the bundle path: archive bytes → ReadBundleArchive (libarchive, limits, path checks) →
// LoadBundle (manifest, signature file, digest, Ed25519 verification against the example's
// development key in examples/keys/trusted, then parse + validate + compile).
//
// Input: one mode byte, then the payload. Mode bit 0 set: the payload is a tar that the harness
// gzips first, so that mutations reach the tar parser instead of failing the gzip CRC; clear: the
// payload is the .tar.gz as is. Bit 1 set: a revision 5 is in force (rollback checks).
// Checks:
//   - no crash; every rejection has a message and a known rejection reason;
//   - what was read writes back (WriteBundleArchive) and reads back to the same files;
//   - a bundle loaded with the trusted key is signed by that key; the same files load with
//     allow_unsigned too, with the same digest.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "bundles/archive.h"
#include "bundles/loader.h"
#include "bundles/signing.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace bundles = fleetpdp::bundles;

std::string Gzip(std::string_view in) {
  z_stream z{};
  // 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  FLEETPDP_FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "gzip of the input failed");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The example's published development key, the one that signed the corpus's example bundle.
constexpr char kKeyId[] = "dev-DO-NOT-USE";

const bundles::Keyring& TrustedKeys() {
  static const bundles::Keyring* const keyring = [] {
    auto k = bundles::Keyring::LoadDirectory(FLEETPDP_SOURCE_DIR "/examples/keys/trusted");
    FLEETPDP_FUZZ_CHECK(k.ok(), "the development key does not load: " << k.status());
    FLEETPDP_FUZZ_CHECK(k->Find(kKeyId) != nullptr, "no key " << kKeyId);
    return new bundles::Keyring(*std::move(k));
  }();
  return *keyring;
}

void CheckRejection(const absl::Status& status) {
  static const std::set<std::string_view> kReasons = {
      "malformed", "unsigned",       "tampered",       "unknown_key", "bad_signature",
      "rollback",  "invalid_policy", "unsafe_archive", "too_large",   "unreadable"};
  FLEETPDP_FUZZ_CHECK(!status.message().empty(), "a rejection without a message: " << status);
  FLEETPDP_FUZZ_CHECK(
      kReasons.count(bundles::RejectionReasonOf(status)) == 1,
      "unknown rejection reason \"" << bundles::RejectionReasonOf(status) << "\" for " << status);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)TrustedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string archive = (mode & 1) != 0 ? Gzip(payload) : std::string(payload);

  bundles::ReadLimits read_limits;
  read_limits.max_file_bytes = 1 << 20;
  read_limits.max_total_bytes = 4 << 20;
  read_limits.max_files = 64;
  read_limits.max_path_bytes = 256;
  absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundleArchive(archive, read_limits);
  if (!files.ok()) {
    CheckRejection(files.status());
    return 0;
  }

  absl::StatusOr<std::string> rewritten = bundles::WriteBundleArchive(*files);
  FLEETPDP_FUZZ_CHECK(rewritten.ok(), "files that were read do not write: " << rewritten.status());
  absl::StatusOr<bundles::BundleFiles> reread = bundles::ReadBundleArchive(*rewritten, read_limits);
  FLEETPDP_FUZZ_CHECK(reread.ok(), "a written archive does not read: " << reread.status());
  FLEETPDP_FUZZ_CHECK(*reread == *files, "files change through a write and a read");

  bundles::LoadOptions options;
  if ((mode & 2) != 0) options.revision_in_force = 5;
  options.compile_limits.max_statements = 1000;
  options.compile_limits.max_entities = 1000;
  options.compile_limits.max_groups = 1000;
  options.compile_limits.max_trie_nodes = 100'000;
  absl::StatusOr<bundles::LoadedBundle> verified =
      bundles::LoadBundle(*files, &TrustedKeys(), options);
  if (verified.ok()) {
    FLEETPDP_FUZZ_CHECK(verified->metadata.is_signed && verified->metadata.key_id == kKeyId,
                        "a bundle loaded with a keyring is not signed by its key");
  } else {
    CheckRejection(verified.status());
  }

  options.allow_unsigned = true;
  absl::StatusOr<bundles::LoadedBundle> loose = bundles::LoadBundle(*files, nullptr, options);
  if (!loose.ok()) {
    CheckRejection(loose.status());
    FLEETPDP_FUZZ_CHECK(!verified.ok(),
                        "loads verified but not with allow_unsigned: " << loose.status());
    return 0;
  }
  if (verified.ok()) {
    FLEETPDP_FUZZ_CHECK(verified->metadata.digest == loose->metadata.digest,
                        "the digest depends on verification");
  }
  return 0;
}
