#!/usr/bin/env bash
# Drift between replicas (issue 6), seen by `fleetpdp drift` and by a real Prometheus evaluating
# deploy/prometheus's rules: three replicas on loopback, one lagging on an older signed bundle;
# both report it; once it gets the new bundle (file replaced + SIGHUP) both clear. Then the same
# over mutual TLS.
#   tests/server/drift_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
trap 'kill_all; rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
source "$(dirname "$0")/../prometheus_lib.sh"
keys="$root/examples/keys"

# Revision 2 of the example fleet, signed with the published development key; revision 1 is the
# committed example bundle.
cp -r "$root/examples/fleet" "$work/src"
sed -i 's/^revision: 1$/revision: 2/' "$work/src/manifest.yaml"
grep -q '^revision: 2$' "$work/src/manifest.yaml" || { echo "FAIL could not make revision 2"; exit 1; }
"$fleetpdp" bundle build "$work/src" -o "$work/rev2.tar.gz" >/dev/null &&
  "$fleetpdp" bundle sign "$work/rev2.tar.gz" --key "$keys/private/dev-DO-NOT-USE.key.pem" \
    --key-id dev-DO-NOT-USE >/dev/null || { echo "FAIL building revision 2"; exit 1; }
rev2=$("$fleetpdp" bundle inspect "$work/rev2.tar.gz" | sed -n 's/^digest: *//p')

# Replicas a and b serve revision 2; c lags on revision 1.
declare -A grpc metrics pid_of
for r in a b c; do
  if [ "$r" = c ]; then bundle="$root/examples/fleet.bundle.tar.gz"; else bundle="$work/rev2.tar.gz"; fi
  cp "$bundle" "$work/$r.tar.gz"
  start_replica "$work/$r.log" "$fleetpdp" --bundle "$work/$r.tar.gz" --keys "$keys/trusted" \
    --poll-interval 1h
  grpc[$r]=$grpc_port metrics[$r]=$metrics_port pid_of[$r]=$pid
done
targets="127.0.0.1:${grpc[a]},127.0.0.1:${grpc[b]},127.0.0.1:${grpc[c]}"
lagging="127.0.0.1:${grpc[c]}"

# 1. fleetpdp drift names the lagging replica.
expect "drift: exit 1 naming the replica on revision 1" 1 \
  "$lagging +1 +[0-9a-f]{64} +dev-DO-NOT-USE +DRIFT.*fleetpdp drift: $lagging serves rev 1 .*the majority serves rev 2 digest $rev2" -- \
  "$fleetpdp" drift --targets "$targets"
expect "drift: the two replicas on revision 2 are ok" 1 \
  "127.0.0.1:${grpc[a]} +2 +$rev2 +dev-DO-NOT-USE +ok.*127.0.0.1:${grpc[b]} +2 +$rev2 .* ok" -- \
  "$fleetpdp" drift --targets "$targets"
dead=$(free_port)
expect "drift: an unreachable replica exits 3" 3 "127.0.0.1:$dead .*UNREACHABLE.*not every replica answered" -- \
  "$fleetpdp" drift --targets "$targets,127.0.0.1:$dead" --timeout 2s
expect "drift: no targets is a usage error" 2 'missing --targets' -- "$fleetpdp" drift
expect "drift: a dns:/// target is resolved, and a replica named twice is asked once" 0 \
  "^TARGET .*127\.0\.0\.1:${grpc[a]} +2 .* ok.1 replica\(s\) agree" -- \
  "$fleetpdp" drift --targets "dns:///127.0.0.1:${grpc[a]},127.0.0.1:${grpc[a]}"
expect "drift: dns:/// without a port is a usage error" 2 'is not dns:///NAME:PORT' -- \
  "$fleetpdp" drift --targets dns:///localhost
# A fourth replica without a bundle (its source is missing): reachable but not agreeing.
start_replica "$work/empty.log" "$fleetpdp" --bundle "$work/missing.tar.gz" --keys "$keys/trusted" \
  --poll-interval 1h
expect "drift: a replica serving no bundle exits 1" 1 \
  "127\.0\.0\.1:$grpc_port +- +- +- +NO BUNDLE.*last load failed: .*fleetpdp drift: 127\.0\.0\.1:$grpc_port serves no verified bundle" -- \
  "$fleetpdp" drift --targets "127.0.0.1:${grpc[a]},127.0.0.1:$grpc_port"
kill -TERM "$pid"; wait "$pid"

# 2. Prometheus, scraping the three, evaluates the drift rule as firing. The rule file is
# deploy/prometheus's with every `for:` cut to 2s so that the test need not wait 5 minutes.
sed 's/^\( *for:\) .*/\1 2s/' "$root/deploy/prometheus/fleetpdp-rules.yaml" >"$work/rules.yaml"
start_prometheus "$work/prom" "$work/rules.yaml" \
  "127.0.0.1:${metrics[a]}" "127.0.0.1:${metrics[b]}" "127.0.0.1:${metrics[c]}"
wait_for "Prometheus scrapes three bundle_info series" 30 'length == 3' 'fleetpdp_bundle_info'
drift_expr=$(prom_rule_query FleetPDPBundleDrift) || { echo "FAIL FleetPDPBundleDrift not loaded"; exit 1; }
echo "     drift expression: $(tr -s ' \n' ' ' <<<"$drift_expr")"
wait_for "the drift expression finds 2 different digests" 20 \
  'length == 1 and .[0].value[1] == "2" and .[0].metric.job == "fleetpdp"' "$drift_expr"
wait_for_alert FleetPDPBundleDrift 30 firing
wait_for "the lagging replica is the one on the minority digest" 10 \
  "length == 1 and .[0].metric.instance == \"127.0.0.1:${metrics[c]}\"" \
  "fleetpdp_bundle_info unless on (digest) fleetpdp_bundle_info{digest=\"$rev2\"}"

# 3. The lagging replica gets revision 2 (published by rename, then SIGHUP): both clear.
cp "$work/rev2.tar.gz" "$work/c.tar.gz.tmp" && mv "$work/c.tar.gz.tmp" "$work/c.tar.gz"
kill -HUP "${pid_of[c]}"
for _ in $(seq 100); do
  "$fleetpdp" check --server "$lagging" --bundle-info 2>/dev/null | grep -qE 'revision: +2' && break
  sleep 0.1
done
expect "drift: exit 0 once the lagging replica caught up" 0 \
  "3 replica\(s\) agree: rev 2 digest $rev2" -- "$fleetpdp" drift --targets "$targets"
wait_for "the drift expression is empty" 30 'length == 0' "$drift_expr"
wait_for_alert FleetPDPBundleDrift 30 inactive
wait_for "still one bundle_info series per replica" 10 \
  "length == 3 and all(.[]; .metric.digest == \"$rev2\")" 'fleetpdp_bundle_info'

# 4. Over mutual TLS: two replicas requiring client certificates from the test CA.
"$root/tests/testdata/make-test-certs.sh" "$work/pki" >/dev/null || { echo "FAIL making test certificates"; exit 1; }
pki="$work/pki"
tls_targets=""
for r in d e; do
  start_replica "$work/$r.log" "$fleetpdp" --bundle "$work/rev2.tar.gz" --keys "$keys/trusted" \
    --poll-interval 1h --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-client-ca "$pki/ca.pem"
  tls_targets+="127.0.0.1:$grpc_port,"
done
expect "drift over mutual TLS: the replicas agree" 0 "2 replica\(s\) agree: rev 2 digest $rev2" -- \
  "$fleetpdp" drift --targets "$tls_targets" --tls-ca "$pki/ca.pem" --tls-server-name localhost \
  --tls-cert "$pki/client.pem" --tls-key "$pki/client.key"
expect "drift over TLS without a client certificate: unreachable, exit 3" 3 'UNREACHABLE.*not every replica answered' -- \
  "$fleetpdp" drift --targets "$tls_targets" --tls-ca "$pki/ca.pem" --tls-server-name localhost --timeout 3s
expect "drift: a certificate without its key is a usage error" 2 'tls' -- \
  "$fleetpdp" drift --targets "$tls_targets" --tls-ca "$pki/ca.pem" --tls-cert "$pki/client.pem"

[ "$fails" -eq 0 ] && echo "all drift checks passed" || { echo "$fails check(s) failed"; exit 1; }
