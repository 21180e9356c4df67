// Metrics on prometheus-cpp: every series the hot path touches is created up front, and the few
// that appear later (application actions) are found without taking a lock once they exist.
#include "server/metrics.h"

#include <array>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"
#include "engine/request.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/limits.h"

namespace fleetpdp::server {
namespace {

constexpr std::array<Method, 4> kMethods = {Method::kCheck, Method::kBatchCheck,
                                            Method::kCheckStream, Method::kEmqxHttp};
constexpr std::array<std::string_view, 5> kMqttActions = {
    engine::kConnect, engine::kPublish, engine::kSubscribe, engine::kReceive, engine::kRetain};

// The method labels of fleetpdp_unauthorized_calls_total; the last one takes everything else.
constexpr std::array<std::string_view, 6> kUnauthorizedMethods = {
    "Check", "BatchCheck", "CheckStream", "GetBundleInfo", "ServerReflectionInfo", "other"};

// Application actions get their own label up to this many; the rest share kOtherAction.
constexpr size_t kMaxAppActions = 64;
// Open-addressing table of known application actions; twice the limit keeps probes short and
// guarantees an empty slot ends every probe sequence.
constexpr size_t kAppActionSlots = 2 * kMaxAppActions;
static_assert((kAppActionSlots & (kAppActionSlots - 1)) == 0, "slot count must be a power of 2");
constexpr char kOtherAction[] = "other";

// Seconds; decisions take microseconds, a slow one (a cold cache, a huge request) milliseconds.
const prometheus::Histogram::BucketBoundaries& CheckDurationBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5,   1e-4, 2.5e-4,
      5e-4, 1e-3,   2.5e-3, 5e-3, 1e-2,   2.5e-2, 0.1,  1};
  return *kBuckets;
}

size_t MethodIndex(Method method) { return static_cast<size_t>(method); }

constexpr std::array<Rejection, 2> kRejections = {Rejection::kInFlightLimit,
                                                  Rejection::kOpenStreamsLimit};

// What the exposer and Scrape() collect: the registry, after fleetpdp_in_flight_calls and
// fleetpdp_open_streams have been set from the service's limits. Read at scrape time, they cost
// the hot path nothing.
class RefreshingRegistry final : public prometheus::Collectable {
 public:
  explicit RefreshingRegistry(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)),
        in_flight_(prometheus::BuildGauge()
                       .Name("fleetpdp_in_flight_calls")
                       .Help("Check and BatchCheck calls in flight now (limit: "
                             "--max-in-flight-calls).")
                       .Register(*registry_)
                       .Add({})),
        open_streams_(prometheus::BuildGauge()
                          .Name("fleetpdp_open_streams")
                          .Help("CheckStream calls open now (limit: --max-open-streams).")
                          .Register(*registry_)
                          .Add({})) {}

  void Watch(const ConcurrencyLimit* calls, const ConcurrencyLimit* streams) {
    std::lock_guard lock(mu_);
    calls_ = calls;
    streams_ = streams;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    {
      std::lock_guard lock(mu_);
      in_flight_.Set(calls_ == nullptr ? 0.0 : static_cast<double>(calls_->in_use()));
      open_streams_.Set(streams_ == nullptr ? 0.0 : static_cast<double>(streams_->in_use()));
    }
    return registry_->Collect();
  }

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge& in_flight_;     // owned by registry_
  prometheus::Gauge& open_streams_;  // owned by registry_
  mutable std::mutex mu_;
  const ConcurrencyLimit* calls_ = nullptr;    // guarded by mu_
  const ConcurrencyLimit* streams_ = nullptr;  // guarded by mu_
};

}  // namespace

std::string_view RejectionName(Rejection reason) {
  switch (reason) {
    case Rejection::kInFlightLimit:
      return "in_flight_limit";
    case Rejection::kOpenStreamsLimit:
      return "open_streams_limit";
  }
  return "unknown";
}

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kCheck:
      return "Check";
    case Method::kBatchCheck:
      return "BatchCheck";
    case Method::kCheckStream:
      return "CheckStream";
    case Method::kEmqxHttp:
      return "EmqxHttp";
  }
  return "unknown";
}

struct Metrics::Impl {
  struct Outcomes {
    prometheus::Counter* allow = nullptr;
    prometheus::Counter* deny = nullptr;
  };
  // An application action's counters. Immutable once published in app_slots; owned by
  // app_actions and alive as long as Impl.
  struct AppAction {
    std::string name;
    Outcomes outcomes;
  };

  Impl() : registry(std::make_shared<prometheus::Registry>()) {
    check_duration = &prometheus::BuildHistogram()
                          .Name("fleetpdp_check_duration_seconds")
                          .Help("Time to decide one request, by gRPC method.")
                          .Register(*registry);
    decisions = &prometheus::BuildCounter()
                     .Name("fleetpdp_decisions_total")
                     .Help(
                         "Decisions by action and outcome (allow or deny); application "
                         "actions beyond the first 64 are counted as \"other\".")
                     .Register(*registry);
    invalid_requests = &prometheus::BuildCounter()
                            .Name("fleetpdp_invalid_requests_total")
                            .Help("Requests refused as malformed (INVALID_ARGUMENT), by method.")
                            .Register(*registry);
    bundle_loads = &prometheus::BuildCounter()
                        .Name("fleetpdp_bundle_loads_total")
                        .Help("Bundle load attempts by result: success or the rejection reason.")
                        .Register(*registry);
    bundle_info = &prometheus::BuildGauge()
                       .Name("fleetpdp_bundle_info")
                       .Help("The bundle being served; always 1, the labels carry the data.")
                       .Register(*registry);
    last_success = &prometheus::BuildGauge()
                        .Name("fleetpdp_bundle_last_success_timestamp_seconds")
                        .Help("Unix time of the last successful bundle load.")
                        .Register(*registry)
                        .Add({});
    log_dropped = &prometheus::BuildCounter()
                       .Name("fleetpdp_decision_log_dropped_total")
                       .Help("Decision log records lost: queue full or write failed.")
                       .Register(*registry)
                       .Add({});
    rejected = &prometheus::BuildCounter()
                    .Name("fleetpdp_rejected_requests_total")
                    .Help(
                        "Calls refused with RESOURCE_EXHAUSTED by an overload limit before any "
                        "decision, by method and reason (in_flight_limit, open_streams_limit).")
                    .Register(*registry);
    log_write_errors = &prometheus::BuildCounter()
                            .Name("fleetpdp_decision_log_write_errors_total")
                            .Help("Failed writes of the decision log (e.g. disk full).")
                            .Register(*registry)
                            .Add({});
    unauthorized_calls = &prometheus::BuildCounter()
                              .Name("fleetpdp_unauthorized_calls_total")
                              .Help("Calls refused by caller authorization, by method.")
                              .Register(*registry);
    for (size_t i = 0; i < kUnauthorizedMethods.size(); ++i) {
      unauthorized_counters[i] =
          &unauthorized_calls->Add({{"method", std::string(kUnauthorizedMethods[i])}});
    }

    for (Method method : kMethods) {
      const std::string name(MethodName(method));
      check_histograms[MethodIndex(method)] =
          &check_duration->Add({{"method", name}}, CheckDurationBuckets());
      invalid_counters[MethodIndex(method)] = &invalid_requests->Add({{"method", name}});
    }
    for (size_t i = 0; i < kMqttActions.size(); ++i) {
      mqtt[i] = AddOutcomes(kMqttActions[i]);
    }
    other = AddOutcomes(kOtherAction);
    // The pairs that can happen, present from the start so that rate() sees the first one.
    for (Method method : {Method::kCheck, Method::kBatchCheck}) {
      RejectedCounter(method, Rejection::kInFlightLimit);
    }
    RejectedCounter(Method::kCheckStream, Rejection::kOpenStreamsLimit);
    // Present from the start so that rate() and absent() alerts work before the first load.
    bundle_loads->Add({{"result", "success"}});
  }

  prometheus::Counter& RejectedCounter(Method method, Rejection reason) {
    std::atomic<prometheus::Counter*>& slot =
        rejected_counters[MethodIndex(method)][static_cast<size_t>(reason)];
    if (prometheus::Counter* c = slot.load(std::memory_order_acquire)) return *c;
    // Family::Add is thread-safe and returns the existing series for equal labels.
    prometheus::Counter& c = rejected->Add({{"method", std::string(MethodName(method))},
                                            {"reason", std::string(RejectionName(reason))}});
    slot.store(&c, std::memory_order_release);
    return c;
  }

  Outcomes AddOutcomes(std::string_view action) {
    const std::string label(action);
    return {.allow = &decisions->Add({{"action", label}, {"outcome", "allow"}}),
            .deny = &decisions->Add({{"action", label}, {"outcome", "deny"}})};
  }

  // The counters for `action`. Lock-free for MQTT actions and for application actions already
  // seen; takes app_mu only the first time an action appears while there is room for it.
  const Outcomes& OutcomesFor(std::string_view action) {
    if (action.substr(0, 5) == "mqtt:") {
      for (size_t i = 0; i < kMqttActions.size(); ++i) {
        if (action == kMqttActions[i]) return mqtt[i];
      }
    }
    const size_t hash = std::hash<std::string_view>{}(action);
    if (const AppAction* known = FindAppAction(action, hash)) return known->outcomes;
    if (app_actions_full.load(std::memory_order_acquire)) return other;
    return AddAppAction(action, hash);
  }

  const AppAction* FindAppAction(std::string_view action, size_t hash) const {
    for (size_t i = 0; i < kAppActionSlots; ++i) {
      const AppAction* slot =
          app_slots[(hash + i) & (kAppActionSlots - 1)].load(std::memory_order_acquire);
      if (slot == nullptr) return nullptr;
      if (slot->name == action) return slot;
    }
    return nullptr;
  }

  const Outcomes& AddAppAction(std::string_view action, size_t hash) {
    std::lock_guard lock(app_mu);
    // Another thread may have added it (or filled the table) since the lock-free look.
    if (const AppAction* known = FindAppAction(action, hash)) return known->outcomes;
    if (app_actions.size() >= kMaxAppActions) return other;
    auto added = std::make_unique<AppAction>();
    added->name = std::string(action);
    added->outcomes = AddOutcomes(action);
    size_t slot = hash & (kAppActionSlots - 1);
    while (app_slots[slot].load(std::memory_order_relaxed) != nullptr) {
      slot = (slot + 1) & (kAppActionSlots - 1);
    }
    // Release: a reader that sees the pointer sees the name and counters it points to.
    app_slots[slot].store(added.get(), std::memory_order_release);
    app_actions.push_back(std::move(added));
    if (app_actions.size() >= kMaxAppActions) {
      app_actions_full.store(true, std::memory_order_release);
    }
    return app_actions.back()->outcomes;
  }

  // Declared first, destroyed last: the exposer and every pointer below refer into it.
  std::shared_ptr<prometheus::Registry> registry;

  prometheus::Family<prometheus::Histogram>* check_duration = nullptr;
  std::array<prometheus::Histogram*, kMethods.size()> check_histograms{};
  prometheus::Family<prometheus::Counter>* decisions = nullptr;
  std::array<Outcomes, kMqttActions.size()> mqtt{};
  Outcomes other;

  // std::mutex rather than absl::Mutex: Debian's Abseil is not built for ThreadSanitizer, which
  // then cannot see absl::Mutex ordering and reports every guarded access as a race.
  std::mutex app_mu;  // serializes adding application actions
  // INVARIANT: every non-null slot points at an element of app_actions; slots are only ever
  // filled (under app_mu), never cleared, so a lock-free probe is always safe.
  std::array<std::atomic<const AppAction*>, kAppActionSlots> app_slots{};
  std::vector<std::unique_ptr<AppAction>> app_actions;  // guarded by app_mu
  // Set once app_actions holds kMaxAppActions: new actions then go to "other" without the lock.
  std::atomic<bool> app_actions_full{false};

  prometheus::Family<prometheus::Counter>* invalid_requests = nullptr;
  std::array<prometheus::Counter*, kMethods.size()> invalid_counters{};
  prometheus::Family<prometheus::Counter>* bundle_loads = nullptr;

  std::mutex bundle_mu;
  prometheus::Family<prometheus::Gauge>* bundle_info = nullptr;
  // Guarded by bundle_mu. The single fleetpdp_bundle_info series; null before the first load.
  prometheus::Gauge* bundle_info_series = nullptr;
  prometheus::Gauge* last_success = nullptr;

  prometheus::Counter* log_dropped = nullptr;
  prometheus::Counter* log_write_errors = nullptr;
  prometheus::Family<prometheus::Counter>* unauthorized_calls = nullptr;
  std::array<prometheus::Counter*, kUnauthorizedMethods.size()> unauthorized_counters{};

  prometheus::Family<prometheus::Counter>* rejected = nullptr;
  // Filled on first use (the possible pairs in the constructor); a slot only goes from null to
  // a series of `rejected`, which lives as long as the registry.
  std::array<std::array<std::atomic<prometheus::Counter*>, kRejections.size()>, kMethods.size()>
      rejected_counters{};

  // Declared after registry: it refers into it.
  std::shared_ptr<RefreshingRegistry> collected = std::make_shared<RefreshingRegistry>(registry);

  // Declared last, destroyed first: it stops serving before the registry goes away.
  std::unique_ptr<prometheus::Exposer> exposer;
};

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const MetricsOptions& options) {
  auto impl = std::make_unique<Impl>();
  if (!options.listen.empty()) {
    // prometheus-cpp reports a bind failure (port in use, bad address) by throwing
    // CivetException, a std::runtime_error; nothing else of ours throws.
    try {
      impl->exposer = std::make_unique<prometheus::Exposer>(options.listen);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("metrics endpoint ", options.listen, ": ", e.what()));
    }
    impl->exposer->RegisterCollectable(impl->collected);
  }
  return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

void Metrics::ObserveCheck(Method method, std::string_view action, bool allowed,
                           absl::Duration latency) {
  impl_->check_histograms[MethodIndex(method)]->Observe(absl::ToDoubleSeconds(latency));
  const Impl::Outcomes& outcomes = impl_->OutcomesFor(action);
  (allowed ? outcomes.allow : outcomes.deny)->Increment();
}

void Metrics::CountInvalidRequest(Method method) {
  impl_->invalid_counters[MethodIndex(method)]->Increment();
}

void Metrics::CountBundleLoad(std::string_view result) {
  // Rare (one per reload) and of bounded cardinality: the family's own lookup is fine here.
  impl_->bundle_loads->Add({{"result", std::string(result)}}).Increment();
}

void Metrics::SetBundle(std::string_view name, uint64_t revision, std::string_view digest,
                        std::string_view key_id, absl::Time loaded_at) {
  const prometheus::Labels labels = {{"name", std::string(name)},
                                     {"revision", std::to_string(revision)},
                                     {"digest", std::string(digest)},
                                     {"key_id", std::string(key_id)}};
  std::lock_guard lock(impl_->bundle_mu);
  // Remove before adding: with equal labels Add would hand back the old series, and a scrape
  // racing with this swap may briefly see no series but never two.
  if (impl_->bundle_info_series != nullptr) {
    impl_->bundle_info->Remove(impl_->bundle_info_series);
  }
  impl_->bundle_info_series = &impl_->bundle_info->Add(labels);
  impl_->bundle_info_series->Set(1);
  impl_->last_success->Set(absl::ToDoubleSeconds(loaded_at - absl::UnixEpoch()));
}

void Metrics::CountDecisionLogDrop() { impl_->log_dropped->Increment(); }

void Metrics::CountRejected(Method method, Rejection reason) {
  impl_->RejectedCounter(method, reason).Increment();
}

void Metrics::WatchLimits(const ConcurrencyLimit* calls, const ConcurrencyLimit* streams) {
  impl_->collected->Watch(calls, streams);
}

void Metrics::CountDecisionLogWriteError() { impl_->log_write_errors->Increment(); }

void Metrics::CountUnauthorizedCall(std::string_view method) {
  size_t i = 0;
  while (i + 1 < kUnauthorizedMethods.size() && kUnauthorizedMethods[i] != method) ++i;
  impl_->unauthorized_counters[i]->Increment();
}

std::string Metrics::Scrape() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->collected->Collect());
  return std::move(out).str();
}

int Metrics::port() const {
  if (impl_->exposer == nullptr) return 0;
  const std::vector<int> ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

prometheus::Registry& Metrics::registry() { return *impl_->registry; }

}  // namespace fleetpdp::server
