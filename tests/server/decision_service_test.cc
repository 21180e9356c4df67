// DecisionService and GrpcServer over real loopback sockets: a GrpcServer on 127.0.0.1:0, bundles
// compiled from in-memory files, the generated client stub.
#include "server/decision_service.h"

#include <grpcpp/generic/generic_stub.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/decision_log.h"
#include "server/grpc_server.h"
#include "server/metrics.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using ::fleetpdp::server::testing::CheckHealth;
using ::fleetpdp::server::testing::MakeCheck;
using ::fleetpdp::server::testing::ServingStatus;
using ::fleetpdp::server::testing::TestBundle;
using ::fleetpdp::server::testing::TestServer;
using ::fleetpdp::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Ne;
using ::testing::StartsWith;

namespace v1 = ::fleetpdp::v1;

v1::CheckRequest OwnTelemetry() {
  return MakeCheck("cam-0042", "mqtt:publish", "devices/cam-0042/telemetry/temp");
}
v1::CheckRequest Command() { return MakeCheck("cam-0042", "mqtt:publish", "devices/cam-7/cmd/x"); }
v1::CheckRequest Elsewhere() { return MakeCheck("cam-0042", "mqtt:publish", "other/x"); }

v1::CheckStreamRequest StreamRequest(uint64_t id, v1::CheckRequest check) {
  v1::CheckStreamRequest r;
  r.set_request_id(id);
  *r.mutable_check() = std::move(check);
  return r;
}

// ---------------------------------------------------------------------------------------------
// FromProto: conversion and validation without a server.

TEST(DecisionServiceFromProtoTest, OneValueIsAScalarAndSeveralAreAList) {
  v1::CheckRequest in = OwnTelemetry();
  (*in.mutable_principal()->mutable_attributes())["region"].add_values("eu");
  v1::AttributeValue& tags = (*in.mutable_context())["tags"];
  tags.add_values("a");
  tags.add_values("b");
  in.mutable_principal()->add_groups("cameras");
  engine::Request out;
  ASSERT_OK(FromProto(in, "check", out));
  EXPECT_EQ(out.principal.id, "cam-0042");
  EXPECT_THAT(out.principal.groups, ElementsAre("cameras"));
  ASSERT_EQ(out.principal.attributes.size(), 1u);
  EXPECT_EQ(out.principal.attributes[0].key, "region");
  EXPECT_THAT(out.principal.attributes[0].values, ElementsAre("eu"));
  EXPECT_FALSE(out.principal.attributes[0].is_list);
  ASSERT_EQ(out.context.size(), 1u);
  EXPECT_THAT(out.context[0].values, ElementsAre("a", "b"));
  EXPECT_TRUE(out.context[0].is_list);
}

TEST(DecisionServiceFromProtoTest, ConvertingIntoAReusedRequestLeavesNothingOfTheLastOne) {
  // The server converts every call into a per-thread request that keeps its buffers.
  v1::CheckRequest big = OwnTelemetry();
  big.mutable_principal()->set_type("device");
  big.mutable_principal()->add_groups("cameras");
  big.mutable_principal()->add_groups("eu-fleet");
  v1::AttributeValue& region = (*big.mutable_principal()->mutable_attributes())["region"];
  region.add_values("eu-central-with-a-long-name");
  region.add_values("eu-west");
  (*big.mutable_context())["source_ip"].add_values("10.0.0.7");
  (*big.mutable_context())["tls_version"].add_values("1.3");
  engine::Request out;
  ASSERT_OK(FromProto(big, "check", out));
  ASSERT_EQ(out.principal.attributes.size(), 1u);
  ASSERT_EQ(out.context.size(), 2u);

  v1::CheckRequest small = MakeCheck("c", "mqtt:subscribe", "x/#");
  (*small.mutable_principal()->mutable_attributes())["zone"].add_values("z");
  ASSERT_OK(FromProto(small, "check", out));
  EXPECT_EQ(out.principal.id, "c");
  EXPECT_EQ(out.principal.type, "");
  EXPECT_THAT(out.principal.groups, IsEmpty());
  ASSERT_EQ(out.principal.attributes.size(), 1u);
  EXPECT_EQ(out.principal.attributes[0].key, "zone");
  EXPECT_THAT(out.principal.attributes[0].values, ElementsAre("z"));
  EXPECT_FALSE(out.principal.attributes[0].is_list);
  EXPECT_EQ(out.action, "mqtt:subscribe");
  EXPECT_EQ(out.resource, "x/#");
  EXPECT_THAT(out.context, IsEmpty());

  // And back: every field as if converted into a fresh request.
  ASSERT_OK(FromProto(big, "check", out));
  engine::Request fresh;
  ASSERT_OK(FromProto(big, "check", fresh));
  EXPECT_EQ(out.principal.groups, fresh.principal.groups);
  ASSERT_EQ(out.principal.attributes.size(), 1u);
  EXPECT_THAT(out.principal.attributes[0].values,
              ElementsAre("eu-central-with-a-long-name", "eu-west"));
  EXPECT_TRUE(out.principal.attributes[0].is_list);
  ASSERT_EQ(out.context.size(), fresh.context.size());
  for (size_t i = 0; i < out.context.size(); ++i) {
    EXPECT_EQ(out.context[i].key, fresh.context[i].key);
    EXPECT_EQ(out.context[i].values, fresh.context[i].values);
  }
}

TEST(DecisionServiceFromProtoTest, ErrorsNameTheFieldWithItsPath) {
  engine::Request out;
  EXPECT_THAT(
      FromProto(MakeCheck("", "mqtt:publish", "a"), "checks[3]", out),
      StatusIs(absl::StatusCode::kInvalidArgument, "checks[3].principal.id: must not be empty"));
  EXPECT_THAT(FromProto(MakeCheck("d", "", "a"), "check", out),
              StatusIs(absl::StatusCode::kInvalidArgument, "check.action: must not be empty"));
  EXPECT_THAT(FromProto(MakeCheck("d", "mqtt:publish", "a/+"), "", out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("resource: topic \"a/+\" contains a wildcard")));
}

TEST(DecisionServiceFromProtoTest, AttributeWithoutValuesIsRejected) {
  v1::CheckRequest in = OwnTelemetry();
  (*in.mutable_principal()->mutable_attributes())["k"];
  engine::Request out;
  EXPECT_THAT(FromProto(in, "check", out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "check.principal.attributes[\"k\"]: needs at least one value"));
  v1::CheckRequest ctx = OwnTelemetry();
  (*ctx.mutable_context())["source_ip"];
  EXPECT_THAT(FromProto(ctx, "", out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "context[\"source_ip\"]: needs at least one value"));
}

TEST(DecisionServiceFromProtoTest, EmptyAttributeKeyIsRejected) {
  v1::CheckRequest in = OwnTelemetry();
  (*in.mutable_context())[""].add_values("x");
  engine::Request out;
  EXPECT_THAT(FromProto(in, "check", out), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    "check.context: a key must not be empty"));
}

// ---------------------------------------------------------------------------------------------
// Check

TEST(DecisionServiceTest, CheckAllowsWithTheDecidingStatementAndTheBundle) {
  TestServer t;
  std::shared_ptr<const bundles::LoadedBundle> bundle = TestBundle(7);
  t.Install(bundle);
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  ASSERT_TRUE(t.stub().Check(&ctx, OwnTelemetry(), &r).ok());
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.reason(), v1::REASON_ALLOWED);
  EXPECT_THAT(r.statements(), ElementsAre("devices/own-telemetry"));
  EXPECT_EQ(r.bundle_revision(), 7u);
  EXPECT_EQ(r.bundle_digest(), bundle->metadata.digest);
  EXPECT_EQ(r.bundle_digest().size(), 64u);
  EXPECT_THAT(r.decision_id(), Ne(""));
}

TEST(DecisionServiceTest, CheckDeniesExplicitlyNamingTheDenyStatement) {
  TestServer t;
  t.Install(TestBundle(7));
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  ASSERT_TRUE(t.stub().Check(&ctx, Command(), &r).ok());
  EXPECT_EQ(r.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.reason(), v1::REASON_EXPLICIT_DENY);
  EXPECT_THAT(r.statements(), ElementsAre("devices/no-commands"));
  EXPECT_EQ(r.bundle_revision(), 7u);
}

TEST(DecisionServiceTest, CheckDeniesByDefaultWithoutStatements) {
  TestServer t;
  t.Install(TestBundle(7));
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  ASSERT_TRUE(t.stub().Check(&ctx, Elsewhere(), &r).ok());
  EXPECT_EQ(r.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.reason(), v1::REASON_DEFAULT_DENY);
  EXPECT_THAT(r.statements(), IsEmpty());
}

TEST(DecisionServiceTest, EveryDecisionHasItsOwnId) {
  TestServer t;
  t.Install(TestBundle(1));
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    v1::CheckResponse r;
    ASSERT_TRUE(t.stub().Check(&ctx, OwnTelemetry(), &r).ok());
    ids.insert(r.decision_id());
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(DecisionServiceTest, CheckWithoutBundleIsUnavailable) {
  TestServer t;
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  grpc::Status s = t.stub().Check(&ctx, OwnTelemetry(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "no verified bundle loaded yet");
}

TEST(DecisionServiceTest, InvalidCheckIsInvalidArgumentNamingTheField) {
  TestServer t;
  t.Install(TestBundle(1));
  {
    grpc::ClientContext ctx;
    v1::CheckResponse r;
    grpc::Status s = t.stub().Check(&ctx, MakeCheck("", "mqtt:publish", "a/b"), &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "principal.id: must not be empty");
  }
  {
    grpc::ClientContext ctx;
    v1::CheckResponse r;
    grpc::Status s = t.stub().Check(&ctx, MakeCheck("d", "mqtt:publish", "devices/+/x"), &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(),
                StartsWith("resource: topic \"devices/+/x\" contains a wildcard"));
  }
}

TEST(DecisionServiceTest, InvalidRequestIsRefusedEvenWithoutBundle) {
  TestServer t;
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  grpc::Status s = t.stub().Check(&ctx, MakeCheck("d", "", "a"), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("action"));
}

TEST(DecisionServiceTest, OversizedRequestIsRefusedBeforeParsing) {
  GrpcServerOptions options;
  options.max_message_bytes = 1024;
  TestServer t(options);
  t.Install(TestBundle(1));
  // Invalid as well as oversized: INVALID_ARGUMENT would mean the handler had parsed it.
  v1::CheckRequest big = MakeCheck("", "mqtt:publish", std::string(4096, 'x'));
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  grpc::Status s = t.stub().Check(&ctx, big, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // A request within the limit on the same server is served.
  grpc::ClientContext ok_ctx;
  EXPECT_TRUE(t.stub().Check(&ok_ctx, OwnTelemetry(), &r).ok());
}

TEST(DecisionServiceTest, ExpiredDeadlineIsDeadlineExceeded) {
  TestServer t;
  t.Install(TestBundle(1));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  v1::CheckResponse r;
  grpc::Status s = t.stub().Check(&ctx, OwnTelemetry(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

// ---------------------------------------------------------------------------------------------
// BatchCheck

TEST(DecisionServiceTest, BatchCheckAnswersInRequestOrderFromOneBundle) {
  TestServer t;
  std::shared_ptr<const bundles::LoadedBundle> bundle = TestBundle(3);
  t.Install(bundle);
  v1::BatchCheckRequest batch;
  *batch.add_checks() = Command();
  *batch.add_checks() = OwnTelemetry();
  *batch.add_checks() = Elsewhere();
  *batch.add_checks() = MakeCheck("cam-0042", "mqtt:subscribe", "devices/cam-0042/cmd/+");
  grpc::ClientContext ctx;
  v1::BatchCheckResponse r;
  ASSERT_TRUE(t.stub().BatchCheck(&ctx, batch, &r).ok());
  ASSERT_EQ(r.results_size(), 4);
  EXPECT_EQ(r.results(0).reason(), v1::REASON_EXPLICIT_DENY);
  EXPECT_THAT(r.results(0).statements(), ElementsAre("devices/no-commands"));
  EXPECT_EQ(r.results(1).reason(), v1::REASON_ALLOWED);
  EXPECT_THAT(r.results(1).statements(), ElementsAre("devices/own-telemetry"));
  EXPECT_EQ(r.results(2).reason(), v1::REASON_DEFAULT_DENY);
  EXPECT_EQ(r.results(3).reason(), v1::REASON_ALLOWED);
  EXPECT_THAT(r.results(3).statements(), ElementsAre("devices/own-commands"));
  for (const v1::CheckResponse& result : r.results()) {
    EXPECT_EQ(result.bundle_revision(), 3u);
    EXPECT_EQ(result.bundle_digest(), bundle->metadata.digest);
  }
}

TEST(DecisionServiceTest, BatchWithOneInvalidCheckIsRefusedNamingIt) {
  TestServer t;
  t.Install(TestBundle(1));
  v1::BatchCheckRequest batch;
  *batch.add_checks() = OwnTelemetry();
  *batch.add_checks() = MakeCheck("cam-0042", "", "a");
  *batch.add_checks() = MakeCheck("", "", "");
  grpc::ClientContext ctx;
  v1::BatchCheckResponse r;
  grpc::Status s = t.stub().BatchCheck(&ctx, batch, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "checks[1].action: must not be empty");
}

TEST(DecisionServiceTest, ABigBatchThenASmallOneAnswerEveryCheckOfEach) {
  // The first batch outgrows the call's first arena block and the handler's reused buffers; the
  // second, smaller one must be answered from its own checks only.
  TestServer t;
  t.Install(TestBundle(2));
  v1::BatchCheckRequest big;
  for (int i = 0; i < 500; ++i) {
    v1::CheckRequest check = i % 2 == 0 ? OwnTelemetry() : Command();
    (*check.mutable_context())["note"].add_values(
        std::string(200, static_cast<char>('a' + i % 26)));
    *big.add_checks() = check;
  }
  grpc::ClientContext big_ctx;
  v1::BatchCheckResponse big_answer;
  ASSERT_TRUE(t.stub().BatchCheck(&big_ctx, big, &big_answer).ok());
  ASSERT_EQ(big_answer.results_size(), 500);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(big_answer.results(i).reason(),
              i % 2 == 0 ? v1::REASON_ALLOWED : v1::REASON_EXPLICIT_DENY)
        << i;
  }

  v1::BatchCheckRequest small;
  *small.add_checks() = Elsewhere();
  *small.add_checks() = Command();
  grpc::ClientContext small_ctx;
  v1::BatchCheckResponse small_answer;
  ASSERT_TRUE(t.stub().BatchCheck(&small_ctx, small, &small_answer).ok());
  ASSERT_EQ(small_answer.results_size(), 2);
  EXPECT_EQ(small_answer.results(0).reason(), v1::REASON_DEFAULT_DENY);
  EXPECT_EQ(small_answer.results(1).reason(), v1::REASON_EXPLICIT_DENY);
}

TEST(DecisionServiceTest, BatchOverTheLimitIsResourceExhausted) {
  GrpcServerOptions options;
  options.limits.max_batch_size = 3;
  TestServer t(options);
  t.Install(TestBundle(1));
  v1::BatchCheckRequest batch;
  for (int i = 0; i < 3; ++i) *batch.add_checks() = OwnTelemetry();
  {
    grpc::ClientContext ctx;
    v1::BatchCheckResponse r;
    EXPECT_TRUE(t.stub().BatchCheck(&ctx, batch, &r).ok());
  }
  *batch.add_checks() = OwnTelemetry();
  grpc::ClientContext ctx;
  v1::BatchCheckResponse r;
  grpc::Status s = t.stub().BatchCheck(&ctx, batch, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "batch of 4 checks exceeds the limit of 3");
}

TEST(DecisionServiceTest, BatchWithoutBundleIsUnavailable) {
  TestServer t;
  v1::BatchCheckRequest batch;
  *batch.add_checks() = OwnTelemetry();
  grpc::ClientContext ctx;
  v1::BatchCheckResponse r;
  EXPECT_EQ(t.stub().BatchCheck(&ctx, batch, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------------
// CheckStream

TEST(DecisionServiceTest, StreamAnswersAThousandRequestsWithTheirIds) {
  TestServer t;
  t.Install(TestBundle(1));
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  constexpr uint64_t kCount = 1000;
  // Writer and reader run concurrently, as a broker would: the server may hold back reads while
  // its answers are not being read.
  std::thread writer([&] {
    for (uint64_t id = 1; id <= kCount; ++id) {
      if (!stream->Write(StreamRequest(id, id % 2 == 0 ? OwnTelemetry() : Command()))) break;
    }
    stream->WritesDone();
  });
  std::vector<bool> seen(kCount + 1, false);
  uint64_t answers = 0;
  v1::CheckStreamResponse answer;
  while (stream->Read(&answer)) {
    ++answers;
    const uint64_t id = answer.request_id();
    ASSERT_TRUE(id >= 1 && id <= kCount) << id;
    EXPECT_FALSE(seen[id]) << "answered twice: " << id;
    seen[id] = true;
    EXPECT_THAT(answer.error(), IsEmpty());
    EXPECT_EQ(answer.result().decision(), id % 2 == 0 ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  }
  writer.join();
  EXPECT_EQ(answers, kCount);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(DecisionServiceTest, StreamAnswersAnInvalidRequestWithAnErrorAndGoesOn) {
  TestServer t;
  t.Install(TestBundle(1));
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  v1::CheckStreamResponse answer;
  ASSERT_TRUE(stream->Write(StreamRequest(1, MakeCheck("d", "mqtt:publish", "a/#"))));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 1u);
  EXPECT_THAT(answer.error(),
              StartsWith("INVALID_ARGUMENT: check.resource: topic \"a/#\" contains a wildcard"));
  EXPECT_FALSE(answer.has_result());
  ASSERT_TRUE(stream->Write(StreamRequest(2, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 2u);
  EXPECT_THAT(answer.error(), IsEmpty());
  EXPECT_EQ(answer.result().decision(), v1::DECISION_ALLOW);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(DecisionServiceTest, StreamWithoutBundleAnswersUnavailableThenServesAfterInstall) {
  TestServer t;
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  v1::CheckStreamResponse answer;
  ASSERT_TRUE(stream->Write(StreamRequest(1, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 1u);
  EXPECT_EQ(answer.error(), "UNAVAILABLE: no verified bundle loaded yet");
  t.Install(TestBundle(1));
  ASSERT_TRUE(stream->Write(StreamRequest(2, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 2u);
  EXPECT_EQ(answer.result().decision(), v1::DECISION_ALLOW);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(DecisionServiceTest, StreamContinuesAcrossABundleSwap) {
  TestServer t;
  std::shared_ptr<const bundles::LoadedBundle> first = TestBundle(1);
  std::shared_ptr<const bundles::LoadedBundle> second = TestBundle(2);
  ASSERT_NE(first->metadata.digest, second->metadata.digest);
  t.Install(first);
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  v1::CheckStreamResponse answer;
  ASSERT_TRUE(stream->Write(StreamRequest(1, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.result().bundle_digest(), first->metadata.digest);
  EXPECT_EQ(answer.result().bundle_revision(), 1u);

  t.Install(second);
  for (uint64_t id = 2; id <= 10; ++id) {
    ASSERT_TRUE(stream->Write(StreamRequest(id, OwnTelemetry())));
    ASSERT_TRUE(stream->Read(&answer));
    EXPECT_EQ(answer.request_id(), id);
    EXPECT_THAT(answer.error(), IsEmpty());
    EXPECT_EQ(answer.result().decision(), v1::DECISION_ALLOW);
    EXPECT_EQ(answer.result().bundle_digest(), second->metadata.digest);
    EXPECT_EQ(answer.result().bundle_revision(), 2u);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(DecisionServiceTest, ClientCancellingAStreamEndsIt) {
  TestServer t;
  t.Install(TestBundle(1));
  {
    grpc::ClientContext ctx;
    auto stream = t.stub().CheckStream(&ctx);
    v1::CheckStreamResponse answer;
    ASSERT_TRUE(stream->Write(StreamRequest(1, OwnTelemetry())));
    ASSERT_TRUE(stream->Read(&answer));
    ctx.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The server is unharmed, and a clean shutdown finds no stream left behind.
  grpc::ClientContext ctx;
  v1::CheckResponse r;
  EXPECT_TRUE(t.stub().Check(&ctx, OwnTelemetry(), &r).ok());
  t.server().Shutdown(absl::Seconds(30));
}

// ---------------------------------------------------------------------------------------------
// GetBundleInfo

TEST(DecisionServiceTest, BundleInfoDescribesTheServedBundle) {
  GrpcServerOptions options;
  options.source = "https://bundles.example/fleet.tar.gz";
  TestServer t(options);
  std::shared_ptr<const bundles::LoadedBundle> bundle = TestBundle(9);
  t.Install(bundle, absl::FromUnixSeconds(1'700'000'000));
  grpc::ClientContext ctx;
  v1::BundleInfo info;
  ASSERT_TRUE(t.stub().GetBundleInfo(&ctx, v1::GetBundleInfoRequest(), &info).ok());
  EXPECT_EQ(info.name(), "fleet");
  EXPECT_EQ(info.revision(), 9u);
  EXPECT_EQ(info.digest(), bundle->metadata.digest);
  EXPECT_EQ(info.key_id(), "test-key");
  EXPECT_EQ(info.loaded_at_unix_seconds(), 1'700'000'000);
  EXPECT_EQ(info.policies(), 1u);
  EXPECT_EQ(info.statements(), 3u);
  EXPECT_EQ(info.entities(), 1u);
  EXPECT_EQ(info.groups(), 2u);
  EXPECT_EQ(info.source(), "https://bundles.example/fleet.tar.gz");
  EXPECT_EQ(info.last_load_error(), "");
  EXPECT_EQ(info.last_load_attempt_unix_seconds(), 1'700'000'000);
  EXPECT_TRUE(info.serving());
}

TEST(DecisionServiceTest, BundleInfoReportsAFailedLoadWhileTheOldBundleServes) {
  TestServer t;
  t.Install(TestBundle(4), absl::FromUnixSeconds(1'700'000'000));
  t.holder().RecordFailure("tampered: file \"policies/x.yaml\" was changed",
                           absl::FromUnixSeconds(1'700'000'060));
  grpc::ClientContext ctx;
  v1::BundleInfo info;
  ASSERT_TRUE(t.stub().GetBundleInfo(&ctx, v1::GetBundleInfoRequest(), &info).ok());
  EXPECT_EQ(info.revision(), 4u);
  EXPECT_TRUE(info.serving());
  EXPECT_EQ(info.last_load_error(), "tampered: file \"policies/x.yaml\" was changed");
  EXPECT_EQ(info.loaded_at_unix_seconds(), 1'700'000'000);
  EXPECT_EQ(info.last_load_attempt_unix_seconds(), 1'700'000'060);
}

TEST(DecisionServiceTest, BundleInfoWithoutBundleIsNotServing) {
  TestServer t;
  t.holder().RecordFailure("unsigned: bundle is not signed", absl::FromUnixSeconds(1'700'000'000));
  grpc::ClientContext ctx;
  v1::BundleInfo info;
  ASSERT_TRUE(t.stub().GetBundleInfo(&ctx, v1::GetBundleInfoRequest(), &info).ok());
  EXPECT_FALSE(info.serving());
  EXPECT_EQ(info.revision(), 0u);
  EXPECT_EQ(info.digest(), "");
  EXPECT_EQ(info.loaded_at_unix_seconds(), 0);
  EXPECT_EQ(info.last_load_error(), "unsigned: bundle is not signed");
  EXPECT_EQ(info.last_load_attempt_unix_seconds(), 1'700'000'000);
}

// ---------------------------------------------------------------------------------------------
// Metrics and the decision log

TEST(DecisionServiceTest, DecisionsReachTheMetricsAndTheDecisionLog) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_OK(metrics);
  const std::string path =
      absl::StrCat(::testing::TempDir(), "decision_service_test_", getpid(), ".jsonl");
  std::remove(path.c_str());
  DecisionLogOptions log_options;
  log_options.path = path;
  absl::StatusOr<std::unique_ptr<DecisionLog>> log =
      DecisionLog::Create(log_options, metrics->get());
  ASSERT_OK(log);
  std::string decision_id;
  {
    TestServer t(GrpcServerOptions{}, metrics->get(), log->get());
    t.Install(TestBundle(5));
    grpc::ClientContext ctx;
    v1::CheckResponse r;
    ASSERT_TRUE(t.stub().Check(&ctx, Command(), &r).ok());
    decision_id = r.decision_id();
    grpc::ClientContext bad_ctx;
    EXPECT_FALSE(t.stub().Check(&bad_ctx, MakeCheck("", "mqtt:publish", "a"), &r).ok());
  }
  (*log)->Flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(decision_id));
  EXPECT_THAT(text.str(), HasSubstr("devices/no-commands"));
  EXPECT_EQ((*log)->written(), 1u);
  const std::string scrape = (*metrics)->Scrape();
  EXPECT_THAT(scrape, HasSubstr("fleetpdp_check_duration_seconds_count{method=\"Check\"} 1"));
  EXPECT_THAT(scrape, HasSubstr("fleetpdp_invalid_requests_total{method=\"Check\"} 1"));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------------
// GrpcServer: health, reflection, binding, shutdown

TEST(GrpcServerTest, HealthIsNotServingUntilSetServing) {
  TestServer t;
  for (const std::string service : {"", kDecisionServiceName}) {
    testing::HealthAnswer h = CheckHealth(t.channel(), service);
    ASSERT_TRUE(h.status.ok()) << service << ": " << h.status.error_message();
    EXPECT_EQ(h.serving, ServingStatus::kNotServing) << service;
  }
  t.Install(TestBundle(1));
  t.server().SetServing(true);
  for (const std::string service : {"", kDecisionServiceName}) {
    testing::HealthAnswer h = CheckHealth(t.channel(), service);
    ASSERT_TRUE(h.status.ok()) << service << ": " << h.status.error_message();
    EXPECT_EQ(h.serving, ServingStatus::kServing) << service;
  }
  t.server().SetServing(false);
  EXPECT_EQ(CheckHealth(t.channel(), "").serving, ServingStatus::kNotServing);
  // An unknown service is NOT_FOUND, as grpc.health.v1 specifies.
  EXPECT_EQ(CheckHealth(t.channel(), "no.such.Service").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Reflection over a generic stream: ServerReflectionRequest{list_services = 7: "*"}; the answer's
// bytes must name our service.
TEST(GrpcServerTest, ReflectionListsTheDecisionService) {
  TestServer t;
  grpc::GenericStub stub(t.channel());
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  ASSERT_NE(call, nullptr);
  auto await = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(await(1));
  const std::string request("\x3a\x01*", 3);
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(await(2));
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  ASSERT_TRUE(await(3));
  call->WritesDone(reinterpret_cast<void*>(4));
  await(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  await(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("fleetpdp.v1.DecisionService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(GrpcServerTest, SecondServerOnTheSamePortFailsToBind) {
  TestServer t;
  BundleHolder holder;
  GrpcServerOptions options;
  options.listen = t.address();
  absl::StatusOr<std::unique_ptr<GrpcServer>> second =
      GrpcServer::Start(options, holder, nullptr, nullptr);
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kUnavailable,
                               absl::StrCat("cannot listen on ", t.address())));
}

TEST(GrpcServerTest, MalformedListenAddressFailsToBind) {
  BundleHolder holder;
  GrpcServerOptions options;
  options.listen = "not-an-address:99999";
  EXPECT_THAT(GrpcServer::Start(options, holder, nullptr, nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen on")));
}

TEST(GrpcServerTest, ShutdownDrainsAnInFlightStream) {
  TestServer t;
  t.Install(TestBundle(1));
  t.server().SetServing(true);
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  v1::CheckStreamResponse answer;
  ASSERT_TRUE(stream->Write(StreamRequest(1, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 1u);

  std::thread shutdown([&] { t.server().Shutdown(absl::Seconds(60)); });
  // Shutdown has begun once a new call is refused. gRPC 1.51 cancels a call that reaches the
  // server after Shutdown began (CANCELLED) and refuses one on a new connection (UNAVAILABLE).
  grpc::Status refused;
  do {
    grpc::ClientContext c;
    v1::CheckResponse r;
    refused = t.stub().Check(&c, OwnTelemetry(), &r);
  } while (refused.ok());
  EXPECT_THAT(refused.error_code(),
              AnyOf(grpc::StatusCode::CANCELLED, grpc::StatusCode::UNAVAILABLE))
      << refused.error_message();

  // The stream opened before is still answered while the server drains.
  ASSERT_TRUE(stream->Write(StreamRequest(2, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.request_id(), 2u);
  EXPECT_THAT(answer.error(), IsEmpty());
  EXPECT_EQ(answer.result().decision(), v1::DECISION_ALLOW);
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&answer));
  grpc::Status finished = stream->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  shutdown.join();  // returns once the stream has ended, well before the deadline
}

TEST(GrpcServerTest, ShutdownCancelsStreamsStillOpenAtTheDeadline) {
  TestServer t;
  t.Install(TestBundle(1));
  grpc::ClientContext ctx;
  auto stream = t.stub().CheckStream(&ctx);
  v1::CheckStreamResponse answer;
  ASSERT_TRUE(stream->Write(StreamRequest(1, OwnTelemetry())));
  ASSERT_TRUE(stream->Read(&answer));
  t.server().Shutdown(absl::ZeroDuration());
  EXPECT_FALSE(stream->Read(&answer));
  EXPECT_FALSE(stream->Finish().ok());
  t.server().Shutdown(absl::ZeroDuration());  // idempotent
}

}  // namespace
}  // namespace fleetpdp::server
