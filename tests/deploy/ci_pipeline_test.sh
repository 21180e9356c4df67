#!/usr/bin/env bash
# deploy/ci/pipeline.sh end to end on examples/policy-repo: it lints, tests, builds, reports,
# diffs, signs and publishes with the real subcommands; the
# published bundle verifies, the compliance report is an artifact, and `fleetpdp serve` loads the
# published bundle over HTTP and picks up the next revision. A broken policy test in a copy stops
# the pipeline at `test`, naming the test. The lint and diff stages are checked against their
# interface (exit 0 / 1 / other) through a wrapper that stands in for those two subcommands, and
# for real: a revision that allows more fails at diff with the impact named, and passes approved.
#   tests/deploy/ci_pipeline_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/../expect.sh"
pipeline="$root/deploy/ci/pipeline.sh"
repo="$root/examples/policy-repo"
pub="$work/public"
export FLEETPDP="$fleetpdp"

run() {  # run WORKDIR ARGS…: the whole pipeline, publishing to $pub
  local w=$1; shift
  "$pipeline" --publish-dir "$pub" --work-dir "$w" "$@"
}

expect "every stage passes on the policy repository, with the real lint and diff" 0 \
  '==> \[1/7\] lint.*0 findings: 0 critical, 0 high.*==> \[2/7\] test.*27 passed, 0 failed.*WARNING: no signing key given.*THROWAWAY.*VERIFIED .*signed by "ci-throwaway".*published .*/public/acme-plant.tar.gz \(rev 1.*lint +ok.*test +ok \(27 passed, 0 failed\).*build +ok \(acme-plant rev 1.*report +ok \(0 gap\(s\)\).*diff +ok \(first release.*sign +ok.*publish +ok.*PIPELINE PASSED' -- \
  run "$work/w1" "$repo"
expect "the published bundle verifies against the signing key's public half" 0 \
  "VERIFIED $pub/acme-plant.tar.gz: acme-plant rev 1, digest [0-9a-f]{64}, signed by \"ci-throwaway\"" -- \
  "$fleetpdp" bundle verify "$pub/acme-plant.tar.gz" --keys "$work/w1/trusted"
digest=$("$fleetpdp" bundle inspect "$pub/acme-plant.tar.gz" | sed -n 's/^digest: *//p')
expect "index.json names the live bundle, its revision and digest" 0 \
  "\"name\": \"acme-plant\",.*\"revision\": 1,.*\"digest\": \"$digest\",.*\"bundle\": \"acme-plant.tar.gz\"" -- \
  cat "$pub/index.json"
expect "the published checksum matches the archive" 0 'acme-plant.tar.gz: OK' -- \
  sh -c "cd '$pub' && sha256sum -c acme-plant.tar.gz.sha256"
expect "the detached signature list is the one inside the bundle" 0 "\"digest\": \"$digest\"" -- \
  cat "$pub/acme-plant.signatures.json"
expect "the compliance report is published beside the bundle" 0 \
  '^# Compliance report: acme-plant rev 1.*- gaps: 0' -- cat "$pub/compliance-report.md"
expect "and kept with its revision, in JSON too" 0 '"schema": "fleetpdp.compliance-report/v1"' -- \
  cat "$pub/revisions/1/compliance-report.json"
expect "the revision directory keeps the bundle and the test results" 0 '<testsuite name="fleetpdp" tests="27" failures="0"' -- \
  sh -c "cmp '$pub/revisions/1/acme-plant.tar.gz' '$pub/acme-plant.tar.gz' && cat '$pub/revisions/1/junit.xml'"

expect "an unchanged source publishes nothing (and skipped stages are announced loudly)" 0 \
  '# WARNING: FLEETPDP_PIPELINE_SKIP=lint,diff.*# SKIPPING stage lint.*same digest: nothing to publish.*lint +SKIPPED.*diff +SKIPPED.*PIPELINE PASSED' -- \
  env FLEETPDP_PIPELINE_SKIP=lint,diff "$pipeline" --publish-dir "$pub" --work-dir "$work/w2" "$repo"

# A broken policy test: the pipeline stops at `test`, names the test and publishes nothing.
cp -r "$repo" "$work/broken"
sed -i 's|resource: devices/temp-001/telemetry/celsius|resource: devices/temp-002/telemetry/celsius|' \
  "$work/broken/tests/devices_test.yaml"
sed -i 's/^revision: 1/revision: 2/' "$work/broken/manifest.yaml"
expect "a failing policy test stops the pipeline at test, naming the test" 1 \
  'FAIL devices: a sensor publishes its own telemetry.*stage test FAILED: policy tests failed: devices: a sensor publishes its own telemetry.*build +not run.*publish +not run.*PIPELINE FAILED at stage test' -- \
  run "$work/w3" "$work/broken"
expect "and nothing was published" 0 '"revision": 1,' -- cat "$pub/index.json"

# A changed policy without a revision bump would be refused by servers as a rollback.
cp -r "$repo" "$work/next"
sed -i 's|resources: \["plant/#"\]|resources: ["plant/#", "site/#"]|' "$work/next/policies/devices.yaml"
expect "a change without a revision bump fails at publish" 1 \
  'revision 1 is not above the published revision 1: servers would refuse it as a rollback.*PIPELINE FAILED at stage publish' -- \
  run "$work/w4" "$work/next"

# The published layout is what `fleetpdp serve --bundle URL` polls.
python3 -m http.server --bind 127.0.0.1 --directory "$pub" 0 >"$work/http.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  http_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/http.log" | head -1)
  [ -n "$http_port" ] && break
  sleep 0.1
done
[ -n "${http_port:-}" ] || { echo "FAIL http server did not start"; cat "$work/http.log"; exit 1; }
"$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --poll-interval 1s \
  --bundle "http://127.0.0.1:$http_port/acme-plant.tar.gz" --keys "$work/w1/trusted" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { echo "FAIL server did not start"; cat "$work/serve.log"; exit 1; }
expect "a server polling the published URL serves revision 1" 0 "revision: +1.*digest: +$digest" -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --bundle-info
expect "and decides with it" 0 'ALLOW' -- \
  "$fleetpdp" check --server "127.0.0.1:$port" --principal temp-001 --action mqtt:publish \
  --resource devices/temp-001/telemetry/celsius

# The next release, signed with the same key (the one the server trusts), reaches the server.
sed -i 's/^revision: 1/revision: 2/' "$work/next/manifest.yaml"
expect "the next revision publishes" 0 'published .*\(rev 2, .*PIPELINE PASSED' -- \
  run "$work/w5" "$work/next" --key "$work/w1/keys/ci-throwaway.key.pem" --key-id ci-throwaway
info=""
for _ in $(seq 100); do
  info=$("$fleetpdp" check --server "127.0.0.1:$port" --bundle-info 2>&1)
  [[ $info =~ revision:\ +2 ]] && break
  sleep 0.1
done
expect "the polling server picks it up" 0 'revision: +2' -- echo "$info"

# The real diff as a rollout gate: revision 3 also lets devices publish their status, which the
# published revision denies; the pipeline stops at diff naming the change, and passes approved.
cp -r "$work/next" "$work/rev3"
sed -i 's|resources: \["devices/${principal.id}/telemetry/#"\]|resources: ["devices/${principal.id}/telemetry/#", "devices/${principal.id}/status"]|' \
  "$work/rev3/policies/devices.yaml"
sed -i 's/^revision: 2/revision: 3/' "$work/rev3/manifest.yaml"
expect "a revision that allows more stops at diff, naming the requests it changes" 1 \
  'diff: [0-9]+ requests, [0-9]+ unchanged, 0 ALLOW→DENY, [1-9][0-9]* DENY→ALLOW.*DENY→ALLOW +mqtt:publish.*new: ALLOW \(ALLOWED: device-baseline/own-telemetry\).*e\.g\. [a-z0-9-]+ mqtt:publish devices/[a-z0-9-]+/status.*diff +FAILED.*publish +not run.*PIPELINE FAILED at stage diff' -- \
  run "$work/w8" "$work/rev3" --key "$work/w1/keys/ci-throwaway.key.pem" --key-id ci-throwaway
expect "approved, the same revision publishes" 0 'DENY→ALLOW.*decision changes APPROVED.*published .*\(rev 3, .*PIPELINE PASSED' -- \
  env FLEETPDP_APPROVE_CHANGES=1 "$pipeline" --publish-dir "$pub" --work-dir "$work/w9" "$work/rev3" \
  --key "$work/w1/keys/ci-throwaway.key.pem" --key-id ci-throwaway
expect "the previous revision stays in the revision history" 0 '' -- test -f "$pub/revisions/1/acme-plant.tar.gz"

# The lint and diff stages against their interface, through a stand-in for those subcommands.
cat >"$work/fake-fleetpdp" <<FAKE
#!/bin/sh
case "\$1" in
  lint) [ "\$2" = --help ] && exit 0; echo "FAKE_LINT_OUTPUT \$*"; exit \${FAKE_LINT_EXIT:-0} ;;
  diff) [ "\$2" = --help ] && exit 0; echo "FAKE_DIFF_IMPACT \$*"; exit \${FAKE_DIFF_EXIT:-0} ;;
esac
exec "$fleetpdp" "\$@"
FAKE
chmod +x "$work/fake-fleetpdp"
cat >"$work/no-lint-fleetpdp" <<FAKE
#!/bin/sh
[ "\$1" = lint ] && { echo 'fleetpdp: unknown command "lint"' >&2; exit 2; }
exec "$fleetpdp" "\$@"
FAKE
chmod +x "$work/no-lint-fleetpdp"
fresh() { rm -rf "$pub"; }  # every case below starts with nothing published but rev 2 of next

fresh
expect "a fleetpdp without lint is detected before any stage runs" 2 \
  'stage lint needs "fleetpdp lint", which fleetpdp [0-9.]+ does not have.*FLEETPDP_PIPELINE_SKIP=lint' -- \
  "$pipeline" --fleetpdp "$work/no-lint-fleetpdp" --publish-dir "$pub" "$repo"
expect "nothing ran" 1 '' -- test -e "$pub"
expect "lint runs as fleetpdp lint SRC --fail-on high, and its findings fail the pipeline" 1 \
  "FAKE_LINT_OUTPUT lint $repo --fail-on high.*PIPELINE FAILED at stage lint" -- \
  env FAKE_LINT_EXIT=1 "$pipeline" --fleetpdp "$work/fake-fleetpdp" --publish-dir "$pub" "$repo"
expect "with a clean lint and a first release, diff has nothing to compare" 0 \
  'no previous bundle .*first release.*lint +ok.*diff +ok \(first release.*PIPELINE PASSED' -- \
  "$pipeline" --fleetpdp "$work/fake-fleetpdp" --publish-dir "$pub" --work-dir "$work/w6" "$repo"
expect "decision changes fail the pipeline at diff, with the impact printed" 1 \
  "FAKE_DIFF_IMPACT diff $pub/acme-plant.tar.gz $work/w7/bundle.tar.gz --fail-on-change.*changes decisions \(impact above\).*--approve-changes.*PIPELINE FAILED at stage diff" -- \
  env FAKE_DIFF_EXIT=1 "$pipeline" --fleetpdp "$work/fake-fleetpdp" --publish-dir "$pub" --work-dir "$work/w7" "$work/next"
expect "approved changes pass, with the impact printed" 0 \
  'FAKE_DIFF_IMPACT.*decision changes APPROVED.*diff +ok \(changes approved\).*PIPELINE PASSED' -- \
  env FAKE_DIFF_EXIT=1 FLEETPDP_APPROVE_CHANGES=1 "$pipeline" --fleetpdp "$work/fake-fleetpdp" --publish-dir "$pub" "$work/next"
expect "a diff that cannot run is an error, not a pass" 2 'fleetpdp diff exited 2.*PIPELINE FAILED at stage diff' -- \
  env FAKE_DIFF_EXIT=2 "$pipeline" --fleetpdp "$work/fake-fleetpdp" --publish-dir "$pub" "$repo" --previous "$work/w6/bundle.tar.gz"

expect "an unknown stage in the skip list is refused" 2 'cannot skip "sign"' -- \
  env FLEETPDP_PIPELINE_SKIP=lint,sign "$pipeline" --publish-dir "$pub" "$repo"
expect "--key without --key-id is refused" 2 '--key needs --key-id' -- \
  "$pipeline" --publish-dir "$pub" --key "$work/x.pem" "$repo"

[ "$fails" -eq 0 ] && echo "all pipeline checks passed"
exit "$fails"
