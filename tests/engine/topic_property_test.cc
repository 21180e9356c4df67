// Property tests for engine/topic.h: FilterContains and FiltersOverlap against brute force over a
// finite universe of topics, FilterMatchesTopic against an independent reference matcher, and
// ValidateTopicFilter against a character-level reference.
//
// The universe is every topic of 1-5 levels over {"a", "b", "", "$s", "z"}. Filters use at most
// 4 levels over {"a", "b", "", "$s", "+", "#"}, so "z" stands for "any level no filter names" and a
// topic one level longer than any filter covers "longer topics". Topics starting with any other
// '$' level are matched by no filter, so they can be left out. Hence, for these filters, the
// answers over the universe are the answers over all topics.
//
// The universe includes "" (one empty level), which ValidateTopicName rejects: FilterContains and
// FiltersOverlap treat every level sequence as a topic, and "/#" is the one filter shape for which
// that matters ("/+/#" does not contain "/#" because of "").
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "engine/topic.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSeed = 0x5eed'70b1'cf11'7e55;
constexpr int kRandomPairs = 50'000;
constexpr int kMaxReportedFailures = 5;

// How failure messages name the seed, as written above, so a failure can be replayed.
std::string SeedText() {
  std::ostringstream out;
  out << "seed 0x" << std::hex << kSeed;
  return out.str();
}

constexpr std::string_view kTopicAlphabet[] = {"a", "b", "", "$s", "z"};
constexpr std::string_view kFilterAlphabet[] = {"a", "b", "", "$s", "+"};  // "#" only last.
constexpr int kMaxTopicLevels = 5;
constexpr int kMaxFilterLevels = 4;

// Levels joined with '/'. (absl::StrJoin does not take std::string_view with Debian's Abseil.)
template <typename Container>
std::string Join(const Container& levels, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& level : levels) {
    if (!first) out += separator;
    out += level;
    first = false;
  }
  return out;
}

// A topic or filter with its levels; `levels` points into `text`, so this type is not copyable.
struct Split {
  explicit Split(std::string s) : text(std::move(s)), levels(SplitLevels(text)) {}
  Split(const Split&) = delete;
  Split& operator=(const Split&) = delete;

  const std::string text;
  const Levels levels;
};

// Every level sequence of `min_levels`..`max_levels` levels over `alphabet`, plus, when
// `hash_last` is set, those sequences followed by "#" (keeping the total within `max_levels`).
std::vector<std::string> AllSequences(absl::Span<const std::string_view> alphabet, int min_levels,
                                      int max_levels, bool hash_last) {
  std::vector<std::string> out;
  std::vector<std::vector<std::string_view>> current = {{}};
  for (int n = 1; n <= max_levels; ++n) {
    if (hash_last) {
      for (const auto& prefix : current) {
        std::vector<std::string_view> with_hash = prefix;
        with_hash.emplace_back("#");
        out.push_back(Join(with_hash, "/"));
      }
    }
    std::vector<std::vector<std::string_view>> next;
    for (const auto& prefix : current) {
      for (std::string_view level : alphabet) {
        next.push_back(prefix);
        next.back().push_back(level);
      }
    }
    current = std::move(next);
    if (n >= min_levels) {
      for (const auto& levels : current) out.push_back(Join(levels, "/"));
    }
  }
  return out;
}

const std::vector<std::unique_ptr<Split>>& Universe() {
  static const auto* const universe = [] {
    auto* topics = new std::vector<std::unique_ptr<Split>>;
    for (std::string& t : AllSequences(kTopicAlphabet, 1, kMaxTopicLevels, /*hash_last=*/false)) {
      topics->push_back(std::make_unique<Split>(std::move(t)));
    }
    return topics;
  }();
  return *universe;
}

// Every valid filter over the filter alphabet. The only invalid sequence is the lone empty level.
std::vector<std::string> AllFilters() {
  std::vector<std::string> filters;
  for (std::string& f : AllSequences(kFilterAlphabet, 1, kMaxFilterLevels, /*hash_last=*/true)) {
    if (!f.empty()) filters.push_back(std::move(f));
  }
  return filters;
}

std::string RandomFilter(std::mt19937_64& rng) {
  while (true) {
    const int n = std::uniform_int_distribution<int>(1, kMaxFilterLevels)(rng);
    std::vector<std::string_view> levels;
    for (int i = 0; i < n; ++i) {
      const int choices = i == n - 1 ? 6 : 5;
      const int pick = std::uniform_int_distribution<int>(0, choices - 1)(rng);
      levels.push_back(pick == 5 ? std::string_view("#") : kFilterAlphabet[pick]);
    }
    std::string filter = Join(levels, "/");
    if (!filter.empty()) return filter;
  }
}

// ---------------------------------------------------------------------------------------------
// The brute-force model, built on FilterMatchesTopic alone.

struct Model {
  bool contains = true;
  bool overlaps = false;
  // A topic matched by `inner` but not by `outer`, and a topic matched by both.
  std::optional<std::string_view> not_contained_witness;
  std::optional<std::string_view> overlap_witness;
};

Model BruteForce(LevelSpan a, LevelSpan b) {
  Model model;
  for (const auto& topic : Universe()) {
    const bool in_a = FilterMatchesTopic(a, topic->levels);
    const bool in_b = FilterMatchesTopic(b, topic->levels);
    if (in_b && !in_a && model.contains) {
      model.contains = false;
      model.not_contained_witness = topic->text;
    }
    if (in_a && in_b && !model.overlaps) {
      model.overlaps = true;
      model.overlap_witness = topic->text;
    }
  }
  return model;
}

// The functions under test; tests of the reporting below substitute wrong ones.
struct Subject {
  bool (*contains)(LevelSpan outer, LevelSpan inner) = &FilterContains;
  bool (*overlaps)(LevelSpan a, LevelSpan b) = &FiltersOverlap;
};

bool Disagrees(const Subject& subject, std::string_view a, std::string_view b) {
  const Split sa(std::string{a}), sb(std::string{b});
  const Model model = BruteForce(sa.levels, sb.levels);
  return subject.contains(sa.levels, sb.levels) != model.contains ||
         subject.overlaps(sa.levels, sb.levels) != model.overlaps;
}

// Smaller valid filters to try when shrinking `filter`: each level dropped, each level made "a".
std::vector<std::string> ShrinkCandidates(std::string_view filter) {
  const Levels levels = SplitLevels(filter);
  std::vector<std::string> out;
  for (size_t i = 0; i < levels.size(); ++i) {
    Levels dropped = levels;
    dropped.erase(dropped.begin() + i);
    std::string candidate = Join(dropped, "/");
    if (ValidateTopicFilter(candidate).ok()) out.push_back(std::move(candidate));
  }
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == "a") continue;
    Levels simpler = levels;
    simpler[i] = "a";
    out.push_back(Join(simpler, "/"));
  }
  return out;
}

// Greedily shrinks a disagreeing pair while it keeps disagreeing with the model.
std::pair<std::string, std::string> Shrink(const Subject& subject, std::string a, std::string b) {
  for (bool progress = true; progress;) {
    progress = false;
    for (std::string& candidate : ShrinkCandidates(a)) {
      if (Disagrees(subject, candidate, b)) {
        a = std::move(candidate);
        progress = true;
        break;
      }
    }
    for (std::string& candidate : ShrinkCandidates(b)) {
      if (Disagrees(subject, a, candidate)) {
        b = std::move(candidate);
        progress = true;
        break;
      }
    }
  }
  return {a, b};
}

// Compares both functions on (a, b) with the model; on disagreement returns a minimal
// reproduction, else the empty string.
std::string CheckPair(std::string_view a, std::string_view b, const Subject& subject = {}) {
  if (!Disagrees(subject, a, b)) return "";
  const auto [min_a, min_b] = Shrink(subject, std::string(a), std::string(b));
  const Split sa(min_a), sb(min_b);
  const Model model = BruteForce(sa.levels, sb.levels);
  std::ostringstream out;
  out << "pair (\"" << a << "\", \"" << b << "\") shrinks to (\"" << min_a << "\", \"" << min_b
      << "\"):";
  const bool contains = subject.contains(sa.levels, sb.levels);
  if (contains != model.contains) {
    out << "\n  FilterContains(\"" << min_a << "\", \"" << min_b << "\") returned " << contains
        << ", brute force says " << model.contains << "; ";
    if (model.not_contained_witness) {
      out << "witness topic \"" << *model.not_contained_witness << "\" is matched by \"" << min_b
          << "\" but not by \"" << min_a << "\"";
    } else {
      out << "no universe topic is matched by \"" << min_b << "\" but not by \"" << min_a << "\"";
    }
  }
  const bool overlaps = subject.overlaps(sa.levels, sb.levels);
  if (overlaps != model.overlaps) {
    out << "\n  FiltersOverlap(\"" << min_a << "\", \"" << min_b << "\") returned " << overlaps
        << ", brute force says " << model.overlaps << "; ";
    if (model.overlap_witness) {
      out << "witness topic \"" << *model.overlap_witness << "\" is matched by both";
    } else {
      out << "no universe topic is matched by both";
    }
  }
  return out.str();
}

TEST(TopicPropertyTest, UniverseAndFilterSpaceHaveTheExpectedSizes) {
  EXPECT_EQ(Universe().size(), 5u + 25 + 125 + 625 + 3125);
  // 5 + 25 + 125 + 625 without '#', 1 + 5 + 25 + 125 with, minus the invalid "".
  EXPECT_EQ(AllFilters().size(), 780u + 156 - 1);
}

// A filter with the topics of the universe it matches, as a bitset computed with
// FilterMatchesTopic. Comparing two bitsets gives the brute-force answers for a pair of filters.
struct MatchSet {
  explicit MatchSet(std::string text) : filter(std::move(text)) {
    const auto& universe = Universe();
    matched.resize((universe.size() + 63) / 64);
    for (size_t t = 0; t < universe.size(); ++t) {
      if (FilterMatchesTopic(filter.levels, universe[t]->levels)) {
        matched[t / 64] |= uint64_t{1} << (t % 64);
      }
    }
  }

  const Split filter;
  std::vector<uint64_t> matched;
};

// True when FilterContains and FiltersOverlap give the brute-force answers for (a, b).
bool Agree(const MatchSet& a, const MatchSet& b) {
  bool contains = true;
  bool overlaps = false;
  for (size_t w = 0; w < a.matched.size(); ++w) {
    contains = contains && (b.matched[w] & ~a.matched[w]) == 0;
    overlaps = overlaps || (a.matched[w] & b.matched[w]) != 0;
  }
  return FilterContains(a.filter.levels, b.filter.levels) == contains &&
         FiltersOverlap(a.filter.levels, b.filter.levels) == overlaps;
}

TEST(TopicPropertyTest, ContainsAndOverlapAgreeWithBruteForceOnRandomFilterPairs) {
  std::mt19937_64 rng(kSeed);
  std::map<std::string, std::unique_ptr<MatchSet>> sets;  // Memoized by filter text.
  auto set_for = [&sets](const std::string& filter) -> const MatchSet& {
    auto& set = sets[filter];
    if (set == nullptr) set = std::make_unique<MatchSet>(filter);
    return *set;
  };
  int failures = 0;
  for (int i = 0; i < kRandomPairs && failures < kMaxReportedFailures; ++i) {
    const std::string a = RandomFilter(rng);
    const std::string b = RandomFilter(rng);
    ASSERT_OK(ValidateTopicFilter(a)) << SeedText() << " pair " << i;
    ASSERT_OK(ValidateTopicFilter(b)) << SeedText() << " pair " << i;
    if (!Agree(set_for(a), set_for(b))) {
      ++failures;
      ADD_FAILURE() << SeedText() << " pair " << i << ": " << CheckPair(a, b);
    }
  }
}

// The filter space above is small enough to check completely: 935 * 935 pairs.
TEST(TopicPropertyTest, ContainsAndOverlapAgreeWithBruteForceOnEveryPairOfSmallFilters) {
  std::vector<std::unique_ptr<MatchSet>> sets;
  for (std::string& filter : AllFilters()) sets.push_back(std::make_unique<MatchSet>(filter));
  int failures = 0;
  for (const auto& a : sets) {
    for (const auto& b : sets) {
      if (!Agree(*a, *b)) {
        ADD_FAILURE() << CheckPair(a->filter.text, b->filter.text);
        if (++failures == kMaxReportedFailures) return;
      }
    }
  }
}

// The checks above are only as good as what they report, so run the reporting on wrong functions.
TEST(TopicPropertyTest, CheckPairReportsNothingForAgreeingPairs) {
  EXPECT_EQ(CheckPair("a/#", "a"), "");
  EXPECT_EQ(CheckPair("#", "$s/#"), "");
}

TEST(TopicPropertyTest, CheckPairReportsAShrunkPairAndAContainmentWitness) {
  Subject contains_everything;
  contains_everything.contains = [](LevelSpan, LevelSpan) { return true; };
  EXPECT_EQ(CheckPair("a/b/+", "b/#", contains_everything),
            "pair (\"a/b/+\", \"b/#\") shrinks to (\"a\", \"#\"):\n"
            "  FilterContains(\"a\", \"#\") returned 1, brute force says 0; "
            "witness topic \"b\" is matched by \"#\" but not by \"a\"");
}

TEST(TopicPropertyTest, CheckPairSaysWhenNoWitnessExists) {
  Subject contains_nothing;
  contains_nothing.contains = [](LevelSpan, LevelSpan) { return false; };
  EXPECT_THAT(CheckPair("+/#", "#", contains_nothing),
              HasSubstr(R"(FilterContains("a", "a") returned 0, brute force says 1; )"
                        R"(no universe topic is matched by "a" but not by "a")"));
}

TEST(TopicPropertyTest, CheckPairReportsAnOverlapWitness) {
  Subject overlaps_nothing;
  overlaps_nothing.overlaps = [](LevelSpan, LevelSpan) { return false; };
  EXPECT_THAT(CheckPair("+/b", "a/+", overlaps_nothing),
              HasSubstr(R"(FiltersOverlap("a/a", "a/a") returned 0, brute force says 1; )"
                        R"(witness topic "a/a" is matched by both)"));
}

// ---------------------------------------------------------------------------------------------
// FilterMatchesTopic against a reference written independently: it walks the unsplit strings
// character by character and recurses, which is fine for these short inputs.

bool ReferenceMatchRest(std::string_view filter, std::string_view topic) {
  if (filter.empty()) return topic.empty();
  if (filter == "#") return true;
  if (filter == "/#" && topic.empty()) return true;  // "a/#" matches "a".
  if (filter.front() == '+') {
    const size_t level_end = std::min(topic.find('/'), topic.size());
    return ReferenceMatchRest(filter.substr(1), topic.substr(level_end));
  }
  if (topic.empty() || filter.front() != topic.front()) return false;
  return ReferenceMatchRest(filter.substr(1), topic.substr(1));
}

bool ReferenceMatch(std::string_view filter, std::string_view topic) {
  const bool leading_wildcard = !filter.empty() && (filter[0] == '+' || filter[0] == '#');
  if (leading_wildcard && !topic.empty() && topic[0] == '$') return false;
  return ReferenceMatchRest(filter, topic);
}

TEST(TopicPropertyTest, ReferenceMatcherAgreesWithTheSpecExamples) {
  EXPECT_TRUE(ReferenceMatch("a/#", "a"));
  EXPECT_TRUE(ReferenceMatch("a/+/c", "a//c"));
  EXPECT_FALSE(ReferenceMatch("a/+", "a/b/c"));
  EXPECT_FALSE(ReferenceMatch("#", "$SYS/x"));
  EXPECT_TRUE(ReferenceMatch("$SYS/#", "$SYS"));
  EXPECT_FALSE(ReferenceMatch("a/#", "ab"));
}

TEST(TopicPropertyTest, FilterMatchesTopicAgreesWithTheReferenceOnEveryFilterAndTopic) {
  int failures = 0;
  for (const std::string& filter_text : AllFilters()) {
    const Split filter(filter_text);
    for (const auto& topic : Universe()) {
      const bool expected = ReferenceMatch(filter.text, topic->text);
      if (FilterMatchesTopic(filter.levels, topic->levels) != expected) {
        ADD_FAILURE() << "FilterMatchesTopic(\"" << filter.text << "\", \"" << topic->text
                      << "\") returned " << !expected << ", reference says " << expected;
        if (++failures == kMaxReportedFailures) return;
      }
    }
  }
}

TEST(TopicPropertyTest, FilterMatchesTopicAgreesWithTheReferenceOnRandomLongerInputs) {
  // Longer than the universe, with levels the filters do not name, to reach past 5 levels.
  constexpr std::string_view kLevels[] = {"a", "b", "", "$", "$s", "xy", "a$"};
  std::mt19937_64 rng(kSeed);
  auto random_levels = [&](int max_levels, bool filter) {
    const int n = std::uniform_int_distribution<int>(1, max_levels)(rng);
    std::vector<std::string_view> levels;
    for (int i = 0; i < n; ++i) {
      int pick = std::uniform_int_distribution<int>(0, filter ? 8 : 6)(rng);
      if (pick == 8 && i != n - 1) pick = 7;
      levels.push_back(pick == 7   ? std::string_view("+")
                       : pick == 8 ? std::string_view("#")
                                   : kLevels[pick]);
    }
    return Join(levels, "/");
  };
  int failures = 0;
  for (int i = 0; i < 200'000 && failures < kMaxReportedFailures; ++i) {
    const std::string filter = random_levels(9, /*filter=*/true);
    const std::string topic = random_levels(10, /*filter=*/false);
    const bool expected = ReferenceMatch(filter, topic);
    if (FilterMatchesTopic(SplitLevels(filter), SplitLevels(topic)) != expected) {
      ++failures;
      ADD_FAILURE() << SeedText() << " case " << i << ": FilterMatchesTopic(\"" << filter
                    << "\", \"" << topic << "\") returned " << !expected << ", reference says "
                    << expected;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation against a character-level reference: '+' and '#' must have '/' or an end on both
// sides, and '#' must be the final character.

bool ReferenceValidFilter(std::string_view s) {
  if (s.empty() || s.size() > kMaxTopicLength) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\0') return false;
    if (s[i] != '+' && s[i] != '#') continue;
    const bool alone = (i == 0 || s[i - 1] == '/') && (i + 1 == s.size() || s[i + 1] == '/');
    if (!alone || (s[i] == '#' && i + 1 != s.size())) return false;
  }
  return true;
}

TEST(TopicPropertyTest, ValidationAgreesWithTheReferenceOnEveryShortString) {
  constexpr char kChars[] = {'a', '/', '+', '#', '$', '\0'};
  std::vector<std::string> current = {""};
  int failures = 0;
  for (int length = 0; length <= 6; ++length) {
    for (const std::string& s : current) {
      const bool valid_filter = ValidateTopicFilter(s).ok();
      if (valid_filter != ReferenceValidFilter(s)) {
        ADD_FAILURE() << "ValidateTopicFilter(\"" << absl::CHexEscape(s) << "\") is "
                      << (valid_filter ? "OK" : "an error") << ", reference disagrees";
        if (++failures == kMaxReportedFailures) return;
      }
      const bool valid_name = ValidateTopicName(s).ok();
      const bool expected_name =
          !s.empty() && s.find_first_of(std::string_view("+#\0", 3)) == std::string::npos;
      if (valid_name != expected_name) {
        ADD_FAILURE() << "ValidateTopicName(\"" << absl::CHexEscape(s) << "\") is "
                      << (valid_name ? "OK" : "an error") << ", reference disagrees";
        if (++failures == kMaxReportedFailures) return;
      }
      // Every valid topic name is also a valid filter.
      if (valid_name && !valid_filter) {
        ADD_FAILURE() << "topic name \"" << absl::CHexEscape(s) << "\" is not a valid filter";
        if (++failures == kMaxReportedFailures) return;
      }
    }
    std::vector<std::string> next;
    for (const std::string& s : current) {
      for (char c : kChars) next.push_back(s + c);
    }
    current = std::move(next);
  }
}

}  // namespace
}  // namespace fleetpdp::engine
