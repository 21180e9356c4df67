#!/usr/bin/env bash
# Messages/s through Mosquitto: no plugin, the FleetPDP plugin in local mode, and in remote mode
# with a warm cache, interleaved over several rounds. The broker is pinned to core 0, the load
# (fleetpdp_mqtt_bench) and, in remote mode, `fleetpdp serve` to core 1. Prints a markdown table of
# medians with min–max and the ratio to no plugin, and the broker's CPU time per delivered
# message (from /proc: user + system time over all messages of the run), which does not depend
# on whether the load generator or the broker was the bottleneck.
#   benchmarks/broker/run.sh [--build-dir build/release] [--rounds 3] [--seconds 5] [--quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/release rounds=3 seconds=5
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --quick) rounds=1 seconds=1; shift ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
fleetpdp=$build/cli/fleetpdp
plugin=$build/integrations/mosquitto/fleetpdp_mosquitto.so
bench=$build/benchmarks/broker/fleetpdp_mqtt_bench
for f in "$fleetpdp" "$plugin" "$bench"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "run.sh: $f is missing: tools/build.sh release fleetpdp fleetpdp_mosquitto fleetpdp_mqtt_bench" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()
cleanup() { { for p in "${pids[@]}"; do kill -9 "$p"; done; wait; } 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
keys=$root/examples/keys
"$fleetpdp" bundle build "$root/tests/testdata/broker-fleet" -o "$work/fleet.tar.gz" >/dev/null
"$fleetpdp" bundle sign "$work/fleet.tar.gz" --key "$keys/private/dev-DO-NOT-USE.key.pem" --key-id dev-DO-NOT-USE >/dev/null

pdp_port=$(free_port)
taskset -c 1 "$fleetpdp" serve --listen "127.0.0.1:$pdp_port" --metrics-listen "" \
  --bundle "$work/fleet.tar.gz" --keys "$keys/trusted" >"$work/pdp.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/pdp.log" && break; sleep 0.1; done

# one CONFIG: starts a broker with CONFIG's plugin lines, runs the load, prints deliveries/s.
one() {
  local port; port=$(free_port)
  {
    echo "per_listener_settings false"; echo "user root"; echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"; echo "set_tcp_nodelay true"; echo "max_queued_messages 0"
    echo "log_dest none"
    case $1 in
      none) ;;
      local) echo "plugin $plugin"; echo "plugin_opt_bundle $work/fleet.tar.gz"
             echo "plugin_opt_keys $keys/trusted" ;;
      remote) echo "plugin $plugin"; echo "plugin_opt_mode remote"
              echo "plugin_opt_server 127.0.0.1:$pdp_port"; echo "plugin_opt_deadline 1s" ;;
    esac
  } >"$work/$1.conf"
  taskset -c 0 mosquitto -c "$work/$1.conf" >"$work/$1.log" 2>&1 &
  local broker=$!
  pids+=($broker)
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local out
  out=$(taskset -c 1 "$bench" --port "$port" --seconds "$seconds" --warmup 1) ||
    { echo "run.sh: $1: the load failed: $out" >&2; cat "$work/$1.log" >&2; exit 1; }
  # utime + stime (clock ticks) of the broker so far: fields 14 and 15 of /proc/PID/stat.
  local ticks hz total
  ticks=$(awk '{print $14 + $15}' "/proc/$broker/stat")
  hz=$(getconf CLK_TCK)
  kill -TERM "$broker"; wait "$broker" 2>/dev/null || true
  total=$(sed -n 's/^delivered_total //p' <<<"$out")
  echo "$(sed -n 's/^deliveries_per_second //p' <<<"$out") $(awk -v t="$ticks" -v hz="$hz" -v n="$total" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
}

declare -A results cpu
for r in $(seq "$rounds"); do
  for config in none local remote; do
    read -r v c <<<"$(one "$config")"
    results[$config]+="$v "
    cpu[$config]+="$c "
    echo "round $r: $config $v deliveries/s, broker CPU $c µs/delivery" >&2
  done
done

stats() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s %s %s", m, a[1], a[NR]}'; }
read -r base _ _ <<<"$(stats "${results[none]}")"
read -r cbase _ _ <<<"$(stats "${cpu[none]}")"
echo "| Mosquitto 2.0.11 | deliveries/s (median) | min–max | vs no plugin | broker CPU µs/delivery (median) | min–max | vs no plugin |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for config in none local remote; do
  read -r med lo hi <<<"$(stats "${results[$config]}")"
  read -r cmed clo chi <<<"$(stats "${cpu[$config]}")"
  name=$config
  [ "$config" = none ] && name="no plugin"
  [ "$config" = local ] && name="FleetPDP plugin, local mode"
  [ "$config" = remote ] && name="FleetPDP plugin, remote mode (warm cache)"
  awk -v n="$name" -v m="$med" -v lo="$lo" -v hi="$hi" -v b="$base" -v cm="$cmed" -v cl="$clo" \
      -v ch="$chi" -v cb="$cbase" \
    'BEGIN {printf "| %s | %d | %d–%d | %.2f× | %.2f | %.2f–%.2f | %.2f× |\n", n, m, lo, hi,
            (b > 0 ? m / b : 0), cm, cl, ch, (cb > 0 ? cm / cb : 0)}'
done
echo
echo "$rounds rounds × ${seconds} s, interleaved; 2 publishers (QoS 1, window 64) → 1 subscriber (QoS 1);" \
     "each delivery costs the broker one publish and one receive check."
