// fleetpdp_client against real FleetPDP servers on loopback (GrpcServer on 127.0.0.1:0 with an
// in-memory test bundle), plus the pure parts: target parsing, service config, option errors.
#include "integrations/client/client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::client {
namespace {

using ::fleetpdp::server::testing::MakeCheck;
using ::fleetpdp::server::testing::TestBundle;
using ::fleetpdp::server::testing::TestServer;
using ::fleetpdp::testing::IsOk;
using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::CheckRequest OwnTelemetry() {
  return MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/temp");
}

std::unique_ptr<Client> MustCreate(ClientOptions options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::unique_ptr<Client> ClientFor(const std::string& target, int max_attempts = 3) {
  ClientOptions options;
  options.target = target;
  options.max_attempts = max_attempts;
  options.deadline = absl::Seconds(5);
  return MustCreate(options);
}

// 127.0.0.1:`port`.
sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A TCP socket bound to a free port on 127.0.0.1, which it stores in `port`; -1 if that failed.
int BoundLoopbackSocket(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  int port = 0;
  int fd = BoundLoopbackSocket(port);
  if (fd >= 0) close(fd);
  return port;
}

// ---------------------------------------------------------------------------------------------
// Targets, service config and options, without a server.

TEST(ChannelTargetTest, ASingleTargetIsPassedToGrpcAsItIs) {
  EXPECT_EQ(*ChannelTarget("dns:///pdp.internal:50051"), "dns:///pdp.internal:50051");
  EXPECT_EQ(*ChannelTarget("localhost:50051"), "localhost:50051");
}

TEST(ChannelTargetTest, AListOfIpv4AddressesBecomesAnIpv4Uri) {
  EXPECT_EQ(*ChannelTarget("10.0.0.1:50051, 10.0.0.2:50052"), "ipv4:10.0.0.1:50051,10.0.0.2:50052");
}

TEST(ChannelTargetTest, AListOfIpv6AddressesBecomesAnIpv6Uri) {
  EXPECT_EQ(*ChannelTarget("[::1]:1,[fd00::2]:2"), "ipv6:[::1]:1,[fd00::2]:2");
}

TEST(ChannelTargetTest, ANameInAListIsRefusedWithAHint) {
  EXPECT_THAT(ChannelTarget("10.0.0.1:1,pdp.internal:2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"pdp.internal:2\" is not an IP address with a port")));
}

TEST(ChannelTargetTest, AListElementWithoutAPortIsRefused) {
  EXPECT_THAT(ChannelTarget("10.0.0.1,10.0.0.2:2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"10.0.0.1\"")));
  EXPECT_THAT(ChannelTarget("10.0.0.1:0,10.0.0.2:2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"10.0.0.1:0\"")));
}

TEST(ChannelTargetTest, AnEmptyListElementIsRefused) {
  EXPECT_THAT(ChannelTarget("10.0.0.1:1,"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("list element \"\"")));
}

TEST(ChannelTargetTest, AListMixingIpv4AndIpv6IsRefused) {
  EXPECT_THAT(ChannelTarget("10.0.0.1:1,[::1]:2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot mix IPv4 and IPv6")));
}

TEST(ChannelTargetTest, AnEmptyTargetIsRefused) {
  EXPECT_THAT(ChannelTarget(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target: must not be empty")));
}

TEST(ServiceConfigTest, RetriesOnlyUnavailableWithTheGivenAttempts) {
  std::string config = ServiceConfigJson(4);
  EXPECT_THAT(config, HasSubstr(R"("retryableStatusCodes": ["UNAVAILABLE"])"));
  EXPECT_THAT(config, HasSubstr(R"("maxAttempts": 4)"));
  EXPECT_THAT(config, HasSubstr(R"({"round_robin": {}})"));
}

TEST(ServiceConfigTest, OneAttemptHasNoRetryPolicy) {
  EXPECT_THAT(ServiceConfigJson(1), Not(HasSubstr("retryPolicy")));
}

TEST(ClientOptionsTest, AttemptsOutsideOneToFiveAreRefused) {
  for (int attempts : {0, 6}) {
    ClientOptions options;
    options.target = "127.0.0.1:1";
    options.max_attempts = attempts;
    EXPECT_THAT(Client::Create(options),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_attempts")));
  }
}

TEST(ClientOptionsTest, ANonPositiveDeadlineIsRefused) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.deadline = absl::ZeroDuration();
  EXPECT_THAT(Client::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deadline")));
}

TEST(ClientOptionsTest, AMissingCaFileIsNotFoundNamingTheFile) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.tls.emplace();
  options.tls->ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(Client::Create(options),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("tls.ca_file: cannot read \"/nonexistent/ca.pem\"")));
}

TEST(ClientOptionsTest, AClientCertificateWithoutItsKeyIsRefused) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.tls.emplace();
  options.tls->cert_file = "/tmp/client.pem";
  EXPECT_THAT(Client::Create(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("cert_file and key_file go together")));
}

TEST(ClientOptionsTest, AnInvalidTargetListFailsCreate) {
  ClientOptions options;
  options.target = "a:1,b:2";
  EXPECT_THAT(Client::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an IP address")));
}

// ---------------------------------------------------------------------------------------------
// Calls against a real server.

class ClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.Install(TestBundle(/*revision=*/7)); }
  TestServer server_;
};

TEST_F(ClientServerTest, CheckAnswersAllowWithTheDecidingStatementAndBundle) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  absl::StatusOr<v1::CheckResponse> answer = client->Check(OwnTelemetry());
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(answer->reason(), v1::REASON_ALLOWED);
  EXPECT_THAT(answer->statements(), ElementsAre("devices/own-telemetry"));
  EXPECT_EQ(answer->bundle_revision(), 7u);
  EXPECT_FALSE(answer->decision_id().empty());
}

TEST_F(ClientServerTest, ADenyIsADecisionNotAnError) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  absl::StatusOr<v1::CheckResponse> answer =
      client->Check(MakeCheck("cam-0042", "mqtt:publish", "devices/cam-7/cmd/reboot"));
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->decision(), v1::DECISION_DENY);
  EXPECT_EQ(answer->reason(), v1::REASON_EXPLICIT_DENY);
}

TEST_F(ClientServerTest, AnInvalidRequestIsInvalidArgumentNamingTheFieldAndTheTarget) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  EXPECT_THAT(client->Check(MakeCheck("cam-0042", "mqtt:publish", "devices/+/telemetry")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("Check at \"", server_.address(),
                                              "\": resource: topic \"devices/+/telemetry\""))));
}

TEST(ClientNoBundleTest, ACheckBeforeAnyBundleIsUnavailable) {
  TestServer empty;
  std::unique_ptr<Client> client = ClientFor(empty.address(), /*max_attempts=*/1);
  EXPECT_THAT(client->Check(OwnTelemetry()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no verified bundle loaded yet")));
}

TEST_F(ClientServerTest, BatchCheckAnswersInRequestOrder) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  v1::BatchCheckRequest batch;
  *batch.add_checks() = OwnTelemetry();
  *batch.add_checks() = MakeCheck("cam-0042", "mqtt:publish", "devices/cam-7/cmd/x");
  *batch.add_checks() = MakeCheck("cam-0042", "mqtt:subscribe", "devices/cam-0042/cmd/#");
  absl::StatusOr<v1::BatchCheckResponse> answers = client->BatchCheck(batch);
  ASSERT_THAT(answers, IsOk());
  ASSERT_EQ(answers->results_size(), 3);
  EXPECT_EQ(answers->results(0).reason(), v1::REASON_ALLOWED);
  EXPECT_EQ(answers->results(1).reason(), v1::REASON_EXPLICIT_DENY);
  EXPECT_EQ(answers->results(2).reason(), v1::REASON_ALLOWED);
}

TEST_F(ClientServerTest, BatchCheckWithOneInvalidCheckFailsNamingIt) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  v1::BatchCheckRequest batch;
  *batch.add_checks() = OwnTelemetry();
  *batch.add_checks() = MakeCheck("", "mqtt:publish", "a/b");
  EXPECT_THAT(client->BatchCheck(batch), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("BatchCheck at \"127.0.0.1:")));
  EXPECT_THAT(client->BatchCheck(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("checks[1].principal.id")));
}

TEST_F(ClientServerTest, GetBundleInfoReportsTheServedBundle) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  absl::StatusOr<v1::BundleInfo> info = client->GetBundleInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE(info->serving());
  EXPECT_EQ(info->name(), "fleet");
  EXPECT_EQ(info->revision(), 7u);
  EXPECT_EQ(info->statements(), 3u);
}

TEST_F(ClientServerTest, CheckAsyncRunsItsCallbackOnceWithTheAnswer) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  v1::CheckRequest request = OwnTelemetry();
  v1::CheckResponse response;
  std::promise<absl::Status> done;
  client->CheckAsync(&request, &response, [&](absl::Status s) { done.set_value(std::move(s)); });
  EXPECT_THAT(done.get_future().get(), IsOk());
  EXPECT_EQ(response.decision(), v1::DECISION_ALLOW);
}

TEST_F(ClientServerTest, BatchCheckAsyncReportsAnErrorWithTheMethodAndTarget) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  v1::BatchCheckRequest request;
  *request.add_checks() = MakeCheck("cam-0042", "", "a/b");
  v1::BatchCheckResponse response;
  std::promise<absl::Status> done;
  client->BatchCheckAsync(&request, &response,
                          [&](absl::Status s) { done.set_value(std::move(s)); });
  EXPECT_THAT(done.get_future().get(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("BatchCheck at")));
}

TEST_F(ClientServerTest, AStreamAnswersEveryRequestAndFinishesOk) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  absl::Mutex mu;
  std::map<uint64_t, v1::Reason> answers;
  std::unique_ptr<CheckStream> stream = client->OpenStream([&](const v1::CheckStreamResponse& r) {
    absl::MutexLock lock(&mu);
    answers[r.request_id()] = r.result().reason();
  });
  constexpr int kRequests = 500;  // far more than the server's 64 queued answers
  for (int i = 0; i < kRequests; ++i) {
    v1::CheckStreamRequest request;
    request.set_request_id(i);
    *request.mutable_check() =
        i % 2 == 0 ? OwnTelemetry() : MakeCheck("cam-0042", "mqtt:publish", "devices/x/cmd/y");
    stream->Send(std::move(request));
  }
  EXPECT_THAT(stream->Finish(), IsOk());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(answers.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(answers[0], v1::REASON_ALLOWED);
  EXPECT_EQ(answers[1], v1::REASON_EXPLICIT_DENY);
  EXPECT_EQ(answers[kRequests - 1], v1::REASON_EXPLICIT_DENY);
}

TEST_F(ClientServerTest, AStreamAnswersAnInvalidRequestWithAnErrorAndGoesOn) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  absl::Mutex mu;
  std::vector<v1::CheckStreamResponse> answers;
  std::unique_ptr<CheckStream> stream = client->OpenStream([&](const v1::CheckStreamResponse& r) {
    absl::MutexLock lock(&mu);
    answers.push_back(r);
  });
  v1::CheckStreamRequest bad;
  bad.set_request_id(1);
  *bad.mutable_check() = MakeCheck("cam-0042", "mqtt:publish", "a/#");
  stream->Send(bad);
  v1::CheckStreamRequest good;
  good.set_request_id(2);
  *good.mutable_check() = OwnTelemetry();
  stream->Send(good);
  ASSERT_THAT(stream->Finish(), IsOk());
  ASSERT_EQ(answers.size(), 2u);
  for (const v1::CheckStreamResponse& a : answers) {
    if (a.request_id() == 1) {
      EXPECT_THAT(a.error(), HasSubstr("INVALID_ARGUMENT: check.resource"));
    } else {
      EXPECT_EQ(a.result().decision(), v1::DECISION_ALLOW);
    }
  }
}

TEST_F(ClientServerTest, SendAfterFinishIsIgnoredAndFinishIsIdempotent) {
  std::unique_ptr<Client> client = ClientFor(server_.address());
  std::atomic<int> answers{0};
  std::unique_ptr<CheckStream> stream =
      client->OpenStream([&](const v1::CheckStreamResponse&) { answers++; });
  EXPECT_THAT(stream->Finish(), IsOk());
  v1::CheckStreamRequest request;
  *request.mutable_check() = OwnTelemetry();
  stream->Send(request);
  EXPECT_THAT(stream->Finish(), IsOk());
  EXPECT_EQ(answers.load(), 0);
}

TEST(ClientFailureTest, AStreamToAnUnreachableServerEndsUnavailableNamingTheTarget) {
  std::string target = absl::StrCat("127.0.0.1:", ClosedPort());
  std::unique_ptr<Client> client = ClientFor(target, /*max_attempts=*/1);
  std::unique_ptr<CheckStream> stream = client->OpenStream([](const v1::CheckStreamResponse&) {});
  v1::CheckStreamRequest request;
  *request.mutable_check() = OwnTelemetry();
  stream->Send(request);
  EXPECT_THAT(stream->Finish(), StatusIs(absl::StatusCode::kUnavailable,
                                         HasSubstr(absl::StrCat("CheckStream at \"", target))));
}

TEST(ClientFailureTest, ACheckToAClosedPortIsUnavailableNamingTheTarget) {
  std::string target = absl::StrCat("127.0.0.1:", ClosedPort());
  std::unique_ptr<Client> client = ClientFor(target);
  EXPECT_THAT(client->Check(OwnTelemetry()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("Check at \"", target, "\""))));
}

TEST(ClientFailureTest, ACheckToAServerThatNeverAnswersEndsAtTheDeadline) {
  // A socket that listens but never accepts: TCP connects, HTTP/2 never starts.
  int port = 0;
  int fd = BoundLoopbackSocket(port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.deadline = absl::Milliseconds(300);
  std::unique_ptr<Client> client = MustCreate(options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(client->Check(OwnTelemetry()),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("Check at")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  close(fd);
}

TEST(ClientFailureTest, WaitForConnectedTimesOutNamingTheTarget) {
  std::string target = absl::StrCat("127.0.0.1:", ClosedPort());
  std::unique_ptr<Client> client = ClientFor(target);
  EXPECT_THAT(client->WaitForConnected(absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr(target)));
}

// A slow link: a TCP proxy on 127.0.0.1 that holds each connection for `delay` before it
// forwards anything either way, so connecting (TCP, then HTTP/2's first exchange) takes that long.
class SlowProxy {
 public:
  SlowProxy(int upstream_port, std::chrono::milliseconds delay)
      : upstream_port_(upstream_port), delay_(delay) {
    listen_fd_ = BoundLoopbackSocket(port_);
    listen(listen_fd_, 16);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~SlowProxy() {
    shutdown(listen_fd_, SHUT_RDWR);  // ends accept()
    acceptor_.join();
    for (std::thread& t : links_) t.join();
    close(listen_fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  void AcceptLoop() {
    for (;;) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      links_.emplace_back([this, client] { Forward(client); });
    }
  }
  // Copies bytes both ways until either side closes, or 10 s pass with none (the test is over).
  void Forward(int client) {
    std::this_thread::sleep_for(delay_);
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(upstream_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      char buffer[16384];
      bool open = true;
      while (open && poll(fds, 2, 10000) > 0) {
        for (int i = 0; i < 2 && open; ++i) {
          if (fds[i].revents == 0) continue;
          ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
          open = n > 0 && write(fds[1 - i].fd, buffer, static_cast<size_t>(n)) == n;
        }
      }
    }
    close(server);
    close(client);
  }
  int upstream_port_;
  std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> links_;  // only the acceptor thread adds, until it is joined
};

// `fleetpdp check` and `drift` set initial_reconnect_backoff to 100 ms so that they exit soon after
// a failed connection. That must not cut short a connection that is merely slow: gRPC's
// GRPC_ARG_MIN_RECONNECT_BACKOFF_MS (which max_reconnect_backoff sets) is also the connection
// timeout: at 100 ms this call failed ("connection attempt timed out before receiving SETTINGS
// frame"; over TLS on a loaded machine, "handshaker shutdown").
TEST(ClientSlowLinkTest, AConnectionSlowerThanTheFirstReconnectBackoffStillSucceeds) {
  TestServer server;
  server.Install(TestBundle(/*revision=*/3));
  const int port = std::stoi(server.address().substr(server.address().rfind(':') + 1));
  SlowProxy proxy(port, std::chrono::milliseconds(400));
  ClientOptions options;
  options.target = proxy.address();
  options.max_attempts = 1;
  options.deadline = absl::Seconds(10);
  options.initial_reconnect_backoff = absl::Milliseconds(100);
  std::unique_ptr<Client> client = MustCreate(options);
  absl::StatusOr<v1::BundleInfo> info = client->GetBundleInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->revision(), 3u);
}

// Two servers behind one comma-separated target: one serves revision 1, the other has no bundle
// yet and answers UNAVAILABLE.
class TwoServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    serving_.Install(TestBundle(/*revision=*/1));
    target_ = absl::StrCat(serving_.address(), ",", empty_.address());
  }
  // Round-robin only picks connected servers: call until both have answered once.
  void WaitUntilBothAnswer(const Client& client) {
    std::set<bool> seen;
    for (int i = 0; i < 200 && seen.size() < 2; ++i) {
      absl::StatusOr<v1::BundleInfo> info = client.GetBundleInfo();
      if (info.ok()) seen.insert(info->serving());
    }
    ASSERT_EQ(seen.size(), 2u) << "round-robin never reached both servers";
  }
  TestServer serving_;
  TestServer empty_;
  std::string target_;
};

TEST_F(TwoServersTest, ACommaListSpreadsCallsOverBothServers) {
  std::unique_ptr<Client> client = ClientFor(target_);
  WaitUntilBothAnswer(*client);
}

TEST_F(TwoServersTest, UnavailableFromOneServerIsRetriedOnTheOther) {
  std::unique_ptr<Client> client = ClientFor(target_, /*max_attempts=*/3);
  WaitUntilBothAnswer(*client);
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(client->Check(OwnTelemetry()), IsOk()) << "call " << i;
  }
}

TEST_F(TwoServersTest, WithoutRetriesHalfTheCallsFailUnavailable) {
  std::unique_ptr<Client> client = ClientFor(target_, /*max_attempts=*/1);
  WaitUntilBothAnswer(*client);
  int unavailable = 0;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::CheckResponse> answer = client->Check(OwnTelemetry());
    if (!answer.ok() && answer.status().code() == absl::StatusCode::kUnavailable) ++unavailable;
  }
  EXPECT_GE(unavailable, 5);  // round-robin alternates: about 10 of 20
}

}  // namespace
}  // namespace fleetpdp::client
