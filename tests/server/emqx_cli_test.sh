#!/usr/bin/env bash
# `fleetpdp serve --emqx-listen` asked with curl the way EMQX 5's HTTP authorizer asks (JSON body,
# form body, GET with query parameters), on the embedded example bundle; then the no-bundle fail
# mode, a bad flag, and a clean SIGTERM.
#   tests/server/emqx_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/../expect.sh"
command -v curl >/dev/null || { echo "curl is missing (tools/setup.sh installs it)"; exit 1; }

# start LOG ARGS…: starts a server with the EMQX endpoint on a free port, sets $pid and $url.
start() {
  local log=$1; shift
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --emqx-listen 127.0.0.1:0 "$@" \
    >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  local port
  for _ in $(seq 100); do
    port=$(sed -n 's/.*EMQX authorization on .* (port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null)
    if [ -n "$port" ]; then url="http://127.0.0.1:$port/v1/emqx/authorize"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; sed 's/^/    /' "$log"; exit 1
}

# ask ARGS…: curl printing the body, a space and the status code.
ask() { curl -sS --max-time 10 -w ' %{http_code}' "$@"; }

json() { # json CLIENTID ACTION TOPIC RETAIN: a body as EMQX renders the template in docs/brokers.md
  printf '{"clientid":"%s","username":"","peerhost":"10.20.1.7","action":"%s","topic":"%s","qos":"1","retain":"%s"}' \
    "$1" "$2" "$3" "$4"
}

# 1. The embedded example bundle: cam-0042 may publish its telemetry, never commands.
start "$work/serve.log"
expect "JSON: cam-0042 may publish its own telemetry" 0 '^\{"result":"allow"\} 200' -- \
  ask -H 'Content-Type: application/json' -d "$(json cam-0042 publish devices/cam-0042/telemetry/temp false)" "$url"
expect "JSON: cam-0042 may not publish to a device's commands" 0 '^\{"result":"deny"\} 200' -- \
  ask -H 'Content-Type: application/json' -d "$(json cam-0042 publish devices/cam-0042/cmd/reboot false)" "$url"
expect "form: allowed" 0 '^\{"result":"allow"\} 200' -- \
  ask --data-urlencode clientid=cam-0042 --data-urlencode action=publish \
  --data-urlencode topic=devices/cam-0042/telemetry/temp --data-urlencode qos=0 "$url"
expect "form: denied" 0 '^\{"result":"deny"\} 200' -- \
  ask --data-urlencode clientid=cam-0042 --data-urlencode action=publish \
  --data-urlencode topic=devices/cam-7/cmd/x "$url"
expect "GET: a subscribe to its own commands is allowed" 0 '^\{"result":"allow"\} 200' -- \
  ask -G --data-urlencode clientid=cam-0042 --data-urlencode action=subscribe \
  --data-urlencode 'topic=devices/cam-0042/cmd/#' "$url"
expect "GET: a subscribe to every device's commands is denied" 0 '^\{"result":"deny"\} 200' -- \
  ask -G --data-urlencode clientid=cam-0042 --data-urlencode action=subscribe \
  --data-urlencode 'topic=devices/+/cmd/#' "$url"
expect "a request without a topic gets 400 naming the field" 0 '"field":"topic".* 400' -- \
  ask -H 'Content-Type: application/json' -d '{"clientid":"cam-0042","action":"publish"}' "$url"
expect "the endpoint is announced in the log" 0 \
  'EMQX authorization on 127\.0\.0\.1:0 \(port [0-9]+\) POST/GET /v1/emqx/authorize, principal clientid, without a bundle: deny' -- \
  cat "$work/serve.log"
kill -TERM "$pid"; wait "$pid"; code=$?
expect "SIGTERM stops the endpoint and exits 0" 0 'SIGTERM: draining.*stopped' -- \
  sh -c "cat '$work/serve.log'; exit $code"
expect "and the endpoint is gone" 7 '.*' -- curl -sS --max-time 5 -d x "$url"

# 2. No bundle (the source is missing): the configured fail mode.
start "$work/none.log" --bundle "$work/missing.tar.gz" --keys "$root/examples/keys/trusted" \
  --poll-interval 1h --emqx-no-bundle ignore
expect "no bundle with --emqx-no-bundle ignore: ignore" 0 '^\{"result":"ignore"\} 200' -- \
  ask -H 'Content-Type: application/json' -d "$(json cam-0042 publish devices/cam-0042/telemetry/temp false)" "$url"
kill -TERM "$pid"; wait "$pid"

# 3. A bad value is a usage error naming the flag.
expect "a bad --emqx-no-bundle is refused" 2 'emqx-no-bundle: .*"allow" is not deny or ignore' -- \
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --emqx-listen 127.0.0.1:0 --emqx-no-bundle allow

if [ "$fails" -eq 0 ]; then echo "all emqx checks passed"; else echo "$fails emqx check(s) failed"; exit 1; fi
