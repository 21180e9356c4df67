#include "bundles/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bundles/bundle_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

namespace fs = std::filesystem;
using ::fleetpdp::bundles::testing::TempDir;
using ::fleetpdp::bundles::testing::WriteTree;
using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Pair;

// ---------------------------------------------------------------------------------------------
// Forging archives: libarchive's writer used directly, with none of WriteBundleArchive's checks.

struct RawEntry {
  std::string path{};
  std::string content{};
  mode_t type = AE_IFREG;
  std::string symlink{};   // for AE_IFLNK
  std::string hardlink{};  // non-empty: a hard link to this path
  size_t zeros = 0;        // appended after `content`, written in chunks (for bombs)
};

la_ssize_t Append(archive*, void* out, const void* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

std::string RawArchive(const std::vector<RawEntry>& entries, bool gzip = true) {
  std::string out;
  archive* a = archive_write_new();
  EXPECT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  if (gzip) {
    EXPECT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
  }
  EXPECT_EQ(archive_write_open2(a, &out, nullptr, Append, nullptr, nullptr), ARCHIVE_OK);
  for (const RawEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.symlink.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(entry, e.hardlink.c_str());
    size_t size = e.type == AE_IFREG && e.hardlink.empty() ? e.content.size() + e.zeros : 0;
    archive_entry_set_size(entry, static_cast<la_int64_t>(size));
    EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (size > 0) {
      archive_write_data(a, e.content.data(), e.content.size());
      const std::string zeros(1 << 20, '\0');
      for (size_t left = e.zeros; left > 0;) {
        size_t n = std::min(left, zeros.size());
        EXPECT_EQ(archive_write_data(a, zeros.data(), n), static_cast<la_ssize_t>(n));
        left -= n;
      }
    }
    archive_entry_free(entry);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

RawEntry File(std::string path, std::string content = "x") {
  return RawEntry{.path = std::move(path), .content = std::move(content)};
}

// Reads an archive back with libarchive itself, to check what WriteBundleArchive put in it.
struct Header {
  std::string path;
  mode_t mode;
  int64_t uid, gid, mtime;
  std::string uname, gname;
};
std::vector<Header> RawHeaders(const std::string& tar_gz) {
  std::vector<Header> headers;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar_gz.data(), tar_gz.size()), ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    const char* uname = archive_entry_uname(entry);
    const char* gname = archive_entry_gname(entry);
    headers.push_back(Header{archive_entry_pathname(entry), archive_entry_mode(entry),
                             archive_entry_uid(entry), archive_entry_gid(entry),
                             archive_entry_mtime(entry), uname ? uname : "", gname ? gname : ""});
  }
  archive_read_free(a);
  return headers;
}

BundleFiles SampleFiles() {
  return {{"manifest.yaml", "name: fleet\nrevision: 3\n"},
          {"policies/cams.yaml", "kind: Policy\n"},
          {"policies/nested/deep/empty.yaml", ""},
          {"entities/binary.bin", std::string("\0\x01\xff\n\0", 5)},
          {std::string(150, 'l') + "/" + std::string(120, 'o') + ".yaml", "long path"},
          {"policies/caf\xc3\xa9.yaml", "utf-8 path"},
          {std::string(kSignaturesPath), "{}"}};
}

// ---------------------------------------------------------------------------------------------
// ValidateBundlePath (bundle_files.h has no test file of its own; archive reading is its user)

TEST(ValidateBundlePathTest, AcceptsRelativeSlashSeparatedPaths) {
  EXPECT_OK(ValidateBundlePath("manifest.yaml"));
  EXPECT_OK(ValidateBundlePath("policies/nested/a.yaml"));
  EXPECT_OK(ValidateBundlePath(".signatures.json"));
  EXPECT_OK(ValidateBundlePath("..hidden/a..b/..."));
  EXPECT_OK(ValidateBundlePath("caf\xc3\xa9.yaml"));
}

TEST(ValidateBundlePathTest, RejectsEachKindOfBadPathNamingIt) {
  struct Case {
    std::string path;
    std::string message;
  };
  const Case cases[] = {
      {"", "path \"\" is empty"},
      {"/etc/passwd", "path \"/etc/passwd\" is absolute"},
      {"../etc/passwd", R"(path "../etc/passwd" leaves the bundle (".." segment))"},
      {"a/..", "leaves the bundle"},
      {".", "has a \".\" segment"},
      {"a/./b", R"(path "a/./b" has a "." segment)"},
      {"a//b", "has an empty segment"},
      {"a/", "has an empty segment"},
      {"a\\b", "contains a backslash"},
      {std::string("a\0z", 3), R"(path "a\x00z" contains a control character (0x00))"},
      {"a\nb", R"(path "a\nb" contains a control character (0x0a))"},
      {"a\x7f", "contains a control character (0x7f)"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ValidateBundlePath(c.path),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.path;
  }
}

TEST(ValidateBundlePathTest, RejectsAPathOverMaxPathBytesQuotingOnlyItsStart) {
  ReadLimits limits;
  EXPECT_OK(ValidateBundlePath(std::string(limits.max_path_bytes, 'a'), limits));
  absl::Status status = ValidateBundlePath(std::string(limits.max_path_bytes + 1, 'a'), limits);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("is 1025 bytes long, over the limit of 1024 "
                                         "(max_path_bytes)")));
  EXPECT_LT(status.message().size(), 300u);
}

// ---------------------------------------------------------------------------------------------
// WriteBundleArchive / ReadBundleArchive

TEST(ArchiveTest, RoundTripKeepsEveryFileByteForByte) {
  BundleFiles files = SampleFiles();
  absl::StatusOr<std::string> archive = WriteBundleArchive(files);
  ASSERT_OK(archive);
  absl::StatusOr<BundleFiles> read = ReadBundleArchive(*archive);
  ASSERT_OK(read);
  EXPECT_EQ(*read, files);
}

TEST(ArchiveTest, EmptyBundleRoundTrips) {
  absl::StatusOr<std::string> archive = WriteBundleArchive({});
  ASSERT_OK(archive);
  absl::StatusOr<BundleFiles> read = ReadBundleArchive(*archive);
  ASSERT_OK(read);
  EXPECT_TRUE(read->empty());
}

TEST(ArchiveTest, SameFilesGiveIdenticalBytes) {
  absl::StatusOr<std::string> first = WriteBundleArchive(SampleFiles());
  absl::StatusOr<std::string> second = WriteBundleArchive(SampleFiles());
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(*first, *second);
}

TEST(ArchiveTest, FilesAddedInAnotherOrderGiveIdenticalBytes) {
  BundleFiles sample = SampleFiles();
  BundleFiles backwards(sample.rbegin(), sample.rend());  // inserted last to first
  absl::StatusOr<std::string> a = WriteBundleArchive(sample);
  absl::StatusOr<std::string> b = WriteBundleArchive(backwards);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
}

TEST(ArchiveTest, GzipHeaderCarriesNoTimestampOrName) {
  absl::StatusOr<std::string> archive = WriteBundleArchive(SampleFiles());
  ASSERT_OK(archive);
  ASSERT_GE(archive->size(), 10u);
  EXPECT_EQ(archive->substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(archive->substr(4, 4), std::string(4, '\0')) << "MTIME must be zero";
  EXPECT_EQ(static_cast<unsigned char>((*archive)[3]) & 0x08, 0) << "FNAME must be unset";
}

TEST(ArchiveTest, EntriesAreSortedRegularFilesOwnedByRootWithMode0644AndMtimeZero) {
  BundleFiles files{{"b", "1"}, {"a/c", "2"}, {"a", "3"}};
  absl::StatusOr<std::string> archive = WriteBundleArchive(files);
  ASSERT_OK(archive);
  std::vector<Header> headers = RawHeaders(*archive);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].path, "a");
  EXPECT_EQ(headers[1].path, "a/c");
  EXPECT_EQ(headers[2].path, "b");
  for (const Header& h : headers) {
    EXPECT_EQ(h.mode, static_cast<mode_t>(AE_IFREG | 0644)) << h.path;
    EXPECT_EQ(h.uid, 0) << h.path;
    EXPECT_EQ(h.gid, 0) << h.path;
    EXPECT_EQ(h.mtime, 0) << h.path;
    EXPECT_EQ(h.uname, "") << h.path;
    EXPECT_EQ(h.gname, "") << h.path;
  }
}

TEST(ArchiveTest, WritingRejectsAnInvalidPath) {
  EXPECT_THAT(WriteBundleArchive({{"../escape", ""}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"../escape\"")));
}

TEST(ArchiveTest, ArchivesFromOtherToolsAreRead) {
  // What `tar -C dir -czf b.tar.gz .` writes: "./" prefixes and directory entries.
  std::string archive = RawArchive({{.path = "./", .type = AE_IFDIR},
                                    {.path = "./policies/", .type = AE_IFDIR},
                                    File("./policies/a.yaml", "a"),
                                    File("./manifest.yaml", "m")});
  absl::StatusOr<BundleFiles> read = ReadBundleArchive(archive);
  ASSERT_OK(read);
  EXPECT_THAT(*read, ElementsAre(Pair("manifest.yaml", "m"), Pair("policies/a.yaml", "a")));
}

TEST(ArchiveTest, RejectsAnAbsolutePath) {
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({File("/etc/passwd")})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"/etc/passwd\" is absolute")));
}

TEST(ArchiveTest, RejectsADotDotSegment) {
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("policies/../../etc/passwd")})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"policies/../../etc/passwd\" leaves the bundle")));
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("./../x")})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("leaves the bundle")));
}

TEST(ArchiveTest, RejectsADotSegmentInsideAPath) {
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("policies/./a.yaml")})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"policies/./a.yaml\" has a \".\" segment")));
  // Only one leading "./" is dropped.
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("././a.yaml")})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\".\" segment")));
}

TEST(ArchiveTest, RejectsAnEmptySegment) {
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("policies//a.yaml")})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty segment")));
}

TEST(ArchiveTest, RejectsAPathOverMaxPathBytes) {
  ReadLimits limits;
  limits.max_path_bytes = 16;
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("policies/seventeen")}), limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_path_bytes")));
}

TEST(ArchiveTest, RejectsASymbolicLink) {
  EXPECT_THAT(ReadBundleArchive(RawArchive(
                  {{.path = "policies/a.yaml", .type = AE_IFLNK, .symlink = "/etc/passwd"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"policies/a.yaml\" is a symbolic link")));
}

TEST(ArchiveTest, RejectsAHardLink) {
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({File("a.yaml"), {.path = "b.yaml", .hardlink = "a.yaml"}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"b.yaml\" is a hard link")));
}

TEST(ArchiveTest, RejectsDevicesAndFifos) {
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({{.path = "dev", .type = AE_IFCHR}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"dev\" is not a regular file")));
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({{.path = "pipe", .type = AE_IFIFO}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"pipe\" is not a regular file")));
}

TEST(ArchiveTest, RejectsADuplicateEntry) {
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({File("a.yaml", "1"), File("a.yaml", "2")})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate entry \"a.yaml\"")));
}

TEST(ArchiveTest, RejectsADuplicateThatDiffersOnlyByALeadingDotSlash) {
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({File("a.yaml", "1"), File("./a.yaml", "2")})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate entry \"a.yaml\"")));
}

TEST(ArchiveTest, RejectsAFileOverMaxFileBytes) {
  ReadLimits limits;
  limits.max_file_bytes = 1000;
  EXPECT_OK(ReadBundleArchive(RawArchive({File("ok", std::string(1000, 'a'))}), limits));
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("big", std::string(1001, 'a'))}), limits),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("\"big\" is over 1000 bytes (max_file_bytes)")));
}

TEST(ArchiveTest, GzipBombStopsAtMaxTotalBytes) {
  // 200 MB of zeros, about 200 KB compressed. The per-file limit is out of the way, so only the
  // count of bytes actually decompressed can stop it.
  std::string bomb = RawArchive({{.path = "zeros", .zeros = 200u << 20}});
  ASSERT_LT(bomb.size(), 1u << 20);
  ReadLimits limits;
  limits.max_file_bytes = 1ull << 30;
  limits.max_total_bytes = 10u << 20;
  EXPECT_THAT(ReadBundleArchive(bomb, limits),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("more than 10485760 bytes (max_total_bytes)")));
}

TEST(ArchiveTest, ManySmallFilesStopAtMaxTotalBytes) {
  std::vector<RawEntry> entries;
  entries.reserve(12);
  for (int i = 0; i < 12; ++i) entries.push_back({.path = absl::StrCat("f", i), .zeros = 1 << 20});
  ReadLimits limits;
  limits.max_total_bytes = 10u << 20;
  EXPECT_THAT(ReadBundleArchive(RawArchive(entries), limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_total_bytes")));
}

TEST(ArchiveTest, RejectsMoreFilesThanMaxFiles) {
  ReadLimits limits;
  limits.max_files = 2;
  EXPECT_OK(ReadBundleArchive(RawArchive({File("a"), File("b")}), limits));
  EXPECT_THAT(
      ReadBundleArchive(RawArchive({File("a"), File("b"), File("c")}), limits),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("more than 2 entries (max_files)")));
}

TEST(ArchiveTest, DirectoryEntriesCountTowardMaxFiles) {
  ReadLimits limits;
  limits.max_files = 2;
  EXPECT_THAT(ReadBundleArchive(RawArchive({{.path = "d1/", .type = AE_IFDIR},
                                            {.path = "d2/", .type = AE_IFDIR},
                                            {.path = "d3/", .type = AE_IFDIR}}),
                                limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_files")));
}

TEST(ArchiveTest, TruncatedArchiveIsDataLoss) {
  absl::StatusOr<std::string> archive =
      WriteBundleArchive({{"manifest.yaml", std::string(100000, 'm')}, {"z", "z"}});
  ASSERT_OK(archive);
  std::string half = archive->substr(0, archive->size() / 2);
  EXPECT_THAT(ReadBundleArchive(half), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
}

TEST(ArchiveTest, ArchiveCutAnywhereIsDataLoss) {
  absl::StatusOr<std::string> archive = WriteBundleArchive(SampleFiles());
  ASSERT_OK(archive);
  for (size_t cut = 1; cut < archive->size(); cut += 7) {
    absl::StatusOr<BundleFiles> read = ReadBundleArchive(archive->substr(0, cut));
    EXPECT_FALSE(read.ok()) << "cut at " << cut;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  }
}

TEST(ArchiveTest, CorruptedCompressedBytesAreDataLoss) {
  absl::StatusOr<std::string> archive = WriteBundleArchive(SampleFiles());
  ASSERT_OK(archive);
  std::string corrupt = *archive;
  for (size_t i = 20; i < corrupt.size() - 8; i += 3) corrupt[i] ^= 0x5a;
  EXPECT_THAT(ReadBundleArchive(corrupt),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
}

TEST(ArchiveTest, GarbageIsDataLoss) {
  EXPECT_THAT(ReadBundleArchive("this is not an archive at all, just some text"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt archive")));
  EXPECT_THAT(ReadBundleArchive(std::string(4096, '\xa5')),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt archive")));
}

TEST(ArchiveTest, NoBytesAtAllIsDataLoss) {
  EXPECT_THAT(ReadBundleArchive(""), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
}

TEST(ArchiveTest, UncompressedTarIsRejected) {
  EXPECT_THAT(ReadBundleArchive(RawArchive({File("a")}, /*gzip=*/false)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not gzip-compressed")));
  EXPECT_THAT(ReadBundleArchive(RawArchive({}, /*gzip=*/false)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not gzip-compressed")));
}

// ---------------------------------------------------------------------------------------------
// ReadBundleDirectory / ReadBundle

TEST(ReadBundleDirectoryTest, ReadsEveryFileWithRelativeSlashPaths) {
  TempDir dir;
  BundleFiles files = SampleFiles();
  WriteTree(dir.path(), files);
  fs::create_directories(dir.path() / "empty-dir");
  absl::StatusOr<BundleFiles> read = ReadBundleDirectory(dir.path());
  ASSERT_OK(read);
  EXPECT_EQ(*read, files);
}

TEST(ReadBundleDirectoryTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  EXPECT_THAT(ReadBundleDirectory(dir.path() / "nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("is not a directory")));
}

TEST(ReadBundleDirectoryTest, RejectsASymbolicLinkToAFile) {
  TempDir dir;
  WriteTree(dir.path() / "tree", {{"a.yaml", "a"}});
  std::ofstream(dir.path() / "outside.yaml") << "secret";
  fs::create_symlink(dir.path() / "outside.yaml", dir.path() / "tree" / "link.yaml");
  EXPECT_THAT(
      ReadBundleDirectory(dir.path() / "tree"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"link.yaml\" is a symbolic link")));
}

TEST(ReadBundleDirectoryTest, RejectsASymbolicLinkToADirectory) {
  TempDir dir;
  WriteTree(dir.path() / "tree", {{"a.yaml", "a"}});
  fs::create_directories(dir.path() / "outside");
  fs::create_directory_symlink(dir.path() / "outside", dir.path() / "tree" / "policies");
  EXPECT_THAT(
      ReadBundleDirectory(dir.path() / "tree"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"policies\" is a symbolic link")));
}

TEST(ReadBundleDirectoryTest, RejectsAFifo) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / "pipe").c_str(), 0600), 0);
  EXPECT_THAT(
      ReadBundleDirectory(dir.path()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"pipe\" is not a regular file")));
}

TEST(ReadBundleDirectoryTest, RejectsAFileOverMaxFileBytes) {
  TempDir dir;
  WriteTree(dir.path(), {{"big", std::string(1001, 'b')}});
  ReadLimits limits;
  limits.max_file_bytes = 1000;
  EXPECT_THAT(ReadBundleDirectory(dir.path(), limits),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("\"big\" is over 1000 bytes (max_file_bytes)")));
}

TEST(ReadBundleDirectoryTest, RejectsFilesOverMaxTotalBytes) {
  TempDir dir;
  WriteTree(dir.path(), {{"a", std::string(600, 'a')}, {"b", std::string(600, 'b')}});
  ReadLimits limits;
  limits.max_total_bytes = 1000;
  EXPECT_THAT(ReadBundleDirectory(dir.path(), limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_total_bytes")));
}

TEST(ReadBundleDirectoryTest, RejectsMoreFilesThanMaxFiles) {
  TempDir dir;
  WriteTree(dir.path(), {{"a", ""}, {"b/c", ""}, {"d", ""}});
  ReadLimits limits;
  limits.max_files = 2;
  EXPECT_THAT(ReadBundleDirectory(dir.path(), limits),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_files")));
}

TEST(ReadBundleDirectoryTest, RejectsAnInvalidFileName) {
  TempDir dir;
  WriteTree(dir.path(), {{"back\\slash", ""}});
  EXPECT_THAT(ReadBundleDirectory(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contains a backslash")));
}

TEST(ReadBundleDirectoryTest, UnreadableFileIsUnavailable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  WriteTree(dir.path(), {{"locked", "x"}});
  fs::permissions(dir.path() / "locked", fs::perms::none);
  EXPECT_THAT(ReadBundleDirectory(dir.path()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("locked")));
}

TEST(ReadBundleTest, ReadsADirectoryAndAnArchiveOfItAlike) {
  TempDir dir;
  BundleFiles files = SampleFiles();
  WriteTree(dir.path() / "tree", files);
  absl::StatusOr<std::string> archive = WriteBundleArchive(files);
  ASSERT_OK(archive);
  ASSERT_OK(WriteFileBytes(dir.path() / "bundle.tar.gz", *archive));
  absl::StatusOr<BundleFiles> from_directory = ReadBundle(dir.path() / "tree");
  absl::StatusOr<BundleFiles> from_archive = ReadBundle(dir.path() / "bundle.tar.gz");
  ASSERT_OK(from_directory);
  ASSERT_OK(from_archive);
  EXPECT_EQ(*from_directory, files);
  EXPECT_EQ(*from_archive, files);
}

TEST(ReadBundleTest, ErrorsInAnArchiveNameTheArchiveFile) {
  TempDir dir;
  ASSERT_OK(WriteFileBytes(dir.path() / "bad.tar.gz", RawArchive({File("../x")})));
  EXPECT_THAT(ReadBundle(dir.path() / "bad.tar.gz"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad.tar.gz\": path \"../x\" leaves the bundle")));
}

TEST(ReadBundleTest, MissingPathIsNotFound) {
  TempDir dir;
  EXPECT_THAT(ReadBundle(dir.path() / "nope.tar.gz"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.tar.gz")));
}

// ---------------------------------------------------------------------------------------------
// ReadFileBytes / WriteFileBytes

TEST(FileBytesTest, WriteThenReadRoundTrips) {
  TempDir dir;
  std::string bytes("binary\0data\n", 12);
  ASSERT_OK(WriteFileBytes(dir.path() / "f", bytes));
  absl::StatusOr<std::string> read = ReadFileBytes(dir.path() / "f");
  ASSERT_OK(read);
  EXPECT_EQ(*read, bytes);
}

TEST(FileBytesTest, WriteReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  TempDir dir;
  ASSERT_OK(WriteFileBytes(dir.path() / "f", "old content, longer"));
  ASSERT_OK(WriteFileBytes(dir.path() / "f", "new"));
  EXPECT_EQ(*ReadFileBytes(dir.path() / "f"), "new");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ElementsAre("f"));
}

TEST(FileBytesTest, WriteIntoAMissingDirectoryIsNotFound) {
  TempDir dir;
  EXPECT_THAT(WriteFileBytes(dir.path() / "no" / "f", "x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/f\"")));
}

TEST(FileBytesTest, WriteOverADirectoryIsUnavailable) {
  TempDir dir;
  fs::create_directories(dir.path() / "d" / "inside");
  EXPECT_THAT(WriteFileBytes(dir.path() / "d", "x"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/d\"")));
  EXPECT_TRUE(fs::is_directory(dir.path() / "d" / "inside"));
}

TEST(FileBytesTest, ReadOfAMissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THAT(ReadFileBytes(dir.path() / "missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing\"")));
}

TEST(FileBytesTest, ReadThroughAFileAsIfADirectoryIsUnavailable) {
  TempDir dir;
  ASSERT_OK(WriteFileBytes(dir.path() / "plain", "x"));
  EXPECT_THAT(
      ReadFileBytes(dir.path() / "plain" / "child"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("plain/child\": Not a directory")));
}

TEST(FileBytesTest, ReadOfADirectoryIsUnavailable) {
  TempDir dir;
  EXPECT_THAT(ReadFileBytes(dir.path()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not a regular file")));
}

}  // namespace
}  // namespace fleetpdp::bundles

namespace fleetpdp::bundles {
namespace {

TEST(IsBundleDocumentTest, AcceptsOnlyYamlAndJsonUnderTheDocumentDirectories) {
  for (const char* yes :
       {"policies/a.yaml", "policies/x/b.yml", "entities/e.json", "tests/t.yaml"}) {
    EXPECT_TRUE(IsBundleDocument(yes)) << yes;
  }
  for (const char* no : {"manifest.yaml", "README.md", "policies/notes.txt", "other/a.yaml",
                         "policiesx/a.yaml", ".signatures.json"}) {
    EXPECT_FALSE(IsBundleDocument(no)) << no;
  }
}

}  // namespace
}  // namespace fleetpdp::bundles
