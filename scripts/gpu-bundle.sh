#!/usr/bin/env bash
# Prepares .gpu-bundle/: what a GPU host without a package registry needs to
# build vramsnap, carried there with the working tree (git-ignored, well under
# 40 MiB). Run on the Debian 12 build host; scripts/gpu-check.sh uses it.
#
#   scripts/gpu-bundle.sh              # (re)creates .gpu-bundle/
#   scripts/gpu-bundle.sh --out DIR    # elsewhere
#   scripts/gpu-bundle.sh --binaries build-gpu-check
#       adds prebuilt/: vramsnap and the GPU tests from a rehearsal build
#       (VRAMSNAP_GPU_CHECK_REHEARSE=1 scripts/gpu-check.sh), linked against
#       the bundle and libstdc++ statically, for a GPU host that cannot build
#
# Contents, all under prefix/ and found through CMAKE_PREFIX_PATH:
#   - headers of zstd, OpenSSL, CLI11, nlohmann-json, fmt and doctest from
#     Debian's -dev packages (apt-get download + dpkg -x, no root needed);
#   - static libzstd.a and libcrypto.a only (no .so), so the result runs on
#     a host with other system libraries;
#   - small CMake package files for the header-only libraries (fmt is used
#     header-only, Debian ships no libfmt.a) and a pkg-config stand-in for
#     libzstd, since the GPU host may have neither the Debian package files
#     nor pkg-config; Debian's own package files hard-code /usr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.gpu-bundle"
binaries=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --binaries) binaries=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-bundle: unknown option $1" >&2; exit 2 ;;
  esac
done

if [[ -n $binaries ]]; then
  [[ -d $out/prefix ]] || { echo "gpu-bundle: no bundle at $out; run without --binaries first" >&2; exit 2; }
  for f in tools/vramsnap tests/test_cuda; do
    [[ -x $binaries/$f ]] || { echo "gpu-bundle: $binaries/$f missing; build it with a rehearsal first" >&2; exit 2; }
  done
  mkdir -p "$out/prebuilt"
  for f in tools/vramsnap tests/test_cuda tests/test_kernels; do
    [[ -x $binaries/$f ]] && strip -o "$out/prebuilt/$(basename "$f")" "$binaries/$f"
  done
  "$out/prebuilt/vramsnap" --version | head -n1 >"$out/prebuilt/VERSION"
  echo "gpu-bundle: added $out/prebuilt ($(du -sh "$out/prebuilt" | cut -f1)); bundle now $(du -sh "$out" | cut -f1)" >&2
  exit 0
fi

packages=(libzstd-dev libssl-dev libcli11-dev nlohmann-json3-dev libfmt-dev doctest-dev)
work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get download drops to the _apt user when it can

echo "gpu-bundle: downloading ${packages[*]}" >&2
(cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>"$work/apt.log") ||
  { cat "$work/apt.log" >&2; echo "gpu-bundle: apt-get download failed (is this Debian with a reachable mirror?)" >&2; exit 1; }
mkdir -p "$work/x"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done

rm -rf "$out.new"
p="$out.new/prefix"
mkdir -p "$p/include" "$p/lib/pkgconfig" "$p/lib/cmake" "$p/bin"
cp -a "$work/x/usr/include/." "$p/include/"
# Multiarch OpenSSL headers join the others: the GPU host's compiler may not
# search include/x86_64-linux-gnu.
arch_inc=$(find "$p/include" -maxdepth 1 -type d -name '*-linux-gnu' | head -n1)
if [[ -n "$arch_inc" ]]; then
  cp -a "$arch_inc/openssl/." "$p/include/openssl/"
  rm -rf "$arch_inc"
fi
libdir=$(dirname "$(find "$work/x/usr/lib" -name libzstd.a | head -n1)")
cp "$libdir/libzstd.a" "$libdir/libcrypto.a" "$p/lib/"

version_of() { dpkg-deb -f "$work"/$1_*.deb Version | sed 's/^[0-9]*://; s/[+~-].*//'; }
zstd_v=$(version_of libzstd-dev)
fmt_v=$(version_of libfmt-dev)
json_v=$(version_of nlohmann-json3-dev)
cli_v=$(version_of libcli11-dev)
doctest_v=$(version_of doctest-dev)

# A header-only CMake package: NAME TARGET VERSION [DEFINITION].
header_only_package() {
  local name=$1 target=$2 version=$3 def=${4:-}
  mkdir -p "$p/lib/cmake/$name"
  cat >"$p/lib/cmake/$name/${name}Config.cmake" <<CMAKE
# Header-only $name $version from Debian 12, carried by scripts/gpu-bundle.sh.
if(NOT TARGET $target)
  add_library($target INTERFACE IMPORTED)
  set_target_properties($target PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "\${CMAKE_CURRENT_LIST_DIR}/../../../include"
    INTERFACE_COMPILE_DEFINITIONS "$def")
endif()
set(${name}_VERSION $version)
CMAKE
  cat >"$p/lib/cmake/$name/${name}ConfigVersion.cmake" <<CMAKE
set(PACKAGE_VERSION $version)
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
CMAKE
}
header_only_package fmt fmt::fmt "$fmt_v" FMT_HEADER_ONLY=1
header_only_package nlohmann_json nlohmann_json::nlohmann_json "$json_v"
header_only_package CLI11 CLI11::CLI11 "$cli_v"
header_only_package doctest doctest::doctest "$doctest_v"

# pkg-config stand-in answering for libzstd only (what CMake's
# pkg_check_modules asks); the build points PKG_CONFIG_EXECUTABLE at it.
cat >"$p/bin/pkg-config" <<SH
#!/bin/sh
# Answers CMake's pkg_check_modules for libzstd $zstd_v (static, in ../lib).
prefix=\$(cd "\$(dirname "\$0")/.." && pwd)
mod=""; query=""
for a in "\$@"; do
  case "\$a" in
    --version) echo 0.29.2; exit 0 ;;
    --modversion|--exists|--cflags*|--libs*|--variable=*) query="\$a" ;;
    --*) ;;
    libzstd*) mod=libzstd ;;
    *) [ -n "\$a" ] && mod="\$a" ;;
  esac
done
[ "\$mod" = libzstd ] || { echo "Package \$mod was not found (vramsnap bundle: libzstd only)" >&2; exit 1; }
case "\$query" in
  --modversion) echo $zstd_v ;;
  --cflags|--cflags-only-I) echo "-I\$prefix/include" ;;
  --libs) echo "-L\$prefix/lib -lzstd" ;;
  --libs-only-L) echo "-L\$prefix/lib" ;;
  --libs-only-l) echo "-lzstd" ;;
  --variable=prefix) echo "\$prefix" ;;
  --variable=includedir) echo "\$prefix/include" ;;
  --variable=libdir) echo "\$prefix/lib" ;;
  *) ;;
esac
exit 0
SH
chmod +x "$p/bin/pkg-config"

{
  echo "vramsnap GPU bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME") $(uname -m)"
  for deb in "$work"/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done
} >"$out.new/MANIFEST"

rm -rf "$out"
mv "$out.new" "$out"
echo "gpu-bundle: wrote $out ($(du -sh "$out" | cut -f1)); scripts/gpu-check.sh builds against it" >&2
