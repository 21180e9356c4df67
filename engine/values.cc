// Parsers and comparisons for the typed condition values declared in values.h.
//
// Every parser is strict: it accepts exactly one spelling family per type and returns nullopt for
// anything else, so a typo in a policy fails the build instead of silently changing its meaning.
#include "engine/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "engine/absl_compat.h"

namespace fleetpdp::engine {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// A non-empty run of decimal digits without a leading zero ("0" itself is fine), at most `max`.
std::optional<uint64_t> ParseCanonicalUint(std::string_view text, uint64_t max) {
  if (!AllDigits(text)) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Dates

// Matches the RFC 3339 date-time grammar: "YYYY-MM-DD" "T" "hh:mm:ss" ["." 1*DIGIT]
// ("Z" / ("+" / "-") "hh:mm"), with "T" and "Z" in either case (RFC 3339 §5.6 NOTE). absl's parser
// is laxer (surrounding spaces, one-digit fields, five-digit years, "+0200"); this check keeps the
// accepted spelling to the RFC while absl validates field ranges.
bool HasRfc3339Shape(std::string_view text) {
  // 'D' is a digit; every other pattern character must appear literally.
  static constexpr std::string_view kDateTime = "DDDD-DD-DDTDD:DD:DD";
  if (text.size() < kDateTime.size()) return false;
  for (size_t i = 0; i < kDateTime.size(); ++i) {
    const char want = kDateTime[i];
    const char got = text[i];
    if (want == 'D') {
      if (!IsDigit(got)) return false;
    } else if (want == 'T') {
      if (got != 'T' && got != 't') return false;
    } else if (got != want) {
      return false;
    }
  }
  std::string_view rest = text.substr(kDateTime.size());
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    while (digits < rest.size() && IsDigit(rest[digits])) ++digits;
    if (digits == 1) return false;  // "." without a fraction
    rest.remove_prefix(digits);
  }
  if (rest == "Z" || rest == "z") return true;
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && IsDigit(rest[1]) &&
         IsDigit(rest[2]) && rest[3] == ':' && IsDigit(rest[4]) && IsDigit(rest[5]);
}

// ---------------------------------------------------------------------------------------------
// IP addresses

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// A dotted quad with four decimal octets of 0..255 and no leading zeros ("010.0.0.1" is octal to
// some parsers and decimal to others, so it is refused rather than guessed).
std::optional<IpAddress> ParseIpv4(std::string_view text) {
  IpAddress address;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const std::string_view octet = text.substr(0, dot);
    if (octet.size() > 3) return std::nullopt;
    std::optional<uint64_t> value = ParseCanonicalUint(octet, 255);
    if (!value) return std::nullopt;
    address.bytes[i] = static_cast<uint8_t>(*value);
    text = i < 3 ? text.substr(dot + 1) : std::string_view();
  }
  return address;
}

// The 16 bytes of an IPv6 address in text form, without mapping ::ffff:a.b.c.d to IPv4.
std::optional<std::array<uint8_t, 16>> ParseIpv6Bytes(std::string_view text) {
  // The longest valid form, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", has 45 characters.
  // A NUL would end the C string early and let trailing garbage through, so refuse it here.
  constexpr size_t kMaxLength = 45;
  if (text.empty() || text.size() > kMaxLength || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buffer[kMaxLength + 1];
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return bytes;
}

bool IsV4Mapped(const std::array<uint8_t, 16>& bytes) {
  for (size_t i = 0; i < kV4MappedPrefix.size(); ++i) {
    if (bytes[i] != kV4MappedPrefix[i]) return false;
  }
  return true;
}

IpAddress FromV6Bytes(const std::array<uint8_t, 16>& bytes) {
  IpAddress address;
  if (IsV4Mapped(bytes)) {
    for (size_t i = 0; i < 4; ++i) address.bytes[i] = bytes[12 + i];
  } else {
    address.v6 = true;
    address.bytes = bytes;
  }
  return address;
}

// True if the first `bits` bits of `a` and `b` are equal.
// REQUIRES: 0 <= bits <= 128.
bool PrefixEquals(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  const int whole_bytes = bits / 8;
  for (int i = 0; i < whole_bytes; ++i) {
    if (a[i] != b[i]) return false;
  }
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole_bytes] & mask) == (b[whole_bytes] & mask);
}

// True if every bit of `bytes` at index `bits` or later is zero.
// REQUIRES: 0 <= bits <= 128.
bool HostBitsAreZero(const std::array<uint8_t, 16>& bytes, int bits) {
  for (int bit = bits; bit < 128; ++bit) {
    if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Semantic versions

bool IsIdentifierChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// Splits dot-separated semver identifiers; each must be non-empty and [0-9A-Za-z-]. Numeric
// prerelease identifiers must not have leading zeros (semver.org §9); build identifiers may (§10).
std::optional<std::vector<std::string>> ParseIdentifiers(std::string_view text,
                                                         bool reject_leading_zeros) {
  std::vector<std::string> identifiers;
  while (true) {
    const size_t dot = text.find('.');
    const std::string_view identifier = text.substr(0, dot);
    if (identifier.empty()) return std::nullopt;
    for (char c : identifier) {
      if (!IsIdentifierChar(c)) return std::nullopt;
    }
    if (reject_leading_zeros && AllDigits(identifier) && identifier.size() > 1 &&
        identifier[0] == '0') {
      return std::nullopt;
    }
    identifiers.emplace_back(identifier);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return identifiers;
}

int Sign(int value) { return (value > 0) - (value < 0); }

template <typename T>
int ThreeWay(const T& a, const T& b) {
  return (a > b) - (a < b);
}

// semver.org §11.4: numeric identifiers compare numerically (by length first: none has a leading
// zero, and they may exceed 64 bits), alphanumeric ones in ASCII order, and numeric < alphanumeric.
int CompareIdentifiers(std::string_view a, std::string_view b) {
  const bool a_numeric = AllDigits(a);
  const bool b_numeric = AllDigits(b);
  if (a_numeric && b_numeric) {
    if (a.size() != b.size()) return ThreeWay(a.size(), b.size());
    return Sign(a.compare(b));
  }
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;
  return Sign(a.compare(b));
}

// ---------------------------------------------------------------------------------------------
// Globs

bool IsContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length in bytes of the character starting at `text[pos]`: a well-formed UTF-8 sequence (no
// overlong forms, surrogates or code points above U+10FFFF) counts as one character; any other
// byte counts as a character on its own.
// REQUIRES: pos < text.size().
size_t CharLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 1;
  }
  if (text.size() - pos < length) return 1;
  if (byte(1) < second_min || byte(1) > second_max) return 1;
  for (size_t i = 2; i < length; ++i) {
    if (!IsContinuationByte(byte(i))) return 1;
  }
  return length;
}

}  // namespace

std::optional<double> ParseNumber(std::string_view text) {
  // std::from_chars takes no leading '+' or whitespace and, in the general format, no "0x"; it
  // does take "inf" and "nan", which the finiteness check drops. Values that overflow or underflow
  // a double come back as result_out_of_range and are rejected rather than rounded to inf or 0.
  double value = 0;
  const char* const end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  const auto equals_ignoring_case = [text](std::string_view lowercase) {
    return std::equal(text.begin(), text.end(), lowercase.begin(), lowercase.end(),
                      [](char a, char b) { return absl::ascii_tolower(a) == b; });
  };
  if (equals_ignoring_case("true")) return true;
  if (equals_ignoring_case("false")) return false;
  return std::nullopt;
}

std::optional<absl::Time> ParseDate(std::string_view text) {
  if (!HasRfc3339Shape(text)) return std::nullopt;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, Absl(text), &time, &error)) return std::nullopt;
  return time;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return ParseIpv4(text);
  std::optional<std::array<uint8_t, 16>> bytes = ParseIpv6Bytes(text);
  if (!bytes) return std::nullopt;
  return FromV6Bytes(*bytes);
}

bool IpNetwork::Contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  // The fields are public, so a hand-built network may break what ParseIpNetwork guarantees; an
  // impossible prefix length matches nothing rather than reading past the address.
  if (prefix_length < 0 || prefix_length > (base.v6 ? 128 : 32)) return false;
  return PrefixEquals(base.bytes, address.bytes, prefix_length);
}

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const bool v6_text = address_text.find(':') != std::string_view::npos;
  const int max_length = v6_text ? 128 : 32;

  // Parse in the written family so the prefix length is checked against the written form; an
  // IPv4-mapped network is converted to IPv4 only afterwards.
  IpAddress written;
  if (v6_text) {
    std::optional<std::array<uint8_t, 16>> bytes = ParseIpv6Bytes(address_text);
    if (!bytes) return std::nullopt;
    written.v6 = true;
    written.bytes = *bytes;
  } else {
    std::optional<IpAddress> v4 = ParseIpv4(address_text);
    if (!v4) return std::nullopt;
    written = *v4;
  }

  int prefix_length = max_length;
  if (slash != std::string_view::npos) {
    std::optional<uint64_t> length = ParseCanonicalUint(text.substr(slash + 1), max_length);
    if (!length) return std::nullopt;
    prefix_length = static_cast<int>(*length);
  }
  if (!HostBitsAreZero(written.bytes, prefix_length)) return std::nullopt;

  IpNetwork network;
  network.base = v6_text ? FromV6Bytes(written.bytes) : written;
  network.prefix_length = prefix_length;
  if (v6_text && !network.base.v6) {
    // ::ffff:a.b.c.d/p. Its bits 80..95 are ones, so the host-bit check above already refused any
    // p < 96; what is left is an IPv4 block of length p - 96.
    network.prefix_length -= 96;
  }
  return network;
}

std::optional<Semver> ParseSemver(std::string_view text) {
  if (text.starts_with('v')) text.remove_prefix(1);

  std::string_view build;
  if (const size_t plus = text.find('+'); plus != std::string_view::npos) {
    build = text.substr(plus + 1);
    text = text.substr(0, plus);
    if (!ParseIdentifiers(build, /*reject_leading_zeros=*/false)) return std::nullopt;
  }

  Semver version;
  if (const size_t dash = text.find('-'); dash != std::string_view::npos) {
    std::optional<std::vector<std::string>> prerelease =
        ParseIdentifiers(text.substr(dash + 1), /*reject_leading_zeros=*/true);
    if (!prerelease) return std::nullopt;
    version.prerelease = *std::move(prerelease);
    text = text.substr(0, dash);
  }

  uint64_t* const parts[] = {&version.major, &version.minor, &version.patch};
  for (uint64_t* const part : parts) {
    const size_t dot = text.find('.');
    std::optional<uint64_t> value =
        ParseCanonicalUint(text.substr(0, dot), std::numeric_limits<uint64_t>::max());
    if (!value) return std::nullopt;
    *part = *value;
    if (dot == std::string_view::npos) return version;  // omitted MINOR/PATCH stay 0
    text.remove_prefix(dot + 1);
  }
  return std::nullopt;  // a fourth numeric part
}

int CompareSemver(const Semver& a, const Semver& b) {
  if (a.major != b.major) return ThreeWay(a.major, b.major);
  if (a.minor != b.minor) return ThreeWay(a.minor, b.minor);
  if (a.patch != b.patch) return ThreeWay(a.patch, b.patch);
  // A release has higher precedence than any of its prereleases (semver.org §11.3).
  if (a.prerelease.empty() || b.prerelease.empty()) {
    return ThreeWay(a.prerelease.empty(), b.prerelease.empty());
  }
  const size_t common = std::min(a.prerelease.size(), b.prerelease.size());
  for (size_t i = 0; i < common; ++i) {
    if (int c = CompareIdentifiers(a.prerelease[i], b.prerelease[i]); c != 0) return c;
  }
  return ThreeWay(a.prerelease.size(), b.prerelease.size());
}

bool GlobMatch(absl::Span<const GlobToken> pattern, std::string_view text) {
  // The classic two-pointer match with backtracking to the most recent star only. Between two
  // stars the tokens match a fixed number of characters, so the leftmost place they match is
  // always as good as any later one and earlier stars never need revisiting: each backtrack moves
  // the star's end one character right, bounding the work by O(|pattern| * |text|).
  //
  // Invariant: `t` and `star_t` are at character boundaries as CharLength sees them, as long as
  // literals are well-formed UTF-8. A malformed literal still starts only at a boundary but may end
  // inside a character, after which the rest of that character counts byte by byte.
  size_t p = 0;
  size_t t = 0;
  bool have_star = false;
  size_t star_p = 0;  // the token after the last star seen
  size_t star_t = 0;  // where the text matched by that star ends

  while (t < text.size()) {
    if (p < pattern.size()) {
      const GlobToken& token = pattern[p];
      if (token.kind == GlobToken::kStar) {
        have_star = true;
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (token.kind == GlobToken::kQuestion) {
        t += CharLength(text, t);
        ++p;
        continue;
      }
      if (text.substr(t).starts_with(token.text)) {
        t += token.text.size();
        ++p;
        continue;
      }
    }
    if (!have_star) return false;
    star_t += CharLength(text, star_t);
    t = star_t;
    p = star_p;
  }
  // The text is used up: what is left of the pattern must be able to match nothing.
  for (; p < pattern.size(); ++p) {
    const GlobToken& token = pattern[p];
    if (token.kind == GlobToken::kQuestion) return false;
    if (token.kind == GlobToken::kLiteral && !token.text.empty()) return false;
  }
  return true;
}

}  // namespace fleetpdp::engine
