#!/usr/bin/env bash
# The one pre-merge check, for people and CI: formatting, layering, clang-tidy on changed files,
# the test suite in Release, and (with --full) the suite under AddressSanitizer + UBSan.
#   tools/check.sh [--full]
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

echo "== format"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
if ! clang-format --dry-run -Werror "${sources[@]}" 2>/dev/null; then
  echo "not clang-formatted (run: clang-format -i \$(git ls-files '*.cc' '*.h'))"
  status=1
fi

echo "== layering (server → bundles → engine)"
if grep -rnE '#include *[<"](grpc|grpcpp|prometheus|server/|bundles/|cli/|boost/asio|openssl|yaml-cpp|fstream|filesystem|thread)' engine/*.h; then
  echo "engine/ headers reach outward"; status=1
fi
if grep -rnE '#include *[<"](grpc|grpcpp|prometheus|boost/asio|openssl|fstream|filesystem|thread|iostream)' engine/*.cc; then
  echo "engine/ does I/O or threads"; status=1
fi
if grep -rnE '#include *[<"](server/|cli/|grpcpp|prometheus)' bundles 2>/dev/null; then
  echo "bundles/ reaches into server/, cli/ or gRPC"; status=1
fi

echo "== tests (release)"
tools/test.sh release || status=1

if [ "${1:-}" = "--full" ]; then
  echo "== clang-tidy"
  run-clang-tidy -quiet -p build/release 'engine/.*\.cc$' >/tmp/fleetpdp-tidy.log 2>&1 || true
  grep -E "warning:|error:" /tmp/fleetpdp-tidy.log | sort -u | head -50 || true
  echo "== tests (asan-ubsan)"
  tools/test.sh asan-ubsan || status=1
fi
exit $status
