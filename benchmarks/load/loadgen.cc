// fleetpdp_loadgen: load for a DecisionService (FleetPDP, or fleetpdp_floor beside it), through
// the project's client library. See kUsage and docs/performance.md.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "benchmarks/load/histogram.h"
#include "benchmarks/load/request_file.h"
#include "integrations/client/client.h"
#include "integrations/client/grpc_library.h"

namespace fleetpdp::load {
namespace {

namespace v1 = ::fleetpdp::v1;
using Clock = std::chrono::steady_clock;

constexpr char kUsage[] = R"(usage: fleetpdp_loadgen --requests FILE [OPTIONS]

Sends checks to a fleetpdp.v1.DecisionService and reports throughput, latency percentiles and
errors. Closed loop by default (every connection keeps --inflight calls outstanding); with --rate,
open loop: calls are sent at fixed intended times and latency is measured from the intended time,
so a stalled server shows up in the percentiles instead of silently lowering the send rate.

  --target ADDR          server (default 127.0.0.1:50051); host:port, dns:///host:port or a comma
                         list of IPs. Loopback only unless --allow-remote
  --allow-remote         allow a target that is not 127.0.0.0/8, ::1 or localhost
  --requests FILE        request file (*.jsonl or *.yaml; benchmarks/load/request_file.h)
  --mode MODE            unary (default), batch:K (BatchCheck of K checks) or stream (CheckStream)
  --connections N        TCP connections, each its own channel (default 16)
  --inflight M           closed loop: calls (stream: messages) in flight per connection (default 16)
  --rate R               open loop: R calls/s in total (stream: messages/s); 0 = closed loop.
                         Sending stops after --duration even when the sender lags behind R
  --max-outstanding N    open loop: most calls in flight before the sender waits (default 100000)
  --duration D           how long to send after the warm-up (default 10s)
  --warmup D             sent but not measured (default 1s)
  --count N              stop after N calls (0 = no limit; the duration still applies)
  --deadline D           per-call deadline (default 5s)
  --max-attempts N       attempts per unary call on UNAVAILABLE, 1 to 5 (default 1: failures are
                         counted, not retried); with a comma list of replicas, a retry goes to
                         another one (fleetpdp_client's retry policy)
  --max-reconnect-backoff D
                         longest wait between reconnections to a replica that went away
                         (default: gRPC's, up to 120s)
  --seed N               request order (default 1)
  --mark-file PATH       latencies of calls that end while PATH exists are also reported apart
                         ("marked", the rest "unmarked"), e.g. while run.sh reloads the bundle
  --fail-on-unexpected   exit 1 when an answer differs from the request file's `expect`
  --json                 print the report as one JSON object on stdout
  --ca-file F --cert-file F --key-file F --server-name NAME
                         TLS (mutual TLS with cert and key) instead of plaintext

Progress goes to stderr once per second, with the first error message of each status code.
Exit status: 0; 1 when a call failed (or, with --fail-on-unexpected, an answer was unexpected); 2
for bad usage or an unreadable request file.
)";

enum class Mode { kUnary, kBatch, kStream };

struct Options {
  std::string target = "127.0.0.1:50051";
  bool allow_remote = false;
  std::string requests;
  Mode mode = Mode::kUnary;
  int batch = 1;
  int connections = 16;
  int inflight = 16;
  double rate = 0;
  uint64_t max_outstanding = 100000;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  uint64_t count = 0;
  absl::Duration deadline = absl::Seconds(5);
  int max_attempts = 1;
  absl::Duration max_reconnect_backoff = absl::ZeroDuration();
  uint64_t seed = 1;
  std::string mark_file;
  bool fail_on_unexpected = false;
  bool json = false;
  std::optional<client::TlsOptions> tls;
};

std::string ModeName(const Options& o) {
  switch (o.mode) {
    case Mode::kUnary:
      return "unary";
    case Mode::kBatch:
      return absl::StrCat("batch:", o.batch);
    case Mode::kStream:
      return "stream";
  }
  return "?";
}

// True when every address in `target` is on this machine.
bool IsLoopback(const std::string& target) {
  absl::string_view rest = target;
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&rest, scheme)) break;
  }
  for (absl::string_view element : absl::StrSplit(rest, ',')) {
    element = absl::StripAsciiWhitespace(element);
    absl::string_view host = element;
    if (absl::StartsWith(host, "[")) {
      host = host.substr(1, host.find(']') == absl::string_view::npos ? 0 : host.find(']') - 1);
    } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
      host = host.substr(0, colon);
    }
    if (host != "localhost" && host != "::1" && !absl::StartsWith(host, "127.")) return false;
  }
  return true;
}

absl::StatusOr<Options> ParseFlags(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto bad = [](const std::string& flag, const std::string& value, const char* what) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", value, "\" is not ", what));
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    if (size_t eq = flag.find('='); eq != std::string::npos && absl::StartsWith(flag, "--")) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag != "--allow-remote" && flag != "--json" && flag != "--fail-on-unexpected" &&
               flag != "--help" && flag != "-h") {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
      value = args[++i];
    }
    auto duration = [&](absl::Duration& d, bool zero_ok) -> absl::Status {
      if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
          (!zero_ok && d == absl::ZeroDuration())) {
        return bad(flag, value, "a duration like 10s");
      }
      return absl::OkStatus();
    };
    auto positive = [&](auto& n) -> absl::Status {
      if (!absl::SimpleAtoi(value, &n) || n <= 0) return bad(flag, value, "a positive integer");
      return absl::OkStatus();
    };
    absl::Status s;
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--target") {
      o.target = value;
    } else if (flag == "--allow-remote") {
      o.allow_remote = true;
    } else if (flag == "--requests") {
      o.requests = value;
    } else if (flag == "--mode") {
      if (value == "unary") {
        o.mode = Mode::kUnary;
      } else if (value == "stream") {
        o.mode = Mode::kStream;
      } else if (absl::StartsWith(value, "batch:") || value == "batch") {
        o.mode = Mode::kBatch;
        o.batch = 10;
        if (value != "batch" && (!absl::SimpleAtoi(value.substr(6), &o.batch) || o.batch <= 0)) {
          return bad(flag, value, "unary, batch:K or stream");
        }
      } else {
        return bad(flag, value, "unary, batch:K or stream");
      }
    } else if (flag == "--connections") {
      s = positive(o.connections);
    } else if (flag == "--inflight") {
      s = positive(o.inflight);
    } else if (flag == "--rate") {
      if (!absl::SimpleAtod(value, &o.rate) || o.rate < 0) s = bad(flag, value, "a rate ≥ 0");
    } else if (flag == "--max-outstanding") {
      s = positive(o.max_outstanding);
    } else if (flag == "--duration") {
      s = duration(o.duration, false);
    } else if (flag == "--warmup") {
      s = duration(o.warmup, true);
    } else if (flag == "--count") {
      if (!absl::SimpleAtoi(value, &o.count)) s = bad(flag, value, "a count");
    } else if (flag == "--deadline") {
      s = duration(o.deadline, false);
    } else if (flag == "--max-attempts") {
      if (!absl::SimpleAtoi(value, &o.max_attempts) || o.max_attempts < 1 || o.max_attempts > 5) {
        s = bad(flag, value, "an integer from 1 to 5");
      }
    } else if (flag == "--max-reconnect-backoff") {
      s = duration(o.max_reconnect_backoff, false);
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &o.seed)) s = bad(flag, value, "an integer");
    } else if (flag == "--mark-file") {
      o.mark_file = value;
    } else if (flag == "--fail-on-unexpected") {
      o.fail_on_unexpected = true;
    } else if (flag == "--json") {
      o.json = true;
    } else if (flag == "--ca-file" || flag == "--cert-file" || flag == "--key-file" ||
               flag == "--server-name") {
      if (!o.tls) o.tls.emplace();
      (flag == "--ca-file"     ? o.tls->ca_file
       : flag == "--cert-file" ? o.tls->cert_file
       : flag == "--key-file"  ? o.tls->key_file
                               : o.tls->server_name) = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", flag, "\""));
    }
    if (!s.ok()) return s;
  }
  if (o.requests.empty()) return absl::InvalidArgumentError("--requests FILE is required");
  if (!o.allow_remote && !IsLoopback(o.target)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--target \"", o.target, "\" is not a loopback address (pass --allow-remote to load it)"));
  }
  return o;
}

constexpr int kCodes = 17;  // grpc::StatusCode 0..16
constexpr std::array<const char*, kCodes> kCodeNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Everything counted while the load runs; updated from gRPC threads.
struct Stats {
  Histogram latency;                      // calls started after the warm-up
  Histogram marked_latency;               // … of those, ended while the mark file existed
  Histogram steady_latency;               // … and the others
  Histogram interval;                     // since the last progress line
  std::atomic<uint64_t> completed{0};     // all calls, warm-up included (progress)
  std::atomic<uint64_t> window_calls{0};  // calls that ended inside the measured window
  std::atomic<uint64_t> errors_total{0};  // all calls, warm-up included
  std::array<std::atomic<uint64_t>, kCodes> errors{};
  std::atomic<uint64_t> allow{0}, explicit_deny{0}, default_deny{0}, unexpected{0};
  std::array<std::atomic<bool>, kCodes> first_error_reported{};  // per status code
};

class Runner {
 public:
  Runner(Options options, std::vector<WeightedRequest> requests)
      : o_(std::move(options)), requests_(std::move(requests)) {}

  absl::Status Prepare() {
    const size_t per_call = o_.mode == Mode::kBatch ? static_cast<size_t>(o_.batch) : 1;
    // Long enough that the order does not repeat within a second at high rates.
    order_ = MixOrder(requests_, std::max<size_t>(4096, 1024 * per_call), o_.seed);
    if (o_.mode == Mode::kBatch) {
      for (size_t start = 0; start + per_call <= order_.size(); start += per_call) {
        v1::BatchCheckRequest& b = batches_.emplace_back();
        for (size_t j = start; j < start + per_call; ++j)
          *b.add_checks() = requests_[order_[j]].request;
      }
    }
    for (int c = 0; c < o_.connections; ++c) {
      client::ClientOptions co;
      co.target = o_.target;
      co.tls = o_.tls;
      co.deadline = o_.deadline;
      co.own_connections = true;
      // A benchmark counts failures rather than hiding them, unless asked (failover tests).
      co.max_attempts = o_.max_attempts;
      co.max_reconnect_backoff = o_.max_reconnect_backoff;
      absl::StatusOr<std::unique_ptr<client::Client>> made = client::Client::Create(co);
      if (!made.ok()) return made.status();
      clients_.push_back(*std::move(made));
    }
    for (const auto& c : clients_) {
      if (absl::Status s = c->WaitForConnected(absl::Seconds(10)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Runs the load; returns when every call has ended.
  void Run() {
    t0_ = Clock::now();
    t0_wall_ = absl::Now();
    measure_start_ = t0_ + absl::ToChronoNanoseconds(o_.warmup);
    stop_at_ = measure_start_ + absl::ToChronoNanoseconds(o_.duration);
    std::thread marker;
    if (!o_.mark_file.empty()) {
      marker = std::thread([this] {
        struct stat st;
        while (!done_.load()) {
          marked_.store(stat(o_.mark_file.c_str(), &st) == 0, std::memory_order_relaxed);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
    }
    if (o_.mode == Mode::kStream) OpenStreams();
    std::thread sender;
    if (o_.rate > 0) {
      sender = std::thread([this] { OpenLoop(); });
    } else {
      StartClosedLoop();
    }
    Progress();
    if (sender.joinable()) sender.join();
    send_end_ = std::min(Clock::now(), stop_at_);
    // Let outstanding calls end; a call cannot outlive its deadline, a stream message can.
    const Clock::time_point give_up =
        Clock::now() + absl::ToChronoNanoseconds(o_.deadline) + std::chrono::seconds(5);
    while (outstanding_.load() > 0 || active_slots_.load() > 0) {
      if (Clock::now() > give_up) {
        std::fprintf(stderr, "fleetpdp_loadgen: %" PRIu64 " calls did not end; giving up\n",
                     outstanding_.load());
        std::_Exit(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto& s : streams_) {
      if (absl::Status st = s->Finish(); !st.ok()) {
        CountError(static_cast<int>(st.code()), st.message());
      }
    }
    done_.store(true);
    if (marker.joinable()) marker.join();
  }

  int Report() const;

 private:
  using TimePoint = Clock::time_point;

  bool TakeTicket() {
    if (Clock::now() >= stop_at_) return false;
    if (o_.count > 0 && issued_.fetch_add(1, std::memory_order_relaxed) >= o_.count) return false;
    return true;
  }
  size_t NextIndex(size_t modulo) { return next_.fetch_add(1, std::memory_order_relaxed) % modulo; }
  const client::Client& ClientFor(size_t i) const { return *clients_[i % clients_.size()]; }

  void CountError(int code, absl::string_view message) {
    stats_.errors_total.fetch_add(1, std::memory_order_relaxed);
    stats_.errors[code < 0 || code >= kCodes ? 2 : code].fetch_add(1, std::memory_order_relaxed);
    const size_t index = code < 0 || code >= kCodes ? 2 : static_cast<size_t>(code);
    if (!stats_.first_error_reported[index].exchange(true)) {
      std::fprintf(stderr, "fleetpdp_loadgen: first %s: %s\n", kCodeNames[index],
                   std::string(message).c_str());
    }
  }

  void Tally(const v1::CheckResponse& r, uint32_t request) {
    if (r.decision() == v1::DECISION_ALLOW) {
      stats_.allow.fetch_add(1, std::memory_order_relaxed);
    } else if (r.reason() == v1::REASON_EXPLICIT_DENY) {
      stats_.explicit_deny.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats_.default_deny.fetch_add(1, std::memory_order_relaxed);
    }
    const std::optional<v1::Decision>& expect = requests_[request].expect;
    if (expect && *expect != r.decision())
      stats_.unexpected.fetch_add(1, std::memory_order_relaxed);
  }

  // One call ended: `start` is when it was sent (closed loop) or meant to be sent (open loop).
  void Ended(TimePoint start, const absl::Status& status) {
    const TimePoint now = Clock::now();
    stats_.completed.fetch_add(1, std::memory_order_relaxed);
    if (!status.ok()) CountError(static_cast<int>(status.code()), status.message());
    if (start < measure_start_) return;
    const auto ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
    stats_.latency.Record(ns);
    stats_.interval.Record(ns);
    (marked_.load(std::memory_order_relaxed) ? stats_.marked_latency : stats_.steady_latency)
        .Record(ns);
    if (now <= stop_at_) stats_.window_calls.fetch_add(1, std::memory_order_relaxed);
  }

  // --- unary and batch -----------------------------------------------------------------------

  struct Call {
    Runner* runner;
    size_t connection;
    size_t index;  // into order_ (unary) or batches_ (batch)
    TimePoint start;
    v1::CheckResponse response;
    v1::BatchCheckResponse batch_response;
    bool closed_loop;
  };

  void StartClosedLoop() {
    const int slots = o_.connections * o_.inflight;
    active_slots_.store(slots);
    for (int s = 0; s < slots; ++s) {
      if (o_.mode == Mode::kStream) {
        SendStream(static_cast<size_t>(s % o_.connections), Clock::now(), true);
      } else {
        auto* call = new Call{this, static_cast<size_t>(s % o_.connections), 0, {}, {}, {}, true};
        Issue(call);
      }
    }
  }

  // Closed loop: sends the next call on `call`'s slot, or retires the slot.
  void Issue(Call* call) {
    if (!TakeTicket()) {
      delete call;
      active_slots_.fetch_sub(1);
      return;
    }
    call->start = Clock::now();
    Send(call);
  }

  void Send(Call* call) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    const client::Client& client = ClientFor(call->connection);
    if (o_.mode == Mode::kUnary) {
      call->index = NextIndex(order_.size());
      call->response.Clear();
      client.CheckAsync(&requests_[order_[call->index]].request, &call->response,
                        [call](absl::Status s) { call->runner->Done(call, s); });
    } else {
      call->index = NextIndex(batches_.size());
      call->batch_response.Clear();
      client.BatchCheckAsync(&batches_[call->index], &call->batch_response,
                             [call](absl::Status s) { call->runner->Done(call, s); });
    }
  }

  void Done(Call* call, const absl::Status& status) {
    if (status.ok()) {
      if (o_.mode == Mode::kUnary) {
        Tally(call->response, order_[call->index]);
      } else {
        const size_t base = call->index * static_cast<size_t>(o_.batch);
        for (int i = 0; i < call->batch_response.results_size(); ++i) {
          Tally(call->batch_response.results(i), order_[base + static_cast<size_t>(i)]);
        }
      }
    }
    Ended(call->start, status);
    if (call->closed_loop) {
      Issue(call);
    } else {
      delete call;
      outstanding_.fetch_sub(1);
    }
  }

  // --- stream ---------------------------------------------------------------------------------
  // A message's request_id carries its start time (ns since t0) and, in its low 16 bits, the
  // index of its request in order_ modulo 2^16 (order_ is shorter than that).

  void OpenStreams() {
    for (int c = 0; c < o_.connections; ++c) {
      streams_.push_back(clients_[static_cast<size_t>(c)]->OpenStream(
          [this, c](const v1::CheckStreamResponse& r) { Answered(static_cast<size_t>(c), r); }));
    }
  }

  void SendStream(size_t connection, TimePoint start, bool closed_loop) {
    if (closed_loop && !TakeTicket()) {
      active_slots_.fetch_sub(1);
      return;
    }
    const size_t index = NextIndex(order_.size());
    const auto since = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(start - t0_).count());
    sent_.fetch_add(1, std::memory_order_relaxed);
    v1::CheckStreamRequest r;
    r.set_request_id((since << 16) | index);
    *r.mutable_check() = requests_[order_[index]].request;
    streams_[connection]->Send(std::move(r));
  }

  void Answered(size_t connection, const v1::CheckStreamResponse& r) {
    const TimePoint start = t0_ + std::chrono::nanoseconds(r.request_id() >> 16);
    absl::Status status;
    if (!r.error().empty()) {
      absl::string_view name = absl::string_view(r.error()).substr(0, r.error().find(':'));
      int code = 2;
      for (int i = 0; i < kCodes; ++i) {
        if (name == kCodeNames[static_cast<size_t>(i)]) code = i;
      }
      status = absl::Status(static_cast<absl::StatusCode>(code), r.error());
    } else {
      Tally(r.result(), order_[(r.request_id() & 0xFFFF) % order_.size()]);
    }
    Ended(start, status);
    if (o_.rate > 0) {
      outstanding_.fetch_sub(1);
    } else {
      SendStream(connection, Clock::now(), true);
    }
  }

  // --- open loop ------------------------------------------------------------------------------

  void OpenLoop() {
    const double period_ns = 1e9 / o_.rate;
    for (uint64_t i = 0;; ++i) {
      const TimePoint intended =
          t0_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * period_ns));
      // Also stops on time when the sender lags: a run lasts --duration whatever the rate.
      if (intended >= stop_at_ || Clock::now() >= stop_at_ || (o_.count > 0 && i >= o_.count)) {
        break;
      }
      if (Clock::now() < intended) std::this_thread::sleep_until(intended);
      while (outstanding_.load(std::memory_order_relaxed) >= o_.max_outstanding) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      const auto lag = Clock::now() - intended;
      if (lag > max_lag_) max_lag_ = lag;
      outstanding_.fetch_add(1, std::memory_order_relaxed);
      const size_t connection = i % static_cast<size_t>(o_.connections);
      if (o_.mode == Mode::kStream) {
        SendStream(connection, intended, false);
      } else {
        Send(new Call{this, connection, 0, intended, {}, {}, false});
      }
    }
  }

  void Progress() {
    const TimePoint end = stop_at_;
    uint64_t last = 0;
    TimePoint last_time = t0_;
    while (true) {
      const TimePoint next = last_time + std::chrono::seconds(1);
      const bool final = next >= end;
      std::this_thread::sleep_until(final ? end : next);
      const TimePoint now = Clock::now();
      const uint64_t completed = stats_.completed.load();
      Histogram::Snapshot interval = stats_.interval.TakeSnapshot();
      stats_.interval.Reset();
      const double seconds = std::chrono::duration<double>(now - last_time).count();
      std::fprintf(
          stderr,
          "[%5.1fs]%s %10.0f calls/s  p99 %8.3f ms  errors %" PRIu64 "  in flight %" PRIu64 "\n",
          std::chrono::duration<double>(now - t0_).count(), now < measure_start_ ? " warm-up" : "",
          static_cast<double>(completed - last) / seconds,
          static_cast<double>(interval.Percentile(99)) / 1e6, stats_.errors_total.load(),
          outstanding_.load() + static_cast<uint64_t>(std::max<int64_t>(0, active_slots_.load())));
      last = completed;
      last_time = now;
      if (final || (o_.count > 0 && issued_.load() >= o_.count && active_slots_.load() == 0 &&
                    outstanding_.load() == 0)) {
        break;
      }
    }
    window_end_ = std::min(Clock::now(), stop_at_);
  }

  const Options o_;
  const std::vector<WeightedRequest> requests_;
  std::vector<uint32_t> order_;
  std::vector<v1::BatchCheckRequest> batches_;
  std::vector<std::unique_ptr<client::Client>> clients_;
  std::vector<std::unique_ptr<client::CheckStream>> streams_;

  TimePoint t0_, measure_start_, stop_at_, window_end_, send_end_;
  absl::Time t0_wall_;          // t0_ on the wall clock, for tests that line the run up with events
  Clock::duration max_lag_{0};  // written by the open-loop sender only; read after it ended
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> sent_{0};  // calls (stream: messages) sent, warm-up included
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> outstanding_{0};  // open loop
  std::atomic<int64_t> active_slots_{0};  // closed loop
  std::atomic<bool> marked_{false};
  std::atomic<bool> done_{false};
  Stats stats_;
};

std::string Micros(uint64_t ns) { return absl::StrFormat("%.1f", static_cast<double>(ns) / 1e3); }

int Runner::Report() const {
  const Histogram::Snapshot lat = stats_.latency.TakeSnapshot();
  const Histogram::Snapshot marked = stats_.marked_latency.TakeSnapshot();
  const Histogram::Snapshot steady = stats_.steady_latency.TakeSnapshot();
  const double seconds =
      std::max(1e-9, std::chrono::duration<double>(window_end_ - measure_start_).count());
  const uint64_t calls = stats_.window_calls.load();
  const uint64_t per_call = o_.mode == Mode::kBatch ? static_cast<uint64_t>(o_.batch) : 1;
  const double rps = static_cast<double>(calls) / seconds;
  const uint64_t decided = stats_.allow + stats_.explicit_deny + stats_.default_deny;
  auto share = [&](uint64_t n) {
    return decided == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(decided);
  };
  std::vector<std::string> errors;
  for (int i = 1; i < kCodes; ++i) {
    if (uint64_t n = stats_.errors[static_cast<size_t>(i)].load(); n > 0) {
      errors.push_back(o_.json ? absl::StrCat("\"", kCodeNames[static_cast<size_t>(i)], "\": ", n)
                               : absl::StrCat(kCodeNames[static_cast<size_t>(i)], " ", n));
    }
  }
  auto percentiles = [&](const Histogram::Snapshot& h) {
    return absl::StrFormat(
        R"({"count": %d, "p50": %s, "p90": %s, "p99": %s, "p999": %s, "max": %s, "mean": %.1f})",
        h.count(), Micros(h.Percentile(50)), Micros(h.Percentile(90)), Micros(h.Percentile(99)),
        Micros(h.Percentile(99.9)), Micros(h.max()), h.mean() / 1e3);
  };
  if (o_.json) {
    std::cout
        << absl::StrFormat(
               R"({"target": "%s", "mode": "%s", "loop": "%s", "connections": %d, "inflight": %d, )"
               R"("rate": %.1f, "seconds": %.3f, "calls": %d, "checks": %d, "calls_per_s": %.1f, )"
               R"("checks_per_s": %.1f, "latency_us": %s, "marked_latency_us": %s, "unmarked_latency_us": %s, )"
               R"("errors_total": %d, "errors": {%s}, "decisions": {"allow": %d, "explicit_deny": %d, )"
               R"("default_deny": %d}, "unexpected": %d, "max_send_lag_us": %s, )"
               R"("sent": %d, "ended": %d, "ok": %d, "start_unix": %.3f, "send_end_unix": %.3f})",
               o_.target, ModeName(o_), o_.rate > 0 ? "open" : "closed", o_.connections,
               o_.inflight, o_.rate, seconds, calls, calls * per_call, rps,
               rps * static_cast<double>(per_call), percentiles(lat), percentiles(marked),
               percentiles(steady), stats_.errors_total.load(), absl::StrJoin(errors, ", "),
               stats_.allow.load(), stats_.explicit_deny.load(), stats_.default_deny.load(),
               stats_.unexpected.load(),
               Micros(static_cast<uint64_t>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(max_lag_).count())),
               sent_.load(), stats_.completed.load(),
               stats_.completed.load() - stats_.errors_total.load(),
               absl::ToDoubleSeconds(t0_wall_ - absl::UnixEpoch()),
               absl::ToDoubleSeconds(t0_wall_ - absl::UnixEpoch()) +
                   std::chrono::duration<double>(send_end_ - t0_).count())
        << "\n";
  } else {
    std::cout << absl::StrFormat(
        "fleetpdp_loadgen: %s, %d connections × %s, %s, %.1f s measured after %s warm-up, %s\n"
        "  calls     %d (%.0f/s)   checks %d (%.0f/s)\n"
        "  latency   p50 %s µs  p90 %s µs  p99 %s µs  p99.9 %s µs  max %s µs  mean %.1f µs\n",
        ModeName(o_), o_.connections,
        o_.rate > 0 ? absl::StrCat(o_.rate, " calls/s (open loop)")
                    : absl::StrCat(o_.inflight, " in flight"),
        o_.rate > 0 ? "open loop" : "closed loop", seconds, absl::FormatDuration(o_.warmup),
        o_.target, calls, rps, calls * per_call, rps * static_cast<double>(per_call),
        Micros(lat.Percentile(50)), Micros(lat.Percentile(90)), Micros(lat.Percentile(99)),
        Micros(lat.Percentile(99.9)), Micros(lat.max()), lat.mean() / 1e3);
    if (!o_.mark_file.empty()) {
      std::cout << absl::StrFormat("  marked    %d calls: p50 %s µs  p99 %s µs  max %s µs\n",
                                   marked.count(), Micros(marked.Percentile(50)),
                                   Micros(marked.Percentile(99)), Micros(marked.max()));
      std::cout << absl::StrFormat("  unmarked  %d calls: p50 %s µs  p99 %s µs  max %s µs\n",
                                   steady.count(), Micros(steady.Percentile(50)),
                                   Micros(steady.Percentile(99)), Micros(steady.max()));
    }
    std::cout << absl::StrFormat(
        "  decisions allow %.1f%%  explicit deny %.1f%%  default deny %.1f%%  unexpected %d\n"
        "  all calls sent %d  ended %d  ok %d (warm-up included)\n"
        "  errors    %s\n",
        share(stats_.allow), share(stats_.explicit_deny), share(stats_.default_deny),
        stats_.unexpected.load(), sent_.load(), stats_.completed.load(),
        stats_.completed.load() - stats_.errors_total.load(),
        errors.empty() ? "none" : absl::StrJoin(errors, ", "));
  }
  if (stats_.errors_total.load() > 0) return 1;
  if (o_.fail_on_unexpected && stats_.unexpected.load() > 0) return 1;
  return 0;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> options = ParseFlags(argc, argv);
  if (!options.ok()) {
    std::cerr << "fleetpdp_loadgen: " << options.status().message() << "\n\n" << kUsage;
    return 2;
  }
  absl::StatusOr<std::vector<WeightedRequest>> requests = ReadRequestFile(options->requests);
  if (!requests.ok()) {
    std::cerr << "fleetpdp_loadgen: " << requests.status().message() << "\n";
    return 2;
  }
  auto runner = std::make_unique<Runner>(*std::move(options), *std::move(requests));
  if (absl::Status s = runner->Prepare(); !s.ok()) {
    std::cerr << "fleetpdp_loadgen: " << s.message() << "\n";
    return 1;
  }
  runner->Run();
  return runner->Report();
}

}  // namespace
}  // namespace fleetpdp::load

int main(int argc, char** argv) {
  fleetpdp::client::GrpcLibraryScope grpc;  // gRPC ends on this thread, before exit
  return fleetpdp::load::Main(argc, argv);
}
