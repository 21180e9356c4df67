// Checks that need the whole policy set: every problem, each with its location.
//
//   ValidationReport report;
//   Validate(set, report);
//
// - policy names unique; statement ids unique within a policy;
// - group ids and entity ids unique;
// - every group parent and entity group declared (policies may name groups that only requests
//   carry);
// - no cycle in the group hierarchy.
// Patterns and conditions are checked where they are read (parser.h) and again by Compile.
// Thread safety: pure function.
#ifndef FLEETPDP_ENGINE_VALIDATE_H_
#define FLEETPDP_ENGINE_VALIDATE_H_

#include "engine/diagnostics.h"
#include "engine/policy.h"

namespace fleetpdp::engine {

void Validate(const PolicySet& set, ValidationReport& report);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_VALIDATE_H_
