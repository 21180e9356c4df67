#!/usr/bin/env bash
# Installs every Debian package FleetPDP needs to build, test and benchmark, on a fresh Debian 12.
# Idempotent: re-running it only installs what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  cmake g++ make ninja-build pkg-config ccache git ca-certificates openssl
  # libraries
  libyaml-cpp-dev libabsl-dev nlohmann-json3-dev libssl-dev libarchive-dev zlib1g-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libcivetweb-dev libboost-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # profiling the servers (benchmarks/profile_server.sh)
  valgrind
  # integration tests: promtool and a real Prometheus
  prometheus
  # the Mosquitto plugin (headers) and its tests (a real broker and its clients)
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients python3
  # deployment tests (helm, Kubernetes schemas, Dockerfile lint from tools/node; Prometheus API)
  nodejs curl jq
  # style
  clang-format clang-tidy
  # fuzzing: clang and libFuzzer (tools/fuzz.sh)
  clang libclang-rt-14-dev
  # sanitizers: gcc 12's runtimes for presets asan-ubsan and tsan (g++ brings them; named so a
  # slimmer toolchain cannot drop them silently)
  libasan8 libubsan1 liblsan0 libtsan2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# npm: Debian's package, unless the installed nodejs brings its own npm.
command -v npm >/dev/null || [ -n "${FLEETPDP_SETUP_SKIP_NODE:-}" ] || missing+=(npm)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node tools pinned by tools/node/package-lock.json: helm 3.10, kubernetes-models, dockerfile-utils.
# The container image build (deploy/Dockerfile) needs none of them.
if [ -z "${FLEETPDP_SETUP_SKIP_NODE:-}" ]; then
  node_dir="$(cd "$(dirname "$0")" && pwd)/node"
  stamp="$node_dir/node_modules/.installed-from-lock"  # the lock file npm ci last installed
  if ! cmp -s "$node_dir/package-lock.json" "$stamp" 2>/dev/null; then
    echo "setup: npm ci in tools/node"
    npm ci --prefix "$node_dir" --no-audit --no-fund --loglevel=error
    cp "$node_dir/package-lock.json" "$stamp"
  fi
fi
echo "setup: done"
