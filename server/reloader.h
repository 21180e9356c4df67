// Keeps a replica's bundle current: fetches from the source, verifies and compiles off the
// request path, installs only a complete good bundle, and keeps the last good one serving when a
// new one is rejected (counted in metrics, logged, and reported in BundleInfo).
//
//   Reloader reloader(std::move(source), keyring, options, holder, metrics);
//   reloader.ReloadNow();                       // first load, at startup
//   reloader.Start(absl::Seconds(10));          // then poll; Trigger() on SIGHUP
//
// Thread safety: ReloadNow/Trigger may be called from any thread; loads are serialized.
#ifndef FLEETPDP_SERVER_RELOADER_H_
#define FLEETPDP_SERVER_RELOADER_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bundles/loader.h"
#include "bundles/signing.h"
#include "server/bundle_holder.h"
#include "server/bundle_source.h"
#include "server/reload_pacer.h"

namespace fleetpdp::server {

class Metrics;

// The `result` label of fleetpdp_bundle_loads_total for a failed attempt: the fetch failure kind
// (FetchFailureOf: fetch_timeout, fetch_truncated, fetch_failed, fetch_http_error, too_large), else
// the rejection reason (bundles::RejectionReasonOf), with "unreadable" reported as "unavailable".
std::string_view LoadFailureReason(const absl::Status& status);

struct ReloaderOptions {
  bool allow_unsigned = false;
  engine::CompileLimits compile_limits;
  // Where to keep a copy of the last good bundle (its archive), for a cold start without the
  // source; empty: none.
  std::filesystem::path persist_path;
  // Keep the parsed documents of the bundle in force, so that the next revision parses only the
  // files that changed (bundles/parse_cache.h). Costs memory in the order of the parsed model
  // (docs/performance.md measures it for a million devices); off: every load parses everything.
  bool keep_parsed_documents = true;
  // The niceness of the polling thread (setpriority, 0–19): a reload parses and compiles on it,
  // and a higher value lets request threads take the CPU first (at 10, a reload competing with one
  // busy thread gets about a tenth of the core); 0 keeps the process's priority.
  int reload_nice = 10;
  // The share of a core a reload may use while a bundle is in force (server/reload_pacer.h): the
  // load works in bursts of half a millisecond of CPU time and sleeps in between, so request
  // threads sharing its core wait for at most a burst. 1: no pacing. The first load is not paced.
  double reload_cpu_share = 0.5;
  // Called after every attempt with its outcome (for logging).
  std::function<void(const absl::Status&, const bundles::BundleMetadata*)> on_attempt;
  // Called after a paced load of a new bundle, with how it was paced (for logging); the freeing
  // of the replaced bundle is included.
  std::function<void(const ReloadPacer::Stats&)> on_paced;
};

class Reloader {
 public:
  // `keyring` may be null only with allow_unsigned; `metrics` may be null.
  Reloader(std::unique_ptr<BundleSource> source, const bundles::Keyring* keyring,
           ReloaderOptions options, BundleHolder& holder, Metrics* metrics);
  ~Reloader();  // stops the polling thread

  // One attempt now: OK when a new bundle was installed or nothing changed; the error otherwise
  // (the current bundle keeps serving).
  absl::Status ReloadNow();
  // Loads the persisted copy (persist_path) if there is one; used at startup when the source
  // fails. The copy is verified like any bundle.
  absl::Status LoadPersisted();

  // Polls every `interval` on a background thread; Trigger() makes the next poll happen now.
  void Start(absl::Duration interval);
  void Trigger();
  void Stop();

  std::string source() const { return source_->Describe(); }

  // What the last load parsed and reused (keep_parsed_documents), for tests and diagnostics.
  bundles::ParseCache::Stats last_parse() {
    absl::MutexLock lock(&load_mu_);
    return parse_cache_.last();
  }

 private:
  absl::Status Install(const bundles::BundleFiles& files, const std::string& origin)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);

  void ReleaseOnThisThread(std::shared_ptr<const bundles::LoadedBundle> old);

  std::unique_ptr<BundleSource> source_;
  const bundles::Keyring* keyring_;
  ReloaderOptions options_;
  BundleHolder& holder_;
  Metrics* metrics_;

  absl::Mutex load_mu_;  // serializes loads
  bundles::ParseCache parse_cache_ ABSL_GUARDED_BY(load_mu_);
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool triggered_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_RELOADER_H_
