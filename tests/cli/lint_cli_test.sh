#!/usr/bin/env bash
# End-to-end checks of `fleetpdp lint` as a policy author and a CI pipeline run it: text, JSON and
# SARIF reports on tests/testdata/lint-risky (every rule fires there), exit codes by --fail-on,
# --disable, --output, invalid policies, a bundle archive, and the shipped example.
#   tests/cli/lint_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
command -v jq >/dev/null || { echo "jq is required (tools/setup.sh installs it)"; exit 1; }

risky="$root/tests/testdata/lint-risky"
fleet="$root/examples/fleet"

# Text: one compiler-style line per finding, then the summary; every rule fires once at least.
expect "text report: file:line:col, severity, rule, message, policy/statement" 1 \
  "$risky/policies/debug.yaml:7:7: critical \[FPL001\] allow on \"#\" matches every topic \(all but \"\\\$\" topics\) for mqtt:publish, mqtt:subscribe, mqtt:receive \(debug-everything/all-topics\)" -- \
  "$fleetpdp" lint "$risky"
expect "text report ends with the count per severity" 1 \
  '12 findings: 1 critical, 4 high, 6 medium, 1 low, 0 info
$' -- "$fleetpdp" lint "$risky"
for id in FPL001 FPL002 FPL003 FPL004 FPL005 FPL006 FPL007 FPL008 FPL009 FPL010 FPL011; do
  expect "the risky source triggers $id" 1 "\[$id\]" -- "$fleetpdp" lint "$risky"
done
expect "a policy-level finding names the policy alone" 1 \
  'cameras.yaml:5:15: low \[FPL006\] principal selector names group "camera".*\(cameras\)' -- \
  "$fleetpdp" lint "$risky"

# Exit codes: 1 when a finding is at or above --fail-on (default high), else 0.
expect "--fail-on critical fails on the critical finding" 1 "" -- \
  "$fleetpdp" lint "$risky" --fail-on critical
expect "--fail-on critical passes once FPL001 is disabled" 0 "11 findings: 0 critical" -- \
  "$fleetpdp" lint "$risky" --fail-on critical --disable FPL001
expect "--disable takes comma lists and repeats" 0 "3 findings: 0 critical, 0 high, 2 medium, 1 low" -- \
  "$fleetpdp" lint "$risky" --disable FPL001,FPL002 --disable FPL003,FPL004 --disable FPL008 \
  --disable FPL005,FPL007,FPL010
expect "--fail-on never always exits 0 once SRC builds" 0 "12 findings" -- \
  "$fleetpdp" lint "$risky" --fail-on never
expect "--fail-on low counts low findings" 1 "1 finding: 0 critical, 0 high, 0 medium, 1 low" -- \
  "$fleetpdp" lint "$risky" --fail-on low --disable FPL001,FPL002,FPL003,FPL004,FPL005,FPL007,FPL008,FPL009,FPL010,FPL011
expect "--fail-on medium passes with only a low finding" 0 "1 finding" -- \
  "$fleetpdp" lint "$risky" --fail-on medium --disable FPL001,FPL002,FPL003,FPL004,FPL005,FPL007,FPL008,FPL009,FPL010,FPL011

# JSON: the documented schema.
"$fleetpdp" lint "$risky" --format json >"$work/risky.json"; code=$?
expect "JSON report exits like text" 0 "" -- test "$code" -eq 1
expect "JSON report has the documented shape" 0 '^true
$' -- jq -e '
  .schema == "fleetpdp-lint/v1" and .bundle.name == "lint-risky" and .bundle.revision == 1
  and .fail_on == "high" and .failed == true
  and .summary == {"critical":1,"high":4,"medium":6,"low":1,"info":0,"total":12}
  and (.findings | length) == 12
  and all(.findings[]; (.rule | test("^FPL[0-9]{3}$")) and (.name | length > 0)
          and (.severity | IN("critical","high","medium","low","info"))
          and (.message | length > 0) and (.policy | length > 0)
          and (.file | startswith("policies/")) and (.path as $p | .file as $f | $p | endswith($f))
          and .line > 0 and .column > 0)
  and ([.findings[] | select(.rule == "FPL006")][0].statement == null)
  and ([.findings[] | select(.rule == "FPL005")][0]
       | .policy == "dashboards" and .statement == "own-commands" and .severity == "medium")' \
  "$work/risky.json"
expect "JSON with --fail-on never reports failed false" 0 '^false
$' -- sh -c "'$fleetpdp' lint '$risky' --format json --fail-on never | jq .failed"

# SARIF 2.1.0: valid JSON with the fields code-scanning tools require.
"$fleetpdp" lint "$risky" --format sarif --output "$work/risky.sarif" >"$work/stdout"; code=$?
expect "--output writes the report and exits by --fail-on" 0 "wrote .*risky.sarif: 12 findings" -- \
  sh -c "test $code -eq 1 && cat '$work/stdout'"
expect "SARIF is valid JSON with version, rules and results" 0 '^true
$' -- jq -e '
  .version == "2.1.0" and (."$schema" | test("sarif-2.1.0"))
  and (.runs | length) == 1
  and (.runs[0].tool.driver.name | length > 0)
  and (.runs[0].tool.driver.rules | length) == 11
  and all(.runs[0].tool.driver.rules[]; (.id | test("^FPL[0-9]{3}$"))
          and (.shortDescription.text | length > 0) and (.help.text | length > 0)
          and (.defaultConfiguration.level | IN("error","warning","note")))
  and (.runs[0].results | length) == 12
  and (.runs[0] as $run | all($run.results[];
          (.ruleId | test("^FPL")) and .ruleId == $run.tool.driver.rules[.ruleIndex].id
          and (.level | IN("error","warning","note")) and (.message.text | length > 0)
          and (.locations[0].physicalLocation.artifactLocation.uri | endswith(".yaml"))
          and .locations[0].physicalLocation.region.startLine > 0
          and .locations[0].physicalLocation.region.startColumn > 0))
  and ([.runs[0].results[] | select(.ruleId == "FPL001")][0].level == "error")
  and ([.runs[0].results[] | select(.ruleId == "FPL006")][0].level == "note")' \
  "$work/risky.sarif"
expect "SARIF leaves disabled rules out of the driver" 0 '^10
$' -- sh -c "'$fleetpdp' lint '$risky' --format sarif --disable FPL010 | jq '.runs[0].tool.driver.rules | length'"

# Invalid policies: exit 2 with every problem at file:line:column, as `bundle build` prints them.
cp -r "$risky" "$work/broken"
cat >"$work/broken/policies/bad.yaml" <<'EOF'
apiVersion: fleetpdp/v1
kind: Policy
metadata: { name: bad }
spec:
  principals: "*"
  statements:
    - id: s
      effect: allow
      actions: [mqtt:publish]
      resources: ["a/#/b"]
      conditions:
        StringEqual: { context.x: y }
EOF
expect "a broken policy exits 2 naming file:line:column" 2 \
  'fleetpdp lint: .*broken: bundle "lint-risky" rev 1: 2 problems:
policies/bad.yaml:10:.*"#" must be the last level.*policies/bad.yaml:12:9: unknown operator "StringEqual" \(did you mean "StringEquals"\?\)' -- \
  "$fleetpdp" lint "$work/broken"
expect "an unreadable SRC exits 2" 2 'fleetpdp lint: .*/missing: ' -- "$fleetpdp" lint "$work/missing"

# Usage errors exit 2 and name the flag.
expect "an unknown format is a usage error" 2 '--format "xml": expected text, json or sarif' -- \
  "$fleetpdp" lint "$risky" --format xml
expect "an unknown severity is a usage error" 2 '--fail-on "severe"' -- \
  "$fleetpdp" lint "$risky" --fail-on severe
expect "an unknown rule id is a usage error" 2 '--disable: unknown rule "FPL099"' -- \
  "$fleetpdp" lint "$risky" --disable FPL001,FPL099
expect "an unknown flag is a usage error" 2 'unknown flag "--strict"' -- "$fleetpdp" lint "$risky" --strict
expect "--help documents every flag and lists every rule with its severity" 0 \
  '--format.*--fail-on.*--disable.*--output.*--list-rules.*Exit status.*FPL001  critical.*FPL002  high.*FPL005  medium.*FPL006  low.*FPL011  medium' -- \
  "$fleetpdp" lint --help
expect "--list-rules lists the 11 rules" 0 'FPL001  critical  allow-all-topics.*FPL011  medium    deny-pattern-with-variable' -- \
  "$fleetpdp" lint --list-rules
expect "fleetpdp --help lists the lint command" 0 'lint SRC …  +audit policies for risky patterns' -- \
  "$fleetpdp" --help

# A bundle archive: findings name the member paths.
"$fleetpdp" bundle build "$risky" -o "$work/risky.tar.gz" >/dev/null
expect "an archive is linted with member paths" 1 \
  '(^|
)policies/debug.yaml:7:7: critical \[FPL001\].*12 findings' -- "$fleetpdp" lint "$work/risky.tar.gz"

# The shipped example: one real finding, the SRE monitor's read access to the whole $SYS tree.
expect "examples/fleet has one high finding (FPL004 on \$SYS/#) and fails --fail-on high" 1 \
  "^$fleet/policies/services.yaml:52:7: high \[FPL004\] allow on \"\\\$SYS/#\" opens the \"\\\$SYS\" system tree to mqtt:subscribe, mqtt:receive; grant the topics needed instead \(monitoring/broker-stats\)
1 finding: 0 critical, 1 high, 0 medium, 0 low, 0 info
\$" -- "$fleetpdp" lint "$fleet"
expect "examples/fleet passes --fail-on critical" 0 "1 finding" -- "$fleetpdp" lint "$fleet" --fail-on critical
expect "examples/fleet is clean once FPL004 is disabled" 0 '^0 findings: 0 critical, 0 high, 0 medium, 0 low, 0 info
$' -- "$fleetpdp" lint "$fleet" --disable FPL004

[ "$fails" -eq 0 ] && echo "all lint CLI checks passed" || { echo "$fails check(s) failed"; exit 1; }
