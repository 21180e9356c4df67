# Sourced by the Mosquitto plugin tests (after tests/expect.sh). Needs $fleetpdp, $plugin, $root.
# Sets $work (removed on exit), $keys; kills every pid in $pids on exit.
for tool in mosquitto mosquitto_pub mosquitto_sub python3; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh installs it)"; exit 1; }
done
mosquitto=$(command -v mosquitto)
work=$(mktemp -d)
pids=()
cleanup() { { for p in "${pids[@]}"; do kill -9 "$p"; done; wait; } 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
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
# Revision 2 adds device d3.
prepare_rev2() {
  prepare 2
  sed -i 's/  - { id: d2, groups: \[devices\] }/  - { id: d2, groups: [devices] }\n  - { id: d3, groups: [devices] }/' \
    "$work/src-2/entities/fleet.yaml"
  pack 2
}
# replace SRC DEST: as a publisher should, write beside and rename.
replace() { cp "$1" "$2.new" && mv "$2.new" "$2"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_broker READY_REGEX PLUGIN_OPTION_LINES…: starts Mosquitto with the plugin on a free
# loopback port ($port), waits until its log matches READY_REGEX and it accepts connections;
# sets $broker (pid).
start_broker() {
  local ready=$1; shift
  port=$(free_port)
  {
    echo "per_listener_settings false"
    echo "user root"
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    echo "set_tcp_nodelay true"
    echo "log_dest stderr"
    printf 'log_type %s\n' error warning notice
    echo "plugin $plugin"
    printf '%s\n' "$@"
  } >"$work/mosquitto.conf"
  # A plugin built with AddressSanitizer (preset asan-ubsan) needs the ASan runtime loaded before
  # it, and Debian's mosquitto is not instrumented: preload the runtime the plugin links.
  local asan
  asan=$(ldd "$plugin" 2>/dev/null | awk '/libasan/ { print $3; exit }')
  LD_PRELOAD=${asan:-${LD_PRELOAD:-}} "$mosquitto" -c "$work/mosquitto.conf" >"$work/broker.log" 2>&1 &
  pids+=($!)
  broker=$!
  for _ in $(seq 100); do
    grep -qE "$ready" "$work/broker.log" && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$broker" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL the broker did not start:"; sed 's/^/    /' "$work/broker.log"; exit 1
}

pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 "$@"; }
sub() { mosquitto_sub -h 127.0.0.1 -p "$port" -v "$@"; }

# until_ok SECONDS COMMAND…: retries COMMAND every 0.1 s; sets $elapsed_ms; fails after SECONDS.
until_ok() {
  local limit=$1; shift
  local start=$(date +%s%N)
  while true; do
    "$@" >/dev/null 2>&1 && { elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )); return 0; }
    (( ($(date +%s%N) - start) / 1000000000 >= limit )) && { elapsed_ms=-1; return 1; }
    sleep 0.1
  done
}

# check_deliveries NAME: the dashboard subscribes to all telemetry; d1 publishes as d2 (denied),
# a secret the dashboard may not receive (publish allowed, receive denied), then d1 and d2 their
# own telemetry. The subscriber must see exactly the two allowed messages, in order.
check_deliveries() {
  sub -i dashboard -t 'devices/+/telemetry/#' -C 2 -W 10 >"$work/dash.out" 2>&1 &
  pids+=($!)
  local dash=$!
  sleep 0.5
  pub -i d1 -t devices/d2/telemetry/t -m "denied: d1 posing as d2"
  pub -i d1 -t devices/d1/telemetry/secret/key -m "withheld: a secret the dashboard may not receive"
  pub -i d1 -t devices/d1/telemetry/temp -m "allowed 1"
  pub -i d2 -t devices/d2/telemetry/temp -m "allowed 2"
  wait "$dash"
  expect "$1" 0 '^devices/d1/telemetry/temp allowed 1
devices/d2/telemetry/temp allowed 2
$' -- cat "$work/dash.out"
}
