#!/usr/bin/env bash
# Instructions per call in a server, from callgrind (issue #5; used in docs/performance.md).
#
#   benchmarks/profile_server.sh [--server pdp|floor] [--mode unary|stream|batch:K]
#                                [--calls N] [--bundle FILE --keys DIR] [--requests FILE]
#                                [--build-dir DIR] [--out DIR]
#
# Starts the server under `valgrind --tool=callgrind` with instrumentation off, sends a warm-up
# of 200 calls of benchmarks/requests/example-fleet.jsonl, turns instrumentation on for exactly
# --calls calls (default 4000; 4 connections x 4 in flight), turns it off and stops the server.
# --bundle serves a signed bundle instead of the embedded example (with --keys, the trusted keys
# directory; the server is given up to 20 minutes to load it under callgrind) and --requests
# sends another request file (e.g. fleetpdp_make_fleet's); FleetPDP's answers must match it.
# Then prints, per call: the whole server process (gRPC's threads included) and the functions
# that show where FleetPDP's time goes beyond gRPC's (handler, conversion, evaluation, answer,
# allocation, locks). `pdp` is `fleetpdp serve` on the embedded example bundle, `floor` the gRPC
# server that does no work. Instruction counts are deterministic, so unlike timings they compare
# across runs on a noisy machine. Needs valgrind (tools/setup.sh installs it); a run takes a
# minute or two. The callgrind file is left in --out (default BUILD/perf/callgrind).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
server=pdp
mode=unary
calls=4000
build=""
out=""
bundle=""
keys=""
requests=""
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) [[ ${2:-} == pdp || ${2:-} == floor ]] ||
        { echo "profile_server.sh: --server is pdp or floor, got \"${2:-}\"" >&2; exit 2; }
      server=$2; shift ;;
    --mode) [[ ${2:-} =~ ^(unary|stream|batch:[1-9][0-9]*)$ ]] ||
        { echo "profile_server.sh: --mode is unary, stream or batch:K, got \"${2:-}\"" >&2; exit 2; }
      mode=$2; shift ;;
    --calls) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] ||
        { echo "profile_server.sh: --calls needs a positive whole number, got \"${2:-}\"" >&2; exit 2; }
      calls=$2; shift ;;
    --bundle) [[ -f ${2:-} ]] ||
        { echo "profile_server.sh: --bundle needs a bundle file, got \"${2:-}\"" >&2; exit 2; }
      bundle=$2; shift ;;
    --keys) [[ -d ${2:-} ]] ||
        { echo "profile_server.sh: --keys needs a directory of trusted keys, got \"${2:-}\"" >&2; exit 2; }
      keys=$2; shift ;;
    --requests) [[ -f ${2:-} ]] ||
        { echo "profile_server.sh: --requests needs a request file, got \"${2:-}\"" >&2; exit 2; }
      requests=$2; shift ;;
    --build-dir) build=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "profile_server.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null ||
      { echo "profile_server.sh: $tool not found (run tools/setup.sh)" >&2; exit 2; }
done
build=$(realpath -m "${build:-$root/build/release}")
out=$(realpath -m "${out:-$build/perf/callgrind}")
fleetpdp=$build/cli/fleetpdp
floor=$build/benchmarks/load/fleetpdp_floor
loadgen=$build/benchmarks/load/fleetpdp_loadgen
requests=$(realpath "${requests:-$root/benchmarks/requests/example-fleet.jsonl}")
if [[ -n $bundle && -z $keys ]] || [[ -z $bundle && -n $keys ]]; then
  echo "profile_server.sh: --bundle and --keys go together" >&2; exit 2
fi
if [[ -n $bundle && $server == floor ]]; then
  echo "profile_server.sh: --bundle is for --server pdp (the floor decides nothing)" >&2; exit 2
fi
for b in "$fleetpdp" "$floor" "$loadgen"; do
  [[ -x $b ]] || { echo "profile_server.sh: $b is missing; build the benchmarks target" >&2; exit 2; }
done
mkdir -p "$out"
name="$server-${mode/:/}"
cg=$out/$name.callgrind
log=$out/$name.log
rm -f "$cg"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cmd=("$floor")
[[ $server == pdp ]] && cmd=("$fleetpdp" serve --metrics-listen "127.0.0.1:0")
[[ $server == pdp && -n $bundle ]] &&
    cmd+=(--bundle "$(realpath "$bundle")" --keys "$(realpath "$keys")" --poll-interval 1h)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cg" \
    "${cmd[@]}" --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
echo "profile_server.sh: $server ($mode) under callgrind, pid $pid, log $log" >&2
tries=240  # two minutes for the example bundle
[[ -n $bundle ]] && tries=2400
for _ in $(seq 1 "$tries"); do
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info --timeout 2s >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "profile_server.sh: the server exited; see $log" >&2; exit 1; }
  sleep 0.5
done

# The floor answers ALLOW to everything: only FleetPDP's answers are checked against the file.
expect=()
[[ $server == pdp ]] && expect=(--fail-on-unexpected)
load() {
  "$loadgen" --target "127.0.0.1:$port" --requests "$requests" --mode "$mode" --connections 4 \
      --inflight 4 --warmup 0s --duration 600s --deadline 60s "${expect[@]}" "$@" \
      >/dev/null 2>>"$out/$name.loadgen.log" ||
      { echo "profile_server.sh: the load generator failed; see $out/$name.loadgen.log" >&2; exit 1; }
}
echo "profile_server.sh: warm-up (200 calls)" >&2
load --count 200
callgrind_control -i on "$pid" >/dev/null 2>&1
echo "profile_server.sh: measuring $calls calls" >&2
load --count "$calls"
callgrind_control -i off "$pid" >/dev/null 2>&1
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT

callgrind_annotate --inclusive=yes --threshold=100 "$cg" 2>/dev/null | python3 -c '
import re, sys
calls = int(sys.argv[1])
rows, total = [], None
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:[^:\s]*:(?!:))?(.*?)(?: \[.*\])?\s*$", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in line:
        total = n
        continue
    rows.append((n, m.group(2)))
# Functions by a part of their demangled name ("=name": exactly that function), in the order of
# docs/performance.md. Inclusive counts: the largest match is the outermost frame.
wanted = [
    ("the method handler", ("DecisionServiceImpl::Check(", "DecisionServiceImpl::BatchCheck(", "FloorService::Check(", "FloorService::BatchCheck(")),
    ("stream message handler (OnReadDone)", ("::OnReadDone(",)),
    ("… Decide (evaluate and fill the answer)", ("::Decide(",)),
    ("… … engine::Evaluate", ("engine::Evaluate(",)),
    ("… … decision id", ("NextDecisionId", "SetDecisionId")),
    ("… … RuleIndex::StatementNames", ("::StatementNames",)),
    ("… … Metrics::ObserveCheck", ("Metrics::ObserveCheck(",)),
    ("… FromProto (proto to engine::Request, validation)", ("server::FromProto(",)),
    ("… … ConvertAttributes", ("ConvertAttributes(",)),
    ("… … engine::ValidateRequest", ("engine::ValidateRequest(",)),
    ("… … FieldPath", ("FieldPath(",)),
    ("… engine::Request::~Request", ("Request::~Request(",)),
    ("request parsing (CheckRequest::_InternalParse)", ("CheckRequest::_InternalParse(",)),
    ("answer serialization (*Response::_InternalSerialize)", ("Response::_InternalSerialize(",)),
    ("absl::Mutex::Lock", ("Mutex::Lock(",)),
    ("malloc", ("=malloc",)),
    ("free", ("=free", "=cfree")),
]
def matches(fn, key):
    if key.startswith("="):
        return fn.split("(")[0].split("@")[0] == key[1:]
    return key in fn
if not total:
    sys.exit("profile_server.sh: callgrind counted no instructions (see the server log in the --out directory)")
print("| instructions per call (inclusive) | %s |" % sys.argv[2])
print("| --- | ---: |")
print("| **whole server process** | **%s** |" % format(round(total / calls), ","))
for label, keys in wanted:
    n = max((count for count, fn in rows if any(matches(fn, k) for k in keys)), default=0)
    print("| %s | %s |" % (label, format(round(n / calls), ",") if n else "—"))
' "$calls" "$server, $mode"
echo "profile_server.sh: callgrind file $cg (callgrind_annotate --inclusive=yes $cg)" >&2
