#include "benchmarks/load/histogram.h"

#include <cmath>

namespace fleetpdp::load {

Histogram::Snapshot Histogram::TakeSnapshot() const {
  Snapshot s;
  s.counts_.resize(kBuckets);
  for (size_t b = 0; b < kBuckets; ++b) {
    const uint64_t n = counts_[b].load(std::memory_order_relaxed);
    s.counts_[b] = n;
    if (n == 0) continue;
    s.count_ += n;
    s.max_ = UpperBound(b);
    // The bucket's midpoint stands for its values: the mean is as precise as the buckets.
    const uint64_t low = b == 0 ? 0 : UpperBound(b - 1) + 1;
    s.sum_ += static_cast<double>(n) *
              (static_cast<double>(low) + static_cast<double>(UpperBound(b))) / 2;
  }
  return s;
}

uint64_t Histogram::Snapshot::Percentile(double p) const {
  if (count_ == 0) return 0;
  // The rank of the value at percentile p, 1-based: at least 1, at most count_.
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (size_t b = 0; b < counts_.size(); ++b) {
    seen += counts_[b];
    if (seen >= rank) return UpperBound(b);
  }
  return max_;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t b = 0; b < kBuckets; ++b) {
    counts_[b].fetch_add(other.counts_[b].load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
  }
}

void Histogram::Reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

}  // namespace fleetpdp::load
