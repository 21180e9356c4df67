#include "bundles/loader.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bundles/digest.h"
#include "bundles/signatures.h"
#include "engine/absl_compat.h"
#include "engine/parser.h"

namespace fleetpdp::bundles {
namespace {

constexpr char kReasonPayload[] = "type.fleetpdp.dev/bundle-rejection";

absl::Status Reject(absl::Status status, std::string_view reason) {
  status.SetPayload(kReasonPayload, absl::Cord(Absl(reason)));
  return status;
}

// Compares what the signature file lists with what is present; every difference named.
absl::Status CheckFileList(const BundleFiles& files, const FileHashes& hashes,
                           const SignaturesFile& listed) {
  std::vector<std::string> problems;
  std::set<std::string_view> listed_paths;
  for (const FileHash& f : listed.files) {
    listed_paths.insert(f.path);
    auto it = files.find(f.path);
    if (it == files.end()) {
      problems.push_back(absl::StrCat("file \"", f.path, "\" was removed"));
    } else if (const std::string& actual = hashes.find(f.path)->second; actual != f.sha256) {
      problems.push_back(absl::StrCat("file \"", f.path, "\" was changed (sha256 ", actual,
                                      ", signed ", f.sha256, ")"));
    }
  }
  for (const auto& [path, content] : files) {
    if (path != kSignaturesPath && !listed_paths.contains(path)) {
      problems.push_back(absl::StrCat("file \"", path, "\" was added"));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  constexpr size_t kShown = 10;
  std::string more = problems.size() > kShown
                         ? absl::StrCat(" (and ", problems.size() - kShown, " more)")
                         : std::string();
  problems.resize(std::min(problems.size(), kShown));
  return Reject(absl::DataLossError(absl::StrCat(
                    "bundle was modified after signing: ", absl::StrJoin(problems, "; "), more)),
                "tampered");
}

}  // namespace

std::string_view RejectionReasonOf(const absl::Status& status) {
  if (status.ok()) return "";
  if (absl::optional<absl::Cord> reason = status.GetPayload(kReasonPayload)) {
    static thread_local std::string text;
    text = std::string(*reason);
    return text;
  }
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kInvalidArgument:
      return "unsafe_archive";
    case absl::StatusCode::kDataLoss:
      return "malformed";
    default:
      return "unreadable";
  }
}

absl::StatusOr<LoadedBundle> CompileBundleFiles(const BundleFiles& files,
                                                const engine::CompileLimits& limits,
                                                ParseCache* parse_cache,
                                                const DirectoryInForce* directory_in_force,
                                                const FileHashes* hashes) {
  LoadedBundle out;
  auto manifest_it = files.find(kManifestPath);
  if (manifest_it == files.end()) {
    return Reject(absl::InvalidArgumentError("bundle has no manifest.yaml"), "malformed");
  }
  absl::StatusOr<Manifest> manifest = ParseManifest(manifest_it->second);
  if (!manifest.ok()) return Reject(manifest.status(), "malformed");
  out.metadata.name = manifest->name;
  out.metadata.revision = manifest->revision;
  out.metadata.created = manifest->created;
  out.metadata.description = manifest->description;
  out.metadata.files = files.size() - files.count(kSignaturesPath);

  engine::ParsedSources parsed;
  engine::ValidationReport report;
  if (parse_cache != nullptr) {
    const bool reusable = directory_in_force != nullptr && directory_in_force->directory != nullptr;
    report = parse_cache->Parse(
        files, parsed, reusable ? std::string_view(directory_in_force->fingerprint) : "", hashes);
    out.directory_fingerprint = parse_cache->last().directory_fingerprint;
    out.metadata.directory_reused = parse_cache->last().directory_omitted;
  } else {
    std::vector<engine::SourceFile> sources;
    for (const auto& [path, content] : files) {
      if (IsBundleDocument(path)) sources.push_back(engine::SourceFile{path, content});
    }
    report = engine::ParseSources(sources, parsed);
  }
  auto context = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("bundle \"", manifest->name, "\" rev ",
                                               manifest->revision, ": ", s.message()));
  };
  if (!report.ok()) return Reject(context(report.ToStatus()), "invalid_policy");
  std::set<std::string> compliance;
  for (const engine::Policy& p : parsed.set.policies) {
    out.metadata.statements += p.statements.size();
    compliance.insert(p.compliance.begin(), p.compliance.end());
  }
  out.metadata.policies = parsed.set.policies.size();
  out.metadata.compliance.assign(compliance.begin(), compliance.end());
  absl::StatusOr<std::shared_ptr<const engine::RuleIndex>> index =
      out.metadata.directory_reused
          ? engine::CompileWithDirectory(std::move(parsed.set), directory_in_force->directory,
                                         limits)
          : engine::Compile(std::move(parsed.set), limits);
  if (!index.ok()) return Reject(context(index.status()), "invalid_policy");
  out.index = *std::move(index);
  out.metadata.entities = out.index->entities().size();
  out.metadata.groups = out.index->groups().size();
  out.tests = std::move(parsed.tests);
  out.metadata.tests = out.tests.size();
  return out;
}

absl::StatusOr<LoadedBundle> LoadBundle(const BundleFiles& files, const Keyring* keyring,
                                        const LoadOptions& options) {
  auto manifest_it = files.find(kManifestPath);
  if (manifest_it == files.end()) {
    return Reject(absl::InvalidArgumentError("bundle has no manifest.yaml"), "malformed");
  }
  absl::StatusOr<Manifest> manifest = ParseManifest(manifest_it->second);
  if (!manifest.ok()) return Reject(manifest.status(), "malformed");

  const FileHashes hashes = HashFiles(files);  // each file hashed once for everything below
  const std::string canonical = CanonicalList(files, hashes);
  std::string digest = Sha256Hex(canonical);
  std::string key_id;
  auto sig_it = files.find(kSignaturesPath);
  std::optional<SignaturesFile> signatures;
  if (sig_it != files.end()) {
    absl::StatusOr<SignaturesFile> parsed = ParseSignatures(sig_it->second);
    if (!parsed.ok()) return Reject(parsed.status(), "malformed");
    signatures = *std::move(parsed);
    if (absl::Status s = CheckFileList(files, hashes, *signatures); !s.ok()) return s;
    if (signatures->digest != digest) {
      return Reject(
          absl::DataLossError(absl::StrCat("bundle digest ", digest,
                                           " differs from the signed digest ", signatures->digest)),
          "tampered");
    }
    if (signatures->revision != manifest->revision) {
      return Reject(absl::DataLossError(
                        absl::StrCat("manifest.yaml says revision ", manifest->revision,
                                     " but the signatures cover revision ", signatures->revision)),
                    "tampered");
    }
  }
  const bool has_signature = signatures && !signatures->signatures.empty();
  if (!has_signature && !options.allow_unsigned) {
    return Reject(absl::FailedPreconditionError(
                      "bundle is not signed (no signature in .signatures.json); sign it with "
                      "`fleetpdp bundle sign`, or allow unsigned bundles for local development"),
                  "unsigned");
  }
  if (has_signature && keyring != nullptr) {
    std::vector<std::string> unknown, bad;
    for (const SignatureEntry& s : signatures->signatures) {
      const std::string* pem = keyring->Find(s.key_id);
      if (pem == nullptr) {
        unknown.push_back(absl::StrCat("\"", s.key_id, "\""));
        continue;
      }
      if (Verify(*pem, SignedPayload(manifest->revision, s.key_id, canonical), s.signature).ok()) {
        key_id = s.key_id;
        break;
      }
      bad.push_back(absl::StrCat("\"", s.key_id, "\""));
    }
    if (key_id.empty() && !bad.empty()) {
      return Reject(absl::DataLossError(absl::StrCat("signature by key ", absl::StrJoin(bad, ", "),
                                                     " does not verify")),
                    "bad_signature");
    }
    if (key_id.empty()) {
      std::vector<std::string> trusted;
      for (const auto& [id, pem] : keyring->keys()) trusted.push_back(absl::StrCat("\"", id, "\""));
      return Reject(
          absl::PermissionDeniedError(absl::StrCat(
              "bundle is signed by unknown key ", absl::StrJoin(unknown, ", "),
              " (trusted: ", trusted.empty() ? "none" : absl::StrJoin(trusted, ", "), ")")),
          "unknown_key");
    }
  } else if (has_signature && !options.allow_unsigned) {
    return Reject(absl::FailedPreconditionError("no trusted keys configured to verify the bundle"),
                  "unknown_key");
  }

  if (options.revision_in_force) {
    uint64_t in_force = *options.revision_in_force;
    if (manifest->revision < in_force) {
      return Reject(absl::FailedPreconditionError(absl::StrCat("revision ", manifest->revision,
                                                               " is older than revision ", in_force,
                                                               " in force (rollback refused)")),
                    "rollback");
    }
    if (manifest->revision == in_force && !options.digest_in_force.empty() &&
        options.digest_in_force != digest) {
      return Reject(
          absl::FailedPreconditionError(absl::StrCat(
              "revision ", in_force, " is already in force with digest ", options.digest_in_force,
              " but this bundle's digest is ", digest, " (a changed bundle needs a new revision)")),
          "rollback");
    }
  }

  absl::StatusOr<LoadedBundle> loaded = CompileBundleFiles(
      files, options.compile_limits, options.parse_cache,
      options.directory_in_force ? &*options.directory_in_force : nullptr, &hashes);
  if (!loaded.ok()) return loaded.status();
  loaded->metadata.digest = digest;
  loaded->metadata.key_id = key_id;
  loaded->metadata.is_signed = !key_id.empty();
  return loaded;
}

absl::StatusOr<BundleFiles> SignBundle(BundleFiles files, std::string_view private_pem,
                                       std::string_view key_id) {
  if (key_id.empty()) return absl::InvalidArgumentError("key id must not be empty");
  auto manifest_it = files.find(kManifestPath);
  if (manifest_it == files.end()) {
    return absl::InvalidArgumentError("bundle has no manifest.yaml");
  }
  absl::StatusOr<Manifest> manifest = ParseManifest(manifest_it->second);
  if (!manifest.ok()) return manifest.status();

  SignaturesFile out = DescribeBundle(files, manifest->revision);
  if (auto it = files.find(kSignaturesPath); it != files.end()) {
    absl::StatusOr<SignaturesFile> existing = ParseSignatures(it->second);
    if (existing.ok() && existing->digest == out.digest && existing->revision == out.revision) {
      for (SignatureEntry& s : existing->signatures) {
        if (s.key_id != key_id) out.signatures.push_back(std::move(s));
      }
    }
  }
  absl::StatusOr<std::string> signature =
      Sign(private_pem, SignedPayload(manifest->revision, key_id, CanonicalList(files)));
  if (!signature.ok()) return signature.status();
  out.signatures.push_back(SignatureEntry{std::string(key_id), "ed25519", *std::move(signature)});
  files[std::string(kSignaturesPath)] = SerializeSignatures(out);
  return files;
}

}  // namespace fleetpdp::bundles
