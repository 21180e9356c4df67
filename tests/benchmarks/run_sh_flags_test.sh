#!/usr/bin/env bash
# benchmarks/run.sh's own flags: bad values are refused before anything runs (exit 2, naming the
# flag), and --serve-arg really reaches every FleetPDP server (a value serve refuses stops the run
# at the first server's start, with serve's own message).
#
#   run_sh_flags_test.sh SOURCE_DIR BUILD_DIR   (BUILD_DIR has fleetpdp, the load tools and
#                                                engine_benchmarks built)
set -uo pipefail
src=$1 build=$2
# shellcheck source=tests/expect.sh
source "$src/tests/expect.sh"
run=$src/benchmarks/run.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expect "a rate that is not a number is refused" 2 \
  '^run.sh: --reload-rate needs a whole number of calls per second, got "abc"'$'\n''$' -- \
  "$run" --reload-rate abc --out "$work/r.md"
expect "a rate of zero is refused" 2 'got "0"' -- "$run" --reload-rate 0 --out "$work/r.md"
expect "a missing rate is refused" 2 'got ""' -- "$run" --reload-rate
expect "--serve-arg without a value is refused" 2 '^run.sh: --serve-arg needs a value'$'\n''$' -- \
  "$run" --serve-arg
expect "an unknown argument is refused" 2 'unknown argument "--serve"' -- "$run" --serve x
expect "--serve-arg reaches the servers: serve's refusal of the value stops the run" 1 \
  'pdp-example exited during start:.*--reload-cpu-share.*"7" is not a number greater than 0 and at most 1' -- \
  "$run" --quick --no-build --build-dir "$build" --out "$work/r.md" \
  --serve-arg --reload-cpu-share --serve-arg 7

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
