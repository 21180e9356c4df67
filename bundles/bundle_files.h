// A bundle's files in memory: relative path → content. Every bundle source (a directory, a .tar.gz
// archive, a test's literal map) produces one of these, and everything after reading — digest,
// signature check, parsing — works on it, so tests hand in bundles without touching the disk.
//
//   BundleFiles files;
//   files.emplace("manifest.yaml", "name: fleet\nrevision: 3\n");
//
// Paths use '/' separators, are relative, and hold no "." or ".." segments, no backslash and no
// control character (ValidateBundlePath): a newline in a path could forge the canonical list.
// Thread safety: a plain value.
#ifndef FLEETPDP_BUNDLES_BUNDLE_FILES_H_
#define FLEETPDP_BUNDLES_BUNDLE_FILES_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace fleetpdp::bundles {

// Ordered by path (byte order), which is also the canonical order.
using BundleFiles = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view kManifestPath = "manifest.yaml";
inline constexpr std::string_view kSignaturesPath = ".signatures.json";

// Limits on what a bundle may hold, checked while reading (before decompressing further), so that
// a gzip bomb or a huge file fails cleanly with ResourceExhausted.
struct ReadLimits {
  size_t max_file_bytes = 64ull << 20;    // one file, uncompressed
  size_t max_total_bytes = 512ull << 20;  // all files, uncompressed
  size_t max_files = 100'000;
  size_t max_path_bytes = 1024;
};

// A bundle member path: non-empty, relative, '/'-separated, no empty, "." or ".." segment, no
// backslash or control character, at most `max_path_bytes`. InvalidArgument names the path and the
// problem: `path "../etc/passwd" leaves the bundle (".." segment)`.
absl::Status ValidateBundlePath(std::string_view path, const ReadLimits& limits = {});

// True for the files that hold documents the loader parses: *.yaml, *.yml and *.json under
// policies/, entities/ and tests/. Other files are carried (and signed) but not parsed.
bool IsBundleDocument(std::string_view path);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_BUNDLE_FILES_H_
