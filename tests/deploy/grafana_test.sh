#!/usr/bin/env bash
# deploy/grafana's dashboard: valid JSON, well-formed panels, every query uses only metric names
# the server exports (server/metrics.cc) and is valid PromQL (promtool); a dashboard with a
# misspelt metric is refused.
#   tests/deploy/grafana_test.sh REPO_ROOT
set -uo pipefail
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
command -v node >/dev/null && command -v promtool >/dev/null ||
  { echo "FAIL node or promtool missing (run tools/setup.sh)"; exit 1; }
check="$root/tests/deploy/check_dashboard.js"
dashboard="$root/deploy/grafana/fleetpdp-dashboard.json"

expect "the dashboard passes every check" 0 'dashboard checks passed' -- \
  node "$check" "$dashboard" "$root/server/metrics.cc" "$work/dashboard-rules.yaml"
expect "every query is valid PromQL (promtool check rules)" 0 'SUCCESS: [1-9][0-9]* rules found' -- \
  promtool check rules "$work/dashboard-rules.yaml"

sed 's/fleetpdp_decisions_total/fleetpdp_decision_total/' "$dashboard" >"$work/misspelt.json"
expect "a misspelt metric name is refused" 1 'FAIL .*not exported: fleetpdp_decision_total' -- \
  node "$check" "$work/misspelt.json" "$root/server/metrics.cc" "$work/x.yaml"
printf '{"panels": [' >"$work/broken.json"
expect "invalid JSON is refused" 1 'FAIL the dashboard is valid JSON' -- \
  node "$check" "$work/broken.json" "$root/server/metrics.cc" "$work/x.yaml"

[ "$fails" -eq 0 ] && echo "all grafana checks passed" || { echo "$fails check(s) failed"; exit 1; }
