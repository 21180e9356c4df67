// Overload protection of a replica: the limits `fleetpdp serve` is given, and the counter that
// enforces the two the decision service applies itself (calls in flight, open streams).
//
//   ConcurrencyLimit calls(4096);
//   if (!calls.TryAcquire()) return RESOURCE_EXHAUSTED;   // refused at once, nothing decided
//   …                                                     // the call runs
//   calls.Release();                                      // when the call has ended (OnDone)
//
// Where each limit acts (docs/reliability-overload-failover.md):
//   memory_bytes             gRPC's ResourceQuota: transport buffers and call arenas. Under
//                            pressure gRPC shrinks flow-control windows, then cancels streams
//                            with RESOURCE_EXHAUSTED ("Buffers full").
//   max_threads              the ResourceQuota's thread bound: gRPC's pool for synchronous
//                            services (server reflection); decisions run on callback threads.
//   max_concurrent_streams   HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls open at once on one
//                            connection; a client queues the rest on its side.
//   max_in_flight_calls      Check and BatchCheck calls between the handler and the end of the
//                            call (answer sent), across all connections.
//   max_open_streams         CheckStream calls open at once; each one's unsent answers are bounded
//                            by the stream reactor (it stops reading, so HTTP/2 flow control
//                            holds the client back).
//
// Thread safety: ConcurrencyLimit may be used from any thread; OverloadLimits is a plain value.
#ifndef FLEETPDP_SERVER_LIMITS_H_
#define FLEETPDP_SERVER_LIMITS_H_

#include <atomic>
#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"

namespace fleetpdp::server {

// The gRPC-level limits (the service's are ServiceLimits in decision_service.h).
struct OverloadLimits {
  // ResourceQuota size. Sized for ~1,000 connections with full 64 KiB windows in both directions
  // and room for calls; a container should leave the bundle's memory on top of it.
  size_t memory_bytes = size_t{512} << 20;
  int max_threads = 64;
  int max_concurrent_streams = 100;  // RFC 9113 §6.5.2 advises not less than 100
};

// A count of things in progress with a ceiling. 0 means no ceiling.
class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(size_t limit) : limit_(limit) {}
  ConcurrencyLimit(const ConcurrencyLimit&) = delete;
  ConcurrencyLimit& operator=(const ConcurrencyLimit&) = delete;

  // Takes one unit; false (and nothing taken) when `limit` are already taken.
  bool TryAcquire() {
    const size_t before = in_use_.fetch_add(1, std::memory_order_relaxed);
    if (limit_ != 0 && before >= limit_) {
      in_use_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  // REQUIRES: a unit taken by TryAcquire and not yet released.
  void Release() { in_use_.fetch_sub(1, std::memory_order_relaxed); }

  size_t limit() const { return limit_; }
  // May briefly exceed limit() by the number of concurrent refused TryAcquire calls.
  size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  const size_t limit_;
  std::atomic<size_t> in_use_{0};
};

// A byte count as flags give it: "1048576", "512KiB", "64MiB", "1GiB" (also "KB"/"MB"/"GB",
// read as the binary units, and "K"/"M"/"G"). InvalidArgument naming the text otherwise, or
// when it does not fit in size_t.
absl::StatusOr<size_t> ParseByteSize(std::string_view text);

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_LIMITS_H_
