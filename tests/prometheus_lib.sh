# Sourced by the shell tests that run FleetPDP replicas and a real Prometheus on loopback.
#
#   work=$(mktemp -d); pids=(); trap 'kill_all; rm -rf "$work"' EXIT
#   source tests/prometheus_lib.sh
#   start_replica "$work/a.log" FLEETPDP --bundle …      # sets $grpc_port, $metrics_port, $pid
#   start_prometheus "$work/prom" [RULE_FILE] "127.0.0.1:$metrics_port" …   # sets $prom_url
#   wait_for "one series" 30 'length == 1' 'fleetpdp_bundle_info'
#
# Every process started here is appended to the caller's `pids` array; kill_all ends them.
# Needs: prometheus, curl, jq (tools/setup.sh installs them). A missing tool fails the test.

for tool in prometheus curl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (run tools/setup.sh)"; exit 1; }
done

source "$(dirname "${BASH_SOURCE[0]}")/process_lib.sh"  # kill_all, free_port

# start_replica LOG FLEETPDP SERVE_ARGS…: starts `FLEETPDP serve` on loopback (gRPC on a port the
# kernel picks, metrics on a free port), waits until it listens; sets grpc_port, metrics_port and
# pid. Retries with another metrics port when that one was taken in the meantime.
start_replica() {
  local log=$1 fleetpdp=$2 attempt
  shift 2
  for attempt in 1 2 3 4 5; do
    metrics_port=$(free_port)
    "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$metrics_port" "$@" >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
      grpc_port=$(sed -n 's/.*listening on .* (port \([0-9]*\).*/\1/p' "$log")
      [ -n "$grpc_port" ] && return 0
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "metrics endpoint" "$log" || break  # not a port clash: do not retry
  done
  echo "FAIL fleetpdp serve did not start:"; sed 's/^/    /' "$log"; exit 1
}

# start_prometheus DIR RULE_FILE|"" TARGET…: a Prometheus scraping TARGETs (host:port, /metrics)
# every second under job "fleetpdp", evaluating RULE_FILE every second; data in DIR. Waits until it
# is ready; sets prom_url and prom_pid.
start_prometheus() {
  local dir=$1 rules=$2 port attempt targets
  shift 2
  mkdir -p "$dir/data"
  targets=$(printf '"%s",' "$@")
  {
    echo "global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }"
    [ -n "$rules" ] && echo "rule_files: [\"$rules\"]"
    echo "scrape_configs:"
    echo "  - job_name: fleetpdp"
    echo "    static_configs: [{ targets: [${targets%,}] }]"
  } >"$dir/prometheus.yml"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/prometheus.log" 2>&1 &
    prom_pid=$!
    pids+=("$prom_pid")
    prom_url="http://127.0.0.1:$port"
    for _ in $(seq 150); do
      curl -sf "$prom_url/-/ready" >/dev/null 2>&1 && return 0
      kill -0 "$prom_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$prom_pid" 2>/dev/null
    grep -q "address already in use" "$dir/prometheus.log" || break
  done
  echo "FAIL prometheus did not start:"; sed 's/^/    /' "$dir/prometheus.log"; exit 1
}

# prom_query EXPR: the instant query's result vector as JSON (exits the test on an API error).
prom_query() {
  local out
  out=$(curl -sfG "$prom_url/api/v1/query" --data-urlencode "query=$1") ||
    { echo "FAIL query failed: $1"; exit 1; }
  jq -c '.data.result' <<<"$out"
}

# prom_rule_query NAME: the expression of the loaded rule NAME, as Prometheus parsed it.
prom_rule_query() {
  curl -sf "$prom_url/api/v1/rules" |
    jq -er --arg n "$1" '[.data.groups[].rules[] | select(.name == $n)][0].query'
}

# prom_alert_state NAME: "firing", "pending" or "inactive".
prom_alert_state() {
  curl -sf "$prom_url/api/v1/rules?type=alert" |
    jq -r --arg n "$1" '[.data.groups[].rules[] | select(.name == $n)][0].state // "missing"'
}

# wait_for NAME SECONDS JQ_TEST EXPR: polls EXPR until JQ_TEST (a jq filter on the result
# vector) is true; prints ok or FAIL with the last result, counting failures in $fails.
wait_for() {
  local name=$1 seconds=$2 test=$3 expr=$4 result deadline
  deadline=$((SECONDS + seconds))
  while true; do
    result=$(prom_query "$expr")
    if jq -e "$test" <<<"$result" >/dev/null 2>&1; then
      echo "ok   $name"
      return 0
    fi
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.5
  done
  echo "FAIL $name: after ${seconds}s, $expr gave $result (want $test)"
  fails=$((fails + 1))
  return 1
}

# wait_for_alert NAME SECONDS STATE: polls until alert NAME is in STATE.
wait_for_alert() {
  local name=$1 seconds=$2 want=$3 state deadline
  deadline=$((SECONDS + seconds))
  while true; do
    state=$(prom_alert_state "$name")
    [ "$state" = "$want" ] && { echo "ok   alert $name is $want"; return 0; }
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.5
  done
  echo "FAIL alert $name: $state after ${seconds}s (want $want)"
  fails=$((fails + 1))
  return 1
}
