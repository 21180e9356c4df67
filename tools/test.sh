#!/usr/bin/env bash
# Builds the test binaries and runs every test with ctest. Exit status is ctest's.
#   tools/test.sh [PRESET]       (release by default; asan-ubsan runs under sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
tools/build.sh "$preset" fleetpdp fleetpdp_tests
ctest --preset "$preset" -j2
