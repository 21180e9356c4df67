# Sourced by the shell tests that start servers on loopback: the process and port helpers they
# share (tests/prometheus_lib.sh, tests/server/load_lib.sh).
#   pids=(); trap 'kill_all' EXIT; source tests/process_lib.sh

# kill_all: ends every process in the caller's `pids` array and reaps it.
kill_all() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}

# free_port: prints a TCP port nobody listens on now (callers retry if it is taken meanwhile).
free_port() {
  local port hex
  while true; do
    port=$((20000 + RANDOM % 40000))
    hex=$(printf '%04X' "$port")
    grep -qiE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
  done
  echo "$port"
}
