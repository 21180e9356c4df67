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

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

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

// "<field>.<suffix>", or just `suffix` when the request message itself is the field. Built only
// for an error message: a valid request pays nothing for its field's name.
std::string FieldPath(std::string_view field, std::string_view suffix) {
  if (field.empty()) return std::string(suffix);
  return absl::StrCat(Absl(field), ".", Absl(suffix));
}

// Assigns element by element so that `out`'s strings and vectors keep their capacity: converting
// into a reused request allocates nothing once its buffers are large enough.
template <typename Dst, typename Src>
void AssignStrings(Dst& out, const Src& in) {
  out.resize(static_cast<size_t>(in.size()));
  auto o = out.begin();
  for (const std::string& s : in) (o++)->assign(s);
}

// `field` and `suffix` name the map in error messages ("check" + "context").
absl::Status ConvertAttributes(const google::protobuf::Map<std::string, v1::AttributeValue>& in,
                               std::string_view field, std::string_view suffix,
                               std::vector<engine::Attribute>& out) {
  out.resize(in.size());
  auto a = out.begin();
  for (const auto& [key, value] : in) {
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FieldPath(field, suffix), ": a key must not be empty"));
    }
    if (value.values().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          FieldPath(field, suffix), "[\"", absl::CEscape(key), "\"]: needs at least one value"));
    }
    a->key.assign(key);
    AssignStrings(a->values, value.values());
    a->is_list = value.values_size() > 1;
    ++a;
  }
  return absl::OkStatus();
}

// The request a handler converts into, one per thread and reused: its buffers stay allocated
// between calls. A handler converts and decides without giving up the thread in between, so one
// conversion never overlaps another on the same thread.
engine::Request& ScratchRequest() {
  thread_local engine::Request request;
  return request;
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
void Decide(const bundles::LoadedBundle& bundle, const engine::Request& request, Method method,
            Clock::time_point start, const Sinks& sinks, v1::CheckResponse& out) {
  const engine::RuleIndex& index = *bundle.index;
  const engine::Decision decision = engine::Evaluate(index, request);
  out.set_decision(decision.allowed ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  out.set_reason(ToProto(decision.reason));
  for (engine::StatementRef ref : decision.statements) {
    const std::string_view name = index.statement_name(ref);
    out.add_statements(name.data(), name.size());
  }
  out.set_bundle_revision(bundle.metadata.revision);
  out.set_bundle_digest(bundle.metadata.digest);
  SetDecisionId(*out.mutable_decision_id());
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
    record.request = request;
    record.allowed = decision.allowed;
    record.reason = decision.reason;
    record.statements.assign(out.statements().begin(), out.statements().end());
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

// gRPC orders a stream reactor's construction before its first reaction inside libgrpc, which
// ThreadSanitizer cannot see (Debian's gRPC is not instrumented): the first OnReadDone's reads of
// the reactor's members were reported against their allocation on the accepting thread. These
// tell TSan about that one edge; they do nothing in other builds (tools/test-tsan.sh).
void ConstructionDone([[maybe_unused]] const void* reactor) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(reactor));
#endif
}
void AfterConstruction([[maybe_unused]] const void* reactor) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(reactor));
#endif
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
    ConstructionDone(this);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    AfterConstruction(this);
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
    AfterConstruction(this);
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
    engine::Request& request = ScratchRequest();
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
    Decide(*bundle, request, Method::kCheckStream, start, sinks_, *out.mutable_result());
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
  out.principal.id.assign(in.principal().id());
  out.principal.type.assign(in.principal().type());
  AssignStrings(out.principal.groups, in.principal().groups());
  out.action.assign(in.action());
  out.resource.assign(in.resource());
  // Empty keys are reported here with the field's full path; ValidateRequest would see them too.
  if (absl::Status s = ConvertAttributes(in.principal().attributes(), field, "principal.attributes",
                                         out.principal.attributes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ConvertAttributes(in.context(), field, "context", out.context); !s.ok()) {
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
  SetMessageAllocatorFor_Check(&check_messages_);
  SetMessageAllocatorFor_BatchCheck(&batch_messages_);
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
  engine::Request& converted = ScratchRequest();
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
  Decide(*bundle, converted, Method::kCheck, start, Sinks{metrics_, log_}, *response);
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
  // All or nothing: one bad check refuses the batch before anything is decided. The requests are
  // converted into this thread's reused buffers (see ScratchRequest).
  thread_local std::vector<engine::Request> scratch;
  if (scratch.size() < n) scratch.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (absl::Status s = FromProto(request->checks(static_cast<int>(i)), "", scratch[i]); !s.ok()) {
      if (metrics_ != nullptr) metrics_->CountInvalidRequest(Method::kBatchCheck);
      // The message starts with the field within the check: name the check too.
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   FieldPath(absl::StrCat("checks[", i, "]"), Std(s.message()))));
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
    Decide(*bundle, scratch[i], Method::kBatchCheck, i == 0 ? start : Clock::now(), sinks,
           *response->add_results());
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
