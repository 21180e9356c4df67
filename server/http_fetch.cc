#include "server/http_fetch.h"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleetpdp::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

absl::StatusOr<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    u.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" is not an http(s) URL"));
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\": credentials in URLs are not supported"));
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
    int port = 0;
    if (!absl::SimpleAtoi(u.port, &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("\"", url, "\": bad port"));
    }
  } else {
    u.host = std::string(authority);
    u.port = u.tls ? "443" : "80";
  }
  if (u.host.starts_with('[') && u.host.ends_with(']'))
    u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has no host"));
  return u;
}

template <typename Stream>
asio::awaitable<void> Exchange(Stream& stream, const Url& url, const HttpRequest& request,
                               HttpResponse& out) {
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "fleetpdp");
  req.set(http::field::connection, "close");
  if (!request.if_none_match.empty()) req.set(http::field::if_none_match, request.if_none_match);
  co_await http::async_write(stream, req, asio::use_awaitable);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(request.max_body_bytes);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.reason = std::string(res.reason());
  if (auto it = res.find(http::field::etag); it != res.end()) out.etag = std::string(it->value());
  out.body = res.body();
}

asio::awaitable<void> Fetch(const Url& url, const HttpRequest& request, HttpResponse& out) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  if (!url.tls) {
    beast::tcp_stream stream(executor);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_await Exchange(stream, url, request, out);
    co_return;
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (request.ca_file.empty()) {
    ctx.set_default_verify_paths();
  } else {
    ctx.load_verify_file(request.ca_file);
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    throw beast::system_error(
        beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_await Exchange(stream, url, request, out);
}

constexpr char kFetchFailurePayload[] = "type.fleetpdp.dev/fetch-failure";

}  // namespace

std::string_view FetchFailureOf(const absl::Status& status) {
  if (status.ok()) return "";
  absl::optional<absl::Cord> kind = status.GetPayload(kFetchFailurePayload);
  if (!kind) return "";
  static thread_local std::string text;
  text = std::string(*kind);
  return text;
}

absl::Status WithFetchFailure(absl::Status status, std::string_view kind) {
  status.SetPayload(kFetchFailurePayload, absl::Cord(absl::string_view(kind.data(), kind.size())));
  return status;
}

absl::StatusOr<HttpResponse> HttpGet(const HttpRequest& request) {
  absl::StatusOr<Url> url = ParseUrl(request.url);
  if (!url.ok()) return url.status();
  asio::io_context io;
  HttpResponse response;
  std::optional<std::string> error;
  std::string_view kind = "fetch_failed";
  bool done = false;
  asio::co_spawn(io, Fetch(*url, request, response), [&](std::exception_ptr e) {
    done = true;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const beast::system_error& se) {
      if (se.code() == http::error::body_limit) kind = "too_large";
      if (se.code() == http::error::partial_message) kind = "fetch_truncated";
      error = se.code() == http::error::body_limit
                  ? absl::StrCat("body larger than ", request.max_body_bytes, " bytes")
              : se.code() == http::error::partial_message
                  ? std::string("connection closed before the whole body arrived (truncated)")
                  : se.code().message();
    } catch (const std::exception& other) {
      error = other.what();
    }
  });
  io.run_for(std::chrono::milliseconds(absl::ToInt64Milliseconds(request.timeout)));
  if (!done) {
    io.stop();
    return WithFetchFailure(
        absl::UnavailableError(absl::StrCat("GET ", request.url, ": no complete answer within ",
                                            absl::FormatDuration(request.timeout),
                                            " (timeout: the server stalled or was too slow)")),
        "fetch_timeout");
  }
  if (error) {
    return WithFetchFailure(absl::UnavailableError(absl::StrCat("GET ", request.url, ": ", *error)),
                            kind);
  }
  return response;
}

}  // namespace fleetpdp::server
