#!/usr/bin/env bash
# A real Prometheus scrapes `fleetpdp serve` (issue 4): one replica on the embedded example bundle,
# Prometheus answers fleetpdp_bundle_info with exactly one series carrying the example bundle's
# digest, and `promtool check metrics` accepts the scraped text.
#   tests/server/prometheus_scrape_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
trap 'kill_all; rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
source "$(dirname "$0")/../prometheus_lib.sh"
command -v promtool >/dev/null || { echo "FAIL promtool is not installed (run tools/setup.sh)"; exit 1; }

digest=$("$fleetpdp" bundle inspect "$root/examples/fleet.bundle.tar.gz" | sed -n 's/^digest: *//p')
[[ "$digest" =~ ^[0-9a-f]{64}$ ]] || { echo "FAIL no digest from bundle inspect: '$digest'"; exit 1; }

start_replica "$work/serve.log" "$fleetpdp"
expect "the server serves the example bundle" 0 "digest: +$digest" -- \
  "$fleetpdp" check --server "127.0.0.1:$grpc_port" --bundle-info

curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt" ||
  { echo "FAIL GET /metrics"; exit 1; }
expect "promtool check metrics accepts the scraped text" 0 '' -- \
  sh -c "promtool check metrics <'$work/metrics.txt'"
expect "the scraped text has one fleetpdp_bundle_info series" 0 '^1[[:space:]]*$' -- \
  sh -c "grep -c '^fleetpdp_bundle_info{' '$work/metrics.txt'"

start_prometheus "$work/prom" "" "127.0.0.1:$metrics_port"
wait_for "Prometheus scrapes the replica" 30 'length == 1 and .[0].value[1] == "1"' \
  'up{job="fleetpdp"}'
wait_for "fleetpdp_bundle_info: exactly one series, with the example bundle's digest" 30 \
  "length == 1 and .[0].metric.digest == \"$digest\" and .[0].metric.revision == \"1\" and .[0].metric.key_id == \"dev-DO-NOT-USE\" and .[0].value[1] == \"1\"" \
  'fleetpdp_bundle_info'
wait_for "the last-success timestamp is a recent Unix time" 10 \
  'length == 1 and (.[0].value[1] | tonumber) > 1.7e9' \
  'fleetpdp_bundle_last_success_timestamp_seconds'

[ "$fails" -eq 0 ] && echo "all prometheus scrape checks passed" || { echo "$fails check(s) failed"; exit 1; }
