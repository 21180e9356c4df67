// A log-linear latency histogram (the HdrHistogram idea, written small: Debian packages none).
//
//   Histogram h;
//   h.Record(latency_ns);                 // from any thread, lock-free
//   uint64_t p99 = h.TakeSnapshot().Percentile(99.0);
//
// Values are nanoseconds from 1 to 2^42 (~73 minutes; larger values are clamped). Each power of
// two is split into 2^kSubBits = 128 linear buckets, so a bucket is at most 1/128 (0.8%) of its
// value wide: relative error below 0.8% everywhere, exact below 128 ns. Percentiles report the
// bucket's upper bound, so they never understate.
//
// Thread safety: Record and TakeSnapshot may run concurrently from any threads (relaxed atomics: a
// snapshot taken during recording may miss the latest values, never tear one). Merge and Reset
// need exclusive access. A Snapshot is a plain value.
#ifndef FLEETPDP_BENCHMARKS_LOAD_HISTOGRAM_H_
#define FLEETPDP_BENCHMARKS_LOAD_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fleetpdp::load {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxBits = 42;
  static constexpr size_t kBuckets = static_cast<size_t>(kMaxBits - kSubBits + 1) << kSubBits;

  // The bucket of `v`: values below 2^kSubBits have one bucket each; above, bucket
  // (magnitude - kSubBits + 1, the kSubBits bits after the leading one).
  static size_t BucketOf(uint64_t v) {
    if (v >= (uint64_t{1} << kMaxBits)) v = (uint64_t{1} << kMaxBits) - 1;
    if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
    const int magnitude = 63 - std::countl_zero(v);  // index of the leading one, ≥ kSubBits
    const int shift = magnitude - kSubBits;
    const uint64_t sub = (v >> shift) & ((uint64_t{1} << kSubBits) - 1);
    return (static_cast<size_t>(shift + 1) << kSubBits) + static_cast<size_t>(sub);
  }
  // The largest value that falls into bucket `b`.
  static uint64_t UpperBound(size_t b) {
    if (b < (size_t{1} << kSubBits)) return b;
    const int shift = static_cast<int>(b >> kSubBits) - 1;
    const uint64_t sub = b & ((size_t{1} << kSubBits) - 1);
    const uint64_t low = ((uint64_t{1} << kSubBits) | sub) << shift;
    return low + (uint64_t{1} << shift) - 1;
  }

  void Record(uint64_t value_ns) {
    counts_[BucketOf(value_ns)].fetch_add(1, std::memory_order_relaxed);
  }

  class Snapshot {
   public:
    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }
    // The smallest recorded bucket bound below which at least `p` percent of the values lie;
    // 0 when empty. REQUIRES: 0 <= p <= 100.
    uint64_t Percentile(double p) const;

   private:
    friend class Histogram;
    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t max_ = 0;
    double sum_ = 0;
  };
  Snapshot TakeSnapshot() const;

  // Adds every value of `other` to this histogram.
  void Merge(const Histogram& other);
  void Reset();

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

}  // namespace fleetpdp::load

#endif  // FLEETPDP_BENCHMARKS_LOAD_HISTOGRAM_H_
