// Caller authorization over loopback with mutual TLS, certificates made by openssl for each run
// (tests/testdata/make-test-certs.sh): which client certificates reach which surface.
#include "server/caller_authz.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics.h"
#include "server/server_test_util.h"
#include "server/tls.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using fleetpdp::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::LogLines;
using testing::MakeCheck;
using ::testing::Not;
using testing::TestBundle;
using testing::TestPki;
using testing::TestServer;
namespace v1 = ::fleetpdp::v1;
namespace fs = std::filesystem;

// ---- the matcher syntax ----

std::vector<CallerMatcher> Parse(std::vector<std::string> entries) {
  absl::StatusOr<std::vector<CallerMatcher>> m = ParseCallerMatchers("--allow-callers", entries);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : std::vector<CallerMatcher>{};
}

TEST(CallerMatcherTest, ACommaListAndRepeatedEntriesParseInOrder) {
  std::vector<CallerMatcher> m =
      Parse({"CN=broker-*, SAN:dns:Broker.Fleet.Local", "san:URI:spiffe://fleet/*,SAN:email:a@b",
             "SAN:ip:10.0.0.*"});
  std::vector<std::string> canonical;
  for (const CallerMatcher& x : m) canonical.push_back(x.ToString());
  EXPECT_THAT(canonical, ::testing::ElementsAre("CN=broker-*", "SAN:dns:broker.fleet.local",
                                                "SAN:uri:spiffe://fleet/*", "SAN:email:a@b",
                                                "SAN:ip:10.0.0.*"));
}

TEST(CallerMatcherTest, AnUnknownMatcherIsRefusedNamingTheFlagAndTheEntry) {
  EXPECT_THAT(ParseCallerMatchers("--allow-admin-callers", {"CN=ok,OU=ops"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--allow-admin-callers: \"OU=ops\": unknown matcher"),
                             HasSubstr("CN=PATTERN or SAN:dns|uri|email|ip:PATTERN"))));
}

TEST(CallerMatcherTest, AnUnknownSanTypeIsRefused) {
  EXPECT_THAT(ParseCallerMatchers("--allow-callers", {"SAN:dn:broker"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown SAN type")));
}

TEST(CallerMatcherTest, AnEmptyPatternOrEntryIsRefused) {
  EXPECT_THAT(ParseCallerMatchers("--allow-callers", {"CN="}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty pattern")));
  EXPECT_THAT(ParseCallerMatchers("--allow-callers", {"CN=a,,CN=b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty entry")));
  EXPECT_THAT(ParseCallerMatchers("--allow-callers", {"CN=a,"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty entry")));
}

TEST(CallerMatcherTest, AStarMatchesAnyRunAndTheRestIsLiteral) {
  const CallerMatcher m = Parse({"CN=broker-*"})[0];
  EXPECT_TRUE(m.Matches("broker-1"));
  EXPECT_TRUE(m.Matches("broker-"));
  EXPECT_TRUE(m.Matches("broker-eu.west/7"));
  EXPECT_FALSE(m.Matches("xbroker-1"));
  EXPECT_FALSE(m.Matches("broker"));
  EXPECT_FALSE(m.Matches("Broker-1"));  // CN compares case-sensitively
  const CallerMatcher inner = Parse({"CN=a*b*c"})[0];
  EXPECT_TRUE(inner.Matches("abc"));
  EXPECT_TRUE(inner.Matches("a-b-b-c"));
  EXPECT_FALSE(inner.Matches("a-b-c-d"));
  const CallerMatcher exact = Parse({"CN=broker.1"})[0];
  EXPECT_TRUE(exact.Matches("broker.1"));
  EXPECT_FALSE(exact.Matches("brokerX1"));  // '.' is literal
  EXPECT_TRUE(Parse({"CN=*"})[0].Matches(""));
}

TEST(CallerMatcherTest, DnsNamesCompareIgnoringCase) {
  const CallerMatcher m = Parse({"SAN:dns:*.Fleet.local"})[0];
  EXPECT_TRUE(m.Matches("broker.fleet.LOCAL"));
  EXPECT_FALSE(m.Matches("broker.fleet.local.evil"));
}

TEST(CallerMatcherTest, AMatcherAdmitsOnlyNamesOfItsKind) {
  CallerIdentity id;
  id.common_names = {"broker.fleet.local"};
  EXPECT_FALSE(Admits(Parse({"SAN:dns:broker.fleet.local"}), id));
  id.dns = {"broker.fleet.local"};
  EXPECT_TRUE(Admits(Parse({"SAN:dns:broker.fleet.local"}), id));
  EXPECT_FALSE(Admits(Parse({"SAN:uri:broker.fleet.local"}), id));
}

TEST(CallerSurfaceTest, DecisionMethodsAdminMethodsAndHealthAreTold) {
  EXPECT_EQ(SurfaceOf("/fleetpdp.v1.DecisionService/Check"), Surface::kDecision);
  EXPECT_EQ(SurfaceOf("/fleetpdp.v1.DecisionService/BatchCheck"), Surface::kDecision);
  EXPECT_EQ(SurfaceOf("/fleetpdp.v1.DecisionService/CheckStream"), Surface::kDecision);
  EXPECT_EQ(SurfaceOf("/fleetpdp.v1.DecisionService/GetBundleInfo"), Surface::kAdmin);
  EXPECT_EQ(SurfaceOf("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Surface::kAdmin);
  EXPECT_EQ(SurfaceOf("/grpc.health.v1.Health/Check"), Surface::kHealth);
  EXPECT_EQ(SurfaceOf("/grpc.health.v1.Health/Watch"), Surface::kHealth);
  // Anything unknown falls to the stricter admin list.
  EXPECT_EQ(SurfaceOf("/fleetpdp.v1.DecisionService/CheckX"), Surface::kAdmin);
  EXPECT_EQ(SurfaceOf("/grpc.channelz.v1.Channelz/GetTopChannels"), Surface::kAdmin);
  EXPECT_EQ(SurfaceOf(""), Surface::kAdmin);
}

// ---- over mutual TLS ----

std::string Pem(const std::string& name) {
  static const TestPki pki("authz");
  return (pki.dir() / name).string();
}

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = bundles::ReadFileBytes(path);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// A mutual-TLS server (client CA "ca") with the given allow lists.
struct AuthzServer {
  AuthzServer(std::vector<std::string> callers, std::vector<std::string> admins)
      : metrics(*Metrics::Create({})) {
    GrpcServerOptions options;
    ServerTlsOptions tls{.cert_file = Pem("server.pem"),
                         .key_file = Pem("server.key"),
                         .client_ca_file = Pem("ca.pem")};
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(tls);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    options.credentials = *credentials;
    CallerAuthzOptions authz{.decision_callers = std::move(callers),
                             .admin_callers = std::move(admins),
                             .log = log.Sink()};
    absl::StatusOr<std::shared_ptr<grpc::AuthMetadataProcessor>> processor =
        MakeCallerAuthz(authz, metrics.get());
    EXPECT_TRUE(processor.ok()) << processor.status();
    options.auth_processor = *processor;
    server = std::make_unique<TestServer>(options, metrics.get());
    server->Install(TestBundle(1));
  }

  // A channel presenting client certificate `name` (a file stem of the test PKI).
  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& name) const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Read(Pem("ca.pem"));
    ssl.pem_cert_chain = Read(Pem(name + ".pem"));
    ssl.pem_private_key = Read(Pem(name + ".key"));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own per channel
    return grpc::CreateCustomChannel(server->address(), grpc::SslCredentials(ssl), args);
  }

  std::unique_ptr<Metrics> metrics;
  LogLines log;
  std::unique_ptr<TestServer> server;
};

struct Calls {
  grpc::Status check, batch, stream, info;
  std::string digest;  // from Check, when it succeeded
};

// Every DecisionService method once, as `who`.
Calls CallEverything(const AuthzServer& s, const std::string& who) {
  auto channel = s.ChannelAs(who);
  auto stub = v1::DecisionService::NewStub(channel);
  const v1::CheckRequest check =
      MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/t");
  Calls out;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CheckResponse response;
    out.check = stub->Check(&ctx, check, &response);
    out.digest = response.bundle_digest();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::BatchCheckRequest request;
    *request.add_checks() = check;
    v1::BatchCheckResponse response;
    out.batch = stub->BatchCheck(&ctx, request, &response);
    if (out.batch.ok() && response.results_size() != 1) {
      out.batch = grpc::Status(grpc::StatusCode::INTERNAL, "no result");
    }
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->CheckStream(&ctx);
    v1::CheckStreamRequest request;
    request.set_request_id(1);
    *request.mutable_check() = check;
    stream->Write(request);
    stream->WritesDone();
    v1::CheckStreamResponse response;
    const bool answered = stream->Read(&response) && response.result().bundle_digest() != "";
    out.stream = stream->Finish();
    if (out.stream.ok() && !answered) {
      out.stream = grpc::Status(grpc::StatusCode::INTERNAL, "no answer on the stream");
    }
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::BundleInfo info;
    out.info = stub->GetBundleInfo(&ctx, v1::GetBundleInfoRequest(), &info);
  }
  return out;
}

// grpc.reflection.v1alpha list_services, sent as one message on the bidi method.
grpc::Status CallReflection(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  const char request_bytes[] = {0x3a, 0x00};  // ServerReflectionRequest{list_services: ""}
  grpc::Slice slice(request_bytes, sizeof(request_bytes));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                 grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status st) { done.set_value(std::move(st)); });
  return done.get_future().get();
}

// The value of one counter sample in the exposition text, or -1.
double Counter(const std::string& text, const std::string& sample) {
  const size_t at = text.find(sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 1));
}

constexpr auto kOk = grpc::StatusCode::OK;
constexpr auto kDenied = grpc::StatusCode::PERMISSION_DENIED;

TEST(CallerAuthzTest, ABrokerCertificateMatchingTheListGetsDecisions) {
  AuthzServer s({"CN=broker-*,SAN:dns:broker.fleet.local"}, {});
  const Calls c = CallEverything(s, "client");  // CN=broker-1
  EXPECT_EQ(c.check.error_code(), kOk) << c.check.error_message();
  EXPECT_EQ(c.batch.error_code(), kOk) << c.batch.error_message();
  EXPECT_EQ(c.stream.error_code(), kOk) << c.stream.error_message();
  EXPECT_EQ(c.digest, TestBundle(1)->metadata.digest);
  // No admin list: GetBundleInfo is open to every mutual-TLS client.
  EXPECT_EQ(c.info.error_code(), kOk) << c.info.error_message();
}

TEST(CallerAuthzTest, ADnsSubjectAltNameAdmitsACallerWhoseCommonNameDoesNotMatch) {
  AuthzServer s({"CN=broker-*,SAN:dns:broker.fleet.local"}, {});
  const Calls c = CallEverything(s, "gateway");  // CN=gateway-3, DNS:broker.fleet.local
  EXPECT_EQ(c.check.error_code(), kOk) << c.check.error_message();
  EXPECT_EQ(c.stream.error_code(), kOk) << c.stream.error_message();
}

TEST(CallerAuthzTest, AUriSubjectAltNameMatchesWithAGlob) {
  AuthzServer s({"SAN:uri:spiffe://fleet.local/ns/mqtt/*"}, {});
  EXPECT_EQ(CallEverything(s, "gateway").check.error_code(), kOk);
  EXPECT_EQ(CallEverything(s, "client").check.error_code(), kDenied);
}

TEST(CallerAuthzTest, AnotherCertificateOfTheSameCaIsDeniedEveryDecisionMethod) {
  AuthzServer s({"CN=broker-*,SAN:dns:broker.fleet.local"}, {});
  const Calls c = CallEverything(s, "intruder");  // CN=intruder-1, DNS:intruder.fleet.local
  EXPECT_EQ(c.check.error_code(), kDenied);
  EXPECT_EQ(c.batch.error_code(), kDenied);
  EXPECT_EQ(c.stream.error_code(), kDenied);
  // The answer names the rule, never the configured patterns.
  EXPECT_THAT(c.check.error_message(),
              AllOf(HasSubstr("caller not authorized for fleetpdp.v1.DecisionService/Check"),
                    HasSubstr("--allow-callers"), Not(HasSubstr("broker"))));
  EXPECT_THAT(c.stream.error_message(), HasSubstr("DecisionService/CheckStream"));
  EXPECT_EQ(c.info.error_code(), kOk) << "no admin list: GetBundleInfo stays open";

  const std::string text = s.metrics->Scrape();
  EXPECT_EQ(Counter(text, R"(fleetpdp_unauthorized_calls_total{method="Check"})"), 1);
  EXPECT_EQ(Counter(text, R"(fleetpdp_unauthorized_calls_total{method="BatchCheck"})"), 1);
  EXPECT_EQ(Counter(text, R"(fleetpdp_unauthorized_calls_total{method="CheckStream"})"), 1);
  EXPECT_EQ(Counter(text, R"(fleetpdp_unauthorized_calls_total{method="GetBundleInfo"})"), 0);
  ASSERT_FALSE(s.log.lines().empty());
  EXPECT_THAT(s.log.lines()[0],
              AllOf(HasSubstr("denied /fleetpdp.v1.DecisionService/Check"),
                    HasSubstr("subject \"CN=intruder-1\""),
                    HasSubstr("SAN [dns:intruder.fleet.local]"), HasSubstr("--allow-callers")));
}

TEST(CallerAuthzTest, TheAdminListGatesGetBundleInfoSeparately) {
  AuthzServer s({"CN=broker-*"}, {"CN=ops-admin"});
  const Calls broker = CallEverything(s, "client");
  EXPECT_EQ(broker.check.error_code(), kOk);
  EXPECT_EQ(broker.info.error_code(), kDenied);
  EXPECT_THAT(broker.info.error_message(), HasSubstr("--allow-admin-callers"));
  const Calls ops = CallEverything(s, "ops");
  EXPECT_EQ(ops.info.error_code(), kOk) << ops.info.error_message();
  EXPECT_EQ(ops.check.error_code(), kDenied) << "the admin list does not grant decisions";
  EXPECT_EQ(
      Counter(s.metrics->Scrape(), R"(fleetpdp_unauthorized_calls_total{method="GetBundleInfo"})"),
      1);
}

TEST(CallerAuthzTest, TheAdminListGatesServerReflection) {
  AuthzServer s({}, {"CN=ops-admin"});
  EXPECT_EQ(CallReflection(s.ChannelAs("ops")).error_code(), kOk);
  const grpc::Status denied = CallReflection(s.ChannelAs("client"));
  EXPECT_EQ(denied.error_code(), kDenied) << denied.error_message();
  EXPECT_EQ(Counter(s.metrics->Scrape(),
                    R"(fleetpdp_unauthorized_calls_total{method="ServerReflectionInfo"})"),
            1);
  // No decision list: decisions stay open.
  EXPECT_EQ(CallEverything(s, "client").check.error_code(), kOk);
}

TEST(CallerAuthzTest, HealthStaysOpenToADeniedCaller) {
  AuthzServer s({"CN=broker-*"}, {"CN=ops-admin"});
  s.server->server().SetServing(true);
  testing::HealthAnswer health =
      testing::CheckHealth(s.ChannelAs("intruder"), "fleetpdp.v1.DecisionService");
  EXPECT_TRUE(health.status.ok()) << health.status.error_message();
  EXPECT_EQ(health.serving, testing::ServingStatus::kServing);
}

TEST(CallerAuthzTest, WithoutListsAnyMutualTlsClientIsAllowed) {
  AuthzServer s({}, {});
  const Calls c = CallEverything(s, "intruder");
  EXPECT_EQ(c.check.error_code(), kOk) << c.check.error_message();
  EXPECT_EQ(c.batch.error_code(), kOk);
  EXPECT_EQ(c.stream.error_code(), kOk);
  EXPECT_EQ(c.info.error_code(), kOk);
}

TEST(CallerAuthzTest, ManyDenialsAreAllCountedButLoggedAtARateLimit) {
  AuthzServer s({"CN=broker-*"}, {});
  auto stub = v1::DecisionService::NewStub(s.ChannelAs("intruder"));
  constexpr int kCalls = 40;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    v1::CheckResponse response;
    ASSERT_EQ(stub->Check(&ctx, MakeCheck("cam-0042", "mqtt:publish", "a"), &response).error_code(),
              kDenied);
  }
  EXPECT_EQ(Counter(s.metrics->Scrape(), R"(fleetpdp_unauthorized_calls_total{method="Check"})"),
            kCalls);
  EXPECT_LE(s.log.lines().size(), 5u);
  EXPECT_GE(s.log.lines().size(), 1u);
}

TEST(CallerAuthzTest, AProcessorWithoutTlsCredentialsIsRefusedAtStart) {
  GrpcServerOptions options;
  options.listen = "127.0.0.1:0";
  CallerAuthzOptions authz;
  authz.decision_callers = {"CN=x"};
  options.auth_processor = *MakeCallerAuthz(authz, nullptr);
  BundleHolder holder;
  EXPECT_THAT(GrpcServer::Start(options, holder, nullptr, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mutual TLS")));
}

TEST(CallerAuthzTest, TheStartupSummaryCountsEntriesPerSurface) {
  CallerAuthzOptions authz;
  authz.decision_callers = {"CN=a,CN=b"};
  EXPECT_EQ(DescribeCallerAuthz(authz),
            "decisions (Check, BatchCheck, CheckStream): 2 entries of --allow-callers; admin "
            "(GetBundleInfo, reflection): any mutual-TLS client; health: open");
}

}  // namespace
}  // namespace fleetpdp::server
