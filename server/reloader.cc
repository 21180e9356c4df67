#include "server/reloader.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "server/http_fetch.h"
#include "server/metrics.h"

namespace fleetpdp::server {

std::string_view LoadFailureReason(const absl::Status& status) {
  if (std::string_view kind = FetchFailureOf(status); !kind.empty()) return kind;
  std::string_view reason = bundles::RejectionReasonOf(status);
  return reason == "unreadable" ? "unavailable" : reason;
}

Reloader::Reloader(std::unique_ptr<BundleSource> source, const bundles::Keyring* keyring,
                   ReloaderOptions options, BundleHolder& holder, Metrics* metrics)
    : source_(std::move(source)),
      keyring_(keyring),
      options_(std::move(options)),
      holder_(holder),
      metrics_(metrics) {}

Reloader::~Reloader() { Stop(); }

absl::Status Reloader::Install(const bundles::BundleFiles& files, const std::string& origin) {
  bundles::LoadOptions load;
  load.allow_unsigned = options_.allow_unsigned;
  load.compile_limits = options_.compile_limits;
  if (options_.keep_parsed_documents) load.parse_cache = &parse_cache_;
  std::shared_ptr<const bundles::LoadedBundle> current = holder_.Current();
  if (current) {
    load.revision_in_force = current->metadata.revision;
    load.digest_in_force = current->metadata.digest;
    if (!current->directory_fingerprint.empty()) {
      load.directory_in_force = bundles::DirectoryInForce{current->index->shared_directory(),
                                                          current->directory_fingerprint};
    }
  }
  absl::StatusOr<bundles::LoadedBundle> loaded = bundles::LoadBundle(files, keyring_, load);
  if (!loaded.ok()) {
    std::string reason(bundles::RejectionReasonOf(loaded.status()));
    absl::Status error(loaded.status().code(),
                       absl::StrCat("bundle from ", origin, " rejected (", reason,
                                    "): ", loaded.status().message()));
    holder_.RecordFailure(std::string(error.message()), absl::Now());
    if (metrics_ != nullptr) metrics_->CountBundleLoad(reason);
    if (options_.on_attempt) options_.on_attempt(error, nullptr);
    return error;
  }
  if (current && current->metadata.digest == loaded->metadata.digest) {
    // Same content (e.g. re-signed by another key): nothing to swap.
    if (options_.on_attempt) options_.on_attempt(absl::OkStatus(), &current->metadata);
    return absl::OkStatus();
  }
  auto bundle = std::make_shared<const bundles::LoadedBundle>(*std::move(loaded));
  absl::Time now = absl::Now();
  holder_.Install(bundle, now);
  if (metrics_ != nullptr) {
    metrics_->CountBundleLoad("success");
    metrics_->SetBundle(bundle->metadata.name, bundle->metadata.revision, bundle->metadata.digest,
                        bundle->metadata.key_id, now);
  }
  if (!options_.persist_path.empty() && origin != options_.persist_path.string()) {
    absl::StatusOr<std::string> archive = bundles::WriteBundleArchive(files);
    absl::Status persisted =
        archive.ok() ? bundles::WriteFileBytes(options_.persist_path, *archive) : archive.status();
    if (!persisted.ok() && options_.on_attempt) {
      options_.on_attempt(
          absl::UnavailableError(
              absl::StrCat("bundle installed, but keeping a copy failed: ", persisted.message())),
          &bundle->metadata);
    }
  }
  if (options_.on_attempt) options_.on_attempt(absl::OkStatus(), &bundle->metadata);
  ReleaseOnThisThread(std::move(current));
  return absl::OkStatus();
}

void Reloader::ReleaseOnThisThread(std::shared_ptr<const bundles::LoadedBundle> old) {
  // Requests hold a snapshot for one decision (or one batch), so the readers of the bundle just
  // replaced are gone within microseconds; waiting for them here makes the reloader, not the
  // request thread that happens to let go last, pay for freeing it (a million entities take
  // hundreds of milliseconds to free). Bounded: after a second the last reader frees it.
  for (int i = 0; i < 1000 && old != nullptr && old.use_count() > 1; ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  old.reset();
}

absl::Status Reloader::ReloadNow() {
  absl::MutexLock lock(&load_mu_);
  // While a bundle serves, the load shares the cores with request threads: pace it. The first
  // load has no requests to protect and runs at full speed.
  std::optional<ReloadPacer> pacer;
  std::optional<engine::ScopedPacer> pacing;
  if (options_.reload_cpu_share < 1 && holder_.Current() != nullptr) {
    pacer.emplace(ReloadPaceOptions{.cpu_share = options_.reload_cpu_share});
    pacing.emplace(&*pacer);
  }
  absl::StatusOr<std::optional<bundles::BundleFiles>> fetched = source_->FetchIfChanged();
  if (!fetched.ok()) {
    holder_.RecordFailure(std::string(fetched.status().message()), absl::Now());
    if (metrics_ != nullptr) metrics_->CountBundleLoad(LoadFailureReason(fetched.status()));
    if (options_.on_attempt) options_.on_attempt(fetched.status(), nullptr);
    return fetched.status();
  }
  if (!fetched->has_value()) return absl::OkStatus();  // unchanged
  absl::Status installed = Install(**fetched, source_->Describe());
  if (pacer && options_.on_paced) options_.on_paced(pacer->stats());
  return installed;
}

absl::Status Reloader::LoadPersisted() {
  if (options_.persist_path.empty()) {
    return absl::FailedPreconditionError("no persisted bundle configured");
  }
  absl::MutexLock lock(&load_mu_);
  absl::StatusOr<bundles::BundleFiles> files = bundles::ReadBundle(options_.persist_path);
  if (!files.ok()) return files.status();
  return Install(*files, options_.persist_path.string());
}

void Reloader::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    if (options_.reload_nice > 0) {
      // On Linux, niceness is per thread: this lowers only the reloader's priority. Raising one's
      // own niceness is always permitted, so the result is not checked.
      const auto tid = static_cast<id_t>(syscall(SYS_gettid));
      (void)setpriority(PRIO_PROCESS, tid, options_.reload_nice);
    }
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || triggered_; };
        mu_.AwaitWithTimeout(absl::Condition(&wake), interval);
        if (stop_) return;
        triggered_ = false;
      }
      (void)ReloadNow();  // outcome reported through holder, metrics and on_attempt
    }
  });
}

void Reloader::Trigger() {
  absl::MutexLock lock(&mu_);
  triggered_ = true;
}

void Reloader::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace fleetpdp::server
