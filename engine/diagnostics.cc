#include "engine/diagnostics.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fleetpdp::engine {

std::string Diagnostic::ToString() const {
  if (location.line <= 0) return absl::StrCat(location.file, ": ", message);
  return absl::StrCat(location.file, ":", location.line, ":", location.column, ": ", message);
}

void ValidationReport::AddError(SourceLocation location, std::string message) {
  errors_.push_back(Diagnostic{std::move(location), std::move(message)});
}

std::string ValidationReport::ToString() const {
  return absl::StrJoin(errors_, "\n", [](std::string* out, const Diagnostic& d) {
    absl::StrAppend(out, d.ToString());
  });
}

absl::Status ValidationReport::ToStatus() const {
  if (ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      errors_.size(), errors_.size() == 1 ? " problem:\n" : " problems:\n", ToString()));
}

}  // namespace fleetpdp::engine
