#include "server/reload_pacer.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace fleetpdp::server {

ReloadPacer::ReloadPacer(ReloadPaceOptions options, CpuClock clock, Sleeper sleep)
    : options_(options), clock_(std::move(clock)), sleep_(std::move(sleep)) {}

absl::Duration ReloadPacer::ThreadCpuTime() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return absl::DurationFromTimespec(t);
}

namespace {

// glibc keeps small freed blocks in per-arena "fastbins" and merges all of them the next time the
// arena is asked for a block of the large-bin sizes (1 KiB and up, past the per-thread cache):
// after a reload freed an index of millions of small objects, that one merge held the reload
// thread for 50-70 ms. Asking for such a block at every pause makes glibc merge what the last
// burst freed, a burst's worth at a time. (Turning fastbins off instead, mallopt(M_MXFAST, 0),
// cost request threads 7-11 % of their throughput.) Other allocators just serve the block.
void MergeFreedSmallBlocks() {
  void* volatile block = std::malloc(4096);  // volatile: the pair must not be optimized away
  std::free(block);
}

}  // namespace

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
  MergeFreedSmallBlocks();
  sleep_(pause);
  ++stats_.pauses;
  stats_.paused += pause;
  burst_start_ = clock_();  // sleeping costs no CPU time, but the syscall does a little
  last_point_ = burst_start_;
}

}  // namespace fleetpdp::server
