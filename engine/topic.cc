#include "engine/topic.h"

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace fleetpdp::engine {
namespace {

// Messages quote at most this many bytes of user input, so a 64 KiB topic cannot flood a log line.
constexpr size_t kMaxQuotedBytes = 64;

// `s` in double quotes with control characters, quotes and backslashes escaped, cut to
// kMaxQuotedBytes (on a UTF-8 character boundary) followed by "…" when longer.
std::string Quote(std::string_view s) {
  bool truncated = false;
  if (s.size() > kMaxQuotedBytes) {
    size_t cut = kMaxQuotedBytes;
    // Do not split a multi-byte UTF-8 sequence: back up over continuation bytes (at most 3).
    while (cut > kMaxQuotedBytes - 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    s = s.substr(0, cut);
    truncated = true;
  }
  return absl::StrCat("\"", absl::Utf8SafeCEscape(Absl(s)), truncated ? "…\"" : "\"");
}

bool IsWildcard(std::string_view level) { return level == "+" || level == "#"; }

// The '$' rule: a wildcard in the first level never matches a first level that starts with '$'.
bool StartsWithDollar(std::string_view level) { return !level.empty() && level.front() == '$'; }

// Checks what topic names and filters share: non-empty, not too long, no NUL.
// `what` is "topic" or "topic filter".
absl::Status ValidateCommon(std::string_view what, std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError(absl::StrCat(Absl(what), " is empty"));
  if (s.size() > kMaxTopicLength) {
    return absl::InvalidArgumentError(absl::StrCat(Absl(what), " ", Quote(s), " is ", s.size(),
                                                   " bytes long, more than the maximum of ",
                                                   kMaxTopicLength));
  }
  if (size_t nul = s.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(what), " ", Quote(s), " contains a NUL character at byte ", nul));
  }
  return absl::OkStatus();
}

}  // namespace

Levels SplitLevels(std::string_view s) {
  Levels levels;
  size_t start = 0;
  for (size_t slash = s.find('/'); slash != std::string_view::npos; slash = s.find('/', start)) {
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
  levels.push_back(s.substr(start));
  return levels;
}

bool IsValidTopicName(std::string_view topic) {
  if (topic.empty() || topic.size() > kMaxTopicLength) return false;
  for (char c : topic) {
    if (c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

bool IsValidTopicFilter(std::string_view filter) {
  if (filter.empty() || filter.size() > kMaxTopicLength) return false;
  for (size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if ((c == '\0' || c == '+' || c == '#') && !IsWildcardLevelAt(filter, i)) return false;
  }
  return true;
}

absl::Status ValidateTopicName(std::string_view topic) {
  if (IsValidTopicName(topic)) return absl::OkStatus();
  if (absl::Status status = ValidateCommon("topic", topic); !status.ok()) return status;
  if (size_t wildcard = topic.find_first_of("+#"); wildcard != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic ", Quote(topic), " contains a wildcard (\"",
                     Absl(topic.substr(wildcard, 1)), "\" at byte ", wildcard, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTopicFilter(std::string_view filter) {
  if (absl::Status status = ValidateCommon("topic filter", filter); !status.ok()) return status;
  size_t start = 0;
  while (true) {
    const size_t slash = filter.find('/', start);
    const bool last = slash == std::string_view::npos;
    const std::string_view level =
        filter.substr(start, last ? std::string_view::npos : slash - start);
    if (level == "#") {
      if (!last) {
        return absl::InvalidArgumentError(
            absl::StrCat("topic filter ", Quote(filter), ": \"#\" must be the last level"));
      }
    } else if (level != "+") {
      if (size_t wildcard = level.find_first_of("+#"); wildcard != std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("topic filter ", Quote(filter), ": \"", Absl(level.substr(wildcard, 1)),
                         "\" must be a whole level, not part of ", Quote(level)));
      }
    }
    if (last) return absl::OkStatus();
    start = slash + 1;
  }
}

bool FilterMatchesTopic(LevelSpan filter, LevelSpan topic) {
  if (!filter.empty() && !topic.empty() && IsWildcard(filter[0]) && StartsWithDollar(topic[0])) {
    return false;
  }
  size_t i = 0;
  for (; i < filter.size(); ++i) {
    if (filter[i] == "#") return true;  // Matches the rest, including no levels at all.
    if (i == topic.size()) return false;
    if (filter[i] != "+" && filter[i] != topic[i]) return false;
  }
  return i == topic.size();
}

// Both functions below walk the two filters level by level. Invariant at the top of each loop
// iteration `i`: the topics matched by the levels before `i` compare as required (for containment,
// every prefix `inner` allows is allowed by `outer`; for overlap, some prefix is allowed by both),
// and neither filter has reached its '#'. Because levels are matched independently, except for the
// '$' rule at level 0 and the number of levels, the answer is then decided by the levels from `i`
// on.
//
// Like FilterMatchesTopic, they expect valid filters (REQUIRES); on invalid ones the answer is
// meaningless but every access stays in bounds.
//
// A '#' at level 0 alone matches every topic with a non-'$' first level; zero-level topics do not
// exist, so "#" and "+/#" match exactly the same topics.

bool FilterContains(LevelSpan outer, LevelSpan inner) {
  for (size_t i = 0;; ++i) {
    const bool outer_ended = i == outer.size();
    const bool inner_ended = i == inner.size();
    if (!outer_ended && outer[i] == "#") {
      // `outer` matches every topic continuing the prefix with at least `i` levels, and so does
      // `inner`, except that at level 0 '#' does not match a literal '$' level.
      return !(i == 0 && !inner_ended && !IsWildcard(inner[0]) && StartsWithDollar(inner[0]));
    }
    if (inner_ended) return outer_ended;
    if (outer_ended) return false;  // `inner` matches topics with more levels.
    if (inner[i] == "#") {
      // `inner` matches topics with exactly `i` levels (if i > 0) and every longer one. Only
      // "+/#" covers that with a non-'#' level, and only for "#" (where `i` == 0).
      return i == 0 && outer[0] == "+" && outer.size() == 2 && outer[1] == "#";
    }
    if (outer[i] == "+") {
      if (i == 0 && inner[0] != "+" && StartsWithDollar(inner[0])) return false;
    } else if (outer[i] != inner[i]) {
      return false;  // A literal in `outer`: `inner` needs the same literal, '+' is wider.
    }
  }
}

bool FiltersOverlap(LevelSpan a, LevelSpan b) {
  for (size_t i = 0;; ++i) {
    const bool a_ended = i == a.size();
    const bool b_ended = i == b.size();
    const bool a_hash = !a_ended && a[i] == "#";
    const bool b_hash = !b_ended && b[i] == "#";
    if (a_hash || b_hash) {
      // The '#' side matches every continuation with at least `i` levels; the other side matches at
      // least one of those, unless at level 0 it only matches a literal '$' level.
      if (i != 0) return true;
      const LevelSpan other = a_hash ? b : a;
      return other.empty() || IsWildcard(other[0]) || !StartsWithDollar(other[0]);
    }
    if (a_ended || b_ended) return a_ended && b_ended;
    if (a[i] == "+" && b[i] == "+") continue;
    if (a[i] == "+" || b[i] == "+") {
      // '+' meets a literal: they share that literal unless the '$' rule forbids it.
      const std::string_view literal = a[i] == "+" ? b[i] : a[i];
      if (i == 0 && StartsWithDollar(literal)) return false;
      continue;
    }
    if (a[i] != b[i]) return false;
  }
}

}  // namespace fleetpdp::engine
