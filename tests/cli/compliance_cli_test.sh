#!/usr/bin/env bash
# End-to-end checks of `fleetpdp compliance` as a policy author runs it on examples/policy-repo and
# on copies of it with a mistake each. Each case prints what it checks; failures are counted.
#   tests/cli/compliance_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
repo="$root/examples/policy-repo"

expect "the sample repository's report has no gap and exits 0 even with --fail-on-gaps" 0 \
  '# Compliance report: acme-plant rev 1.*- gaps: 0.*\| CRA \| 22 \| 11 \| 0 \| 0 \| 0 \| 11 \|.*\| `CRA-AnnexI-1.2.f` \| Integrity of data, commands, programs and configuration \| covered \| `command-integrity` \(no-commands-from-devices\)<br>`actuator-control` \(command-valves\) \|' -- \
  "$fleetpdp" compliance report "$repo" --fail-on-gaps
expect "the built-in catalogue is used with no flag and named in the report" 0 \
  'catalogue: fleetpdp-builtin \(`<built-in>`\)' -- "$fleetpdp" compliance report "$repo"

"$fleetpdp" bundle build "$repo" -o "$work/b.tar.gz" >/dev/null
expect "a bundle archive gives the same JSON report, with the documented schema" 0 \
  '"schema": "fleetpdp.compliance-report/v1".*"gaps": 0' -- \
  "$fleetpdp" compliance report "$work/b.tar.gz" --format json
expect "--output writes the file and prints a one-line summary" 0 \
  "wrote $work/r.md: 36 controls, 18 covered, 0 gap\(s\)" -- \
  "$fleetpdp" compliance report "$repo" -o "$work/r.md"
expect "the written report is the markdown report" 0 '^# Compliance report: acme-plant rev 1' -- cat "$work/r.md"

# A tag that is not in the catalogue: refused (exit 2) with its location and a suggestion, or
# listed as a gap with --allow-unknown-tags (and then --fail-on-gaps fails).
cp -r "$repo" "$work/typo"
sed -i 's/compliance: \[CRA-AnnexI-1.2.i\]/compliance: [CRA-AnnexI-1.2.ii]/' "$work/typo/policies/devices.yaml"
expect "an unknown tag is an error naming file, line, column and the nearest id" 2 \
  'policies/devices.yaml:42:16: policy "shared-topics": compliance tag "CRA-AnnexI-1.2.ii" is not in catalogue "fleetpdp-builtin" \(did you mean "CRA-AnnexI-1.2.i"\?\).*--allow-unknown-tags' -- \
  "$fleetpdp" compliance report "$work/typo"
expect "--allow-unknown-tags lists it as a gap, beside the control it left uncovered" 0 \
  '\| no-policy \| `CRA-AnnexI-1.2.i` \|.*\| unknown-tag \| `CRA-AnnexI-1.2.ii` \| `shared-topics` \|' -- \
  "$fleetpdp" compliance report "$work/typo" --allow-unknown-tags
expect "--fail-on-gaps exits 1 when there are gaps" 1 'gap\(s\) \(--fail-on-gaps\)' -- \
  "$fleetpdp" compliance report "$work/typo" --allow-unknown-tags --fail-on-gaps

# A tagged policy that no test exercises, and a failing test.
cp -r "$repo" "$work/untested"
sed -i '/name: a device cannot flood the plant broadcast topic/,/statements: \[shared-topics\/no-broadcast\]/d' \
  "$work/untested/tests/devices_test.yaml"
expect "a tagged policy without a test is a no-test gap" 0 \
  '\| no-test \| `CRA-AnnexI-1.2.i` \| `shared-topics` \| policy "shared-topics" \(tagged CRA-AnnexI-1.2.i\) is decided by no test and named by none \|' -- \
  "$fleetpdp" compliance report "$work/untested"
cp -r "$repo" "$work/failing"
sed -i 's|resource: plant/announcements|resource: elsewhere/announcements|' "$work/failing/tests/devices_test.yaml"
expect "a failing test of a tagged policy is a failing-test gap naming the test" 0 \
  '\| failing-test \| `CRA-AnnexI-1.2.i` \| `shared-topics` \| test "devices: a device cannot flood the plant broadcast topic" of policy "shared-topics"' -- \
  "$fleetpdp" compliance report "$work/failing"

# Aliases: examples/fleet tags with the CRA proposal's numbering.
expect "a tag written with an alias resolves and draws a warning" 0 \
  'warning: policies/devices.yaml:6:16: policy "device-baseline": compliance tag "CRA-AnnexI-1.3.b" is an alias of "CRA-AnnexI-1.2.d"' -- \
  "$fleetpdp" compliance report "$root/examples/fleet" -o "$work/fleet.md"

# Bad input.
printf 'apiVersion: fleetpdp/v1\nkind: ComplianceCatalogue\nmetadata: {name: c}\nframeworks: [{id: F, title: f}]\ncontrols:\n  - {id: F-1, framework: F, title: t, description: d, scope: sometimes}\n' >"$work/cat.yaml"
expect "a malformed catalogue is refused with file:line:column" 2 \
  "invalid catalogue:.*$work/cat.yaml:6:62: scope must be \"policy\" or \"process\", not \"sometimes\"" -- \
  "$fleetpdp" compliance report "$repo" --catalogue "$work/cat.yaml"
expect "a missing catalogue file is refused naming the flag" 2 '--catalogue: .*nope.yaml' -- \
  "$fleetpdp" compliance report "$repo" --catalogue "$work/nope.yaml"
expect "an unknown format is refused" 2 '--format: expected "markdown" or "json", not "pdf"' -- \
  "$fleetpdp" compliance report "$repo" --format pdf
expect "an unreadable source is refused" 2 'compliance report: .*/missing' -- \
  "$fleetpdp" compliance report "$work/missing"
sed 's/sometimes/policy/' "$work/cat.yaml" >"$work/cat-ok.yaml"
expect "a custom catalogue replaces the built-in one: every tag is then unknown" 2 \
  'compliance tag "CRA-AnnexI-1.2.b" is not in catalogue "c"' -- \
  "$fleetpdp" compliance report "$repo" --catalogue "$work/cat-ok.yaml"
expect "the built-in catalogue can be printed as a starting point" 0 'kind: ComplianceCatalogue' -- \
  "$fleetpdp" compliance catalogue
expect "the command is listed in the usage" 0 'compliance report SRC    controls → policies → tests, with gaps' -- \
  "$fleetpdp" --help

[ "$fails" -eq 0 ] && echo "all compliance CLI checks passed"
exit "$fails"
