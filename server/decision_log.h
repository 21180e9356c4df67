// The decision log: one JSON line per decision, written by a background thread.
//
//   absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Create(options, metrics);
//   (*log)->Submit(std::move(record));   // never blocks; false (and counted) when the queue is
//   full
//
// Line format (docs/operations.md): {"time","decision_id","method","principal":{id,type,groups,
// attributes},"action","resource","context","decision","reason","statements","bundle_revision",
// "bundle_digest","latency_us"}. Masked fields ("principal.attributes.serial", "context.source_ip")
// are written as "***", or, with a salt, as "hmac:" and the first 16 hex digits of
// HMAC-SHA256(salt, value): equal values give equal tags, so operators can correlate records
// without seeing the value (a list attribute becomes a list of tags). The salt is a secret: it is
// never written anywhere, and a new salt breaks correlation with older logs. Sampling keeps a
// fraction of ALLOW decisions and every DENY.
//
// Write errors (a full disk: ENOSPC) cost the records of that write, never a decision: each
// failed write(2) is counted (fleetpdp_decision_log_write_errors_total, the lost records in
// fleetpdp_decision_log_dropped_total) and reported through `on_error` at most 5 times per 10 s.
//
// Thread safety: Submit may be called from any thread; the destructor drains the queue.
#ifndef FLEETPDP_SERVER_DECISION_LOG_H_
#define FLEETPDP_SERVER_DECISION_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/request.h"

namespace fleetpdp::server {

class Metrics;

struct DecisionLogOptions {
  std::string path;                // a file (appended), "-" for stdout; empty: no log
  size_t queue_capacity = 65536;   // records waiting to be written; beyond: dropped and counted
  double allow_sample_rate = 1.0;  // fraction of ALLOW decisions logged; DENY always logged
  // e.g. "principal.attributes.serial", "context.source_ip"; an entry may be a comma-separated
  // list ("resource,context.source_ip").
  std::vector<std::string> masked_fields;
  // Non-empty: masked values become keyed tags (see above) instead of "***". ReadMaskSalt reads
  // one from a file. A secret: no message ever contains it.
  std::string mask_salt;
  // Write errors, rate-limited (5 lines per 10 s); may be empty.
  std::function<void(std::string_view)> on_error;
};

// The smallest salt accepted, in bytes.
inline constexpr size_t kMinMaskSaltBytes = 16;

// Reads a salt file: its bytes without a final line break. Errors name the file, never its
// content: InvalidArgument when shorter than kMinMaskSaltBytes, the read error otherwise.
absl::StatusOr<std::string> ReadMaskSalt(const std::string& path);

struct DecisionRecord {
  absl::Time time;
  std::string decision_id;
  std::string method;  // "Check", "BatchCheck", "CheckStream"
  engine::Request request;
  bool allowed = false;
  engine::Reason reason = engine::Reason::kDefaultDeny;
  std::vector<std::string> statements;
  uint64_t bundle_revision = 0;
  std::string bundle_digest;
  absl::Duration latency;
};

// A decision id unique across replicas and restarts: a random per-process prefix and a counter,
// e.g. "a443eb8cdd7d8da0-1f". Returned to callers and written to the log. Thread-safe.
std::string NextDecisionId();
// The same, written over `out` (no allocation when `out` has room for 33 characters).
void SetDecisionId(std::string& out);

class DecisionLog {
 public:
  // Errors: InvalidArgument for a bad option (sample rate outside [0, 1], an unknown masked
  // field root, a salt under kMinMaskSaltBytes), Unavailable when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Create(const DecisionLogOptions& options,
                                                             Metrics* metrics);
  ~DecisionLog();  // writes what is queued, then stops

  // Queues a record. Never blocks the caller; returns false when the record was dropped (queue
  // full) — counted in fleetpdp_decision_log_dropped_total — or sampled out.
  bool Submit(DecisionRecord record);
  // Blocks until every record queued so far is written (for tests and shutdown).
  void Flush();
  uint64_t dropped() const;
  uint64_t written() const;
  // Failed write(2) calls.
  uint64_t write_errors() const;
  // Write errors (e.g. disk full) are counted and the last one kept; the log keeps trying.
  std::string last_error() const;

 private:
  struct Impl;
  explicit DecisionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_DECISION_LOG_H_
