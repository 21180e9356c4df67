#!/usr/bin/env bash
# Builds FleetPDP, then builds, tests, signs and verifies the example fleet bundle
# (examples/fleet, signed with the published development key), and decides every example request
# from the verified bundle, printing each decision. The server issue turns this into a server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh release fleetpdp
examples/build-example-bundle.sh build/release/cli/fleetpdp build/example-fleet.bundle.tar.gz
echo "== the example requests, decided from the verified bundle"
build/release/cli/fleetpdp test build/example-fleet.bundle.tar.gz \
  --keys examples/keys/trusted --verbose
