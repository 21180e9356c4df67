#include "cli/client_flags.h"

#include <optional>
#include <string>

namespace fleetpdp::cli {

std::optional<client::TlsOptions> TakeClientTlsFlags(Args& args) {
  client::TlsOptions tls;
  bool enabled = args.TakeSwitch("--tls");
  for (auto [flag, field] :
       {std::pair{"--tls-ca", &tls.ca_file}, std::pair{"--tls-cert", &tls.cert_file},
        std::pair{"--tls-key", &tls.key_file}, std::pair{"--tls-server-name", &tls.server_name}}) {
    if (std::optional<std::string> value = args.Take(flag)) {
      *field = *std::move(value);
      enabled = true;
    }
  }
  if (!enabled) return std::nullopt;
  return tls;
}

}  // namespace fleetpdp::cli
