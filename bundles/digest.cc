#include "bundles/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/pace.h"

namespace fleetpdp::bundles {

// About a millisecond of SHA-256 on one core.
constexpr size_t kPacedHashChunk = size_t{1} << 20;

namespace {

[[noreturn]] void NoSha256() {
  // SHA-256 is built into every OpenSSL 3 default provider: failing here is a broken
  // installation, not bad input.
  std::fputs("fleetpdp: OpenSSL cannot compute SHA-256\n", stderr);
  std::abort();
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (bytes.size() <= kPacedHashChunk) {
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
      NoSha256();
    }
  } else {
    // A large file (a device registry is tens of megabytes) in chunks, with a pace point between
    // them (engine/pace.h).
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) NoSha256();
    for (size_t at = 0; at < bytes.size(); at += kPacedHashChunk) {
      engine::PacePoint();
      const size_t n = std::min(kPacedHashChunk, bytes.size() - at);
      if (EVP_DigestUpdate(ctx.get(), bytes.data() + at, n) != 1) NoSha256();
    }
    if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) NoSha256();
  }
  if (length != 32) NoSha256();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(size_t{2} * length, '\0');
  for (size_t i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

FileHashes HashFiles(const BundleFiles& files) {
  FileHashes hashes;
  for (const auto& [path, content] : files)
    hashes.emplace_hint(hashes.end(), path, Sha256Hex(content));
  return hashes;
}

std::string CanonicalList(const BundleFiles& files) {
  return CanonicalList(files, HashFiles(files));
}

std::string CanonicalList(const BundleFiles& files, const FileHashes& hashes) {
  std::string list;
  for (const auto& [path, content] : files) {
    if (path == kSignaturesPath) continue;
    // Valid bundle paths hold no backslash or newline (ValidateBundlePath). For any other map the
    // line is escaped as sha256sum escapes it — a leading '\' and "\\", "\n" in the name — so
    // that no path can pass for several lines and the list stays unambiguous.
    bool escape = path.find_first_of("\\\n") != std::string::npos;
    if (escape) list += '\\';
    list += hashes.find(path)->second;
    list += "  ";
    if (!escape) {
      list += path;
    } else {
      for (char c : path) {
        if (c == '\\') {
          list += "\\\\";
        } else if (c == '\n') {
          list += "\\n";
        } else {
          list += c;
        }
      }
    }
    list += '\n';
  }
  return list;
}

}  // namespace fleetpdp::bundles
