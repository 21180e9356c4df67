#!/usr/bin/env bash
# Builds FleetPDP and runs the decision server on the shipped example bundle (embedded in the
# binary, signed with the published development key), shows one allowed and one denied check
# against it, then keeps serving in the foreground until Ctrl-C (SIGINT drains and exits).
#   tools/run-example.sh [--listen ADDR] [--metrics-listen ADDR]   (defaults 127.0.0.1:50051, :9090)
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:50051
metrics=127.0.0.1:9090
while [ $# -gt 0 ]; do
  case $1 in
    --listen) listen=$2; shift 2 ;;
    --metrics-listen) metrics=$2; shift 2 ;;
    *) echo "usage: tools/run-example.sh [--listen ADDR] [--metrics-listen ADDR]" >&2; exit 2 ;;
  esac
done
tools/build.sh release fleetpdp
fleetpdp=build/release/cli/fleetpdp

"$fleetpdp" serve --listen "$listen" --metrics-listen "$metrics" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 100); do
  "$fleetpdp" check --server "$listen" --bundle-info --timeout 1s 2>/dev/null | grep -q 'serving: *yes' && break
  kill -0 $server 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.1
done

echo "== an allowed check: a camera publishes its own telemetry"
"$fleetpdp" check --server "$listen" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/telemetry/temperature
echo "== a denied check: a device publishes a command"
"$fleetpdp" check --server "$listen" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/cmd/reboot
echo "== serving on $listen (metrics: http://$metrics/metrics); Ctrl-C to stop"
wait $server
