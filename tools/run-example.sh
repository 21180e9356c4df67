#!/usr/bin/env bash
# Builds the CLI and decides the example fleet's requests (examples/fleet/tests) against its
# policies, printing each decision. The server issue turns this into a running server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh release fleetpdp
build/release/cli/fleetpdp test examples/fleet --verbose
