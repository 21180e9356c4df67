#!/usr/bin/env bash
# The plugin in remote mode: a real Mosquitto asks a real `fleetpdp serve` over gRPC, behind the
# plugin's cache. Decisions, a new bundle on the server taking effect within the stated bound
# (server poll interval + cache TTL), fail-closed while FleetPDP is down, and recovery when it
# returns.
#   tests/mosquitto/mosquitto_remote_test.sh FLEETPDP PLUGIN_SO REPO_ROOT
set -uo pipefail
fleetpdp=$1 plugin=$2 root=$3
source "$(dirname "$0")/../expect.sh"
source "$(dirname "$0")/lib.sh"
prepare 1 && pack 1
cp "$work/rev1.tar.gz" "$work/live.tar.gz"

# start_pdp PORT: `fleetpdp serve` on the bundle file, polling every second; sets $pdp.
start_pdp() {
  "$fleetpdp" serve --listen "127.0.0.1:$1" --metrics-listen "" --bundle "$work/live.tar.gz" \
    --keys "$keys/trusted" --poll-interval 1s >>"$work/pdp.log" 2>&1 &
  pids+=($!)
  pdp=$!
  for _ in $(seq 100); do
    grep -q "listening on 127.0.0.1:$1" "$work/pdp.log" && return 0
    sleep 0.1
  done
  echo "FAIL fleetpdp did not start:"; sed 's/^/    /' "$work/pdp.log"; exit 1
}
pdp_port=$(free_port)
start_pdp "$pdp_port"
start_broker "fleetpdp: remote mode: asking" "plugin_opt_mode remote" \
  "plugin_opt_server 127.0.0.1:$pdp_port" "plugin_opt_deadline 500ms" "plugin_opt_cache_ttl 2s"

expect "remote: the broker says where it asks" 0 \
  "fleetpdp: remote mode: asking 127.0.0.1:$pdp_port \\(deadline 500ms, cache 100000 decisions for 2s, failing closed\\)" -- \
  cat "$work/broker.log"
expect "remote: an unknown client id is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i stranger -t devices/stranger/telemetry/t -m x
check_deliveries "remote: allowed publishes are delivered; a denied publish and a denied receive are not"
expect "remote: a subscription beyond the device's topics is refused" 0 'denied' -- \
  sub -i d1 -t 'devices/#' -C 1 -W 3
expect "remote: the broker publishes the digest the PDP decides with" 0 \
  '\$SYS/broker/fleetpdp/bundle \{"name":"","revision":1,"digest":"[0-9a-f]{64}"' -- \
  sub -i dashboard -t '$SYS/broker/fleetpdp/bundle' -C 1 -W 5

# A new bundle on the server: d3 may connect within the server's poll interval (1 s) plus the
# plugin's cache TTL (2 s) — d3's earlier refusal is cached.
prepare_rev2
expect "remote: before the new bundle, d3 is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i d3 -t devices/d3/telemetry/t -m x
replace "$work/rev2.tar.gz" "$work/live.tar.gz"
until_ok 15 pub -i d3 -t devices/d3/telemetry/t -m x
expect "remote: the new bundle takes effect without restarting the broker (${elapsed_ms} ms; bound 3000 ms + load)" 0 '' -- \
  test "$elapsed_ms" -ge 0 -a "$elapsed_ms" -le 4000

# FleetPDP goes away: once cached decisions expire (2 s), checks fail closed.
kill -TERM "$pdp"; wait "$pdp" 2>/dev/null
sleep 2.5  # let every cached decision expire
expect "remote, FleetPDP down: a device that was allowed is refused (fail-closed)" 5 \
  'not authori[sz]ed|Connection Refused' -- pub -i d1 -t devices/d1/telemetry/t -m x
expect "remote, FleetPDP down: the broker log says why" 0 'failing closed \(denying\)' -- cat "$work/broker.log"
start_pdp "$pdp_port"
until_ok 15 pub -i d1 -t devices/d1/telemetry/t -m x
expect "remote: service resumes when FleetPDP returns (${elapsed_ms} ms)" 0 '' -- test "$elapsed_ms" -ge 0
expect "remote: the broker never restarted" 0 '' -- kill -0 "$broker"

# The plugin's cleanup ends gRPC (joining its threads) before the broker unloads it and exits.
kill -TERM "$broker"; wait "$broker" 2>/dev/null; code=$?
expect "remote: the broker stops cleanly on SIGTERM (exit $code)" 0 '' -- test "$code" -eq 0
[ "$fails" -eq 0 ] && echo "all remote mode checks passed" || { echo "$fails check(s) failed"; exit 1; }
