// Flags shared by the client subcommands (`check`, `drift`): how to reach a server over TLS.
//
//   server::ClientTlsOptions tls = TakeClientTlsFlags(args);
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = server::MakeClientChannel(addr, tls);
//
// Thread safety: not synchronized (as Args).
#ifndef FLEETPDP_CLI_CLIENT_FLAGS_H_
#define FLEETPDP_CLI_CLIENT_FLAGS_H_

#include "cli/args.h"
#include "server/tls.h"

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

// Takes --tls, --tls-ca, --tls-cert, --tls-key and --tls-server-name. Any of them enables TLS.
server::ClientTlsOptions TakeClientTlsFlags(Args& args);

}  // namespace fleetpdp::cli

#endif  // FLEETPDP_CLI_CLIENT_FLAGS_H_
