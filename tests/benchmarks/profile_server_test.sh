#!/usr/bin/env bash
# benchmarks/profile_server.sh: bad flags are refused (exit 2, naming the flag); a real callgrind
# run of FleetPDP reports the whole process and its own functions per call, and one of the floor
# reports the whole process but no FleetPDP function (the floor evaluates nothing).
#
#   profile_server_test.sh SOURCE_DIR BUILD_DIR   (BUILD_DIR has fleetpdp and the load tools)
set -uo pipefail
src=$1 build=$2
# shellcheck source=tests/expect.sh
source "$src/tests/expect.sh"
profile=$src/benchmarks/profile_server.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expect "an unknown server is refused" 2 \
  '^profile_server.sh: --server is pdp or floor, got "opa"'$'\n''$' -- "$profile" --server opa
expect "an unknown mode is refused" 2 'got "batch:0"' -- "$profile" --mode batch:0
expect "zero calls are refused" 2 '--calls needs a positive whole number, got "0"' -- \
  "$profile" --calls 0
expect "an unknown argument is refused" 2 'unknown argument "--rounds"' -- "$profile" --rounds 3
expect "a missing bundle is refused" 2 '--bundle needs a bundle file, got "nope.tar.gz"' -- \
  "$profile" --bundle nope.tar.gz
expect "a bundle without keys is refused" 2 '--bundle and --keys go together' -- \
  "$profile" --bundle "$src/examples/fleet.bundle.tar.gz" --build-dir "$build"
expect "a bundle for the floor is refused" 2 '--bundle is for --server pdp' -- \
  "$profile" --server floor --bundle "$src/examples/fleet.bundle.tar.gz" \
  --keys "$src/examples/keys/trusted" --build-dir "$build"
expect "a missing request file is refused" 2 '--requests needs a request file, got ""' -- \
  "$profile" --requests
expect "a build without the binaries is refused" 2 'is missing; build the benchmarks target' -- \
  "$profile" --build-dir "$work/nothing"

# Numbers of six digits or fewer with thousands separators, at least 10,000 for a whole call.
whole='\| \*\*whole server process\*\* \| \*\*[1-9][0-9]?[0-9]?,[0-9]{3}\*\* \|'
expect "FleetPDP: the whole call and the decision, per call" 0 \
  "$whole"'.*\| … … engine::Evaluate \| [1-9][0-9,]* \|.*\| … FromProto [^|]*\| [1-9][0-9,]* \|' -- \
  "$profile" --server pdp --mode unary --calls 40 --build-dir "$build" --out "$work/pdp" \
  --bundle "$src/examples/fleet.bundle.tar.gz" --keys "$src/examples/keys/trusted" \
  --requests "$src/benchmarks/requests/example-fleet.jsonl"
expect "the floor: the whole call, and no decision" 0 \
  "$whole"'.*\| … … engine::Evaluate \| — \|.*\| … FromProto [^|]*\| — \|' -- \
  "$profile" --server floor --mode batch:2 --calls 20 --build-dir "$build" --out "$work/floor"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
