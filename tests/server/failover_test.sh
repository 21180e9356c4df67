#!/usr/bin/env bash
# Horizontal failure (issue 8): three replicas on loopback serving the same bundle, and one client
# (fleetpdp_client through fleetpdp_loadgen) spreading checks over all three with gRPC's
# round_robin and the retry policy of client.h (UNAVAILABLE retried on another replica). Under a
# continuous open-loop load one replica is killed with SIGKILL, then restarted on the same port:
# every check sent must be answered OK (no decision lost), and the restarted replica must receive
# traffic again. Prints sent/answered/failed and the time to rebalance; speeds are not asserted.
#   tests/server/failover_test.sh FLEETPDP LOADGEN REPO_ROOT
set -uo pipefail
fleetpdp=$1 loadgen=$2 root=$3
work=$(mktemp -d)
pids=()
trap 'kill_all; rm -rf "$work"' EXIT
source "$(dirname "$0")/load_lib.sh"
requests="$root/benchmarks/requests/example-fleet.jsonl"
fails=0
check() {  # check NAME CONDITION…: prints ok/FAIL
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# The committed example bundle, verified with the development key, on every replica.
bundle=(--bundle "$root/examples/fleet.bundle.tar.gz" --keys "$root/examples/keys/trusted")
declare -A grpc metrics pid_of
for r in a b c; do
  grpc[$r]=$(free_port) metrics[$r]=$(free_port)
  serve "$work/$r.log" "${grpc[$r]}" "${metrics[$r]}" "" "${bundle[@]}"
  pid_of[$r]=$pid
done
target="127.0.0.1:${grpc[a]},127.0.0.1:${grpc[b]},127.0.0.1:${grpc[c]}"
echo "     replicas: $target"

# 16 s of open-loop checks at 3,000/s over 4 channels, each round-robin over the three replicas;
# 3 attempts per check (the client library's default) and reconnection attempts at least every
# 500 ms so that a replica that comes back is found soon.
rate=3000 duration=16
"$loadgen" --target "$target" --requests "$requests" --connections 4 --rate "$rate" \
  --duration "${duration}s" --warmup 0s --deadline 2s --max-attempts 3 \
  --max-reconnect-backoff 500ms --json >"$work/load.json" 2>"$work/load.err" &
load_pid=$!
pids+=("$load_pid")

# Let it settle, then kill replica b outright (no drain: SIGKILL) in the middle of the load.
sleep 4
before_kill=$(metric_sum "${metrics[b]}" fleetpdp_decisions_total)
kill -9 "${pid_of[b]}"
wait "${pid_of[b]}" 2>/dev/null
killed_at=$(now)
echo "     killed replica b (pid ${pid_of[b]}) after it had decided $before_kill checks"

# Down for 4 s; then restarted on the same ports.
sleep 4
serve "$work/b2.log" "${grpc[b]}" "${metrics[b]}" "" "${bundle[@]}"
pid_of[b]=$pid
restarted_at=$(now)
echo "     restarted replica b after $(elapsed "$killed_at" "$restarted_at") s down"

# Rebalanced: the restarted replica decides checks again (its counters start from 0).
rebalanced=never
for _ in $(seq 100); do
  if [ "$(metric_sum "${metrics[b]}" fleetpdp_decisions_total)" -gt 0 ]; then
    rebalanced=$(elapsed "$restarted_at" "$(now)")
    break
  fi
  sleep 0.1
done
echo "     time to rebalance: the restarted replica decided its first check $rebalanced s after it started"
check "the restarted replica receives traffic again" [ "$rebalanced" != never ]

wait "$load_pid"
load_rc=$?
json=$(cat "$work/load.json")
sent=$(json_field "$json" .sent) ended=$(json_field "$json" .ended) ok=$(json_field "$json" .ok)
failed=$(json_field "$json" .errors_total)
echo "     load: $rate checks/s for $duration s: sent $sent  answered OK $ok  failed $failed (errors $(jq -c .errors <<<"$json"); loadgen exit $load_rc)"
grep "fleetpdp_loadgen: first" "$work/load.err" | sed 's/^/     /'
share=()
for r in a b c; do share+=("$r $(metric_sum "${metrics[$r]}" fleetpdp_decisions_total)"); done
echo "     decisions per replica at the end (b counted since its restart): ${share[*]}"
b_after=$(metric_sum "${metrics[b]}" fleetpdp_decisions_total)
check "checks were sent throughout" [ "$sent" -gt $((rate * duration / 2)) ]
check "every check sent was answered OK: none lost" [ "$sent" = "$ok" -a "$failed" = 0 ]
check "the restarted replica took a share of the load" [ "$b_after" -gt 0 ]
check "the surviving replicas stayed up" kill -0 "${pid_of[a]}" "${pid_of[c]}"

if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all failover checks passed"
