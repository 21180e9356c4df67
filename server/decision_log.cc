// The decision log: callers push records into a bounded queue under a short lock; one writer
// thread takes the whole queue at a time, renders JSON lines and writes them with write(2), so a
// slow or failing disk costs records, never decision latency.
#include "server/decision_log.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "bundles/archive.h"
#include "engine/absl_compat.h"
#include "server/metrics.h"
#include "server/rate_limited_log.h"

namespace fleetpdp::server {
namespace {

constexpr std::string_view kMask = "***";
// The writer issues one write(2) per chunk of about this size, and at least one per batch.
constexpr size_t kWriteChunkBytes = size_t{64} * 1024;
// Records the queue has room for before it first grows (growth moves records under the lock).
constexpr size_t kInitialQueueReserve = 4096;
// The writer sleeps this long after each batch (see WriterLoop).
constexpr absl::Duration kBatchInterval = absl::Milliseconds(1);

// HMAC-SHA256 under one key, truncated to 8 bytes (16 hex digits): enough to tell values apart
// in a log, too short to serve as a verifier. The keyed context is set up once; each tag
// duplicates it, so the key schedule is not redone per value.
class KeyedTagger {
 public:
  static absl::StatusOr<std::shared_ptr<const KeyedTagger>> Create(std::string_view key) {
    auto out = std::shared_ptr<KeyedTagger>(new KeyedTagger());
    out->mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (out->mac_ != nullptr) out->ctx_ = EVP_MAC_CTX_new(out->mac_);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (out->ctx_ == nullptr ||
        EVP_MAC_init(out->ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params) != 1) {
      return absl::InternalError("decision log mask: OpenSSL has no HMAC-SHA256");
    }
    return out;
  }
  ~KeyedTagger() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }

  // "hmac:" and 16 hex digits. Thread-safe: the keyed context is only read (duplicated).
  std::string Tag(std::string_view value) const {
    static constexpr char kHex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t length = 0;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(ctx_);
    const bool ok = ctx != nullptr &&
                    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(value.data()),
                                   value.size()) == 1 &&
                    EVP_MAC_final(ctx, mac, &length, sizeof(mac)) == 1 && length >= 8;
    EVP_MAC_CTX_free(ctx);
    if (!ok) return std::string(kMask);  // never the value itself
    std::string out = "hmac:";
    for (size_t i = 0; i < 8; ++i) {
      out += kHex[mac[i] >> 4];
      out += kHex[mac[i] & 0xF];
    }
    return out;
  }

 private:
  KeyedTagger() = default;
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
};

// Which fields are masked, and how. Built once at Create, read-only afterwards.
struct MaskSet {
  bool principal_id = false;
  bool resource = false;
  absl::flat_hash_set<std::string> principal_attributes;
  absl::flat_hash_set<std::string> context;
  std::shared_ptr<const KeyedTagger> tagger;  // null: kMask

  std::string Masked(std::string_view value) const {
    return tagger != nullptr ? tagger->Tag(value) : std::string(kMask);
  }
};

absl::StatusOr<MaskSet> ParseMasks(const std::vector<std::string>& entries) {
  constexpr std::string_view kAttributes = "principal.attributes.";
  constexpr std::string_view kContext = "context.";
  MaskSet masks;
  std::vector<std::string> fields;
  for (const std::string& entry : entries) {
    for (absl::string_view piece : absl::StrSplit(entry, ',')) {
      fields.emplace_back(absl::StripAsciiWhitespace(piece));
    }
  }
  for (const std::string& field : fields) {
    const std::string_view f = field;
    if (f == "principal.id") {
      masks.principal_id = true;
    } else if (f == "resource") {
      masks.resource = true;
    } else if (f.starts_with(kAttributes) && f.size() > kAttributes.size()) {
      masks.principal_attributes.insert(std::string(f.substr(kAttributes.size())));
    } else if (f.starts_with(kContext) && f.size() > kContext.size()) {
      masks.context.insert(std::string(f.substr(kContext.size())));
    } else {
      const std::string_view root = f.substr(0, f.find('.'));
      const bool known_root = root == "principal" || root == "context" || root == "resource";
      return absl::InvalidArgumentError(absl::StrCat(
          "masked_fields: ",
          known_root ? absl::StrCat("unsupported field \"", field, "\"")
                     : absl::StrCat("unknown root \"", Absl(root), "\" in \"", field, "\""),
          " (expected principal.id, principal.attributes.<key>, context.<key> or resource)"));
    }
  }
  return masks;
}

// Uniform in [0, 1) from a per-thread splitmix64: no lock, a few multiplications, and more than
// good enough for flipping a coin per ALLOW.
double UniformUnit() {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  uint64_t z = (state += 0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

// Length of the well-formed UTF-8 sequence starting s[i] (a non-ASCII lead byte), or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const auto continuation = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned char lead = byte(i);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char lo = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    const unsigned char hi = lead == 0xED ? 0x9F : 0xBF;  // no surrogates
    return continuation(i + 1, lo, hi) && continuation(i + 2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char lo = lead == 0xF0 ? 0x90 : 0x80;  // no overlong forms
    const unsigned char hi = lead == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return continuation(i + 1, lo, hi) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

// Appends `s` as a JSON string. Requests carry caller bytes: each byte that does not start a
// well-formed UTF-8 sequence becomes U+FFFD, so every line is valid JSON whatever was sent.
void AppendString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t length = Utf8SequenceLength(s, i); length > 0) {
        i += length;
        continue;
      }
    }
    out.append(s.data() + plain, i - plain);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD for an ill-formed byte
        }
    }
    i += 1;
    plain = i;
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void AppendStringList(const std::vector<std::string>& values, std::string& out) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(values[i], out);
  }
  out += ']';
}

// An object of key → string (or list of strings, for list attributes).
void AppendAttributes(const std::vector<engine::Attribute>& attributes,
                      const absl::flat_hash_set<std::string>& masked, const MaskSet& masks,
                      std::string& out) {
  out += '{';
  for (size_t i = 0; i < attributes.size(); ++i) {
    const engine::Attribute& attribute = attributes[i];
    if (i > 0) out += ',';
    AppendString(attribute.key, out);
    out += ':';
    if (masked.contains(attribute.key)) {
      if (masks.tagger != nullptr && attribute.is_list) {
        std::vector<std::string> tags;
        tags.reserve(attribute.values.size());
        for (const std::string& v : attribute.values) tags.push_back(masks.Masked(v));
        AppendStringList(tags, out);
      } else {
        AppendString(
            masks.Masked(attribute.values.empty() ? std::string_view()
                                                  : std::string_view(attribute.values.front())),
            out);
      }
    } else if (attribute.is_list) {
      AppendStringList(attribute.values, out);
    } else {
      AppendString(attribute.values.empty() ? std::string_view() : attribute.values.front(), out);
    }
  }
  out += '}';
}

// Appends `value` zero-padded to `width` digits.
void AppendPadded(uint64_t value, int width, std::string& out) {
  char digits[20];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, width);
}

// A duration in microseconds as an exact JSON number: nanosecond resolution, no exponent.
void AppendMicroseconds(absl::Duration duration, std::string& out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  auto magnitude = static_cast<uint64_t>(nanos);
  if (nanos < 0) {
    out += '-';
    magnitude = 0 - magnitude;
  }
  absl::StrAppend(&out, magnitude / 1000);
  uint64_t fraction = magnitude % 1000;
  if (fraction == 0) return;
  int width = 3;
  for (; fraction % 10 == 0; fraction /= 10) --width;
  out += '.';
  AppendPadded(fraction, width, out);
}

// RFC 3339 in UTC with microseconds ("2024-05-01T12:34:56.789012Z"). Records arrive in roughly
// increasing time, so the formatted second is cached and only the fraction is rendered per line.
class TimeFormatter {
 public:
  void Append(absl::Time time, std::string& out) {
    if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
      AppendString(absl::FormatTime(time), out);
      return;
    }
    const int64_t second = absl::ToUnixSeconds(time);  // rounds towards the past
    if (second != second_ || prefix_.empty()) {
      second_ = second;
      prefix_ = absl::FormatTime("\"%Y-%m-%dT%H:%M:%S.", time, absl::UTCTimeZone());
    }
    out += prefix_;
    AppendPadded(absl::ToInt64Microseconds(time - absl::FromUnixSeconds(second)), 6, out);
    out += "Z\"";
  }

 private:
  int64_t second_ = 0;
  std::string prefix_;
};

// Appends one JSON line for `record` to `out`, fields in the documented order.
void AppendLine(const DecisionRecord& record, const MaskSet& masks, TimeFormatter& time,
                std::string& out) {
  const engine::Request& request = record.request;
  out += R"({"time":)";
  time.Append(record.time, out);
  out += R"(,"decision_id":)";
  AppendString(record.decision_id, out);
  out += R"(,"method":)";
  AppendString(record.method, out);
  out += R"(,"principal":{"id":)";
  if (masks.principal_id) {
    AppendString(masks.Masked(request.principal.id), out);
  } else {
    AppendString(request.principal.id, out);
  }
  out += R"(,"type":)";
  AppendString(request.principal.type, out);
  out += R"(,"groups":)";
  AppendStringList(request.principal.groups, out);
  out += R"(,"attributes":)";
  AppendAttributes(request.principal.attributes, masks.principal_attributes, masks, out);
  out += R"(},"action":)";
  AppendString(request.action, out);
  out += R"(,"resource":)";
  if (masks.resource) {
    AppendString(masks.Masked(request.resource), out);
  } else {
    AppendString(request.resource, out);
  }
  out += R"(,"context":)";
  AppendAttributes(request.context, masks.context, masks, out);
  out += record.allowed ? R"(,"decision":"ALLOW")" : R"(,"decision":"DENY")";
  out += R"(,"reason":)";
  AppendString(engine::ReasonName(record.reason), out);
  out += R"(,"statements":)";
  AppendStringList(record.statements, out);
  out += R"(,"bundle_revision":)";
  absl::StrAppend(&out, record.bundle_revision);
  out += R"(,"bundle_digest":)";
  AppendString(record.bundle_digest, out);
  out += R"(,"latency_us":)";
  AppendMicroseconds(record.latency, out);
  out += "}\n";
}

}  // namespace

struct DecisionLog::Impl {
  Impl(DecisionLogOptions options, MaskSet masks, int fd, Metrics* metrics)
      : options(std::move(options)),
        masks(std::move(masks)),
        fd(fd),
        metrics(metrics),
        error_log(this->options.on_error) {
    queue.reserve(std::min<size_t>(this->options.queue_capacity, kInitialQueueReserve));
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    work_cv.notify_one();
    if (writer.joinable()) writer.join();
    if (fd > STDERR_FILENO) close(fd);
  }

  bool Submit(DecisionRecord&& record) {
    if (fd < 0) return false;  // no log configured
    if (record.allowed && options.allow_sample_rate < 1.0 &&
        !(UniformUnit() < options.allow_sample_rate)) {
      return false;
    }
    bool queued = false;
    bool wake = false;
    {
      std::lock_guard lock(mu);
      if (queue.size() < options.queue_capacity) {
        queue.push_back(std::move(record));
        ++accepted;
        queued = true;
        wake = std::exchange(writer_idle, false);  // one wake-up per idle period
      }
    }
    if (wake) work_cv.notify_one();
    if (!queued) CountDropped(1);
    return queued;
  }

  void Flush() {
    std::unique_lock lock(mu);
    const uint64_t target = accepted;
    finished_cv.wait(lock, [&] { return finished >= target; });
  }

  void CountDropped(uint64_t n) {
    dropped.fetch_add(n, std::memory_order_relaxed);
    if (metrics != nullptr) {
      for (uint64_t i = 0; i < n; ++i) metrics->CountDecisionLogDrop();
    }
  }

  void WriterLoop() {
    std::vector<DecisionRecord> batch;
    std::string buffer;
    std::vector<size_t> line_ends;  // offsets in buffer where each record's line ends
    for (;;) {
      {
        std::unique_lock lock(mu);
        writer_idle = true;
        work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        writer_idle = false;
        if (queue.empty()) return;  // stopping, and everything is written
        batch.swap(queue);
      }
      const size_t n = batch.size();
      for (const DecisionRecord& record : batch) {
        AppendLine(record, masks, time_formatter, buffer);
        line_ends.push_back(buffer.size());
        if (buffer.size() >= kWriteChunkBytes) WriteChunk(buffer, line_ends);
      }
      WriteChunk(buffer, line_ends);
      batch.clear();
      bool stop = false;
      {
        std::lock_guard lock(mu);
        finished += n;
        stop = stopping;
      }
      finished_cv.notify_all();
      // Coalesce: at most one batch per interval, so under load the writer is rarely idle and
      // a Submit rarely has a thread to wake.
      if (!stop) absl::SleepFor(kBatchInterval);
    }
  }

  // Writes buffer (whole lines) and clears it with line_ends. On error, the lines not fully
  // written are dropped and counted; a torn last line is ended before the next write so that
  // the following records start on their own line.
  void WriteChunk(std::string& buffer, std::vector<size_t>& line_ends) {
    if (buffer.empty()) return;
    size_t done = 0;
    int error = 0;
    if (torn_line) {
      if (WriteAll("\n", 1, error) == 1) torn_line = false;
    }
    if (!torn_line) done = WriteAll(buffer.data(), buffer.size(), error);
    size_t lines_written = 0;
    while (lines_written < line_ends.size() && line_ends[lines_written] <= done) ++lines_written;
    written.fetch_add(lines_written, std::memory_order_relaxed);
    if (lines_written < line_ends.size()) {
      if (done > (lines_written == 0 ? 0 : line_ends[lines_written - 1])) torn_line = true;
      CountDropped(line_ends.size() - lines_written);
      if (metrics != nullptr) metrics->CountDecisionLogWriteError();
      write_errors.fetch_add(1, std::memory_order_relaxed);
      std::string message =
          absl::StrCat("writing decision log \"", options.path, "\": ", std::strerror(error));
      error_log.Log([&] {
        return absl::StrCat(
            "decision log \"", options.path, "\": write failed: ", std::strerror(error), "; ",
            dropped.load(std::memory_order_relaxed), " records lost so far (decisions go on)");
      });
      std::lock_guard lock(error_mu);
      last_error = std::move(message);
    }
    buffer.clear();
    line_ends.clear();
  }

  // write(2) until all of data is written or an error; returns the bytes written.
  size_t WriteAll(const char* data, size_t size, int& error) {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = write(fd, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? errno : EIO;  // 0 bytes for a non-empty write: give up, don't spin
        return done;
      }
      done += static_cast<size_t>(n);
    }
    return done;
  }

  const DecisionLogOptions options;
  const MaskSet masks;
  const int fd;            // -1: no log; owned (closed at destruction) unless stdout
  Metrics* const metrics;  // may be null; not owned

  // std::mutex rather than absl::Mutex: Debian's Abseil is not built for ThreadSanitizer, which
  // then cannot see absl::Mutex ordering and reports every guarded access as a race.
  std::mutex mu;
  std::condition_variable work_cv;      // the queue has records, or stopping
  std::condition_variable finished_cv;  // `finished` grew
  // Guarded by mu. Swapped whole with the writer's batch: the two vectors keep their capacity,
  // so a Submit in steady state allocates nothing.
  std::vector<DecisionRecord> queue;
  uint64_t accepted = 0;     // guarded by mu; records ever queued
  uint64_t finished = 0;     // guarded by mu; of those, written or dropped by the writer
  bool stopping = false;     // guarded by mu
  bool writer_idle = false;  // guarded by mu; the writer waits on work_cv

  std::atomic<uint64_t> dropped{0};  // queue full, or lost to a failed write
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> write_errors{0};
  RateLimitedLog error_log;
  // Writer thread only.
  bool torn_line = false;
  TimeFormatter time_formatter;

  mutable std::mutex error_mu;
  std::string last_error;  // guarded by error_mu

  std::thread writer;  // started last, joined first
};

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Create(const DecisionLogOptions& options,
                                                                 Metrics* metrics) {
  if (!(options.allow_sample_rate >= 0.0 && options.allow_sample_rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("allow_sample_rate: ", options.allow_sample_rate, " is outside [0, 1]"));
  }
  if (options.queue_capacity == 0) {
    return absl::InvalidArgumentError("queue_capacity: must be at least 1");
  }
  absl::StatusOr<MaskSet> masks = ParseMasks(options.masked_fields);
  if (!masks.ok()) return masks.status();
  if (!options.mask_salt.empty()) {
    if (options.mask_salt.size() < kMinMaskSaltBytes) {
      return absl::InvalidArgumentError(absl::StrCat("mask_salt: ", options.mask_salt.size(),
                                                     " bytes; at least ", kMinMaskSaltBytes,
                                                     " are needed"));
    }
    absl::StatusOr<std::shared_ptr<const KeyedTagger>> tagger =
        KeyedTagger::Create(options.mask_salt);
    if (!tagger.ok()) return tagger.status();
    masks->tagger = *std::move(tagger);
  }

  int fd = -1;
  if (options.path == "-") {
    fd = STDOUT_FILENO;
  } else if (!options.path.empty()) {
    fd = open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("opening decision log \"", options.path, "\": ", std::strerror(errno)));
    }
  }
  auto impl = std::make_unique<Impl>(options, *std::move(masks), fd, metrics);
  if (fd >= 0) impl->writer = std::thread([raw = impl.get()] { raw->WriterLoop(); });
  return std::unique_ptr<DecisionLog>(new DecisionLog(std::move(impl)));
}

DecisionLog::DecisionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecisionLog::~DecisionLog() = default;

bool DecisionLog::Submit(DecisionRecord record) { return impl_->Submit(std::move(record)); }
void DecisionLog::Flush() { impl_->Flush(); }
uint64_t DecisionLog::dropped() const { return impl_->dropped.load(std::memory_order_relaxed); }
uint64_t DecisionLog::written() const { return impl_->written.load(std::memory_order_relaxed); }

uint64_t DecisionLog::write_errors() const {
  return impl_->write_errors.load(std::memory_order_relaxed);
}

std::string DecisionLog::last_error() const {
  std::lock_guard lock(impl_->error_mu);
  return impl_->last_error;
}

absl::StatusOr<std::string> ReadMaskSalt(const std::string& path) {
  absl::StatusOr<std::string> salt = bundles::ReadFileBytes(path);
  if (!salt.ok()) {
    return absl::Status(salt.status().code(),
                        absl::StrCat("decision log mask salt file: ", salt.status().message()));
  }
  if (salt->ends_with('\n')) salt->pop_back();
  if (salt->ends_with('\r')) salt->pop_back();
  if (salt->size() < kMinMaskSaltBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "decision log mask salt file \"", path, "\": ", salt->size(), " bytes; at least ",
        kMinMaskSaltBytes, " are needed (e.g. openssl rand -hex 32 > FILE)"));
  }
  return salt;
}

void SetDecisionId(std::string& out) {
  // "<16 hex digits>-": formatted once per process.
  static const std::string prefix = [] {
    std::random_device rd;
    const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return absl::StrCat(absl::Hex(r, absl::kZeroPad16), "-");
  }();
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  char digits[16];
  const std::to_chars_result end = std::to_chars(digits, digits + sizeof digits, n, 16);
  out.assign(prefix);
  out.append(digits, end.ptr);
}

std::string NextDecisionId() {
  std::string id;
  SetDecisionId(id);
  return id;
}

}  // namespace fleetpdp::server
