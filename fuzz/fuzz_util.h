// Helpers shared by the libFuzzer targets of fuzz/: invariant checks that abort (so libFuzzer
// keeps the input as a crash) and splitting one input into several strings.
//
//   std::vector<std::string_view> parts = fleetpdp::fuzz::Split(data, size, '\n', 4);
//   FLEETPDP_FUZZ_CHECK(a == b, "index and reference disagree on " << request);
//
// Thread safety: functions only; fuzz targets are single-threaded.
#ifndef FLEETPDP_FUZZ_FUZZ_UTIL_H_
#define FLEETPDP_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <vector>

// Aborts with a message when an invariant does not hold: libFuzzer reports the abort as a crash
// and writes the input to crash-<sha1>. Not an assert(): it stays on under NDEBUG.
#define FLEETPDP_FUZZ_CHECK(condition, message)                                              \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::cerr << __FILE__ << ":" << __LINE__ << ": invariant violated: " #condition "\n  " \
                << message << std::endl;                                                     \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace fleetpdp::fuzz {

// Splits the input on `separator` into at most `max_parts` pieces (the last takes the rest).
inline std::vector<std::string_view> Split(const uint8_t* data, size_t size, char separator,
                                           size_t max_parts) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = rest.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  parts.push_back(rest);
  return parts;
}

}  // namespace fleetpdp::fuzz

#endif  // FLEETPDP_FUZZ_FUZZ_UTIL_H_
