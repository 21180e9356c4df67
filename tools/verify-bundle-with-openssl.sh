#!/usr/bin/env bash
# Verifies a FleetPDP bundle's digest and Ed25519 signature with coreutils, tar and the openssl
# command line only — no FleetPDP code. This is the procedure of docs/bundle-format.md §6, runnable.
#   tools/verify-bundle-with-openssl.sh BUNDLE.tar.gz PUBLIC_KEY.pem KEY_ID
set -euo pipefail
bundle=$1 pubkey=$2 key_id=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Unpack.
mkdir "$work/b"
tar -xzf "$bundle" -C "$work/b"
sigs="$work/b/.signatures.json"
[ -f "$sigs" ] || { echo "no .signatures.json: bundle is unsigned" >&2; exit 1; }

# 2. The canonical list: "sha256  path" for every file but .signatures.json, sorted by path bytes.
(cd "$work/b" && find . -type f ! -path ./.signatures.json | sed 's|^\./||' | LC_ALL=C sort |
  while IFS= read -r f; do sha256sum -- "$f"; done) > "$work/canonical"

# 3. The bundle digest is the SHA-256 of the canonical list; it must equal the signed digest.
digest=$(sha256sum "$work/canonical" | cut -d' ' -f1)
signed_digest=$(sed -n 's/^ *"digest": "\([0-9a-f]*\)".*/\1/p' "$sigs")
[ "$digest" = "$signed_digest" ] || { echo "digest $digest != signed $signed_digest" >&2; exit 1; }

# 4. The signed payload: a fixed header with revision and key id, then the canonical list.
revision=$(sed -n 's/^ *"revision": \([0-9]*\).*/\1/p' "$sigs")
printf 'fleetpdp-bundle-signature-v1\nrevision: %s\nkey-id: %s\n' "$revision" "$key_id" > "$work/payload"
cat "$work/canonical" >> "$work/payload"

# 5. The signature of that key id, base64-decoded.
grep -A2 "\"key_id\": \"$key_id\"" "$sigs" | sed -n 's/^ *"signature": "\(.*\)".*/\1/p' |
  base64 -d > "$work/signature"

# 6. Ed25519 verification with openssl (pure Ed25519 needs -rawin).
openssl pkeyutl -verify -pubin -inkey "$pubkey" -rawin -in "$work/payload" -sigfile "$work/signature"
echo "digest $digest, revision $revision, key $key_id"
