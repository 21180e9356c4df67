// A decision request and the decision the engine answers with.
//
//   Request request;
//   request.principal.id = "cam-0042";
//   request.action = "mqtt:publish";
//   request.resource = "devices/cam-0042/telemetry";
//   Decision d = Evaluate(*index, request);
//
// Thread safety: plain values.
#ifndef FLEETPDP_ENGINE_REQUEST_H_
#define FLEETPDP_ENGINE_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "engine/policy.h"

namespace fleetpdp::engine {

struct Principal {
  std::string id;
  std::string type;                   // "device", "service", "user"; the bundle's entity type wins
  std::vector<std::string> groups;    // added to the bundle's groups for this id
  std::vector<Attribute> attributes;  // added to the bundle's attributes; never override them
};

struct Request {
  Principal principal;
  std::string action;    // "mqtt:publish", "ota:download", …
  std::string resource;  // topic, topic filter (mqtt:subscribe), client id (mqtt:connect) or path
  std::vector<Attribute> context;  // source_ip, tls_version, time (RFC 3339), …
};

// Checks what a caller must get right; the server maps a failure to INVALID_ARGUMENT. The message
// names the field, e.g. `resource: topic "a/+" contains a wildcard`. Evaluate() never relies on
// this having been called: an invalid request is simply denied.
absl::Status ValidateRequest(const Request& request);

// The actions with MQTT meaning.
inline constexpr std::string_view kConnect = "mqtt:connect";
inline constexpr std::string_view kPublish = "mqtt:publish";
inline constexpr std::string_view kSubscribe = "mqtt:subscribe";
inline constexpr std::string_view kReceive = "mqtt:receive";
inline constexpr std::string_view kRetain = "mqtt:retain";

enum class Reason : uint8_t { kAllowed, kExplicitDeny, kDefaultDeny };
std::string_view ReasonName(Reason reason);  // "ALLOWED", "EXPLICIT_DENY", "DEFAULT_DENY"

// Index of a statement in its RuleIndex (RuleIndex::statement_name gives "policy/statement").
using StatementRef = uint32_t;

struct Decision {
  bool allowed = false;
  Reason reason = Reason::kDefaultDeny;
  // The deciding statements, ascending: every applicable deny for EXPLICIT_DENY, every applicable
  // allow for ALLOWED, none for DEFAULT_DENY. Up to kInlineStatements are kept without a heap
  // allocation: a device in several groups that each grant the same topic is allowed by one
  // statement per group (the synthetic 100,000-statement fleet: 3.6 on average, more than 4 in
  // two of five decisions; docs/benchmarks.md).
  static constexpr size_t kInlineStatements = 8;
  absl::InlinedVector<StatementRef, kInlineStatements> statements;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_REQUEST_H_
