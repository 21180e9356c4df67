#include "server/limits.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace fleetpdp::server {

absl::StatusOr<size_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", Absl(text), "\" is not a byte size like 1048576, 512KiB, 64MiB or 1GiB"));
  };
  std::string_view digits = text;
  size_t end = 0;
  while (end < digits.size() && absl::ascii_isdigit(static_cast<unsigned char>(digits[end]))) {
    ++end;
  }
  if (end == 0) return bad();
  std::string unit = absl::AsciiStrToLower(Absl(digits.substr(end)));
  digits = digits.substr(0, end);
  static constexpr std::pair<const char*, int> kUnits[] = {
      {"", 0},    {"b", 0},    {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20},
      {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}};
  int shift = -1;
  for (const auto& [name, bits] : kUnits) {
    if (unit == name) shift = bits;
  }
  uint64_t value = 0;
  if (shift < 0 || !absl::SimpleAtoi(Absl(digits), &value)) return bad();
  if (value > (std::numeric_limits<size_t>::max() >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", Absl(text), "\" is too large"));
  }
  return static_cast<size_t>(value) << shift;
}

}  // namespace fleetpdp::server
