#include "engine/request.h"

#include "absl/strings/str_cat.h"
#include "engine/topic.h"

namespace fleetpdp::engine {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kAllowed:
      return "ALLOWED";
    case Reason::kExplicitDeny:
      return "EXPLICIT_DENY";
    case Reason::kDefaultDeny:
      return "DEFAULT_DENY";
  }
  return "UNKNOWN";
}

absl::Status ValidateRequest(const Request& request) {
  if (request.principal.id.empty()) {
    return absl::InvalidArgumentError("principal.id: must not be empty");
  }
  if (request.action.empty()) return absl::InvalidArgumentError("action: must not be empty");
  absl::Status resource = request.action == kSubscribe ? ValidateTopicFilter(request.resource)
                                                       : ValidateTopicName(request.resource);
  if (!resource.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("resource: ", resource.message()));
  }
  for (const Attribute& a : request.principal.attributes) {
    if (a.key.empty()) {
      return absl::InvalidArgumentError("principal.attributes: a key must not be empty");
    }
  }
  for (const Attribute& a : request.context) {
    if (a.key.empty()) return absl::InvalidArgumentError("context: a key must not be empty");
  }
  return absl::OkStatus();
}

}  // namespace fleetpdp::engine
