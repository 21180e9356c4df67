#!/usr/bin/env bash
# The CI pipeline of a FleetPDP policy repository: lint → test → build → report → diff → sign →
# publish. Each stage is one fleetpdp command; the first failing stage stops the pipeline and is
# named in the last line. deploy/ci/README.md explains every stage, flag and variable.
#
#   deploy/ci/pipeline.sh [flags] SRC
#
# Exit status: 0 published (or nothing to publish); 1 a stage failed (lint findings, a failed
# policy test, unapproved decision changes, a revision not above the published one, compliance
# gaps with --fail-on-gaps); 2 bad usage or a broken environment (no fleetpdp, a fleetpdp without a
# subcommand a stage needs, an unreadable key).
set -uo pipefail

usage() {
  cat <<'EOF'
usage: deploy/ci/pipeline.sh [flags] SRC

Runs lint → test → build → report → diff → sign → publish on the policy source directory SRC.

  --fleetpdp PATH        the fleetpdp binary            (env FLEETPDP; default: fleetpdp on PATH)
  --publish-dir DIR      where bundles are published    (env FLEETPDP_PUBLISH_DIR; default ./public)
  --work-dir DIR         build outputs and logs         (env FLEETPDP_WORK_DIR; default: a temp dir)
  --previous BUNDLE      the bundle to diff against     (env FLEETPDP_PREVIOUS_BUNDLE; default: the
                         one currently published in the publish directory, if any)
  --key FILE             Ed25519 private signing key    (env FLEETPDP_SIGNING_KEY; default: a
                         throwaway key made with "fleetpdp keygen", which no server trusts)
  --key-id ID            the key's id                   (env FLEETPDP_SIGNING_KEY_ID; required with --key)
  --trusted-keys DIR     verify the signed bundle against these public keys, as servers will
                         (env FLEETPDP_TRUSTED_KEYS; default: the public half of the signing key)
  --approve-changes      accept decision changes found by diff (env FLEETPDP_APPROVE_CHANGES=1)
  --lint-fail-on LEVEL   lint severity that fails the pipeline (env FLEETPDP_LINT_FAIL_ON; default high)
  --fail-on-gaps         compliance gaps fail the pipeline (env FLEETPDP_FAIL_ON_GAPS=1)
  --catalogue FILE       compliance catalogue           (env FLEETPDP_CATALOGUE; default: built in)
  -h, --help             this text

FLEETPDP_PIPELINE_SKIP=lint,diff skips stages (any of lint, test, report, diff); build, sign and
publish cannot be skipped. Skipped stages are announced loudly: a skipped check is not a passed one.
EOF
}

# --- configuration -------------------------------------------------------------------------------
fleetpdp=${FLEETPDP:-fleetpdp}
publish_dir=${FLEETPDP_PUBLISH_DIR:-./public}
work=${FLEETPDP_WORK_DIR:-}
previous=${FLEETPDP_PREVIOUS_BUNDLE:-}
key=${FLEETPDP_SIGNING_KEY:-}
key_id=${FLEETPDP_SIGNING_KEY_ID:-}
trusted=${FLEETPDP_TRUSTED_KEYS:-}
approve=${FLEETPDP_APPROVE_CHANGES:-0}
lint_fail_on=${FLEETPDP_LINT_FAIL_ON:-high}
fail_on_gaps=${FLEETPDP_FAIL_ON_GAPS:-0}
catalogue=${FLEETPDP_CATALOGUE:-}
skip_list=${FLEETPDP_PIPELINE_SKIP:-}
src=

die_usage() { echo "pipeline: $*" >&2; echo >&2; usage >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --fleetpdp|--publish-dir|--work-dir|--previous|--key|--key-id|--trusted-keys|--lint-fail-on|--catalogue)
      [ $# -ge 2 ] || die_usage "$1 needs a value"
      case $1 in
        --fleetpdp) fleetpdp=$2 ;; --publish-dir) publish_dir=$2 ;; --work-dir) work=$2 ;;
        --previous) previous=$2 ;; --key) key=$2 ;; --key-id) key_id=$2 ;;
        --trusted-keys) trusted=$2 ;; --lint-fail-on) lint_fail_on=$2 ;; --catalogue) catalogue=$2 ;;
      esac
      shift 2 ;;
    --approve-changes) approve=1; shift ;;
    --fail-on-gaps) fail_on_gaps=1; shift ;;
    -*) die_usage "unknown flag \"$1\"" ;;
    *) [ -z "$src" ] || die_usage "unexpected argument \"$1\" (one SRC only)"; src=$1; shift ;;
  esac
done
[ -n "$src" ] || die_usage "expected the policy source directory SRC"
[ -d "$src" ] || die_usage "SRC \"$src\" is not a directory"
[ -z "$key" ] || [ -n "$key_id" ] || die_usage "--key needs --key-id (the id servers know the key by)"
[ -n "$key" ] || [ -z "$key_id" ] || die_usage "--key-id without --key"

# --- stages and their bookkeeping ----------------------------------------------------------------
stages=(lint test build report diff sign publish)
skippable=" lint test report diff "
declare -A skip=() status=()
IFS=',' read -r -a skip_items <<<"$skip_list"
for s in "${skip_items[@]}"; do
  s=${s// /}
  [ -n "$s" ] || continue
  case $skippable in
    *" $s "*) skip[$s]=1 ;;
    *) die_usage "FLEETPDP_PIPELINE_SKIP: cannot skip \"$s\" (skippable: lint, test, report, diff)" ;;
  esac
done

summary() {
  echo
  echo "==> pipeline summary"
  for s in "${stages[@]}"; do printf '    %-8s %s\n' "$s" "${status[$s]:-not run}"; done
}
fail_stage() {  # fail_stage STAGE EXIT MESSAGE
  status[$1]="FAILED"
  echo "pipeline: stage $1 FAILED: $3" >&2
  summary
  echo "PIPELINE FAILED at stage $1" >&2
  exit "$2"
}
banner() { echo; echo "==> [$1] $2"; }

if [ ${#skip[@]} -gt 0 ]; then
  echo "################################################################################"
  echo "# WARNING: FLEETPDP_PIPELINE_SKIP=$skip_list"
  for s in "${stages[@]}"; do
    [ -z "${skip[$s]:-}" ] || echo "# SKIPPING stage $s: its checks are NOT run and this bundle is NOT checked by it"
  done
  echo "################################################################################"
fi

# --- preflight: the binary and every subcommand a stage needs --------------------------------------
if ! version=$("$fleetpdp" --version 2>/dev/null); then
  echo "pipeline: cannot run fleetpdp (\"$fleetpdp\"): set FLEETPDP or --fleetpdp" >&2
  exit 2
fi
echo "pipeline: $version ($(command -v "$fleetpdp" || echo "$fleetpdp")), source $src"
has_command() {  # has_command WORD…: "fleetpdp WORD… --help" succeeds and knows the command
  local out
  out=$("$fleetpdp" "$@" --help 2>&1) && ! grep -q 'unknown command' <<<"$out"
}
need_command() {  # need_command STAGE WORD…
  local stage=$1; shift
  [ -z "${skip[$stage]:-}" ] || return 0
  if ! has_command "$@"; then
    echo "pipeline: stage $stage needs \"fleetpdp $*\", which $version does not have." >&2
    echo "pipeline: use a fleetpdp that has it, or skip the stage with FLEETPDP_PIPELINE_SKIP=$stage" >&2
    exit 2
  fi
}
need_command lint lint
need_command test test
need_command build bundle build
need_command report compliance report
need_command diff diff
need_command sign bundle sign
need_command sign keygen

if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work" || { echo "pipeline: cannot create work directory \"$work\"" >&2; exit 2; }
bundle="$work/bundle.tar.gz"

# --- lint ------------------------------------------------------------------------------------------
banner 1/7 lint
if [ -n "${skip[lint]:-}" ]; then
  status[lint]="SKIPPED (FLEETPDP_PIPELINE_SKIP)"; echo "SKIPPED"
else
  "$fleetpdp" lint "$src" --fail-on "$lint_fail_on" 2>&1 | tee "$work/lint.txt"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) status[lint]="ok" ;;
    1) fail_stage lint 1 "findings at or above \"$lint_fail_on\" (above)" ;;
    *) fail_stage lint 2 "fleetpdp lint exited $rc" ;;
  esac
fi

# --- test ------------------------------------------------------------------------------------------
banner 2/7 test
if [ -n "${skip[test]:-}" ]; then
  status[test]="SKIPPED (FLEETPDP_PIPELINE_SKIP)"; echo "SKIPPED"
else
  "$fleetpdp" test "$src" --junit "$work/junit.xml" 2>&1 | tee "$work/test.txt"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) status[test]="ok ($(tail -n 1 "$work/test.txt"))" ;;
    1) fail_stage test 1 "policy tests failed: $(grep '^FAIL ' "$work/test.txt" | sed 's/^FAIL //' | paste -sd ';' -)" ;;
    *) fail_stage test 2 "fleetpdp test exited $rc" ;;
  esac
fi

# --- build -----------------------------------------------------------------------------------------
banner 3/7 build
"$fleetpdp" bundle build "$src" -o "$bundle" 2>&1 | tee "$work/build.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail_stage build "$([ "$rc" -eq 1 ] && echo 1 || echo 2)" "fleetpdp bundle build exited $rc"
inspect_field() {  # inspect_field BUNDLE FIELD: a field of "fleetpdp bundle inspect"
  "$fleetpdp" bundle inspect "$1" | sed -n "s/^$2: *//p"
}
name=$(inspect_field "$bundle" name)
revision=$(inspect_field "$bundle" revision)
digest=$(inspect_field "$bundle" digest)
[ -n "$name" ] && [ -n "$revision" ] && [ -n "$digest" ] ||
  fail_stage build 2 "cannot read name, revision and digest of the built bundle"
status[build]="ok ($name rev $revision, digest ${digest:0:12}…)"

# --- report ----------------------------------------------------------------------------------------
banner 4/7 "report (compliance)"
if [ -n "${skip[report]:-}" ]; then
  status[report]="SKIPPED (FLEETPDP_PIPELINE_SKIP)"; echo "SKIPPED"
else
  report_flags=()
  [ -z "$catalogue" ] || report_flags+=(--catalogue "$catalogue")
  [ "$fail_on_gaps" != 1 ] || report_flags+=(--fail-on-gaps)
  "$fleetpdp" compliance report "$bundle" "${report_flags[@]}" --format json \
    -o "$work/compliance-report.json" >/dev/null 2>"$work/report.err"
  rc=$?
  if [ "$rc" -le 1 ]; then
    "$fleetpdp" compliance report "$bundle" "${report_flags[@]}" -o "$work/compliance-report.md" 2>&1
  fi
  cat "$work/report.err" >&2
  case $rc in
    0) status[report]="ok ($(sed -n 's/^- gaps: //p' "$work/compliance-report.md") gap(s))" ;;
    1) fail_stage report 1 "compliance gaps with --fail-on-gaps (see $work/compliance-report.md)" ;;
    *) fail_stage report 2 "fleetpdp compliance report exited $rc" ;;
  esac
fi

# --- diff ------------------------------------------------------------------------------------------
banner 5/7 diff
published="$publish_dir/$name.tar.gz"
[ -n "$previous" ] || { [ ! -f "$published" ] || previous=$published; }
if [ -n "${skip[diff]:-}" ]; then
  status[diff]="SKIPPED (FLEETPDP_PIPELINE_SKIP)"; echo "SKIPPED"
elif [ -z "$previous" ]; then
  echo "no previous bundle (nothing published at $published, no --previous): first release"
  status[diff]="ok (first release, nothing to compare)"
else
  echo "comparing the decisions of $previous with the new bundle"
  "$fleetpdp" diff "$previous" "$bundle" --fail-on-change 2>&1 | tee "$work/diff.txt"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) status[diff]="ok (no decision changes)" ;;
    1)
      if [ "$approve" = 1 ]; then
        echo "pipeline: decision changes APPROVED (--approve-changes / FLEETPDP_APPROVE_CHANGES=1); impact above"
        status[diff]="ok (changes approved)"
      else
        fail_stage diff 1 "the new bundle changes decisions (impact above); review them and rerun with --approve-changes or FLEETPDP_APPROVE_CHANGES=1 to accept"
      fi ;;
    *) fail_stage diff 2 "fleetpdp diff exited $rc" ;;
  esac
fi

# --- sign ------------------------------------------------------------------------------------------
banner 6/7 sign
if [ -z "$key" ]; then
  key_id="ci-throwaway"
  mkdir -p "$work/keys"
  rm -f "$work/keys/$key_id.key.pem" "$work/keys/$key_id.pub.pem"
  "$fleetpdp" keygen --key-id "$key_id" --out "$work/keys" >/dev/null ||
    fail_stage sign 2 "fleetpdp keygen failed"
  key="$work/keys/$key_id.key.pem"
  echo "WARNING: no signing key given (--key / FLEETPDP_SIGNING_KEY): signing with a THROWAWAY key"
  echo "WARNING: \"$key_id\" made just now; no server trusts it. Its public half: $work/keys/$key_id.pub.pem"
fi
[ -r "$key" ] || fail_stage sign 2 "cannot read the signing key \"$key\""
"$fleetpdp" bundle sign "$bundle" --key "$key" --key-id "$key_id" ||
  fail_stage sign 2 "fleetpdp bundle sign failed"
if [ -z "$trusted" ]; then
  # Verify against the public half of the key just used, derived here (the private key never
  # leaves the work directory).
  trusted="$work/trusted"
  mkdir -p "$trusted"
  if [ -f "$work/keys/$key_id.pub.pem" ]; then
    cp "$work/keys/$key_id.pub.pem" "$trusted/"
  elif ! openssl pkey -in "$key" -pubout -out "$trusted/$key_id.pub.pem" 2>"$work/openssl.err"; then
    fail_stage sign 2 "cannot derive the public key of \"$key\": $(cat "$work/openssl.err")"
  fi
fi
"$fleetpdp" bundle verify "$bundle" --keys "$trusted" ||
  fail_stage sign 1 "the signed bundle does not verify against $trusted"
status[sign]="ok (key \"$key_id\")"

# --- publish ---------------------------------------------------------------------------------------
banner 7/7 publish
mkdir -p "$publish_dir/revisions" || fail_stage publish 2 "cannot create \"$publish_dir\""
if [ -f "$published" ]; then
  old_revision=$(inspect_field "$published" revision)
  old_digest=$(inspect_field "$published" digest)
  if [ "$old_digest" = "$digest" ]; then
    echo "the published bundle ($published, rev $old_revision) has the same digest: nothing to publish"
    status[publish]="ok (unchanged: digest ${digest:0:12}… already published)"
    summary
    echo "PIPELINE PASSED"
    exit 0
  fi
  if [ "$revision" -le "$old_revision" ]; then
    fail_stage publish 1 "revision $revision is not above the published revision $old_revision: servers would refuse it as a rollback; bump \"revision\" in $src/manifest.yaml"
  fi
fi
# Immutable per-revision copies first, the files servers and people poll last, each replaced by a
# rename so that a reader never sees half a file and an HTTP server's ETag changes with it.
rev_dir="$publish_dir/revisions/$revision"
mkdir -p "$rev_dir"
cp "$bundle" "$rev_dir/$name.tar.gz"
for f in compliance-report.md compliance-report.json junit.xml lint.txt diff.txt; do
  [ ! -f "$work/$f" ] || cp "$work/$f" "$rev_dir/$f"
done
publish_file() {  # publish_file SOURCE TARGET: atomic replace
  cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}
sha=$(sha256sum "$bundle" | cut -d' ' -f1)
printf '%s  %s\n' "$sha" "$name.tar.gz" >"$work/sha256"
tar -xzf "$bundle" -O .signatures.json >"$work/signatures.json" 2>/dev/null ||
  fail_stage publish 2 "cannot read .signatures.json from the signed bundle"
published_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$work/index.json" <<EOF
{
  "name": "$name",
  "revision": $revision,
  "digest": "$digest",
  "key_id": "$key_id",
  "bundle": "$name.tar.gz",
  "sha256": "$sha",
  "signatures": "$name.signatures.json",
  "compliance_report": "revisions/$revision/compliance-report.md",
  "revision_dir": "revisions/$revision/",
  "published_at": "$published_at"
}
EOF
cp "$work/index.json" "$rev_dir/index.json"
publish_file "$work/signatures.json" "$publish_dir/$name.signatures.json"
publish_file "$work/sha256" "$publish_dir/$name.tar.gz.sha256"
[ ! -f "$work/compliance-report.md" ] || publish_file "$work/compliance-report.md" "$publish_dir/compliance-report.md"
[ ! -f "$work/compliance-report.json" ] || publish_file "$work/compliance-report.json" "$publish_dir/compliance-report.json"
publish_file "$bundle" "$published"
publish_file "$work/index.json" "$publish_dir/index.json"
echo "published $published (rev $revision, digest $digest, sha256 $sha)"
echo "servers: fleetpdp serve --bundle http(s)://<host>/$name.tar.gz --keys <dir with $key_id.pub.pem>"
status[publish]="ok ($published)"
summary
echo "PIPELINE PASSED"
