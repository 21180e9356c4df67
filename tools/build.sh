#!/usr/bin/env bash
# Configures and builds FleetPDP (Release by default) in build/<preset>.
#   tools/build.sh [PRESET] [TARGET…]      e.g. tools/build.sh release fleetpdp
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
cmake --preset "$preset" >/dev/null
if [ $# -eq 0 ]; then
  cmake --build --preset "$preset"
else
  cmake --build --preset "$preset" --target "$@"
fi
