// fleetpdp_floor: the DecisionService with no decision in it — the floor FleetPDP is measured
// against. Same proto, same callback API, same server options as `fleetpdp serve` (message size
// limit, SO_REUSEPORT off, health and reflection registered; neither is on the call path); every
// request is parsed by gRPC as usual, and every answer has the shape of a real ALLOW (one
// statement name, a bundle revision, a 64-hex-digit digest and a decision id of the server's
// length), so both servers serialize the same bytes. Nothing is validated, evaluated, counted or
// logged.
//
//   fleetpdp_floor --listen 127.0.0.1:50052
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <deque>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "fleetpdp/v1/decision.grpc.pb.h"
#include "server/arena_messages.h"

namespace fleetpdp::load {
namespace {

namespace v1 = ::fleetpdp::v1;

constexpr char kUsage[] = R"(usage: fleetpdp_floor [--listen ADDR] [--max-message-bytes N]

Serves fleetpdp.v1.DecisionService answering every check with the same fixed ALLOW, doing no
other work: the gRPC floor for benchmarks/run.sh. SIGINT or SIGTERM stops it.

  --listen ADDR             default 127.0.0.1:50052; port 0 picks one (printed on stderr)
  --max-message-bytes N     larger requests are refused before parsing (default 4194304)
)";

// What FleetPDP answers for an allowed check, with fixed values of the same sizes.
void FillAnswer(v1::CheckResponse& out) {
  out.set_decision(v1::DECISION_ALLOW);
  out.set_reason(v1::REASON_ALLOWED);
  out.add_statements("device-baseline/own-telemetry");
  out.set_bundle_revision(1);
  out.set_bundle_digest("0000000000000000000000000000000000000000000000000000000000000000");
  out.set_decision_id("0000000000000000-12345");
}

// CheckStream without work: one outstanding read; answers wait in a queue while a write is in
// flight (gRPC allows one), and reading pauses when kMaxQueued answers wait — the same flow
// control FleetPDP applies. Deletes itself in OnDone.
class FloorStream final
    : public grpc::ServerBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse> {
 public:
  FloorStream() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool finish;
      {
        absl::MutexLock lock(&mu_);
        read_done_ = true;
        finish = ShouldFinishLocked();
      }
      if (finish) FinishNow();
      return;
    }
    v1::CheckStreamResponse answer;
    answer.set_request_id(request_.request_id());
    FillAnswer(*answer.mutable_result());
    bool write = false, read = true;
    {
      absl::MutexLock lock(&mu_);
      if (!writing_) {
        writing_ = true;
        writing_answer_ = std::move(answer);
        write = true;
      } else {
        queue_.push_back(std::move(answer));
        if (queue_.size() >= kMaxQueued) {
          read = false;
          paused_ = true;
        }
      }
    }
    if (write) StartWrite(&writing_answer_);
    if (read) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    bool write = false, resume = false, finish = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) {
        queue_.clear();
        broken_ = true;
      }
      if (!queue_.empty()) {
        writing_answer_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else {
        writing_ = false;
      }
      if (paused_ && !broken_ && queue_.size() < kMaxQueued) {
        paused_ = false;
        resume = true;
      }
      if (!write && (broken_ || read_done_)) {
        if (broken_ && paused_) read_done_ = true;  // no read outstanding: nothing more comes
        finish = ShouldFinishLocked();
      }
    }
    if (write) StartWrite(&writing_answer_);
    if (resume) StartRead(&request_);
    if (finish) FinishNow();
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kMaxQueued = 64;

  // True exactly once: when reading is over and nothing is being written. The caller then calls
  // FinishNow without holding mu_ (OnDone, which deletes this, may run inline).
  bool ShouldFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !read_done_) return false;
    finished_ = true;
    finish_status_ =
        broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "stream broken") : grpc::Status::OK;
    return true;
  }
  void FinishNow() { Finish(finish_status_); }

  v1::CheckStreamRequest request_;
  v1::CheckStreamResponse writing_answer_;
  absl::Mutex mu_;
  std::deque<v1::CheckStreamResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_;  // set once, before FinishNow
};

class FloorService final : public v1::DecisionService::CallbackService {
 public:
  // The same per-call arenas as FleetPDP's service, so that the floor stays gRPC's cost as
  // FleetPDP configures it.
  FloorService() {
    SetMessageAllocatorFor_Check(&check_messages_);
    SetMessageAllocatorFor_BatchCheck(&batch_messages_);
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context, const v1::CheckRequest*,
                                  v1::CheckResponse* response) override {
    FillAnswer(*response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* BatchCheck(grpc::CallbackServerContext* context,
                                       const v1::BatchCheckRequest* request,
                                       v1::BatchCheckResponse* response) override {
    response->mutable_results()->Reserve(request->checks_size());
    for (int i = 0; i < request->checks_size(); ++i) FillAnswer(*response->add_results());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse>* CheckStream(
      grpc::CallbackServerContext*) override {
    return new FloorStream();
  }

  grpc::ServerUnaryReactor* GetBundleInfo(grpc::CallbackServerContext* context,
                                          const v1::GetBundleInfoRequest*,
                                          v1::BundleInfo* response) override {
    response->set_name("floor");
    response->set_revision(1);
    response->set_serving(true);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  fleetpdp::server::ArenaMessageAllocator<v1::CheckRequest, v1::CheckResponse> check_messages_;
  fleetpdp::server::ArenaMessageAllocator<v1::BatchCheckRequest, v1::BatchCheckResponse, 4096>
      batch_messages_;
};

int Main(int argc, char** argv) {
  std::string listen = "127.0.0.1:50052";
  size_t max_message_bytes = 4 << 20;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "fleetpdp_floor: " << flag << " needs a value\n\n" << kUsage;
      return 2;
    }
    std::string value = argv[++i];
    if (flag == "--listen") {
      listen = value;
    } else if (flag == "--max-message-bytes" && absl::SimpleAtoi(value, &max_message_bytes) &&
               max_message_bytes >= 1024) {
    } else {
      std::cerr << "fleetpdp_floor: bad flag \"" << flag << " " << value << "\"\n\n" << kUsage;
      return 2;
    }
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  FloorService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(max_message_bytes, std::numeric_limits<int>::max())));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "fleetpdp_floor: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cerr << "fleetpdp_floor: listening on " << listen << " (port " << port << ")" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace fleetpdp::load

int main(int argc, char** argv) {
  // As fleetpdp's main does (Debian's Abseil tracks lock order in release builds): the floor must
  // not carry a cost the server was spared.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return fleetpdp::load::Main(argc, argv);
}
