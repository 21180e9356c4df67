// gRPC's library lifetime in the test binaries that use gRPC (server_tests, client_tests,
// mosquitto_tests; added by tests/CMakeLists.txt): the last grpc_shutdown runs on the main thread
// after the last test, so gRPC joins its threads before the process exits.
//
// Why: gRPC 1.51 runs its final clean-up (which joins its executor threads) on a detached thread
// when the last gRPC object goes away on one of gRPC's own threads. That clean-up then races the
// process's exit: OpenSSL's atexit handler (OPENSSL_cleanup) deletes OpenSSL's thread-local key,
// an executor thread that exits after it never frees its OpenSSL error queue (ERR_STATE, 904
// bytes allocated by ERR_clear_error when the thread first did TLS work), and LeakSanitizer,
// which runs after every other atexit handler, reports it as a direct leak from CRYPTO_zalloc —
// about one process in 30 for CallerAuthzTest.AUriSubjectAltNameMatchesWithAGlob under ASan.
// Holding one grpc_init reference for the whole run makes the main thread's grpc_shutdown the
// last one, and gRPC then cleans up synchronously, on the main thread, before exit.
#include <grpc/grpc.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "gtest/gtest.h"

namespace {

class GrpcLifetime : public ::testing::Environment {
 public:
  void SetUp() override { grpc_init(); }

  void TearDown() override {
    grpc_shutdown();
    // A gRPC object still being released on gRPC's threads holds a reference for a moment; its
    // grpc_shutdown then does the clean-up. Wait for it rather than exit in the middle of it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (grpc_is_initialized() != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (grpc_is_initialized() != 0) {
      std::fprintf(stderr,
                   "grpc_lifetime: gRPC is still initialized 10 s after the last test (a gRPC "
                   "object outlives the tests?); exiting anyway\n");
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kGrpcLifetime =
    ::testing::AddGlobalTestEnvironment(new GrpcLifetime);

}  // namespace
