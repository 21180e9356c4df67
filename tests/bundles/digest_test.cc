#include "bundles/digest.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "bundles/bundle_test_util.h"
#include "engine/pace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

namespace fs = std::filesystem;
using ::fleetpdp::bundles::testing::TempDir;
using ::fleetpdp::bundles::testing::WriteTree;

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// A fresh directory per test, removed afterwards.
BundleFiles SmallBundle() {
  return {{"manifest.yaml", "name: fleet\nrevision: 3\n"},
          {"policies/cams.yaml", "kind: Policy\n"},
          {"policies/empty.yaml", ""}};
}

TEST(Sha256HexTest, MatchesTheKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Sha256Hex("abc"), kAbcSha256);
}

TEST(Sha256HexTest, HashesEmbeddedNulBytes) {
  EXPECT_NE(Sha256Hex(std::string("a\0b", 3)), Sha256Hex("a"));
}

TEST(Sha256HexTest, HashesALargeInputInPacedChunksToTheSameDigest) {
  std::string big(3 * 1024 * 1024 + 5, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7) % 251);
  // python3: hashlib.sha256(bytes((i*7)%251 for i in range(3*1024*1024+5))).hexdigest()
  constexpr char kExpected[] = "ec2623f73dcc1952ac286d1a0e4b72f10904022864fa6db9558717a7e5a94ec4";
  struct Counting : engine::Pacer {
    void Point() override { ++points; }
    int points = 0;
  } pacer;
  {
    engine::ScopedPacer pacing(&pacer);
    EXPECT_EQ(Sha256Hex(big), kExpected);
  }
  EXPECT_EQ(pacer.points, 4) << "a point before each mebibyte";
  EXPECT_EQ(Sha256Hex(big), kExpected);
}

TEST(CanonicalListTest, IsOneSha256sumLinePerFileSortedByPath) {
  BundleFiles files;
  files.emplace("b.yaml", "abc");
  files.emplace("a.yaml", "");
  EXPECT_EQ(CanonicalList(files),
            absl::StrCat(kEmptySha256, "  a.yaml\n", kAbcSha256, "  b.yaml\n"));
}

TEST(HashFilesTest, HashesEveryFileIncludingTheSignaturesOnce) {
  BundleFiles files{{"a.yaml", ""}, {"b.yaml", "abc"}, {std::string(kSignaturesPath), "{}"}};
  FileHashes hashes = HashFiles(files);
  ASSERT_EQ(hashes.size(), 3u);
  EXPECT_EQ(hashes["a.yaml"], kEmptySha256);
  EXPECT_EQ(hashes["b.yaml"], kAbcSha256);
  EXPECT_EQ(hashes[std::string(kSignaturesPath)], Sha256Hex("{}"));
  EXPECT_EQ(CanonicalList(files, hashes), CanonicalList(files));
}

TEST(CanonicalListTest, OfNoFilesIsEmpty) { EXPECT_EQ(CanonicalList({}), ""); }

TEST(CanonicalListTest, SortsByBytesNotByLocale) {
  BundleFiles files{{"a", ""}, {"B", ""}, {"\xc3\xa9", ""}};
  std::string list = CanonicalList(files);
  EXPECT_LT(list.find("  B\n"), list.find("  a\n"));
  EXPECT_LT(list.find("  a\n"), list.find("  \xc3\xa9\n"));
}

TEST(CanonicalListTest, LeavesOutTheSignaturesFile) {
  BundleFiles files = SmallBundle();
  std::string list = CanonicalList(files);
  std::string digest = BundleDigest(files);
  files.emplace(std::string(kSignaturesPath), R"({"signatures": []})");
  EXPECT_EQ(CanonicalList(files), list);
  EXPECT_EQ(BundleDigest(files), digest);
  EXPECT_THAT(list, ::testing::Not(::testing::HasSubstr(".signatures.json")));
}

TEST(CanonicalListTest, EqualsWhatSha256sumPrints) {
  TempDir dir;
  BundleFiles files = SmallBundle();
  WriteTree(dir.path(), files);
  fs::path out = dir.path() / "sha256sum.out";
  std::string command = "cd '" + dir.path().string() +
                        "' && sha256sum manifest.yaml policies/cams.yaml policies/empty.yaml > '" +
                        out.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(out);
  std::stringstream printed;
  printed << in.rdbuf();
  EXPECT_EQ(CanonicalList(files), printed.str());
}

TEST(CanonicalListTest, EscapesANewlineInAPathSoItCannotForgeALine) {
  // Not a valid bundle path, but the list must stay unambiguous for any map: without escaping,
  // one file named "a\n<hash>  b" would list exactly like two files "a" and "b".
  BundleFiles two{{"a", "x"}, {"b", "y"}};
  BundleFiles one{{absl::StrCat("a\n", Sha256Hex("y"), "  b"), "x"}};
  EXPECT_NE(CanonicalList(one), CanonicalList(two));
  EXPECT_EQ(CanonicalList(one),
            absl::StrCat("\\", Sha256Hex("x"), "  a\\n", Sha256Hex("y"), "  b\n"));
  EXPECT_EQ(CanonicalList({{"a\\b", ""}}), absl::StrCat("\\", kEmptySha256, "  a\\\\b\n"));
}

TEST(BundleDigestTest, IsTheSha256OfTheCanonicalList) {
  BundleFiles files = SmallBundle();
  EXPECT_EQ(BundleDigest(files), Sha256Hex(CanonicalList(files)));
}

TEST(BundleDigestTest, DoesNotDependOnTheOrderFilesWereAdded) {
  BundleFiles forward, backward;
  BundleFiles small = SmallBundle();
  for (const auto& file : small) forward.emplace(file);
  backward.insert(small.rbegin(), small.rend());  // last to first
  EXPECT_EQ(BundleDigest(forward), BundleDigest(backward));
}

TEST(BundleDigestTest, IsTheSameForADirectoryAndAnArchiveOfTheSameFiles) {
  TempDir dir;
  BundleFiles files = SmallBundle();
  WriteTree(dir.path() / "tree", files);
  absl::StatusOr<BundleFiles> from_directory = ReadBundleDirectory(dir.path() / "tree");
  ASSERT_OK(from_directory);
  absl::StatusOr<std::string> archive = WriteBundleArchive(files);
  ASSERT_OK(archive);
  absl::StatusOr<BundleFiles> from_archive = ReadBundleArchive(*archive);
  ASSERT_OK(from_archive);
  EXPECT_EQ(BundleDigest(*from_directory), BundleDigest(files));
  EXPECT_EQ(BundleDigest(*from_archive), BundleDigest(files));
}

TEST(BundleDigestTest, IsTheSameForArchivesPackedByTarInDifferentFileOrders) {
  TempDir dir;
  BundleFiles files = SmallBundle();
  WriteTree(dir.path() / "tree", files);
  std::string forward, backward;
  for (const auto& [path, content] : files) {
    forward += " " + path;
    backward = " " + path + backward;
  }
  const std::string tree = (dir.path() / "tree").string();
  ASSERT_EQ(std::system(("tar -czf " + (dir / "forward.tar.gz") + " -C " + tree + forward).c_str()),
            0);
  ASSERT_EQ(
      std::system(("tar -czf " + (dir / "backward.tar.gz") + " -C " + tree + backward).c_str()), 0);
  absl::StatusOr<BundleFiles> a = ReadBundle(dir / "forward.tar.gz");
  absl::StatusOr<BundleFiles> b = ReadBundle(dir / "backward.tar.gz");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE(ReadFileBytes(dir / "forward.tar.gz").value(),
            ReadFileBytes(dir / "backward.tar.gz").value());
  EXPECT_EQ(BundleDigest(*a), BundleDigest(files));
  EXPECT_EQ(BundleDigest(*b), BundleDigest(files));
}

TEST(BundleDigestTest, ChangesWithAnyOneByteOfAnyContentOrPath) {
  const BundleFiles original = SmallBundle();
  const std::string digest = BundleDigest(original);
  std::set<std::string> seen{digest};
  int variants = 0;
  for (const auto& [path, content] : original) {
    for (size_t i = 0; i < content.size(); ++i) {
      BundleFiles changed = original;
      changed[path][i] ^= 0x01;
      EXPECT_TRUE(seen.insert(BundleDigest(changed)).second) << path << " content byte " << i;
      ++variants;
    }
    for (size_t i = 0; i < path.size(); ++i) {
      BundleFiles changed = original;
      std::string renamed = path;
      renamed[i] = renamed[i] == 'z' ? 'y' : 'z';
      changed.erase(path);
      ASSERT_TRUE(changed.emplace(renamed, content).second) << renamed;
      EXPECT_TRUE(seen.insert(BundleDigest(changed)).second) << path << " path byte " << i;
      ++variants;
    }
    // Appending a byte changes the digest too (so does an empty file's only possible change).
    BundleFiles longer = original;
    longer[path] += '\n';
    EXPECT_TRUE(seen.insert(BundleDigest(longer)).second) << path << " grown by one byte";
    ++variants;
  }
  EXPECT_GT(variants, 60);
}

}  // namespace
}  // namespace fleetpdp::bundles
