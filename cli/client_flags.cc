#include "cli/client_flags.h"

#include <optional>
#include <string>

namespace fleetpdp::cli {

server::ClientTlsOptions TakeClientTlsFlags(Args& args) {
  server::ClientTlsOptions tls;
  tls.enabled = args.TakeSwitch("--tls");
  for (auto [flag, field] :
       {std::pair{"--tls-ca", &tls.ca_file}, std::pair{"--tls-cert", &tls.cert_file},
        std::pair{"--tls-key", &tls.key_file}, std::pair{"--tls-server-name", &tls.server_name}}) {
    if (std::optional<std::string> value = args.Take(flag)) {
      *field = *std::move(value);
      tls.enabled = true;
    }
  }
  return tls;
}

}  // namespace fleetpdp::cli
