// A tiny HTTP/1.1 server on 127.0.0.1 for bundle source fault tests (Boost.Asio, blocking, one
// thread per connection): serves one body with an ETag, or, on demand, a fault.
//
//   FaultHttpServer http;
//   http.SetBody(archive, "\"rev-1\"");
//   http.SetMode(FaultHttpServer::Mode::kStall);   // the next requests stall
//   MakeBundleSource(http.url(), {}, {.timeout = absl::Seconds(1)});
//
// Modes:
//   kGood       200 with the body and its ETag; 304 when If-None-Match carries that ETag
//   kHttp500    500 Internal Server Error
//   kStall      reads the request, then answers nothing until the server is destroyed (or 60 s)
//   kTrickle    200 headers with the full Content-Length, then one body byte every 100 ms
//   kTruncated  200 with Content-Length of the whole body, half of it, then closes
//   kGarbage    200 with 4 KiB of pseudo-random bytes (a correct Content-Length)
//   kReset      closes the connection without answering
//
// Thread safety: every method may be called from any thread.
#ifndef FLEETPDP_TESTS_SERVER_FAULT_HTTP_SERVER_H_
#define FLEETPDP_TESTS_SERVER_FAULT_HTTP_SERVER_H_

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <istream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fleetpdp::server::testing {

class FaultHttpServer {
 public:
  enum class Mode { kGood, kHttp500, kStall, kTrickle, kTruncated, kGarbage, kReset };

  FaultHttpServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FaultHttpServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ignored;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket wake(io);
    wake.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ignored);
    accept_thread_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard lock(mu_);
      connections.swap(connections_);
    }
    for (std::thread& t : connections) t.join();
  }

  FaultHttpServer(const FaultHttpServer&) = delete;
  FaultHttpServer& operator=(const FaultHttpServer&) = delete;

  void SetBody(std::string body, std::string etag) {
    std::lock_guard lock(mu_);
    body_ = std::move(body);
    etag_ = std::move(etag);
  }
  void SetMode(Mode mode) {
    std::lock_guard lock(mu_);
    mode_ = mode;
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/fleet.tar.gz"); }
  int requests() const { return requests_.load(); }

 private:
  using tcp = boost::asio::ip::tcp;

  void AcceptLoop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (ec) continue;
      connections_.emplace_back([this, socket] { Serve(*socket); });
    }
  }

  // Waits up to `d` unless the server stops first; returns false when it stops.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  static void Send(tcp::socket& socket, std::string_view bytes) {
    boost::system::error_code ignored;
    boost::asio::write(socket, boost::asio::buffer(bytes.data(), bytes.size()), ignored);
  }

  static std::string Headers(int status, const std::string& reason, size_t length,
                             const std::string& etag) {
    std::string out = absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\nContent-Length: ", length,
                                   "\r\nConnection: close\r\n");
    if (!etag.empty()) absl::StrAppend(&out, "ETag: ", etag, "\r\n");
    return out + "\r\n";
  }

  void Serve(tcp::socket& socket) {
    boost::asio::streambuf request;
    boost::system::error_code ec;
    boost::asio::read_until(socket, request, "\r\n\r\n", ec);
    if (ec) return;
    ++requests_;
    std::string head(boost::asio::buffers_begin(request.data()),
                     boost::asio::buffers_end(request.data()));
    Mode mode;
    std::string body;
    std::string etag;
    {
      std::lock_guard lock(mu_);
      mode = mode_;
      body = body_;
      etag = etag_;
    }
    switch (mode) {
      case Mode::kGood:
        if (!etag.empty() &&
            absl::StrContains(absl::AsciiStrToLower(head), absl::StrCat("if-none-match: ", etag))) {
          Send(socket, Headers(304, "Not Modified", 0, etag));
        } else {
          Send(socket, Headers(200, "OK", body.size(), etag) + body);
        }
        break;
      case Mode::kHttp500:
        Send(socket, Headers(500, "Internal Server Error", 5, "") + "oops\n");
        break;
      case Mode::kStall:
        Sleep(std::chrono::seconds(60));
        break;
      case Mode::kTrickle:
        Send(socket, Headers(200, "OK", body.size(), etag));
        for (size_t i = 0; i < body.size(); ++i) {
          boost::asio::write(socket, boost::asio::buffer(&body[i], 1), ec);
          if (ec || !Sleep(std::chrono::milliseconds(100))) break;
        }
        break;
      case Mode::kTruncated:
        Send(socket, Headers(200, "OK", body.size(), etag) + body.substr(0, body.size() / 2));
        break;
      case Mode::kGarbage: {
        std::mt19937 random(42);
        std::string garbage(4096, '\0');
        for (char& c : garbage) c = static_cast<char>(random());
        Send(socket, Headers(200, "OK", garbage.size(), "\"garbage\"") + garbage);
        break;
      }
      case Mode::kReset:
        break;
    }
    socket.close(ec);
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;                 // guarded by mu_
  Mode mode_ = Mode::kGood;               // guarded by mu_
  std::string body_;                      // guarded by mu_
  std::string etag_;                      // guarded by mu_
  std::vector<std::thread> connections_;  // guarded by mu_
  std::thread accept_thread_;             // started last
};

}  // namespace fleetpdp::server::testing

#endif  // FLEETPDP_TESTS_SERVER_FAULT_HTTP_SERVER_H_
