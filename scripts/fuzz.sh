#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DVRAMSNAP_FUZZ=ON, in build-fuzz/) and
# runs each for SECONDS on a scratch copy of its seed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s, every target
#   targets: codec snapshot manifest structs safetensors remote
# Prints one line per target; exits 1 if any target crashed, leaked, timed out
# or ran out of memory. Reproducers are kept in build-fuzz/crashes/ (replay
# one with: build-fuzz/tests/fuzz/fuzz_<target> <file>), full logs in
# build-fuzz/fuzz-logs/. New inputs found go to build-fuzz/fuzz-corpus/<target>
# only (emptied first unless VRAMSNAP_FUZZ_KEEP=1); the committed corpus
# (tests/fuzz/corpus/) is never written.
# Environment: VRAMSNAP_FUZZ_BUILD_DIR (build-fuzz), VRAMSNAP_FUZZ_JOBS (nproc),
# VRAMSNAP_FUZZ_MAX_LEN (1048576), VRAMSNAP_FUZZ_KEEP (0), CC/CXX (clang/clang++),
# VRAMSNAP_FUZZ_FLAGS (extra libFuzzer flags, e.g. "-rss_limit_mb=4096").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets=(codec snapshot manifest structs safetensors remote)
seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("${@#fuzz_}")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if [[ ! -f tests/fuzz/fuzz_$t.cpp ]]; then
    echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

build=${VRAMSNAP_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${VRAMSNAP_FUZZ_JOBS:-$(nproc)}
max_len=${VRAMSNAP_FUZZ_MAX_LEN:-1048576}
read -r -a extra_flags <<<"${VRAMSNAP_FUZZ_FLAGS:-}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
  -DVRAMSNAP_FUZZ=ON -DVRAMSNAP_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --parallel "$jobs" --target "${targets[@]/#/fuzz_}"

crashes_dir=$build/crashes
logs=$build/fuzz-logs
mkdir -p "$crashes_dir" "$logs"
status=0
for t in "${targets[@]}"; do
  work=$build/fuzz-corpus/$t
  [[ ${VRAMSNAP_FUZZ_KEEP:-0} == 1 ]] || rm -rf "$work"
  mkdir -p "$work"
  cp -R "tests/fuzz/corpus/$t/." "$work/"
  seeds=$(find "$work" -type f | wc -l)
  marker=$(mktemp)
  log=$logs/$t.log
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$crashes_dir/$t-" "${extra_flags[@]}" "$work" >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || true)
  found=()
  while IFS= read -r f; do found+=("$f"); done < <(find "$crashes_dir" -type f -name "$t-*" -newer "$marker")
  rm -f "$marker"
  corpus=$(find "$work" -type f | wc -l)
  crashes=${#found[@]}
  # A failure outside any input (e.g. libFuzzer's own allocation over a limit)
  # leaves no reproducer but still counts.
  [[ $rc -ne 0 && $crashes -eq 0 ]] && crashes=1
  printf 'fuzz_%-12s %4ss  execs %-9s crashes %d  cov %-6s corpus %s -> %s  peak rss %s MiB  rc %d\n' \
    "$t" "$seconds" "${execs:-?}" "$crashes" "${cov:-?}" "$seeds" "$corpus" "${rss:-?}" "$rc"
  if [[ $crashes -gt 0 ]]; then
    status=1
    for f in "${found[@]}"; do echo "  reproducer: $f"; done
    grep -m 3 -E 'ERROR: |runtime error|oracle failed|SUMMARY' "$log" | sed 's/^/  /' || true
    echo "  log: $log"
  fi
done
exit $status
