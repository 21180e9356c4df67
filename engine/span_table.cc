#include "engine/span_table.h"

#include <bit>

namespace fleetpdp::engine {

SpanTable::SpanTable(const std::vector<std::pair<uint64_t, Span>>& entries)
    : size_(entries.size()) {
  if (entries.empty()) return;
  // At most half full: probe sequences stay short.
  const size_t capacity = std::bit_ceil(entries.size() * 2);
  slots_.resize(capacity);
  mask_ = capacity - 1;
  for (const auto& [key, span] : entries) {
    size_t i = Home(key);
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{key, span};
  }
}

}  // namespace fleetpdp::engine
