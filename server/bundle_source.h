// Where a replica's bundles come from: a local file or directory, or an HTTP(S) URL.
//
//   absl::StatusOr<std::unique_ptr<BundleSource>> s = MakeBundleSource("https://cdn/fleet.tar.gz");
//   absl::StatusOr<std::optional<bundles::BundleFiles>> next = (*s)->FetchIfChanged();
//   // nullopt: unchanged since the last successful fetch
//
// A file source re-reads when the file's size or modification time changes (a directory: any file
// under it), and reports "unchanged" when the content digest is the same. An HTTP source sends
// If-None-Match with the last ETag: 304 is "unchanged"; 200 carries a new bundle; anything else,
// a refused connection, a timeout or a truncated body is an error (Unavailable) and the next poll
// tries again. Bodies are limited by ReadLimits::max_total_bytes before decompression.
//
// Thread safety: a source is used by one reloader thread at a time.
#ifndef FLEETPDP_SERVER_BUNDLE_SOURCE_H_
#define FLEETPDP_SERVER_BUNDLE_SOURCE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bundles/bundle_files.h"

namespace fleetpdp::server {

class BundleSource {
 public:
  virtual ~BundleSource() = default;
  // The new bundle's files, nullopt when nothing changed, or an error naming the source.
  virtual absl::StatusOr<std::optional<bundles::BundleFiles>> FetchIfChanged() = 0;
  // The location, for logs and BundleInfo.source.
  virtual std::string Describe() const = 0;
};

struct HttpSourceOptions {
  absl::Duration timeout = absl::Seconds(10);
  std::string ca_file;  // PEM bundle for https; empty: the system's default paths
};

// "http://…" and "https://…" make an HTTP source; anything else is a path.
absl::StatusOr<std::unique_ptr<BundleSource>> MakeBundleSource(
    const std::string& location, const bundles::ReadLimits& limits = {},
    const HttpSourceOptions& http = {});

// A bundle held in memory (the embedded example bundle, tests): returned once.
std::unique_ptr<BundleSource> MakeMemorySource(std::string description, bundles::BundleFiles files);

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_BUNDLE_SOURCE_H_
