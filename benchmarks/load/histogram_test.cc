// The load generator's histogram against exact percentiles of known values.
#include "benchmarks/load/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace fleetpdp::load {
namespace {

TEST(HistogramTest, ValuesBelow128AreExact) {
  for (uint64_t v = 0; v < 128; ++v) EXPECT_EQ(Histogram::UpperBound(Histogram::BucketOf(v)), v);
}

TEST(HistogramTest, EveryValueLiesInItsBucketWithinOnePercent) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 40 + 24);  // spread over many magnitudes
    const size_t b = Histogram::BucketOf(v);
    const uint64_t upper = Histogram::UpperBound(b);
    const uint64_t lower = b == 0 ? 0 : Histogram::UpperBound(b - 1) + 1;
    ASSERT_LE(lower, v);
    ASSERT_GE(upper, v);
    ASSERT_LE(static_cast<double>(upper - v), 0.008 * static_cast<double>(v) + 1) << v;
  }
}

TEST(HistogramTest, BucketsAreContiguousAndIncreasing) {
  for (size_t b = 1; b < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::BucketOf(Histogram::UpperBound(b - 1) + 1), b);
    ASSERT_GT(Histogram::UpperBound(b), Histogram::UpperBound(b - 1));
  }
}

TEST(HistogramTest, HugeValuesAreClampedIntoTheLastBucket) {
  EXPECT_EQ(Histogram::BucketOf(~uint64_t{0}), Histogram::kBuckets - 1);
}

TEST(HistogramTest, PercentilesMatchSortedValuesWithinTheBucketWidth) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(50'000.0), 0.8);  // ~50 µs, long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    values.push_back(static_cast<uint64_t>(latency(rng)));
    h.Record(values.back());
  }
  std::sort(values.begin(), values.end());
  Histogram::Snapshot s = h.TakeSnapshot();
  EXPECT_EQ(s.count(), values.size());
  for (double p : {50.0, 90.0, 99.0, 99.9, 100.0}) {
    const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
    const uint64_t exact = values[rank - 1];
    EXPECT_GE(s.Percentile(p), exact) << "p" << p;
    EXPECT_LE(static_cast<double>(s.Percentile(p)), static_cast<double>(exact) * 1.008 + 1)
        << "p" << p;
  }
  EXPECT_NEAR(s.mean(), 50'000.0 * std::exp(0.8 * 0.8 / 2), 1'000);
}

TEST(HistogramTest, AnEmptyHistogramReportsZero) {
  Histogram h;
  EXPECT_EQ(h.TakeSnapshot().Percentile(99), 0u);
  EXPECT_EQ(h.TakeSnapshot().count(), 0u);
}

TEST(HistogramTest, ConcurrentRecordsAreAllCounted) {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 100000; ++i) h.Record(static_cast<uint64_t>(i * (t + 1)));
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.TakeSnapshot().count(), 400000u);
}

TEST(HistogramTest, MergeAddsAndResetEmpties) {
  Histogram a, b;
  a.Record(10);
  b.Record(1'000'000);
  a.Merge(b);
  EXPECT_EQ(a.TakeSnapshot().count(), 2u);
  EXPECT_GE(a.TakeSnapshot().max(), 1'000'000u);
  a.Reset();
  EXPECT_EQ(a.TakeSnapshot().count(), 0u);
}

}  // namespace
}  // namespace fleetpdp::load
