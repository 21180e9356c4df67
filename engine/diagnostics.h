// Problems found in policy text, each with the place it was found.
//
// Parsing and validation report every problem they find rather than stopping at the first, so an
// author fixes a bundle in one round:
//   policies/cams.yaml:12:7: unknown operator "StringEqual" (did you mean "StringEquals"?)
//
// Thread safety: plain value; not synchronized.
#ifndef FLEETPDP_ENGINE_DIAGNOSTICS_H_
#define FLEETPDP_ENGINE_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/policy.h"

namespace fleetpdp::engine {

struct Diagnostic {
  SourceLocation location;
  std::string message;           // lowercase, no final period, user input quoted
  std::string ToString() const;  // "file:line:column: message"
};

class ValidationReport {
 public:
  void AddError(SourceLocation location, std::string message);
  bool ok() const { return errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  // One line per error, in the order found.
  std::string ToString() const;
  // OK, or InvalidArgument with "N problem(s):\n" followed by ToString().
  absl::Status ToStatus() const;

 private:
  std::vector<Diagnostic> errors_;
};

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_DIAGNOSTICS_H_
