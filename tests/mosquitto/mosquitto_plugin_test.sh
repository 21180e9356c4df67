#!/usr/bin/env bash
# A real Mosquitto (Debian's 2.0) on loopback with the FleetPDP plugin in local mode, driven by
# mosquitto_pub and mosquitto_sub: connect, publish, subscribe and delivery decisions, the bundle
# status topic, and a new bundle taking effect without restarting the broker.
#   tests/mosquitto/mosquitto_plugin_test.sh FLEETPDP PLUGIN_SO REPO_ROOT
set -uo pipefail
fleetpdp=$1 plugin=$2 root=$3
source "$(dirname "$0")/../expect.sh"
source "$(dirname "$0")/lib.sh"
prepare 1 && pack 1
cp "$work/rev1.tar.gz" "$work/live.tar.gz"
start_broker "enforcing bundle" "plugin_opt_bundle $work/live.tar.gz" \
  "plugin_opt_keys $keys/trusted" "plugin_opt_poll_interval 1s"
expect "the broker loads the plugin and enforces the signed bundle" 0 \
  'fleetpdp: enforcing bundle "broker-fleet" rev 1 digest [0-9a-f]{64} signed by "dev-DO-NOT-USE"' -- cat "$work/broker.log"

# Connect: only principals the bundle allows.
expect "connect: an unknown client id is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i stranger -t devices/stranger/telemetry/t -m x
expect "connect: a device connecting as itself is accepted" 0 '' -- \
  pub -i d1 -t devices/d1/telemetry/t -m hello

# Publish and delivery, in order: the subscriber must see exactly the allowed messages.
check_deliveries "an allowed publish is delivered; a denied publish and a denied receive are not"

# A device may not publish commands (explicit deny), even to itself: nothing reaches it.
sub -i d1 -t 'devices/d1/cmd/#' -C 1 -W 10 >"$work/cmd.out" 2>&1 &
pids+=($!)
cmd=$!
sleep 0.5
pub -i d2 -t devices/d1/cmd/reboot -m "denied: from a device"
pub -i operator -t devices/d1/cmd/reboot -m "allowed: from the operator"
wait "$cmd"
expect "a command from a device is dropped, the operator's is delivered" 0 \
  '^devices/d1/cmd/reboot allowed: from the operator
$' -- cat "$work/cmd.out"

# Subscribe: a filter not contained in an allow, or overlapping a deny, gets a SUBACK failure.
expect "subscribe: a device subscribing beyond its own topics is refused" 0 'denied' -- \
  sub -i d1 -t 'devices/#' -C 1 -W 3
expect "subscribe: a filter overlapping a deny is refused" 0 'denied' -- \
  sub -i operator -t 'ops/#' -C 1 -W 3
sub -i operator -t 'ops/public/#' -C 1 -W 10 >"$work/ops.out" 2>&1 &
pids+=($!)
ops=$!
sleep 0.5
pub -i announcer -t ops/private/notice -m "not for this subscription"
pub -i announcer -t ops/public/notice -m "granted"
wait "$ops"
expect "subscribe: a contained filter is granted" 0 '^ops/public/notice granted
$' -- cat "$work/ops.out"

# The bundle status, retained on $SYS/broker/fleetpdp/bundle.
expect "the serving bundle is published for drift checks" 0 \
  '\$SYS/broker/fleetpdp/bundle \{"name":"broker-fleet","revision":1,"digest":"[0-9a-f]{64}","key_id":"dev-DO-NOT-USE"\}' -- \
  sub -i dashboard -t '$SYS/broker/fleetpdp/bundle' -C 1 -W 5

# A new bundle: revision 2 adds device d3; it may connect once the plugin has the new bundle,
# without restarting the broker. Bound: the poll interval (1s) plus load time.
prepare_rev2
expect "before the new bundle, d3 is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i d3 -t devices/d3/telemetry/t -m x
replace "$work/rev2.tar.gz" "$work/live.tar.gz"
until_ok 10 pub -i d3 -t devices/d3/telemetry/t -m x
expect "a new bundle takes effect without a restart (${elapsed_ms} ms; bound 3000 ms)" 0 '' -- \
  test "$elapsed_ms" -ge 0 -a "$elapsed_ms" -le 3000
expect "the broker logs the new revision" 0 'enforcing bundle "broker-fleet" rev 2' -- cat "$work/broker.log"
expect "the broker process never restarted" 0 '' -- kill -0 "$broker"

# A tampered bundle is refused; revision 2 keeps being enforced.
mkdir "$work/t" && tar -xzf "$work/rev2.tar.gz" -C "$work/t"
sed -i 's/own-telemetry/own-telemetrx/' "$work/t/policies/broker.yaml"
tar -czf "$work/tampered.tar.gz" -C "$work/t" . && replace "$work/tampered.tar.gz" "$work/live.tar.gz"
for _ in $(seq 50); do grep -q 'rejected (tampered)' "$work/broker.log" && break; sleep 0.1; done
expect "a tampered bundle is rejected and logged" 0 'rejected \(tampered\).*still enforcing the last good bundle' -- \
  cat "$work/broker.log"
expect "and d3 (revision 2) still connects" 0 '' -- pub -i d3 -t devices/d3/telemetry/t -m x

kill -TERM "$broker"; wait "$broker" 2>/dev/null
[ "$fails" -eq 0 ] && echo "all mosquitto plugin checks passed" || { echo "$fails check(s) failed"; exit 1; }
