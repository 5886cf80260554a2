#!/usr/bin/env bash
# What a process maps: local commands never load libcurl (and the ~30
# libraries under it); the first URL loads it at run time. A tool linked
# with its C++ runtime inside (VRAMSNAP_STATIC_CXX_RUNTIME) loads neither
# libstdc++ nor libfmt by any path, and one with libcrypto and libzstd
# inside (VRAMSNAP_STATIC_DEPS) neither of those. Read from the loader's own trace
# (LD_DEBUG=files), which names every object it opens.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Objects the loader opened for one run: "file=NAME [0];  needed by ..." or
# "...;  dynamically loaded by ...".
loaded() { sed -n 's/.*file=\([^ ]*\) .*/\1/p' "$T"/ld.* | sort -u; }
traced() {
  rm -f "$T"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" "$@" >"$OUT" 2>"$ERR" || true
  ls "$T"/ld.* >/dev/null 2>&1 || skip "the loader wrote no LD_DEBUG trace"
}

make_key k.key
gen_random r.bin 1048576
expect_exit 0 "$VRAMSNAP" capture -q -o s.snap --key-file k.key --region r=r.bin

step "the executable does not name libcurl"
if readelf -d "$VRAMSNAP" 2>/dev/null | grep -qi 'NEEDED.*curl'; then fail "vramsnap has libcurl in DT_NEEDED"; fi

static_cxx=1
if readelf -d "$VRAMSNAP" | grep -q 'NEEDED.*libstdc++'; then static_cxx=0; fi
static_crypto=1  # VRAMSNAP_STATIC_DEPS: libcrypto and libzstd inside the tool
if readelf -d "$VRAMSNAP" | grep -q 'NEEDED.*libcrypto'; then static_crypto=0; fi

step "local commands never map libcurl"
for cmd in "--version" "inspect s.snap" "verify s.snap --key-file k.key" \
           "restore s.snap --key-file k.key -q --extract out"; do
  read -r -a argv <<<"$cmd"
  traced "$VRAMSNAP" "${argv[@]}"
  LAST_CMD="vramsnap $cmd"
  loaded | grep -q '^libc\.so' || fail "$cmd: the trace shows no libc, so it cannot show libcurl either"
  if loaded | grep -q 'libcurl'; then fail "$cmd loaded libcurl: $(loaded | tr '\n' ' ')"; fi
  if [[ $static_cxx == 1 ]] && loaded | grep -qE 'libstdc\+\+|libfmt'; then
    fail "$cmd loaded a shared C++ runtime: $(loaded | tr '\n' ' ')"
  fi
  if [[ $static_crypto == 1 ]] && loaded | grep -qE 'libcrypto|libzstd'; then
    fail "$cmd loaded a shared libcrypto or libzstd: $(loaded | tr '\n' ' ')"
  fi
done
cmp r.bin out/r || fail "the traced restore wrote other bytes"

step "a URL loads libcurl at run time"
traced "$VRAMSNAP" inspect "http://127.0.0.1:1/s.snap" --retries 1 --timeout 2
if grep -q 'without remote sources' "$ERR"; then
  echo "    (built without remote sources: nothing loads libcurl)"
else
  LAST_CMD="vramsnap inspect http://127.0.0.1:1/s.snap"
  grep -q 'dynamically loaded by' "$T"/ld.* || fail "no object was loaded at run time"
  loaded | grep -q '^libcurl\.so\.4$' || fail "libcurl was not loaded: $(loaded | tr '\n' ' ')"
fi

step "a host without libcurl: a URL is exit 6 with what to install, local files work"
lib=$(realpath "$(ldconfig -p | awk '/libcurl\.so\.4 /{print $NF; exit}')" 2>/dev/null || true)
# A private mount namespace hides libcurl from this one command (needs root
# or user namespaces; skipped where neither is allowed).
hide() { unshare -rm --propagation private bash -c 'mount --bind /dev/null "$1" && shift && exec "$@"' _ "$lib" "$@"; }
if grep -q 'without remote sources' "$ERR" || [[ -z "$lib" ]] || ! hide true 2>/dev/null; then
  echo "    (skipped: no libcurl here, a build without remote sources, or no mount namespace)"
else
  expect_exit 6 hide "$VRAMSNAP" inspect "http://127.0.0.1:1/s.snap"
  expect_stderr_contains "remote sources need libcurl 7.85 or later"
  expect_stderr_contains "copy the snapshot to a local file"
  expect_exit 0 hide "$VRAMSNAP" inspect s.snap
fi
