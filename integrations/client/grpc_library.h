// GrpcLibraryScope: holds one gRPC library reference for a scope (a process's main, a test run),
// so that gRPC's final clean-up runs on this thread, before the process exits.
//
//   int main() { fleetpdp::client::GrpcLibraryScope grpc; … return code; }
//
// Why: gRPC 1.51 runs its final clean-up (which joins its executor threads) on a detached thread
// when the last gRPC object goes away on one of gRPC's own threads — the usual end of a short
// client (a channel's last subchannel is released on an executor thread). That clean-up then
// races the process's exit: OpenSSL's atexit handler (OPENSSL_cleanup) deletes OpenSSL's
// thread-local key, an executor thread that exits after it never frees its OpenSSL error queue
// (ERR_STATE, 472 bytes allocated by ERR_clear_error when the thread first did TLS work), and
// LeakSanitizer, which runs after every other atexit handler, reports it as a direct leak from
// CRYPTO_zalloc and makes the process exit 1 without flushing stdout. Seen in tests/grpc_lifetime
// (one process in 30 of a TLS test) and in `fleetpdp check --bundle-info` over mutual TLS
// (tests/server/secrets_cli_test.sh, CI of 2026-11-30).
// With this scope's reference held, the destructor's grpc_shutdown is the last one and gRPC cleans
// up synchronously on this thread; if a gRPC object is still being released on gRPC's threads, its
// own grpc_shutdown does the clean-up a moment later, and the destructor waits for that (at most
// `wait`).
//
// Thread safety: construct and destroy on one thread, the one that will exit (usually main's).
#ifndef FLEETPDP_INTEGRATIONS_CLIENT_GRPC_LIBRARY_H_
#define FLEETPDP_INTEGRATIONS_CLIENT_GRPC_LIBRARY_H_

#include <chrono>

namespace fleetpdp::client {

class GrpcLibraryScope {
 public:
  explicit GrpcLibraryScope(std::chrono::milliseconds wait = std::chrono::seconds(10));
  ~GrpcLibraryScope();
  GrpcLibraryScope(const GrpcLibraryScope&) = delete;
  GrpcLibraryScope& operator=(const GrpcLibraryScope&) = delete;

  // Ends the scope now (the destructor then does nothing). Returns false when gRPC was still
  // initialized after the wait: some gRPC object outlived the scope.
  bool Release();

 private:
  std::chrono::milliseconds wait_;
  bool held_ = true;
};

}  // namespace fleetpdp::client

#endif  // FLEETPDP_INTEGRATIONS_CLIENT_GRPC_LIBRARY_H_
