// TLS and mutual TLS on the gRPC port, over loopback, with certificates made by openssl for each
// run (tests/testdata/make-test-certs.sh): who gets in, who is refused, bad files, rotation.
#include "server/tls.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bundles/archive.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integrations/client/client.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;
using testing::MakeCheck;
using testing::TestBundle;
using testing::TestPki;
using testing::TestServer;

namespace fs = std::filesystem;

// One PKI per test process (generating keys takes a moment), removed when the process exits.
const fs::path& Pki() {
  static const TestPki pki("tls");
  return pki.dir();
}

std::string Pem(const std::string& name) { return (Pki() / name).string(); }

ServerTlsOptions ServerFiles(std::string cert = "server", std::string client_ca = "") {
  ServerTlsOptions o;
  o.cert_file = Pem(cert + ".pem");
  o.key_file = Pem(cert + ".key");
  if (!client_ca.empty()) o.client_ca_file = Pem(client_ca + ".pem");
  o.refresh_interval = absl::Seconds(1);
  return o;
}

GrpcServerOptions WithCredentials(const ServerTlsOptions& tls) {
  GrpcServerOptions options;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = MakeServerCredentials(tls);
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  if (credentials.ok()) options.credentials = *credentials;
  return options;
}

// One Check through the client library (as brokers and the CLI call), on connections of its own
// so that no earlier connection is reused. nullopt: plaintext. Returns the call's status code.
absl::StatusCode CheckOver(const std::string& address, std::optional<client::TlsOptions> tls) {
  client::ClientOptions options;
  options.target = address;
  options.tls = std::move(tls);
  options.deadline = absl::Seconds(5);
  options.max_attempts = 1;
  options.own_connections = true;
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Create(options);
  if (!c.ok()) return c.status().code();
  return (*c)
      ->Check(MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/t"))
      .status()
      .code();
}

constexpr absl::StatusCode kOk = absl::StatusCode::kOk;
constexpr absl::StatusCode kUnavailable = absl::StatusCode::kUnavailable;

client::TlsOptions Trusting(std::string ca, std::string client_cert = "") {
  client::TlsOptions tls;
  tls.ca_file = Pem(ca + ".pem");
  tls.server_name = "localhost";
  if (!client_cert.empty()) {
    tls.cert_file = Pem(client_cert + ".pem");
    tls.key_file = Pem(client_cert + ".key");
  }
  return tls;
}

TEST(TlsFilesTest, AGoodPairIsAcceptedAndItsSubjectReported) {
  absl::StatusOr<std::string> subject = CheckServerTlsFiles(ServerFiles());
  ASSERT_TRUE(subject.ok()) << subject.status();
  EXPECT_EQ(*subject, "CN=localhost");
}

TEST(TlsFilesTest, AMissingCertificateFileIsNamed) {
  ServerTlsOptions o = ServerFiles();
  o.cert_file = Pem("nope.pem");
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("tls certificate \"", o.cert_file, "\""))));
}

TEST(TlsFilesTest, AKeyGivenAsTheCertificateIsNotAPemCertificate) {
  ServerTlsOptions o = ServerFiles();
  o.cert_file = o.key_file;
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM certificate")));
}

TEST(TlsFilesTest, ACertificateGivenAsTheKeyIsNotAPrivateKey) {
  ServerTlsOptions o = ServerFiles();
  o.key_file = o.cert_file;
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an unencrypted PEM private key")));
}

TEST(TlsFilesTest, AKeyOfAnotherCertificateIsRefused) {
  ServerTlsOptions o = ServerFiles();
  o.key_file = Pem("server2.key");
  EXPECT_THAT(
      CheckServerTlsFiles(o).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match the certificate")));
}

TEST(TlsFilesTest, ACertificateWithoutAKeyIsRefused) {
  ServerTlsOptions o = ServerFiles();
  o.key_file.clear();
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("give both files")));
}

TEST(TlsFilesTest, AClientCaThatIsNotPemIsNamed) {
  ServerTlsOptions o = ServerFiles("server", "ca");
  o.client_ca_file = Pem("ca.key");
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls client CA")));
}

TEST(TlsFilesTest, ARefreshIntervalUnderASecondIsRefused) {
  ServerTlsOptions o = ServerFiles();
  o.refresh_interval = absl::Milliseconds(100);
  EXPECT_THAT(CheckServerTlsFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 1s")));
}

TEST(TlsServerTest, AClientTrustingTheCaGetsADecision) {
  TestServer t(WithCredentials(ServerFiles()));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), Trusting("ca")), kOk);
}

TEST(TlsServerTest, APlaintextClientIsRefused) {
  TestServer t(WithCredentials(ServerFiles()));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), std::nullopt), kUnavailable);
}

TEST(TlsServerTest, AClientTrustingAnotherCaRefusesTheServer) {
  TestServer t(WithCredentials(ServerFiles()));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), Trusting("other-ca")), kUnavailable);
}

TEST(MutualTlsTest, AClientWithACertificateFromTheClientCaGetsADecision) {
  TestServer t(WithCredentials(ServerFiles("server", "ca")));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), Trusting("ca", "client")), kOk);
}

TEST(MutualTlsTest, AClientWithoutACertificateIsRefused) {
  TestServer t(WithCredentials(ServerFiles("server", "ca")));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), Trusting("ca")), kUnavailable);
}

TEST(MutualTlsTest, AClientCertificateFromAnotherCaIsRefused) {
  TestServer t(WithCredentials(ServerFiles("server", "ca")));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), Trusting("ca", "rogue")), kUnavailable);
}

TEST(MutualTlsTest, APlaintextClientIsRefused) {
  TestServer t(WithCredentials(ServerFiles("server", "ca")));
  t.Install(TestBundle(1));
  EXPECT_EQ(CheckOver(t.address(), std::nullopt), kUnavailable);
}

TEST(TlsClientTest, ACertificateWithoutAKeyIsRefusedBeforeConnecting) {
  client::TlsOptions tls = Trusting("ca", "client");
  tls.key_file.clear();
  EXPECT_THAT(client::Client::Create({.target = "127.0.0.1:1", .tls = tls}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("go together")));
}

TEST(TlsClientTest, AnUnreadableCaFileIsNamed) {
  client::TlsOptions tls = Trusting("ca");
  tls.ca_file = Pem("missing-ca.pem");
  EXPECT_THAT(client::Client::Create({.target = "127.0.0.1:1", .tls = tls}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing-ca.pem")));
}

// The certificate is replaced on disk (as cert-manager renews a Secret): new connections get the
// new one within the refresh interval, without a restart.
TEST(TlsRotationTest, AReplacedCertificateIsServedWithoutARestart) {
  fs::path dir = Pki() / "rotating";
  fs::create_directories(dir);
  fs::copy_file(Pem("server.pem"), dir / "tls.crt", fs::copy_options::overwrite_existing);
  fs::copy_file(Pem("server.key"), dir / "tls.key", fs::copy_options::overwrite_existing);
  ServerTlsOptions files;
  files.cert_file = (dir / "tls.crt").string();
  files.key_file = (dir / "tls.key").string();
  files.refresh_interval = absl::Seconds(1);
  TestServer t(WithCredentials(files));
  t.Install(TestBundle(1));
  ASSERT_EQ(CheckOver(t.address(), Trusting("ca")), kOk);
  ASSERT_NE(CheckOver(t.address(), Trusting("other-ca")), kOk);

  // Write the new pair beside the old and rename it into place (key first: a moment of mismatch
  // that the server must ride out on the old pair).
  fs::copy_file(Pem("server2.key"), dir / "tls.key.new");
  fs::copy_file(Pem("server2.pem"), dir / "tls.crt.new");
  fs::rename(dir / "tls.key.new", dir / "tls.key");
  fs::rename(dir / "tls.crt.new", dir / "tls.crt");

  bool rotated = false;
  for (absl::Time give_up = absl::Now() + absl::Seconds(15); !rotated && absl::Now() < give_up;) {
    absl::SleepFor(absl::Milliseconds(250));
    rotated = CheckOver(t.address(), Trusting("other-ca")) == kOk;
  }
  EXPECT_TRUE(rotated) << "the server still presents the old certificate after 15s";
  EXPECT_EQ(CheckOver(t.address(), Trusting("ca")), kUnavailable);
}

}  // namespace
}  // namespace fleetpdp::server
