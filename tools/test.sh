#!/usr/bin/env bash
# Builds the test binaries and runs every test with ctest. Exit status is ctest's; under
# asan-ubsan also 1 when any process wrote a sanitizer report.
#   tools/test.sh [PRESET]       (release by default; asan-ubsan runs under sanitizers)
#
# asan-ubsan: every sanitized process (the gtest binaries, and the `fleetpdp` and the Mosquitto
# plugin the shell end-to-end tests start) writes its ASan, LeakSanitizer or UBSan report to
# build/asan-ubsan/sanitizer-reports/ instead of stderr, so a report from a server a script
# stops without checking its exit status still fails the run; the reports are printed at the end.
# tools/lsan.supp holds the narrow LeakSanitizer suppressions (each explained there).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
tools/build.sh "$preset" fleetpdp fleetpdp_tests
reports=
if [ "$preset" = asan-ubsan ]; then
  reports=$PWD/build/asan-ubsan/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # log_exe_name: the file name says which program reported (asan.server_tests.PID).
  export ASAN_OPTIONS="log_path=$reports/asan log_exe_name=1 detect_leaks=1 ${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="log_path=$reports/ubsan log_exe_name=1 print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
  export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"
fi
status=0
ctest --preset "$preset" -j2 || status=$?
if [ -n "$reports" ] && [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/*; do
    echo "==== sanitizer report $f"
    cat "$f"
  done
  echo "test: $(ls "$reports" | wc -l) sanitizer report(s) in $reports" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
