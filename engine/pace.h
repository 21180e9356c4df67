// Cooperative pacing of long work. Loading a large bundle runs for seconds on one thread:
// decompressing, hashing, parsing, validating, compiling and finally freeing the index it replaces.
// On a core shared with request threads, a thread that computes without a break delays them by
// milliseconds even at a low priority (the scheduler lets it finish its slice). So that work calls
// PacePoint() between small units (a buffer, a document, a few hundred statements), and a thread
// that installed a Pacer lets it step aside there — the server's reloader sleeps briefly
// (server/reload_pacer.h) so a reload runs in sub-millisecond bursts.
//
//   engine::ScopedPacer pacing(&my_pacer);   // this thread, until the end of the scope
//   auto index = engine::Compile(std::move(set));  // calls my_pacer.Point() as it goes
//
// With no pacer installed PacePoint() is a thread-local load and a branch. The engine does not
// sleep or read clocks itself: what a point does is the pacer's business.
//
// Thread safety: the installed pacer is per thread; a Pacer is only called on the thread that
// installed it.
#ifndef FLEETPDP_ENGINE_PACE_H_
#define FLEETPDP_ENGINE_PACE_H_

#include <algorithm>
#include <cstddef>
#include <vector>

namespace fleetpdp::engine {

class Pacer {
 public:
  virtual ~Pacer() = default;
  // Called between units of work; may block (sleep) to let other threads run.
  virtual void Point() = 0;
};

namespace pace_internal {
inline thread_local Pacer* current = nullptr;
}  // namespace pace_internal

inline void PacePoint() {
  if (Pacer* p = pace_internal::current; p != nullptr) p->Point();
}

// A point on every `every`-th iteration `i` of a loop; `every` is a power of two.
inline void PaceEvery(size_t i, size_t every) {
  if ((i & (every - 1)) == every - 1) PacePoint();
}

// Destroys the elements of `v` from the back with a point every `every` of them, then frees its
// buffer: freeing an index of a million entities is itself hundreds of milliseconds of work.
template <typename T>
void ClearPaced(std::vector<T>& v, size_t every = 1024) {
  if (pace_internal::current != nullptr) {
    for (size_t i = 0; !v.empty(); ++i) {
      PaceEvery(i, every);
      v.pop_back();
    }
  }
  std::vector<T>().swap(v);
}

// std::sort in pieces, with a point between them: blocks of `block` elements sorted, then merged
// pairwise (std::inplace_merge). Sorting the postings of 100,000 statements is ~20 ms in one
// piece. Without a pacer: std::sort. Neither keeps equal elements in their order.
template <typename It, typename Less>
void SortPaced(It first, It last, Less less, size_t block = 16384) {
  const size_t n = static_cast<size_t>(last - first);
  if (pace_internal::current == nullptr || n <= block) {
    std::sort(first, last, less);
    return;
  }
  for (size_t i = 0; i < n; i += block) {
    PacePoint();
    std::sort(first + i, first + std::min(n, i + block), less);
  }
  for (size_t width = block; width < n; width *= 2) {
    for (size_t i = 0; i + width < n; i += 2 * width) {
      PacePoint();
      std::inplace_merge(first + i, first + i + width, first + std::min(n, i + 2 * width), less);
    }
  }
}

// Installs `pacer` for this thread until destroyed, then restores the one before it.
class ScopedPacer {
 public:
  explicit ScopedPacer(Pacer* pacer) : previous_(pace_internal::current) {
    pace_internal::current = pacer;
  }
  ~ScopedPacer() { pace_internal::current = previous_; }
  ScopedPacer(const ScopedPacer&) = delete;
  ScopedPacer& operator=(const ScopedPacer&) = delete;

 private:
  Pacer* previous_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_PACE_H_
