// Paces a reload so that request threads on the same cores are not queued behind it
// (engine/pace.h). A reload is seconds of computing on one thread; even at a low niceness the
// kernel lets such a thread run out its time slice before a woken request thread gets the core,
// which put milliseconds on the p99 of every request arriving meanwhile. At each pace point this
// pacer checks the thread's CPU time: after a `burst` of work it sleeps so that, over the reload,
// the thread uses about `cpu_share` of a core, and in between it holds a core for no longer than
// a burst plus one unit of work.
//
//   server::ReloadPacer pacer({.cpu_share = 0.5});
//   { engine::ScopedPacer pacing(&pacer); LoadTheBundle(); }
//   Log(pacer.stats().pauses, pacer.stats().longest_stretch);
//
// Thread safety: used by the one thread that installed it.
#ifndef FLEETPDP_SERVER_RELOAD_PACER_H_
#define FLEETPDP_SERVER_RELOAD_PACER_H_

#include <cstdint>
#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/pace.h"

namespace fleetpdp::server {

struct ReloadPaceOptions {
  // The share of one core a reload may use, in (0, 1]; 1 turns pacing off.
  double cpu_share = 0.5;
  // CPU time worked between two pauses.
  absl::Duration burst = absl::Microseconds(500);
};

class ReloadPacer final : public engine::Pacer {
 public:
  struct Stats {
    uint64_t points = 0;
    uint64_t pauses = 0;
    absl::Duration paused;           // sleep asked for in pauses
    absl::Duration worked;           // CPU time of the thread from the first point to the last
    absl::Duration longest_stretch;  // the most CPU time between two consecutive points
  };
  // The calling thread's CPU time, and a sleep: replaceable for tests.
  using CpuClock = std::function<absl::Duration()>;
  using Sleeper = std::function<void(absl::Duration)>;

  explicit ReloadPacer(ReloadPaceOptions options, CpuClock clock = ThreadCpuTime,
                       Sleeper sleep = absl::SleepFor);

  void Point() override;
  const Stats& stats() const { return stats_; }

  static absl::Duration ThreadCpuTime();

 private:
  ReloadPaceOptions options_;
  CpuClock clock_;
  Sleeper sleep_;
  bool started_ = false;
  absl::Duration first_;        // CPU time at the first point
  absl::Duration last_point_;   // CPU time at the previous point
  absl::Duration burst_start_;  // CPU time when the current burst began
  Stats stats_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_RELOAD_PACER_H_
