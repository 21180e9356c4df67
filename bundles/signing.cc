#include "bundles/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "engine/absl_compat.h"
#include "engine/status_macros.h"

namespace fleetpdp::bundles {
namespace fs = std::filesystem;

namespace {

constexpr size_t kSignatureBytes = 64;  // Ed25519, RFC 8032

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string Quote(std::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(Absl(s)), "\"");
}

// Drains this thread's OpenSSL error queue into one line, so an error neither goes unreported nor
// leaks into the next, unrelated operation.
std::string OpenSslErrors() {
  std::string out;
  char buffer[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

absl::Status OpenSslError(absl::StatusCode code, std::string_view what) {
  return {code, absl::StrCat(Absl(what), ": ", OpenSslErrors())};
}

// Status with the same code and `context: ` before the message.
absl::Status WithContext(const absl::Status& status, std::string_view context) {
  return {status.code(), absl::StrCat(Absl(context), ": ", status.message())};
}

// Never prompts: an encrypted private key fails to load instead of reading the terminal.
int NoPassword(char*, int, int, void*) { return -1; }

absl::StatusOr<Bio> MemoryBio(std::string_view bytes) {
  if (bytes.size() > INT_MAX) return absl::InvalidArgumentError("key PEM is too large");
  Bio bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kResourceExhausted, "allocating a BIO");
  return bio;
}

absl::Status RequireEd25519(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return absl::OkStatus();
  const char* type = EVP_PKEY_get0_type_name(key);
  return absl::InvalidArgumentError(
      absl::StrCat("key is ", type != nullptr ? type : "of an unknown type", ", expected Ed25519"));
}

absl::StatusOr<Pkey> ReadPrivateKey(std::string_view pem) {
  ERR_clear_error();
  FLEETPDP_ASSIGN_OR_RETURN(Bio bio, MemoryBio(pem));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a PEM private key (unencrypted PKCS#8 \"PRIVATE KEY\")");
  }
  FLEETPDP_RETURN_IF_ERROR(RequireEd25519(key.get()));
  return key;
}

absl::StatusOr<Pkey> ReadPublicKey(std::string_view pem) {
  ERR_clear_error();
  FLEETPDP_ASSIGN_OR_RETURN(Bio bio, MemoryBio(pem));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a PEM public key (SubjectPublicKeyInfo \"PUBLIC KEY\")");
  }
  FLEETPDP_RETURN_IF_ERROR(RequireEd25519(key.get()));
  return key;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length < 0 || (length > 0 && data == nullptr)) {
    return OpenSslError(absl::StatusCode::kInternal, "reading a memory BIO");
  }
  return std::string(data, static_cast<size_t>(length));
}

absl::StatusOr<std::string> PrivatePem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "writing a private key");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PublicPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "writing a public key");
  }
  return BioContents(bio.get());
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Index of a standard base64 character, or -1.
int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

absl::StatusOr<KeyPair> GenerateKeyPair() {
  ERR_clear_error();
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "generating an Ed25519 key");
  }
  KeyPair pair;
  FLEETPDP_ASSIGN_OR_RETURN(pair.private_pem, PrivatePem(key.get()));
  FLEETPDP_ASSIGN_OR_RETURN(pair.public_pem, PublicPem(key.get()));
  return pair;
}

absl::StatusOr<std::string> PublicKeyOf(std::string_view private_pem) {
  FLEETPDP_ASSIGN_OR_RETURN(Pkey key, ReadPrivateKey(private_pem));
  return PublicPem(key.get());
}

absl::StatusOr<std::string> Sign(std::string_view private_pem, std::string_view message) {
  FLEETPDP_ASSIGN_OR_RETURN(Pkey key, ReadPrivateKey(private_pem));
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 is "pure": no digest is named, the message goes in whole and in one call.
  if (ctx == nullptr || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                              key.get(), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up Ed25519 signing");
  }
  std::string signature(kSignatureBytes, '\0');
  size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "signing");
  }
  signature.resize(length);
  return signature;
}

absl::Status Verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature) {
  FLEETPDP_ASSIGN_OR_RETURN(Pkey key, ReadPublicKey(public_pem));
  if (signature.size() != kSignatureBytes) {
    return absl::DataLossError(absl::StrCat("signature does not verify: it is ", signature.size(),
                                            " bytes, an Ed25519 signature is ", kSignatureBytes));
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                                key.get(), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up Ed25519 verification");
  }
  int result = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  // A mismatch may leave a reason on the error queue; it says nothing the caller needs.
  ERR_clear_error();
  if (result != 1) return absl::DataLossError("signature does not verify");
  return absl::OkStatus();
}

std::string Base64Encode(std::string_view bytes) {
  // EVP_EncodeBlock takes an int length; encode in slices that are a multiple of 3 bytes so the
  // pieces concatenate into one valid encoding.
  constexpr size_t kSlice = 3 << 20;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::vector<unsigned char> buffer((std::min(bytes.size(), kSlice) + 2) / 3 * 4 + 1);
  for (size_t offset = 0; offset < bytes.size(); offset += kSlice) {
    size_t n = std::min(kSlice, bytes.size() - offset);
    int written = EVP_EncodeBlock(buffer.data(),
                                  reinterpret_cast<const unsigned char*>(bytes.data() + offset),
                                  static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(written));
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  // Strict RFC 4648 §4: whole quanta of four, the alphabet, '=' only as the final padding, and
  // zero bits under the padding — one text for one byte string.
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid base64 ", Quote(text.substr(0, 96)), ": ", Absl(why)));
  };
  if (text.size() % 4 != 0) return invalid("length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t padding = 0;
    if (last) padding = text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0;
    uint32_t quantum = 0;
    for (size_t j = 0; j < 4; ++j) {
      int value = j < 4 - padding ? Base64Value(text[i + j]) : 0;
      if (value < 0) {
        return invalid(text[i + j] == '=' ? "padding before the end"
                                          : "character outside the alphabet");
      }
      quantum = quantum << 6 | static_cast<uint32_t>(value);
    }
    if ((padding == 1 && (quantum & 0xff) != 0) || (padding == 2 && (quantum & 0xffff) != 0)) {
      return invalid("non-zero bits in the padding");
    }
    out += static_cast<char>(quantum >> 16);
    if (padding < 2) out += static_cast<char>(quantum >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(quantum & 0xff);
  }
  return out;
}

absl::StatusOr<Keyring> Keyring::LoadDirectory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("key directory ", Quote(dir.string()), " is not a directory"));
  }
  // Sorted, so that which of two bad files is reported does not depend on the file system.
  std::vector<fs::path> candidates;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    // is_regular_file follows links: Kubernetes mounts Secrets and ConfigMaps as links.
    if (EndsWith(it->path().filename().string(), ".pem") && it->is_regular_file(ec)) {
      candidates.push_back(it->path());
    }
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list key directory ", Quote(dir.string()), ": ", ec.message()));
  }
  std::sort(candidates.begin(), candidates.end());
  Keyring keyring;
  for (const fs::path& file : candidates) {
    std::string name = file.filename().string();
    if (EndsWith(name, ".key.pem")) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quote(file.string()), ": refusing to trust a private key file"));
    }
    std::string_view suffix = EndsWith(name, ".pub.pem") ? ".pub.pem" : ".pem";
    std::string key_id = name.substr(0, name.size() - suffix.size());
    absl::StatusOr<std::string> pem = ReadFileBytes(file);
    if (!pem.ok()) return pem.status();
    if (absl::Status added = keyring.Add(std::move(key_id), *std::move(pem)); !added.ok()) {
      return WithContext(added, Quote(file.string()));
    }
  }
  if (keyring.size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("key directory ", Quote(dir.string()),
                     " holds no keys (expected <key-id>.pem or <key-id>.pub.pem files)"));
  }
  return keyring;
}

absl::Status Keyring::Add(std::string key_id, std::string public_pem) {
  if (key_id.empty()) return absl::InvalidArgumentError("empty key id");
  if (public_pem.find("PRIVATE KEY-----") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key ", Quote(key_id), " is a private key; refusing to trust a private key file"));
  }
  absl::StatusOr<Pkey> key = ReadPublicKey(public_pem);
  if (!key.ok()) {
    return WithContext(key.status(), absl::StrCat("key ", Quote(key_id)));
  }
  if (keys_.find(key_id) != keys_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("duplicate key id ", Quote(key_id)));
  }
  keys_.emplace(std::move(key_id), std::move(public_pem));
  return absl::OkStatus();
}

const std::string* Keyring::Find(std::string_view key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace fleetpdp::bundles
