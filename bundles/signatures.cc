#include "bundles/signatures.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bundles/digest.h"
#include "bundles/signing.h"
#include "engine/absl_compat.h"
#include "nlohmann/json.hpp"

namespace fleetpdp::bundles {
namespace {

using Json = nlohmann::json;

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed .signatures.json: ", Absl(what)));
}

// A string member, or an error naming it.
absl::StatusOr<std::string> StringField(const Json& object, const char* name, const char* where) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return Malformed(absl::StrCat(where, " needs a string \"", name, "\""));
  }
  return it->get<std::string>();
}

}  // namespace

std::string SignedPayload(uint64_t revision, std::string_view key_id,
                          std::string_view canonical_list) {
  return absl::StrCat("fleetpdp-bundle-signature-v1\nrevision: ", revision,
                      "\nkey-id: ", Absl(key_id), "\n", Absl(canonical_list));
}

absl::StatusOr<SignaturesFile> ParseSignatures(std::string_view text) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Malformed("not valid JSON");
  if (!doc.is_object()) return Malformed("must be a JSON object");
  absl::StatusOr<std::string> format = StringField(doc, "format", "the document");
  if (!format.ok()) return format.status();
  if (*format != kSignaturesFormat) {
    return Malformed(
        absl::StrCat("format \"", *format, "\" is not \"", Absl(kSignaturesFormat), "\""));
  }
  SignaturesFile out;
  auto revision = doc.find("revision");
  if (revision == doc.end() || !revision->is_number_unsigned() || revision->get<uint64_t>() == 0) {
    return Malformed("\"revision\" must be a positive integer");
  }
  out.revision = revision->get<uint64_t>();
  absl::StatusOr<std::string> digest = StringField(doc, "digest", "the document");
  if (!digest.ok()) return digest.status();
  if (!IsSha256Hex(*digest)) return Malformed("\"digest\" must be 64 lowercase hex digits");
  out.digest = *digest;

  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) return Malformed("\"files\" must be a list");
  std::set<std::string> seen;
  for (const Json& f : *files) {
    if (!f.is_object()) return Malformed("each of \"files\" must be an object");
    absl::StatusOr<std::string> path = StringField(f, "path", "a file entry");
    if (!path.ok()) return path.status();
    absl::StatusOr<std::string> sha = StringField(f, "sha256", "a file entry");
    if (!sha.ok()) return sha.status();
    if (!IsSha256Hex(*sha)) {
      return Malformed(absl::StrCat("sha256 of \"", *path, "\" must be 64 lowercase hex digits"));
    }
    if (!seen.insert(*path).second) {
      return Malformed(absl::StrCat("\"", *path, "\" is listed twice"));
    }
    out.files.push_back(FileHash{*path, *sha});
  }

  auto signatures = doc.find("signatures");
  if (signatures == doc.end() || !signatures->is_array()) {
    return Malformed("\"signatures\" must be a list");
  }
  for (const Json& s : *signatures) {
    if (!s.is_object()) return Malformed("each of \"signatures\" must be an object");
    SignatureEntry entry;
    absl::StatusOr<std::string> key_id = StringField(s, "key_id", "a signature");
    if (!key_id.ok()) return key_id.status();
    absl::StatusOr<std::string> algorithm = StringField(s, "algorithm", "a signature");
    if (!algorithm.ok()) return algorithm.status();
    if (*algorithm != "ed25519") {
      return Malformed(absl::StrCat("algorithm \"", *algorithm, "\" is not supported (ed25519)"));
    }
    absl::StatusOr<std::string> encoded = StringField(s, "signature", "a signature");
    if (!encoded.ok()) return encoded.status();
    absl::StatusOr<std::string> raw = Base64Decode(*encoded);
    if (!raw.ok()) {
      return Malformed(absl::StrCat("signature by \"", *key_id, "\" is not valid base64"));
    }
    entry.key_id = *key_id;
    entry.algorithm = *algorithm;
    entry.signature = *std::move(raw);
    out.signatures.push_back(std::move(entry));
  }
  return out;
}

std::string SerializeSignatures(const SignaturesFile& file) {
  using Ordered = nlohmann::ordered_json;  // fields in the documented order
  Ordered doc = Ordered::object();
  doc["format"] = std::string(kSignaturesFormat);
  doc["revision"] = file.revision;
  doc["digest"] = file.digest;
  Ordered files = Ordered::array();
  for (const FileHash& f : file.files) files.push_back({{"path", f.path}, {"sha256", f.sha256}});
  doc["files"] = std::move(files);
  Ordered signatures = Ordered::array();
  for (const SignatureEntry& s : file.signatures) {
    signatures.push_back({{"key_id", s.key_id},
                          {"algorithm", s.algorithm},
                          {"signature", Base64Encode(s.signature)}});
  }
  doc["signatures"] = std::move(signatures);
  return doc.dump(2) + "\n";
}

SignaturesFile DescribeBundle(const BundleFiles& files, uint64_t revision) {
  SignaturesFile out;
  out.revision = revision;
  for (const auto& [path, content] : files) {
    if (path == kSignaturesPath) continue;
    out.files.push_back(FileHash{path, Sha256Hex(content)});
  }
  out.digest = BundleDigest(files);
  return out;
}

}  // namespace fleetpdp::bundles
