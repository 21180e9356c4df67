#!/usr/bin/env bash
# A real Mosquitto (Debian's 2.0) on loopback with the FleetPDP plugin in local mode, driven by
# mosquitto_pub and mosquitto_sub: connect, publish, subscribe and delivery decisions, the bundle
# status topic, and a new bundle taking effect without restarting the broker.
#   tests/mosquitto/mosquitto_plugin_test.sh FLEETPDP PLUGIN_SO REPO_ROOT
set -uo pipefail
fleetpdp=$1 plugin=$2 root=$3
for tool in mosquitto mosquitto_pub mosquitto_sub; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh installs it)"; exit 1; }
done
mosquitto=$(command -v mosquitto)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/../expect.sh"
keys=$root/examples/keys

# prepare N: a copy of tests/testdata/broker-fleet at revision N in $work/src-N (to edit);
# pack N: builds and signs it into $work/revN.tar.gz.
prepare() {
  cp -r "$root/tests/testdata/broker-fleet" "$work/src-$1"
  sed -i "s/^revision: .*/revision: $1/" "$work/src-$1/manifest.yaml"
}
pack() {
  "$fleetpdp" bundle build "$work/src-$1" -o "$work/rev$1.tar.gz" >/dev/null &&
    "$fleetpdp" bundle sign "$work/rev$1.tar.gz" --key "$keys/private/dev-DO-NOT-USE.key.pem" \
      --key-id dev-DO-NOT-USE >/dev/null || { echo "FAIL could not build revision $1"; exit 1; }
}
prepare 1 && pack 1
cp "$work/rev1.tar.gz" "$work/live.tar.gz"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/mosquitto.conf" <<CONF
per_listener_settings false
user root
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
plugin $plugin
plugin_opt_bundle $work/live.tar.gz
plugin_opt_keys $keys/trusted
plugin_opt_poll_interval 1s
CONF
"$mosquitto" -c "$work/mosquitto.conf" >"$work/broker.log" 2>&1 &
pids+=($!)
broker=$!
for _ in $(seq 50); do
  grep -q "enforcing bundle" "$work/broker.log" && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$broker" 2>/dev/null || break
  sleep 0.1
done
expect "the broker loads the plugin and enforces the signed bundle" 0 \
  'fleetpdp: enforcing bundle "broker-fleet" rev 1 digest [0-9a-f]{64} signed by "dev-DO-NOT-USE"' -- cat "$work/broker.log"

pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 "$@"; }
sub() { mosquitto_sub -h 127.0.0.1 -p "$port" -v "$@"; }

# Connect: only principals the bundle allows.
expect "connect: an unknown client id is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i stranger -t devices/stranger/telemetry/t -m x
expect "connect: a device connecting as itself is accepted" 0 '' -- \
  pub -i d1 -t devices/d1/telemetry/t -m hello

# Publish and delivery, in order: the subscriber must see exactly the allowed messages.
sub -i dashboard -t 'devices/+/telemetry/#' -C 2 -W 10 >"$work/dash.out" 2>&1 &
pids+=($!)
dash=$!
sleep 0.5
pub -i d1 -t devices/d2/telemetry/t -m "denied: d1 posing as d2"
pub -i d1 -t devices/d1/telemetry/secret/key -m "withheld: a secret the dashboard may not receive"
pub -i d1 -t devices/d1/telemetry/temp -m "allowed 1"
pub -i d2 -t devices/d2/telemetry/temp -m "allowed 2"
wait "$dash"
expect "an allowed publish is delivered; a denied publish and a denied receive are not" 0 \
  '^devices/d1/telemetry/temp allowed 1
devices/d2/telemetry/temp allowed 2
$' -- cat "$work/dash.out"

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
prepare 2
sed -i 's/  - { id: d2, groups: \[devices\] }/  - { id: d2, groups: [devices] }\n  - { id: d3, groups: [devices] }/' \
  "$work/src-2/entities/fleet.yaml"
pack 2
expect "before the new bundle, d3 is refused" 5 'not authori[sz]ed|Connection Refused' -- \
  pub -i d3 -t devices/d3/telemetry/t -m x
start=$(date +%s%N)
cp "$work/rev2.tar.gz" "$work/live.tar.gz.new" && mv "$work/live.tar.gz.new" "$work/live.tar.gz"
ok=0
for _ in $(seq 100); do
  if pub -i d3 -t devices/d3/telemetry/t -m x 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect "a new bundle takes effect without a restart (${elapsed_ms} ms; bound 3000 ms)" 0 '' -- \
  test "$ok" = 1 -a "$elapsed_ms" -le 3000
expect "the broker logs the new revision" 0 'enforcing bundle "broker-fleet" rev 2' -- cat "$work/broker.log"
expect "the broker process never restarted" 0 '' -- kill -0 "$broker"

# A tampered bundle is refused; revision 2 keeps being enforced.
mkdir "$work/t" && tar -xzf "$work/rev2.tar.gz" -C "$work/t"
sed -i 's/own-telemetry/own-telemetrx/' "$work/t/policies/broker.yaml"
tar -czf "$work/live.tar.gz.new" -C "$work/t" . && mv "$work/live.tar.gz.new" "$work/live.tar.gz"
for _ in $(seq 50); do grep -q 'rejected (tampered)' "$work/broker.log" && break; sleep 0.1; done
expect "a tampered bundle is rejected and logged" 0 'rejected \(tampered\).*still enforcing the last good bundle' -- \
  cat "$work/broker.log"
expect "and d3 (revision 2) still connects" 0 '' -- pub -i d3 -t devices/d3/telemetry/t -m x

kill -TERM "$broker"; wait "$broker" 2>/dev/null
[ "$fails" -eq 0 ] && echo "all mosquitto plugin checks passed" || { echo "$fails check(s) failed"; exit 1; }
