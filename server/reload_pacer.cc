#include "server/reload_pacer.h"

#include <time.h>

#include <algorithm>
#include <utility>

namespace fleetpdp::server {

ReloadPacer::ReloadPacer(ReloadPaceOptions options, CpuClock clock, Sleeper sleep)
    : options_(options), clock_(std::move(clock)), sleep_(std::move(sleep)) {}

absl::Duration ReloadPacer::ThreadCpuTime() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return absl::DurationFromTimespec(t);
}

void ReloadPacer::Point() {
  const absl::Duration now = clock_();
  ++stats_.points;
  if (!started_) {
    started_ = true;
    first_ = last_point_ = burst_start_ = now;
    return;
  }
  stats_.longest_stretch = std::max(stats_.longest_stretch, now - last_point_);
  stats_.worked = now - first_;
  last_point_ = now;
  const absl::Duration worked = now - burst_start_;
  if (options_.cpu_share >= 1 || worked < options_.burst) return;
  // Asleep for (1 - share) / share of the work just done: over many bursts the thread uses
  // `cpu_share` of a core, and each burst ends in a pause that lets waiting threads run.
  const absl::Duration pause = worked * ((1 - options_.cpu_share) / options_.cpu_share);
  sleep_(pause);
  ++stats_.pauses;
  stats_.paused += pause;
  burst_start_ = clock_();  // sleeping costs no CPU time, but the syscall does a little
  last_point_ = burst_start_;
}

}  // namespace fleetpdp::server
