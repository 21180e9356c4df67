// A flat open-addressing map from 64-bit keys to spans (offset, size) of some pool, for the rule
// index's per-key lookups (runs of large postings, the SUBSCRIBE guide). One probe reads one
// 16-byte slot: key and value together, no separate control bytes, so a lookup costs one cache
// miss where a general hash map costs two.
//
//   SpanTable table({{(uint64_t{7} << 32) | 3, {/*offset=*/0, /*size=*/2}}});
//   const SpanTable::Span* s = table.Find((uint64_t{7} << 32) | 3);  // {0, 2}
//
// Thread safety: immutable after construction; Find may run on many threads at once.
#ifndef FLEETPDP_ENGINE_SPAN_TABLE_H_
#define FLEETPDP_ENGINE_SPAN_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace fleetpdp::engine {

class SpanTable {
 public:
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  SpanTable() = default;
  // REQUIRES: keys are unique and none is kEmpty.
  explicit SpanTable(const std::vector<std::pair<uint64_t, Span>>& entries);

  // The span stored under `key`, or null.
  const Span* Find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.span;
      if (s.key == kEmpty) return nullptr;
    }
  }

  // Starts loading the slot where Find(key) begins (a hint; no effect on results), so that the
  // misses of several lookups overlap instead of following one another.
  void Prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(key)]);
  }

  size_t size() const { return size_; }

  static constexpr uint64_t kEmpty = UINT64_MAX;

 private:
  struct Slot {
    uint64_t key = kEmpty;
    Span span;
  };

  size_t Home(uint64_t key) const {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDULL;
    key ^= key >> 33;
    return static_cast<size_t>(key) & mask_;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_SPAN_TABLE_H_
