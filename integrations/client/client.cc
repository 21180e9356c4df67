#include "integrations/client/client.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace fleetpdp::client {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message =
        absl::StrCat("tls.", option, ": cannot read \"", path, "\": ", std::strerror(err));
    return err == EACCES ? absl::PermissionDeniedError(message) : absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const std::optional<TlsOptions>& tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: cert_file and key_file go together (mutual TLS needs both)");
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls->ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("ca_file", tls->ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!tls->cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile("cert_file", tls->cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("key_file", tls->key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

enum class Family { kV4, kV6 };

// "1.2.3.4:50051" or "[::1]:50051" → its family; nullopt when it is not an IP literal with a port.
std::optional<Family> IpWithPort(absl::string_view element) {
  size_t colon = element.rfind(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  absl::string_view host = element.substr(0, colon);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(element.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return std::nullopt;
  }
  unsigned char buffer[16];
  if (absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]")) {
    return inet_pton(AF_INET6, std::string(host).c_str(), buffer) == 1
               ? std::optional<Family>(Family::kV6)
               : std::nullopt;
  }
  return inet_pton(AF_INET, std::string(host).c_str(), buffer) == 1
             ? std::optional<Family>(Family::kV4)
             : std::nullopt;
}

// Ends a call started with CheckAsync/BatchCheckAsync: owns its context and completion.
struct AsyncCall {
  grpc::ClientContext context;
  std::function<void(absl::Status)> done;
};

class StreamImpl final
    : public CheckStream,
      public grpc::ClientBidiReactor<v1::CheckStreamRequest, v1::CheckStreamResponse> {
 public:
  StreamImpl(v1::DecisionService::Stub& stub, bool wait_for_ready, std::string target,
             std::function<void(const v1::CheckStreamResponse&)> on_answer)
      : target_(std::move(target)), on_answer_(std::move(on_answer)) {
    context_.set_wait_for_ready(wait_for_ready);
    stub.async()->CheckStream(&context_, this);
    // Released by whoever starts WritesDone: until then no OnDone can come, so a Send that passed
    // its check may still start a write.
    AddHold();
    StartRead(&answer_);
    StartCall();
  }

  ~StreamImpl() override { (void)Finish(); }

  void Send(v1::CheckStreamRequest request) override {
    {
      absl::MutexLock lock(&mu_);
      if (closing_) return;
      if (writing_) {
        queue_.push_back(std::move(request));
        return;
      }
      writing_ = true;
      in_flight_ = std::move(request);
    }
    StartWrite(&in_flight_);
  }

  absl::Status Finish() override {
    bool writes_done = false;
    {
      absl::MutexLock lock(&mu_);
      if (!closing_) {
        closing_ = true;
        writes_done = !writing_;
      }
    }
    if (writes_done) CloseWriting();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    if (status_.ok()) return absl::OkStatus();
    return absl::Status(
        static_cast<absl::StatusCode>(status_.error_code()),
        absl::StrCat("CheckStream at \"", target_, "\": ", status_.error_message()));
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool writes_done = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) queue_.clear();  // the call is over; Finish reports why
      if (!queue_.empty()) {
        in_flight_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else {
        writing_ = false;
        writes_done = closing_;
      }
    }
    if (write) StartWrite(&in_flight_);
    if (writes_done) CloseWriting();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the server ended the call; OnDone follows
    on_answer_(answer_);
    StartRead(&answer_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  // REQUIRES: closing_ and no write in flight; called once.
  void CloseWriting() {
    StartWritesDone();
    RemoveHold();
  }

  const std::string target_;
  const std::function<void(const v1::CheckStreamResponse&)> on_answer_;
  grpc::ClientContext context_;
  v1::CheckStreamResponse answer_;    // owned by the read path: one read at a time
  v1::CheckStreamRequest in_flight_;  // owned by the write path while writing_

  absl::Mutex mu_;
  std::deque<v1::CheckStreamRequest> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string ServiceConfigJson(int max_attempts) {
  std::string method = R"({"name": [{"service": "fleetpdp.v1.DecisionService"}]})";
  if (max_attempts > 1) {
    // Read-only methods: retrying after UNAVAILABLE can never apply anything twice.
    method = absl::StrCat(R"({"name": [{"service": "fleetpdp.v1.DecisionService"}],)",
                          R"( "retryPolicy": {"maxAttempts": )", max_attempts,
                          R"(, "initialBackoff": "0.01s", "maxBackoff": "0.1s",)",
                          R"( "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}})");
  }
  return absl::StrCat(R"({"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": [)", method,
                      "]}");
}

absl::StatusOr<std::string> ChannelTarget(const std::string& target) {
  if (target.empty()) return absl::InvalidArgumentError("target: must not be empty");
  if (target.find(',') == std::string::npos) return target;
  std::vector<std::string> elements;
  std::optional<Family> family;
  for (absl::string_view element : absl::StrSplit(target, ',')) {
    element = absl::StripAsciiWhitespace(element);
    std::optional<Family> f = IpWithPort(element);
    if (!f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target \"", target, "\": list element \"", element,
          "\" is not an IP address with a port (a name goes alone, e.g. dns:///NAME:PORT)"));
    }
    if (family && *family != *f) {
      return absl::InvalidArgumentError(
          absl::StrCat("target \"", target, "\": a list cannot mix IPv4 and IPv6 addresses"));
    }
    family = f;
    elements.emplace_back(element);
  }
  return absl::StrCat(*family == Family::kV4 ? "ipv4:" : "ipv6:", absl::StrJoin(elements, ","));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  absl::StatusOr<std::string> uri = ChannelTarget(options.target);
  if (!uri.ok()) return uri.status();
  if (options.max_attempts < 1 || options.max_attempts > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts: ", options.max_attempts, " is not from 1 to 5"));
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("deadline: must be positive");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = Credentials(options.tls);
  if (!credentials.ok()) return credentials.status();

  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfigJson(options.max_attempts));
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (options.own_connections) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (options.max_reconnect_backoff > absl::ZeroDuration()) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ms);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, ms < 1000 ? ms : 1000);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, ms < 1000 ? ms : 1000);
  }
  if (options.initial_reconnect_backoff > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.initial_reconnect_backoff)));
  }
  if (options.tls && !options.tls->server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls->server_name);
  }
  std::unique_ptr<Client> client(new Client());
  client->target_ = options.target;
  client->options_ = options;
  client->channel_ = grpc::CreateCustomChannel(*uri, *credentials, args);
  client->stub_ = v1::DecisionService::NewStub(client->channel_);
  return client;
}

void Client::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  context.set_wait_for_ready(options_.wait_for_ready);
}

absl::Status Client::Error(const grpc::Status& status, const char* method) const {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(method, " at \"", target_, "\": ", status.error_message()));
}

absl::StatusOr<v1::CheckResponse> Client::Check(const v1::CheckRequest& request) const {
  grpc::ClientContext context;
  Prepare(context);
  v1::CheckResponse response;
  if (grpc::Status s = stub_->Check(&context, request, &response); !s.ok()) {
    return Error(s, "Check");
  }
  return response;
}

absl::StatusOr<v1::BatchCheckResponse> Client::BatchCheck(
    const v1::BatchCheckRequest& request) const {
  grpc::ClientContext context;
  Prepare(context);
  v1::BatchCheckResponse response;
  if (grpc::Status s = stub_->BatchCheck(&context, request, &response); !s.ok()) {
    return Error(s, "BatchCheck");
  }
  return response;
}

absl::StatusOr<v1::BundleInfo> Client::GetBundleInfo() const {
  grpc::ClientContext context;
  Prepare(context);
  v1::BundleInfo info;
  if (grpc::Status s = stub_->GetBundleInfo(&context, v1::GetBundleInfoRequest(), &info); !s.ok()) {
    return Error(s, "GetBundleInfo");
  }
  return info;
}

void Client::CheckAsync(const v1::CheckRequest* request, v1::CheckResponse* response,
                        std::function<void(absl::Status)> done) const {
  auto* call = new AsyncCall{{}, std::move(done)};
  Prepare(call->context);
  stub_->async()->Check(&call->context, request, response, [this, call](grpc::Status s) {
    std::function<void(absl::Status)> done = std::move(call->done);
    delete call;
    done(Error(s, "Check"));
  });
}

void Client::BatchCheckAsync(const v1::BatchCheckRequest* request, v1::BatchCheckResponse* response,
                             std::function<void(absl::Status)> done) const {
  auto* call = new AsyncCall{{}, std::move(done)};
  Prepare(call->context);
  stub_->async()->BatchCheck(&call->context, request, response, [this, call](grpc::Status s) {
    std::function<void(absl::Status)> done = std::move(call->done);
    delete call;
    done(Error(s, "BatchCheck"));
  });
}

std::unique_ptr<CheckStream> Client::OpenStream(
    std::function<void(const v1::CheckStreamResponse&)> on_answer) const {
  return std::make_unique<StreamImpl>(*stub_, options_.wait_for_ready, target_,
                                      std::move(on_answer));
}

absl::Status Client::WaitForConnected(absl::Duration timeout) const {
  if (channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no connection to \"", target_, "\" within ", absl::FormatDuration(timeout)));
}

}  // namespace fleetpdp::client
