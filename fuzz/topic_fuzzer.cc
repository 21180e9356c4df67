// Fuzzes the MQTT topic primitives of engine/topic.h and checks that they agree with each other.
//
// Input: up to four strings separated by '\n': filters A, B, C and a topic name T. For each:
// IsValid* agrees with Validate*, and SplitLevels splits on every '/'. For the valid ones:
//   - every filter matches its own witness topics (each '+' and '#' replaced by literal levels);
//   - containment is reflexive and transitive, and implies overlap; overlap is symmetric;
//   - contains(A, B) means A matches every witness of B (and every topic B matches, e.g. T);
//   - a topic matched by both filters means they overlap; no overlap means no shared witness;
//   - a topic name used as a filter: contains(A, T) == overlap(A, T) == matches(A, T).
// Any disagreement aborts (a crash for libFuzzer).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "engine/absl_compat.h"
#include "engine/topic.h"
#include "fuzz/fuzz_util.h"

namespace {

using fleetpdp::Absl;
using fleetpdp::engine::FilterContains;
using fleetpdp::engine::FilterMatchesTopic;
using fleetpdp::engine::FiltersOverlap;
using fleetpdp::engine::IsValidTopicFilter;
using fleetpdp::engine::IsValidTopicName;
using fleetpdp::engine::Levels;
using fleetpdp::engine::SplitLevels;
using fleetpdp::engine::ValidateTopicFilter;
using fleetpdp::engine::ValidateTopicName;

// Levels joined with '/' (absl::StrJoin takes absl::string_view, not std::string_view).
template <typename Container>
std::string Join(const Container& levels) {
  std::string out;
  for (size_t i = 0; i < levels.size(); ++i) {
    if (i > 0) out += '/';
    out += levels[i];
  }
  return out;
}

std::string Show(std::string_view s) { return "\"" + absl::CHexEscape(Absl(s)) + "\""; }

void CheckSplitAndValidity(std::string_view s) {
  const Levels levels = SplitLevels(s);
  size_t slashes = 0;
  for (char c : s) slashes += c == '/';
  FLEETPDP_FUZZ_CHECK(levels.size() == slashes + 1, Show(s) << " split into " << levels.size());
  FLEETPDP_FUZZ_CHECK(Join(levels) == s, Show(s) << " does not rejoin");
  FLEETPDP_FUZZ_CHECK(IsValidTopicName(s) == ValidateTopicName(s).ok(),
                      Show(s) << ": IsValidTopicName disagrees with " << ValidateTopicName(s));
  FLEETPDP_FUZZ_CHECK(IsValidTopicFilter(s) == ValidateTopicFilter(s).ok(),
                      Show(s) << ": IsValidTopicFilter disagrees with " << ValidateTopicFilter(s));
  // A valid topic name is a valid filter that matches exactly itself.
  if (IsValidTopicName(s)) {
    FLEETPDP_FUZZ_CHECK(IsValidTopicFilter(s), Show(s) << " is a topic name but not a filter");
    FLEETPDP_FUZZ_CHECK(FilterMatchesTopic(levels, levels), Show(s) << " does not match itself");
  }
}

// Topic names a valid filter must match: its wildcards replaced by literal levels in two ways.
std::vector<std::string> Witnesses(std::string_view filter) {
  const Levels levels = SplitLevels(filter);
  std::vector<std::string> out;
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < levels.size(); ++i) {
      if (levels[i] == "+") {
        // An empty level is a level, but a topic of one empty level is the empty string.
        parts.push_back(variant == 0 || levels.size() == 1 ? "x" : "");
      } else if (levels[i] == "#") {
        // '#' matches zero levels (not at level 0: a topic has at least one level) or several.
        if (variant == 0 && i > 0) continue;
        parts.push_back("y");
        if (variant == 1) parts.push_back("z");
      } else {
        parts.emplace_back(levels[i]);
      }
    }
    std::string topic = Join(parts);
    // No topic is empty ("/#" without its '#' leaves ""), and '#' → "y/z" may pass the length
    // limit: such witnesses are skipped.
    if (!topic.empty() && topic.size() <= fleetpdp::engine::kMaxTopicLength) {
      out.push_back(std::move(topic));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string_view> parts = fleetpdp::fuzz::Split(data, size, '\n', 4);
  for (std::string_view s : parts) CheckSplitAndValidity(s);

  std::vector<std::string_view> filters;
  std::vector<Levels> split;
  std::vector<std::vector<std::string>> witnesses;
  for (size_t i = 0; i < parts.size() && i < 3; ++i) {
    if (!IsValidTopicFilter(parts[i])) continue;
    filters.push_back(parts[i]);
    split.push_back(SplitLevels(parts[i]));
    witnesses.push_back(Witnesses(parts[i]));
  }
  for (size_t i = 0; i < filters.size(); ++i) {
    for (const std::string& w : witnesses[i]) {
      FLEETPDP_FUZZ_CHECK(IsValidTopicName(w), "witness " << Show(w) << " of " << Show(filters[i])
                                                          << " is not a topic name");
      FLEETPDP_FUZZ_CHECK(FilterMatchesTopic(split[i], SplitLevels(w)),
                          Show(filters[i]) << " does not match its witness " << Show(w));
    }
    FLEETPDP_FUZZ_CHECK(FilterContains(split[i], split[i]), Show(filters[i])
                                                                << " does not contain itself");
    FLEETPDP_FUZZ_CHECK(FiltersOverlap(split[i], split[i]), Show(filters[i])
                                                                << " does not overlap itself");
  }

  for (size_t a = 0; a < filters.size(); ++a) {
    for (size_t b = 0; b < filters.size(); ++b) {
      const std::string pair = Show(filters[a]) + " and " + Show(filters[b]);
      const bool contains = FilterContains(split[a], split[b]);
      const bool overlap = FiltersOverlap(split[a], split[b]);
      FLEETPDP_FUZZ_CHECK(overlap == FiltersOverlap(split[b], split[a]),
                          "overlap is not symmetric for " << pair);
      FLEETPDP_FUZZ_CHECK(!contains || overlap, pair << ": containment without overlap");
      for (const std::string& w : witnesses[b]) {
        const bool a_matches = FilterMatchesTopic(split[a], SplitLevels(w));
        FLEETPDP_FUZZ_CHECK(!contains || a_matches, Show(filters[a])
                                                        << " contains " << Show(filters[b])
                                                        << " but not its witness " << Show(w));
        FLEETPDP_FUZZ_CHECK(!a_matches || overlap,
                            pair << " share the topic " << Show(w) << " but do not overlap");
      }
      if (contains && FilterContains(split[b], split[a])) {
        // Equivalent filters match the same topics.
        for (const auto& ws : {witnesses[a], witnesses[b]}) {
          for (const std::string& w : ws) {
            FLEETPDP_FUZZ_CHECK(FilterMatchesTopic(split[a], SplitLevels(w)) ==
                                    FilterMatchesTopic(split[b], SplitLevels(w)),
                                pair << " contain each other but differ on " << Show(w));
          }
        }
      }
      for (size_t c = 0; c < filters.size(); ++c) {
        if (contains && FilterContains(split[b], split[c])) {
          FLEETPDP_FUZZ_CHECK(
              FilterContains(split[a], split[c]),
              "containment is not transitive: " << pair << " and " << Show(filters[c]));
        }
      }
    }
  }

  if (parts.size() == 4 && IsValidTopicName(parts[3])) {
    const std::string_view topic = parts[3];
    const Levels t = SplitLevels(topic);
    for (size_t a = 0; a < filters.size(); ++a) {
      const bool matches = FilterMatchesTopic(split[a], t);
      // As a filter, a topic name matches exactly itself.
      FLEETPDP_FUZZ_CHECK(FilterContains(split[a], t) == matches,
                          Show(filters[a]) << ": contains(" << Show(topic) << ") != matches("
                                           << Show(topic) << ")");
      FLEETPDP_FUZZ_CHECK(FiltersOverlap(split[a], t) == matches,
                          Show(filters[a]) << ": overlaps(" << Show(topic) << ") != matches("
                                           << Show(topic) << ")");
      for (size_t b = 0; b < filters.size(); ++b) {
        if (!FilterMatchesTopic(split[b], t)) continue;
        FLEETPDP_FUZZ_CHECK(!FilterContains(split[a], split[b]) || matches,
                            Show(filters[a]) << " contains " << Show(filters[b]) << " but only "
                                             << "the latter matches " << Show(topic));
        FLEETPDP_FUZZ_CHECK(!matches || FiltersOverlap(split[a], split[b]),
                            Show(filters[a]) << " and " << Show(filters[b]) << " both match "
                                             << Show(topic) << " but do not overlap");
      }
    }
  }
  return 0;
}
