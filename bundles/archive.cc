#include "bundles/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"
#include "engine/pace.h"
#include "engine/status_macros.h"

namespace fleetpdp::bundles {
namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 64 << 10;

struct ReadArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ReadArchiveDeleter>;
using WriteArchive = std::unique_ptr<archive, WriteArchiveDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

// Entry names and file paths are user input: escaped, so they cannot forge a log line.
std::string Quote(std::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(Absl(s)), "\"");
}

std::string ArchiveMessage(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// Status with the same code and `context: ` before the message.
absl::Status WithContext(const absl::Status& status, std::string_view context) {
  return {status.code(), absl::StrCat(Absl(context), ": ", status.message())};
}

std::string ErrnoMessage(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Counts what has been read against ReadLimits; shared by the archive and directory readers.
class LimitTracker {
 public:
  explicit LimitTracker(const ReadLimits& limits) : limits_(limits) {}

  // Every entry counts, directories in an archive included: they cost work to read too.
  absl::Status AddEntry() {
    if (++files_ > limits_.max_files) {
      return absl::ResourceExhaustedError(
          absl::StrCat("bundle has more than ", limits_.max_files, " entries (max_files)"));
    }
    return absl::OkStatus();
  }

  // `file_bytes` is the size of the file being read so far; `more` bytes are about to be added.
  absl::Status AddBytes(std::string_view path, size_t file_bytes, size_t more) {
    if (file_bytes + more > limits_.max_file_bytes) return FileTooLarge(path);
    if (total_ + more > limits_.max_total_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bundle holds more than ", limits_.max_total_bytes, " bytes (max_total_bytes)"));
    }
    total_ += more;
    return absl::OkStatus();
  }

  absl::Status FileTooLarge(std::string_view path) const {
    return absl::ResourceExhaustedError(absl::StrCat(
        "file ", Quote(path), " is over ", limits_.max_file_bytes, " bytes (max_file_bytes)"));
  }

  const ReadLimits& limits() const { return limits_; }

 private:
  const ReadLimits& limits_;
  size_t files_ = 0;
  size_t total_ = 0;
};

// "./a/b" → "a/b": `tar -C dir .` writes such names. Only one leading "./" goes; ValidateBundlePath
// rejects any other "." segment.
std::string_view NormalizeEntryPath(std::string_view name) {
  if (name.size() > 2 && name.substr(0, 2) == "./") name.remove_prefix(2);
  return name;
}

bool IsGzipCompressed(archive* a) {
  for (int i = 0, n = archive_filter_count(a); i < n; ++i) {
    if (archive_filter_code(a, i) == ARCHIVE_FILTER_GZIP) return true;
  }
  return false;
}

absl::Status ReadEntryData(archive* a, std::string_view path, int64_t declared_size,
                           LimitTracker& tracker, std::string& content) {
  // The header's size allows an early refusal; the limits are still enforced on what is actually
  // decompressed below, which is what a gzip bomb or a lying header cannot get around.
  if (declared_size > 0 && static_cast<uint64_t>(declared_size) > tracker.limits().max_file_bytes) {
    return tracker.FileTooLarge(path);
  }
  // Bounded by the check above; saves regrowing (and copying) a large file as it arrives.
  if (declared_size > 0) content.reserve(static_cast<size_t>(declared_size));
  char buffer[kChunkBytes];
  while (true) {
    engine::PacePoint();  // a chunk's decompression at a time (engine/pace.h)
    la_ssize_t n = archive_read_data(a, buffer, sizeof(buffer));
    if (n == 0) return absl::OkStatus();
    if (n < 0) {
      return absl::DataLossError(
          absl::StrCat("corrupt archive: entry ", Quote(path), ": ", ArchiveMessage(a)));
    }
    FLEETPDP_RETURN_IF_ERROR(tracker.AddBytes(path, content.size(), static_cast<size_t>(n)));
    content.append(buffer, static_cast<size_t>(n));
  }
}

absl::Status CheckEntryType(archive_entry* entry, std::string_view name) {
  if (archive_entry_hardlink(entry) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry ", Quote(name), " is a hard link; bundles hold regular files only"));
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
      return absl::OkStatus();
    case AE_IFLNK:
      return absl::InvalidArgumentError(absl::StrCat(
          "entry ", Quote(name), " is a symbolic link; bundles hold regular files only"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "entry ", Quote(name), " is not a regular file; bundles hold regular files only"));
  }
}

la_ssize_t AppendToString(archive*, void* client_data, const void* buffer, size_t length) {
  static_cast<std::string*>(client_data)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// Reads the already open `fd` to its end; `too_large()` is the error once over `max_bytes`.
template <typename TooLarge>
absl::Status ReadDescriptor(int fd, const fs::path& path, size_t max_bytes, TooLarge too_large,
                            std::string& out) {
  char buffer[kChunkBytes];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) return absl::OkStatus();
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(
          absl::StrCat("cannot read ", Quote(path.string()), ": ", ErrnoMessage(errno)));
    }
    if (out.size() + static_cast<size_t>(n) > max_bytes) return too_large();
    out.append(buffer, static_cast<size_t>(n));
  }
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the error close() may carry for written data.
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Opens a regular file for reading; NotFound / Unavailable naming the path.
absl::StatusOr<int> OpenForReading(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message =
        absl::StrCat("cannot open ", Quote(path.string()), ": ", ErrnoMessage(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    return absl::UnavailableError(message);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot read ", Quote(path.string()), ": not a regular file"));
  }
  return fd;
}

}  // namespace

absl::StatusOr<BundleFiles> ReadBundleArchive(std::string_view tar_gz, const ReadLimits& limits) {
  ReadArchive a(archive_read_new());
  if (a == nullptr) return absl::ResourceExhaustedError("cannot allocate an archive reader");
  // Only what a bundle is: tar (ustar, pax, GNU) through gzip. No other format or filter parser
  // sees untrusted bytes.
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK) {
    return absl::InternalError(
        absl::StrCat("cannot set up the archive reader: ", ArchiveMessage(a.get())));
  }
  if (archive_read_open_memory(a.get(), tar_gz.data(), tar_gz.size()) != ARCHIVE_OK) {
    return absl::DataLossError(absl::StrCat("corrupt archive: ", ArchiveMessage(a.get())));
  }
  LimitTracker tracker(limits);
  BundleFiles files;
  bool first = true;
  while (true) {
    archive_entry* entry = nullptr;
    int result = archive_read_next_header(a.get(), &entry);
    if (result != ARCHIVE_OK && result != ARCHIVE_EOF) {
      // ARCHIVE_WARN included: a bundle has no business with anything libarchive finds odd.
      return absl::DataLossError(absl::StrCat("corrupt archive: ", ArchiveMessage(a.get())));
    }
    // The filter chain is known once the first header (or the end) has been read.
    if (first && !IsGzipCompressed(a.get())) {
      return absl::InvalidArgumentError("archive is not gzip-compressed (expected a .tar.gz)");
    }
    first = false;
    if (result == ARCHIVE_EOF) break;
    FLEETPDP_RETURN_IF_ERROR(tracker.AddEntry());
    // Paths are bytes: with no setlocale() in the process, libarchive hands them over unconverted.
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) raw_name = archive_entry_pathname_utf8(entry);
    if (raw_name == nullptr) {
      return absl::InvalidArgumentError("archive entry without a readable path");
    }
    std::string_view name = raw_name;
    if (archive_entry_filetype(entry) == AE_IFDIR && archive_entry_hardlink(entry) == nullptr) {
      continue;  // Directories are implied by the file paths.
    }
    FLEETPDP_RETURN_IF_ERROR(CheckEntryType(entry, name));
    std::string_view path = NormalizeEntryPath(name);
    FLEETPDP_RETURN_IF_ERROR(ValidateBundlePath(path, limits));
    if (files.find(path) != files.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate entry ", Quote(path), " in the archive"));
    }
    int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    std::string content;
    FLEETPDP_RETURN_IF_ERROR(ReadEntryData(a.get(), path, declared, tracker, content));
    files.emplace(std::string(path), std::move(content));
  }
  return files;
}

absl::StatusOr<std::string> WriteBundleArchive(const BundleFiles& files) {
  for (const auto& [path, content] : files) FLEETPDP_RETURN_IF_ERROR(ValidateBundlePath(path));
  WriteArchive a(archive_write_new());
  if (a == nullptr) return absl::ResourceExhaustedError("cannot allocate an archive writer");
  std::string out;
  auto failed = [&](std::string_view what) {
    return absl::InternalError(
        absl::StrCat("writing the archive: ", Absl(what), ": ", ArchiveMessage(a.get())));
  };
  // pax_restricted is plain ustar unless a path needs an extended header (over 100 bytes, or not
  // ASCII). hdrcharset=BINARY stores path bytes as they are, whatever the locale: converting them
  // fails for non-ASCII in the "C" locale (and setting a UTF-8 path instead crashes libarchive
  // 3.6.2). The gzip header gets no timestamp, so the output depends on the files only.
  // hdrcharset is set only when a path needs it: with it, libarchive writes an extended header for
  // every entry, and GNU tar warns about the keyword on each one.
  bool ascii = true;
  for (const auto& [path, content] : files) {
    for (unsigned char c : path) ascii = ascii && c < 0x80;
  }
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      (!ascii &&
       archive_write_set_format_option(a.get(), "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) ||
      archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK) {
    return failed("setting up");
  }
  if (archive_write_open2(a.get(), &out, nullptr, AppendToString, nullptr, nullptr) != ARCHIVE_OK) {
    return failed("opening");
  }
  // BundleFiles is ordered by path: entries come out sorted.
  for (const auto& [path, content] : files) {
    Entry entry(archive_entry_new());
    if (entry == nullptr) return absl::ResourceExhaustedError("cannot allocate an archive entry");
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return failed(absl::StrCat("entry ", Quote(path)));
    }
    size_t written = 0;
    while (written < content.size()) {
      la_ssize_t n =
          archive_write_data(a.get(), content.data() + written, content.size() - written);
      if (n <= 0) return failed(absl::StrCat("entry ", Quote(path)));
      written += static_cast<size_t>(n);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return failed("closing");
  return out;
}

absl::StatusOr<BundleFiles> ReadBundleDirectory(const fs::path& root, const ReadLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat(Quote(root.string()), " is not a directory"));
  }
  auto list_error = [&](const std::error_code& error) {
    return absl::UnavailableError(
        absl::StrCat("cannot list ", Quote(root.string()), ": ", error.message()));
  };
  LimitTracker tracker(limits);
  BundleFiles files;
  fs::recursive_directory_iterator it(root, ec), end;
  if (ec) return list_error(ec);
  for (; it != end; it.increment(ec)) {
    if (ec) return list_error(ec);
    const fs::directory_entry& entry = *it;
    std::string path = entry.path().lexically_relative(root).generic_string();
    // The iterator does not follow links; a link to a directory is reported, not descended.
    if (entry.is_symlink(ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quote(path), " is a symbolic link; bundles hold regular files only"));
    }
    if (entry.is_directory(ec)) continue;
    if (!entry.is_regular_file(ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quote(path), " is not a regular file; bundles hold regular files only"));
    }
    FLEETPDP_RETURN_IF_ERROR(tracker.AddEntry());
    FLEETPDP_RETURN_IF_ERROR(ValidateBundlePath(path, limits));
    FLEETPDP_ASSIGN_OR_RETURN(int raw_fd, OpenForReading(entry.path()));
    FileDescriptor fd(raw_fd);
    // The limit applies to the bytes read, not to a size looked up before: a file that grows
    // while it is read cannot get past it.
    std::string content;
    FLEETPDP_RETURN_IF_ERROR(ReadDescriptor(
        fd.get(), entry.path(), limits.max_file_bytes, [&] { return tracker.FileTooLarge(path); },
        content));
    FLEETPDP_RETURN_IF_ERROR(tracker.AddBytes(path, 0, content.size()));
    files.emplace(std::move(path), std::move(content));
  }
  return files;
}

absl::StatusOr<BundleFiles> ReadBundle(const fs::path& path, const ReadLimits& limits) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ReadBundleDirectory(path, limits);
  FLEETPDP_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  absl::StatusOr<BundleFiles> files = ReadBundleArchive(bytes, limits);
  if (!files.ok()) {
    return WithContext(files.status(), absl::StrCat("reading ", Quote(path.string())));
  }
  return files;
}

absl::StatusOr<std::string> ReadFileBytes(const fs::path& path) {
  FLEETPDP_ASSIGN_OR_RETURN(int raw_fd, OpenForReading(path));
  FileDescriptor fd(raw_fd);
  std::string out;
  FLEETPDP_RETURN_IF_ERROR(ReadDescriptor(
      fd.get(), path, std::numeric_limits<size_t>::max(), [] { return absl::OkStatus(); }, out));
  return out;
}

absl::Status WriteFileBytes(const fs::path& path, std::string_view bytes) {
  // Written to a fresh file beside the target, flushed, then renamed over it: a reader sees the
  // old content or the new, never a part.
  static std::atomic<uint64_t> counter{0};
  fs::path directory = path.parent_path();
  std::string quoted = Quote(path.string());
  fs::path temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp = directory / absl::StrCat(".", path.filename().string(), ".tmp-", ::getpid(), "-",
                                    counter.fetch_add(1));
    // 0666 less the umask: the mode a plain create would give.
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw_fd < 0 && errno != EEXIST) break;
  }
  if (raw_fd < 0) {
    int error = errno;
    std::string message = absl::StrCat("cannot write ", quoted, ": ", ErrnoMessage(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    return absl::UnavailableError(message);
  }
  FileDescriptor fd(raw_fd);
  auto fail = [&](int error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    return absl::UnavailableError(absl::StrCat("cannot write ", quoted, ": ", ErrnoMessage(error)));
  };
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno);
  if (fd.Close() != 0) return fail(errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail(errno);
  return absl::OkStatus();
}

}  // namespace fleetpdp::bundles
