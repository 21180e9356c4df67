// One HTTP(S) GET with a deadline and a body limit (Boost.Beast over Boost.Asio; TLS through
// OpenSSL with certificate and host name verification). Written for polling bundle URLs: no
// redirects, no keep-alive, no chunked uploads.
//
//   absl::StatusOr<HttpResponse> r = HttpGet({.url = "https://cdn/fleet.tar.gz", .if_none_match =
//   etag});
//
// Errors are Unavailable and name the URL: refused connection, DNS failure, TLS failure, timeout,
// a body over max_body_bytes, a body shorter than its Content-Length (truncated).
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

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_HTTP_FETCH_H_
