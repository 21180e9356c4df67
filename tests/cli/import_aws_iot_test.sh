#!/usr/bin/env bash
# End-to-end checks of `fleetpdp import aws-iot` as a user migrating from AWS IoT Core runs it:
# import the sample policies of examples/aws-iot into a source directory, then `fleetpdp test` and
# `fleetpdp bundle build` it; and the report and exit codes for policies that do not convert.
#   tests/cli/import_aws_iot_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
samples="$root/examples/aws-iot"

cp -r "$samples/bundle" "$work/src"
expect "a device policy converts exactly (exit 0) and says where it wrote" 0 \
  'Statement\[1\]\.Resource: note: IAM "\*" at the end of .*5 AWS statements → 5 FleetPDP statements in policy "device-own-topics" \([^)]*/src/policies/device-own-topics\.yaml\); 0 skipped, 0 errors, 0 warnings' -- \
  "$fleetpdp" import aws-iot "$samples/device-own-topics.json" -o "$work/src/policies" --principals-group devices
expect "iot:* on * converts with notes" 0 'note: "iot:\*" became the FleetPDP actions.*0 errors, 0 warnings' -- \
  "$fleetpdp" import aws-iot "$samples/admin-everything.json" -o "$work/src/policies" --principals-group admins
expect "the written policy selects the chosen group" 0 'principals: \{groups: \[devices\]\}' -- \
  cat "$work/src/policies/device-own-topics.yaml"
expect "fleetpdp test: the imported policies decide as the AWS ones" 0 '16 passed, 0 failed' -- \
  "$fleetpdp" test "$work/src"
expect "fleetpdp bundle build accepts the imported source" 0 'built .*2 policies, 7 statements, 3 entities, 16 tests passed' -- \
  "$fleetpdp" bundle build "$work/src" -o "$work/imported.tar.gz"

expect "what does not convert is reported per statement and exits 1" 1 \
  'regional-sensors\.json: Statement\[1\]\.Condition\.Bool\["iot:Connection\.Thing\.IsAttached"\]: error: condition not converted.*Statement\[2\]\.Resource: warning: "\+" and "#" are literal.*Statement\[3\]: error: NotAction is not supported.*4 AWS statements → 1 FleetPDP statement .*3 skipped, 3 errors, 2 warnings' -- \
  "$fleetpdp" import aws-iot "$samples/regional-sensors.json" -o "$work/partial"
expect "the part that converted is still written" 0 'id: statement-0.*resource: \["sensor-\*"\]' -- \
  cat "$work/partial/regional-sensors.yaml"
expect "without -o the policy goes to stdout and --name-prefix names it" 0 'name: aws-admin-everything' -- \
  "$fleetpdp" import aws-iot "$samples/admin-everything.json" --name-prefix aws- --principals-any
expect "--strict fails on warnings (here: --principals-any)" 1 'warning: principals: "\*"' -- \
  "$fleetpdp" import aws-iot "$samples/admin-everything.json" --principals-any --strict

printf '{\n  "Version": "2012-10-17",\n  "Statement": [ }\n}\n' > "$work/broken.json"
expect "invalid JSON exits 2 with line and column" 2 'broken\.json:3:18: error: invalid JSON: ' -- \
  "$fleetpdp" import aws-iot "$work/broken.json"
expect "a missing file exits 2" 2 'cannot read ".*/nope\.json"' -- \
  "$fleetpdp" import aws-iot "$work/nope.json"
expect "the two principal flags exclude each other" 2 '--principals-group and --principals-any exclude each other' -- \
  "$fleetpdp" import aws-iot "$samples/admin-everything.json" --principals-any --principals-group g
expect "an unknown format is a usage error" 2 'unknown format "gcp"' -- "$fleetpdp" import gcp x.json
expect "--help documents the flags and exit codes" 0 '--principals-group G.*--strict.*Exit status: 0' -- \
  "$fleetpdp" import aws-iot --help

if [ "$fails" -eq 0 ]; then echo "all import checks passed"; else echo "$fails import checks failed"; exit 1; fi
