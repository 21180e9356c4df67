// Status helpers shared by every FleetPDP module.
//
// Debian's Abseil (20220623) ships neither RETURN_IF_ERROR nor ASSIGN_OR_RETURN; these are the
// project's only definitions. Thread safety: macros only.
//
//   FLEETPDP_RETURN_IF_ERROR(WriteFile(path));
//   FLEETPDP_ASSIGN_OR_RETURN(auto index, Compile(set, limits));
#ifndef FLEETPDP_ENGINE_STATUS_MACROS_H_
#define FLEETPDP_ENGINE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FLEETPDP_STATUS_CONCAT_INNER_(a, b) a##b
#define FLEETPDP_STATUS_CONCAT_(a, b) FLEETPDP_STATUS_CONCAT_INNER_(a, b)

#define FLEETPDP_RETURN_IF_ERROR(expr)                                    \
  do {                                                                    \
    if (absl::Status _fleetpdp_status = (expr); !_fleetpdp_status.ok()) { \
      return _fleetpdp_status;                                            \
    }                                                                     \
  } while (false)

#define FLEETPDP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(*tmp)

#define FLEETPDP_ASSIGN_OR_RETURN(lhs, expr) \
  FLEETPDP_ASSIGN_OR_RETURN_IMPL_(FLEETPDP_STATUS_CONCAT_(_fleetpdp_or_, __LINE__), lhs, expr)

#endif  // FLEETPDP_ENGINE_STATUS_MACROS_H_
