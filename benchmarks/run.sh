#!/usr/bin/env bash
# FleetPDP against the gRPC floor, side by side (issue #5; results in docs/performance.md).
#
#   benchmarks/run.sh [--quick] [--rounds N] [--build-dir DIR] [--no-build] [--out FILE]
#                     [--serve-arg ARG]... [--reload-rate N]
#
# Builds Release (default build dir build/release), then, with every server pinned to CPU 0 and
# the load generator to CPU 1 (taskset):
#   1. floor vs FleetPDP (example bundle) vs FleetPDP (large synthetic bundle) vs FleetPDP (a
#      small fleet of the large one's shape: a hundredth of its statements, groups and devices,
#      so each device is selected by as many statements and its answers name as many), interleaved,
#      for unary 16 connections x 16 in flight, batch:10 and stream, --rounds rounds (default 3);
#   2. the large bundle's memory (VmRSS/VmHWM of the server) and load time (bundle build,
#      bundle verify, server start until SERVING);
#   3. reload under load: open-loop unary at a fixed rate against the large bundle, first steady,
#      then with a new revision swapped in and SIGHUP every 5 s; failed calls, p99 while a reload
#      runs vs the steady run's;
#   4. an engine micro-benchmark summary (engine_benchmarks, BM_Check).
# Servers and benchmarks run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as the container image
# sets it (heap on transparent huge pages); set GLIBC_TUNABLES yourself to measure otherwise.
# Writes a markdown report (medians with min–max over the rounds) to --out (default
# BUILD/perf/results.md) and stdout. Exits 1 if any run had a failed call or an unexpected
# decision (the report is written first), 2 for bad usage.
#
# --report-only writes the report again from the last run's results in BUILD/perf.
# --serve-arg ARG adds ARG to the command line of every FleetPDP server started (repeat it for
# each word), e.g. `--serve-arg --reload-cpu-share --serve-arg 1` for unpaced reloads; the report
# names them. Two runs that differ only there are a reload A/B.
# --reload-rate N runs the reload-under-load step (and its steady run) open loop at N calls/s
# instead of a quarter of what the large-bundle server did closed loop, so that runs compare at
# one rate.
# --quick: a small synthetic fleet and runs of about two seconds: the CI smoke test (figures are
# not asserted, but every run must succeed). Full run: about 40 minutes on a busy 2-core VM, most of
# it generating, building and loading the large bundle (three times: build, verify, serve).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
quick=0
rounds=3
build=""
do_build=1
report_only=0
out=""
serve_extra=()
reload_rate=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --report-only) report_only=1 ;;
    --out) out=$2; shift ;;
    --serve-arg) [[ $# -ge 2 ]] || { echo "run.sh: --serve-arg needs a value" >&2; exit 2; }
      serve_extra+=("$2"); shift ;;
    --reload-rate) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] ||
        { echo "run.sh: --reload-rate needs a whole number of calls per second, got \"${2:-}\"" >&2; exit 2; }
      reload_rate=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
  shift
done
build=$(realpath -m "${build:-$root/build/release}")
work=$build/perf
out=${out:-$work/results.md}
mkdir -p "$work"
python=/usr/bin/python3  # Debian's: the first python3 on PATH may be another one

if [[ $quick == 1 ]]; then
  duration=2s; warmup=0.5s; fleet_args=(--statements 1000 --devices 10000 --groups 1000)
  small_args=(--statements 10 --devices 100 --groups 10)
  reload_duration=8s; reload_every=2; engine_filter='BM_Check/statements:10/entities:10000$'
  engine_args=(--benchmark_min_time=0.05)
  fleets=quick  # its own fleet files: a quick run does not replace the full run's 100k bundle
else
  duration=10s; warmup=2s; fleet_args=(--statements 100000 --devices 1000000 --groups 10000)
  small_args=(--statements 1000 --devices 10000 --groups 100)
  reload_duration=120s; reload_every=5; engine_filter='BM_Check/'
  engine_args=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  fleets=full
fi

log() { echo "run.sh: $*" >&2; }
# Figures the report needs besides the runs' JSON, kept in $work/facts.env for --report-only.
fact() { printf '%s=%q\n' "$1" "$2" >>"$work/facts.env"; printf -v "$1" '%s' "$2"; }

# --- report ------------------------------------------------------------------------------------
report() {
"$python" - "$work" "$out" "$quick" "$rounds" <<EOF
import glob, json, os, statistics, sys
work, out, quick, rounds = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
def load(pattern):
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(work, "runs", pattern)))]
def med(rs, f):
    v = [f(r) for r in rs if r]
    return (statistics.median(v), min(v), max(v)) if v else (float("nan"),) * 3
def fmt(t, digits=0):
    m, lo, hi = t
    f = "{:,.%df}" % digits
    return (f.format(m) + " (" + f.format(lo) + "–" + f.format(hi) + ")").replace(",", "\u2009")
lines = []
p = lines.append
p("| server | mode | calls/s | checks/s | p50 µs | p99 µs | p99.9 µs | server CPU % | errors |")
p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
summary = {}
for server, label in (("floor", "floor"), ("example", "FleetPDP, example bundle"), ("large", "FleetPDP, large bundle"), ("small", "FleetPDP, small fleet of the large one's shape")):
    for mode in ("unary", "batch10", "stream"):
        rs = load("%s-%s-r*.json" % (server, mode))
        if not rs: continue
        row = {k: med(rs, f) for k, f in {
            "calls": lambda r: r["calls_per_s"], "checks": lambda r: r["checks_per_s"],
            "p50": lambda r: r["latency_us"]["p50"], "p99": lambda r: r["latency_us"]["p99"],
            "p999": lambda r: r["latency_us"]["p999"], "cpu": lambda r: r["server_cpu_percent"]}.items()}
        errors = sum(r.get("errors_total", 0) for r in rs) + sum(r.get("unexpected", 0) for r in rs if server != "floor")
        summary[(server, mode)] = row
        p("| %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (label, mode.replace("batch10", "batch:10"),
          fmt(row["calls"]), fmt(row["checks"]), fmt(row["p50"], 0), fmt(row["p99"], 0), fmt(row["p999"], 0), fmt(row["cpu"]), errors))
p("")
p("Medians of %d rounds (min–max in parentheses); 16 connections × 16 in flight, closed loop. Errors: failed calls plus (FleetPDP) answers that differ from the request file's expected decision." % rounds)
p("")
def ratio(a, b):
    return a / b if b else float("nan")
def get(s, m, k):
    return summary.get((s, m), {}).get(k, (float("nan"),))[0]
t = []
u_ratio = ratio(get("example", "unary", "calls"), get("floor", "unary", "calls"))
p99_ratio = ratio(get("example", "unary", "p99"), get("floor", "unary", "p99"))
t.append(("unary req/s ≥ 80% of floor", "%.0f%%" % (100 * u_ratio), u_ratio >= 0.8))
t.append(("unary p99 ≤ 1.25× floor", "%.2f×" % p99_ratio, p99_ratio <= 1.25))
for m in ("batch10", "stream"):
    r = ratio(get("example", m, "checks"), get("example", "unary", "checks"))
    t.append(("%s checks/s ≥ 5× unary" % m.replace("batch10", "batch:10"), "%.1f×" % r, r >= 5))
for m in ("unary", "batch10", "stream"):
    r = ratio(get("large", m, "checks"), get("example", m, "checks"))
    t.append(("large bundle within 10%% of example (%s checks/s)" % m.replace("batch10", "batch:10"), "%.0f%%" % (100 * r), r >= 0.9))
# The same comparison with the workload held constant: the example's requests ask less of a
# decision (about one deciding statement each) than the synthetic fleet's (several), so the row
# above mixes fleet size with request mix; this one measures fleet size alone.
for m in ("unary", "batch10", "stream"):
    r = ratio(get("large", m, "checks"), get("small", m, "checks"))
    t.append(("large bundle within 10%% of the small fleet of its shape (%s checks/s)" % m.replace("batch10", "batch:10"), "%.0f%%" % (100 * r), r >= 0.9))
steady = (load("reload-steady.json") or [{}])[0]
under = (load("reload-under-load.json") or [{}])[0]
reload_errors = under.get("errors_total", -1)
marked = under.get("marked_latency_us", {})
unmarked = under.get("unmarked_latency_us", {})
t.append(("reloads under load: zero failed calls", str(reload_errors), reload_errors == 0))
# Steady state: the run without reloads at the same rate. (The calls of the reload run that ended
# between reloads are no baseline: reloads run back to back when one takes longer than the
# interval, and the replaced index is freed after the new one serves.)
base = steady.get("latency_us", {})
rr = ratio(marked.get("p99", float("nan")), base.get("p99", float("nan")))
t.append(("p99 during reloads ≤ 2× steady", "%.2f× (%s vs %s µs, the run without reloads)" % (rr, marked.get("p99"), base.get("p99")), rr <= 2))
p("| target (issue #5) | measured | met |")
p("| --- | ---: | :---: |")
for name, value, ok in t:
    p("| %s | %s | %s |" % (name, value, "yes" if ok else "**no**"))
p("")
times = []
if os.path.exists(os.path.join(work, "reload_times")):
    for line in open(os.path.join(work, "reload_times")):
        r, s, e = line.split()
        times.append(float(e) - float(s))
p("**Reload under load** (large bundle, unary open loop at %s calls/s; server CPU %.0f %% without reloads, %.0f %% with them): %d reloads, each %s s from SIGHUP to serving the new revision (median; min %s, max %s); %s calls, %s failed; p99 %s µs while a reload ran (%d calls) vs %s µs otherwise; steady run without reloads: p99 %s µs, p99.9 %s µs, %s failed calls. Rejected loads in the server log: $reload_rejected." % (
    under.get("rate"), steady.get("server_cpu_percent", float("nan")), under.get("server_cpu_percent", float("nan")),
    len(times), "%.1f" % statistics.median(times) if times else "-",
    "%.1f" % min(times) if times else "-", "%.1f" % max(times) if times else "-",
    under.get("calls"), reload_errors, marked.get("p99"), marked.get("count", 0), unmarked.get("p99"),
    steady.get("latency_us", {}).get("p99"), steady.get("latency_us", {}).get("p999"), steady.get("errors_total")))
p("")
p("FleetPDP servers' extra arguments (\`--serve-arg\`): ${serve_extra_args:-not recorded}. Environment of every server and benchmark: \`GLIBC_TUNABLES=${glibc_tunables:-not recorded}\`.")
p("")
p("**Large bundle** ($(echo "${fleet_args[*]}")): \`bundle build\` $build_seconds s, \`bundle verify\` (what a server does to load it) $verify_seconds s, server start to SERVING $large_start_seconds s; server RSS $((large_rss / 1024)) MiB after loading (peak $((large_hwm / 1024)) MiB), $((large_rss_after / 1024)) MiB after the runs; example-bundle server RSS $((example_rss / 1024)) MiB.")
p("")
try:
    e = json.load(open(os.path.join(work, "engine.json")))
    p("**Engine micro-benchmarks** (\`engine_benchmarks --benchmark_filter='$engine_filter'\`, CPU 1):")
    p("")
    p("| benchmark | ns per check |")
    p("| --- | ---: |")
    for b in e["benchmarks"]:
        if b.get("aggregate_name", "median") != "median" and b.get("run_type") == "aggregate": continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median": continue
        p("| %s | %.0f |" % (b["run_name"] if "run_name" in b else b["name"], b["cpu_time"]))
except Exception as ex:
    p("engine micro-benchmarks: no results (%s)" % ex)
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
}
if [[ $report_only == 1 ]]; then
  # shellcheck disable=SC1091
  source "$work/facts.env"
  report
  exit 0
fi
# A new run: the report must not pick up runs of an earlier one (e.g. rounds 2-3 of a full run
# beside a one-round quick run).
rm -f "$work/facts.env"
rm -rf "$work/runs"

# --- build -------------------------------------------------------------------------------------
if [[ $do_build == 1 ]]; then
  log "building Release in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFLEETPDP_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$build" -j2 --target fleetpdp fleetpdp_loadgen fleetpdp_floor fleetpdp_make_fleet \
    engine_benchmarks >/dev/null
fi
fleetpdp=$build/cli/fleetpdp
loadgen=$build/benchmarks/load/fleetpdp_loadgen
floor=$build/benchmarks/load/fleetpdp_floor
make_fleet=$build/benchmarks/load/fleetpdp_make_fleet
engine_benchmarks=$build/benchmarks/engine_benchmarks
for b in "$fleetpdp" "$loadgen" "$floor" "$make_fleet" "$engine_benchmarks"; do
  [[ -x $b ]] || { log "missing $b (build it or drop --no-build)"; exit 2; }
done

# --- pinning -----------------------------------------------------------------------------------
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_load=(taskset -c 1)
else
  log "fewer than 2 CPUs or no taskset: not pinning"; pin_server=(); pin_load=()
fi

# --- the servers' environment: as in the container image ---------------------------------------
# deploy/Dockerfile runs the server with glibc's heap on transparent huge pages; measure it so
# (and the floor and the engine benchmarks alike). A GLIBC_TUNABLES already set is kept.
export GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.hugetlb=1}

# --- processes we start, and only those, are stopped on exit -----------------------------------
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME COMMAND…: starts it on CPU 0, waits until it answers, sets $server_pid and
# $server_port; the log is $work/NAME.log.
start_server() {
  local name=$1; shift
  local port; port=$(free_port)
  "${pin_server[@]}" "$@" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  server_port=$port
  local started=$SECONDS
  until "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info --timeout 1s 2>/dev/null \
      | grep -q 'serving: *yes'; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "$name exited during start:"; tail -5 "$work/$name.log" >&2; exit 1
    fi
    if (( SECONDS - started > 600 )); then log "$name did not start in 600 s"; exit 1; fi
    sleep 0.2
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

failures=0
# run_load NAME SERVER_PID LOADGEN_ARGS…: one load run on CPU 1; writes $work/runs/NAME.json with
# the server's CPU use added.
run_load() {
  local name=$1 spid=$2; shift 2
  mkdir -p "$work/runs"
  local t0 c0 t1 c1 rc=0
  t0=$(date +%s.%N); c0=$(cpu_ticks "$spid")
  "${pin_load[@]}" "$loadgen" --json --duration "$duration" --warmup "$warmup" "$@" \
    >"$work/runs/$name.raw" 2>"$work/runs/$name.progress" || rc=$?
  t1=$(date +%s.%N); c1=$(cpu_ticks "$spid")
  if [[ $rc -ne 0 ]]; then
    failures=$((failures + 1))
    log "FAILED ($rc): $name — $(grep -m1 'first error\|fleetpdp_loadgen:' "$work/runs/$name.progress" || true)"
  fi
  "$python" - "$work/runs/$name.raw" "$work/runs/$name.json" "$t0" "$t1" "$c0" "$c1" "$rc" \
      "$(getconf CLK_TCK)" <<'EOF'
import json, sys
raw, out, t0, t1, c0, c1, rc, hz = sys.argv[1:]
try:
    r = json.load(open(raw))
except Exception:
    r = {}
r["server_cpu_percent"] = 100.0 * (float(c1) - float(c0)) / float(hz) / (float(t1) - float(t0))
r["exit_code"] = int(rc)
json.dump(r, open(out, "w"))
EOF
  log "$name: $("$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f checks/s, p99 %s us, server CPU %.0f%%, errors %s" % (r.get("checks_per_s",0), r.get("latency_us",{}).get("p99"), r["server_cpu_percent"], r.get("errors_total")))' "$work/runs/$name.json")"
}

keys=$root/examples/keys/trusted
dev_key=$root/examples/keys/private/dev-DO-NOT-USE.key.pem
example_bundle=$root/examples/fleet.bundle.tar.gz
example_requests=$root/benchmarks/requests/example-fleet.jsonl

# --- the large synthetic bundle ----------------------------------------------------------------
large=$work/large-fleet-$fleets
stamp="${fleet_args[*]}"
if [[ ! -f $large.tar.gz || $(cat "$large.stamp" 2>/dev/null) != "$stamp" ]]; then
  log "generating the synthetic fleet (${fleet_args[*]})"
  "$make_fleet" --out "$large-src" --force "${fleet_args[@]}" --requests "$large.jsonl" 2>"$work/make_fleet.log"
  log "building and signing it"
  s=$(date +%s.%N)
  "$fleetpdp" bundle build "$large-src" -o "$large.tar.gz" >"$work/bundle_build.log" 2>&1
  e=$(date +%s.%N)
  "$fleetpdp" bundle sign "$large.tar.gz" --key "$dev_key" --key-id dev-DO-NOT-USE >/dev/null
  echo "$s $e" >"$large.build_time"
  echo "$stamp" >"$large.stamp"
fi
# The small fleet of the same shape (same generator and seed, a hundredth of the size).
small=$work/small-fleet-$fleets
small_stamp="${small_args[*]}"
if [[ ! -f $small.tar.gz || $(cat "$small.stamp" 2>/dev/null) != "$small_stamp" ]]; then
  log "generating the small fleet of the same shape (${small_args[*]})"
  "$make_fleet" --out "$small-src" --force "${small_args[@]}" --requests "$small.jsonl" 2>>"$work/make_fleet.log"
  "$fleetpdp" bundle build "$small-src" -o "$small.tar.gz" >>"$work/bundle_build.log" 2>&1
  "$fleetpdp" bundle sign "$small.tar.gz" --key "$dev_key" --key-id dev-DO-NOT-USE >/dev/null
  echo "$small_stamp" >"$small.stamp"
fi
read -r s e <"$large.build_time"
fact build_seconds "$("$python" -c "print(round($e - $s, 1))")"
s=$(date +%s.%N)
"${pin_server[@]}" "$fleetpdp" bundle verify "$large.tar.gz" --keys "$keys" >"$work/bundle_verify.log" 2>&1
e=$(date +%s.%N)
fact verify_seconds "$("$python" -c "print(round($e - $s, 1))")"
log "large bundle: build ${build_seconds}s, verify ${verify_seconds}s"

# --- servers -----------------------------------------------------------------------------------
serve=("$fleetpdp" serve --keys "$keys" --poll-interval 1h "${serve_extra[@]}")
fact serve_extra_args "${serve_extra[*]:-(none)}"
fact glibc_tunables "${GLIBC_TUNABLES:-(none)}"
start_server floor "$floor"; floor_pid=$server_pid; floor_port=$server_port
start_server pdp-example "${serve[@]}" --bundle "$example_bundle" --metrics-listen "127.0.0.1:$(free_port)"
example_pid=$server_pid; example_port=$server_port
fact example_rss "$(rss_kb "$example_pid" VmRSS)"
start_server pdp-small "${serve[@]}" --bundle "$small.tar.gz" --metrics-listen "127.0.0.1:$(free_port)"
small_pid=$server_pid; small_port=$server_port
s=$(date +%s.%N)
start_server pdp-large "${serve[@]}" --bundle "$large.tar.gz" --metrics-listen "127.0.0.1:$(free_port)"
e=$(date +%s.%N)
large_pid=$server_pid; large_port=$server_port
fact large_start_seconds "$("$python" -c "print(round($e - $s, 1))")"
fact large_rss "$(rss_kb "$large_pid" VmRSS)"; fact large_hwm "$(rss_kb "$large_pid" VmHWM)"
log "large bundle server: SERVING after ${large_start_seconds}s, RSS $((large_rss / 1024)) MiB (peak $((large_hwm / 1024)) MiB)"

# --- 1. the matrix, interleaved ----------------------------------------------------------------
modes=(unary batch:10 stream)
for round in $(seq 1 "$rounds"); do
  for mode in "${modes[@]}"; do
    tag=${mode/:/}
    run_load "floor-$tag-r$round" "$floor_pid" --target "127.0.0.1:$floor_port" \
      --requests "$example_requests" --mode "$mode" --connections 16 --inflight 16
    run_load "example-$tag-r$round" "$example_pid" --target "127.0.0.1:$example_port" \
      --requests "$example_requests" --mode "$mode" --connections 16 --inflight 16 --fail-on-unexpected
    run_load "large-$tag-r$round" "$large_pid" --target "127.0.0.1:$large_port" \
      --requests "$large.jsonl" --mode "$mode" --connections 16 --inflight 16 --fail-on-unexpected
    run_load "small-$tag-r$round" "$small_pid" --target "127.0.0.1:$small_port" \
      --requests "$small.jsonl" --mode "$mode" --connections 16 --inflight 16 --fail-on-unexpected
  done
done
fact large_rss_after "$(rss_kb "$large_pid" VmRSS)"
kill "$example_pid" "$floor_pid" "$small_pid"

# --- 3. reload under load ----------------------------------------------------------------------
# Revisions 2, 3, … of the large bundle, as a policy repository produces them: each adds one policy
# to a policy file (policies-000.yaml) and raises the manifest revision; re-packed and re-signed.
# The entity files do not change, so the server parses one policy file and compiles the policies
# against the groups and entities in force (docs/operations.md, "Reload").
reloads=$("$python" -c "import re; d='$reload_duration'; print(int(float(re.sub('s','',d)) // $reload_every) + 1)")
rev_dir=$work/revisions
rm -rf "$rev_dir"; mkdir -p "$rev_dir/src"
tar -xzf "$large.tar.gz" -C "$rev_dir/src"
rm -f "$rev_dir/src/.signatures.json"
for r in $(seq 2 $((reloads + 1))); do
  sed -i "s/^revision: .*/revision: $r/" "$rev_dir/src/manifest.yaml"
  printf '%s\n' "---" "apiVersion: fleetpdp/v1" "kind: Policy" "metadata: {name: \"revision-$r\"}" \
    "spec:" "  principals: \"*\"" "  statements:" \
    "    - {id: announce, effect: allow, actions: [\"mqtt:subscribe\", \"mqtt:receive\"], resources: [\"announcements/rev-$r/#\"]}" \
    >>"$rev_dir/src/policies/policies-000.yaml"
  (cd "$rev_dir/src" && tar --sort=name --owner=0 --group=0 --numeric-owner -cf - . | gzip -1 >"$rev_dir/rev-$r.tar.gz")
  "$fleetpdp" bundle sign "$rev_dir/rev-$r.tar.gz" --key "$dev_key" --key-id dev-DO-NOT-USE >/dev/null
done
# The served file is a copy we replace by rename (atomic): the server sees one bundle or the next.
served=$work/served.tar.gz
cp "$large.tar.gz" "$served"
start_server pdp-reload "${serve[@]}" --bundle "$served" --metrics-listen "127.0.0.1:$(free_port)"
reload_pid=$server_pid; reload_port=$server_port
# Open loop at a quarter of what this server did closed-loop (unary): about half of its core, the
# load a replica is sized for. Half of the closed-loop rate kept the core 75 % busy without reloads
# (the closed loop's 256 calls in flight make gRPC cheaper per call than an open loop does), and a
# reload every 5 s then left no capacity: the queue grew for the whole run (docs/performance.md,
# seventh round). The report gives the server's CPU in both runs.
rate=${reload_rate:-$("$python" - "$work/runs" <<'EOF'
import glob, json, statistics, sys
v = [json.load(open(f)).get("calls_per_s", 0) for f in glob.glob(sys.argv[1] + "/large-unary-r*.json")]
print(max(100, int(statistics.median(v) * 0.25)) if v else 1000)
EOF
)}
log "reload under load: unary open loop at $rate calls/s, a new revision every ${reload_every}s"
run_load "reload-steady" "$reload_pid" --target "127.0.0.1:$reload_port" --requests "$large.jsonl" \
  --rate "$rate" --fail-on-unexpected
mark=$work/reloading
rm -f "$mark"
( sleep "$warmup"
  end=$((SECONDS + ${reload_duration%s}))
  r=2
  while (( SECONDS < end - 1 )) && [[ -f $rev_dir/rev-$r.tar.gz ]]; do
    next=$((SECONDS + reload_every))
    cp "$rev_dir/rev-$r.tar.gz" "$served.tmp" && mv "$served.tmp" "$served"
    touch "$mark"; s=$(date +%s.%N)
    kill -HUP "$reload_pid"
    # Until the server serves revision r, or rejects it (counted below), or 10 minutes pass.
    waited=$SECONDS
    until grep -q "rev $r digest" "$work/pdp-reload.log"; do
      if grep -q "rejected" "$work/pdp-reload.log" || (( SECONDS - waited > 600 )); then break 2; fi
      sleep 0.05
    done
    e=$(date +%s.%N); rm -f "$mark"
    echo "$r $s $e" >>"$work/reload_times"
    r=$((r + 1))
    while (( SECONDS < next )); do sleep 0.1; done
  done ) &
reloader=$!
pids+=("$reloader")
rm -f "$work/reload_times"
saved_duration=$duration; duration=$reload_duration
run_load "reload-under-load" "$reload_pid" --target "127.0.0.1:$reload_port" \
  --requests "$large.jsonl" --rate "$rate" --mark-file "$mark" --fail-on-unexpected
duration=$saved_duration
wait "$reloader" || true
rm -f "$mark"
fact reload_rejected "$(grep -c 'rejected' "$work/pdp-reload.log" || true)"

# --- 4. engine micro-benchmarks ----------------------------------------------------------------
log "engine micro-benchmarks ($engine_filter)"
"${pin_load[@]}" "$engine_benchmarks" --benchmark_filter="$engine_filter" "${engine_args[@]}" \
  --benchmark_format=json >"$work/engine.json" 2>"$work/engine.log"

report
if [[ $failures -gt 0 ]]; then
  log "$failures run(s) failed; see $work/runs/*.progress"
  exit 1
fi
log "report: $out"
