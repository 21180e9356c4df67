// Reading and writing bundles as .tar.gz archives (libarchive) and as directories.
//
//   absl::StatusOr<BundleFiles> files = ReadBundleArchive(bytes, limits);
//   absl::StatusOr<std::string> tgz = WriteBundleArchive(files);
//
// Reading rejects, with InvalidArgument naming the entry: absolute paths, ".." or "." segments,
// symbolic or hard links, devices and other non-regular entries, duplicate entries, invalid paths;
// with ResourceExhausted: an entry or the whole archive over ReadLimits (checked as data is
// decompressed: a gzip bomb stops at the limit); with DataLoss: a truncated or corrupt archive.
// Directory entries are skipped. Writing is deterministic: entries sorted by path, mode 0644,
// owner 0:0, mtime 0 — the same files give the same archive bytes.
//
// Thread safety: functions only; directory functions touch the file system.
#ifndef FLEETPDP_BUNDLES_ARCHIVE_H_
#define FLEETPDP_BUNDLES_ARCHIVE_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "bundles/bundle_files.h"

namespace fleetpdp::bundles {

absl::StatusOr<BundleFiles> ReadBundleArchive(std::string_view tar_gz,
                                              const ReadLimits& limits = {});
absl::StatusOr<std::string> WriteBundleArchive(const BundleFiles& files);

// Every regular file under `root` (recursively), with the same path and limit checks; a symbolic
// link anywhere is rejected. NotFound when `root` is not a directory.
absl::StatusOr<BundleFiles> ReadBundleDirectory(const std::filesystem::path& root,
                                                const ReadLimits& limits = {});

// Reads `path`: a directory, or a file read as a .tar.gz archive.
absl::StatusOr<BundleFiles> ReadBundle(const std::filesystem::path& path,
                                       const ReadLimits& limits = {});

// Whole-file helpers with errors naming the path (Unavailable / NotFound).
absl::StatusOr<std::string> ReadFileBytes(const std::filesystem::path& path);
absl::Status WriteFileBytes(const std::filesystem::path& path, std::string_view bytes);

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_ARCHIVE_H_
