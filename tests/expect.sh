# Sourced by the end-to-end shell tests. expect NAME EXIT_CODE REGEX -- COMMAND…: runs COMMAND and
# checks its exit code and that its output (stdout and stderr, as one text: '.' matches newlines)
# matches REGEX; prints "ok" or "FAIL" with the output, and counts failures in $fails.
fails=0
expect() {
  local name=$1 want=$2 regex=$3; shift 4
  local out code
  out=$("$@" 2>&1); code=$?
  if [ "$code" != "$want" ] || ! grep -qzE -- "$regex" <<<"$out"; then
    echo "FAIL $name: exit $code (want $want), output:"; echo "$out" | sed 's/^/    /'
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
