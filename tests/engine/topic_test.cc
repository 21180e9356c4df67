#include "engine/topic.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

bool Matches(std::string_view filter, std::string_view topic) {
  return FilterMatchesTopic(SplitLevels(filter), SplitLevels(topic));
}
bool Contains(std::string_view outer, std::string_view inner) {
  return FilterContains(SplitLevels(outer), SplitLevels(inner));
}
bool Overlap(std::string_view a, std::string_view b) {
  return FiltersOverlap(SplitLevels(a), SplitLevels(b));
}

// ---------------------------------------------------------------------------------------------
// SplitLevels

TEST(SplitLevelsTest, EmptyStringIsOneEmptyLevel) { EXPECT_THAT(SplitLevels(""), ElementsAre("")); }

TEST(SplitLevelsTest, StringWithoutSlashIsOneLevel) {
  EXPECT_THAT(SplitLevels("devices"), ElementsAre("devices"));
}

TEST(SplitLevelsTest, SplitsOnEverySlash) {
  EXPECT_THAT(SplitLevels("devices/cam-1/telemetry"), ElementsAre("devices", "cam-1", "telemetry"));
}

TEST(SplitLevelsTest, LeadingSlashGivesEmptyFirstLevel) {
  EXPECT_THAT(SplitLevels("/a"), ElementsAre("", "a"));
}

TEST(SplitLevelsTest, TrailingSlashGivesEmptyLastLevel) {
  EXPECT_THAT(SplitLevels("a/"), ElementsAre("a", ""));
}

TEST(SplitLevelsTest, LoneSlashIsTwoEmptyLevels) {
  EXPECT_THAT(SplitLevels("/"), ElementsAre("", ""));
}

TEST(SplitLevelsTest, DoubleSlashGivesEmptyMiddleLevel) {
  EXPECT_THAT(SplitLevels("a//b"), ElementsAre("a", "", "b"));
  EXPECT_THAT(SplitLevels("//"), ElementsAre("", "", ""));
}

TEST(SplitLevelsTest, KeepsWildcardsAsLevels) {
  EXPECT_THAT(SplitLevels("+/a/#"), ElementsAre("+", "a", "#"));
}

TEST(SplitLevelsTest, ReturnedViewsPointIntoTheInput) {
  const std::string topic = "ab/cd";
  const Levels levels = SplitLevels(topic);
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[0].data(), topic.data());
  EXPECT_EQ(levels[1].data(), topic.data() + 3);
}

TEST(SplitLevelsTest, SplitsAMaximumLengthStringOfSlashes) {
  const std::string slashes(kMaxTopicLength, '/');
  EXPECT_EQ(SplitLevels(slashes).size(), kMaxTopicLength + 1);
}

// ---------------------------------------------------------------------------------------------
// ValidateTopicName

TEST(ValidateTopicNameTest, AcceptsOrdinaryTopics) {
  for (std::string_view topic : {"a", "devices/cam-1/telemetry", "/", "a//b", "/a", "a/",
                                 "$SYS/broker", "caf\xc3\xa9/\xe2\x82\xac", " ", "a b/c-d_e.f"}) {
    EXPECT_OK(ValidateTopicName(topic)) << topic;
  }
}

TEST(ValidateTopicNameTest, AcceptsATopicOfExactlyTheMaximumLength) {
  EXPECT_OK(ValidateTopicName(std::string(kMaxTopicLength, 'a')));
}

TEST(ValidateTopicNameTest, RejectsTheEmptyTopic) {
  EXPECT_THAT(ValidateTopicName(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("topic is empty")));
}

TEST(ValidateTopicNameTest, RejectsPlus) {
  EXPECT_THAT(ValidateTopicName("a/+"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(R"(topic "a/+" contains a wildcard)"),
                             HasSubstr(R"("+" at byte 2)"))));
}

TEST(ValidateTopicNameTest, RejectsHash) {
  EXPECT_THAT(ValidateTopicName("a/#"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(R"(topic "a/#" contains a wildcard)"),
                             HasSubstr(R"("#" at byte 2)"))));
}

TEST(ValidateTopicNameTest, RejectsWildcardCharactersInsideALevel) {
  EXPECT_THAT(ValidateTopicName("a+b/c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(R"("+" at byte 1)")));
  EXPECT_THAT(ValidateTopicName("x/c#"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(R"("#" at byte 3)")));
}

TEST(ValidateTopicNameTest, RejectsNulAndEscapesItInTheMessage) {
  EXPECT_THAT(ValidateTopicName(std::string_view("a\0b", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(R"(topic "a\000b" contains a NUL character at byte 1)"),
                             Not(HasSubstr(std::string(1, '\0'))))));
}

TEST(ValidateTopicNameTest, RejectsATopicOneByteTooLongAndTruncatesItInTheMessage) {
  const std::string topic(kMaxTopicLength + 1, 'a');
  EXPECT_THAT(ValidateTopicName(topic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("is 65536 bytes long, more than the maximum of 65535"),
                             HasSubstr(absl::StrCat("\"", std::string(64, 'a'), "…\"")),
                             Not(HasSubstr(std::string(65, 'a'))))));
}

TEST(ValidateTopicNameTest, TruncatesLongTopicsOnACharacterBoundary) {
  // 63 ASCII bytes then a 2-byte "é": cutting at byte 64 would split it.
  const std::string topic = absl::StrCat(std::string(63, 'a'), "\xc3\xa9", "+");
  EXPECT_THAT(ValidateTopicName(topic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat("\"", std::string(63, 'a'), "…\"")),
                             HasSubstr(R"("+" at byte 65)"))));
}

TEST(ValidateTopicNameTest, EscapesQuotesInTheMessage) {
  EXPECT_THAT(ValidateTopicName("say \"hi\"/+"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(R"(topic "say \"hi\"/+" contains a wildcard)")));
}

// ---------------------------------------------------------------------------------------------
// ValidateTopicFilter

TEST(ValidateTopicFilterTest, AcceptsWellFormedFilters) {
  for (std::string_view filter : {"a", "#", "+", "/", "+/+", "+/#", "a/+/b", "a/#", "/#", "//#",
                                  "$SYS/#", "devices/+/cmd/#", "a//+", "+/", "$share"}) {
    EXPECT_OK(ValidateTopicFilter(filter)) << filter;
  }
}

TEST(ValidateTopicFilterTest, AcceptsAFilterOfExactlyTheMaximumLength) {
  EXPECT_OK(ValidateTopicFilter(std::string(kMaxTopicLength - 2, 'a') + "/#"));
}

TEST(ValidateTopicFilterTest, RejectsTheEmptyFilter) {
  EXPECT_THAT(ValidateTopicFilter(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("topic filter is empty")));
}

TEST(ValidateTopicFilterTest, RejectsHashThatIsNotTheLastLevel) {
  EXPECT_THAT(ValidateTopicFilter("a/#/b"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(R"(topic filter "a/#/b": "#" must be the last level)")));
  EXPECT_THAT(ValidateTopicFilter("#/"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be the last level")));
}

TEST(ValidateTopicFilterTest, RejectsHashThatIsPartOfALevel) {
  EXPECT_THAT(
      ValidateTopicFilter("a/b#"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(R"(topic filter "a/b#": "#" must be a whole level, not part of "b#")")));
}

TEST(ValidateTopicFilterTest, RejectsPlusThatIsPartOfALevel) {
  EXPECT_THAT(
      ValidateTopicFilter("a+/b"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(R"(topic filter "a+/b": "+" must be a whole level, not part of "a+")")));
  EXPECT_THAT(ValidateTopicFilter("a/++"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(R"(not part of "++")")));
  EXPECT_THAT(ValidateTopicFilter("+#"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(R"(not part of "+#")")));
}

TEST(ValidateTopicFilterTest, RejectsNul) {
  EXPECT_THAT(ValidateTopicFilter(std::string_view("a/\0", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(R"(topic filter "a/\000" contains a NUL character at byte 2)")));
}

TEST(ValidateTopicFilterTest, RejectsAFilterOneByteTooLong) {
  const std::string filter = std::string(kMaxTopicLength - 1, 'a') + "/#";
  EXPECT_THAT(ValidateTopicFilter(filter),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("topic filter \"" + std::string(64, 'a') + "…\""),
                             HasSubstr("is 65536 bytes long, more than the maximum of 65535"))));
}

TEST(ValidateTopicFilterTest, TruncatesALongLevelInTheMessage) {
  const std::string filter = "x/" + std::string(100, 'b') + "#";
  EXPECT_THAT(ValidateTopicFilter(filter),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("not part of \"" + std::string(64, 'b') + "…\""),
                             Not(HasSubstr(std::string(65, 'b'))))));
}

// ---------------------------------------------------------------------------------------------
// FilterMatchesTopic

struct MatchCase {
  std::string_view filter;
  std::string_view topic;
  bool matches;
};

TEST(FilterMatchesTopicTest, GivesTheExpectedAnswerForEachCase) {
  const std::vector<MatchCase> cases = {
      // Literals.
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/b", "a", false},
      {"a", "a/b", false},
      {"a/b", "a/b/", false},
      {"a//b", "a//b", true},
      {"/", "/", true},
      {"A", "a", false},
      // '+' matches exactly one level.
      {"+", "a", true},
      {"+", "a/b", false},
      {"a/+", "a/b", true},
      {"a/+", "a", false},
      {"a/+", "a/b/c", false},
      {"+/+", "/", true},
      {"a/+/c", "a/b/c", true},
      {"a/+/c", "a/b/d", false},
      // '+' matches an empty level.
      {"a/+", "a/", true},
      {"+/b", "/b", true},
      {"a/+/c", "a//c", true},
      // '#' matches zero or more levels, including the parent level.
      {"#", "a", true},
      {"#", "a/b/c", true},
      {"#", "/", true},
      {"a/#", "a", true},
      {"a/#", "a/b", true},
      {"a/#", "a/b/c", true},
      {"a/#", "a/", true},
      {"a/#", "b", false},
      {"a/#", "ab", false},
      {"a/b/#", "a", false},
      {"+/#", "a", true},
      {"+/#", "a/b/c", true},
      // The '$' rule.
      {"#", "$SYS", false},
      {"#", "$SYS/x", false},
      {"+", "$SYS", false},
      {"+/x", "$SYS/x", false},
      {"+/#", "$SYS/x", false},
      {"$SYS/#", "$SYS/x", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/+", "$SYS/x", true},
      {"$SYS/x", "$SYS/x", true},
      {"$SYS/x", "$SYS/y", false},
      {"+/$x", "a/$x", true},  // '$' only matters in the first level.
      {"a/+", "a/$x", true},
      {"a/#", "a/$x", true},
      {"#", "a$", true},
  };
  for (const MatchCase& c : cases) {
    EXPECT_EQ(Matches(c.filter, c.topic), c.matches)
        << "filter \"" << c.filter << "\" topic \"" << c.topic << "\"";
  }
}

TEST(FilterMatchesTopicTest, PlusMatchesExactlyOneLevel) {
  EXPECT_TRUE(Matches("devices/+/telemetry", "devices/cam-1/telemetry"));
  EXPECT_FALSE(Matches("devices/+/telemetry", "devices/cam-1/x/telemetry"));
  EXPECT_FALSE(Matches("devices/+/telemetry", "devices/telemetry"));
}

TEST(FilterMatchesTopicTest, PlusMatchesAnEmptyLevel) {
  EXPECT_TRUE(Matches("devices/+/telemetry", "devices//telemetry"));
}

TEST(FilterMatchesTopicTest, HashMatchesTheParentLevel) { EXPECT_TRUE(Matches("a/#", "a")); }

TEST(FilterMatchesTopicTest, HashMatchesEveryTopicNotStartingWithDollar) {
  EXPECT_TRUE(Matches("#", "a/b/c/d/e/f"));
  EXPECT_TRUE(Matches("#", "/$SYS"));
  EXPECT_FALSE(Matches("#", "$SYS/x"));
}

TEST(FilterMatchesTopicTest, PlusDoesNotMatchDollarTopics) {
  EXPECT_FALSE(Matches("+/x", "$SYS/x"));
  EXPECT_FALSE(Matches("+", "$"));
}

TEST(FilterMatchesTopicTest, DollarFilterMatchesDollarTopicAndItsParent) {
  EXPECT_TRUE(Matches("$SYS/#", "$SYS/x"));
  EXPECT_TRUE(Matches("$SYS/#", "$SYS"));
  EXPECT_TRUE(Matches("$SYS/x", "$SYS/x"));
}

TEST(FilterMatchesTopicTest, HandlesTheDeepestPossibleTopic) {
  // 65536 levels: a matcher that recursed per level would be at risk here.
  const std::string topic(kMaxTopicLength, '/');
  const Levels levels = SplitLevels(topic);
  EXPECT_TRUE(FilterMatchesTopic(levels, levels));
  EXPECT_TRUE(Matches("#", topic));
  EXPECT_TRUE(Matches("/#", topic));
  EXPECT_FALSE(Matches("/+", topic));
  EXPECT_TRUE(FilterContains(SplitLevels("#"), levels));
  EXPECT_TRUE(FiltersOverlap(levels, levels));
}

// ---------------------------------------------------------------------------------------------
// FilterContains

struct PairCase {
  std::string_view first;
  std::string_view second;
  bool expected;
};

TEST(FilterContainsTest, GivesTheExpectedAnswerForEachCase) {
  const std::vector<PairCase> cases = {
      // {outer, inner, contains}
      {"a", "a", true},
      {"a", "b", false},
      {"a/b", "a", false},
      {"a", "a/b", false},
      {"#", "#", true},
      {"#", "a", true},
      {"#", "a/b/c", true},
      {"#", "+", true},
      {"#", "+/#", true},
      {"+/#", "#", true},  // Both match every topic not starting with '$'.
      {"+", "#", false},
      {"+/+/#", "#", false},
      {"#", "$SYS/#", false},
      {"#", "$SYS", false},
      {"+/#", "$SYS/#", false},
      {"+", "$SYS", false},
      {"$SYS/#", "$SYS/x", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/+", "$SYS/x", true},
      {"devices/#", "devices/+/cmd/#", true},
      {"devices/+/cmd/#", "devices/#", false},
      {"devices/+/cmd/#", "devices/cam-1/cmd", true},
      {"devices/+/cmd/#", "devices/cam-1/cmd/reboot/now", true},
      {"devices/+/cmd/#", "devices/cam-1/telemetry", false},
      {"a/#", "a", true},
      {"a/#", "a/#", true},
      {"a/#", "a/+", true},
      {"a", "a/#", false},
      {"a/+", "a/#", false},
      {"a/+", "a/b", true},
      {"a/b", "a/+", false},
      {"+/#", "+/+", true},
      {"+/+", "+/#", false},
      {"+/+", "a/b", true},
      {"+/b", "a/+", false},
      {"a/+/#", "a/#", false},  // "a/#" matches "a".
      {"/+/#", "/#", false},    // "/#" matches "" (one empty level).
  };
  for (const PairCase& c : cases) {
    EXPECT_EQ(Contains(c.first, c.second), c.expected)
        << "outer \"" << c.first << "\" inner \"" << c.second << "\"";
  }
}

TEST(FilterContainsTest, WiderFilterContainsNarrowerOne) {
  EXPECT_TRUE(Contains("devices/#", "devices/+/cmd/#"));
}

TEST(FilterContainsTest, NarrowerFilterDoesNotContainWiderOne) {
  EXPECT_FALSE(Contains("devices/+/cmd/#", "devices/#"));
}

TEST(FilterContainsTest, HashDoesNotContainDollarFilters) { EXPECT_FALSE(Contains("#", "$SYS/#")); }

TEST(FilterContainsTest, HashFilterContainsItsParentLevel) { EXPECT_TRUE(Contains("a/#", "a")); }

TEST(FilterContainsTest, PlusDoesNotContainHash) { EXPECT_FALSE(Contains("a/+", "a/#")); }

TEST(FilterContainsTest, PlusHashContainsPlusPlus) { EXPECT_TRUE(Contains("+/#", "+/+")); }

TEST(FilterContainsTest, EveryFilterContainsItself) {
  for (std::string_view filter : {"a", "+", "#", "/", "a/+/#", "$SYS/#", "+/+/+", "//#"}) {
    EXPECT_TRUE(Contains(filter, filter)) << filter;
  }
}

// ---------------------------------------------------------------------------------------------
// FiltersOverlap

TEST(FiltersOverlapTest, GivesTheExpectedAnswerForEachCase) {
  const std::vector<PairCase> cases = {
      {"a", "a", true},
      {"a", "b", false},
      {"a/b", "a/c", false},
      {"a/+", "a/c", true},
      {"a/+", "+/c", true},
      {"+/b", "a/+", true},
      {"a/#", "a", true},
      {"a/+", "a", false},
      {"a/+", "a/b/c", false},
      {"#", "a/b/c", true},
      {"#", "+", true},
      {"#", "#", true},
      {"devices/+/cmd/#", "devices/#", true},
      {"devices/+/cmd/#", "devices/+/telemetry", false},
      {"devices/+/cmd/#", "devices/cam-1/+", true},  // "devices/cam-1/cmd".
      {"$SYS/#", "#", false},
      {"$SYS/#", "+/#", false},
      {"$SYS/x", "+/x", false},
      {"$SYS/x", "+/+", false},
      {"$SYS/#", "$SYS/+", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS", "$OTHER/#", false},
      {"a/$x", "+/+", true},  // '$' only matters in the first level.
      {"+/#", "#", true},
      {"+", "a/#", true},
      {"a/b/#", "a/+/c", true},
      {"a/b/#", "a/c/#", false},
      {"/#", "+", true},  // Both match "" (one empty level).
  };
  for (const PairCase& c : cases) {
    EXPECT_EQ(Overlap(c.first, c.second), c.expected)
        << "a \"" << c.first << "\" b \"" << c.second << "\"";
    EXPECT_EQ(Overlap(c.second, c.first), c.expected)
        << "a \"" << c.second << "\" b \"" << c.first << "\" (swapped)";
  }
}

TEST(FiltersOverlapTest, HashFilterOverlapsANarrowerOne) {
  EXPECT_TRUE(Overlap("devices/+/cmd/#", "devices/#"));
}

TEST(FiltersOverlapTest, DollarFiltersDoNotOverlapLeadingWildcards) {
  EXPECT_FALSE(Overlap("$SYS/#", "#"));
  EXPECT_FALSE(Overlap("$SYS/#", "+/#"));
}

TEST(FiltersOverlapTest, DifferentLiteralsDoNotOverlap) { EXPECT_FALSE(Overlap("a/b", "a/c")); }

TEST(FiltersOverlapTest, HashOverlapsItsParentLevel) { EXPECT_TRUE(Overlap("a/#", "a")); }

TEST(FiltersOverlapTest, PlusDoesNotOverlapAShorterTopic) { EXPECT_FALSE(Overlap("a/+", "a")); }

}  // namespace
}  // namespace fleetpdp::engine

namespace fleetpdp::engine {
namespace {

// The hot-path predicates agree with the validators that build error messages.
TEST(IsValidTopicTest, AgreesWithTheValidatorsOnEveryShortString) {
  const char alphabet[] = {'a', '/', '+', '#', '$', '\0'};
  std::vector<std::string> strings = {""};
  for (int length = 1; length <= 5; ++length) {
    std::vector<std::string> next;
    for (const std::string& s : strings) {
      if (static_cast<int>(s.size()) != length - 1) continue;
      for (char c : alphabet) next.push_back(s + c);
    }
    strings.insert(strings.end(), next.begin(), next.end());
  }
  for (const std::string& s : strings) {
    EXPECT_EQ(IsValidTopicName(s), ValidateTopicName(s).ok()) << "name \"" << s << "\"";
    EXPECT_EQ(IsValidTopicFilter(s), ValidateTopicFilter(s).ok()) << "filter \"" << s << "\"";
  }
  EXPECT_FALSE(IsValidTopicName(std::string(kMaxTopicLength + 1, 'a')));
  EXPECT_FALSE(IsValidTopicFilter(std::string(kMaxTopicLength + 1, 'a')));
}

}  // namespace
}  // namespace fleetpdp::engine
