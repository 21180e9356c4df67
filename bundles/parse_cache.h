// The parsed documents of the last bundle loaded, kept by path and content hash, so that loading
// the next revision parses only the files that changed.
//
//   ParseCache cache;                                   // one per reloader
//   LoadOptions options;  options.parse_cache = &cache;
//   LoadBundle(files, &keyring, options);               // parses every document
//   LoadBundle(next_files, &keyring, options);          // parses only what changed
//
// Why: a fleet's entity files (a million devices is ~140 MB of YAML) take minutes to parse with
// yaml-cpp and rarely change between revisions, while the whole set is re-validated and compiled
// in seconds. A cached file is reused only when its path and SHA-256 are the same; only files
// that parsed without a problem are kept; after each parse the cache holds exactly the files of
// that bundle, so it never holds more than one bundle's parsed documents (its memory is reported
// by bytes_parsed()).
//
// Thread safety: not synchronized; the reloader serializes loads.
#ifndef FLEETPDP_BUNDLES_PARSE_CACHE_H_
#define FLEETPDP_BUNDLES_PARSE_CACHE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "bundles/bundle_files.h"
#include "bundles/digest.h"
#include "engine/diagnostics.h"
#include "engine/parser.h"

namespace fleetpdp::bundles {

class ParseCache {
 public:
  // Parses the documents of `files` (IsBundleDocument) in path order into `out`, reusing what the
  // previous call parsed from identical files, then validates the whole set (engine::Validate).
  // The same result and report as engine::ParseSources over the same files — except that when
  // `omit_directory_if` is not empty and equals this bundle's directory fingerprint (see Stats),
  // its groups and entities are left out of `out.set`: the caller compiles the policies against
  // the directory it built from those same documents before (engine::CompileWithDirectory).
  // `hashes`, when given, must be HashFiles(files) (digest.h); otherwise the files are hashed here.
  engine::ValidationReport Parse(const BundleFiles& files, engine::ParsedSources& out,
                                 std::string_view omit_directory_if = {},
                                 const FileHashes* hashes = nullptr);

  struct Stats {
    size_t reused = 0;  // files taken from the cache by the last Parse
    size_t parsed = 0;  // files parsed by the last Parse
    size_t bytes_parsed = 0;
    size_t bytes_reused = 0;
    // SHA-256 (hex) over the path and SHA-256 of every document that declares groups or
    // entities, in path order: equal fingerprints mean the same groups and entities in the same
    // order. Empty when a document failed to parse.
    std::string directory_fingerprint;
    bool directory_omitted = false;  // groups and entities were left out (omit_directory_if)
  };
  const Stats& last() const { return last_; }

 private:
  struct Entry {
    std::string sha256;
    std::shared_ptr<const engine::ParsedSources> parsed;
  };
  absl::flat_hash_map<std::string, Entry> by_path_;
  Stats last_;
};

}  // namespace fleetpdp::bundles

#endif  // FLEETPDP_BUNDLES_PARSE_CACHE_H_
