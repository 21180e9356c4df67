#include "engine/values.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {

// Readable failure messages; found by ADL from the assertions below.
void PrintTo(const IpAddress& address, std::ostream* os) {
  *os << (address.v6 ? "v6{" : "v4{");
  const size_t size = address.v6 ? 16 : 4;
  for (size_t i = 0; i < size; ++i) *os << (i ? "," : "") << int{address.bytes[i]};
  *os << "}";
}

namespace {

using ::testing::IsEmpty;
using ::testing::Optional;

// Shows bytes that would garble a test log (NUL, invalid UTF-8) as escapes.
std::string Quoted(std::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(absl::string_view(text.data(), text.size())), "\"");
}

// Spells out strings with embedded NULs, which a string literal would cut short.
std::string WithNul(std::string_view before, std::string_view after) {
  std::string text(before);
  text.push_back('\0');
  text.append(after);
  return text;
}

// ---------------------------------------------------------------------------------------------
// ParseNumber

TEST(ParseNumberTest, AcceptsDecimalIntegersFractionsAndExponents) {
  const struct {
    std::string_view text;
    double want;
  } kCases[] = {
      {"42", 42},    {"-1.5", -1.5}, {"0", 0},           {"-0", 0},          {"0.25", 0.25},
      {"1e3", 1000}, {"1E3", 1000},  {"2.5e-3", 0.0025}, {"1e+2", 100},      {"1.", 1},
      {".5", 0.5},   {"007", 7},     {"1e308", 1e308},   {"-1e308", -1e308}, {"5e-324", 5e-324},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    EXPECT_THAT(ParseNumber(c.text), Optional(c.want));
  }
}

TEST(ParseNumberTest, RejectsEmptySpacedHexNonFiniteAndTrailingGarbage) {
  const std::string kCases[] = {
      "",
      " ",
      " 1",
      "1 ",
      "\t1",
      "1\n",
      "0x10",
      "0X10",
      "0x1p3",
      "inf",
      "-inf",
      "INF",
      "infinity",
      "nan",
      "NaN",
      "-nan",
      "1e",
      "1e+",
      "1.2.3",
      "12abc",
      "1,5",
      "1_000",
      "--1",
      "+1",
      "-",
      ".",
      "e3",
      "one",
      "١",
      WithNul("1", ""),
      WithNul("1", "2"),
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_EQ(ParseNumber(text), std::nullopt);
  }
}

TEST(ParseNumberTest, RejectsValuesThatOverflowOrUnderflowADouble) {
  EXPECT_EQ(ParseNumber("1e400"), std::nullopt);
  EXPECT_EQ(ParseNumber("-1e400"), std::nullopt);
  EXPECT_EQ(ParseNumber("1e-400"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// ParseBool

TEST(ParseBoolTest, AcceptsTrueAndFalseInAnyAsciiCase) {
  for (std::string_view text : {"true", "TRUE", "True", "tRuE"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseBool(text), Optional(true));
  }
  for (std::string_view text : {"false", "FALSE", "False", "fAlSe"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseBool(text), Optional(false));
  }
}

TEST(ParseBoolTest, RejectsEverySpellingOtherThanTrueOrFalse) {
  const std::string kCases[] = {
      "",      "1",    "0",        "yes",   "no",
      "t",     "f",    "on",       " true", "true ",
      "truee", "fals", "\"true\"", "ｔrue", WithNul("true", ""),
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_EQ(ParseBool(text), std::nullopt);
  }
}

// ---------------------------------------------------------------------------------------------
// ParseDate

absl::Time Utc(int year, int month, int day, int hour, int minute, int second) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

TEST(ParseDateTest, AcceptsRfc3339TimestampsWithAZone) {
  const struct {
    std::string_view text;
    absl::Time want;
  } kCases[] = {
      {"2026-01-31T12:00:00Z", Utc(2026, 1, 31, 12, 0, 0)},
      {"2026-01-31t12:00:00z", Utc(2026, 1, 31, 12, 0, 0)},
      {"2026-01-31T12:00:00+00:00", Utc(2026, 1, 31, 12, 0, 0)},
      {"2026-01-31T12:00:00-00:00", Utc(2026, 1, 31, 12, 0, 0)},
      {"2026-01-31T12:00:00+02:00", Utc(2026, 1, 31, 10, 0, 0)},
      {"2026-01-31T12:00:00-05:30", Utc(2026, 1, 31, 17, 30, 0)},
      {"2026-01-31T12:00:00.5+02:00", Utc(2026, 1, 31, 10, 0, 0) + absl::Milliseconds(500)},
      {"2026-01-31T12:00:00.000001Z", Utc(2026, 1, 31, 12, 0, 0) + absl::Microseconds(1)},
      {"2024-02-29T00:00:00Z", Utc(2024, 2, 29, 0, 0, 0)},
      {"1970-01-01T00:00:00Z", absl::UnixEpoch()},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    EXPECT_THAT(ParseDate(c.text), Optional(c.want));
  }
}

TEST(ParseDateTest, RejectsTimestampsWithoutAZone) {
  for (std::string_view text :
       {"2026-01-31T12:00:00", "2026-01-31T12:00:00.5", "2026-01-31", "2026-01-31T12:00"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseDate(text), std::nullopt);
  }
}

TEST(ParseDateTest, RejectsGarbageAndSpellingsOutsideRfc3339) {
  const std::string kCases[] = {
      "",
      "now",
      "1769860800",
      " 2026-01-31T12:00:00Z",
      "2026-01-31T12:00:00Z ",
      "2026-01-31 12:00:00Z",
      "2026-1-31T12:00:00Z",
      "2026-01-31T2:00:00Z",
      "12026-01-31T12:00:00Z",
      "+2026-01-31T12:00:00Z",
      "26-01-31T12:00:00Z",
      "2026-01-31T12:00:00+0200",
      "2026-01-31T12:00:00+02",
      "2026-01-31T12:00:00+02:60",
      "2026-01-31T12:00:00+24:00",
      "2026-01-31T12:00:00.Z",
      "2026-01-31T12:00:00,5Z",
      "2026-01-31T12:00:00ZZ",
      "2026-01-31T12:00:00UTC",
      "2026-02-30T12:00:00Z",
      "2025-02-29T12:00:00Z",
      "2026-13-01T12:00:00Z",
      "2026-00-01T12:00:00Z",
      "2026-01-00T12:00:00Z",
      "2026-01-31T24:00:00Z",
      "2026-01-31T12:60:00Z",
      WithNul("2026-01-31T12:00:00Z", ""),
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_EQ(ParseDate(text), std::nullopt);
  }
}

// ---------------------------------------------------------------------------------------------
// ParseIpAddress

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.bytes = {a, b, c, d};
  return address;
}

IpAddress V6(std::array<uint8_t, 16> bytes) {
  IpAddress address;
  address.v6 = true;
  address.bytes = bytes;
  return address;
}

TEST(ParseIpAddressTest, ParsesDottedQuadIpv4) {
  EXPECT_THAT(ParseIpAddress("10.1.2.3"), Optional(V4(10, 1, 2, 3)));
  EXPECT_THAT(ParseIpAddress("0.0.0.0"), Optional(V4(0, 0, 0, 0)));
  EXPECT_THAT(ParseIpAddress("255.255.255.255"), Optional(V4(255, 255, 255, 255)));
  EXPECT_THAT(ParseIpAddress("192.168.100.0"), Optional(V4(192, 168, 100, 0)));
}

TEST(ParseIpAddressTest, RejectsMalformedIpv4) {
  const std::string kCases[] = {
      "",           "010.0.0.1",    "10.0.0.01", "10.00.0.1", "256.0.0.1", "1.2.3.256",
      "1000.0.0.1", "1.2.3",        "1.2.3.4.5", "1.2.3.",    ".1.2.3",    "1..2.3",
      " 1.2.3.4",   "1.2.3.4 ",     "+1.2.3.4",  "1.2.3.-4",  "0x1.2.3.4", "1.2.3.4/32",
      "a.b.c.d",    "1.2.3.4%eth0", "1",         "16909060",  "1.2.3.4.",  WithNul("1.2.3.4", ""),
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_EQ(ParseIpAddress(text), std::nullopt);
  }
}

TEST(ParseIpAddressTest, ParsesIpv6InAllItsTextForms) {
  const IpAddress doc = V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_THAT(ParseIpAddress("2001:db8::1"), Optional(doc));
  EXPECT_THAT(ParseIpAddress("2001:DB8::1"), Optional(doc));
  EXPECT_THAT(ParseIpAddress("2001:0db8:0000:0000:0000:0000:0000:0001"), Optional(doc));
  EXPECT_THAT(ParseIpAddress("::"), Optional(V6({})));
  EXPECT_THAT(ParseIpAddress("::1"),
              Optional(V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})));
}

TEST(ParseIpAddressTest, TurnsIpv4MappedIpv6IntoIpv4) {
  EXPECT_THAT(ParseIpAddress("::ffff:10.0.0.1"), Optional(V4(10, 0, 0, 1)));
  EXPECT_THAT(ParseIpAddress("::FFFF:10.0.0.1"), Optional(V4(10, 0, 0, 1)));
  EXPECT_THAT(ParseIpAddress("::ffff:a00:1"), Optional(V4(10, 0, 0, 1)));
  EXPECT_THAT(ParseIpAddress("0:0:0:0:0:ffff:ffff:ffff"), Optional(V4(255, 255, 255, 255)));
}

TEST(ParseIpAddressTest, KeepsOtherEmbeddedIpv4FormsAsIpv6) {
  // Only ::ffff:0:0/96 means "an IPv4 host"; the deprecated compatible form and NAT64 do not.
  EXPECT_THAT(ParseIpAddress("::10.0.0.1"),
              Optional(V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1})));
  EXPECT_THAT(ParseIpAddress("64:ff9b::10.0.0.1"),
              Optional(V6({0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1})));
  EXPECT_THAT(ParseIpAddress("::fffe:10.0.0.1"),
              Optional(V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 10, 0, 0, 1})));
}

TEST(ParseIpAddressTest, RejectsZoneIdsBracketsAndMalformedIpv6) {
  const std::string kCases[] = {
      "fe80::1%eth0",
      "fe80::1%1",
      "[::1]",
      "[::1]:1883",
      "::1/128",
      "1::2::3",
      ":::",
      ":",
      "12345::",
      "::g",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "::ffff:010.0.0.1",
      "::ffff:256.0.0.1",
      "::ffff:1.2.3",
      " ::1",
      "::1 ",
      WithNul("::1", ""),
      WithNul("::1", "junk"),
      std::string(64, ':'),
      "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_EQ(ParseIpAddress(text), std::nullopt);
  }
}

// ---------------------------------------------------------------------------------------------
// ParseIpNetwork and IpNetwork::Contains

IpAddress Ip(std::string_view text) {
  std::optional<IpAddress> address = ParseIpAddress(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

TEST(ParseIpNetworkTest, ParsesIpv4AndIpv6Blocks) {
  std::optional<IpNetwork> v4 = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->base, V4(10, 0, 0, 0));
  EXPECT_EQ(v4->prefix_length, 8);

  std::optional<IpNetwork> v6 = ParseIpNetwork("2001:db8::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->base, Ip("2001:db8::"));
  EXPECT_TRUE(v6->base.v6);
  EXPECT_EQ(v6->prefix_length, 32);
}

TEST(ParseIpNetworkTest, TreatsABareAddressAsAFullLengthBlock) {
  std::optional<IpNetwork> v4 = ParseIpNetwork("10.1.2.3");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->base, V4(10, 1, 2, 3));
  EXPECT_EQ(v4->prefix_length, 32);

  std::optional<IpNetwork> v6 = ParseIpNetwork("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->base, Ip("2001:db8::1"));
  EXPECT_EQ(v6->prefix_length, 128);
}

TEST(ParseIpNetworkTest, AcceptsEveryPrefixLengthFromZeroToTheFamilyWidth) {
  EXPECT_TRUE(ParseIpNetwork("0.0.0.0/0").has_value());
  EXPECT_TRUE(ParseIpNetwork("128.0.0.0/1").has_value());
  EXPECT_TRUE(ParseIpNetwork("10.1.2.3/32").has_value());
  EXPECT_TRUE(ParseIpNetwork("::/0").has_value());
  EXPECT_TRUE(ParseIpNetwork("8000::/1").has_value());
  EXPECT_TRUE(ParseIpNetwork("2001:db8::1/128").has_value());
}

TEST(ParseIpNetworkTest, RejectsHostBitsBelowThePrefix) {
  const std::string_view kCases[] = {
      "10.0.0.1/8",    "10.128.0.0/8", "192.168.1.1/24", "192.168.1.32/26",
      "0.0.0.1/0",     "128.0.0.0/0",  "10.1.2.3/31",    "2001:db8::1/64",
      "2001:db9::/31", "::1/127",      "8000::/0",       "::ffff:10.0.0.1/104",
  };
  for (std::string_view text : kCases) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseIpNetwork(text).has_value());
  }
}

TEST(ParseIpNetworkTest, RejectsPrefixLengthsOutOfRangeOrMisspelled) {
  const std::string kCases[] = {
      "10.0.0.0/33",
      "10.0.0.0/-1",
      "10.0.0.0/+8",
      "10.0.0.0/08",
      "10.0.0.0/",
      "10.0.0.0/8/8",
      "10.0.0.0/ 8",
      "10.0.0.0/8 ",
      "10.0.0.0/8a",
      "10.0.0.0/0x8",
      "10.0.0.0/255.0.0.0",
      "10.0.0.0/99999999999999999999",
      "::/129",
      "::/000",
      "/8",
      "/",
      "",
      "10.0.0/8",
      "010.0.0.0/8",
      "[::]/0",
      "fe80::%eth0/64",
      WithNul("10.0.0.0/8", ""),
  };
  for (const std::string& text : kCases) {
    SCOPED_TRACE(Quoted(text));
    EXPECT_FALSE(ParseIpNetwork(text).has_value());
  }
}

TEST(ParseIpNetworkTest, TurnsIpv4MappedBlocksIntoIpv4Blocks) {
  std::optional<IpNetwork> net = ParseIpNetwork("::ffff:10.0.0.0/104");
  ASSERT_TRUE(net.has_value());
  EXPECT_EQ(net->base, V4(10, 0, 0, 0));
  EXPECT_EQ(net->prefix_length, 8);
  EXPECT_TRUE(net->Contains(Ip("10.255.0.1")));
  EXPECT_FALSE(net->Contains(Ip("11.0.0.0")));

  std::optional<IpNetwork> all_mapped = ParseIpNetwork("::ffff:0.0.0.0/96");
  ASSERT_TRUE(all_mapped.has_value());
  EXPECT_EQ(all_mapped->prefix_length, 0);
  EXPECT_TRUE(all_mapped->Contains(Ip("203.0.113.9")));

  std::optional<IpNetwork> host = ParseIpNetwork("::ffff:10.0.0.1");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->prefix_length, 32);

  // Shorter prefixes would also cover IPv6 addresses that are not IPv4; the set bits 80..95 make
  // them fail the host-bit rule.
  EXPECT_FALSE(ParseIpNetwork("::ffff:0.0.0.0/95").has_value());
  EXPECT_FALSE(ParseIpNetwork("::ffff:0.0.0.0/80").has_value());
}

TEST(IpNetworkTest, ContainsFirstAndLastAddressButNotTheNeighboursOutside) {
  const struct {
    std::string_view network, first, last, before, after;
  } kCases[] = {
      {"10.0.0.0/8", "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
      {"192.168.1.128/25", "192.168.1.128", "192.168.1.255", "192.168.1.127", "192.168.2.0"},
      {"172.16.0.0/12", "172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
      {"10.1.2.2/31", "10.1.2.2", "10.1.2.3", "10.1.2.1", "10.1.2.4"},
      {"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
       "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"},
      {"fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
       "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::"},
      {"2001:db8::/127", "2001:db8::", "2001:db8::1", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
       "2001:db8::2"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.network);
    std::optional<IpNetwork> net = ParseIpNetwork(c.network);
    ASSERT_TRUE(net.has_value());
    EXPECT_TRUE(net->Contains(Ip(c.first))) << c.first;
    EXPECT_TRUE(net->Contains(Ip(c.last))) << c.last;
    EXPECT_FALSE(net->Contains(Ip(c.before))) << c.before;
    EXPECT_FALSE(net->Contains(Ip(c.after))) << c.after;
  }
}

TEST(IpNetworkTest, SlashZeroContainsEveryAddressOfItsOwnFamilyOnly) {
  std::optional<IpNetwork> v4_all = ParseIpNetwork("0.0.0.0/0");
  ASSERT_TRUE(v4_all.has_value());
  EXPECT_TRUE(v4_all->Contains(Ip("0.0.0.0")));
  EXPECT_TRUE(v4_all->Contains(Ip("255.255.255.255")));
  EXPECT_TRUE(v4_all->Contains(Ip("::ffff:1.2.3.4")));
  EXPECT_FALSE(v4_all->Contains(Ip("::")));
  EXPECT_FALSE(v4_all->Contains(Ip("::1.2.3.4")));

  std::optional<IpNetwork> v6_all = ParseIpNetwork("::/0");
  ASSERT_TRUE(v6_all.has_value());
  EXPECT_TRUE(v6_all->Contains(Ip("::")));
  EXPECT_TRUE(v6_all->Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6_all->Contains(Ip("0.0.0.0")));
  EXPECT_FALSE(v6_all->Contains(Ip("::ffff:1.2.3.4")));
}

TEST(IpNetworkTest, FullLengthPrefixContainsOnlyItsOwnAddress) {
  std::optional<IpNetwork> v4 = ParseIpNetwork("10.1.2.3/32");
  ASSERT_TRUE(v4.has_value());
  EXPECT_TRUE(v4->Contains(Ip("10.1.2.3")));
  EXPECT_FALSE(v4->Contains(Ip("10.1.2.2")));
  EXPECT_FALSE(v4->Contains(Ip("10.1.2.4")));

  std::optional<IpNetwork> v6 = ParseIpNetwork("2001:db8::1/128");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(v6->Contains(Ip("2001:db8::")));
  EXPECT_FALSE(v6->Contains(Ip("2001:db8::2")));
}

TEST(IpNetworkTest, NeverMatchesAnAddressOfTheOtherFamilyWithTheSameBytes) {
  // "::a00:1" carries 10.0.0.1's bytes at the end, and 10.0.0.0/8's base bytes 4..15 are zero
  // just like most of "::"; neither may leak across families.
  std::optional<IpNetwork> v4 = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(v4.has_value());
  EXPECT_FALSE(v4->Contains(Ip("::a00:1")));
  EXPECT_FALSE(v4->Contains(Ip("a00::")));

  std::optional<IpNetwork> v6 = ParseIpNetwork("a00::/8");
  ASSERT_TRUE(v6.has_value());
  EXPECT_FALSE(v6->Contains(Ip("10.0.0.1")));
}

TEST(IpNetworkTest, HandBuiltNetworkWithAnImpossiblePrefixLengthContainsNothing) {
  IpNetwork v4{V4(10, 0, 0, 0), 33};
  EXPECT_FALSE(v4.Contains(V4(10, 0, 0, 0)));
  v4.prefix_length = -1;
  EXPECT_FALSE(v4.Contains(V4(10, 0, 0, 0)));

  IpNetwork v6{Ip("::"), 129};
  EXPECT_FALSE(v6.Contains(Ip("::")));
}

// ---------------------------------------------------------------------------------------------
// ParseSemver and CompareSemver

TEST(ParseSemverTest, ParsesCoreVersionsWithAnOptionalVAndOmittedParts) {
  const struct {
    std::string_view text;
    uint64_t major, minor, patch;
  } kCases[] = {
      {"1.2.3", 1, 2, 3},
      {"v1.2.3", 1, 2, 3},
      {"0.0.0", 0, 0, 0},
      {"2", 2, 0, 0},
      {"v2", 2, 0, 0},
      {"2.1", 2, 1, 0},
      {"10.20.30", 10, 20, 30},
      {"18446744073709551615.18446744073709551615.18446744073709551615", UINT64_MAX, UINT64_MAX,
       UINT64_MAX},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    std::optional<Semver> v = ParseSemver(c.text);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->major, c.major);
    EXPECT_EQ(v->minor, c.minor);
    EXPECT_EQ(v->patch, c.patch);
    EXPECT_THAT(v->prerelease, IsEmpty());
  }
}

TEST(ParseSemverTest, SplitsPrereleaseIdentifiersAndDropsBuildMetadata) {
  const struct {
    std::string_view text;
    std::vector<std::string> prerelease;
  } kCases[] = {
      {"1.0.0-alpha", {"alpha"}},
      {"1.0.0-alpha.1", {"alpha", "1"}},
      {"1.0.0-0.3.7", {"0", "3", "7"}},
      {"1.0.0-x.7.z.92", {"x", "7", "z", "92"}},
      {"1.0.0-x-y-z.--", {"x-y-z", "--"}},
      {"1.0.0-0A.is.legal", {"0A", "is", "legal"}},
      {"1.0.0-alpha+001", {"alpha"}},
      {"1.0.0+20130313144700", {}},
      {"1.0.0-beta+exp.sha.5114f85", {"beta"}},
      {"1.0.0+21AF26D3----117B344092BD", {}},
      {"v2-rc.1", {"rc", "1"}},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    std::optional<Semver> v = ParseSemver(c.text);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->prerelease, c.prerelease);
  }
}

TEST(ParseSemverTest, RejectsMalformedVersions) {
  const std::string_view kCases[] = {
      "",           "v",        "V1.2.3",         "vv1.2.3",       " 1.2.3",         "1.2.3 ",
      "01.2.3",     "1.02.3",   "1.2.03",         "00.0.0",        "1.2.3.4",        "1.2.",
      "1.",         "1..3",     ".1.2",           "-1.2.3",        "+1.2.3",         "1.-2.3",
      "a.b.c",      "1.2.3-",   "1.2.3+",         "1.2.3-+b",      "1.2.3-alpha..1", "1.2.3-alpha.",
      "1.2.3-.a",   "1.2.3-01", "1.2.3-alpha.01", "1.2.3-alpha_1", "1.2.3-é",        "1.2.3+b+c",
      "1.2.3+b..c", "1.2.3+b.", "1.2.3-a b",      "1.2.3 -a",      "1_2_3",          "v.1.2.3",
  };
  for (std::string_view text : kCases) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseSemver(text).has_value());
  }
}

TEST(ParseSemverTest, RejectsNumericPartsThatOverflowSixtyFourBits) {
  EXPECT_FALSE(ParseSemver("18446744073709551616.0.0").has_value());
  EXPECT_FALSE(ParseSemver("1.18446744073709551616").has_value());
  EXPECT_FALSE(ParseSemver("1.2.99999999999999999999").has_value());
}

Semver V(std::string_view text) {
  std::optional<Semver> v = ParseSemver(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(Semver{});
}

// Checks that `ordered` is strictly increasing, comparing every pair both ways.
void ExpectStrictlyIncreasing(const std::vector<std::string_view>& ordered) {
  for (size_t i = 0; i < ordered.size(); ++i) {
    EXPECT_EQ(CompareSemver(V(ordered[i]), V(ordered[i])), 0) << ordered[i];
    for (size_t j = i + 1; j < ordered.size(); ++j) {
      EXPECT_LT(CompareSemver(V(ordered[i]), V(ordered[j])), 0)
          << ordered[i] << " < " << ordered[j];
      EXPECT_GT(CompareSemver(V(ordered[j]), V(ordered[i])), 0)
          << ordered[j] << " > " << ordered[i];
    }
  }
}

TEST(CompareSemverTest, FollowsTheSemverOrgPrecedenceExamples) {
  // semver.org 2.0.0 §11.
  ExpectStrictlyIncreasing({"1.0.0", "2.0.0", "2.1.0", "2.1.1"});
  ExpectStrictlyIncreasing({"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                            "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"});
}

TEST(CompareSemverTest, ComparesCorePartsNumericallyNotLexically) {
  ExpectStrictlyIncreasing({"1.9.0", "1.10.0", "2.0.0", "10.0.0", "18446744073709551615.0.0"});
  ExpectStrictlyIncreasing({"1.0.9", "1.0.10", "1.1.0"});
}

TEST(CompareSemverTest, ComparesNumericIdentifiersNumericallyAtAnySize) {
  ExpectStrictlyIncreasing({"1.0.0-2", "1.0.0-10", "1.0.0-18446744073709551615",
                            "1.0.0-18446744073709551616", "1.0.0-99999999999999999999999"});
}

TEST(CompareSemverTest, RanksNumericIdentifiersBelowAlphanumericOnes) {
  ExpectStrictlyIncreasing({"1.0.0-999", "1.0.0-0a", "1.0.0-a"});
  ExpectStrictlyIncreasing({"1.0.0-rc.99", "1.0.0-rc.a"});
}

TEST(CompareSemverTest, ComparesAlphanumericIdentifiersInAsciiOrder) {
  // '-' < digits < uppercase < lowercase in ASCII.
  ExpectStrictlyIncreasing({"1.0.0--", "1.0.0-1a", "1.0.0-Beta", "1.0.0-alpha", "1.0.0-alpha-1",
                            "1.0.0-alphaa", "1.0.0-beta"});
}

TEST(CompareSemverTest, LongerPrereleaseWinsWhenEarlierIdentifiersAreEqual) {
  ExpectStrictlyIncreasing({"1.0.0-a", "1.0.0-a.0", "1.0.0-a.0.0", "1.0.0-a.1"});
}

TEST(CompareSemverTest, RanksAReleaseAboveItsPrereleasesButBelowTheNextPatch) {
  ExpectStrictlyIncreasing({"1.0.0-0", "1.0.0-zzz.999", "1.0.0", "1.0.1-0", "1.0.1"});
}

TEST(CompareSemverTest, IgnoresBuildMetadataAndTheLeadingV) {
  EXPECT_EQ(CompareSemver(V("1.0.0+a"), V("1.0.0+b")), 0);
  EXPECT_EQ(CompareSemver(V("1.0.0+a"), V("1.0.0")), 0);
  EXPECT_EQ(CompareSemver(V("1.0.0-rc.1+build.1"), V("1.0.0-rc.1+build.2")), 0);
  EXPECT_EQ(CompareSemver(V("v1.2.3"), V("1.2.3")), 0);
}

TEST(CompareSemverTest, TreatsOmittedMinorAndPatchAsZero) {
  EXPECT_EQ(CompareSemver(V("2"), V("2.0.0")), 0);
  EXPECT_EQ(CompareSemver(V("2.1"), V("2.1.0")), 0);
  EXPECT_EQ(CompareSemver(V("2-rc.1"), V("2.0.0-rc.1")), 0);
  ExpectStrictlyIncreasing({"1.99.99", "2", "2.0.1", "2.1"});
}

// ---------------------------------------------------------------------------------------------
// GlobMatch

GlobToken Lit(std::string_view text) { return GlobToken{GlobToken::kLiteral, text}; }
GlobToken Star() { return GlobToken{GlobToken::kStar, {}}; }
GlobToken Question() { return GlobToken{GlobToken::kQuestion, {}}; }

// Tokenizes a pattern as the policy parser would: '*' and '?' are wildcards, every other run of
// bytes is one literal. The tokens point into `pattern`, which must outlive them.
std::vector<GlobToken> Glob(std::string_view pattern) {
  std::vector<GlobToken> tokens;
  size_t literal_start = 0;
  for (size_t i = 0; i <= pattern.size(); ++i) {
    const bool wildcard = i < pattern.size() && (pattern[i] == '*' || pattern[i] == '?');
    if (i == pattern.size() || wildcard) {
      if (i > literal_start)
        tokens.push_back(Lit(pattern.substr(literal_start, i - literal_start)));
      if (wildcard) tokens.push_back(pattern[i] == '*' ? Star() : Question());
      literal_start = i + 1;
    }
  }
  return tokens;
}

struct GlobCase {
  std::string_view pattern;
  std::string_view text;
  bool want;
};

void ExpectGlobCases(absl::Span<const GlobCase> cases) {
  for (const GlobCase& c : cases) {
    EXPECT_EQ(GlobMatch(Glob(c.pattern), c.text), c.want)
        << "pattern " << Quoted(c.pattern) << " text " << Quoted(c.text);
  }
}

TEST(GlobMatchTest, MatchesStarsQuestionMarksAndLiterals) {
  ExpectGlobCases({{
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"*", "anything at all", true},
      {"**", "", true},
      {"?", "", false},
      {"?", "a", true},
      {"?", "ab", false},
      {"cam-1", "cam-1", true},
      {"cam-1", "cam-10", false},
      {"cam-1", "cam-", false},
      {"cam-*", "cam-", true},
      {"cam-*", "cam-17", true},
      {"cam-*", "cab-17", false},
      {"*-17", "cam-17", true},
      {"*-17", "cam-170", false},
      {"a*b", "ab", true},
      {"a*b", "axxb", true},
      {"a*b", "axxbc", false},
      {"a*b", "abab", true},
      {"a*a", "a", false},
      {"a*a", "aa", true},
      {"*b", "bbb", true},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"a?c", "abbc", false},
      {"*?*", "", false},
      {"*?*", "x", true},
      {"??*", "x", false},
      {"??*", "xy", true},
      {"a*b*c", "abbbc", true},
      {"a*b*c", "acb", false},
      {"*ab*ab*", "xabyab", true},
      {"*ab*ab*", "xaby", false},
      {"*.jpg", "photo.jpg", true},
      {"*.jpg", "photo.jpg.exe", false},
      {"*.jpg*", "photo.jpg.exe", true},
      {"mississippi", "mississippi", true},
      {"*sip*", "mississippi", true},
      {"*iss*ip*", "mississippi", true},
      {"*issip", "mississippi", false},
      {"m*i*s*p*i", "mississippi", true},
  }});
}

TEST(GlobMatchTest, ComparesLiteralsCaseSensitively) {
  ExpectGlobCases({{
      {"cam-*", "CAM-1", false},
      {"Cam", "cam", false},
      {"*X", "abx", false},
      {"*X", "abX", true},
  }});
}

TEST(GlobMatchTest, QuestionMarkMatchesOneUtf8CodePoint) {
  ExpectGlobCases({{
      {"?", "é", true},  // 2 bytes
      {"?", "€", true},  // 3 bytes
      {"?", "😀", true},  // 4 bytes
      {"??", "é", false},
      {"??", "😀", false},
      {"??", "é€", true},
      {"???", "aé😀", true},
      {"a?b", "aéb", true},
      {"a??b", "aéb", false},
      {"caf?", "café", true},
      {"caf?", "cafe\xcc\x81", false},  // 'e' + combining acute is two code points
      {"caf??", "cafe\xcc\x81", true},
      {"?é?", "aéb", true},
  }});
}

TEST(GlobMatchTest, StarNeverStopsInsideAMultiByteCharacter) {
  // Were the star to advance by bytes, "??" after it could match the trailing bytes of a character.
  ExpectGlobCases({{
      {"*??", "€", false},
      {"*??b*", "€bz", false},  // a byte-stepping star would match "\x82\xac" + "b"
      {"*??b*", "😀bz", false},
      {"*??b*", "a€bz", true},
      {"*???", "😀", false},
      {"*?", "€", true},
      {"*?", "x€", true},
      {"*??", "x€", true},
      {"*€", "a€", true},
      {"*€*", "aé€😀", true},
      {"*😀?", "😀€", true},
      {"*?😀", "€😀", true},
      {"*?😀", "😀", false},
  }});
}

TEST(GlobMatchTest, CountsEachInvalidUtf8ByteAsOneCharacter) {
  ExpectGlobCases({{
      {"?", "\xff", true},
      {"?", "\xff\xfe", false},
      {"??", "\xff\xfe", true},
      {"?", "\x80", true},       // stray continuation byte
      {"??", "\xe2\x82", true},  // truncated 3-byte sequence
      {"?", "\xe2\x82", false},
      {"??", "\xc0\xaf", true},            // overlong '/'
      {"???", "\xed\xa0\x80", true},       // UTF-16 surrogate
      {"????", "\xf4\x90\x80\x80", true},  // above U+10FFFF
      {"??",
       "\xe2\x82"
       "a",
       false},  // 'a' ends the truncated sequence early
      {"???",
       "\xe2\x82"
       "a",
       true},
      {"a*b",
       "a\xff\xfe"
       "b",
       true},
      {"*?", "\xff", true},
  }});
}

TEST(GlobMatchTest, MatchesWildcardCharactersInsideLiteralTokensLiterally) {
  // A literal token that came from a policy variable holding "*" or "?" must not widen the match.
  const GlobToken star_literal[] = {Lit("cam-"), Lit("*")};
  EXPECT_TRUE(GlobMatch(star_literal, "cam-*"));
  EXPECT_FALSE(GlobMatch(star_literal, "cam-1"));
  EXPECT_FALSE(GlobMatch(star_literal, "cam-"));

  const GlobToken question_literal[] = {Lit("a?c")};
  EXPECT_TRUE(GlobMatch(question_literal, "a?c"));
  EXPECT_FALSE(GlobMatch(question_literal, "abc"));

  const GlobToken mixed[] = {Star(), Lit("*?"), Question()};
  EXPECT_TRUE(GlobMatch(mixed, "x*?y"));
  EXPECT_TRUE(GlobMatch(mixed, "*?*?é"));
  EXPECT_FALSE(GlobMatch(mixed, "xy?z"));
  EXPECT_FALSE(GlobMatch(mixed, "x*?"));
}

TEST(GlobMatchTest, TreatsEmptyLiteralTokensAsMatchingNothing) {
  // A variable that resolved to "" becomes an empty literal.
  const GlobToken only_empty[] = {Lit("")};
  EXPECT_TRUE(GlobMatch(only_empty, ""));
  EXPECT_FALSE(GlobMatch(only_empty, "a"));

  const GlobToken around_star[] = {Lit(""), Star(), Lit("")};
  EXPECT_TRUE(GlobMatch(around_star, ""));
  EXPECT_TRUE(GlobMatch(around_star, "abc"));

  const GlobToken between[] = {Lit("a"), Lit(""), Lit("b")};
  EXPECT_TRUE(GlobMatch(between, "ab"));
  EXPECT_FALSE(GlobMatch(between, "a"));
}

TEST(GlobMatchTest, FinishesQuicklyOnPathologicalPatterns) {
  // 30 "*a" pairs against 10,000 'a's: a backtracking matcher that revisits earlier stars takes
  // time exponential in the number of stars here.
  std::vector<GlobToken> pattern;
  for (int i = 0; i < 30; ++i) {
    pattern.push_back(Star());
    pattern.push_back(Lit("a"));
  }
  const std::string as(10'000, 'a');
  const std::string as_then_b = as + "b";

  const absl::Time start = absl::Now();
  EXPECT_FALSE(GlobMatch(pattern, as_then_b));
  EXPECT_TRUE(GlobMatch(pattern, as));
  pattern.push_back(Star());
  pattern.push_back(Lit("b"));
  EXPECT_TRUE(GlobMatch(pattern, as_then_b));
  pattern.back() = Lit("c");
  EXPECT_FALSE(GlobMatch(pattern, as_then_b));
  pattern.back() = Question();
  pattern.push_back(Lit("ba"));
  EXPECT_FALSE(GlobMatch(pattern, as_then_b));
  // Generous: the matches above take well under a millisecond even under sanitizers.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

// A direct transcription of the definition, exponential-free thanks to memoization, for texts
// built from whole characters of a small alphabet.
class ReferenceGlob {
 public:
  ReferenceGlob(absl::Span<const GlobToken> pattern, const std::vector<std::string>& chars)
      : pattern_(pattern), offsets_{0} {
    for (const std::string& c : chars) {
      text_ += c;
      offsets_.push_back(text_.size());
    }
    memo_.assign((pattern_.size() + 1) * offsets_.size(), kUnknown);
  }

  bool Matches() { return Match(0, 0); }

 private:
  static constexpr int8_t kUnknown = -1;

  // Does pattern_[p..] match the characters from index `i` on?
  bool Match(size_t p, size_t i) {
    int8_t& memo = memo_[p * offsets_.size() + i];
    if (memo != kUnknown) return memo == 1;
    const size_t n = offsets_.size() - 1;
    bool result = false;
    if (p == pattern_.size()) {
      result = i == n;
    } else if (pattern_[p].kind == GlobToken::kStar) {
      result = Match(p + 1, i) || (i < n && Match(p, i + 1));
    } else if (pattern_[p].kind == GlobToken::kQuestion) {
      result = i < n && Match(p + 1, i + 1);
    } else {
      const std::string_view rest = std::string_view(text_).substr(offsets_[i]);
      const std::string_view literal = pattern_[p].text;
      if (rest.substr(0, literal.size()) == literal) {
        for (size_t j = i; j <= n; ++j) {
          if (offsets_[j] == offsets_[i] + literal.size()) {
            result = Match(p + 1, j);
            break;
          }
        }
      }
    }
    memo = result ? 1 : 0;
    return result;
  }

  absl::Span<const GlobToken> pattern_;
  std::string text_;
  std::vector<size_t> offsets_;  // byte offset of each character, plus the end
  std::vector<int8_t> memo_;
};

TEST(GlobMatchTest, AgreesWithAReferenceMatcherOnRandomInputs) {
  const std::vector<std::string> alphabet = {"a", "b", "*", "?", "é", "€", "😀"};
  std::mt19937 rng(20260131);
  const auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };

  int matches = 0;
  constexpr int kRounds = 20'000;
  for (int round = 0; round < kRounds; ++round) {
    // Literal texts must outlive the tokens that view them.
    std::vector<std::string> literals;
    literals.reserve(8);  // never reallocated below: at most 7 literals, so the views stay valid
    std::vector<GlobToken> pattern;
    const size_t pattern_size = pick(8);
    for (size_t i = 0; i < pattern_size; ++i) {
      switch (pick(4)) {
        case 0:
          pattern.push_back(Star());
          break;
        case 1:
          pattern.push_back(Question());
          break;
        default: {
          std::string literal;
          const size_t length = pick(3);
          for (size_t k = 0; k < length; ++k) literal += alphabet[pick(alphabet.size())];
          literals.push_back(std::move(literal));
          pattern.push_back(Lit(literals.back()));
        }
      }
    }
    std::vector<std::string> chars;
    const size_t text_size = pick(9);
    for (size_t i = 0; i < text_size; ++i) chars.push_back(alphabet[pick(alphabet.size())]);

    ReferenceGlob reference(pattern, chars);
    const bool want = reference.Matches();
    const std::string text = absl::StrJoin(chars, "");
    ASSERT_EQ(GlobMatch(pattern, text), want) << "round " << round << " text " << Quoted(text);
    matches += want;
  }
  // Guard against a generator that only ever produces one answer.
  EXPECT_GT(matches, kRounds / 20);
  EXPECT_LT(matches, kRounds - kRounds / 20);
}

}  // namespace
}  // namespace fleetpdp::engine
