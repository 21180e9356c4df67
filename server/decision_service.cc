#include "server/decision_service.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"
#include "server/decision_log.h"
#include "server/metrics.h"

namespace fleetpdp::server {
namespace {

namespace v1 = ::fleetpdp::v1;
using Clock = std::chrono::steady_clock;

// "<field>.<suffix>", or just `suffix` when the request message itself is the field.
std::string FieldPath(std::string_view field, std::string_view suffix) {
  if (field.empty()) return std::string(suffix);
  return absl::StrCat(Absl(field), ".", Absl(suffix));
}

absl::Status ConvertAttributes(const google::protobuf::Map<std::string, v1::AttributeValue>& in,
                               std::string_view field, std::vector<engine::Attribute>& out) {
  out.clear();
  out.reserve(in.size());
  for (const auto& [key, value] : in) {
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(Absl(field), ": a key must not be empty"));
    }
    if (value.values().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Absl(field), "[\"", absl::CEscape(key), "\"]: needs at least one value"));
    }
    engine::Attribute& a = out.emplace_back();
    a.key = key;
    a.values.assign(value.values().begin(), value.values().end());
    a.is_list = value.values_size() > 1;
  }
  return absl::OkStatus();
}

v1::Reason ToProto(engine::Reason reason) {
  switch (reason) {
    case engine::Reason::kAllowed:
      return v1::REASON_ALLOWED;
    case engine::Reason::kExplicitDeny:
      return v1::REASON_EXPLICIT_DENY;
    case engine::Reason::kDefaultDeny:
      return v1::REASON_DEFAULT_DENY;
  }
  return v1::REASON_UNSPECIFIED;
}

grpc::Status ToGrpc(const absl::Status& status) {
  return {static_cast<grpc::StatusCode>(status.code()), std::string(status.message())};
}

const grpc::Status& NoBundle() {
  static const grpc::Status* const status =
      new grpc::Status(grpc::StatusCode::UNAVAILABLE, "no verified bundle loaded yet");
  return *status;
}

// What every decision is reported to; either pointer may be null.
struct Sinks {
  Metrics* metrics;
  DecisionLog* log;
};

// Evaluates `request` against `bundle`, fills `out` and reports the decision. `start` is when
// the server began working on this decision (the latency reported covers conversion too).
void Decide(const bundles::LoadedBundle& bundle, engine::Request request, Method method,
            Clock::time_point start, const Sinks& sinks, v1::CheckResponse& out) {
  const engine::Decision decision = engine::Evaluate(*bundle.index, request);
  std::vector<std::string> statements = bundle.index->StatementNames(decision);
  out.set_decision(decision.allowed ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  out.set_reason(ToProto(decision.reason));
  for (const std::string& s : statements) out.add_statements(s);
  out.set_bundle_revision(bundle.metadata.revision);
  out.set_bundle_digest(bundle.metadata.digest);
  out.set_decision_id(NextDecisionId());
  if (sinks.metrics == nullptr && sinks.log == nullptr) return;

  const absl::Duration latency = absl::FromChrono(Clock::now() - start);
  if (sinks.metrics != nullptr) {
    sinks.metrics->ObserveCheck(method, request.action, decision.allowed, latency);
  }
  if (sinks.log != nullptr) {
    DecisionRecord record;
    record.time = absl::Now();
    record.decision_id = out.decision_id();
    record.method = std::string(MethodName(method));
    record.request = std::move(request);
    record.allowed = decision.allowed;
    record.reason = decision.reason;
    record.statements = std::move(statements);
    record.bundle_revision = bundle.metadata.revision;
    record.bundle_digest = bundle.metadata.digest;
    record.latency = latency;
    sinks.log->Submit(std::move(record));  // never blocks; a drop is counted by the log
  }
}

// A unary call's reactor that gives its in-flight unit back when the call has ended (the answer
// is sent or the call cancelled), so the limit counts answers gRPC still holds too.
class LimitedUnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  // REQUIRES: `limit` has a unit taken for this call and outlives it.
  explicit LimitedUnaryReactor(ConcurrencyLimit& limit) : limit_(limit) {}
  void OnDone() override {
    limit_.Release();
    delete this;
  }

 private:
  ConcurrencyLimit& limit_;
};

grpc::Status TooManyCalls(size_t limit) {
  return {grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("server overloaded: ", limit,
                       " calls already in flight (--max-in-flight-calls); retry later")};
}

// CheckStream refused at once: answers RESOURCE_EXHAUSTED without reading.
class RefusedStreamReactor final
    : public grpc::ServerBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse> {
 public:
  explicit RefusedStreamReactor(size_t limit) {
    Finish({grpc::StatusCode::RESOURCE_EXHAUSTED,
            absl::StrCat("server overloaded: ", limit,
                         " streams already open (--max-open-streams); retry later")});
  }
  void OnDone() override { delete this; }
};

// CheckStream: reads a request, answers it, reads the next. At most one write is in flight (the
// callback API allows no more); answers produced meanwhile wait in `queue_`. When the queue holds
// kMaxQueued answers the next read waits for a write to finish, so a client that sends without
// reading cannot make the server buffer without bound.
//
// Lifetime: gRPC owns the reactor; OnDone deletes it. Finish is called exactly once, when no
// read and no write is outstanding and reading is over (the client closed its side, the call was
// cancelled, or a write failed).
class CheckStreamReactor final
    : public grpc::ServerBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse> {
 public:
  // REQUIRES: `streams` has a unit taken for this stream and outlives it; OnDone gives it back.
  CheckStreamReactor(const BundleHolder& holder, Sinks sinks, ConcurrencyLimit& streams)
      : holder_(holder), sinks_(sinks), streams_(streams) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the call is cancelled
      ActionAfter(ReadEnded());
      return;
    }
    v1::CheckStreamResponse answer = Answer(request_);
    bool write = false;
    bool read = false;
    {
      absl::MutexLock lock(&mu_);
      if (broken_) {
        reading_ = false;
      } else if (!writing_) {
        writing_ = true;
        in_flight_ = std::move(answer);
        write = true;
        read = true;
      } else {
        queue_.push_back(std::move(answer));
        read = queue_.size() < kMaxQueued;
        reading_ = read;
      }
    }
    if (write) StartWrite(&in_flight_);
    if (read) {
      StartRead(&request_);
    } else {
      ActionAfter(MaybeFinish());
    }
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool resume_reading = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) {  // the stream is broken (cancelled): nothing more can be written
        broken_ = true;
        queue_.clear();
      }
      if (!queue_.empty()) {
        in_flight_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else {
        writing_ = false;
      }
      if (!broken_ && !reading_ && !read_ended_ && queue_.size() < kMaxQueued) {
        reading_ = true;
        resume_reading = true;
      }
    }
    if (write) StartWrite(&in_flight_);
    if (resume_reading) StartRead(&request_);
    if (!write) ActionAfter(MaybeFinish());
  }

  // A pending read or write completes with ok=false after a cancel; those paths finish.
  void OnCancel() override {}

  void OnDone() override {
    streams_.Release();
    delete this;
  }

 private:
  static constexpr size_t kMaxQueued = 64;

  enum class Action : uint8_t { kNone, kFinish };

  v1::CheckStreamResponse Answer(const v1::CheckStreamRequest& in) {
    const Clock::time_point start = Clock::now();
    v1::CheckStreamResponse out;
    out.set_request_id(in.request_id());
    engine::Request request;
    if (absl::Status s = FromProto(in.check(), "check", request); !s.ok()) {
      if (sinks_.metrics != nullptr) sinks_.metrics->CountInvalidRequest(Method::kCheckStream);
      out.set_error(absl::StrCat("INVALID_ARGUMENT: ", s.message()));
      return out;
    }
    // A fresh snapshot per message: a long-lived stream follows reloads.
    std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
    if (bundle == nullptr) {
      out.set_error(absl::StrCat("UNAVAILABLE: ", NoBundle().error_message()));
      return out;
    }
    Decide(*bundle, std::move(request), Method::kCheckStream, start, sinks_, *out.mutable_result());
    return out;
  }

  Action ReadEnded() {
    absl::MutexLock lock(&mu_);
    read_ended_ = true;
    reading_ = false;
    return MaybeFinishLocked();
  }

  Action MaybeFinish() {
    absl::MutexLock lock(&mu_);
    return MaybeFinishLocked();
  }

  Action MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || reading_ || writing_) return Action::kNone;
    if (!read_ended_ && !broken_) return Action::kNone;  // paused for backpressure only
    finished_ = true;
    return Action::kFinish;
  }

  // Start* and Finish are called without holding mu_: gRPC may run a reaction inline.
  void ActionAfter(Action action) {
    if (action != Action::kFinish) return;
    bool broken;
    {
      absl::MutexLock lock(&mu_);
      broken = broken_;
    }
    Finish(broken ? grpc::Status(grpc::StatusCode::CANCELLED, "stream broken") : grpc::Status::OK);
  }

  const BundleHolder& holder_;
  const Sinks sinks_;
  ConcurrencyLimit& streams_;
  // Written only by the read path: one read is outstanding at a time.
  v1::CheckStreamRequest request_;
  // Owned by the write path while writing_ is true.
  v1::CheckStreamResponse in_flight_;

  absl::Mutex mu_;
  std::deque<v1::CheckStreamResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = true;      // a read is outstanding
  bool writing_ ABSL_GUARDED_BY(mu_) = false;     // a write is outstanding
  bool read_ended_ ABSL_GUARDED_BY(mu_) = false;  // a read failed: no more requests
  bool broken_ ABSL_GUARDED_BY(mu_) = false;      // a write failed: no more answers
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::Status FromProto(const v1::CheckRequest& in, std::string_view field, engine::Request& out) {
  out.principal.id = in.principal().id();
  out.principal.type = in.principal().type();
  out.principal.groups.assign(in.principal().groups().begin(), in.principal().groups().end());
  out.action = in.action();
  out.resource = in.resource();
  // Empty keys are reported here with the field's full path; ValidateRequest would see them too.
  if (absl::Status s =
          ConvertAttributes(in.principal().attributes(), FieldPath(field, "principal.attributes"),
                            out.principal.attributes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ConvertAttributes(in.context(), FieldPath(field, "context"), out.context);
      !s.ok()) {
    return s;
  }
  // ValidateRequest's messages start with the field ("resource: …"): prefix the request's path.
  if (absl::Status s = engine::ValidateRequest(out); !s.ok()) {
    return absl::InvalidArgumentError(FieldPath(field, Std(s.message())));
  }
  return absl::OkStatus();
}

DecisionServiceImpl::DecisionServiceImpl(const BundleHolder& holder, Metrics* metrics,
                                         DecisionLog* log, ServiceLimits limits, std::string source)
    : holder_(holder),
      metrics_(metrics),
      log_(log),
      limits_(limits),
      source_(std::move(source)),
      calls_(limits.max_in_flight_calls),
      streams_(limits.max_open_streams) {
  if (metrics_ != nullptr) metrics_->WatchLimits(&calls_, &streams_);
}

DecisionServiceImpl::~DecisionServiceImpl() {
  if (metrics_ != nullptr) metrics_->WatchLimits(nullptr, nullptr);
}

grpc::ServerUnaryReactor* DecisionServiceImpl::Check(grpc::CallbackServerContext* context,
                                                     const v1::CheckRequest* request,
                                                     v1::CheckResponse* response) {
  const Clock::time_point start = Clock::now();
  if (!calls_.TryAcquire()) {
    if (metrics_ != nullptr) metrics_->CountRejected(Method::kCheck, Rejection::kInFlightLimit);
    grpc::ServerUnaryReactor* refused = context->DefaultReactor();
    refused->Finish(TooManyCalls(calls_.limit()));
    return refused;
  }
  grpc::ServerUnaryReactor* reactor = new LimitedUnaryReactor(calls_);
  engine::Request converted;
  // Field paths are relative to the RPC's request message: for Check that is the CheckRequest.
  if (absl::Status s = FromProto(*request, "", converted); !s.ok()) {
    if (metrics_ != nullptr) metrics_->CountInvalidRequest(Method::kCheck);
    reactor->Finish(ToGrpc(s));
    return reactor;
  }
  std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
  if (bundle == nullptr) {
    reactor->Finish(NoBundle());
    return reactor;
  }
  Decide(*bundle, std::move(converted), Method::kCheck, start, Sinks{metrics_, log_}, *response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DecisionServiceImpl::BatchCheck(grpc::CallbackServerContext* context,
                                                          const v1::BatchCheckRequest* request,
                                                          v1::BatchCheckResponse* response) {
  const Clock::time_point start = Clock::now();
  if (!calls_.TryAcquire()) {
    if (metrics_ != nullptr) {
      metrics_->CountRejected(Method::kBatchCheck, Rejection::kInFlightLimit);
    }
    grpc::ServerUnaryReactor* refused = context->DefaultReactor();
    refused->Finish(TooManyCalls(calls_.limit()));
    return refused;
  }
  grpc::ServerUnaryReactor* reactor = new LimitedUnaryReactor(calls_);
  const auto n = static_cast<size_t>(request->checks_size());
  if (n > limits_.max_batch_size) {
    if (metrics_ != nullptr) metrics_->CountInvalidRequest(Method::kBatchCheck);
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("batch of ", n, " checks exceeds the limit of ", limits_.max_batch_size)));
    return reactor;
  }
  // All or nothing: one bad check refuses the batch before anything is decided.
  std::vector<engine::Request> converted(n);
  for (size_t i = 0; i < n; ++i) {
    if (absl::Status s = FromProto(request->checks(static_cast<int>(i)),
                                   absl::StrCat("checks[", i, "]"), converted[i]);
        !s.ok()) {
      if (metrics_ != nullptr) metrics_->CountInvalidRequest(Method::kBatchCheck);
      reactor->Finish(ToGrpc(s));
      return reactor;
    }
  }
  // One snapshot for the whole batch: every answer comes from the same bundle.
  std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
  if (bundle == nullptr) {
    reactor->Finish(NoBundle());
    return reactor;
  }
  const Sinks sinks{metrics_, log_};
  response->mutable_results()->Reserve(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    // The first decision carries the conversion cost; each later one is timed on its own.
    Decide(*bundle, std::move(converted[i]), Method::kBatchCheck, i == 0 ? start : Clock::now(),
           sinks, *response->add_results());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse>*
DecisionServiceImpl::CheckStream(grpc::CallbackServerContext* context) {
  if (!streams_.TryAcquire()) {
    if (metrics_ != nullptr) {
      metrics_->CountRejected(Method::kCheckStream, Rejection::kOpenStreamsLimit);
    }
    return new RefusedStreamReactor(streams_.limit());
  }
  return new CheckStreamReactor(holder_, Sinks{metrics_, log_}, streams_);
}

grpc::ServerUnaryReactor* DecisionServiceImpl::GetBundleInfo(
    grpc::CallbackServerContext* context, const v1::GetBundleInfoRequest* request,
    v1::BundleInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
  const BundleHolder::Status status = holder_.status();
  auto unix_seconds = [](absl::Time t) -> int64_t {
    return t == absl::InfinitePast() ? 0 : absl::ToUnixSeconds(t);
  };
  if (bundle != nullptr) {
    const bundles::BundleMetadata& m = bundle->metadata;
    response->set_name(m.name);
    response->set_revision(m.revision);
    response->set_digest(m.digest);
    response->set_key_id(m.key_id);
    response->set_loaded_at_unix_seconds(unix_seconds(status.loaded_at));
    response->set_policies(m.policies);
    response->set_statements(m.statements);
    response->set_entities(m.entities);
    response->set_groups(m.groups);
  }
  response->set_source(source_);
  response->set_last_load_error(status.last_error);
  response->set_last_load_attempt_unix_seconds(unix_seconds(status.last_attempt));
  response->set_serving(bundle != nullptr);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace fleetpdp::server
