// The rule index's flat lookup tables: LiteralEdgeTable (edge_table.h) and SpanTable
// (span_table.h).
#include <string>
#include <utility>
#include <vector>

#include "engine/edge_table.h"
#include "engine/span_table.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {
namespace {

TEST(LevelHashTest, EqualTextsHashEquallyWhereverTheyLive) {
  const std::string a = "telemetry";
  const std::string b = std::string("xtelemetry").substr(1);
  EXPECT_EQ(LevelHash(a), LevelHash(b));
  EXPECT_EQ(LevelHash(""), LevelHash(std::string()));
}

TEST(LevelHashTest, TextsOfEveryLengthClassHashDifferentlyFromTheirNeighbours) {
  // Lengths 0–40 cover the 1–3, 4–7, 8–16 byte tails and whole 16-byte blocks.
  std::vector<uint64_t> hashes;
  for (size_t n = 0; n <= 40; ++n) {
    std::string s(n, 'a');
    hashes.push_back(LevelHash(s));
    if (n > 0) {
      s[n - 1] = 'b';
      EXPECT_NE(LevelHash(s), hashes.back()) << n;
      s[n - 1] = 'a';
      s[0] = 'b';
      EXPECT_NE(LevelHash(s), hashes.back()) << n;
    }
  }
  for (size_t i = 1; i < hashes.size(); ++i) EXPECT_NE(hashes[i], hashes[i - 1]) << i;
}

TEST(LiteralEdgeTableTest, FindsEveryEdgeByParentAndTextAndNothingElse) {
  const std::string long_text(100, 'x');  // longer than kInlineText: kept in the pool
  std::vector<LiteralEdgeTable::Edge> edges;
  std::vector<std::string> texts;
  for (uint32_t i = 0; i < 500; ++i) texts.push_back("level-" + std::to_string(i));
  for (uint32_t i = 0; i < 500; ++i) {
    edges.push_back({i % 7, 1000 + i, texts[i]});
  }
  edges.push_back({3, 2000, long_text});
  edges.push_back({3, 2001, ""});
  LiteralEdgeTable table(edges);
  EXPECT_EQ(table.size(), edges.size());
  for (const LiteralEdgeTable::Edge& e : edges) {
    EXPECT_EQ(table.Find(e.parent, LevelHash(e.text), e.text), e.child) << e.text;
    EXPECT_EQ(table.Find(e.parent + 7, LevelHash(e.text), e.text), LiteralEdgeTable::kNone);
  }
  const std::string near(99, 'x');
  EXPECT_EQ(table.Find(3, LevelHash(near), near), LiteralEdgeTable::kNone);
  EXPECT_EQ(table.Find(0, LevelHash("level-"), "level-"), LiteralEdgeTable::kNone);
}

// Two level texts whose hashes collide must still be told apart by their bytes: a probe with the
// hash of the edge's text but one byte different finds nothing, at every length around the
// inline limit and the word sizes the comparison reads, and with the byte at every position.
TEST(LiteralEdgeTableTest, ATextThatCollidesOnHashButDiffersInOneByteFindsNothing) {
  std::vector<std::string> texts;
  for (size_t n = 1; n <= LiteralEdgeTable::kInlineText + 4; ++n)
    texts.push_back(std::string(n, 'q'));
  std::vector<LiteralEdgeTable::Edge> edges;
  for (uint32_t i = 0; i < texts.size(); ++i) edges.push_back({0, 100 + i, texts[i]});
  LiteralEdgeTable table(edges);
  for (const LiteralEdgeTable::Edge& e : edges) {
    const uint64_t hash = LevelHash(e.text);
    EXPECT_EQ(table.Find(0, hash, e.text), e.child) << e.text;
    for (size_t at = 0; at < e.text.size(); ++at) {
      std::string other(e.text);
      other[at] = 'r';
      EXPECT_EQ(table.Find(0, hash, other), LiteralEdgeTable::kNone) << other;
    }
  }
}

TEST(LiteralEdgeTableTest, AnEmptyTableFindsNothing) {
  LiteralEdgeTable table;
  EXPECT_EQ(table.Find(0, LevelHash("a"), "a"), LiteralEdgeTable::kNone);
}

TEST(SpanTableTest, FindsEveryKeyAndNothingElse) {
  std::vector<std::pair<uint64_t, SpanTable::Span>> entries;
  for (uint32_t node = 0; node < 50; ++node) {
    for (uint32_t key = 0; key < 20; key += 3) {
      entries.push_back({uint64_t{node} << 32 | key, {node * 100 + key, key + 1}});
    }
  }
  SpanTable table(entries);
  EXPECT_EQ(table.size(), entries.size());
  for (const auto& [key, span] : entries) {
    const SpanTable::Span* found = table.Find(key);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->offset, span.offset);
    EXPECT_EQ(found->size, span.size);
    EXPECT_EQ(table.Find(key + 1), nullptr);
  }
  EXPECT_EQ(SpanTable().Find(0), nullptr);
}

}  // namespace
}  // namespace fleetpdp::engine
