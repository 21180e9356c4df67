// gRPC's library lifetime in the test binaries that use gRPC (server_tests, client_tests,
// mosquitto_tests; added by tests/CMakeLists.txt): the last grpc_shutdown runs on the main thread
// after the last test, so gRPC joins its threads before the process exits
// (integrations/client/grpc_library.h says why: a LeakSanitizer report from OpenSSL's per-thread
// error queue, about one process in 30 for CallerAuthzTest.AUriSubjectAltNameMatchesWithAGlob
// under ASan before this).
#include <cstdio>
#include <optional>

#include "gtest/gtest.h"
#include "integrations/client/grpc_library.h"

namespace {

class GrpcLifetime : public ::testing::Environment {
 public:
  void SetUp() override { grpc_.emplace(); }

  void TearDown() override {
    if (grpc_.has_value() && !grpc_->Release()) {
      std::fprintf(stderr,
                   "grpc_lifetime: gRPC is still initialized 10 s after the last test (a gRPC "
                   "object outlives the tests?); exiting anyway\n");
    }
  }

 private:
  std::optional<fleetpdp::client::GrpcLibraryScope> grpc_;
};

[[maybe_unused]] ::testing::Environment* const kGrpcLifetime =
    ::testing::AddGlobalTestEnvironment(new GrpcLifetime);

}  // namespace
