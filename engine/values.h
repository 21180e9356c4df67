// Typed values for condition operators: numbers, booleans, IP networks, dates, semantic versions,
// and StringLike glob patterns.
//
// Each Parse function returns nullopt for text that is not a valid value of its type; callers turn
// that into a build error (policy text) or a condition that does not hold (request values).
//
//   auto net = ParseIpNetwork("10.0.0.0/8");
//   bool in = net && ParseIpAddress("10.1.2.3") && net->Contains(*ParseIpAddress("10.1.2.3"));
//
// Thread safety: pure functions and immutable value types.
#ifndef FLEETPDP_ENGINE_VALUES_H_
#define FLEETPDP_ENGINE_VALUES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace fleetpdp::engine {

// A finite decimal number ("42", "-1.5", "1e3"). No hex, no inf/nan, no surrounding spaces.
std::optional<double> ParseNumber(std::string_view text);

// "true" or "false", ASCII case-insensitive.
std::optional<bool> ParseBool(std::string_view text);

// An RFC 3339 timestamp with a zone ("2026-01-31T12:00:00Z", "2026-01-31T12:00:00.5+02:00").
std::optional<absl::Time> ParseDate(std::string_view text);

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are IPv4 addresses.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes.
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// A CIDR block ("10.0.0.0/8", "2001:db8::/32") or a single address (a /32 or /128 block). Host bits
// below the prefix must be zero ("10.0.0.1/8" is rejected: it is almost always a typo).
struct IpNetwork {
  IpAddress base;
  int prefix_length = 0;
  // An IPv4 network never contains an IPv6 address and vice versa.
  bool Contains(const IpAddress& address) const;
};
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);

// A semantic version (semver.org 2.0): MAJOR.MINOR.PATCH with optional -PRERELEASE and +BUILD; a
// leading "v" is accepted; MINOR and PATCH may be omitted ("2" == "2.0.0"). Build metadata is
// ignored by comparison.
struct Semver {
  uint64_t major = 0, minor = 0, patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers; empty for a release
};
std::optional<Semver> ParseSemver(std::string_view text);
// <0, 0, >0 by semver precedence (1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0).
int CompareSemver(const Semver& a, const Semver& b);

// A StringLike pattern: '*' matches any run of characters (including none), '?' exactly one
// character (a UTF-8 code point). Literal tokens never act as wildcards, so text substituted from a
// policy variable is inserted as a kLiteral token and cannot widen the pattern.
struct GlobToken {
  enum Kind : uint8_t { kLiteral, kStar, kQuestion };
  Kind kind = kLiteral;
  std::string_view text;  // kLiteral only
};
// Linear-time in practice; worst case O(|pattern| * |text|), never exponential.
bool GlobMatch(absl::Span<const GlobToken> pattern, std::string_view text);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_VALUES_H_
