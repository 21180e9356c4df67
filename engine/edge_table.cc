#include "engine/edge_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/pace.h"

namespace fleetpdp::engine {
namespace {

constexpr uint64_t kSeed0 = 0xA0761D6478BD642FULL;
constexpr uint64_t kSeed1 = 0xE7037ED1A0B428DBULL;

// A 64×64 → 128-bit multiply folded to 64 bits: a cheap, good mixer of two words.
uint64_t Fold(uint64_t a, uint64_t b) {
  const __uint128_t product = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

uint64_t LevelHash(std::string_view level) {
  const char* p = level.data();
  const size_t n = level.size();
  uint64_t state = kSeed0 ^ n;
  // Whole 16-byte blocks first; then the last 1–16 bytes, read as (possibly overlapping) words.
  size_t rest = n;
  while (rest > 16) {
    state = Fold(Load64(p) ^ kSeed1, Load64(p + 8) ^ state);
    p += 16;
    rest -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (rest >= 8) {
    a = Load64(p);
    b = Load64(p + rest - 8);
  } else if (rest >= 4) {
    a = Load32(p);
    b = Load32(p + rest - 4);
  } else if (rest > 0) {
    a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
        (uint64_t{static_cast<unsigned char>(p[rest / 2])} << 8) |
        static_cast<unsigned char>(p[rest - 1]);
  }
  return Fold(a ^ kSeed1, b ^ state);
}

LiteralEdgeTable::LiteralEdgeTable(const std::vector<Edge>& edges) : size_(edges.size()) {
  if (edges.empty()) return;
  const size_t capacity = std::bit_ceil(edges.size() * 2);
  // Tens of megabytes of empty slots for a large index: filled in steps, with pace points.
  slots_.reserve(capacity);
  for (size_t filled = 0; filled < capacity; filled += 65536) {
    PacePoint();
    slots_.resize(std::min(capacity, filled + 65536));
  }
  mask_ = capacity - 1;
  for (size_t n = 0; n < edges.size(); ++n) {
    PaceEvery(n, 4096);
    const Edge& e = edges[n];
    Slot s;
    const uint64_t hash = LevelHash(e.text);
    s.tag = static_cast<uint32_t>(hash >> 32);
    s.parent = e.parent;
    s.child = e.child;
    s.size = static_cast<uint32_t>(e.text.size());
    if (e.text.size() <= kInlineText) {
      e.text.copy(s.inline_text, e.text.size());
    } else {
      s.offset = static_cast<uint32_t>(pool_.size());
      pool_.append(e.text);
    }
    size_t i = Home(e.parent, hash);
    while (slots_[i].child != kNone) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace fleetpdp::engine
