// `fleetpdp bundle build|sign|verify|inspect` and `fleetpdp keygen`.
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "bundles/loader.h"
#include "bundles/signatures.h"
#include "bundles/signing.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/absl_compat.h"

namespace fleetpdp::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kBundleUsage[] = R"(usage: fleetpdp bundle COMMAND …

  build SRC -o OUT.tar.gz          validate, compile and test a policy source directory, then pack it
  sign BUNDLE --key KEY.pem --key-id ID [-o OUT]
                                   sign a bundle archive (in place unless -o)
  verify BUNDLE --keys DIR [--allow-unsigned]
                                   check a bundle as a server would: files, digest, signature
  inspect BUNDLE [--keys DIR]      print name, revision, digest, signers, counts, compliance tags

Run "fleetpdp bundle COMMAND --help" for details.
)";

constexpr char kBuildUsage[] = R"(usage: fleetpdp bundle build SRC -o OUT.tar.gz

Reads the policy source directory SRC (manifest.yaml, policies/, entities/, tests/), validates and
compiles every policy, runs every policy test, and writes the bundle archive OUT.tar.gz — unsigned;
sign it with "fleetpdp bundle sign". Any problem or failed test exits non-zero and writes nothing:
this is the CI gate.

  -o, --output FILE   the archive to write (required)

Exit status: 0 built; 1 a policy test failed; 2 bad usage, unreadable source or invalid policies.
)";

constexpr char kSignUsage[] =
    R"(usage: fleetpdp bundle sign BUNDLE --key KEY.pem --key-id ID [-o OUT]

Signs the bundle archive BUNDLE with the Ed25519 private key KEY.pem under the key id ID, writing
.signatures.json into the archive. Signatures by other keys over the same content are kept, so
several keys can co-sign during a key rotation.

  --key FILE      Ed25519 private key (PEM, PKCS#8), e.g. from "fleetpdp keygen"
  --key-id ID     the id servers know the matching public key by (its file name in --keys DIR)
  -o, --output    write the signed bundle here instead of replacing BUNDLE
)";

constexpr char kVerifyUsage[] =
    R"(usage: fleetpdp bundle verify BUNDLE --keys DIR [--allow-unsigned]

Checks BUNDLE (a .tar.gz or a directory) exactly as a server loads it: archive safety and limits,
manifest, every file against .signatures.json, the digest, an Ed25519 signature by a key in DIR, and
that every policy compiles. Prints the verified digest and signer, or the rejection reason.

  --keys DIR          trusted public keys: DIR/<key-id>.pem or DIR/<key-id>.pub.pem
  --allow-unsigned    accept a bundle without signature (local development only)

Exit status: 0 verified; 1 rejected; 2 bad usage.
)";

constexpr char kInspectUsage[] = R"(usage: fleetpdp bundle inspect BUNDLE [--keys DIR]

Prints a bundle's name, revision, creation time, digest, signers, counts and compliance tags. With
--keys the signature is verified too; without, the listed signers are shown as claimed.
)";

constexpr char kKeygenUsage[] = R"(usage: fleetpdp keygen --key-id ID [--out DIR]

Generates an Ed25519 key pair for signing bundles: DIR/ID.key.pem (private, mode 0600: keep it in
your CI's secret store) and DIR/ID.pub.pem (public: give it to servers in their --keys directory).
DIR defaults to the current directory. Existing files are never overwritten.
)";

int Usage(const char* usage, const absl::Status& error, const char* command) {
  std::cerr << "fleetpdp " << command << ": " << error.message() << "\n\n" << usage;
  return kExitUsage;
}

int Fail(const char* command, absl::string_view message) {
  std::cerr << "fleetpdp " << command << ": " << message << "\n";
  return kExitUsage;
}

int Build(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kBuildUsage, kExitOk);
  std::optional<std::string> out = args.Take("-o");
  if (!out) out = args.Take("--output");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kBuildUsage, s, "bundle build");
  if (positional.size() != 1 || !out) {
    return Usage(kBuildUsage, absl::InvalidArgumentError("expected SRC and -o OUT.tar.gz"),
                 "bundle build");
  }
  absl::StatusOr<bundles::BundleFiles> files = ReadSourceFiles(positional[0]);
  if (!files.ok())
    return Fail("bundle build", absl::StrCat(positional[0], ": ", files.status().message()));
  absl::StatusOr<bundles::LoadedBundle> bundle = bundles::CompileBundleFiles(*files);
  if (!bundle.ok()) {
    return Fail("bundle build", absl::StrCat(positional[0], ": ", bundle.status().message()));
  }
  TestSummary summary = RunAndPrintTests(*bundle, /*verbose=*/false);
  if (summary.failed > 0) {
    std::cerr << "fleetpdp bundle build: " << summary.failed
              << " policy test(s) failed; nothing written\n";
    return kExitFailed;
  }
  absl::StatusOr<std::string> archive = bundles::WriteBundleArchive(*files);
  if (!archive.ok()) return Fail("bundle build", archive.status().message());
  if (absl::Status s = bundles::WriteFileBytes(*out, *archive); !s.ok()) {
    return Fail("bundle build", s.message());
  }
  const bundles::BundleMetadata& m = bundle->metadata;
  std::cout << "built " << *out << ": " << m.name << " rev " << m.revision << ", " << m.policies
            << " policies, " << m.statements << " statements, " << m.entities << " entities, "
            << summary.passed << " tests passed\n  digest " << bundles::BundleDigest(*files)
            << " (unsigned: run fleetpdp bundle sign)\n";
  return kExitOk;
}

int Sign(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kSignUsage, kExitOk);
  std::optional<std::string> key = args.Take("--key");
  std::optional<std::string> key_id = args.Take("--key-id");
  std::optional<std::string> out = args.Take("-o");
  if (!out) out = args.Take("--output");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kSignUsage, s, "bundle sign");
  if (positional.size() != 1 || !key || !key_id) {
    return Usage(kSignUsage, absl::InvalidArgumentError("expected BUNDLE, --key and --key-id"),
                 "bundle sign");
  }
  absl::StatusOr<std::string> pem = bundles::ReadFileBytes(*key);
  if (!pem.ok()) return Fail("bundle sign", pem.status().message());
  absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundle(positional[0]);
  if (!files.ok())
    return Fail("bundle sign", absl::StrCat(positional[0], ": ", files.status().message()));
  absl::StatusOr<bundles::BundleFiles> signed_files = bundles::SignBundle(*files, *pem, *key_id);
  if (!signed_files.ok()) {
    return Fail("bundle sign", absl::StrCat(*key, ": ", signed_files.status().message()));
  }
  absl::StatusOr<std::string> archive = bundles::WriteBundleArchive(*signed_files);
  if (!archive.ok()) return Fail("bundle sign", archive.status().message());
  std::string target = out.value_or(positional[0]);
  if (absl::Status s = bundles::WriteFileBytes(target, *archive); !s.ok()) {
    return Fail("bundle sign", s.message());
  }
  std::cout << "signed " << target << " with key \"" << *key_id << "\"\n  digest "
            << bundles::BundleDigest(*signed_files) << "\n";
  return kExitOk;
}

void PrintMetadata(const bundles::BundleMetadata& m, std::string_view signers) {
  std::cout << "name:        " << m.name << "\n"
            << "revision:    " << m.revision << "\n"
            << "created:     " << (m.created.empty() ? "-" : m.created) << "\n"
            << "digest:      " << m.digest << "\n"
            << "signed by:   " << signers << "\n"
            << "files:       " << m.files << "\n"
            << "policies:    " << m.policies << " (" << m.statements << " statements)\n"
            << "entities:    " << m.entities << " (" << m.groups << " groups)\n"
            << "tests:       " << m.tests << "\n"
            << "compliance:  " << (m.compliance.empty() ? "-" : absl::StrJoin(m.compliance, ", "))
            << "\n";
}

int Verify(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kVerifyUsage, kExitOk);
  std::optional<std::string> keys = args.Take("--keys");
  bool allow_unsigned = args.TakeSwitch("--allow-unsigned");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kVerifyUsage, s, "bundle verify");
  if (positional.size() != 1 || (!keys && !allow_unsigned)) {
    return Usage(kVerifyUsage, absl::InvalidArgumentError("expected BUNDLE and --keys DIR"),
                 "bundle verify");
  }
  std::optional<bundles::Keyring> keyring;
  if (keys) {
    absl::StatusOr<bundles::Keyring> loaded = bundles::Keyring::LoadDirectory(*keys);
    if (!loaded.ok()) return Fail("bundle verify", loaded.status().message());
    keyring = *std::move(loaded);
  }
  if (allow_unsigned) std::cerr << kUnsignedWarning;
  bundles::LoadOptions options;
  options.allow_unsigned = allow_unsigned;
  absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundle(positional[0]);
  absl::StatusOr<bundles::LoadedBundle> bundle =
      files.ok() ? bundles::LoadBundle(*files, keyring ? &*keyring : nullptr, options)
                 : absl::StatusOr<bundles::LoadedBundle>(files.status());
  if (!bundle.ok()) {
    std::cout << "REJECTED (" << bundles::RejectionReasonOf(bundle.status())
              << "): " << positional[0] << ": " << bundle.status().message() << "\n";
    return kExitFailed;
  }
  const bundles::BundleMetadata& m = bundle->metadata;
  std::cout << "VERIFIED " << positional[0] << ": " << m.name << " rev " << m.revision
            << ", digest " << m.digest << ", "
            << (m.is_signed ? absl::StrCat("signed by \"", m.key_id, "\"") : "UNSIGNED") << "\n";
  return kExitOk;
}

int Inspect(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kInspectUsage, kExitOk);
  std::optional<std::string> keys = args.Take("--keys");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kInspectUsage, s, "bundle inspect");
  if (positional.size() != 1) {
    return Usage(kInspectUsage, absl::InvalidArgumentError("expected BUNDLE"), "bundle inspect");
  }
  absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundle(positional[0]);
  if (!files.ok())
    return Fail("bundle inspect", absl::StrCat(positional[0], ": ", files.status().message()));
  std::string signers = "(unsigned)";
  if (auto it = files->find(bundles::kSignaturesPath); it != files->end()) {
    absl::StatusOr<bundles::SignaturesFile> sigs = bundles::ParseSignatures(it->second);
    if (!sigs.ok()) return Fail("bundle inspect", sigs.status().message());
    std::vector<std::string> ids;
    for (const auto& s : sigs->signatures) ids.push_back(absl::StrCat("\"", s.key_id, "\""));
    if (!ids.empty())
      signers = absl::StrCat(absl::StrJoin(ids, ", "), " (not verified: pass --keys)");
  }
  absl::StatusOr<bundles::LoadedBundle> bundle;
  if (keys) {
    absl::StatusOr<bundles::Keyring> keyring = bundles::Keyring::LoadDirectory(*keys);
    if (!keyring.ok()) return Fail("bundle inspect", keyring.status().message());
    bundle = bundles::LoadBundle(*files, &*keyring);
    if (bundle.ok()) signers = absl::StrCat("\"", bundle->metadata.key_id, "\" (verified)");
  } else {
    bundle = bundles::CompileBundleFiles(*files);
    if (bundle.ok()) bundle->metadata.digest = bundles::BundleDigest(*files);
  }
  if (!bundle.ok()) {
    std::cout << "REJECTED (" << bundles::RejectionReasonOf(bundle.status())
              << "): " << bundle.status().message() << "\n";
    return kExitFailed;
  }
  PrintMetadata(bundle->metadata, signers);
  return kExitOk;
}

}  // namespace

int RunBundleCommand(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::cout << kBundleUsage;
    return argc < 2 ? kExitUsage : kExitOk;
  }
  std::string_view sub = argv[1];
  if (sub == "build") return Build(argc - 1, argv + 1);
  if (sub == "sign") return Sign(argc - 1, argv + 1);
  if (sub == "verify") return Verify(argc - 1, argv + 1);
  if (sub == "inspect") return Inspect(argc - 1, argv + 1);
  std::cerr << "fleetpdp bundle: unknown command \"" << sub << "\"\n\n" << kBundleUsage;
  return kExitUsage;
}

int RunKeygenCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kKeygenUsage, kExitOk);
  std::optional<std::string> key_id = args.Take("--key-id");
  std::string dir = args.Take("--out").value_or(".");
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kKeygenUsage, s, "keygen");
  if (!key_id || key_id->empty() || key_id->find('/') != std::string::npos) {
    return Usage(kKeygenUsage, absl::InvalidArgumentError("expected --key-id ID (no '/')"),
                 "keygen");
  }
  fs::path private_path = fs::path(dir) / (*key_id + ".key.pem");
  fs::path public_path = fs::path(dir) / (*key_id + ".pub.pem");
  for (const fs::path& p : {private_path, public_path}) {
    if (fs::exists(p))
      return Fail("keygen", absl::StrCat("\"", p.string(), "\" exists; not overwriting it"));
  }
  ::umask(077);  // the private key is never readable by others, not even for a moment
  absl::StatusOr<bundles::KeyPair> pair = bundles::GenerateKeyPair();
  if (!pair.ok()) return Fail("keygen", pair.status().message());
  if (absl::Status s = bundles::WriteFileBytes(private_path, pair->private_pem); !s.ok()) {
    return Fail("keygen", s.message());
  }
  ::umask(022);
  if (absl::Status s = bundles::WriteFileBytes(public_path, pair->public_pem); !s.ok()) {
    return Fail("keygen", s.message());
  }
  std::cout << "wrote " << private_path.string() << " (private: keep it secret)\nwrote "
            << public_path.string() << " (public: put it in the servers' --keys directory)\n";
  return kExitOk;
}

}  // namespace fleetpdp::cli
