#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (ctest). GPU tests carry the
# "gpu" label and report as skipped on machines without a GPU.
#   scripts/test.sh                 release build + all tests
#   VRAMSNAP_SANITIZE=ON scripts/test.sh   the same under ASan+UBSan (build-asan/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sanitize=${VRAMSNAP_SANITIZE:-OFF}
build=${VRAMSNAP_BUILD_DIR:-build}
[[ $sanitize == ON && -z ${VRAMSNAP_BUILD_DIR:-} ]] && build=build-asan
werror=OFF
[[ -n ${CI:-} ]] && werror=ON
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVRAMSNAP_SANITIZE="$sanitize" -DVRAMSNAP_WERROR="$werror" >/dev/null
cmake --build "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
