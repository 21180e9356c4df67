// The bundle a replica serves, swapped atomically on reload.
//
//   BundleHolder holder;
//   holder.Install(std::make_shared<const bundles::LoadedBundle>(std::move(loaded)));
//   std::shared_ptr<const bundles::LoadedBundle> b = holder.Current();  // null until the first
//   load if (b) Decide(*b->index, request);
//
// A request takes one snapshot with Current() and keeps it until it answers; a reload builds the
// next bundle off the request path and installs it in one store, so a request sees either the old
// bundle or the new one, never a mix, and the old one lives until its last reader lets go.
//
// Thread safety: every method may be called from any thread.
#ifndef FLEETPDP_SERVER_BUNDLE_HOLDER_H_
#define FLEETPDP_SERVER_BUNDLE_HOLDER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bundles/loader.h"

namespace fleetpdp::server {

class BundleHolder {
 public:
  std::shared_ptr<const bundles::LoadedBundle> Current() const {
    return current_.load(std::memory_order_acquire);
  }

  // Installs `bundle` (non-null) and records the successful load.
  void Install(std::shared_ptr<const bundles::LoadedBundle> bundle, absl::Time now) {
    {
      absl::MutexLock lock(&mu_);
      loaded_at_ = now;
      last_attempt_ = now;
      last_error_.clear();
    }
    current_.store(std::move(bundle), std::memory_order_release);
  }

  // Records a failed load attempt; the current bundle keeps serving.
  void RecordFailure(std::string error, absl::Time now) {
    absl::MutexLock lock(&mu_);
    last_error_ = std::move(error);
    last_attempt_ = now;
  }

  struct Status {
    absl::Time loaded_at = absl::InfinitePast();
    absl::Time last_attempt = absl::InfinitePast();
    std::string last_error;
  };
  Status status() const {
    absl::MutexLock lock(&mu_);
    return Status{loaded_at_, last_attempt_, last_error_};
  }

 private:
  std::atomic<std::shared_ptr<const bundles::LoadedBundle>> current_;
  mutable absl::Mutex mu_;
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_BUNDLE_HOLDER_H_
