// MQTT topic names and topic filters: splitting, validation, matching, containment and overlap.
//
// These are the primitive semantics every resource check rests on (MQTT 3.1.1 / 5.0 §4.7):
//   - levels split on '/'; empty levels are real levels ("a//b" has three levels);
//   - '+' matches exactly one level, '#' matches any number of levels including zero, so "a/#"
//     also matches "a"; wildcards are only valid as a whole level and '#' only as the last level;
//   - a wildcard ('+' or '#') in the first level never matches a topic whose first level starts
//     with '$' ("$SYS/…" is invisible to "#" and "+/…").
//
//   Levels topic = SplitLevels("devices/cam-1/telemetry");
//   bool ok = FilterMatchesTopic(SplitLevels("devices/+/telemetry"), topic);  // true
//
// Thread safety: pure functions. Returned views point into the caller's string.
#ifndef FLEETPDP_ENGINE_TOPIC_H_
#define FLEETPDP_ENGINE_TOPIC_H_

#include <cstddef>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/types/span.h"

namespace fleetpdp::engine {

// The maximum length of a topic name or filter in bytes (MQTT's two-byte length prefix).
inline constexpr size_t kMaxTopicLength = 65535;

using Levels = absl::InlinedVector<std::string_view, 8>;
using LevelSpan = absl::Span<const std::string_view>;

// Splits on '/'. "" gives one empty level; "a/" gives {"a", ""}; "/" gives {"", ""}.
Levels SplitLevels(std::string_view s);

// A topic name that a PUBLISH may carry: non-empty, at most kMaxTopicLength bytes, no '+', '#' or
// NUL. Errors are InvalidArgument and say what is wrong, e.g. `topic "a/+" contains a wildcard`.
absl::Status ValidateTopicName(std::string_view topic);

// The same checks as ValidateTopicName / ValidateTopicFilter without building an error: one pass
// over the bytes, for the hot path.
bool IsValidTopicName(std::string_view topic);
bool IsValidTopicFilter(std::string_view filter);

// Whether the '+', '#' or NUL at byte i of a topic filter is a valid wildcard: not NUL, a whole
// level (a '/' or the start before it, a '/' or the end after it), and '#' only as the last one.
// The rule IsValidTopicFilter applies at each such byte; the evaluator applies it where its
// word-at-a-time scan found one.
inline bool IsWildcardLevelAt(std::string_view filter, size_t i) {
  const char c = filter[i];
  const bool last = i + 1 == filter.size();
  return c != '\0' && (i == 0 || filter[i - 1] == '/') && (last || filter[i + 1] == '/') &&
         (c != '#' || last);
}

// A topic filter that a SUBSCRIBE may carry: non-empty, at most kMaxTopicLength bytes, no NUL,
// '+' and '#' only as a whole level, '#' only as the last level.
absl::Status ValidateTopicFilter(std::string_view filter);

// True when the topic filter `filter` matches the topic name `topic` (both already split and
// valid). Implements the '$' rule above.
bool FilterMatchesTopic(LevelSpan filter, LevelSpan topic);

// True when every topic name that `inner` matches is also matched by `outer`.
bool FilterContains(LevelSpan outer, LevelSpan inner);

// True when at least one topic name is matched by both `a` and `b`.
bool FiltersOverlap(LevelSpan a, LevelSpan b);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_TOPIC_H_
