#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (ctest) twice: a release
# build (build/), then an ASan+UBSan build (build-asan/, VRAMSNAP_SANITIZE=ON).
# GPU tests carry the "gpu" label and report as skipped on machines without a
# GPU. Both passes replay the committed fuzz corpora (label "fuzz-replay"); the
# timed fuzz runs (label "fuzz", present only in -DVRAMSNAP_FUZZ=ON builds) are
# never run here: use scripts/fuzz.sh.
#   scripts/test.sh                         release + ASan/UBSan passes
#   VRAMSNAP_TEST_QUICK=1 scripts/test.sh   release pass only
#   VRAMSNAP_SANITIZE=ON scripts/test.sh    ASan/UBSan pass only
#   VRAMSNAP_SANITIZE=OFF scripts/test.sh   release pass only
#   scripts/test.sh -R codec                extra arguments go to ctest
# The sanitizer pass is compiled with clang when it is installed (about half
# GCC's compile time with ASan+UBSan); CC/CXX override the compiler of both.
# VRAMSNAP_BUILD_DIR overrides the build directory of a single-pass run (and
# of the release pass otherwise); VRAMSNAP_JOBS the build parallelism.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

case ${VRAMSNAP_SANITIZE:-} in
  ON) passes=(ON) ;;
  OFF) passes=(OFF) ;;
  *) if [[ ${VRAMSNAP_TEST_QUICK:-0} == 1 ]]; then passes=(OFF); else passes=(OFF ON); fi ;;
esac
release_build=${VRAMSNAP_BUILD_DIR:-build}
asan_build=build-asan
[[ ${#passes[@]} -eq 1 && -n ${VRAMSNAP_BUILD_DIR:-} ]] && asan_build=$VRAMSNAP_BUILD_DIR
werror=OFF
[[ -n ${CI:-} ]] && werror=ON
jobs=${VRAMSNAP_JOBS:-$(nproc)}

# Sanitizer runtime options (only read by the ASan/UBSan pass). LeakSanitizer
# is on: a leak fails the test. protect_shadow_gap=0: the tests link the static
# CUDA runtime, and on a machine with a GPU driver cuInit maps memory inside the
# address range ASan reserves as its shadow gap, which fails unless the gap is
# left unprotected.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:protect_shadow_gap=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for sanitize in "${passes[@]}"; do
  build=$release_build
  [[ $sanitize == ON ]] && build=$asan_build
  echo "== scripts/test.sh: $build (VRAMSNAP_SANITIZE=$sanitize)"
  start=$SECONDS
  # The sanitizer pass builds at -O1 -g1: about half the compile time of
  # -O2 -g under ASan+UBSan, with stack traces still usable.
  opt_flags=()
  [[ $sanitize == ON ]] && opt_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1")
  compilers=()
  if [[ -n ${CXX:-} ]]; then
    compilers=(-DCMAKE_C_COMPILER="${CC:-cc}" -DCMAKE_CXX_COMPILER="$CXX")
  elif [[ $sanitize == ON ]] && command -v clang++ >/dev/null && command -v clang >/dev/null; then
    compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  fi
  # A build directory configured with another compiler is configured afresh.
  if [[ ${#compilers[@]} -gt 0 && -f $build/CMakeCache.txt ]]; then
    want_cxx=${compilers[1]#-DCMAKE_CXX_COMPILER=}
    have_cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
    [[ $(command -v "$want_cxx" || echo "$want_cxx") == "$have_cxx" ]] || rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVRAMSNAP_SANITIZE="$sanitize" -DVRAMSNAP_WERROR="$werror" "${opt_flags[@]}" "${compilers[@]}" >/dev/null
  cmake --build "$build" --parallel "$jobs"
  # -LE '^fuzz$': skip the timed fuzz runs, keep the corpus replays (fuzz-replay).
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE '^fuzz$' "$@"
  echo "== scripts/test.sh: $build passed in $((SECONDS - start)) s"
done
