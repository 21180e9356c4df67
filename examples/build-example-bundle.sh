#!/usr/bin/env bash
# Builds, tests and signs the example fleet bundle with the DEVELOPMENT key (examples/keys/README.md),
# then verifies it as a server would.
#   examples/build-example-bundle.sh [FLEETPDP] [OUT]
#     FLEETPDP  the fleetpdp binary (default build/release/cli/fleetpdp)
#     OUT       the bundle to write (default build/example-fleet.bundle.tar.gz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fleetpdp=${1:-$root/build/release/cli/fleetpdp}
out=${2:-$root/build/example-fleet.bundle.tar.gz}
mkdir -p "$(dirname "$out")"

echo "== build (validate, compile, run the policy tests)"
"$fleetpdp" bundle build "$here/fleet" -o "$out"
echo "== sign with the development key (not for production)"
"$fleetpdp" bundle sign "$out" --key "$here/keys/private/dev-DO-NOT-USE.key.pem" --key-id dev-DO-NOT-USE
echo "== verify against the trusted keys"
"$fleetpdp" bundle verify "$out" --keys "$here/keys/trusted"
