#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: build vramsnap with all
# cores, run the `gpu`-label tests and examples/device_pointers, and bench
# `--target cuda` for raw and compressed snapshots (1 MiB .. 1 GiB) beside the
# same run's pinned cudaMemcpyAsync reference. Writes
# bench-results/<gpu>-<date>.json, a PNG per sweep and a one-line-per-target
# summary, and copies them with the logs (at most 8 files) to $OUT when set.
# Fits in 8 minutes on a 16-core H200 host: every step runs under `timeout`
# within one overall deadline.
#
#   scripts/gpu-bundle.sh       # once, on the Debian build host (no GPU needed)
#   scripts/gpu-check.sh        # on the GPU host; exit 77 where there is no GPU
#
# It builds against the carried bundle (.gpu-bundle/); if that fails on the
# GPU host, it runs the tests and the bench with the bundle's prebuilt
# binaries instead (gpu-bundle.sh --binaries), when they run there.
#
# Environment:
#   VRAMSNAP_GPU_CHECK_REHEARSE=1  without a GPU, run everything up to the GPU
#                                  steps (configure, build, example compile), then stop
#   VRAMSNAP_GPU_CHECK_WORK=DIR    build directory (default build-gpu-check/)
#   VRAMSNAP_GPU_CHECK_JOBS=N      build jobs (default: all cores)
#   VRAMSNAP_GPU_CHECK_DEADLINE=S  overall budget in seconds (default 450)
#   VRAMSNAP_GPU_CHECK_SLOWDOWN=N  multiplies every step's cap and the deadline
#                                  (default 1; 8 when rehearsing, for a small build host)
#   VRAMSNAP_GPU_CHECK_SIZES="..." bench sizes (default "1MiB 16MiB 128MiB 512MiB 1GiB")
#   VRAMSNAP_GPU_CHECK_ARCH=NN     CUDA architecture (default: from nvidia-smi; 90 when rehearsing)
# Exit: 0 all passed, 1 a step failed, 2 usage/setup, 77 no GPU.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
rehearse=${VRAMSNAP_GPU_CHECK_REHEARSE:-0}
slow=${VRAMSNAP_GPU_CHECK_SLOWDOWN:-$([[ $rehearse == 1 ]] && echo 8 || echo 1)}
deadline=$((start + ${VRAMSNAP_GPU_CHECK_DEADLINE:-450} * slow))
work=${VRAMSNAP_GPU_CHECK_WORK:-$root/build-gpu-check}
jobs=${VRAMSNAP_GPU_CHECK_JOBS:-$(nproc)}
sizes=${VRAMSNAP_GPU_CHECK_SIZES:-1MiB 16MiB 128MiB 512MiB 1GiB}
bundle=$root/.gpu-bundle/prefix
py=${PYTHON:-python3}
logs=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-gpu-check.XXXXXX")
trap 'rm -rf "$logs"' EXIT
failed=()

say() { echo "gpu-check [$(( $(date +%s) - start ))s]: $*"; }
# Seconds a step may take: its own cap, or what is left before the deadline.
budget() {
  local left=$((deadline - $(date +%s) - 10))
  (( left < 5 )) && left=5
  (( $1 < left )) && echo "$1" || echo "$left"
}
# step NAME CAP_S CMD...: runs under timeout, logs to $logs/NAME.log.
step() {
  local name=$1 cap; cap=$(budget $(($2 * slow))); shift 2
  say "$name (at most ${cap}s)"
  local t0=$(date +%s) rc=0
  timeout --kill-after=10 "$cap" "$@" >"$logs/$name.log" 2>&1 || rc=$?
  local dt=$(( $(date +%s) - t0 ))
  if (( rc == 0 )); then say "$name: ok (${dt}s)"
  else
    (( rc == 124 || rc == 137 )) && say "$name: TIMED OUT after ${dt}s" || say "$name: FAILED (exit $rc, ${dt}s)"
    tail -n 25 "$logs/$name.log" | sed 's/^/    /'
    failed+=("$name")
  fi
  return $rc
}

# ---- 1. the environment, first ---------------------------------------------
{
  echo "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) =="
  echo "os: $( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s) $(uname -r) $(uname -m); cores: $(nproc); memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "git: $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"
  if command -v nvidia-smi >/dev/null; then
    timeout 20 nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max --format=csv 2>&1 || echo "nvidia-smi: failed"
  else
    echo "nvidia-smi: not found"
  fi
  for tool in nvcc cmake ninja c++ g++ clang++ "$py"; do
    if command -v "$tool" >/dev/null; then
      echo "$tool: $("$tool" --version 2>&1 | grep -m1 -iE 'release|version|[0-9]+\.[0-9]+' )"
    else
      echo "$tool: not found"
    fi
  done
  [[ -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null && echo "nvcc: /usr/local/cuda/bin/nvcc (not on PATH)"
  "$py" -c 'import matplotlib; print("matplotlib:", matplotlib.__version__)' 2>/dev/null || echo "matplotlib: absent (no PNG)"
  if [[ -d $bundle ]]; then
    echo "libraries: carried bundle $bundle ($(head -n1 "$root/.gpu-bundle/MANIFEST" 2>/dev/null))"
    sed -n '2,$p' "$root/.gpu-bundle/MANIFEST" 2>/dev/null | sed 's/^/  /'
  else
    echo "libraries: no .gpu-bundle/ (run scripts/gpu-bundle.sh on the build host); using the system's:"
    for h in zstd.h openssl/evp.h fmt/format.h nlohmann/json.hpp CLI/CLI.hpp doctest/doctest.h; do
      found=$(ls /usr/include/$h /usr/local/include/$h 2>/dev/null | head -n1)
      echo "  $h: ${found:-missing}"
    done
  fi
} 2>&1 | tee "$logs/environment.log"

# ---- 2. is there a GPU? ---------------------------------------------------------
# `nvidia-smi -L` lists "GPU 0: NVIDIA H200 (UUID: ...)" per usable GPU; with
# no driver or no device it fails or prints something else.
gpus=$(timeout 20 nvidia-smi -L 2>/dev/null | grep -cE '^GPU [0-9]+:' || true)
if [[ ${gpus:-0} -eq 0 ]]; then
  if [[ $rehearse != 1 ]]; then
    say "no NVIDIA GPU on this machine (nvidia-smi finds none): nothing to check; exit 77 (skipped)"
    say "set VRAMSNAP_GPU_CHECK_REHEARSE=1 to rehearse the build up to the GPU steps"
    exit 77
  fi
  say "no NVIDIA GPU: rehearsing up to the GPU steps"
  gpu_name=rehearsal
  arch=${VRAMSNAP_GPU_CHECK_ARCH:-90}
else
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n1 | tr -d ' .')
  arch=${VRAMSNAP_GPU_CHECK_ARCH:-${cc:-90}}
  say "$gpus GPU(s), first: $gpu_name, CUDA architecture $arch"
fi
gpu_tag=$(echo "$gpu_name" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9.-' | sed 's/^nvidia-//')
date_tag=$(date -u +%Y-%m-%d)

# ---- 3. build against the carried bundle ----------------------------------------
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
# Remote sources are off: the GPU check reads local files, and a GPU host
# need not carry libcurl.
cfg=(-S "$root" -B "$work" -DCMAKE_BUILD_TYPE=Release -DVRAMSNAP_WERROR=OFF -DVRAMSNAP_BUILD_TESTS=ON -DVRAMSNAP_REMOTE=OFF
     -DCMAKE_CUDA_ARCHITECTURES="$arch")
command -v ninja >/dev/null && cfg+=(-G Ninja)
# nvcc need not be on PATH: CMake is told where it is (kernels and toolkit).
[[ -x $nvcc ]] && cfg+=(-DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")" -DCMAKE_CUDA_COMPILER="$nvcc")
if [[ -d $bundle ]]; then
  # Everything third-party from the bundle: static zstd and libcrypto, the
  # header-only rest; the host's own -dev packages are not consulted.
  cfg+=(-DCMAKE_PREFIX_PATH="$bundle" -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON
        -DOPENSSL_ROOT_DIR="$bundle" -DOPENSSL_USE_STATIC_LIBS=TRUE
        -DPKG_CONFIG_EXECUTABLE="$bundle/bin/pkg-config"
        # Debian's libzstd.a is not position-independent; hiding the archive's
        # symbols lets the shared library bind them locally (and keeps them
        # out of its exports).
        -DCMAKE_SHARED_LINKER_FLAGS="-Wl,--exclude-libs,ALL"
        # Binaries that depend on nothing but the C library, so a rehearsal's
        # can be carried (gpu-bundle.sh --binaries).
        -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc")
fi
# A cache from another checkout cannot be reused, and one from another bundle
# keeps stale library paths: start the configuration afresh (objects stay).
if [[ -f $work/CMakeCache.txt ]] && ! grep -q "CMAKE_HOME_DIRECTORY:INTERNAL=$root\$" "$work/CMakeCache.txt"; then
  rm -rf "$work"
fi
stamp=$(cat "$root/.gpu-bundle/MANIFEST" 2>/dev/null | head -n1)
if [[ -f $work/CMakeCache.txt && "$(cat "$work/.bundle-stamp" 2>/dev/null)" != "$stamp" ]]; then
  rm -f "$work/CMakeCache.txt"
fi
mkdir -p "$work" && echo "$stamp" >"$work/.bundle-stamp"
built=0
# What the `gpu`-label tests need; test_kernels exists where nvcc built the kernels.
gpu_targets() {
  local t=(vramsnap vramsnap_cli test_cuda)
  cmake --build "$work" --target help 2>/dev/null | grep -qw test_kernels && t+=(test_kernels)
  echo "${t[@]}"
}
if step configure 120 cmake "${cfg[@]}" &&
   step build 300 cmake --build "$work" -j "$jobs" --target $(gpu_targets); then
  built=1
  vs=$work/tools/vramsnap
  # The example straight from nvcc against the build tree, kernels for this chip.
  step example_build 120 "$nvcc" -std=c++20 -O2 -arch=sm_"$arch" "$root/examples/device_pointers.cu" \
    -I"$root/libsnap/include" -L"$work/libsnap" -lvramsnap -Xlinker -rpath="$work/libsnap" -o "$work/device_pointers"
else
  # This host cannot build: the binaries a rehearsal left in the bundle, if
  # they run here, still give the tests and the bench.
  carried=$root/.gpu-bundle/prebuilt
  if [[ -x $carried/vramsnap ]] && "$carried/vramsnap" --version >/dev/null 2>&1; then
    say "build failed: using the carried binaries ($(cat "$carried/VERSION" 2>/dev/null)); no example"
    vs=$carried/vramsnap
  else
    say "build failed and no carried binaries run here; see above"
    exit 1
  fi
fi
"$vs" --version | sed 's/^/    /'

if [[ $rehearse == 1 && ${gpus:-0} -eq 0 ]]; then
  if (( built )); then say "rehearsal: built $vs, $work/tests/test_cuda and $work/device_pointers for sm_$arch"
  else say "rehearsal: would run the carried $vs and $carried/test_cuda"; fi
  say "rehearsal: on a GPU host the next steps would be: ctest -L gpu; device_pointers;"
  say "  bench-sweep --target cuda:0 --codec raw and --codec auto over: $sizes (device- and host-verified);"
  say "  bench --codec planes --target cuda:0 (raw, shuffle and planes restores, device- and host-decoded);"
  say "  G6 on >1 GPU (one process per GPU, and --device-map in one process); report to bench-results/$gpu_tag-$date_tag.json"
  (( ${#failed[@]} )) && { say "rehearsal FAILED: ${failed[*]}"; exit 1; }
  say "rehearsal done in $(( $(date +%s) - start ))s"
  exit 0
fi

# ---- 4. on the GPU ----------------------------------------------------------------
if (( built )); then
  step gpu_tests 180 ctest --test-dir "$work" -L gpu --output-on-failure --timeout 150
  step device_pointers 60 "$work/device_pointers"
else
  mkdir -p "$logs/cli-tmp"
  step gpu_tests 180 bash -c "'$carried/test_cuda' && { [[ ! -x '$carried/test_kernels' ]] || '$carried/test_kernels'; } &&
    VRAMSNAP='$vs' VRAMSNAP_SOURCE_DIR='$root' \
    VRAMSNAP_TEST_TMPDIR='$logs/cli-tmp' bash '$root/tests/cli/gpu_restore.sh' '$vs' '$root'"
fi

results=$root/bench-results
mkdir -p "$results" "$logs/sweeps"
sweep() {  # sweep LABEL CODEC
  step "bench_$1" 150 env PYTHON="$py" "$root/scripts/bench-sweep.sh" --vramsnap "$vs" --target cuda:0 --codec "$2" \
    --sizes "$sizes" --iterations 8 --warmup 1 --machine "$gpu_tag-$1" --out-dir "$logs/sweeps"
}
sweep raw raw
sweep compressed auto
# Planes on the GPU: the bytes it decodes are compared with the captured ones
# by the gpu tests above (test_cuda, gpu_restore.sh: restores with
# --verify-on device); here the speed: the sample as raw, shuffle and planes,
# each restored device- and host-decoded in the same run, against the pinned
# H2D reference.
step bench_planes 240 "$vs" bench --synthetic 512MiB --pattern bf16 --codec planes --target cuda:0 \
  --iterations 5 --warmup 1 --quiet --json "$logs/planes-bench.json"

# G6: the same 1 GiB raw restore on every GPU at once (at most 8), one process each.
if (( gpus > 1 )); then
  g6() {
    local n=$(( gpus < 8 ? gpus : 8 )) pids=() i
    for ((i = 0; i < n; i++)); do
      "$vs" bench --synthetic 1GiB --codec raw --target cuda:$i --iterations 5 --warmup 1 --quiet \
        --threads $(( $(nproc) / n > 0 ? $(nproc) / n : 1 )) --json "$logs/sweeps/g6-$i.json" &
      pids+=($!)
    done
    local rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
  }
  step g6_multi_gpu 90 bash -c "$(declare -f g6); gpus=$gpus vs='$vs' logs='$logs' g6"
  # G6 in one process: a tensor-parallel snapshot (256 MiB per GPU, one
  # rank's region recorded per ordinal) onto every GPU with --device-map, one
  # read of the file; restore --json reports the bytes placed on each GPU.
  g6_map() {
    local n=$(( gpus < 8 ? gpus : 8 )) i regions=() map=() slice=$((256 << 20))
    "$vs" bench --synthetic $(( n * 256 ))MiB --pattern bf16 --write-data "$logs/tp.bin" --quiet
    for ((i = 0; i < n; i++)); do
      regions+=(--region "rank$i=$logs/tp.bin,kind=device,dtype=bf16,device=$i,offset=$((i * slice)),size=$slice")
      map+=("$i:$i")
    done
    "$vs" capture -o "$logs/tp.snap" --codec raw --force -q "${regions[@]}" &&
      "$vs" restore "$logs/tp.snap" --allow-unsealed --target cuda --device-map "$(IFS=,; echo "${map[*]}")" \
        --json -q >"$logs/sweeps/devmap.json"
    local rc=$?
    rm -f "$logs/tp.bin" "$logs/tp.snap"
    return $rc
  }
  step g6_device_map 120 bash -c "$(declare -f g6_map); gpus=$gpus vs='$vs' logs='$logs' g6_map"
fi

step report 30 "$py" "$root/scripts/gpu-report.py" --gpu "$gpu_name" --tag "$gpu_tag" --date "$date_tag" \
  --sweeps "$logs/sweeps" --environment "$logs/environment.log" --out-dir "$results"
cat "$results/$gpu_tag-$date_tag-summary.txt" 2>/dev/null

# ---- 5. results ---------------------------------------------------------------------
cat "$logs"/configure.log "$logs"/build.log "$logs"/example_build.log >"$logs/build-all.log" 2>/dev/null
cat "$logs"/gpu_tests.log "$logs"/device_pointers.log >"$logs/tests.log" 2>/dev/null
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  for f in "$results/$gpu_tag-$date_tag.json" "$results/$gpu_tag-$date_tag-summary.txt" \
           "$results/$gpu_tag-$date_tag-raw.png" "$results/$gpu_tag-$date_tag-compressed.png" \
           "$logs/environment.log" "$logs/tests.log" "$logs/build-all.log" "$logs/planes-bench.json"; do
    [[ -f $f ]] && cp "$f" "$OUT/"
  done
  say "copied results to $OUT"
fi
if (( ${#failed[@]} )); then say "FAILED: ${failed[*]} ($(( $(date +%s) - start ))s)"; exit 1; fi
say "all passed in $(( $(date +%s) - start ))s"
