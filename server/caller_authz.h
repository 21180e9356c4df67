// Caller authorization on the gRPC port: with mutual TLS, which client certificates may call
// which surface. Checked by a grpc::AuthMetadataProcessor on the server credentials, before any
// handler runs (Debian's gRPC 1.51 has no authorization-policy provider implementation).
//
//   absl::StatusOr<std::shared_ptr<grpc::AuthMetadataProcessor>> authz = MakeCallerAuthz(
//       {.decision_callers = {"CN=broker-*", "SAN:dns:broker.fleet.local"}}, metrics);
//   options.auth_processor = *authz;                      // GrpcServerOptions
//
// Surfaces (SurfaceOf):
//   decision  fleetpdp.v1.DecisionService/Check, BatchCheck, CheckStream     --allow-callers
//   admin     fleetpdp.v1.DecisionService/GetBundleInfo, server reflection,
//             and any other method the port may serve                        --allow-admin-callers
//   health    grpc.health.v1.Health/*: always open to every client that completed the handshake
//             (readiness probes have no place in an allow list)
// A surface whose list is empty admits every client the TLS layer admits (today's behaviour).
//
// Matcher syntax (one entry; a list is comma-separated, flags repeat):
//   CN=PATTERN          the certificate subject's common name (gRPC's x509_common_name)
//   SAN:dns:PATTERN     a DNS subjectAltName (peer_dns); compared ignoring ASCII case
//   SAN:uri:PATTERN     a URI subjectAltName (peer_uri), e.g. a SPIFFE id
//   SAN:email:PATTERN   an email subjectAltName (peer_email)
//   SAN:ip:PATTERN      an IP subjectAltName (peer_ip), as gRPC prints it ("10.1.2.3", "::1")
// PATTERN is matched whole; '*' stands for any run of characters (also none, also dots and
// slashes); every other character is literal. Keywords (CN, SAN, dns …) are case-insensitive. A
// caller is admitted when any entry matches any of its names.
//
// A denied call fails with PERMISSION_DENIED "caller not authorized for <method>: its client
// certificate matches no entry of --allow-callers" (the rule, never the configured patterns), is
// counted in fleetpdp_unauthorized_calls_total{method}, and its identity (subject and SANs) is
// logged through `log`, at most 5 lines per 10 s.
//
// Thread safety: the processor is immutable after construction but for its rate-limited log and
// metrics, which are thread-safe; gRPC calls it from many threads.
#ifndef FLEETPDP_SERVER_CALLER_AUTHZ_H_
#define FLEETPDP_SERVER_CALLER_AUTHZ_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace grpc {
class AuthContext;
class AuthMetadataProcessor;
}  // namespace grpc

namespace fleetpdp::server {

class Metrics;

// One allow-list entry.
struct CallerMatcher {
  enum class Kind { kCommonName, kDns, kUri, kEmail, kIp };
  Kind kind = Kind::kCommonName;
  std::string pattern;  // lowercased for kDns

  // Whether `value` (a name of that kind) matches the pattern.
  bool Matches(std::string_view value) const;
  // The entry as written canonically: "CN=broker-*", "SAN:dns:broker.fleet.local".
  std::string ToString() const;
};

// Parses entries, each of which may be a comma-separated list. `flag` names the setting in errors:
//   --allow-callers: "XN=a": unknown matcher (expected CN=PATTERN or SAN:dns|uri|email|ip:PATTERN)
// An empty entry between commas is an error; so is an empty pattern.
absl::StatusOr<std::vector<CallerMatcher>> ParseCallerMatchers(
    std::string_view flag, const std::vector<std::string>& entries);

// The names a TLS peer presented, as gRPC 1.51 puts them in the AuthContext.
struct CallerIdentity {
  std::string subject;  // x509_subject, RFC 2253 order as gRPC renders it: "CN=a,OU=b,O=c"
  std::vector<std::string> common_names;
  std::vector<std::string> dns, uris, emails, ips;

  bool empty() const {
    return subject.empty() && common_names.empty() && dns.empty() && uris.empty() &&
           emails.empty() && ips.empty();
  }
  // For logs: subject "CN=a" SAN [dns:x, uri:y]; values escaped.
  std::string Describe() const;
};
CallerIdentity IdentityOf(const grpc::AuthContext& context);

// Whether any matcher matches any of the identity's names.
bool Admits(const std::vector<CallerMatcher>& matchers, const CallerIdentity& identity);

enum class Surface { kDecision, kAdmin, kHealth };
// Classifies an HTTP/2 :path ("/fleetpdp.v1.DecisionService/Check").
Surface SurfaceOf(std::string_view path);

struct CallerAuthzOptions {
  std::vector<std::string> decision_callers;  // --allow-callers entries; empty: open
  std::vector<std::string> admin_callers;     // --allow-admin-callers entries; empty: open
  // Where denied callers are reported (rate-limited); empty: not logged.
  std::function<void(std::string_view)> log;
};

// The processor to put on the server credentials (GrpcServerOptions::auth_processor). `metrics`
// may be null. Errors: InvalidArgument from ParseCallerMatchers, naming the flag.
absl::StatusOr<std::shared_ptr<grpc::AuthMetadataProcessor>> MakeCallerAuthz(
    const CallerAuthzOptions& options, Metrics* metrics);

// "2 entries for decisions (Check, BatchCheck, CheckStream); admin (GetBundleInfo, reflection):
// any mutual-TLS client; health: open" — for the startup log. Assumes the options parse.
std::string DescribeCallerAuthz(const CallerAuthzOptions& options);

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_CALLER_AUTHZ_H_
