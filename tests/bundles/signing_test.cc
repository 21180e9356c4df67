#include "bundles/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bundles/archive.h"
#include "bundles/bundle_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

namespace fs = std::filesystem;
using ::fleetpdp::bundles::testing::TempDir;
using ::fleetpdp::bundles::testing::WriteTree;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kMessage[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void WriteText(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

int RunShell(const std::string& command) {
  int status = std::system((command + " 2>/dev/null").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A key of another algorithm, as PEM, made with OpenSSL directly.
struct ForeignKey {
  std::string private_pem;
  std::string public_pem;
};
ForeignKey MakeForeignKey(EVP_PKEY* key) {
  ForeignKey pems;
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub, key), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(priv, &data);
  pems.private_pem.assign(data, static_cast<size_t>(n));
  n = BIO_get_mem_data(pub, &data);
  pems.public_pem.assign(data, static_cast<size_t>(n));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return pems;
}
ForeignKey RsaKey() {
  return MakeForeignKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
}
ForeignKey EcKey() { return MakeForeignKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }
ForeignKey Ed448Key() { return MakeForeignKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448")); }

KeyPair NewKeyPair() {
  absl::StatusOr<KeyPair> pair = GenerateKeyPair();
  EXPECT_OK(pair);
  return pair.ok() ? *pair : KeyPair{};
}

// ---------------------------------------------------------------------------------------------
// Keys, Sign and Verify

TEST(SigningTest, GeneratedKeysArePkcs8AndSubjectPublicKeyInfoPem) {
  KeyPair pair = NewKeyPair();
  EXPECT_THAT(pair.private_pem, StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_THAT(pair.public_pem, StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  EXPECT_NE(NewKeyPair().public_pem, pair.public_pem);
}

TEST(SigningTest, PublicKeyOfAPrivateKeyIsItsPublicKey) {
  KeyPair pair = NewKeyPair();
  absl::StatusOr<std::string> pub = PublicKeyOf(pair.private_pem);
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, pair.public_pem);
}

TEST(SigningTest, SignedMessageVerifies) {
  KeyPair pair = NewKeyPair();
  absl::StatusOr<std::string> signature = Sign(pair.private_pem, kMessage);
  ASSERT_OK(signature);
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_OK(Verify(pair.public_pem, kMessage, *signature));
  // Ed25519 is deterministic.
  EXPECT_EQ(*Sign(pair.private_pem, kMessage), *signature);
}

TEST(SigningTest, EmptyMessageSignsAndVerifies) {
  KeyPair pair = NewKeyPair();
  absl::StatusOr<std::string> signature = Sign(pair.private_pem, "");
  ASSERT_OK(signature);
  EXPECT_OK(Verify(pair.public_pem, "", *signature));
}

TEST(SigningTest, AnyFlippedMessageBitFailsVerification) {
  KeyPair pair = NewKeyPair();
  std::string signature = *Sign(pair.private_pem, kMessage);
  std::string message = kMessage;
  for (size_t bit = 0; bit < message.size() * 8; bit += 13) {
    std::string changed = message;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_THAT(Verify(pair.public_pem, changed, signature),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not verify")))
        << "bit " << bit;
  }
}

TEST(SigningTest, AnyFlippedSignatureBitFailsVerification) {
  KeyPair pair = NewKeyPair();
  std::string signature = *Sign(pair.private_pem, kMessage);
  for (size_t bit = 0; bit < signature.size() * 8; ++bit) {
    std::string changed = signature;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_THAT(Verify(pair.public_pem, kMessage, changed),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not verify")))
        << "bit " << bit;
  }
}

TEST(SigningTest, SignatureFromAnotherKeyFailsVerification) {
  KeyPair signer = NewKeyPair();
  KeyPair other = NewKeyPair();
  std::string signature = *Sign(signer.private_pem, kMessage);
  EXPECT_THAT(Verify(other.public_pem, kMessage, signature),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not verify")));
}

TEST(SigningTest, TruncatedOrExtendedSignatureFailsVerification) {
  KeyPair pair = NewKeyPair();
  std::string signature = *Sign(pair.private_pem, kMessage);
  EXPECT_THAT(Verify(pair.public_pem, kMessage, signature.substr(0, 63)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("it is 63 bytes")));
  EXPECT_THAT(Verify(pair.public_pem, kMessage, ""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("it is 0 bytes")));
  EXPECT_THAT(Verify(pair.public_pem, kMessage, signature + '\0'),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("it is 65 bytes")));
}

TEST(SigningTest, RsaKeysAreRejectedNamingTheType) {
  ForeignKey rsa = RsaKey();
  EXPECT_THAT(
      Verify(rsa.public_pem, kMessage, std::string(64, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key is RSA, expected Ed25519")));
  EXPECT_THAT(Sign(rsa.private_pem, kMessage), StatusIs(absl::StatusCode::kInvalidArgument,
                                                        HasSubstr("key is RSA, expected Ed25519")));
  EXPECT_THAT(PublicKeyOf(rsa.private_pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key is RSA")));
}

TEST(SigningTest, EcAndEd448KeysAreRejectedNamingTheType) {
  ForeignKey ec = EcKey();
  EXPECT_THAT(Sign(ec.private_pem, kMessage), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("key is EC, expected Ed25519")));
  EXPECT_THAT(
      Verify(ec.public_pem, kMessage, std::string(64, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key is EC, expected Ed25519")));
  ForeignKey ed448 = Ed448Key();
  EXPECT_THAT(
      Verify(ed448.public_pem, kMessage, std::string(114, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key is ED448, expected Ed25519")));
}

TEST(SigningTest, GarbagePemIsRejected) {
  const std::string garbage[] = {
      "",
      "not a key",
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
  };
  for (const std::string& pem : garbage) {
    EXPECT_THAT(Sign(pem, kMessage),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM private key")))
        << pem;
    EXPECT_THAT(Verify(pem, kMessage, std::string(64, 'x')),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM public key")))
        << pem;
  }
  // Each key where the other belongs.
  KeyPair pair = NewKeyPair();
  EXPECT_THAT(Sign(pair.public_pem, kMessage),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM private key")));
  EXPECT_THAT(Verify(pair.private_pem, kMessage, std::string(64, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM public key")));
}

TEST(SigningTest, EncryptedPrivateKeyFailsWithoutPrompting) {
  TempDir dir;
  KeyPair pair = NewKeyPair();
  WriteText(dir / "k.pem", pair.private_pem);
  ASSERT_EQ(RunShell("openssl pkey -in " + (dir / "k.pem") + " -aes256 -passout pass:secret -out " +
                     (dir / "enc.pem")),
            0);
  EXPECT_THAT(Sign(ReadText(dir / "enc.pem"), kMessage),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM private key")));
}

TEST(SigningTest, NoOperationLeavesOpenSslErrorsBehind) {
  // OpenSSL's error queue is per thread: anything left there is misreported by the next user.
  EXPECT_FALSE(Verify("garbage", kMessage, "").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_FALSE(Sign(RsaKey().private_pem, kMessage).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  KeyPair pair = NewKeyPair();
  EXPECT_FALSE(Verify(pair.public_pem, kMessage, std::string(64, 'x')).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  std::string signature = *Sign(pair.private_pem, kMessage);
  EXPECT_OK(Verify(pair.public_pem, kMessage, signature));
  EXPECT_OK(PublicKeyOf(pair.private_pem));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Interoperability with the openssl command line

TEST(SigningInteropTest, OpensslKeyAndSignatureVerifyWithVerify) {
  TempDir dir;
  WriteText(dir / "msg", kMessage);
  ASSERT_EQ(RunShell("openssl genpkey -algorithm ed25519 -out " + (dir / "k.pem")), 0);
  ASSERT_EQ(RunShell("openssl pkey -in " + (dir / "k.pem") + " -pubout -out " + (dir / "p.pem")),
            0);
  ASSERT_EQ(RunShell("openssl pkeyutl -sign -inkey " + (dir / "k.pem") + " -rawin -in " +
                     (dir / "msg") + " -out " + (dir / "sig")),
            0);
  std::string public_pem = ReadText(dir / "p.pem");
  std::string signature = ReadText(dir / "sig");
  EXPECT_OK(Verify(public_pem, kMessage, signature));
  // Their private key works with ours, and gives the same (deterministic) signature.
  absl::StatusOr<std::string> ours = Sign(ReadText(dir / "k.pem"), kMessage);
  ASSERT_OK(ours);
  EXPECT_EQ(*ours, signature);
  absl::StatusOr<std::string> derived = PublicKeyOf(ReadText(dir / "k.pem"));
  ASSERT_OK(derived);
  EXPECT_EQ(*derived, public_pem);
}

TEST(SigningInteropTest, OurSignatureVerifiesWithOpenssl) {
  TempDir dir;
  KeyPair pair = NewKeyPair();
  WriteText(dir / "msg", kMessage);
  WriteText(dir / "p.pem", pair.public_pem);
  WriteText(dir / "sig", *Sign(pair.private_pem, kMessage));
  std::string verify = "openssl pkeyutl -verify -pubin -inkey " + (dir / "p.pem") + " -rawin -in " +
                       (dir / "msg") + " -sigfile " + (dir / "sig") + " >/dev/null";
  EXPECT_EQ(RunShell(verify), 0);
  // And openssl is no pushover: a changed message fails there too.
  WriteText(dir / "msg", std::string(kMessage) + "!");
  EXPECT_NE(RunShell(verify), 0);
}

TEST(SigningInteropTest, OurPrivateKeyIsReadByOpenssl) {
  TempDir dir;
  KeyPair pair = NewKeyPair();
  WriteText(dir / "k.pem", pair.private_pem);
  ASSERT_EQ(RunShell("openssl pkey -in " + (dir / "k.pem") + " -pubout -out " + (dir / "p.pem")),
            0);
  EXPECT_EQ(ReadText(dir / "p.pem"), pair.public_pem);
}

// ---------------------------------------------------------------------------------------------
// Base64

TEST(Base64Test, MatchesTheRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(Base64Encode(bytes), text);
    absl::StatusOr<std::string> decoded = Base64Decode(text);
    ASSERT_OK(decoded) << text;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64Test, RoundTripsEveryByteAndEveryLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string prefix = bytes.substr(0, n);
    absl::StatusOr<std::string> decoded = Base64Decode(Base64Encode(prefix));
    ASSERT_OK(decoded) << n;
    EXPECT_EQ(*decoded, prefix) << n;
  }
}

TEST(Base64Test, RoundTripsASignature) {
  KeyPair pair = NewKeyPair();
  std::string signature = *Sign(pair.private_pem, kMessage);
  std::string text = Base64Encode(signature);
  EXPECT_EQ(text.size(), 88u);
  absl::StatusOr<std::string> decoded = Base64Decode(text);
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, signature);
}

TEST(Base64Test, RejectsMalformedText) {
  struct Case {
    std::string text;
    std::string why;
  };
  const Case cases[] = {
      {"Zg", "not a multiple of 4"},
      {"Zm9vY", "not a multiple of 4"},
      {"Zm9v\n", "not a multiple of 4"},
      {"Zm 9", "outside the alphabet"},
      {"Zm9-", "outside the alphabet"},
      {"Zm9_", "outside the alphabet"},
      {"Zm9\xc3", "outside the alphabet"},
      {std::string("Zm9\0", 4), "outside the alphabet"},
      {"Zg==Zm9v", "padding before the end"},
      {"Z===", "padding before the end"},
      {"====", "padding before the end"},
      {"=Zm9", "padding before the end"},
      {"Zh==", "non-zero bits in the padding"},
      {"Zm9=", "non-zero bits in the padding"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Base64Decode(c.text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.why)))
        << c.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Keyring

TEST(KeyringTest, LoadsEveryPemFileKeyedByItsName) {
  TempDir dir;
  KeyPair a = NewKeyPair();
  KeyPair b = NewKeyPair();
  WriteText(dir / "release-2024.pem", a.public_pem);
  WriteText(dir / "release-2025.pub.pem", b.public_pem);
  WriteText(dir / "README.md", "not a key");
  fs::create_directories(dir.path() / "subdir.pem");
  absl::StatusOr<Keyring> keyring = Keyring::LoadDirectory(dir.path());
  ASSERT_OK(keyring);
  EXPECT_EQ(keyring->size(), 2u);
  ASSERT_NE(keyring->Find("release-2024"), nullptr);
  ASSERT_NE(keyring->Find("release-2025"), nullptr);
  EXPECT_EQ(*keyring->Find("release-2024"), a.public_pem);
  EXPECT_EQ(*keyring->Find("release-2025"), b.public_pem);
  EXPECT_EQ(keyring->Find("release-2025.pub"), nullptr);
  EXPECT_EQ(keyring->Find("unknown"), nullptr);
  std::string signature = *Sign(b.private_pem, kMessage);
  EXPECT_OK(Verify(*keyring->Find("release-2025"), kMessage, signature));
}

TEST(KeyringTest, FollowsSymbolicLinksAsKubernetesMountsThem) {
  TempDir dir;
  KeyPair a = NewKeyPair();
  fs::create_directories(dir.path() / "..data");
  WriteText(dir / "..data/k.pem", a.public_pem);
  fs::create_symlink("..data/k.pem", dir.path() / "k.pem");
  absl::StatusOr<Keyring> keyring = Keyring::LoadDirectory(dir.path());
  ASSERT_OK(keyring);
  EXPECT_NE(keyring->Find("k"), nullptr);
}

TEST(KeyringTest, RefusesADirectoryWithAPrivateKeyFile) {
  TempDir dir;
  KeyPair a = NewKeyPair();
  WriteText(dir / "a.pem", a.public_pem);
  WriteText(dir / "a.key.pem", a.private_pem);
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.key.pem\": refusing to trust a private key file")));
}

TEST(KeyringTest, RefusesAPrivateKeyWhateverTheFileIsCalled) {
  TempDir dir;
  WriteText(dir / "a.pem", NewKeyPair().private_pem);
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.pem\": key \"a\" is a private key; refusing to trust")));
}

TEST(KeyringTest, RejectsANonEd25519KeyNamingTheFile) {
  TempDir dir;
  WriteText(dir / "good.pem", NewKeyPair().public_pem);
  WriteText(dir / "legacy.pem", EcKey().public_pem);
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("legacy.pem\": key \"legacy\": key is EC, expected Ed25519")));
}

TEST(KeyringTest, RejectsAGarbageKeyFileNamingIt) {
  TempDir dir;
  WriteText(dir / "broken.pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n");
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("broken.pem\": key \"broken\": not a PEM public key")));
}

TEST(KeyringTest, RejectsTwoFilesForOneKeyId) {
  TempDir dir;
  WriteText(dir / "a.pem", NewKeyPair().public_pem);
  WriteText(dir / "a.pub.pem", NewKeyPair().public_pem);
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.pub.pem\": duplicate key id \"a\"")));
}

TEST(KeyringTest, EmptyDirectoryIsAnError) {
  TempDir dir;
  WriteText(dir / "notes.txt", "no keys here");
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(dir.path().string() + "\" holds no keys")));
}

TEST(KeyringTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  EXPECT_THAT(Keyring::LoadDirectory(dir.path() / "absent"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent\" is not a directory")));
}

TEST(KeyringTest, UnreadableKeyFileIsUnavailableNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  WriteText(dir / "a.pem", NewKeyPair().public_pem);
  fs::permissions(dir.path() / "a.pem", fs::perms::none);
  EXPECT_THAT(Keyring::LoadDirectory(dir.path()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("a.pem")));
}

TEST(KeyringTest, AddRejectsAnEmptyIdAndADuplicate) {
  Keyring keyring;
  std::string pem = NewKeyPair().public_pem;
  EXPECT_THAT(keyring.Add("", pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty key id")));
  EXPECT_OK(keyring.Add("k", pem));
  EXPECT_THAT(keyring.Add("k", NewKeyPair().public_pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate key id \"k\"")));
  EXPECT_EQ(keyring.size(), 1u);
  EXPECT_EQ(*keyring.Find("k"), pem);
}

}  // namespace
}  // namespace fleetpdp::bundles
