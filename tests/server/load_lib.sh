# Sourced by overload_test.sh and failover_test.sh: replicas of `fleetpdp serve` on fixed loopback
# ports (so that a killed one can come back on the same address) and small readers of what they
# expose.
#   work=$(mktemp -d); pids=(); trap 'kill_all; rm -rf "$work"' EXIT
#   source tests/server/load_lib.sh
#   serve LOG GRPC_PORT METRICS_PORT [taskset CPU list or ""] SERVE_ARGS…   # sets $pid
#   metric_sum PORT 'fleetpdp_decisions_total'       # sum of the series with that name
# Every process started here is appended to the caller's `pids` array; kill_all ends them.

source "$(dirname "${BASH_SOURCE[0]}")/../process_lib.sh"  # kill_all, free_port

# serve LOG GRPC_PORT METRICS_PORT CPUS ARGS…: starts `$fleetpdp serve` (pinned to CPUS with
# taskset unless empty) and waits until it listens; sets pid. Fails the test if it does not start.
serve() {
  local log=$1 port=$2 mport=$3 cpus=$4
  shift 4
  local pin=()
  [ -n "$cpus" ] && pin=(taskset -c "$cpus")
  "${pin[@]}" "$fleetpdp" serve --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" \
    "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    grep -q "listening on" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL fleetpdp serve did not start:"; sed 's/^/    /' "$log"; exit 1
}

# metric_sum PORT NAME: the sum of every series NAME{…} on the replica's /metrics (0 if none).
metric_sum() {
  curl -sf "http://127.0.0.1:$1/metrics" |
    awk -v n="$2" '$1 ~ "^"n"({|$)" { s += $NF } END { printf "%d\n", s }'
}

# json_field JSON PATH: a field of a loadgen --json report, e.g. .sent or .errors.UNAVAILABLE (0 when
# absent).
json_field() { jq -r "$2 // 0" <<<"$1"; }
