#include "server/tls.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bundles/archive.h"

namespace fleetpdp::server {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": no file given"));
  absl::StatusOr<std::string> text = bundles::ReadFileBytes(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", path, "\": ", text.status().message()));
  }
  return text;
}

// Every certificate in a PEM text, in order. Errors name the file.
absl::StatusOr<std::vector<Cert>> ParseCertificates(const std::string& what,
                                                    const std::string& path,
                                                    const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Cert> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  ERR_clear_error();  // the loop ends on "no start line"
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", path, "\": no PEM certificate (\"-----BEGIN CERTIFICATE-----\")"));
  }
  return certs;
}

std::string Subject(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(std::max(0L, n)));
}

std::string Time(const ASN1_TIME* t) {
  Bio bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(std::max(0L, n)));
}

}  // namespace

absl::StatusOr<std::string> CheckServerTlsFiles(const ServerTlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: a certificate needs its key and a key its certificate (give both files)");
  }
  if (options.refresh_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("tls: the refresh interval must be at least 1s");
  }
  absl::StatusOr<std::string> cert_pem = ReadPem("tls certificate", options.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::vector<Cert>> chain =
      ParseCertificates("tls certificate", options.cert_file, *cert_pem);
  if (!chain.ok()) return chain.status();
  X509* leaf = chain->front().get();

  absl::StatusOr<std::string> key_pem = ReadPem("tls key", options.key_file);
  if (!key_pem.ok()) return key_pem.status();
  Bio key_bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  // An empty passphrase callback result: encrypted keys fail here instead of prompting.
  Pkey key(PEM_read_bio_PrivateKey(
      key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls key \"", options.key_file,
                     "\": not an unencrypted PEM private key (\"-----BEGIN PRIVATE KEY-----\")"));
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("tls key \"", options.key_file,
                                                   "\" does not match the certificate \"",
                                                   options.cert_file, "\" (", Subject(leaf), ")"));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return absl::InvalidArgumentError(absl::StrCat("tls certificate \"", options.cert_file, "\" (",
                                                   Subject(leaf), ") expired on ",
                                                   Time(X509_get0_notAfter(leaf))));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
    return absl::InvalidArgumentError(absl::StrCat("tls certificate \"", options.cert_file, "\" (",
                                                   Subject(leaf), ") is not valid before ",
                                                   Time(X509_get0_notBefore(leaf))));
  }
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadPem("tls client CA", options.client_ca_file);
    if (!ca_pem.ok()) return ca_pem.status();
    absl::StatusOr<std::vector<Cert>> cas =
        ParseCertificates("tls client CA", options.client_ca_file, *ca_pem);
    if (!cas.ok()) return cas.status();
  }
  return Subject(leaf);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  if (absl::StatusOr<std::string> checked = CheckServerTlsFiles(options); !checked.ok()) {
    return checked.status();
  }
  auto seconds = static_cast<unsigned>(absl::ToInt64Seconds(options.refresh_interval));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) return absl::InternalError("tls: gRPC refused the TLS options");
  return credentials;
}

}  // namespace fleetpdp::server
