// Helpers for the server's integration tests: bundles compiled from in-memory files, a GrpcServer
// on 127.0.0.1:0 with a client channel to it, and a grpc.health.v1 client.
//
//   TestServer t;                        // serving nothing yet
//   t.Install(TestBundle(/*revision=*/1));
//   grpc::Status s = t.stub().Check(&ctx, request, &response);
//
// Thread safety: a TestServer is used from one test thread; its stub and channel from any.
#ifndef FLEETPDP_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define FLEETPDP_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <google/protobuf/wrappers.pb.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bundles/digest.h"
#include "bundles/loader.h"
#include "fleetpdp/v1/decision.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/bundle_holder.h"
#include "server/grpc_server.h"

namespace fleetpdp::server::testing {

// Statement names: "devices/own-telemetry", "devices/no-commands", "devices/own-commands".
inline constexpr char kDevicePolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: devices}
spec:
  principals: "*"
  statements:
    - {id: own-telemetry, effect: allow, actions: [mqtt:publish], resources: ["devices/${principal.id}/telemetry/#"]}
    - {id: no-commands, effect: deny, actions: [mqtt:publish], resources: ["devices/+/cmd/#"]}
    - {id: own-commands, effect: allow, actions: [mqtt:subscribe], resources: ["devices/${principal.id}/cmd/#"]}
)";

inline constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups:
  - {id: sensors}
  - {id: cameras, parents: [sensors]}
devices:
  - {id: cam-0042, groups: [cameras], attributes: {region: eu}}
)";

// A bundle named "fleet" at `revision`: one policy (3 statements), one device, two groups.
inline bundles::BundleFiles TestBundleFiles(uint64_t revision, std::string policy = kDevicePolicy) {
  return bundles::BundleFiles{
      {"manifest.yaml", absl::StrCat("name: fleet\nrevision: ", revision, "\n")},
      {"policies/devices.yaml", std::move(policy)},
      {"entities/fleet.yaml", kEntities},
  };
}

// Compiles `files` as a verified bundle would be (digest set, signed by "test-key"); fails the
// test on error.
inline std::shared_ptr<const bundles::LoadedBundle> CompileTestBundle(
    const bundles::BundleFiles& files) {
  absl::StatusOr<bundles::LoadedBundle> loaded = bundles::CompileBundleFiles(files);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return nullptr;
  loaded->metadata.digest = bundles::BundleDigest(files);
  loaded->metadata.key_id = "test-key";
  loaded->metadata.is_signed = true;
  return std::make_shared<const bundles::LoadedBundle>(*std::move(loaded));
}

inline std::shared_ptr<const bundles::LoadedBundle> TestBundle(uint64_t revision) {
  return CompileTestBundle(TestBundleFiles(revision));
}

// A started GrpcServer on a free loopback port and a plaintext channel to it.
class TestServer {
 public:
  explicit TestServer(GrpcServerOptions options = {}, Metrics* metrics = nullptr,
                      DecisionLog* log = nullptr) {
    options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        GrpcServer::Start(options, holder_, metrics, log);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return;
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = fleetpdp::v1::DecisionService::NewStub(channel_);
  }

  static inline const absl::Time kInstalledAt = absl::FromUnixSeconds(1'700'000'000);

  void Install(std::shared_ptr<const bundles::LoadedBundle> bundle, absl::Time at = kInstalledAt) {
    ASSERT_NE(bundle, nullptr);
    holder_.Install(std::move(bundle), at);
  }

  BundleHolder& holder() { return holder_; }
  GrpcServer& server() { return *server_; }
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  fleetpdp::v1::DecisionService::Stub& stub() { return *stub_; }

 private:
  BundleHolder holder_;  // declared first: outlives the server
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fleetpdp::v1::DecisionService::Stub> stub_;
};

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

struct HealthAnswer {
  grpc::Status status;
  ServingStatus serving = ServingStatus::kUnknown;
};

// Calls grpc.health.v1.Health/Check. Debian ships no generated health stubs (nor health.proto),
// so the call goes through a generic stub with wire-compatible well-known types:
// HealthCheckRequest{string service = 1} is StringValue{string value = 1}, and
// HealthCheckResponse{ServingStatus status = 1} (an enum: a varint) is Int32Value{int32 value = 1}.
inline HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service) {
  grpc::TemplatedGenericStub<google::protobuf::StringValue, google::protobuf::Int32Value> stub(
      channel);
  google::protobuf::StringValue request;
  request.set_value(service);
  google::protobuf::Int32Value response;
  grpc::ClientContext context;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  HealthAnswer answer;
  answer.status = done.get_future().get();
  answer.serving = static_cast<ServingStatus>(response.value());
  return answer;
}

// A request for `principal` to `action` `resource`.
inline fleetpdp::v1::CheckRequest MakeCheck(std::string principal, std::string action,
                                            std::string resource) {
  fleetpdp::v1::CheckRequest r;
  r.mutable_principal()->set_id(std::move(principal));
  r.set_action(std::move(action));
  r.set_resource(std::move(resource));
  return r;
}

// A certificate authority, server and client certificates made by testdata/make-test-certs.sh in
// a temporary directory named `name`-PID, removed when the object goes. Generating keys takes a
// moment: keep one per test process.
class TestPki {
 public:
  explicit TestPki(const std::string& name)
      : dir_(std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("fleetpdp-", name, "-", getpid())) {
    std::string command =
        absl::StrCat(FLEETPDP_TESTDATA_DIR, "/make-test-certs.sh ", dir_.string(), " >/dev/null");
    EXPECT_EQ(std::system(command.c_str()), 0) << command << " (is openssl installed?)";
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// Collects the lines a log sink receives; the sink may be called from any thread (gRPC's).
class LogLines {
 public:
  std::function<void(std::string_view)> Sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace fleetpdp::server::testing

#endif  // FLEETPDP_TESTS_SERVER_SERVER_TEST_UTIL_H_
