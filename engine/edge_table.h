// The literal edges of every trie of a rule index, in one flat open-addressing table keyed by
// (parent node, level text): the lookup a check makes once per resource level and trie.
//
//   std::vector<LiteralEdgeTable::Edge> edges = {{/*parent=*/0, /*child=*/1, "devices"}};
//   LiteralEdgeTable table(edges);
//   uint32_t child = table.Find(0, LevelHash("devices"), "devices");  // 1
//
// A level is hashed once (LevelHash) and the hash reused for every trie a check walks. A 32-byte
// slot holds half of the level's hash and, for levels of up to kInlineText bytes, the text
// itself, so a hit costs one cache line: no pointer to follow, no string to hash again. Longer
// texts live in one pool. The table is at most half full, so probe sequences stay short.
//
// Thread safety: immutable after construction; Find may run on many threads at once.
#ifndef FLEETPDP_ENGINE_EDGE_TABLE_H_
#define FLEETPDP_ENGINE_EDGE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace fleetpdp::engine {

// A hash of one topic level; equal texts hash equally. Not for untrusted keys of a table that
// untrusted input can fill: only the bundle's own literals are ever inserted.
uint64_t LevelHash(std::string_view level);

class LiteralEdgeTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kInlineText = 16;

  struct Edge {
    uint32_t parent;
    uint32_t child;
    std::string_view text;
  };

  LiteralEdgeTable() = default;
  // REQUIRES: no two edges share (parent, text); child != kNone.
  explicit LiteralEdgeTable(const std::vector<Edge>& edges);

  // The child of `parent` along the edge labelled `text`, or kNone.
  // REQUIRES: hash == LevelHash(text).
  uint32_t Find(uint32_t parent, uint64_t hash, std::string_view text) const {
    if (slots_.empty()) return kNone;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = Home(parent, hash);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.child == kNone) return kNone;
      if (s.tag == tag && s.parent == parent && s.size == text.size() && SameText(s, text)) {
        return s.child;
      }
    }
  }

  size_t size() const { return size_; }

 private:
  // 32 bytes, aligned: a slot never straddles two cache lines, so a hit whose text is inline
  // reads one line.
  struct alignas(32) Slot {
    uint32_t tag = 0;  // the high half of the level's hash
    uint32_t parent = 0;
    uint32_t child = kNone;  // kNone: empty
    uint32_t size = 0;
    union {
      char inline_text[kInlineText] = {};  // size <= kInlineText, zero-padded
      uint32_t offset;                     // into pool_, otherwise
    };
  };
  static_assert(sizeof(Slot) == 32);

  size_t Home(uint32_t parent, uint64_t hash) const {
    uint64_t x = hash ^ (uint64_t{parent} * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    return static_cast<size_t>(x) & mask_;
  }
  // REQUIRES: s.size == text.size().
  bool SameText(const Slot& s, std::string_view text) const {
    if (s.size > kInlineText) return text == std::string_view(pool_.data() + s.offset, s.size);
    return SameShortText(s.inline_text, text.data(), text.size());
  }
  // Whether the first n bytes at `stored` (n <= kInlineText) equal those at `p`, reading only
  // those n bytes of `p`: two word compares that may overlap, instead of a call to memcmp.
  static bool SameShortText(const char* stored, const char* p, size_t n) {
    if (n >= 8)
      return Word<uint64_t>(stored) == Word<uint64_t>(p) &&
             Word<uint64_t>(stored + n - 8) == Word<uint64_t>(p + n - 8);
    if (n >= 4)
      return Word<uint32_t>(stored) == Word<uint32_t>(p) &&
             Word<uint32_t>(stored + n - 4) == Word<uint32_t>(p + n - 4);
    for (size_t i = 0; i < n; ++i) {
      if (stored[i] != p[i]) return false;
    }
    return true;
  }
  template <typename T>
  static T Word(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
  std::string pool_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_EDGE_TABLE_H_
