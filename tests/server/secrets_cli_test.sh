#!/usr/bin/env bash
# "No key or secret ever reaches a log": `fleetpdp serve` started with a TLS key, a bundle signing
# keyring, a mask salt and a decision log, driven through every error path we can reach — a key
# that does not match, a key given as the certificate, a certificate given as the key, a private
# signing key among the trusted keys, a short salt, bad caller lists, an unauthorized caller, a
# tampered bundle — and stderr and the decision log searched for private key material (PEM
# markers and every base64 line of every key file) and for the salt.
#   tests/server/secrets_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "work: $work"
source "$(dirname "$0")/../expect.sh"

pki="$work/pki"
"$root/tests/testdata/make-test-certs.sh" "$pki" >/dev/null || { echo "FAIL openssl"; exit 1; }
keys="$root/examples/keys"
signing_key="$keys/private/dev-DO-NOT-USE.key.pem"
openssl rand -hex 24 >"$work/salt"
printf 'pepper-7\n' >"$work/short-salt"
out="$work/all-output.txt"  # every stderr and decision log of this test, appended
: >"$out"

# serve_fails NAME REGEX ARGS…: serve must exit 2 with REGEX in its output; the output is kept.
serve_fails() {
  local name=$1 regex=$2; shift 2
  expect "$name" 2 "$regex" -- "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" "$@"
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" "$@" >>"$out" 2>&1
}
tls=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key")
mtls=("${tls[@]}" --tls-client-ca "$pki/ca.pem")

# 1. Configuration errors, each refused at startup naming the file or flag (never its content).
serve_fails "a key of another certificate" 'tls key ".*server2.key" does not match' \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server2.key"
serve_fails "a key given as the certificate" 'tls certificate ".*server.key": no PEM certificate' \
  --tls-cert "$pki/server.key" --tls-key "$pki/server.key"
serve_fails "a certificate given as the key" 'tls key ".*server.pem": not an unencrypted PEM private key' \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server.pem"
mkdir "$work/bad-keys" && cp "$signing_key" "$work/bad-keys/dev-DO-NOT-USE.pem"
serve_fails "a private signing key among the trusted keys" 'fatal: .*dev-DO-NOT-USE.pem' \
  --bundle "$root/examples/fleet.bundle.tar.gz" --keys "$work/bad-keys"
serve_fails "a short mask salt" 'mask salt file ".*short-salt": 8 bytes; at least 16' \
  --decision-log "$work/d.jsonl" --decision-log-mask resource --decision-log-mask-salt-file "$work/short-salt"
serve_fails "a mask salt without fields to mask" 'mask-salt-file keys the masks of --decision-log-mask' \
  --decision-log "$work/d.jsonl" --decision-log-mask-salt-file "$work/salt"
serve_fails "caller lists without mutual TLS" '--allow-callers and --allow-admin-callers need mutual TLS' \
  "${tls[@]}" --allow-callers 'CN=broker-*'
serve_fails "a caller list with an unknown matcher" '--allow-callers: "XN=broker": unknown matcher' \
  "${mtls[@]}" --allow-callers 'CN=broker-*,XN=broker'

# 2. A running server: mutual TLS with caller lists, a signed bundle, a salted masked log.
cp "$root/examples/fleet.bundle.tar.gz" "$work/live.tar.gz"
"$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" "${mtls[@]}" \
  --allow-callers 'CN=broker-*' --allow-admin-callers 'CN=ops-admin' \
  --bundle "$work/live.tar.gz" --keys "$keys/trusted" --poll-interval 1h \
  --decision-log "$work/decisions.jsonl" --decision-log-mask principal.attributes.serial,context.source_ip \
  --decision-log-mask-salt-file "$work/salt" >"$work/serve.log" 2>&1 &
pid=$!; pids+=($pid)
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL server did not start"; cat "$work/serve.log"; exit 1; }
as() {  # as NAME ARGS…: fleetpdp check with NAME's client certificate
  local who=$1; shift
  "$fleetpdp" check --server "127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-server-name localhost \
    --tls-cert "$pki/$who.pem" --tls-key "$pki/$who.key" "$@"
}
expect "the startup log names the caller lists by count" 0 \
  'caller authorization: decisions .*1 entry of --allow-callers; admin .*1 entry of --allow-admin-callers; health: open' -- \
  cat "$work/serve.log"
expect "a broker gets a decision" 0 'ALLOW \(ALLOWED\)' -- \
  as client --principal cam-0042 --action mqtt:publish --resource devices/cam-0042/telemetry/t \
  --attr serial=SN-0042-SECRET --context source_ip=198.51.100.23
expect "an intruder of the same CA is denied, naming the rule" 3 \
  'caller not authorized for fleetpdp.v1.DecisionService/Check.*--allow-callers' -- \
  as intruder --principal cam-0042 --action mqtt:publish --resource devices/cam-0042/telemetry/t
expect "the broker is not an admin" 3 'GetBundleInfo.*not authorized.*--allow-admin-callers' -- as client --bundle-info
# A tampered bundle, refused on SIGHUP.
mkdir "$work/t" && tar -xzf "$work/live.tar.gz" -C "$work/t"
sed -i 's/own-telemetry/own-telemetrx/' "$work/t/policies/"*.yaml
tar -czf "$work/live.tar.gz" -C "$work/t" .
kill -HUP "$pid"
for _ in $(seq 100); do grep -q 'rejected (tampered)' "$work/serve.log" && break; sleep 0.1; done
expect "the admin sees the refused bundle" 0 'last error: .*rejected \(tampered\)' -- as ops --bundle-info
kill -TERM "$pid"; wait "$pid"
expect "the denied caller is logged with its identity" 0 \
  'caller authorization: denied /fleetpdp.v1.DecisionService/Check to subject "CN=intruder-1" SAN \[dns:intruder.fleet.local\]' -- \
  cat "$work/serve.log"
expect "the decision log holds the masked decision" 0 '"serial":"hmac:[0-9a-f]{16}".*"source_ip":"hmac:[0-9a-f]{16}"' -- \
  cat "$work/decisions.jsonl"
cat "$work/serve.log" "$work/decisions.jsonl" >>"$out"

# 3. The search: no PEM private key block, no base64 line of any key file, no salt, no masked value.
leaks=0
# (An error may name the expected format, '("-----BEGIN PRIVATE KEY-----")'; a PEM block ends the
# line with its marker.)
grep -qE 'PRIVATE KEY-----$|^-----END' "$out" && { echo "FAIL a PEM private key block reached the output"; leaks=1; }
for key in "$pki"/*.key "$signing_key"; do
  while IFS= read -r line; do
    case $line in -----*|"") continue ;; esac
    if grep -qF -- "$line" "$out"; then echo "FAIL a line of $(basename "$key") reached the output"; leaks=1; fi
  done <"$key"
done
for secret in "$(cat "$work/salt")" pepper-7 SN-0042-SECRET 198.51.100.23; do
  grep -qF -- "$secret" "$out" && { echo "FAIL \"$secret\" reached the output"; leaks=1; }
done
lines=$(wc -l <"$out")
if [ "$leaks" = 0 ]; then echo "ok   no key material, salt or masked value in $lines lines of output"; else fails=$((fails+1)); fi

if [ "$fails" = 0 ]; then echo "all secrets checks passed"; else echo "$fails secrets checks FAILED"; exit 1; fi
