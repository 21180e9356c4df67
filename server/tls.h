// TLS and mutual TLS for the gRPC port, with certificate files that are re-read when they change.
//
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(
//       {.cert_file = "tls.crt", .key_file = "tls.key", .client_ca_file = "clients-ca.pem"});
//   options.credentials = *creds;                       // GrpcServerOptions
//
// The files are checked once, up front, so that a bad configuration stops the server at start with
// a specific error (missing file, not PEM, key does not match the certificate, expired …) instead
// of failing every handshake later. After that gRPC's FileWatcherCertificateProvider re-reads them
// every `refresh_interval`: a renewed certificate (cert-manager, a Kubernetes Secret update) is
// used for new connections without a restart, and existing connections keep theirs. A half-written
// or mismatched pair is ignored by gRPC until both files agree again, so the old pair keeps
// serving. To replace both files atomically, swap a symlinked directory (as Kubernetes Secret
// volumes do).
//
// With `client_ca_file`, clients must present a certificate issued by one of those CAs (mutual
// TLS); a client without one, or with one from another CA, fails the handshake and never reaches
// DecisionService.
//
// Clients: integrations/client (ClientOptions::tls), as `fleetpdp check` and `drift` use it.
//
// Thread safety: pure functions; the credentials they return are thread-safe.
#ifndef FLEETPDP_SERVER_TLS_H_
#define FLEETPDP_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace fleetpdp::server {

struct ServerTlsOptions {
  std::string cert_file;       // PEM certificate chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // PEM CA certificates; non-empty: require client certificates
  absl::Duration refresh_interval = absl::Seconds(10);  // ≥ 1s; how often files are re-read
};

// Errors: InvalidArgument naming the file and what is wrong with it.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

// The same checks MakeServerCredentials runs, without credentials: for tests and `--check`-style
// tooling. Returns the leaf certificate's subject (e.g. "CN=pdp.example") on success.
absl::StatusOr<std::string> CheckServerTlsFiles(const ServerTlsOptions& options);

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_TLS_H_
