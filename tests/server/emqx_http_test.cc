// The EMQX-compatible HTTP authorization endpoint over real loopback sockets, asked the way EMQX
// 5's HTTP authorizer asks: a JSON or form body rendered from the operator's template, or GET
// with query parameters; answered {"result": "allow" | "deny" | "ignore"}.
#include "server/emqx_http.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/decision_log.h"
#include "server/metrics.h"
#include "server/server_test_util.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Json = nlohmann::json;
using ::fleetpdp::server::testing::CompileTestBundle;
using ::fleetpdp::server::testing::TestBundleFiles;
using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

// The test policy (server_test_util.h) with one more statement: a device may retain its status.
constexpr char kPolicyWithRetain[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: devices}
spec:
  principals: "*"
  statements:
    - {id: own-telemetry, effect: allow, actions: [mqtt:publish], resources: ["devices/${principal.id}/telemetry/#"]}
    - {id: no-commands, effect: deny, actions: [mqtt:publish], resources: ["devices/+/cmd/#"]}
    - {id: own-commands, effect: allow, actions: [mqtt:subscribe], resources: ["devices/${principal.id}/cmd/#"]}
    - {id: retain-status, effect: allow, actions: [mqtt:retain], resources: ["devices/${principal.id}/telemetry/status"]}
)";

struct Reply {
  int status = 0;  // 0: no answer (see error)
  std::string content_type;
  std::string body;
  bool keep_alive = false;
  std::string error;

  // The "result" of a 200 answer's JSON body, or "" when there is none.
  std::string result() const { return Field("result"); }
  std::string Field(const std::string& name) const {
    const Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return "";
    return doc[name].get<std::string>();
  }
};

// One client connection (Beast, blocking), kept alive across requests.
class Connection {
 public:
  explicit Connection(int port) : socket_(ioc_) {
    beast::error_code ec;
    socket_.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port), ec);
    EXPECT_FALSE(ec) << "connect: " << ec.message();
  }

  Reply Send(http::verb verb, const std::string& target, const std::string& content_type = "",
             const std::string& body = "") {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!content_type.empty()) request.set(http::field::content_type, content_type);
    request.body() = body;
    request.keep_alive(true);
    request.prepare_payload();
    beast::error_code ec;
    http::write(socket_, request, ec);
    if (ec) return Failed(absl::StrCat("write: ", ec.message()));
    return Read();
  }

  Reply Read() {
    http::response<http::string_body> response;
    beast::error_code ec;
    http::read(socket_, buffer_, response, ec);
    if (ec) return Failed(absl::StrCat("read: ", ec.message()));
    Reply reply;
    reply.status = static_cast<int>(response.result_int());
    reply.content_type = std::string(response[http::field::content_type]);
    reply.body = response.body();
    reply.keep_alive = response.keep_alive();
    return reply;
  }

  void WriteRaw(const std::string& bytes) {
    beast::error_code ec;
    net::write(socket_, net::buffer(bytes), ec);
    EXPECT_FALSE(ec) << "write: " << ec.message();
  }

  // True when the server has closed the connection: a read ends without data.
  bool ClosedByServer() {
    if (buffer_.size() > 0) return false;
    char c;
    beast::error_code ec;
    socket_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  static Reply Failed(std::string error) {
    Reply reply;
    reply.error = std::move(error);
    return reply;
  }

  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

const char kJson[] = "application/json";
const char kForm[] = "application/x-www-form-urlencoded";
const char kPath[] = "/v1/emqx/authorize";

// A body as EMQX renders the template of docs/brokers.md (every placeholder as a JSON string).
std::string EmqxJson(const std::string& clientid, const std::string& action,
                     const std::string& topic, const std::string& retain = "false") {
  return Json{{"clientid", clientid},    {"username", "user-" + clientid},
              {"peerhost", "10.20.1.7"}, {"action", action},
              {"topic", topic},          {"qos", "1"},
              {"retain", retain}}
      .dump();
}

class EmqxHttpTest : public ::testing::Test {
 protected:
  void Start(EmqxHttpOptions options = {}, DecisionLog* log = nullptr) {
    options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<EmqxHttpServer>> server =
        EmqxHttpServer::Start(options, holder_, log);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void Install(std::string policy = kPolicyWithRetain) {
    std::shared_ptr<const bundles::LoadedBundle> bundle =
        CompileTestBundle(TestBundleFiles(1, std::move(policy)));
    ASSERT_NE(bundle, nullptr);
    holder_.Install(std::move(bundle), absl::Now());
  }
  int port() const { return server_->port(); }

  Reply PostJson(const std::string& body) {
    return Connection(port()).Send(http::verb::post, kPath, kJson, body);
  }
  Reply PostForm(const std::string& body) {
    return Connection(port()).Send(http::verb::post, kPath, kForm, body);
  }
  Reply Get(const std::string& query) {
    return Connection(port()).Send(http::verb::get, absl::StrCat(kPath, "?", query));
  }

  BundleHolder holder_;  // declared first: outlives the server
  std::unique_ptr<EmqxHttpServer> server_;
};

// ---------------------------------------------------------------------------------------------
// Decisions in each of EMQX's request shapes.

TEST_F(EmqxHttpTest, AllowsAPublishAskedWithTheDocumentedJsonBody) {
  Install();
  Start();
  Reply r = PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/temp"));
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"result":"allow"})");
}

TEST_F(EmqxHttpTest, DeniesAPublishToCommandsAskedWithAJsonBody) {
  Install();
  Start();
  Reply r = PostJson(EmqxJson("cam-0042", "publish", "devices/cam-7/cmd/reboot"));
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.result(), "deny");
}

TEST_F(EmqxHttpTest, JsonValuesMayBeNumbersAndBooleans) {
  Install();
  Start();
  Reply r = PostJson(R"({"clientid":"cam-0042","action":"publish",
                         "topic":"devices/cam-0042/telemetry/t","qos":1,"retain":false})");
  EXPECT_EQ(r.result(), "allow") << r.status << r.body;
}

TEST_F(EmqxHttpTest, AnswersAFormEncodedBody) {
  Install();
  Start();
  EXPECT_EQ(PostForm("clientid=cam-0042&peerhost=10.20.1.7&action=publish"
                     "&topic=devices%2Fcam-0042%2Ftelemetry%2Ftemp&qos=0&retain=false")
                .result(),
            "allow");
  EXPECT_EQ(
      PostForm("clientid=cam-0042&action=publish&topic=devices%2Fcam-7%2Fcmd%2Freboot").result(),
      "deny");
}

TEST_F(EmqxHttpTest, AnswersAGetWithQueryParameters) {
  Install();
  Start();
  Reply allow = Get("clientid=cam-0042&action=publish&topic=devices%2Fcam-0042%2Ftelemetry%2Ft");
  EXPECT_EQ(allow.status, 200) << allow.error << allow.body;
  EXPECT_EQ(allow.result(), "allow");
  EXPECT_EQ(Get("clientid=cam-0042&action=publish&topic=devices%2Fcam-0042%2Fcmd%2Fx").result(),
            "deny");
}

TEST_F(EmqxHttpTest, APostCountsTheUrlsQueryAndItsBodyWins) {
  Install();
  Start();
  // EMQX's documented template puts ${clientid} in the URL and the rest in the body.
  Connection c(port());
  Reply from_url = c.Send(http::verb::post, absl::StrCat(kPath, "?clientid=cam-0042"), kJson,
                          R"({"action":"publish","topic":"devices/cam-0042/telemetry/t"})");
  EXPECT_EQ(from_url.result(), "allow") << from_url.status << from_url.body;
  Reply overridden =
      c.Send(http::verb::post, absl::StrCat(kPath, "?clientid=cam-0042"), kJson,
             R"({"clientid":"cam-7","action":"publish","topic":"devices/cam-0042/telemetry/t"})");
  EXPECT_EQ(overridden.result(), "deny");
}

TEST_F(EmqxHttpTest, WithoutAContentTypeABodyOpeningWithABraceIsJson) {
  Install();
  Start();
  Connection c(port());
  EXPECT_EQ(c.Send(http::verb::post, kPath, "",
                   EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"))
                .result(),
            "allow");
  EXPECT_EQ(c.Send(http::verb::post, kPath, "",
                   "clientid=cam-0042&action=publish&topic=devices%2Fcam-0042%2Ftelemetry%2Ft")
                .result(),
            "allow");
}

TEST_F(EmqxHttpTest, ARetainedPublishAlsoNeedsMqttRetain) {
  Install();
  Start();
  // Publish and retain both allowed.
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/status", "true"))
                .result(),
            "allow");
  // Publish allowed, retain not: deny.
  EXPECT_EQ(
      PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/temp", "true")).result(),
      "deny");
  // The same topic without the retain flag.
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/temp", "false"))
                .result(),
            "allow");
}

TEST_F(EmqxHttpTest, ARetainedPublishIsDeniedWhenOnlyRetainIsAllowed) {
  Install(R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: only-retain}
spec:
  principals: "*"
  statements:
    - {id: retain, effect: allow, actions: [mqtt:retain], resources: ["#"]}
)");
  Start();
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "a/b", "true")).result(), "deny");
}

TEST_F(EmqxHttpTest, SubscribeChecksTheTopicFilter) {
  Install();
  Start();
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "subscribe", "devices/cam-0042/cmd/#")).result(),
            "allow");
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "subscribe", "devices/cam-0042/cmd/+/x")).result(),
            "allow");
  // Not contained in the device's own commands.
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "subscribe", "devices/+/cmd/#")).result(), "deny");
  // A filter, and a form body: '+' and '#' arrive percent-encoded as EMQX sends them.
  EXPECT_EQ(
      PostForm("clientid=cam-0042&action=subscribe&topic=devices%2Fcam-0042%2Fcmd%2F%23").result(),
      "allow");
  EXPECT_EQ(PostForm("clientid=cam-0042&action=subscribe&topic=devices%2F%2B%2Fcmd%2F%23").result(),
            "deny");
}

TEST_F(EmqxHttpTest, TheUsernameIsThePrincipalWhenConfigured) {
  Install();
  EmqxHttpOptions options;
  options.principal = EmqxPrincipal::kUsername;
  Start(options);
  const std::string topic = "devices/cam-0042/telemetry/t";
  EXPECT_EQ(PostJson(Json{{"clientid", "random-17"},
                          {"username", "cam-0042"},
                          {"action", "publish"},
                          {"topic", topic}}
                         .dump())
                .result(),
            "allow");
  // The client id no longer counts.
  EXPECT_EQ(PostJson(Json{{"clientid", "cam-0042"},
                          {"username", "cam-7"},
                          {"action", "publish"},
                          {"topic", topic}}
                         .dump())
                .result(),
            "deny");
  // EMQX renders a client without a username as "": no principal, denied (not refused).
  Reply empty = PostJson(Json{
      {"clientid", "cam-0042"},
      {"username", ""},
      {"action", "publish"},
      {"topic", topic}}.dump());
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.result(), "deny");
  // A template without ${username} is a configuration error: 400 naming the field.
  Reply missing =
      PostJson(Json{{"clientid", "cam-0042"}, {"action", "publish"}, {"topic", topic}}.dump());
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.Field("field"), "username");
}

// ---------------------------------------------------------------------------------------------
// No bundle: the configured fail mode.

TEST_F(EmqxHttpTest, WithoutABundleTheAnswerIsDenyByDefault) {
  Start();
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t")).result(),
            "deny");
  Install();  // and once a bundle arrives, it decides
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t")).result(),
            "allow");
}

TEST_F(EmqxHttpTest, WithoutABundleTheAnswerIsIgnoreWhenConfigured) {
  EmqxHttpOptions options;
  options.no_bundle = EmqxNoBundle::kIgnore;
  Start(options);
  Reply r = PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"result":"ignore"})");
}

TEST_F(EmqxHttpTest, AMalformedRequestIsRefusedEvenWithoutABundle) {
  EmqxHttpOptions options;
  options.no_bundle = EmqxNoBundle::kIgnore;
  Start(options);
  Reply r = PostJson(R"({"clientid":"cam-0042","action":"publish"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Field("field"), "topic");
}

// ---------------------------------------------------------------------------------------------
// Malformed requests: 400 with a JSON error naming the field.

struct BadCase {
  std::string name;
  std::string content_type;
  std::string body;
  std::string field;
  std::string message;
};

TEST_F(EmqxHttpTest, AMalformedRequestGets400NamingTheField) {
  Install();
  Start();
  const std::vector<BadCase> cases = {
      {"no clientid", kJson, R"({"action":"publish","topic":"a/b"})", "clientid",
       "clientid: missing"},
      {"no topic", kJson, R"({"clientid":"c","action":"publish"})", "topic", "topic: missing"},
      {"no action", kJson, R"({"clientid":"c","topic":"a/b"})", "action", "action: missing"},
      {"unknown action", kJson, R"({"clientid":"c","action":"connect","topic":"a/b"})", "action",
       "unknown action \"connect\""},
      {"wildcard in a publish topic", kJson, R"({"clientid":"c","action":"publish","topic":"a/+"})",
       "topic", "wildcard"},
      {"bad filter", kJson, R"({"clientid":"c","action":"subscribe","topic":"a/#/b"})", "topic",
       "topic: "},
      {"empty topic", kJson, R"({"clientid":"c","action":"publish","topic":""})", "topic",
       "topic: "},
      {"qos out of range", kJson, R"({"clientid":"c","action":"publish","topic":"a/b","qos":"3"})",
       "qos", "\"3\" is not 0, 1 or 2"},
      {"retain not a boolean", kJson,
       R"({"clientid":"c","action":"publish","topic":"a/b","retain":"yes"})", "retain",
       "\"yes\" is not true or false"},
      {"an object where a value belongs", kJson,
       R"({"clientid":{"id":"c"},"action":"publish","topic":"a/b"})", "clientid",
       "must be a string, an integer or a boolean"},
      {"not JSON", kJson, R"({"clientid":"c",)", "body", "not valid JSON"},
      {"a JSON array", kJson, R"(["c"])", "body", "must be a JSON object"},
      {"bad percent-encoding", kForm, "clientid=c&action=publish&topic=a%2", "body",
       "bad percent-encoding"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Reply r = Connection(port()).Send(http::verb::post, kPath, c.content_type, c.body);
    EXPECT_EQ(r.status, 400) << r.error << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.Field("field"), c.field) << r.body;
    EXPECT_THAT(r.Field("error"), HasSubstr(c.message));
    EXPECT_EQ(r.result(), "");  // never mistaken for an answer
  }
}

TEST_F(EmqxHttpTest, ABadQueryParameterNamesTheQuery) {
  Install();
  Start();
  Reply r = Get("clientid=%zz&action=publish&topic=a");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Field("field"), "query");
}

TEST_F(EmqxHttpTest, AnotherPathIs404AndAnotherMethodIs405) {
  Install();
  Start();
  Connection c(port());
  Reply not_found = c.Send(http::verb::post, "/v1/emqx/authorise", kJson, "{}");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_THAT(not_found.Field("error"), HasSubstr("/v1/emqx/authorise"));
  Reply wrong_method = c.Send(http::verb::put, kPath, kJson, "{}");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_TRUE(wrong_method.keep_alive);  // an answered mistake keeps the connection
}

TEST_F(EmqxHttpTest, MalformedHttpGets400AndTheConnectionCloses) {
  Start();
  Connection c(port());
  c.WriteRaw("POST /v1/emqx/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 400) << r.error;
  EXPECT_THAT(r.Field("error"), HasSubstr("malformed HTTP request"));
  EXPECT_TRUE(c.ClosedByServer());
}

// ---------------------------------------------------------------------------------------------
// The transport: limits, keep-alive, pipelining, stopping.

TEST_F(EmqxHttpTest, ABodyOverTheLimitGets413AndTheConnectionCloses) {
  Install();
  EmqxHttpOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  Connection c(port());
  const std::string big =
      absl::StrCat(R"({"clientid":"cam-0042","pad":")", std::string(4096, 'x'), R"("})");
  Reply r = c.Send(http::verb::post, kPath, kJson, big);
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_THAT(r.Field("error"), HasSubstr("limit of 1024 bytes"));
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c.ClosedByServer());
  // A body just under the limit is answered.
  Reply fits = PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"));
  EXPECT_EQ(fits.result(), "allow");
}

TEST_F(EmqxHttpTest, KeepAliveServesTwoRequestsOnOneConnection) {
  Install();
  Start();
  Connection c(port());
  Reply first = c.Send(http::verb::post, kPath, kJson,
                       EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"));
  EXPECT_TRUE(first.keep_alive);
  EXPECT_EQ(first.result(), "allow");
  Reply second =
      c.Send(http::verb::post, kPath, kJson, EmqxJson("cam-0042", "publish", "devices/x/cmd/y"));
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(second.result(), "deny");
}

TEST_F(EmqxHttpTest, PipelinedRequestsAreAnsweredInOrder) {
  // EMQX's HTTP client pipelines requests on a connection (its "HTTP pipelining" setting).
  Install();
  Start();
  Connection c(port());
  auto request = [](const std::string& body) {
    return absl::StrCat("POST /v1/emqx/authorize HTTP/1.1\r\nHost: x\r\n",
                        "Content-Type: application/json\r\nContent-Length: ", body.size(),
                        "\r\n\r\n", body);
  };
  c.WriteRaw(request(EmqxJson("cam-0042", "publish", "devices/x/cmd/y")) +
             request(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t")) +
             request(EmqxJson("cam-0042", "subscribe", "devices/+/cmd/#")));
  EXPECT_EQ(c.Read().result(), "deny");
  EXPECT_EQ(c.Read().result(), "allow");
  EXPECT_EQ(c.Read().result(), "deny");
}

TEST_F(EmqxHttpTest, ConnectionCloseIsHonoured) {
  Install();
  Start();
  Connection c(port());
  const std::string body = EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t");
  c.WriteRaw(absl::StrCat("POST /v1/emqx/authorize HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                          "Content-Type: application/json\r\nContent-Length: ", body.size(),
                          "\r\n\r\n", body));
  Reply r = c.Read();
  EXPECT_EQ(r.result(), "allow");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(EmqxHttpTest, ExpectContinueIsAnsweredBeforeTheBody) {
  Install();
  Start();
  Connection c(port());
  const std::string body = EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t");
  c.WriteRaw(absl::StrCat("POST /v1/emqx/authorize HTTP/1.1\r\nHost: x\r\n",
                          "Expect: 100-continue\r\nContent-Type: application/json\r\n",
                          "Content-Length: ", body.size(), "\r\n\r\n"));
  Reply interim = c.Read();  // Beast's reader returns the 100 on its own
  EXPECT_EQ(interim.status, 100) << interim.error;
  c.WriteRaw(body);
  EXPECT_EQ(c.Read().result(), "allow");
}

TEST_F(EmqxHttpTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
  Install();
  EmqxHttpOptions options;
  options.idle_timeout = absl::Milliseconds(100);
  Start(options);
  Connection c(port());
  EXPECT_EQ(c.Send(http::verb::post, kPath, kJson,
                   EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"))
                .result(),
            "allow");
  EXPECT_TRUE(c.ClosedByServer());  // blocks until the server closes it
}

TEST_F(EmqxHttpTest, StopClosesIdleConnectionsAndRefusesNewOnes) {
  Install();
  Start();
  Connection c(port());
  EXPECT_EQ(c.Send(http::verb::post, kPath, kJson,
                   EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t"))
                .result(),
            "allow");
  const int stopped_port = port();
  server_->Stop(absl::Seconds(30));  // returns once the idle connection is closed
  EXPECT_TRUE(c.ClosedByServer());
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), stopped_port), ec);
  EXPECT_EQ(ec, net::error::connection_refused);
  server_->Stop(absl::Seconds(1));  // idempotent
}

DecisionLogOptions LogOptions(const std::string& path) {
  DecisionLogOptions options;
  options.path = path;
  return options;
}

TEST_F(EmqxHttpTest, DecisionsReachTheDecisionLog) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/emqx_http_test_", getpid(), ".jsonl");
  std::remove(path.c_str());
  absl::StatusOr<std::unique_ptr<DecisionLog>> log =
      DecisionLog::Create(LogOptions(path), /*metrics=*/nullptr);
  ASSERT_TRUE(log.ok()) << log.status();
  Install();
  Start({}, log->get());
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/status", "true"))
                .result(),
            "allow");
  (*log)->Flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  // One record per check: the publish and the retain.
  EXPECT_THAT(text.str(), HasSubstr(R"("method":"EmqxHttp")"));
  EXPECT_THAT(text.str(), HasSubstr(R"("action":"mqtt:publish")"));
  EXPECT_THAT(text.str(), HasSubstr(R"("action":"mqtt:retain")"));
  EXPECT_THAT(text.str(), HasSubstr("10.20.1.7"));
  std::remove(path.c_str());
}

TEST_F(EmqxHttpTest, DecisionsAndInvalidRequestsAreCountedUnderTheirOwnMethod) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  Install();
  EmqxHttpOptions options;
  options.metrics = metrics->get();
  Start(options);
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-0042/telemetry/t")).result(),
            "allow");
  EXPECT_EQ(PostJson(EmqxJson("cam-0042", "publish", "devices/cam-7/cmd/reboot")).result(), "deny");
  EXPECT_EQ(PostJson(R"({"clientid":"cam-0042","action":"publish"})").status, 400);
  EXPECT_EQ(PostJson(R"({"clientid":)").status, 400);
  const std::string text = (*metrics)->Scrape();
  EXPECT_THAT(text, HasSubstr(R"(fleetpdp_check_duration_seconds_count{method="EmqxHttp"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(fleetpdp_invalid_requests_total{method="EmqxHttp"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(fleetpdp_check_duration_seconds_count{method="Check"} 0)"));
}

// ---------------------------------------------------------------------------------------------
// Starting.

TEST(EmqxHttpStartTest, ABadAddressIsAnInvalidArgument) {
  BundleHolder holder;
  EXPECT_THAT(EmqxHttpServer::Start({.listen = "no-port"}, holder, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("want host:port")));
  EXPECT_THAT(EmqxHttpServer::Start({.listen = "127.0.0.1:70000"}, holder, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"127.0.0.1:70000\"")));
}

TEST(EmqxHttpStartTest, ABusyPortIsUnavailable) {
  BundleHolder holder;
  absl::StatusOr<std::unique_ptr<EmqxHttpServer>> first =
      EmqxHttpServer::Start({.listen = "127.0.0.1:0"}, holder, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string busy = absl::StrCat("127.0.0.1:", (*first)->port());
  EXPECT_THAT(EmqxHttpServer::Start({.listen = busy}, holder, nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("bind")));
}

TEST(EmqxHttpStartTest, OptionsAreParsedFromTheirNames) {
  EXPECT_EQ(*ParseEmqxPrincipal("username"), EmqxPrincipal::kUsername);
  EXPECT_EQ(*ParseEmqxPrincipal("clientid"), EmqxPrincipal::kClientId);
  EXPECT_THAT(ParseEmqxPrincipal("cn"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clientid or username")));
  EXPECT_EQ(*ParseEmqxNoBundle("ignore"), EmqxNoBundle::kIgnore);
  EXPECT_EQ(*ParseEmqxNoBundle("deny"), EmqxNoBundle::kDeny);
  EXPECT_THAT(ParseEmqxNoBundle("allow"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deny or ignore")));
}

}  // namespace
}  // namespace fleetpdp::server
