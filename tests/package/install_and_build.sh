#!/usr/bin/env bash
# Installs vramsnap into a temporary prefix, builds examples/ against the
# installed tree with CMake (find_package) and with pkg-config, and runs them.
#   install_and_build.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/lib/cmake/vramsnap/vramsnapConfig.cmake"
test -f "$prefix/lib/pkgconfig/vramsnap.pc"
soname=$(objdump -p "$prefix/lib/libvramsnap.so" | awk '/SONAME/ {print $2}')
[[ $soname == libvramsnap.so.0 ]] || { echo "unexpected SONAME: $soname"; exit 1; }

# CMake consumer (CUDA example only where nvcc can build it; it skips without a GPU).
cmake -S "$src/examples" -B "$work/ex" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/ex" >/dev/null
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$work/run1" "$work/run2" "$work/run3"
"$work/ex/capture_restore" all "$work/run1"
"$work/ex/embed" "$work/run2"
if [[ -x "$work/ex/device_pointers" ]]; then
  rc=0
  "$work/ex/device_pointers" all "$work/run3" || rc=$?
  [[ $rc == 0 || $rc == 77 ]] || { echo "device_pointers failed ($rc)"; exit 1; }
fi

# pkg-config consumer, compiled as C.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$src/examples/embed.c" $(pkg-config --cflags --libs vramsnap) -o "$work/embed_pc"
mkdir -p "$work/run4"
"$work/embed_pc" "$work/run4"
# The Python package: imported from the prefix's Python path, it loads the
# library installed beside it (no VRAMSNAP_LIBRARY, no loader path).
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  pydir="$prefix/lib/python3/dist-packages"
  test -f "$pydir/vramsnap/__init__.py" && test -f "$pydir/vramsnap/_paths.py"
  (cd "$work" && env -u LD_LIBRARY_PATH -u VRAMSNAP_LIBRARY PYTHONPATH="$pydir" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -c '
import os, sys, numpy as np, vramsnap, vramsnap.numpy as vnp
lib = os.path.realpath(vramsnap._lib.lib._name)
assert lib.startswith(os.path.realpath(sys.argv[1])), lib
vnp.save_file({"x": np.arange(5, dtype=np.int32)}, "py.snap")
assert vnp.load_file("py.snap", allow_unsealed=True)["x"].tolist() == [0, 1, 2, 3, 4]
' "$prefix")
  # A package of another version than the library beside it refuses to load
  # it (the structs it passes would not match).
  grep -q "^VERSION = " "$pydir/vramsnap/_paths.py"
  sed -i 's/^VERSION = .*/VERSION = "0.0.0-other"/' "$pydir/vramsnap/_paths.py"
  out=$(cd "$work" && env -u LD_LIBRARY_PATH -u VRAMSNAP_LIBRARY PYTHONPATH="$pydir" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -c 'import vramsnap' 2>&1) && { echo "a mismatched library was loaded"; exit 1; }
  grep -q "ImportError: .*but this package is 0.0.0-other" <<<"$out" || { echo "unexpected: $out"; exit 1; }
fi
echo "package: installed tree builds and runs the examples (CMake and pkg-config)"
