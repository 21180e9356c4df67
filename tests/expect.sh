# Sourced by the end-to-end shell tests. expect NAME EXIT_CODE REGEX -- COMMAND…: runs COMMAND and
# checks its exit code and that its output (stdout and stderr as one text, with a final newline)
# matches REGEX (a POSIX extended regex over the whole output: '.' matches newlines, ^ and $ anchor
# at its start and end, and a newline in REGEX is a newline); prints "ok" or "FAIL" with the output,
# and counts failures in $fails.
fails=0
expect() {
  local name=$1 want=$2 regex=$3; shift 4
  local out code
  out=$("$@" 2>&1); code=$?
  if [ "$code" != "$want" ] || ! [[ "$out"$'\n' =~ $regex ]]; then
    echo "FAIL $name: exit $code (want $want), output:"; echo "$out" | sed 's/^/    /'
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
