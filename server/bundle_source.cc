#include "server/bundle_source.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "server/http_fetch.h"

namespace fleetpdp::server {
namespace {

namespace fs = std::filesystem;

// A cheap fingerprint of a file or a directory tree: sizes and modification times. Equal
// fingerprints mean "probably unchanged"; the digest decides.
absl::StatusOr<std::string> Fingerprint(const fs::path& path) {
  std::error_code ec;
  std::string out;
  // Inode, size and modification time: a bundle replaced by rename (the safe way to publish
  // one) always gets a new inode, even within one timestamp tick.
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return;
    absl::StrAppend(&out, p.string(), ":", st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                    st.st_mtim.tv_nsec, "\n");
  };
  if (fs::is_directory(path, ec)) {
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      add(it->path());
    }
  } else if (fs::exists(path, ec)) {
    add(path);
  } else {
    return absl::NotFoundError(
        absl::StrCat("bundle source \"", path.string(), "\" does not exist"));
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("bundle source \"", path.string(), "\": ", ec.message()));
  }
  return out;
}

class FileSource final : public BundleSource {
 public:
  FileSource(fs::path path, bundles::ReadLimits limits) : path_(std::move(path)), limits_(limits) {}

  absl::StatusOr<std::optional<bundles::BundleFiles>> FetchIfChanged() override {
    absl::StatusOr<std::string> fingerprint = Fingerprint(path_);
    if (!fingerprint.ok()) return fingerprint.status();
    if (*fingerprint == fingerprint_) return std::nullopt;
    absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundle(path_, limits_);
    if (!files.ok()) return files.status();
    fingerprint_ = *std::move(fingerprint);
    std::string digest = bundles::BundleDigest(*files) + bundles::Sha256Hex(Signatures(*files));
    if (digest == digest_) return std::nullopt;  // touched, not changed
    digest_ = std::move(digest);
    return *std::move(files);
  }

  std::string Describe() const override { return path_.string(); }

 private:
  static std::string Signatures(const bundles::BundleFiles& files) {
    auto it = files.find(bundles::kSignaturesPath);
    return it == files.end() ? std::string() : it->second;
  }

  fs::path path_;
  bundles::ReadLimits limits_;
  std::string fingerprint_;
  std::string digest_;  // of the last bundle returned, signatures included
};

class HttpSource final : public BundleSource {
 public:
  HttpSource(std::string url, bundles::ReadLimits limits, HttpSourceOptions options)
      : url_(std::move(url)), limits_(limits), options_(std::move(options)) {}

  absl::StatusOr<std::optional<bundles::BundleFiles>> FetchIfChanged() override {
    HttpRequest request;
    request.url = url_;
    request.if_none_match = etag_;
    request.timeout = options_.timeout;
    request.max_body_bytes = limits_.max_total_bytes;
    request.ca_file = options_.ca_file;
    absl::StatusOr<HttpResponse> response = HttpGet(request);
    if (!response.ok()) return response.status();
    if (response->status == 304) return std::nullopt;
    if (response->status != 200) {
      return WithFetchFailure(
          absl::UnavailableError(absl::StrCat("bundle source ", url_, ": HTTP ", response->status,
                                              " ", response->reason)),
          "fetch_http_error");
    }
    absl::StatusOr<bundles::BundleFiles> files =
        bundles::ReadBundleArchive(response->body, limits_);
    if (!files.ok()) {
      return absl::Status(files.status().code(),
                          absl::StrCat("bundle from ", url_, ": ", files.status().message()));
    }
    // Remember the ETag only for a body that was a readable bundle: a truncated download is
    // fetched again on the next poll.
    etag_ = response->etag;
    return *std::move(files);
  }

  std::string Describe() const override { return url_; }

 private:
  std::string url_;
  bundles::ReadLimits limits_;
  HttpSourceOptions options_;
  std::string etag_;
};

class MemorySource final : public BundleSource {
 public:
  MemorySource(std::string description, bundles::BundleFiles files)
      : description_(std::move(description)), files_(std::move(files)) {}
  absl::StatusOr<std::optional<bundles::BundleFiles>> FetchIfChanged() override {
    if (!files_) return std::nullopt;
    return std::exchange(files_, std::nullopt);
  }
  std::string Describe() const override { return description_; }

 private:
  std::string description_;
  std::optional<bundles::BundleFiles> files_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BundleSource>> MakeBundleSource(const std::string& location,
                                                               const bundles::ReadLimits& limits,
                                                               const HttpSourceOptions& http) {
  if (location.empty()) return absl::InvalidArgumentError("bundle source is empty");
  if (absl::StartsWith(location, "http://") || absl::StartsWith(location, "https://")) {
    return std::unique_ptr<BundleSource>(new HttpSource(location, limits, http));
  }
  return std::unique_ptr<BundleSource>(new FileSource(location, limits));
}

std::unique_ptr<BundleSource> MakeMemorySource(std::string description,
                                               bundles::BundleFiles files) {
  return std::make_unique<MemorySource>(std::move(description), std::move(files));
}

}  // namespace fleetpdp::server
