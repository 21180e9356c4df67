// Request files for the load generator: which checks to send, in what proportions, and
// (optionally) what each should be answered.
//
//   absl::StatusOr<std::vector<WeightedRequest>> r =
//   ReadRequestFile("benchmarks/requests/example-fleet.jsonl"); std::vector<uint32_t> order =
//   MixOrder(*r, 1000, /*seed=*/1);  // indices into *r
//
// Two formats with the same fields, chosen by the file name: JSON lines (*.jsonl, *.ndjson,
// *.json: one object per line; blank lines and lines starting with '#' are skipped) or YAML
// (*.yaml, *.yml: a list, or a mapping whose `requests` key holds the list). Fields:
//   principal  required: an id, or {id, type, groups, attributes}
//   action     required
//   resource   required
//   context    optional: name → string or list of strings
//   weight     optional: a positive integer, how often this request is sent relative to the
//              others (default 1)
//   expect     optional: "allow" or "deny"; the load generator counts answers that differ
//   name       optional: free text
// Errors: InvalidArgument with "file:line: message" (the line of the object for JSON lines, of
// the list element for YAML); NotFound when the file cannot be read.
//
// Thread safety: pure functions.
#ifndef FLEETPDP_BENCHMARKS_LOAD_REQUEST_FILE_H_
#define FLEETPDP_BENCHMARKS_LOAD_REQUEST_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fleetpdp/v1/decision.pb.h"

namespace fleetpdp::load {

struct WeightedRequest {
  fleetpdp::v1::CheckRequest request;
  uint32_t weight = 1;
  std::optional<fleetpdp::v1::Decision> expect;
  std::string name;
};

absl::StatusOr<std::vector<WeightedRequest>> ReadRequestFile(const std::string& path);

// Parses `text` in the format `path`'s name says (the path is used for that and for messages).
absl::StatusOr<std::vector<WeightedRequest>> ParseRequests(const std::string& path,
                                                           const std::string& text);

// A sequence of `length` indices into `requests` in which each request appears in proportion to
// its weight (exactly, when `length` is a multiple of the total weight), shuffled with `seed` so
// that kinds interleave. REQUIRES: `requests` is not empty.
std::vector<uint32_t> MixOrder(const std::vector<WeightedRequest>& requests, size_t length,
                               uint64_t seed);

}  // namespace fleetpdp::load

#endif  // FLEETPDP_BENCHMARKS_LOAD_REQUEST_FILE_H_
