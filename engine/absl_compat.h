// Bridges std::string_view and absl::string_view.
//
// Debian's Abseil 20220623 is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW == 0): absl::StrCat, flat_hash_map's heterogeneous lookup and
// the absl string utilities take absl::string_view, which std::string_view does not convert to.
// The project's APIs use std::string_view; call sites wrap with Absl() where they meet Abseil.
//
//   absl::StrCat("topic ", Absl(topic));
//   map.find(Absl(key));
//
// Thread safety: pure functions.
#ifndef FLEETPDP_ENGINE_ABSL_COMPAT_H_
#define FLEETPDP_ENGINE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace fleetpdp {

inline absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace fleetpdp

#endif  // FLEETPDP_ENGINE_ABSL_COMPAT_H_
