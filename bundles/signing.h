// Ed25519 keys and signatures (OpenSSL 3 EVP), and the keyring of trusted public keys.
//
//   absl::StatusOr<KeyPair> pair = GenerateKeyPair();              // PEM strings
//   absl::StatusOr<std::string> sig = Sign(pair->private_pem, message);   // 64 raw bytes
//   absl::Status ok = Verify(pair->public_pem, message, *sig);
//
// Keys are PEM: PKCS#8 "PRIVATE KEY" and SubjectPublicKeyInfo "PUBLIC KEY", as written by
// `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`. A key of another algorithm is
// rejected with InvalidArgument ("key is RSA, expected Ed25519"). Verify returns DataLoss for a
// signature that does not verify.
//
// Thread safety: functions are thread-safe; a Keyring is immutable after loading.
#ifndef FLEETPDP_BUNDLES_SIGNING_H_
#define FLEETPDP_BUNDLES_SIGNING_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fleetpdp::bundles {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

absl::StatusOr<KeyPair> GenerateKeyPair();
// The public key (PEM) of a private key (PEM).
absl::StatusOr<std::string> PublicKeyOf(std::string_view private_pem);
absl::StatusOr<std::string> Sign(std::string_view private_pem, std::string_view message);
absl::Status Verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature);

// Standard base64 (RFC 4648, with padding), for signatures in .signatures.json.
std::string Base64Encode(std::string_view bytes);
absl::StatusOr<std::string> Base64Decode(std::string_view text);  // InvalidArgument on bad input

// Trusted public keys by key id. Several may be trusted at once (key rotation).
class Keyring {
 public:
  // Every "<key-id>.pem" or "<key-id>.pub.pem" file in `dir` (not recursive); each must hold an
  // Ed25519 public key. Errors name the file. An empty directory is an error (nothing trusted).
  static absl::StatusOr<Keyring> LoadDirectory(const std::filesystem::path& dir);
  // Adds a key; InvalidArgument for a bad PEM, a non-Ed25519 key or a duplicate key id.
  absl::Status Add(std::string key_id, std::string public_pem);

  // The PEM for `key_id`, or null when the key is not trusted.
  const std::string* Find(std::string_view key_id) const;
  size_t size() const { return keys_.size(); }
  const std::map<std::string, std::string, std::less<>>& keys() const { return keys_; }

 private:
  std::map<std::string, std::string, std::less<>> keys_;
};

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_SIGNING_H_
