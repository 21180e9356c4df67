#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each for a bounded
# time on a scratch copy of its checked-in corpus (fuzz/corpus/<target>/ never grows by itself).
# Prints per target: executions, exec/s, corpus size, crashes. Exits non-zero when any target
# crashed (an invariant abort, a sanitizer report, a leak, a timeout or an out-of-memory); the
# crashing input is kept and its path printed.
#   tools/fuzz.sh [SECONDS] [TARGET…]     (60 s; targets: policy bundle request topic)
# FLEETPDP_FUZZ_OUT sets the scratch directory (default build/fuzz/runs); it is emptied first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
case $seconds in '' | *[!0-9]*)
  echo "usage: tools/fuzz.sh [SECONDS] [TARGET…]  (SECONDS a whole number, got \"$seconds\")" >&2
  exit 2 ;;
esac
all=(policy bundle request topic)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "unknown fuzz target \"$t\" (known: ${all[*]})" >&2; exit 2; }
done

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/%/_fuzzer}"

out=${FLEETPDP_FUZZ_OUT:-build/fuzz/runs}
rm -rf "$out"
summary=()
failed=0
for t in "${targets[@]}"; do
  dir="$out/$t"
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp fuzz/corpus/"$t"/* "$dir/corpus/"
  echo "== fuzzing $t for ${seconds}s (log: $dir/fuzz.log)"
  status=0
  # halt_on_error etc. are the defaults under libFuzzer; leaks are checked per input.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "build/fuzz/fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/" "$dir/corpus" >"$dir/fuzz.log" 2>&1 ||
    status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log")
  if [ -z "$execs" ]; then  # a crash ends the run before the final stats: use the last progress line
    last=$(grep -E '^#[0-9]+' "$dir/fuzz.log" | tail -1 || true)
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
  fi
  files=$(find "$dir/corpus" -type f | wc -l)
  bytes=$(du -sb "$dir/corpus" | cut -f1)
  mapfile -t crashes < <(find "$dir/crashes" -type f | sort)
  if [ "$status" -ne 0 ] || [ ${#crashes[@]} -gt 0 ]; then
    failed=1
    echo "!! $t crashed (exit $status); input(s) kept:"
    printf '   %s\n' "${crashes[@]:-none written}"
    grep -m3 -E 'ERROR: |invariant violated|runtime error|SUMMARY' "$dir/fuzz.log" | sed 's/^/   /' || true
  fi
  summary+=("$(printf '%-8s %12s %8s %7s files %9s bytes %3s' "$t" "${execs:-?}" "${rate:-?}" \
    "$files" "$bytes" "${#crashes[@]}")")
done

echo
printf '%-8s %12s %8s %13s %15s %s\n' target executions exec/s corpus "" crashes
printf '%s\n' "${summary[@]}"
exit $failed
