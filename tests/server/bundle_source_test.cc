// Bundle sources against real sockets: a tiny HTTP server on loopback answers with canned
// responses (200 with an ETag, 304 for a matching If-None-Match, a truncated body, a 500), and a
// closed port stands for a server that is down.
#include "server/bundle_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "bundles/archive.h"
#include "bundles/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::HasSubstr;

bundles::BundleFiles Bundle(int revision) {
  return {{"manifest.yaml", "name: f\nrevision: " + std::to_string(revision) + "\n"}};
}

// Serves one canned response per connection, chosen by `respond` from the request text.
class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::function<std::string(const std::string&)> respond)
      : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~CannedHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/fleet.tar.gz"; }
  int requests() const { return requests_; }
  std::string last_request() const { return last_request_; }

 private:
  void Loop() {
    while (!stop_) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      ++requests_;
      last_request_ = request;
      std::string response = respond_(request);
      size_t sent = 0;
      while (sent < response.size()) {
        ssize_t n = ::write(client, response.data() + sent, response.size() - sent);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::close(client);
    }
  }

  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::string last_request_;
  std::thread thread_;
};

std::string Ok(const std::string& body, const std::string& etag) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nETag: " + etag +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(HttpBundleSourceTest, FetchesThenAnswers304AsUnchanged) {
  const std::string archive = bundles::WriteBundleArchive(Bundle(1)).value();
  CannedHttpServer http([&](const std::string& request) {
    if (request.find("If-None-Match: \"v1\"") != std::string::npos) {
      return std::string("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
    }
    return Ok(archive, "\"v1\"");
  });
  auto source = MakeBundleSource(http.url());
  ASSERT_OK(source);
  auto first = (*source)->FetchIfChanged();
  ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(bundles::BundleDigest(**first), bundles::BundleDigest(Bundle(1)));
  auto second = (*source)->FetchIfChanged();
  ASSERT_OK(second);
  EXPECT_FALSE(second->has_value());
  EXPECT_THAT(http.last_request(), HasSubstr("If-None-Match: \"v1\""));
  EXPECT_EQ(http.requests(), 2);
}

TEST(HttpBundleSourceTest, ATruncatedBodyIsAnErrorAndIsFetchedAgain) {
  const std::string archive = bundles::WriteBundleArchive(Bundle(1)).value();
  std::atomic<int> calls{0};
  CannedHttpServer http([&](const std::string&) {
    if (calls++ == 0) {
      // Promise the whole archive, send half, close.
      return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(archive.size()) +
             "\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n" +
             archive.substr(0, archive.size() / 2);
    }
    return Ok(archive, "\"v1\"");
  });
  auto source = MakeBundleSource(http.url());
  ASSERT_OK(source);
  EXPECT_THAT((*source)->FetchIfChanged(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("truncated")));
  // The ETag of the truncated answer was not kept: the next poll fetches the whole bundle.
  auto retry = (*source)->FetchIfChanged();
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->has_value());
  EXPECT_THAT(http.last_request(), ::testing::Not(HasSubstr("If-None-Match")));
}

TEST(HttpBundleSourceTest, AServerErrorIsUnavailableNamingTheStatus) {
  CannedHttpServer http([](const std::string&) {
    return std::string("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  });
  auto source = MakeBundleSource(http.url());
  ASSERT_OK(source);
  EXPECT_THAT((*source)->FetchIfChanged(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 500")));
}

TEST(HttpBundleSourceTest, AServerThatIsDownIsUnavailable) {
  int port = 0;
  {
    CannedHttpServer http([](const std::string&) { return std::string(); });
    port = std::stoi(http.url().substr(17, http.url().find('/', 17) - 17));
  }  // closed: nothing listens on `port` any more
  auto source = MakeBundleSource("http://127.0.0.1:" + std::to_string(port) + "/b.tar.gz");
  ASSERT_OK(source);
  EXPECT_THAT((*source)->FetchIfChanged(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("GET http://127.0.0.1:")));
}

TEST(HttpBundleSourceTest, ABodyThatIsNotABundleIsRejected) {
  CannedHttpServer http([](const std::string&) { return Ok("<html>login</html>", "\"x\""); });
  auto source = MakeBundleSource(http.url());
  ASSERT_OK(source);
  auto fetched = (*source)->FetchIfChanged();
  EXPECT_FALSE(fetched.ok());
  EXPECT_THAT(fetched.status().message(), HasSubstr("bundle from http://127.0.0.1:"));
}

TEST(FileBundleSourceTest, ReportsUnchangedUntilTheContentChanges) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("fleetpdp-file-source-" + std::to_string(::getpid()) + ".tar.gz");
  ASSERT_OK(bundles::WriteFileBytes(path, bundles::WriteBundleArchive(Bundle(1)).value()));
  auto source = MakeBundleSource(path.string());
  ASSERT_OK(source);
  auto first = (*source)->FetchIfChanged();
  ASSERT_OK(first);
  EXPECT_TRUE(first->has_value());
  auto unchanged = (*source)->FetchIfChanged();
  ASSERT_OK(unchanged);
  EXPECT_FALSE(unchanged->has_value());
  ASSERT_OK(bundles::WriteFileBytes(path, bundles::WriteBundleArchive(Bundle(2)).value()));
  auto changed = (*source)->FetchIfChanged();
  ASSERT_OK(changed);
  ASSERT_TRUE(changed->has_value());
  EXPECT_EQ(bundles::BundleDigest(**changed), bundles::BundleDigest(Bundle(2)));
  std::filesystem::remove(path);
  EXPECT_THAT((*source)->FetchIfChanged(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
}

TEST(BundleSourceTest, AnEmptyLocationIsRejected) {
  EXPECT_THAT(MakeBundleSource(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bundle source is empty")));
}

}  // namespace
}  // namespace fleetpdp::server
