// The decision log: one JSON line per decision, written by a background thread.
//
//   absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Create(options, metrics);
//   (*log)->Submit(std::move(record));   // never blocks; false (and counted) when the queue is
//   full
//
// Line format (docs/operations.md): {"time","decision_id","method","principal":{id,type,groups,
// attributes},"action","resource","context","decision","reason","statements","bundle_revision",
// "bundle_digest","latency_us"}. Masked fields ("principal.attributes.serial", "context.source_ip")
// are written as "***". Sampling keeps a fraction of ALLOW decisions and every DENY.
//
// Thread safety: Submit may be called from any thread; the destructor drains the queue.
#ifndef FLEETPDP_SERVER_DECISION_LOG_H_
#define FLEETPDP_SERVER_DECISION_LOG_H_

#include <cstdint>
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
  std::vector<std::string>
      masked_fields;  // e.g. "principal.attributes.serial", "context.source_ip"
};

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

class DecisionLog {
 public:
  // Errors: InvalidArgument for a bad option (sample rate outside [0, 1], an unknown masked
  // field root), Unavailable when the file cannot be opened.
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
  // Write errors (e.g. disk full) are counted and the last one kept; the log keeps trying.
  std::string last_error() const;

 private:
  struct Impl;
  explicit DecisionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_DECISION_LOG_H_
