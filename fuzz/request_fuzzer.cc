// Fuzzes the request path of the decision service: bytes → fleetpdp.v1.CheckRequest
// (ParseFromArray) → FromProto (server/decision_service.h: conversion and validation) → Evaluate
// against the example bundle (examples/fleet.bundle.tar.gz, verified and compiled once).
//
// Checks:
//   - a rejected request gets INVALID_ARGUMENT naming a request field;
//   - an accepted request passes engine::ValidateRequest, and the rule index and the reference
//     evaluator agree on its decision;
//   - evaluating whatever was converted (even from a rejected request) never crashes: Evaluate
//     does not rely on validation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bundles/archive.h"
#include "bundles/loader.h"
#include "bundles/signing.h"
#include "engine/rule_index.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/stubs/logging.h"
#include "server/decision_service.h"

namespace {

namespace bundles = fleetpdp::bundles;
namespace engine = fleetpdp::engine;

// The example bundle (examples/fleet.bundle.tar.gz, the one the server embeds), verified with the
// published development key and compiled once.
const engine::RuleIndex& ExampleIndex() {
  static const bundles::LoadedBundle* const bundle = [] {
    auto keyring = bundles::Keyring::LoadDirectory(FLEETPDP_SOURCE_DIR "/examples/keys/trusted");
    FLEETPDP_FUZZ_CHECK(keyring.ok(), "the development key does not load: " << keyring.status());
    auto files = bundles::ReadBundle(FLEETPDP_SOURCE_DIR "/examples/fleet.bundle.tar.gz");
    FLEETPDP_FUZZ_CHECK(files.ok(), "the example bundle does not read: " << files.status());
    auto loaded = bundles::LoadBundle(*files, &*keyring);
    FLEETPDP_FUZZ_CHECK(loaded.ok(), "the example bundle does not load: " << loaded.status());
    return new bundles::LoadedBundle(*std::move(loaded));
  }();
  return *bundle->index;
}

bool NamesAField(std::string_view message) {
  for (std::string_view field :
       {"principal.id:", "principal.attributes", "action:", "resource:", "context"}) {
    if (message.substr(0, field.size()) == field) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field fails the parse; protobuf would also log each one.
  google::protobuf::SetLogHandler(nullptr);
  (void)ExampleIndex();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fleetpdp::v1::CheckRequest proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  const engine::RuleIndex& index = ExampleIndex();
  engine::Request request;
  const absl::Status status = fleetpdp::server::FromProto(proto, "", request);
  if (!status.ok()) {
    FLEETPDP_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
                        "a bad request is not INVALID_ARGUMENT: " << status);
    const std::string_view message(status.message().data(), status.message().size());
    FLEETPDP_FUZZ_CHECK(NamesAField(message), "the error names no field: " << status);
    (void)engine::Evaluate(index, request);
    return 0;
  }
  const absl::Status valid = engine::ValidateRequest(request);
  FLEETPDP_FUZZ_CHECK(valid.ok(), "accepted by FromProto, rejected by ValidateRequest: " << valid);
  const engine::Decision fast = engine::Evaluate(index, request);
  const engine::Decision slow = engine::EvaluateReference(index, request);
  FLEETPDP_FUZZ_CHECK(fast.allowed == slow.allowed && fast.reason == slow.reason &&
                          fast.statements == slow.statements,
                      "index and reference disagree on " << proto.ShortDebugString());
  return 0;
}
