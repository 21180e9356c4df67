#!/usr/bin/env bash
# deploy/Dockerfile checked without a container engine: syntax and the image's promises
# (check_dockerfile.js), that the checks can fail (mutants are refused), and that the build stage
# uses CMake options the project has.
#   tests/deploy/dockerfile_test.sh REPO_ROOT
set -uo pipefail
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"
modules="$root/tools/node/node_modules"
dockerfile="$root/deploy/Dockerfile"
check="$root/tests/deploy/check_dockerfile.js"
[ -d "$modules/dockerfile-utils" ] && command -v node >/dev/null ||
  { echo "FAIL node or dockerfile-utils missing (run tools/setup.sh)"; exit 1; }

expect "deploy/Dockerfile passes every check" 0 'Dockerfile checks passed' -- node "$check" "$modules" "$dockerfile"

# mutant NAME SED_SCRIPT REGEX: the Dockerfile edited by SED_SCRIPT must be refused with REGEX.
mutant() {
  sed "$2" "$dockerfile" >"$work/Dockerfile"
  if cmp -s "$work/Dockerfile" "$dockerfile"; then echo "FAIL mutant '$1' changed nothing"; fails=$((fails + 1)); return; fi
  expect "refused: $1" 1 "FAIL $3" -- node "$check" "$modules" "$work/Dockerfile"
}
mutant "running as root" 's/^USER .*/USER root/' 'the runtime stage runs as a numeric non-root user'
mutant "no USER at all" '/^USER /d' 'the runtime stage runs as a numeric non-root user'
mutant "an unpinned base image" 's/^ARG DEBIAN_IMAGE=.*/ARG DEBIAN_IMAGE=debian:latest/' 'base image debian:latest is pinned'
mutant "a non-Debian-12 base" 's/^ARG DEBIAN_IMAGE=.*/ARG DEBIAN_IMAGE=debian:11.9-slim/' 'base image debian:11.9-slim is Debian 12'
mutant "ADD of a URL" 's|^COPY . .$|ADD https://example.com/src.tar.gz /src|' 'no ADD'
mutant "a compiler in the runtime image" 's/--no-install-recommends ca-certificates/--no-install-recommends ca-certificates g++/' 'the runtime stage installs no compiler'
mutant "the build tree copied into the runtime" 's|^COPY --from=build /build/cli/fleetpdp|COPY --from=build /build|' 'the runtime stage copies only the binary'
mutant "a syntax error" 's/^EXPOSE /EXPOZE /' 'dockerfile-utils finds no error'

# The CMake options the build stage sets exist.
for option in $(grep -o -- '-D[A-Z_]*' "$dockerfile" | sed 's/^-D//' | sort -u); do
  case $option in CMAKE_*) continue ;; esac
  expect "the build stage's -D$option is a project option" 0 "option\\($option " -- cat "$root/CMakeLists.txt"
done

[ "$fails" -eq 0 ] && echo "all Dockerfile checks passed" || { echo "$fails check(s) failed"; exit 1; }
