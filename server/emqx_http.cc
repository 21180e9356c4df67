#include "server/emqx_http.h"

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"
#include "engine/topic.h"
#include "server/decision_log.h"
#include "server/metrics.h"

namespace fleetpdp::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPath = "/v1/emqx/authorize";

// ---------------------------------------------------------------------------------------------
// The protocol: request fields → a FleetPDP request → {"result": …}.

// Request fields by name; a later source (the body) replaces an earlier one (the URL's query).
using Fields = std::map<std::string, std::string, std::less<>>;

// A 400: the message starts with the field it is about ("topic: missing").
absl::Status Bad(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Absl(field), ": ", Absl(what)));
}
std::string_view FieldOf(const absl::Status& status) {
  std::string_view m = Std(status.message());
  return m.substr(0, m.find(':'));
}

std::string Quoted(std::string_view s) { return absl::StrCat("\"", absl::CEscape(Absl(s)), "\""); }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One x-www-form-urlencoded component: '+' is a space, %XX a byte. False on a bad escape.
// (EMQX percent-encodes '+', '#' and '/' in what it sends, so topic wildcards survive.)
bool FormDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= in.size()) return false;
      const int hi = HexDigit(in[i + 1]);
      const int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return true;
}

// `where` names the source in errors: "query" or "body".
absl::Status ParseForm(std::string_view text, std::string_view where, Fields& out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key;
    std::string value;
    if (!FormDecode(pair.substr(0, eq), key) ||
        (eq != std::string_view::npos && !FormDecode(pair.substr(eq + 1), value))) {
      return Bad(where, absl::StrCat("bad percent-encoding in ", Quoted(pair)));
    }
    out.insert_or_assign(std::move(key), std::move(value));
  }
  return absl::OkStatus();
}

// A JSON object whose members are strings, integers, booleans or null (null: as if absent).
absl::Status ParseJson(std::string_view text, Fields& out) {
  const Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("body", "not valid JSON");
  if (!doc.is_object()) return Bad("body", "must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    switch (value.type()) {
      case Json::value_t::string:
        out.insert_or_assign(key, value.get_ref<const std::string&>());
        break;
      case Json::value_t::boolean:
        out.insert_or_assign(key, value.get<bool>() ? "true" : "false");
        break;
      case Json::value_t::number_integer:
        out.insert_or_assign(key, absl::StrCat(value.get<int64_t>()));
        break;
      case Json::value_t::number_unsigned:
        out.insert_or_assign(key, absl::StrCat(value.get<uint64_t>()));
        break;
      case Json::value_t::null:
        break;
      default:
        return Bad(key, "must be a string, an integer or a boolean");
    }
  }
  return absl::OkStatus();
}

// JSON when the content type says so or, without a known content type, when the body opens
// with '{'; otherwise x-www-form-urlencoded.
bool IsJsonBody(std::string_view content_type, std::string_view body) {
  std::string media(content_type.substr(0, content_type.find(';')));
  absl::AsciiStrToLower(&media);
  absl::StripAsciiWhitespace(&media);
  if (media == "application/json" || absl::EndsWith(media, "+json")) return true;
  if (media == "application/x-www-form-urlencoded") return false;
  const size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '{';
}

const std::string* Find(const Fields& fields, std::string_view key) {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

engine::Attribute Single(std::string key, std::string value) {
  return engine::Attribute{.key = std::move(key), .values = {std::move(value)}, .is_list = false};
}

struct Query {
  engine::Request request;  // mqtt:publish or mqtt:subscribe
  bool retain = false;      // a retained PUBLISH: mqtt:retain must allow too
};

// EMQX renders a placeholder it has no value for as "": an empty qos, retain or peerhost counts
// as absent. An empty principal id is kept: it is decided (denied), not refused.
absl::StatusOr<Query> ToQuery(const Fields& fields, const EmqxHttpOptions& options) {
  Query q;
  const std::string_view id_field =
      options.principal == EmqxPrincipal::kUsername ? "username" : "clientid";
  const std::string* id = Find(fields, id_field);
  if (id == nullptr) return Bad(id_field, "missing");
  const std::string* action = Find(fields, "action");
  if (action == nullptr) return Bad("action", "missing");
  if (*action == "publish") {
    q.request.action = std::string(engine::kPublish);
  } else if (*action == "subscribe") {
    q.request.action = std::string(engine::kSubscribe);
  } else {
    return Bad("action", absl::StrCat("unknown action ", Quoted(*action),
                                      " (EMQX asks about publish or subscribe)"));
  }
  const std::string* topic = Find(fields, "topic");
  if (topic == nullptr) return Bad("topic", "missing");
  const bool subscribe = q.request.action == engine::kSubscribe;
  if (absl::Status s =
          subscribe ? engine::ValidateTopicFilter(*topic) : engine::ValidateTopicName(*topic);
      !s.ok()) {
    return Bad("topic", Std(s.message()));
  }
  q.request.principal.id = *id;
  q.request.resource = *topic;

  if (const std::string* host = Find(fields, "peerhost"); host != nullptr && !host->empty()) {
    q.request.context.push_back(Single("source_ip", *host));
  }
  std::string protocol = "mqtt";
  if (const std::string* name = Find(fields, "proto_name"); name != nullptr && !name->empty()) {
    protocol = absl::AsciiStrToLower(*name);
  }
  q.request.context.push_back(Single("protocol", std::move(protocol)));
  if (const std::string* qos = Find(fields, "qos"); qos != nullptr && !qos->empty()) {
    if (*qos != "0" && *qos != "1" && *qos != "2") {
      return Bad("qos", absl::StrCat(Quoted(*qos), " is not 0, 1 or 2"));
    }
    q.request.context.push_back(Single("qos", *qos));
  }
  if (const std::string* retain = Find(fields, "retain"); retain != nullptr && !retain->empty()) {
    if (*retain != "true" && *retain != "false") {
      return Bad("retain", absl::StrCat(Quoted(*retain), " is not true or false"));
    }
    q.retain = !subscribe && *retain == "true";
  }
  return q;
}

// Evaluates one request and submits it to the decision log (when there is one).
bool Decide(const bundles::LoadedBundle& bundle, engine::Request request, Clock::time_point start,
            DecisionLog* log, Metrics* metrics) {
  const engine::Decision decision = engine::Evaluate(*bundle.index, request);
  if (metrics != nullptr) {
    metrics->ObserveCheck(Method::kEmqxHttp, request.action, decision.allowed,
                          absl::FromChrono(Clock::now() - start));
  }
  if (log != nullptr) {
    DecisionRecord record;
    record.time = absl::Now();
    record.decision_id = NextDecisionId();
    record.method = std::string(MethodName(Method::kEmqxHttp));
    record.request = std::move(request);
    record.allowed = decision.allowed;
    record.reason = decision.reason;
    record.statements = bundle.index->StatementNames(decision);
    record.bundle_revision = bundle.metadata.revision;
    record.bundle_digest = bundle.metadata.digest;
    record.latency = absl::FromChrono(Clock::now() - start);
    log->Submit(std::move(record));  // never blocks; a drop is counted by the log
  }
  return decision.allowed;
}

EmqxHttpAnswer Result(std::string_view result) {
  return {200, absl::StrCat(R"({"result":")", Absl(result), R"("})")};
}

// User input may reach the message: dump() replaces invalid UTF-8 rather than throwing.
EmqxHttpAnswer Error(int status, std::string_view message, std::string_view field = {}) {
  Json body = {{"error", std::string(message)}};
  if (!field.empty()) body["field"] = std::string(field);
  return {status, body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace

absl::StatusOr<EmqxPrincipal> ParseEmqxPrincipal(std::string_view text) {
  if (text == "clientid") return EmqxPrincipal::kClientId;
  if (text == "username") return EmqxPrincipal::kUsername;
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is not a principal source (clientid or username)"));
}

absl::StatusOr<EmqxNoBundle> ParseEmqxNoBundle(std::string_view text) {
  if (text == "deny") return EmqxNoBundle::kDeny;
  if (text == "ignore") return EmqxNoBundle::kIgnore;
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is not a no-bundle answer (deny or ignore)"));
}

EmqxHttpAnswer AnswerEmqxRequest(const EmqxHttpRequest& in, const EmqxHttpOptions& options,
                                 const BundleHolder& holder, DecisionLog* log) {
  const Clock::time_point start = Clock::now();
  const std::string_view target = in.target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  if (path != kPath) {
    return Error(404, absl::StrCat("no such path ", Quoted(path), "; EMQX asks ", Absl(kPath)));
  }
  const bool post = in.method == "POST";
  if (!post && in.method != "GET") {
    return Error(405, absl::StrCat("method ", Quoted(in.method), " not allowed: use POST or GET"));
  }
  // A request EMQX should not have sent: 400 naming the field, counted like invalid gRPC requests.
  auto invalid = [&options](const absl::Status& s) {
    if (options.metrics != nullptr) options.metrics->CountInvalidRequest(Method::kEmqxHttp);
    return Error(400, Std(s.message()), FieldOf(s));
  };
  Fields fields;
  if (question != std::string_view::npos) {
    if (absl::Status s = ParseForm(target.substr(question + 1), "query", fields); !s.ok()) {
      return invalid(s);
    }
  }
  if (post && !in.body.empty()) {
    absl::Status s = IsJsonBody(in.content_type, in.body) ? ParseJson(in.body, fields)
                                                          : ParseForm(in.body, "body", fields);
    if (!s.ok()) return invalid(s);
  }
  absl::StatusOr<Query> query = ToQuery(fields, options);
  if (!query.ok()) return invalid(query.status());

  // One snapshot for both checks of a retained publish.
  const std::shared_ptr<const bundles::LoadedBundle> bundle = holder.Current();
  if (bundle == nullptr) {
    return Result(options.no_bundle == EmqxNoBundle::kIgnore ? "ignore" : "deny");
  }
  engine::Request retain;
  if (query->retain) {
    retain = query->request;
    retain.action = std::string(engine::kRetain);
  }
  bool allowed = Decide(*bundle, std::move(query->request), start, log, options.metrics);
  // Both must allow; the second is asked even after a deny so that the log shows both.
  if (query->retain) {
    allowed = Decide(*bundle, std::move(retain), start, log, options.metrics) && allowed;
  }
  return Result(allowed ? "allow" : "deny");
}

// ---------------------------------------------------------------------------------------------
// The transport: Beast over Asio. Each connection is a Session on its own strand; it reads one
// request at a time (pipelined requests wait in its buffer), answers, and reads the next.

namespace {

class Session;

// What the listener and the sessions share. Outlives the io_context (sessions deregister from it
// when they are destroyed, which may happen while the io_context is destroyed).
struct Shared {
  Shared(EmqxHttpOptions o, const BundleHolder& h, DecisionLog* l)
      : options(std::move(o)), holder(h), log(l) {}
  const EmqxHttpOptions options;
  const BundleHolder& holder;
  DecisionLog* const log;

  std::mutex mu;
  std::condition_variable none_left;  // notified when `sessions` becomes empty
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
  bool stopping = false;                                          // guarded by mu
};

std::chrono::milliseconds Chrono(absl::Duration d) { return absl::ToChronoMilliseconds(d); }

// Every member function runs on the session's strand (the executor of stream_).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {}

  ~Session() {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.sessions.erase(this);
    if (shared_.sessions.empty()) shared_.none_left.notify_all();
  }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // From any thread: ends the connection now if it waits for a request, else after the answer.
  void StopSoon() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->state_ == State::kIdle) self->Close();
    });
  }

 private:
  enum class State : uint8_t { kIdle, kReading, kWriting };

  void ReadHeader() {
    state_ = State::kIdle;
    if (stopping_) return Close();
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(shared_.options.max_body_bytes);
    stream_.expires_after(Chrono(shared_.options.idle_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    state_ = State::kReading;
    if (parser_->is_done()) return Handle();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(Chrono(shared_.options.io_timeout));
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(Chrono(shared_.options.io_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    Handle();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Respond(Error(413, absl::StrCat("request body over the limit of ",
                                             shared_.options.max_body_bytes, " bytes")),
                     11, /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      return Respond(Error(431, "request header too large"), 11, /*close=*/true);
    }
    // A malformed message (not a closed, reset or timed-out connection): say so, then close.
    if (ec.category() == make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return Respond(Error(400, absl::StrCat("malformed HTTP request: ", ec.message())), 11,
                     /*close=*/true);
    }
    Close();
  }

  void Handle() {
    http::request<http::string_body>& req = parser_->get();
    EmqxHttpRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.content_type = std::string(req[http::field::content_type]);
    in.body = std::move(req.body());
    EmqxHttpAnswer answer = AnswerEmqxRequest(in, shared_.options, shared_.holder, shared_.log);
    Respond(std::move(answer), req.version(), /*close=*/!req.keep_alive() || stopping_);
  }

  void Respond(EmqxHttpAnswer answer, unsigned version, bool close) {
    state_ = State::kWriting;
    close_after_write_ = close;
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(http::field::server, "fleetpdp");
    response_.set(http::field::content_type, "application/json");
    if (answer.status == 405) response_.set(http::field::allow, "GET, POST");
    response_.keep_alive(!close);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    stream_.expires_after(Chrono(shared_.options.io_timeout));
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return Close();
    if (close_after_write_ || stopping_) return Linger();
    ReadHeader();
  }

  // Closes after the peer has had the answer: shut down our side, then read and discard what the
  // peer still sends (e.g. the rest of a body over the limit) until it closes, for up to a second
  // or 1 MiB. Closing with unread input would send a reset, which can destroy the answer in flight.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    ReadAndDiscard();
  }

  void ReadAndDiscard() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > (1u << 20)) return self->Close();
                              self->ReadAndDiscard();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  State state_ = State::kIdle;
  bool stopping_ = false;
  bool close_after_write_ = false;
  size_t discarded_ = 0;
  std::array<char, 4096> scratch_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, Shared& shared)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(shared) {}

  absl::Status Open(const tcp::endpoint& endpoint, std::string_view listen) {
    beast::error_code ec;
    auto fail = [&](std::string_view what) {
      return absl::UnavailableError(
          absl::StrCat("emqx listen ", Quoted(listen), ": ", Absl(what), ": ", ec.message()));
    };
    if (acceptor_.open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("option");
    if (acceptor_.bind(endpoint, ec); ec) return fail("bind");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    const tcp::endpoint local = acceptor_.local_endpoint(ec);
    if (ec) return fail("local address");
    port_ = local.port();
    return absl::OkStatus();
  }

  int port() const { return port_; }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!ec) {
      bool admitted = false;
      {
        std::lock_guard<std::mutex> lock(shared_.mu);
        admitted = !shared_.stopping && shared_.sessions.size() < shared_.options.max_connections;
      }
      if (!admitted) {
        beast::error_code ignored;
        socket.close(ignored);  // over the connection limit, or stopping
      } else {
        auto session = std::make_shared<Session>(std::move(socket), shared_);
        bool registered = false;
        {
          std::lock_guard<std::mutex> lock(shared_.mu);
          // Registered only while not stopping: Stop() sees every session it must wait for.
          if (!shared_.stopping) {
            shared_.sessions.emplace(session.get(), session);
            registered = true;
          }
        }
        if (registered) session->Start();  // else destroyed here, which closes the socket
      }
    }
    // An accept error (e.g. out of file descriptors) is not fatal: keep accepting.
    Accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Shared& shared_;
  int port_ = 0;
};

// "host:port", "[v6]:port" or ":port" (all interfaces).
absl::Status SplitListen(std::string_view listen, std::string& host, std::string& port) {
  const size_t colon = listen.rfind(':');
  int number = 0;
  if (colon == std::string_view::npos ||
      !absl::SimpleAtoi(Absl(listen.substr(colon + 1)), &number) || number < 0 || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("emqx listen ", Quoted(listen), ": want host:port"));
  }
  host = std::string(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  port = absl::StrCat(number);
  return absl::OkStatus();
}

}  // namespace

struct EmqxHttpServer::Impl {
  Impl(const EmqxHttpOptions& options, const BundleHolder& holder, DecisionLog* log)
      : shared(options, holder, log) {}

  Shared shared;  // declared first: destroyed after the io_context and its sessions
  net::io_context ioc;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::mutex stop_mu;
  bool stopped = false;  // guarded by stop_mu

  void Run() {
    // Our handlers do not throw; anything that escapes one (e.g. bad_alloc) is logged and the
    // loop goes on rather than taking the process down.
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        std::cerr << "emqx http: unexpected exception: " << e.what() << "\n";
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<EmqxHttpServer>> EmqxHttpServer::Start(
    const EmqxHttpOptions& options, const BundleHolder& holder, DecisionLog* log) {
  if (options.threads < 1 || options.threads > 16) {
    return absl::InvalidArgumentError("emqx http: threads must be 1 to 16");
  }
  if (options.max_body_bytes == 0 || options.max_connections == 0 ||
      options.idle_timeout <= absl::ZeroDuration() || options.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("emqx http: limits and timeouts must be positive");
  }
  std::string host;
  std::string port;
  if (absl::Status s = SplitListen(options.listen, host, port); !s.ok()) return s;

  auto impl = std::make_unique<Impl>(options, holder, log);
  beast::error_code ec;
  tcp::resolver resolver(impl->ioc);
  const tcp::resolver::results_type endpoints =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("emqx listen ", Quoted(options.listen),
                                                   ": cannot resolve ", Quoted(host), ": ",
                                                   ec ? ec.message() : "no address"));
  }
  impl->listener = std::make_shared<Listener>(impl->ioc, impl->shared);
  if (absl::Status s = impl->listener->Open(endpoints.begin()->endpoint(), options.listen);
      !s.ok()) {
    return s;
  }
  impl->listener->Accept();
  Impl* raw = impl.get();
  try {
    for (int i = 0; i < options.threads; ++i) impl->threads.emplace_back([raw] { raw->Run(); });
  } catch (const std::system_error& e) {
    impl->ioc.stop();
    for (std::thread& t : impl->threads) t.join();
    return absl::ResourceExhaustedError(absl::StrCat("emqx http: starting a thread: ", e.what()));
  }
  return std::unique_ptr<EmqxHttpServer>(new EmqxHttpServer(std::move(impl)));
}

EmqxHttpServer::EmqxHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmqxHttpServer::~EmqxHttpServer() { Stop(absl::ZeroDuration()); }

int EmqxHttpServer::port() const { return impl_->listener->port(); }

void EmqxHttpServer::Stop(absl::Duration grace) {
  std::lock_guard<std::mutex> stop_lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Shared& shared = impl_->shared;
  impl_->listener->Close();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.stopping = true;
    for (auto& [raw, weak] : shared.sessions) {
      if (std::shared_ptr<Session> s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (const std::shared_ptr<Session>& s : live) s->StopSoon();
  live.clear();  // may destroy sessions, which take shared.mu: not held here
  {
    std::unique_lock<std::mutex> lock(shared.mu);
    shared.none_left.wait_for(lock, absl::ToChronoMilliseconds(grace),
                              [&] { return shared.sessions.empty(); });
  }
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
}

}  // namespace fleetpdp::server
