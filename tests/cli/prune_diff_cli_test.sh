#!/usr/bin/env bash
# End-to-end checks of `fleetpdp bundle prune` and `fleetpdp diff` on the example fleet, as an
# operator and a CI pipeline run them. Each case prints what it checks; failures are counted and
# the script exits non-zero at the end if any.
#   tests/cli/prune_diff_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"

keys="$root/examples/keys"
sign=(--key "$keys/private/dev-DO-NOT-USE.key.pem" --key-id dev-DO-NOT-USE)
full="$root/examples/fleet.bundle.tar.gz"   # signed with the development key
pruned="$work/cameras.tar.gz"

# --- bundle prune -------------------------------------------------------------------------------
expect "prune the signed example for the cameras group" 0 \
  'pruned example-fleet rev 1 for "group:cameras": 3 principal\(s\): cam-0042, cam-0043, cam-0100.*kept 5 of 7 policies \(11 of 15 statements\), 3 of 7 entities, 5 of 7 groups, 14 of 27 tests \(14 passed\).*signed with key "dev-DO-NOT-USE"' -- \
  "$fleetpdp" bundle prune "$full" --keys "$keys/trusted" --for group:cameras -o "$pruned" "${sign[@]}"
expect "the pruned bundle verifies as a server would load it" 0 \
  'VERIFIED .*cameras.tar.gz: example-fleet rev 1, digest [0-9a-f]{64}, signed by "dev-DO-NOT-USE"' -- \
  "$fleetpdp" bundle verify "$pruned" --keys "$keys/trusted"
expect "its kept tests pass" 0 '^verified example-fleet rev 1.*14 passed, 0 failed' -- \
  "$fleetpdp" test "$pruned" --keys "$keys/trusted"
expect "inspect shows the smaller counts and what the bundle was pruned for" 0 \
  'description: pruned for "group:cameras" from digest [0-9a-f]{64}: Cameras.*policies: +5 \(11 statements\).*entities: +3 \(5 groups\).*tests: +14' -- \
  "$fleetpdp" bundle inspect "$pruned"
mkdir "$work/unpacked" && tar -xzf "$pruned" -C "$work/unpacked"
full_digest=$("$fleetpdp" bundle verify "$full" --keys "$keys/trusted" | sed -n 's/.*digest \([0-9a-f]*\),.*/\1/p')
expect "the manifest keeps name and revision and notes the selector and source digest" 0 \
  "^name: example-fleet
revision: 1
created: \"2026-11-28T00:00:00Z\"
description: \"pruned for \\\\\"group:cameras\\\\\" from digest $full_digest: Cameras" -- \
  cat "$work/unpacked/manifest.yaml"
expect "the gateway's entity and policy are gone" 1 $'^\n$' -- \
  grep -l -e gw-berlin-01 -e site-gateway -r "$work/unpacked/policies" "$work/unpacked/entities"

# The same decision (decision, reason, deciding statements) from the full and the pruned bundle.
decide() {  # BUNDLE ARGS… → the decision and statement names, without source locations
  local bundle=$1; shift
  "$fleetpdp" eval --bundle "$bundle" --keys "$keys/trusted" "$@" 2>&1 | sed 's/  (.*)$//'
}
same_decision() {  # NAME ARGS…
  local name=$1; shift
  local a b
  a=$(decide "$full" "$@"); b=$(decide "$pruned" "$@")
  expect "$name: $(echo "$a" | head -1)" 0 "^$(printf '%s' "$a" | sed 's/[][()*+?.|^$\\]/\\&/g')"$'\n$' -- \
    printf '%s\n' "$b"
}
same_decision "video from new firmware" --principal cam-0042 --action mqtt:publish \
  --resource video/berlin-01/cam-0042/seg-1
same_decision "video from old firmware" --principal cam-0043 --action mqtt:publish \
  --resource video/berlin-01/cam-0043/seg-1
same_decision "a quarantined camera's telemetry" --principal cam-0100 --action mqtt:publish \
  --resource devices/cam-0100/telemetry/t
same_decision "camera firmware download" --principal cam-0042 --action ota:download \
  --resource firmware/cameras/2.5.0 --context time=2027-01-01T00:00:00Z
same_decision "a camera claiming the monitor's team attribute" --principal cam-0042 \
  --attr team=sre --action mqtt:publish --resource devices/cam-0042/telemetry/t

expect "--unsigned writes an unsigned bundle" 0 'unsigned: run fleetpdp bundle sign' -- \
  "$fleetpdp" bundle prune "$root/examples/fleet" --for id:gw-berlin-01 -o "$work/gw.tar.gz" --unsigned
expect "which a server rejects until it is signed" 1 'REJECTED \(unsigned\)' -- \
  "$fleetpdp" bundle verify "$work/gw.tar.gz" --keys "$keys/trusted"
expect "a bad selector is a usage error" 2 'selector term "grp:cameras": unknown kind "grp"' -- \
  "$fleetpdp" bundle prune "$full" --for grp:cameras -o "$work/x.tar.gz" --unsigned
expect "an unknown group is named" 2 'the bundle declares no group "kameras"' -- \
  "$fleetpdp" bundle prune "$full" --for group:kameras -o "$work/x.tar.gz" --unsigned
expect "an unknown entity is named" 2 'the bundle has no entity "cam-9999"' -- \
  "$fleetpdp" bundle prune "$full" --for group:cameras,id:cam-9999 -o "$work/x.tar.gz" --unsigned
expect "a selector matching nobody is an error" 2 'selects no entity of the bundle' -- \
  "$fleetpdp" bundle prune "$full" --for attr:region=mars -o "$work/x.tar.gz" --unsigned
expect "neither a key nor --unsigned is a usage error" 2 'expected either --key and --key-id, or --unsigned' -- \
  "$fleetpdp" bundle prune "$full" --for group:cameras -o "$work/x.tar.gz"
expect "and nothing was written" 2 'No such file' -- ls "$work/x.tar.gz"
mkdir "$work/t" && tar -xzf "$full" -C "$work/t"
sed -i 's/own-telemetry/own-telemetrx/' "$work/t/policies/devices.yaml"
tar -czf "$work/tampered.tar.gz" -C "$work/t" .
expect "a tampered input is refused when --keys is given" 2 'file "policies/devices.yaml" was changed' -- \
  "$fleetpdp" bundle prune "$work/tampered.tar.gz" --keys "$keys/trusted" --for group:cameras \
  -o "$work/x.tar.gz" --unsigned

# --- diff ---------------------------------------------------------------------------------------
# A new revision that drops the allow of retained status topics.
cp -r "$root/examples/fleet" "$work/new"
sed -i '/- id: own-status-retained/,/resources: \["devices\/\${principal.id}\/status"\]/d' \
  "$work/new/policies/devices.yaml"
expect "the modified copy really lost the statement" 1 $'^\n$' -- \
  grep own-status-retained "$work/new/policies/devices.yaml"
summary='^diff: ([0-9]+) requests, ([0-9]+) unchanged, ([0-9]+) ALLOW→DENY, ([0-9]+) DENY→ALLOW, ([0-9]+) same decision with other statements'
expect "diff finds the lost allows and --fail-on-change exits 1" 1 \
  "^diff: [0-9]+ requests, [0-9]+ unchanged, [1-9][0-9]* ALLOW→DENY, 0 DENY→ALLOW, 0 same decision with other statements
old: .*
ALLOW→DENY  mqtt:retain  \([0-9]+ requests\)
  old: ALLOW \(ALLOWED: device-baseline/own-status-retained\)
  new: DENY \(DEFAULT_DENY\)
  e\.g\. [a-z0-9-]+ mqtt:retain devices/[a-z0-9-]+/status.*ALLOW→DENY  mqtt:publish" -- \
  "$fleetpdp" diff "$full" "$work/new" --keys "$keys/trusted" --fail-on-change
expect "without --fail-on-change the same diff exits 0" 0 "$summary" -- \
  "$fleetpdp" diff "$full" "$work/new" --keys "$keys/trusted"
expect "identical sources change nothing" 0 \
  '^diff: ([0-9]+) requests, \1 unchanged, 0 ALLOW→DENY, 0 DENY→ALLOW, 0 same decision with other statements' -- \
  "$fleetpdp" diff "$root/examples/fleet" "$root/examples/fleet" --fail-on-change
expect "the signed archive and its source change nothing" 0 ', 0 ALLOW→DENY, 0 DENY→ALLOW, 0 same' -- \
  "$fleetpdp" diff "$full" "$root/examples/fleet" --fail-on-change --generate 20000

# Reverse direction and a new allow: DENY→ALLOW.
expect "the reverse diff reports DENY→ALLOW" 1 \
  ', 0 ALLOW→DENY, [1-9][0-9]* DENY→ALLOW, .*DENY→ALLOW  mqtt:retain.*new: ALLOW \(ALLOWED: device-baseline/own-status-retained\)' -- \
  "$fleetpdp" diff "$work/new" "$root/examples/fleet" --fail-on-change

# Requests from a file (PolicyTest documents, expectations not checked).
cat > "$work/requests.yaml" <<'EOF'
apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: { name: traffic }
cases:
  - { name: status, principal: cam-0042, action: mqtt:retain, resource: devices/cam-0042/status, expect: allow }
  - { name: telemetry, principal: cam-0042, action: mqtt:publish, resource: devices/cam-0042/telemetry/t, expect: allow }
  - { name: gateway, principal: gw-berlin-01, action: mqtt:publish, resource: devices/gw-berlin-01/status, expect: allow }
EOF
expect "a request file is decided as given" 1 \
  '^diff: 3 requests, 1 unchanged, 2 ALLOW→DENY, 0 DENY→ALLOW, 0 same decision with other statements.*requests: 3 from .*requests\.yaml' -- \
  "$fleetpdp" diff "$root/examples/fleet" "$work/new" --requests "$work/requests.yaml" --fail-on-change

# JSON for machines: the documented schema.
"$fleetpdp" diff "$root/examples/fleet" "$work/new" --format json --max-examples 1 >"$work/diff.json"
expect "--format json follows the schema" 0 $'^ok\n$' -- /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "fleetpdp-diff/v1", d["format"]
s = d["summary"]
assert s["evaluated"] == s["unchanged"] + s["allow_to_deny"] + s["deny_to_allow"] + s["statements_changed"]
assert s["allow_to_deny"] > 0 and s["deny_to_allow"] == 0 and d["decisions_changed"] is True
assert d["old"]["name"] == "example-fleet" and len(d["new"]["digest"]) == 64
assert d["requests"]["generated"] == 10000 and d["requests"]["seed"] == 1
assert sum(c["count"] for c in d["changes"]) == s["allow_to_deny"]
for c in d["changes"]:
    assert c["kind"] == "allow_to_deny" and c["old"]["decision"] == "ALLOW" and c["new"]["decision"] == "DENY"
    assert c["old"]["statements"] == ["device-baseline/own-status-retained"], c
    assert len(c["examples"]) == 1 and c["examples"][0]["action"] == c["action"]
    assert c["examples"][0]["principal"]["id"]
assert d["omitted"] == {"groups": 0, "requests": 0}, d["omitted"]
print("ok")' "$work/diff.json"

expect "--max-groups shows the first groups and counts the rest" 0 \
  '^diff: [0-9]+ requests, [0-9]+ unchanged, [1-9][0-9]* ALLOW→DENY.*ALLOW→DENY  mqtt:retain.*… 1 more group\(s\) with [1-9][0-9]* changed request\(s\) not shown' -- \
  "$fleetpdp" diff "$root/examples/fleet" "$work/new" --max-groups 1
expect "a bad --format is a usage error" 2 '--format: expected text or json, not "xml"' -- \
  "$fleetpdp" diff "$full" "$work/new" --format xml
expect "a missing bundle is named" 2 "$work/nope: " -- "$fleetpdp" diff "$full" "$work/nope"
expect "one bundle only is a usage error" 2 'expected OLD and NEW' -- "$fleetpdp" diff "$full"
expect "a request file holding a policy is refused" 2 'a request file holds PolicyTest documents only' -- \
  "$fleetpdp" diff "$full" "$work/new" --requests "$root/examples/fleet/policies/devices.yaml"
printf 'apiVersion: fleetpdp/v1\nkind: PolicyTest\ncases:\n  - { name: bad, principal: a, action: mqtt:publish, resource: "a/+", expect: deny }\n' \
  >"$work/bad.yaml"
expect "an invalid request in a request file is named with its line" 2 \
  'bad.yaml:4: "bad": resource: topic "a/\+" contains a wildcard' -- \
  "$fleetpdp" diff "$full" "$work/new" --requests "$work/bad.yaml"

[ "$fails" -eq 0 ] && echo "all prune and diff CLI checks passed" || { echo "$fails check(s) failed"; exit 1; }
