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
  # integration tests: promtool and a real Prometheus
  prometheus
  # the Mosquitto plugin (headers) and its tests (a real broker and its clients)
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients python3
  # style
  clang-format clang-tidy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
