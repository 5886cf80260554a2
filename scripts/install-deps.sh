#!/usr/bin/env bash
# Installs vramsnap's build and test dependencies from Debian packages.
# Idempotent; run as root on Debian 12 (bookworm) or newer.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libzstd-dev zstd libssl-dev openssl
  libcli11-dev nlohmann-json3-dev libfmt-dev doctest-dev
  libcurl4-openssl-dev       # http(s):// and oci:// sources, push
  nginx docker-registry      # remote-source tests: real servers on loopback
  clang libclang-rt-dev      # fuzz targets (libFuzzer) and sanitizer builds
  hyperfine                  # scripts/bench-compare.sh
  python3-matplotlib         # scripts/plot-bench.py
  python3-numpy python3-torch  # the Python package (libsnap/python) and its tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "install-deps: CUDA toolkit found at /usr/local/cuda (CUDA backend will be built)"
else
  echo "install-deps: no CUDA toolkit at /usr/local/cuda (host-only build)"
fi
