// Flags shared by the client subcommands (`check`, `drift`): how to reach a server over TLS.
//
//   client::ClientOptions options;
//   options.tls = TakeClientTlsFlags(args);      // nullopt: plaintext
//   absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Create(options);
//
// Thread safety: not synchronized (as Args).
#ifndef FLEETPDP_CLI_CLIENT_FLAGS_H_
#define FLEETPDP_CLI_CLIENT_FLAGS_H_

#include <optional>

#include "cli/args.h"
#include "integrations/client/client.h"

namespace fleetpdp::cli {

// For a subcommand's usage text.
inline constexpr char kClientTlsUsage[] =
    R"(  --tls                 connect with TLS, trusting the system's CA store (implied by the
                        flags below)
  --tls-ca FILE         trust these PEM CA certificates for the server's certificate
  --tls-cert FILE       present this PEM client certificate (mutual TLS; with --tls-key)
  --tls-key FILE        the client certificate's PEM private key
  --tls-server-name N   verify the server's certificate for name N instead of ADDR's host
)";

// Takes --tls, --tls-ca, --tls-cert, --tls-key and --tls-server-name. Any of them enables TLS;
// none: nullopt (plaintext).
std::optional<client::TlsOptions> TakeClientTlsFlags(Args& args);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_CLIENT_FLAGS_H_
