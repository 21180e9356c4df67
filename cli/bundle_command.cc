// `fleetpdp bundle build|sign|verify|inspect|prune` and `fleetpdp keygen`.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "bundles/loader.h"
#include "bundles/prune.h"
#include "bundles/signatures.h"
#include "bundles/signing.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/absl_compat.h"
#include "engine/prune.h"

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
  prune BUNDLE|SRC --for SEL -o OUT (--key KEY.pem --key-id ID | --unsigned)
                                   a smaller bundle with only what can apply to SEL's principals

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

constexpr char kPruneUsage[] =
    R"(usage: fleetpdp bundle prune BUNDLE|SRC --for SELECTOR -o OUT.tar.gz
                             (--key KEY.pem --key-id ID | --unsigned) [--keys DIR]

Writes a smaller bundle holding only what can apply to the principals SELECTOR selects, for
edge-local enforcement (e.g. the Mosquitto plugin's local mode on a site gateway): the policies
whose principals can select one of them (with all their statements), those entities, the groups
they are in and all their ancestors, and the tests asking about them. The result is built like
"bundle build" (compiled, its kept tests run) and signed like "bundle sign". Its manifest keeps the
name and revision; its description says what it was pruned for and from which digest.

SELECTOR: comma-separated terms, their union:
  group:G     entities in group G or any descendant of G (G must be declared)
  id:X        the entity X (it must be in the bundle)
  attr:K=V    entities whose attribute K is V (for a list attribute: holds V)

The pruned bundle decides exactly as the full one for requests whose principal is a selected
entity, with any action, resource, context and request attributes; requests that add groups the
entity is not in, and other principals, are out of its scope (docs/policy-lifecycle.md).

  --for SELECTOR    whom to prune for (required)
  -o, --output FILE the archive to write (required)
  --key FILE        sign with this Ed25519 private key (PEM) ...
  --key-id ID       ... under this key id
  --unsigned        write it unsigned (sign later with "fleetpdp bundle sign")
  --keys DIR        verify the input bundle's signature against these trusted keys first

Exit status: 0 written; 1 a kept policy test failed (nothing written); 2 bad usage, a bad or
empty selector, an unknown group or entity, or an unreadable or invalid input.
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

// The gate of "bundle build", shared with "bundle prune": `files` compile and every policy test
// passes. On failure the message is printed and the exit status returned; on success nullopt.
std::optional<int> CompileAndTest(const bundles::BundleFiles& files, const char* command,
                                  const std::string& what, bundles::LoadedBundle& bundle,
                                  TestSummary& summary) {
  absl::StatusOr<bundles::LoadedBundle> compiled = bundles::CompileBundleFiles(files);
  if (!compiled.ok()) return Fail(command, absl::StrCat(what, ": ", compiled.status().message()));
  bundle = *std::move(compiled);
  summary = RunAndPrintTests(bundle, /*verbose=*/false);
  if (summary.failed > 0) {
    std::cerr << "fleetpdp " << command << ": " << summary.failed
              << " policy test(s) failed; nothing written\n";
    return kExitFailed;
  }
  return std::nullopt;
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
  bundles::LoadedBundle built;
  TestSummary summary;
  if (std::optional<int> failed =
          CompileAndTest(*files, "bundle build", positional[0], built, summary)) {
    return *failed;
  }
  const bundles::LoadedBundle* bundle = &built;
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
            << (m.description.empty() ? "" : absl::StrCat("description: ", m.description, "\n"))
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

int Prune(int argc, char** argv) {
  constexpr char kCommand[] = "bundle prune";
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kPruneUsage, kExitOk);
  std::optional<std::string> selector_text = args.Take("--for");
  std::optional<std::string> out = args.Take("-o");
  if (!out) out = args.Take("--output");
  std::optional<std::string> key = args.Take("--key");
  std::optional<std::string> key_id = args.Take("--key-id");
  bool unsigned_output = args.TakeSwitch("--unsigned");
  std::optional<std::string> keys = args.Take("--keys");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) return Usage(kPruneUsage, s, kCommand);
  if (positional.size() != 1 || !selector_text || !out) {
    return Usage(kPruneUsage,
                 absl::InvalidArgumentError("expected BUNDLE|SRC, --for SELECTOR and -o OUT"),
                 kCommand);
  }
  if (unsigned_output == (key.has_value() || key_id.has_value()) ||
      key.has_value() != key_id.has_value()) {
    return Usage(kPruneUsage,
                 absl::InvalidArgumentError("expected either --key and --key-id, or --unsigned"),
                 kCommand);
  }
  absl::StatusOr<engine::PrincipalSelection> selection = engine::ParseSelection(*selector_text);
  if (!selection.ok()) return Fail(kCommand, absl::StrCat("--for: ", selection.status().message()));
  std::optional<std::string> pem;
  if (key) {
    absl::StatusOr<std::string> read = bundles::ReadFileBytes(*key);
    if (!read.ok()) return Fail(kCommand, read.status().message());
    pem = *std::move(read);
  }

  // The input: verified when --keys is given, else compiled as `bundle build` would.
  absl::StatusOr<bundles::BundleFiles> files = ReadSourceFiles(positional[0]);
  if (!files.ok())
    return Fail(kCommand, absl::StrCat(positional[0], ": ", files.status().message()));
  absl::StatusOr<bundles::LoadedBundle> full;
  if (keys) {
    absl::StatusOr<bundles::Keyring> keyring = bundles::Keyring::LoadDirectory(*keys);
    if (!keyring.ok()) return Fail(kCommand, keyring.status().message());
    full = bundles::LoadBundle(*files, &*keyring);
  } else {
    full = bundles::CompileBundleFiles(*files);
  }
  if (!full.ok()) return Fail(kCommand, absl::StrCat(positional[0], ": ", full.status().message()));

  absl::StatusOr<engine::PruneResult> pruned =
      engine::Prune(full->index->CopySet(), full->tests, *selection);
  if (!pruned.ok()) return Fail(kCommand, absl::StrCat("--for: ", pruned.status().message()));
  const std::string canonical = selection->ToString();
  absl::StatusOr<bundles::BundleFiles> pruned_files =
      bundles::PruneBundleFiles(*files, *pruned, canonical);
  if (!pruned_files.ok()) return Fail(kCommand, pruned_files.status().message());

  // From here on, the path of `bundle build` and `bundle sign`.
  bundles::LoadedBundle built;
  TestSummary summary;
  if (std::optional<int> failed =
          CompileAndTest(*pruned_files, kCommand, "pruned bundle", built, summary)) {
    return *failed;
  }
  if (pem) {
    absl::StatusOr<bundles::BundleFiles> signed_files =
        bundles::SignBundle(*pruned_files, *pem, *key_id);
    if (!signed_files.ok()) {
      return Fail(kCommand, absl::StrCat(*key, ": ", signed_files.status().message()));
    }
    pruned_files = *std::move(signed_files);
  }
  absl::StatusOr<std::string> archive = bundles::WriteBundleArchive(*pruned_files);
  if (!archive.ok()) return Fail(kCommand, archive.status().message());
  if (absl::Status s = bundles::WriteFileBytes(*out, *archive); !s.ok()) {
    return Fail(kCommand, s.message());
  }
  // A large selection is summarised: the first ten ids, then how many more.
  constexpr size_t kListed = 10;
  std::vector<std::string> listed(
      pruned->selected.begin(), pruned->selected.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                               pruned->selected.size(), kListed)));
  if (pruned->selected.size() > kListed) {
    listed.push_back(absl::StrCat("… and ", pruned->selected.size() - kListed, " more"));
  }
  const bundles::BundleMetadata& before = full->metadata;
  const bundles::BundleMetadata& after = built.metadata;
  std::cout << "pruned " << before.name << " rev " << before.revision << " for \"" << canonical
            << "\": " << pruned->selected.size() << " principal(s): " << absl::StrJoin(listed, ", ")
            << "\n  kept " << after.policies << " of " << before.policies << " policies ("
            << after.statements << " of " << before.statements << " statements), " << after.entities
            << " of " << before.entities << " entities, " << after.groups << " of " << before.groups
            << " groups, " << after.tests << " of " << before.tests << " tests (" << summary.passed
            << " passed)\n"
            << "wrote " << *out << "\n  digest " << bundles::BundleDigest(*pruned_files) << " ("
            << (pem ? absl::StrCat("signed with key \"", *key_id, "\"")
                    : std::string("unsigned: run fleetpdp bundle sign"))
            << ")\n";
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
  if (sub == "prune") return Prune(argc - 1, argv + 1);
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
