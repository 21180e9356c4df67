// One HTTP(S) GET with a deadline and a body limit (Boost.Beast over Boost.Asio; TLS through
// OpenSSL with certificate and host name verification). Written for polling bundle URLs: no
// redirects, no keep-alive, no chunked uploads.
//
//   absl::StatusOr<HttpResponse> r = HttpGet({.url = "https://cdn/fleet.tar.gz", .if_none_match =
//   etag});
//
// Errors are Unavailable and name the URL: refused connection, DNS failure, TLS failure, timeout,
// a body over max_body_bytes, a body shorter than its Content-Length (truncated). Each carries its
// kind (FetchFailureOf), for metrics. `timeout` bounds the whole exchange — resolving,
// connecting, the request, headers and body together — so a server that stalls or trickles
// bytes cannot hold a caller longer than that.
// Thread safety: a function; each call has its own I/O context.
#ifndef FLEETPDP_SERVER_HTTP_FETCH_H_
#define FLEETPDP_SERVER_HTTP_FETCH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fleetpdp::server {

struct HttpRequest {
  std::string url;
  std::string if_none_match;
  absl::Duration timeout = absl::Seconds(10);
  size_t max_body_bytes = 512ull << 20;
  std::string ca_file;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string etag;
  std::string body;
};

absl::StatusOr<HttpResponse> HttpGet(const HttpRequest& request);

// The kind of a failed fetch, "" for any other status: "fetch_timeout", "fetch_truncated",
// "fetch_failed" (connection refused or reset, DNS, TLS, a malformed answer), "too_large" (body
// over the limit), "fetch_http_error" (an answer with an unexpected status; set by callers with
// WithFetchFailure).
std::string_view FetchFailureOf(const absl::Status& status);
absl::Status WithFetchFailure(absl::Status status, std::string_view kind);

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_HTTP_FETCH_H_
