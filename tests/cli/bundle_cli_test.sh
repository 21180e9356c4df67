#!/usr/bin/env bash
# End-to-end checks of the bundle commands as an operator runs them. Each case prints what it
# checks; the first failure exits non-zero with the command's output.
#   tests/cli/bundle_cli_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"

keys="$root/examples/keys"
bundle="$work/fleet.tar.gz"
"$fleetpdp" bundle build "$root/examples/fleet" -o "$bundle" >/dev/null
"$fleetpdp" bundle sign "$bundle" --key "$keys/private/dev-DO-NOT-USE.key.pem" --key-id dev-DO-NOT-USE >/dev/null

expect "signed example verifies" 0 'VERIFIED .* signed by "dev-DO-NOT-USE"' -- \
  "$fleetpdp" bundle verify "$bundle" --keys "$keys/trusted"

# Tampering: unpack, change one byte of a policy, repack with plain tar.
mkdir "$work/x" && tar -xzf "$bundle" -C "$work/x"
sed -i 's/own-telemetry/own-telemetrx/' "$work/x/policies/devices.yaml"
tar -czf "$work/tampered.tar.gz" -C "$work/x" .
expect "a changed file is rejected as tampered" 1 \
  'REJECTED \(tampered\).*file "policies/devices.yaml" was changed' -- \
  "$fleetpdp" bundle verify "$work/tampered.tar.gz" --keys "$keys/trusted"

# A bundle signed by a key the server does not trust.
"$fleetpdp" keygen --key-id rogue --out "$work" >/dev/null
expect "keygen writes the private key readable by its owner only" 0 "-rw-------" -- \
  ls -l "$work/rogue.key.pem"
expect "keygen refuses to overwrite" 2 'exists; not overwriting' -- \
  "$fleetpdp" keygen --key-id rogue --out "$work"
cp "$bundle" "$work/rogue.tar.gz"
"$fleetpdp" bundle build "$root/examples/fleet" -o "$work/rogue.tar.gz" >/dev/null
"$fleetpdp" bundle sign "$work/rogue.tar.gz" --key "$work/rogue.key.pem" --key-id rogue >/dev/null
expect "a signature by an unknown key is rejected" 1 \
  'REJECTED \(unknown_key\).*unknown key "rogue" \(trusted: "dev-DO-NOT-USE"\)' -- \
  "$fleetpdp" bundle verify "$work/rogue.tar.gz" --keys "$keys/trusted"

# Unsigned bundles: rejected, unless --allow-unsigned (which warns).
"$fleetpdp" bundle build "$root/examples/fleet" -o "$work/unsigned.tar.gz" >/dev/null
expect "an unsigned bundle is rejected" 1 'REJECTED \(unsigned\)' -- \
  "$fleetpdp" bundle verify "$work/unsigned.tar.gz" --keys "$keys/trusted"
expect "--allow-unsigned accepts it loudly" 0 'WARNING: --allow-unsigned.*VERIFIED.*UNSIGNED' -- \
  "$fleetpdp" bundle verify "$work/unsigned.tar.gz" --allow-unsigned

# A private key in the trusted directory is refused.
mkdir "$work/badkeys" && cp "$keys/private/dev-DO-NOT-USE.key.pem" "$work/badkeys/"
expect "a private key among trusted keys is refused" 2 'private key' -- \
  "$fleetpdp" bundle verify "$bundle" --keys "$work/badkeys"

# The CI gate: a failing policy test stops the build and writes nothing.
expect "bundle build fails on a failing policy test" 1 \
  'FAIL deliberately-failing.*1 passed, 1 failed.*policy test\(s\) failed; nothing written' -- \
  "$fleetpdp" bundle build "$root/tests/testdata/failing-source" -o "$work/never.tar.gz"
expect "and wrote nothing" 2 'No such file' -- ls "$work/never.tar.gz"

# Inspect and eval on the signed archive.
expect "inspect shows revision, digest, signer and compliance tags" 0 \
  'revision: +1.*digest: +[0-9a-f]{64}.*signed by: +"dev-DO-NOT-USE" \(verified\).*compliance: +CRA-AnnexI' -- \
  "$fleetpdp" bundle inspect "$bundle" --keys "$keys/trusted"
expect "eval on a verified archive explains a deny" 0 \
  'DENY \(EXPLICIT_DENY\).*never-commands-from-devices.*explain: .*applies +device-baseline/never-commands-from-devices' -- \
  "$fleetpdp" eval --bundle "$bundle" --keys "$keys/trusted" --principal cam-0042 \
  --action mqtt:publish --resource devices/cam-0042/cmd/reboot --explain
expect "eval --explain names a failing condition" 0 \
  'condition SemverAtLeast on principal.attributes.firmware: fails' -- \
  "$fleetpdp" eval --bundle "$root/examples/fleet" --principal cam-0043 \
  --action mqtt:publish --resource video/berlin-01/cam-0043/s1 --explain

[ "$fails" -eq 0 ] && echo "all bundle CLI checks passed" || { echo "$fails check(s) failed"; exit 1; }
