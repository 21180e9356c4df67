#!/usr/bin/env bash
# `fleetpdp serve` and `fleetpdp check` as an operator runs them, over loopback: the embedded
# example bundle, a watched bundle file reloaded on SIGHUP, a tampered and a rolled-back bundle
# rejected while the last good one keeps serving, a cold start from the persisted last good copy
# when the source is gone, TLS and mutual TLS, and a clean SIGTERM.
#   tests/server/serve_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/../expect.sh"

# start LOG ARGS…: starts a server, waits until it listens, sets $port.
start() {
  local log=$1; shift
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  pids+=($!)
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; sed 's/^/    /' "$log"; exit 1
}

# reload: sends SIGHUP and waits (up to 10 s) until BundleInfo shows the attempt's outcome.
reload() {
  local before after
  before=$("$fleetpdp" check --server "127.0.0.1:$port" --bundle-info 2>&1)
  kill -HUP "$pid"
  for _ in $(seq 100); do
    after=$("$fleetpdp" check --server "127.0.0.1:$port" --bundle-info 2>&1)
    [ "$after" != "$before" ] && return 0
    sleep 0.1
  done
}

# 1. No flags: the embedded example bundle.
start "$work/embedded.log"
expect "embedded bundle: an allowed check" 0 \
  'ALLOW \(ALLOWED\).*device-baseline/own-telemetry.*bundle rev 1 digest [0-9a-f]{64}, decision id' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/telemetry/temp
expect "embedded bundle: a denied check names the deny" 0 \
  'DENY \(EXPLICIT_DENY\).*device-baseline/never-commands-from-devices' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/cmd/reboot
expect "a malformed request is refused naming the field" 3 'resource.*contains a wildcard' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish \
  --resource 'devices/+/x'
expect "the embedded bundle is announced as development-only" 0 'embedded example bundle.*not for production' -- \
  cat "$work/embedded.log"
kill -TERM "$pid"; wait "$pid"; code=$?
expect "SIGTERM drains and exits 0" 0 'SIGTERM: draining.*stopped' -- sh -c "cat '$work/embedded.log'; exit $code"

# 2. A watched bundle file: reload on SIGHUP; bad bundles rejected, the last good one kept.
keys="$root/examples/keys"
cp "$root/examples/fleet.bundle.tar.gz" "$work/live.tar.gz"
start "$work/file.log" --bundle "$work/live.tar.gz" --keys "$keys/trusted" --poll-interval 1h
first=$("$fleetpdp" check --server "127.0.0.1:$port" --bundle-info | sed -n 's/^digest: *//p')
expect "file source: serving revision 1" 0 'serving: +yes.*revision: +1' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info

# Revision 2 with a changed policy, signed: accepted on SIGHUP.
cp -r "$root/examples/fleet" "$work/src"
sed -i 's/^revision: 1/revision: 2/' "$work/src/manifest.yaml"
"$fleetpdp" bundle build "$work/src" -o "$work/rev2.tar.gz" >/dev/null
"$fleetpdp" bundle sign "$work/rev2.tar.gz" --key "$keys/private/dev-DO-NOT-USE.key.pem" --key-id dev-DO-NOT-USE >/dev/null
cp "$work/rev2.tar.gz" "$work/live.tar.gz"
reload
expect "SIGHUP: revision 2 installed with a new digest" 0 'revision: +2.*last error: +-' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
second=$("$fleetpdp" check --server "127.0.0.1:$port" --bundle-info | sed -n 's/^digest: *//p')
expect "the reload ran paced, and the log says how" 0 \
  'serving "example-fleet" rev 2.*bundle: reload paced to 50% of a core: [0-9.]+ s of CPU in [0-9]+ bursts, [0-9.]+ s of pauses' -- \
  cat "$work/file.log"
[ "$first" != "$second" ] && echo "ok   the digest changed" || { echo "FAIL digest unchanged"; fails=$((fails+1)); }

# A tampered bundle: rejected, revision 2 keeps serving, the reason is reported.
mkdir "$work/t" && tar -xzf "$work/rev2.tar.gz" -C "$work/t"
sed -i 's/own-telemetry/own-telemetrx/' "$work/t/policies/devices.yaml"
tar -czf "$work/live.tar.gz" -C "$work/t" .
reload
expect "a tampered bundle is rejected and the last good one kept" 0 \
  'serving: +yes.*revision: +2.*last error: .*rejected \(tampered\)' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
expect "and decisions still come from revision 2" 0 'ALLOW.*bundle rev 2' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/telemetry/t

# Rolling back to revision 1: refused.
cp "$root/examples/fleet.bundle.tar.gz" "$work/live.tar.gz"
reload
expect "a rollback to revision 1 is refused" 0 'revision: +2.*last error: .*rejected \(rollback\)' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
kill -TERM "$pid"; wait "$pid"

# 3. No usable bundle: the server runs, NOT_SERVING, and Check is UNAVAILABLE.
start "$work/none.log" --bundle "$work/missing.tar.gz" --keys "$keys/trusted" --poll-interval 1h
expect "without a bundle, checks are UNAVAILABLE" 3 'no verified bundle' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish --resource a
kill -TERM "$pid"; wait "$pid"

# 4. The persisted copy: a cold start without the source serves the last good bundle.
mkdir "$work/state"
cp "$work/rev2.tar.gz" "$work/live.tar.gz"
start "$work/persist1.log" --bundle "$work/live.tar.gz" --keys "$keys/trusted" --poll-interval 1h \
  --persist "$work/state/last-good.tar.gz"
expect "the last good bundle is persisted and verifies" 0 'VERIFIED.*rev 2, digest' -- \
  "$fleetpdp" bundle verify "$work/state/last-good.tar.gz" --keys "$keys/trusted"
kill -TERM "$pid"; wait "$pid"
rm "$work/live.tar.gz"
start "$work/persist2.log" --bundle "$work/live.tar.gz" --keys "$keys/trusted" --poll-interval 1h \
  --persist "$work/state/last-good.tar.gz"
expect "cold start without the source: the persisted revision 2 serves" 0 \
  "serving: +yes.*revision: +2.*digest: +$second" -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
expect "and decides" 0 'ALLOW \(ALLOWED\).*bundle rev 2' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish \
  --resource devices/cam-0042/telemetry/t
expect "the log says the source failed and the persisted copy was used" 0 \
  'bundle: .*live.tar.gz.*trying the persisted copy.*serving "example-fleet" rev 2' -- cat "$work/persist2.log"
kill -TERM "$pid"; wait "$pid"

# A tampered persisted copy is verified like any bundle: refused, nothing is served.
mkdir "$work/p" && tar -xzf "$work/state/last-good.tar.gz" -C "$work/p"
sed -i 's/own-telemetry/own-telemetrx/' "$work/p/policies/devices.yaml"
tar -czf "$work/state/last-good.tar.gz" -C "$work/p" .
start "$work/persist3.log" --bundle "$work/live.tar.gz" --keys "$keys/trusted" --poll-interval 1h \
  --persist "$work/state/last-good.tar.gz"
expect "a tampered persisted copy is refused: checks are UNAVAILABLE" 3 'no verified bundle' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal cam-0042 --action mqtt:publish --resource a
expect "and the reason is logged" 0 'rejected \(tampered\)' -- cat "$work/persist3.log"
# The source comes back: served on the next reload.
cp "$work/rev2.tar.gz" "$work/live.tar.gz"
reload
expect "when the source returns, it is served" 0 'serving: +yes.*revision: +2.*last error: +-' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
kill -TERM "$pid"; wait "$pid"

# 5. Mutual TLS, as an operator configures it: only clients with a certificate from the CA.
"$root/tests/testdata/make-test-certs.sh" "$work/pki" >/dev/null
pki=$work/pki
start "$work/tls.log" --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-client-ca "$pki/ca.pem"
expect "mTLS: the server says how it listens" 0 'port [0-9]+\) over mutual TLS as "CN=localhost"' -- cat "$work/tls.log"
expect "mTLS: a client with a certificate from the CA gets a decision" 0 'ALLOW \(ALLOWED\)' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-server-name localhost \
  --tls-cert "$pki/client.pem" --tls-key "$pki/client.key" \
  --principal cam-0042 --action mqtt:publish --resource devices/cam-0042/telemetry/t
expect "mTLS: a client without a certificate is refused" 3 'UNAVAILABLE' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-server-name localhost \
  --bundle-info
expect "mTLS: a client with a certificate from another CA is refused" 3 'UNAVAILABLE' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-server-name localhost \
  --tls-cert "$pki/rogue.pem" --tls-key "$pki/rogue.key" --bundle-info
expect "mTLS: a plaintext client is refused" 3 'UNAVAILABLE' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
kill -TERM "$pid"; wait "$pid"
expect "a key that does not match the certificate stops the server at start" 2 \
  'fatal: tls key .*server2.key" does not match the certificate' -- \
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --tls-cert "$pki/server.pem" \
  --tls-key "$pki/server2.key"
expect "a reload CPU share outside (0, 1] is a usage error" 2 \
  'fatal: --reload-cpu-share: .*greater than 0 and at most 1' -- \
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --reload-cpu-share 0
printf 'reload_cpu_share: 1.5\n' >"$work/share.yaml"
expect "a reload CPU share outside (0, 1] in --config names the file, line and key" 2 \
  "fatal: $work/share.yaml:1:1: reload_cpu_share: \"1.5\" is not a number greater than 0 and at most 1" -- \
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --config "$work/share.yaml"
expect "a certificate without a key is a usage error" 2 'fatal: --tls-cert and --tls-key go together' -- \
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --tls-cert "$pki/server.pem"

[ "$fails" -eq 0 ] && echo "all serve checks passed" || { echo "$fails check(s) failed"; exit 1; }
