// A log sink that lets through at most `burst` lines per `interval` and counts the rest, so that
// an event that can repeat at request rate (a denied caller, a failing decision-log disk) is
// reported without flooding stderr.
//
//   RateLimitedLog log(sink, absl::Seconds(10), /*burst=*/5);
//   log.Log([&] { return absl::StrCat("denied ", who); });   // built only when it is written
//
// The first line after a suppressed stretch says how many lines were left out:
// "… (37 similar lines suppressed in the last 10s)".
//
// Thread safety: Log may be called from any thread; the sink is called under a lock, one line at a
// time, and must not call back into this object.
#ifndef FLEETPDP_SERVER_RATE_LIMITED_LOG_H_
#define FLEETPDP_SERVER_RATE_LIMITED_LOG_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fleetpdp::server {

class RateLimitedLog {
 public:
  using Sink = std::function<void(std::string_view)>;

  // An empty sink drops every line (still counted in suppressed()).
  explicit RateLimitedLog(Sink sink, absl::Duration interval = absl::Seconds(10), int burst = 5)
      : sink_(std::move(sink)), interval_(interval), burst_(burst) {}

  // Writes the line `make()` returns, unless `burst` lines were written in the current interval.
  // Returns whether it was written.
  bool Log(absl::FunctionRef<std::string()> make) {
    std::lock_guard lock(mu_);
    const absl::Time now = absl::Now();
    if (now - window_start_ >= interval_) {
      window_start_ = now;
      written_in_window_ = 0;
    }
    if (written_in_window_ >= burst_ || !sink_) {
      ++suppressed_since_last_;
      ++suppressed_total_;
      return false;
    }
    ++written_in_window_;
    std::string line = make();
    if (suppressed_since_last_ > 0) {
      absl::StrAppend(&line, " (", suppressed_since_last_, " similar lines suppressed in the last ",
                      absl::FormatDuration(interval_), ")");
      suppressed_since_last_ = 0;
    }
    sink_(line);
    return true;
  }

  // Lines left out since construction.
  uint64_t suppressed() const {
    std::lock_guard lock(mu_);
    return suppressed_total_;
  }

 private:
  const Sink sink_;
  const absl::Duration interval_;
  const int burst_;
  // std::mutex rather than absl::Mutex: Debian's Abseil is not built for ThreadSanitizer.
  mutable std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();  // guarded by mu_
  int written_in_window_ = 0;                       // guarded by mu_
  uint64_t suppressed_since_last_ = 0;              // guarded by mu_
  uint64_t suppressed_total_ = 0;                   // guarded by mu_
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_RATE_LIMITED_LOG_H_
