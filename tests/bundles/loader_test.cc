// Every rejection class of docs/bundle-format.md §5, with in-memory bundles.
#include "bundles/loader.h"

#include "bundles/digest.h"
#include "bundles/signatures.h"
#include "bundles/signing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p, compliance: [CRA-1, ISO-2]}
spec:
  principals: "*"
  statements:
    - {id: own, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/#"]}
)";

LoadOptions AllowUnsigned() {
  LoadOptions o;
  o.allow_unsigned = true;
  return o;
}

LoadOptions InForce(uint64_t revision, std::string digest = "") {
  LoadOptions o;
  o.revision_in_force = revision;
  o.digest_in_force = std::move(digest);
  return o;
}

BundleFiles Unsigned(int revision = 3) {
  return BundleFiles{
      {"manifest.yaml", "name: fleet\nrevision: " + std::to_string(revision) + "\n"},
      {"policies/p.yaml", kPolicy},
      {"tests/t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: t}
cases:
  - {name: own, principal: a, action: mqtt:publish, resource: d/a/x, expect: allow}
)"},
  };
}

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ci_ = new KeyPair(*GenerateKeyPair());
    other_ = new KeyPair(*GenerateKeyPair());
  }
  void SetUp() override { ASSERT_OK(keyring_.Add("ci", ci_->public_pem)); }

  BundleFiles SignedBy(const KeyPair& key, std::string id, BundleFiles files = Unsigned()) {
    absl::StatusOr<BundleFiles> s = SignBundle(std::move(files), key.private_pem, id);
    EXPECT_OK(s);
    return *s;
  }

  static KeyPair* ci_;
  static KeyPair* other_;
  Keyring keyring_;
};
KeyPair* LoaderTest::ci_ = nullptr;
KeyPair* LoaderTest::other_ = nullptr;

TEST_F(LoaderTest, SignedBundleLoadsWithItsMetadata) {
  BundleFiles files = SignedBy(*ci_, "ci");
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  ASSERT_OK(b);
  EXPECT_EQ(b->metadata.name, "fleet");
  EXPECT_EQ(b->metadata.revision, 3u);
  EXPECT_EQ(b->metadata.key_id, "ci");
  EXPECT_TRUE(b->metadata.is_signed);
  EXPECT_EQ(b->metadata.digest, BundleDigest(files));
  EXPECT_EQ(b->metadata.files, 3u);
  EXPECT_EQ(b->metadata.policies, 1u);
  EXPECT_EQ(b->metadata.statements, 1u);
  EXPECT_EQ(b->metadata.tests, 1u);
  EXPECT_THAT(b->metadata.compliance, ElementsAre("CRA-1", "ISO-2"));
  EXPECT_EQ(b->index->statement_count(), 1u);
}

TEST_F(LoaderTest, UnsignedBundleIsRejectedUnlessAllowed) {
  absl::StatusOr<LoadedBundle> b = LoadBundle(Unsigned(), &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not signed")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "unsigned");
  absl::StatusOr<LoadedBundle> dev = LoadBundle(Unsigned(), nullptr, AllowUnsigned());
  ASSERT_OK(dev);
  EXPECT_FALSE(dev->metadata.is_signed);
  EXPECT_EQ(dev->metadata.key_id, "");
}

TEST_F(LoaderTest, SignatureFileWithoutSignaturesIsUnsigned) {
  BundleFiles files = Unsigned();
  files[".signatures.json"] = SerializeSignatures(DescribeBundle(files, 3));
  EXPECT_EQ(RejectionReasonOf(LoadBundle(files, &keyring_).status()), "unsigned");
}

TEST_F(LoaderTest, AddedFileIsTamperingAndNamed) {
  BundleFiles files = SignedBy(*ci_, "ci");
  files["policies/extra.yaml"] = kPolicy;
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("file \"policies/extra.yaml\" was added")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "tampered");
}

TEST_F(LoaderTest, RemovedFileIsTamperingAndNamed) {
  BundleFiles files = SignedBy(*ci_, "ci");
  files.erase("tests/t.yaml");
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(
      b, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("file \"tests/t.yaml\" was removed")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "tampered");
}

TEST_F(LoaderTest, ChangedFileIsTamperingAndNamed) {
  BundleFiles files = SignedBy(*ci_, "ci");
  files["policies/p.yaml"].back() = ' ';
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("file \"policies/p.yaml\" was changed (sha256 ")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "tampered");
}

TEST_F(LoaderTest, ChangedManifestRevisionIsTampering) {
  BundleFiles files = SignedBy(*ci_, "ci");
  files["manifest.yaml"] = "name: fleet\nrevision: 4\n";
  EXPECT_EQ(RejectionReasonOf(LoadBundle(files, &keyring_).status()), "tampered");
}

TEST_F(LoaderTest, RewrittenFileListWithOldSignatureIsABadSignature) {
  // An attacker changes a policy and rewrites the hashes and digest, but cannot re-sign.
  BundleFiles files = SignedBy(*ci_, "ci");
  absl::StatusOr<SignaturesFile> sigs = ParseSignatures(files[".signatures.json"]);
  ASSERT_OK(sigs);
  files["policies/p.yaml"] += "# changed\n";
  SignaturesFile forged = DescribeBundle(files, 3);
  forged.signatures = sigs->signatures;
  files[".signatures.json"] = SerializeSignatures(forged);
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("signature by key \"ci\" does not verify")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "bad_signature");
}

TEST_F(LoaderTest, SignatureClaimingATrustedKeyIdButMadeWithAnotherKeyIsBad) {
  BundleFiles files = SignedBy(*other_, "ci");
  EXPECT_EQ(RejectionReasonOf(LoadBundle(files, &keyring_).status()), "bad_signature");
}

TEST_F(LoaderTest, SignatureByAnUnknownKeyIsRejectedNamingTrustedKeys) {
  BundleFiles files = SignedBy(*other_, "intruder");
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr("signed by unknown key \"intruder\" (trusted: \"ci\")")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "unknown_key");
}

TEST_F(LoaderTest, OneTrustedSignatureAmongSeveralIsEnough) {
  BundleFiles files = SignedBy(*other_, "intruder");
  files = SignedBy(*ci_, "ci", files);
  absl::StatusOr<SignaturesFile> sigs = ParseSignatures(files[".signatures.json"]);
  ASSERT_OK(sigs);
  EXPECT_EQ(sigs->signatures.size(), 2u);  // co-signed: the first signature was kept
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  ASSERT_OK(b);
  EXPECT_EQ(b->metadata.key_id, "ci");
}

TEST_F(LoaderTest, RotationTrustsTwoKeysAtOnce) {
  ASSERT_OK(keyring_.Add("next", other_->public_pem));
  EXPECT_OK(LoadBundle(SignedBy(*ci_, "ci"), &keyring_).status());
  EXPECT_OK(LoadBundle(SignedBy(*other_, "next"), &keyring_).status());
}

TEST_F(LoaderTest, OlderRevisionThanTheOneInForceIsARollback) {
  BundleFiles files = SignedBy(*ci_, "ci", Unsigned(3));
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_, InForce(4));
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("revision 3 is older than revision 4 in force")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "rollback");
  EXPECT_OK(LoadBundle(files, &keyring_, InForce(3)).status());
  EXPECT_OK(LoadBundle(files, &keyring_, InForce(2)).status());
}

TEST_F(LoaderTest, SameRevisionWithDifferentContentIsRefused) {
  BundleFiles files = SignedBy(*ci_, "ci", Unsigned(3));
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_, InForce(3, std::string(64, 'a')));
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("a changed bundle needs a new revision")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "rollback");
}

TEST_F(LoaderTest, MissingOrMalformedManifestIsRejected) {
  BundleFiles files = Unsigned();
  files.erase("manifest.yaml");
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, nullptr, AllowUnsigned());
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no manifest.yaml")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "malformed");
  files["manifest.yaml"] = "name: fleet\nrevision: -1\n";
  b = LoadBundle(files, nullptr, AllowUnsigned());
  EXPECT_THAT(
      b, StatusIs(absl::StatusCode::kInvalidArgument,
                  HasSubstr("manifest.yaml:2:11: revision \"-1\" must be a positive integer")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "malformed");
}

TEST_F(LoaderTest, MalformedSignatureFileIsRejected) {
  BundleFiles files = Unsigned();
  files[".signatures.json"] = "{not json";
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("malformed .signatures.json: not valid JSON")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "malformed");
}

TEST_F(LoaderTest, InvalidPolicyIsRejectedWithBundleContextAndLocation) {
  BundleFiles files = Unsigned();
  files["policies/bad.yaml"] = "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: b}\n";
  files = SignedBy(*ci_, "ci", files);
  absl::StatusOr<LoadedBundle> b = LoadBundle(files, &keyring_);
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("bundle \"fleet\" rev 3: 1 problem:\npolicies/bad.yaml:1:1: "
                                    "missing required key \"spec\"")));
  EXPECT_EQ(RejectionReasonOf(b.status()), "invalid_policy");
}

TEST_F(LoaderTest, FilesOutsideTheDocumentDirectoriesAreSignedButNotParsed) {
  BundleFiles files = Unsigned();
  files["README.md"] = "# not a policy";
  files = SignedBy(*ci_, "ci", files);
  ASSERT_OK(LoadBundle(files, &keyring_).status());
  files["README.md"] = "# changed";
  EXPECT_EQ(RejectionReasonOf(LoadBundle(files, &keyring_).status()), "tampered");
}

TEST(ManifestTest, ParsesEveryKey) {
  absl::StatusOr<Manifest> m = ParseManifest(
      "name: fleet\nrevision: 42\ncreated: \"2026-11-28T00:00:00Z\"\ndescription: hi\n");
  ASSERT_OK(m);
  EXPECT_EQ(m->name, "fleet");
  EXPECT_EQ(m->revision, 42u);
  EXPECT_EQ(m->created, "2026-11-28T00:00:00Z");
  EXPECT_EQ(m->description, "hi");
}

TEST(ManifestTest, ReportsEveryProblemWithItsLocation) {
  absl::StatusOr<Manifest> m =
      ParseManifest("name: \"a b\"\nrevision: 0\ncreated: yesterday\ncolour: blue\n");
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("manifest.yaml:1:7: name \"a b\" must be")));
  EXPECT_THAT(m,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("manifest.yaml:2:11: revision \"0\" must be a positive integer")));
  EXPECT_THAT(m,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("manifest.yaml:3:10: created \"yesterday\" must be an RFC 3339")));
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("manifest.yaml:4:1: unknown key \"colour\"")));
  EXPECT_THAT(ParseManifest("revision: 1\n"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("missing required key \"name\"")));
  EXPECT_THAT(ParseManifest("[1, 2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a mapping")));
  EXPECT_THAT(ParseManifest("name: [x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("manifest.yaml:1:")));
}

TEST(SignaturesFileTest, RoundTripsAndKeepsTheDocumentedFieldOrder) {
  BundleFiles files = Unsigned();
  SignaturesFile f = DescribeBundle(files, 3);
  f.signatures.push_back(SignatureEntry{"ci", "ed25519", std::string("\x01\x02\xff", 3)});
  std::string text = SerializeSignatures(f);
  EXPECT_LT(text.find("\"format\""), text.find("\"revision\""));
  EXPECT_LT(text.find("\"digest\""), text.find("\"files\""));
  absl::StatusOr<SignaturesFile> back = ParseSignatures(text);
  ASSERT_OK(back);
  EXPECT_EQ(back->revision, 3u);
  EXPECT_EQ(back->digest, BundleDigest(files));
  ASSERT_EQ(back->files.size(), 3u);
  EXPECT_EQ(back->files[0].path, "manifest.yaml");
  ASSERT_EQ(back->signatures.size(), 1u);
  EXPECT_EQ(back->signatures[0].signature, std::string("\x01\x02\xff", 3));
}

TEST(SignaturesFileTest, RejectsEachMalformation) {
  const std::string digest(64, 'a');
  auto doc = [&](const std::string& body) {
    return "{\"format\": \"fleetpdp-signatures/v1\", " + body + "}";
  };
  struct Case {
    std::string json, message;
  } cases[] = {
      {"[]", "must be a JSON object"},
      {"{\"format\": \"x\"}", "format \"x\" is not"},
      {doc("\"digest\": \"" + digest + "\", \"files\": [], \"signatures\": []"),
       "\"revision\" must be a positive integer"},
      {doc("\"revision\": 1, \"digest\": \"XY\", \"files\": [], \"signatures\": []"),
       "\"digest\" must be 64 lowercase hex digits"},
      {doc("\"revision\": 1, \"digest\": \"" + digest + "\", \"signatures\": []"),
       "\"files\" must be a list"},
      {doc("\"revision\": 1, \"digest\": \"" + digest +
           "\", \"files\": [{\"path\": \"a\", \"sha256\": \"" + digest +
           "\"}, {\"path\": \"a\", "
           "\"sha256\": \"" +
           digest + "\"}], \"signatures\": []"),
       "\"a\" is listed twice"},
      {doc("\"revision\": 1, \"digest\": \"" + digest +
           "\", \"files\": [], \"signatures\": [{\"key_id\": \"k\", \"algorithm\": \"rsa\", "
           "\"signature\": \"AA==\"}]"),
       "algorithm \"rsa\" is not supported"},
      {doc("\"revision\": 1, \"digest\": \"" + digest +
           "\", \"files\": [], \"signatures\": [{\"key_id\": \"k\", \"algorithm\": \"ed25519\", "
           "\"signature\": \"%%%\"}]"),
       "signature by \"k\" is not valid base64"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseSignatures(c.json),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.json;
  }
}

}  // namespace
}  // namespace fleetpdp::bundles
