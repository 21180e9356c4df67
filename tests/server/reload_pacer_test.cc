// Tests for server/reload_pacer.h: a paced thread works in bursts and sleeps in proportion to
// the share of a core it may use; stats say how a load was paced.
#include "server/reload_pacer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::server {
namespace {

using ::testing::ElementsAre;

// A CPU clock the test advances, and the sleeps asked for.
struct FakeThread {
  absl::Duration cpu;
  std::vector<absl::Duration> sleeps;
  ReloadPacer Pacer(double share, absl::Duration burst = absl::Microseconds(500)) {
    return ReloadPacer(
        ReloadPaceOptions{.cpu_share = share, .burst = burst}, [this] { return cpu; },
        [this](absl::Duration d) { sleeps.push_back(d); });
  }
};

TEST(ReloadPacerTest, AtHalfACoreEachBurstIsFollowedByAPauseAsLongAsIt) {
  FakeThread t;
  ReloadPacer pacer = t.Pacer(0.5);
  for (int us : {0, 200, 400, 600, 700, 900, 1200}) {
    t.cpu = absl::Microseconds(us);
    pacer.Point();
  }
  // Bursts end at 600 µs (600 worked) and at 1,200 (600 since the first pause).
  EXPECT_THAT(t.sleeps, ElementsAre(absl::Microseconds(600), absl::Microseconds(600)));
  EXPECT_EQ(pacer.stats().points, 7u);
  EXPECT_EQ(pacer.stats().pauses, 2u);
  EXPECT_EQ(pacer.stats().paused, absl::Microseconds(1200));
  EXPECT_EQ(pacer.stats().worked, absl::Microseconds(1200));
  EXPECT_EQ(pacer.stats().longest_stretch, absl::Microseconds(300));
}

TEST(ReloadPacerTest, AQuarterOfACoreSleepsThreeTimesTheWork) {
  FakeThread t;
  ReloadPacer pacer = t.Pacer(0.25, absl::Milliseconds(1));
  pacer.Point();
  t.cpu = absl::Milliseconds(2);  // one long stretch of work between two points
  pacer.Point();
  EXPECT_THAT(t.sleeps, ElementsAre(absl::Milliseconds(6)));
  EXPECT_EQ(pacer.stats().longest_stretch, absl::Milliseconds(2));
}

TEST(ReloadPacerTest, AWholeCoreNeverSleepsButStillMeasures) {
  FakeThread t;
  ReloadPacer pacer = t.Pacer(1);
  for (int ms = 0; ms <= 50; ms += 5) {
    t.cpu = absl::Milliseconds(ms);
    pacer.Point();
  }
  EXPECT_TRUE(t.sleeps.empty());
  EXPECT_EQ(pacer.stats().pauses, 0u);
  EXPECT_EQ(pacer.stats().worked, absl::Milliseconds(50));
  EXPECT_EQ(pacer.stats().longest_stretch, absl::Milliseconds(5));
}

TEST(ReloadPacerTest, TheThreadCpuClockCountsWorkNotSleep) {
  const absl::Duration start = ReloadPacer::ThreadCpuTime();
  absl::SleepFor(absl::Milliseconds(30));
  const absl::Duration slept = ReloadPacer::ThreadCpuTime() - start;
  volatile uint64_t x = 0;
  const absl::Duration before = ReloadPacer::ThreadCpuTime();
  while (ReloadPacer::ThreadCpuTime() - before < absl::Milliseconds(20)) x = x + 1;
  EXPECT_LT(slept, absl::Milliseconds(20)) << "a sleep is not CPU time";
  EXPECT_GE(ReloadPacer::ThreadCpuTime() - before, absl::Milliseconds(20));
}

}  // namespace
}  // namespace fleetpdp::server
