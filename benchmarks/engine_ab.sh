#!/usr/bin/env bash
# Compares builds of engine_benchmarks side by side: runs each binary in turn, ROUNDS times,
# alternating, pinned to one CPU, and prints per benchmark the median over the rounds of each
# binary's median CPU time, with the range. Alternating rounds spread a noisy machine's slow
# minutes over all binaries instead of one.
#
#   benchmarks/engine_ab.sh 'BM_Check/' before=/tmp/engine_benchmarks.old after=build/release/benchmarks/engine_benchmarks
#
# Environment: ROUNDS (default 5), CPU (default 1), REPETITIONS per run (default 3), RAW (a file
# that keeps every round's figures). GLIBC_TUNABLES=glibc.malloc.hugetlb=1 is set for every run,
# as in the container image (docs/benchmarks.md, "Huge pages").
set -euo pipefail

usage() {
  echo "usage: $0 FILTER NAME=BINARY [NAME=BINARY ...]" >&2
  echo "  FILTER is a --benchmark_filter regex, e.g. 'BM_Check/'" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
filter=$1
shift
for arg in "$@"; do
  [[ $arg == *=* ]] || usage
  [[ -x ${arg#*=} ]] || { echo "$0: ${arg#*=} is not an executable" >&2; exit 2; }
done

rounds=${ROUNDS:-5}
if [[ ${REPETITIONS:-3} -lt 2 ]]; then
  echo "$0: REPETITIONS must be at least 2 (Google Benchmark reports a median only then)" >&2
  exit 2
fi
raw=${RAW:-$(mktemp)}
: >"$raw"
for round in $(seq 1 "$rounds"); do
  for arg in "$@"; do
    name=${arg%%=*}
    binary=${arg#*=}
    echo "round $round/$rounds: $name" >&2
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 taskset -c "${CPU:-1}" "$binary" \
      --benchmark_filter="$filter" --benchmark_repetitions="${REPETITIONS:-3}" \
      --benchmark_report_aggregates_only=true 2>/dev/null |
      awk -v name="$name" '/_median / { sub("_median", "", $1); print name, $1, $4 }' >>"$raw"
  done
done

python3 - "$raw" "$@" <<'EOF'
import collections, statistics, sys
names = [a.split("=", 1)[0] for a in sys.argv[2:]]
runs = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    name, bench, ns = line.split()
    if bench not in order:
        order.append(bench)
    runs[(bench, name)].append(float(ns))
print("| benchmark | " + " | ".join(f"{n} (ns, median, min-max)" for n in names) + " |")
print("| --- |" + " ---: |" * len(names))
for bench in order:
    cells = []
    for n in names:
        v = runs.get((bench, n))
        cells.append(f"{statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})" if v else "-")
    print(f"| `{bench}` | " + " | ".join(cells) + " |")
EOF
