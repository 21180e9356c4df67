#include "integrations/mosquitto/options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fleetpdp::mosquitto {
namespace {

absl::Status Bad(const std::string& key, const std::string& value, const char* want) {
  return absl::InvalidArgumentError(
      absl::StrCat("plugin_opt_", key, ": \"", value, "\" is not ", want));
}

absl::Status Bool(const std::string& key, const std::string& value, bool& out) {
  if (value == "true") {
    out = true;
  } else if (value == "false") {
    out = false;
  } else {
    return Bad(key, value, "true or false");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PluginOptions> ParsePluginOptions(
    const std::vector<std::pair<std::string, std::string>>& options) {
  PluginOptions o;
  for (const auto& [key, value] : options) {
    absl::Status st;
    if (key == "mode") {
      if (value == "local") {
        o.mode = Mode::kLocal;
      } else if (value == "remote") {
        o.mode = Mode::kRemote;
      } else {
        st = Bad(key, value, "local or remote");
      }
    } else if (key == "server") {
      o.server = value;
    } else if (key == "deadline" || key == "cache_ttl") {
      absl::Duration& d = key == "deadline" ? o.deadline : o.cache_ttl;
      if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
          (key == "deadline" && d == absl::ZeroDuration())) {
        st = Bad(key, value, key == "deadline" ? "a duration like 100ms" : "a duration like 10s");
      }
    } else if (key == "cache_size") {
      if (!absl::SimpleAtoi(value, &o.cache_size)) st = Bad(key, value, "a number of decisions");
    } else if (key == "fail_mode") {
      if (value == "closed") {
        o.fail_open = false;
      } else if (value == "open") {
        o.fail_open = true;
      } else {
        st = Bad(key, value, "closed or open");
      }
    } else if (key == "tls_ca_file") {
      o.tls_ca_file = value;
    } else if (key == "tls_cert_file") {
      o.tls_cert_file = value;
    } else if (key == "tls_key_file") {
      o.tls_key_file = value;
    } else if (key == "tls_server_name") {
      o.tls_server_name = value;
    } else if (key == "bundle") {
      o.bundle = value;
    } else if (key == "keys") {
      o.keys = value;
    } else if (key == "allow_unsigned") {
      st = Bool(key, value, o.allow_unsigned);
    } else if (key == "poll_interval") {
      if (!absl::ParseDuration(value, &o.poll_interval) ||
          o.poll_interval <= absl::ZeroDuration()) {
        st = Bad(key, value, "a duration like 5s");
      }
    } else if (key == "persist") {
      o.persist = value;
    } else if (key == "http_ca_file") {
      o.http_ca_file = value;
    } else if (key == "principal") {
      if (value == "client_id") {
        o.principal = PrincipalSource::kClientId;
      } else if (value == "username") {
        o.principal = PrincipalSource::kUsername;
      } else if (value == "cert_cn") {
        o.principal = PrincipalSource::kCertificateCn;
      } else {
        st = Bad(key, value, "client_id, username or cert_cn");
      }
    } else if (key == "check_receive") {
      st = Bool(key, value, o.check_receive);
    } else if (key == "check_retain") {
      st = Bool(key, value, o.check_retain);
    } else if (key == "status_topic") {
      o.status_topic = value;
    } else {
      st = absl::InvalidArgumentError(absl::StrCat("unknown option plugin_opt_", key));
    }
    if (!st.ok()) return st;
  }
  if (o.mode == Mode::kRemote) {
    if (o.server.empty()) {
      return absl::InvalidArgumentError(
          "plugin_opt_server is required in remote mode (the FleetPDP address, e.g. pdp:50051)");
    }
    if (!o.bundle.empty()) {
      return absl::InvalidArgumentError(
          "plugin_opt_bundle is for local mode; remote mode asks plugin_opt_server");
    }
    return o;
  }
  if (o.bundle.empty()) {
    return absl::InvalidArgumentError(
        "plugin_opt_bundle is required (a signed bundle path or URL)");
  }
  if (o.keys.empty() && !o.allow_unsigned) {
    return absl::InvalidArgumentError(
        "plugin_opt_keys is required to verify the bundle (or plugin_opt_allow_unsigned true for "
        "development)");
  }
  return o;
}

}  // namespace fleetpdp::mosquitto
