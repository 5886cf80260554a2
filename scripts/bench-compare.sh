#!/usr/bin/env bash
# Runs the CPU performance targets C1-C7 of docs/performance.md on this
# machine. Each vramsnap figure is measured in the same run, on the same bytes,
# as its reference (zstd, openssl, hyperfine, /usr/bin/time), and every target
# ends as one line: measured, target, PASS/FAIL. Exit 1 if any target fails.
#
#   scripts/bench-compare.sh                 # 1 GiB data, C5 at 1 GiB vs 4 GiB
#   scripts/bench-compare.sh --quick         # 256 MiB, C5 at 256 MiB vs 1 GiB
#   scripts/bench-compare.sh --only C2,C3,C4 --size 512MiB --runs 7
#
# Timings alternate the two sides run by run (so load from other users hits
# both alike) and compare the best of N runs; the median is printed too.
# shellcheck disable=SC2317  # side_a/side_b are called indirectly by alternate()
set -euo pipefail
export LC_ALL=C  # EPOCHREALTIME and printf use a '.' decimal point
root=$(cd "$(dirname "$0")/.." && pwd)

quick=0
only="C1,C2,C3,C4,C5,C6,C7"
size=""
c5_sizes=""
runs=""
vs="${VRAMSNAP:-}"
keep=0

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --quick             256 MiB data, C5 at 256 MiB vs 1 GiB (no 4 GiB files), 3 runs
  --only LIST         comma-separated targets, e.g. C2 or C3,C4
  --size SIZE         data size for C1-C4 and C7 (default 1GiB)
  --c5-sizes "A B"    the two snapshot sizes C5 compares (default "1GiB 4GiB")
  --runs N            runs per side for best-of-N timings (default 5)
  --vramsnap PATH     binary to test (default build-bench/ or build/tools/vramsnap)
  --keep              keep the work directory
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --only) only=$(echo "$2" | tr '[:lower:]' '[:upper:]'); shift 2 ;;
    --size) size=$2; shift 2 ;;
    --c5-sizes) c5_sizes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --vramsnap) vs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-compare: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $quick == 1 ]]; then
  size=${size:-256MiB}; c5_sizes=${c5_sizes:-"256MiB 1GiB"}; runs=${runs:-3}
else
  size=${size:-1GiB}; c5_sizes=${c5_sizes:-"1GiB 4GiB"}; runs=${runs:-5}
fi
read -r c5_small c5_big <<<"$c5_sizes"

if [[ -z "$vs" ]]; then
  for cand in "$root/build-bench/tools/vramsnap" "$root/build/tools/vramsnap"; do
    [[ -x "$cand" ]] && { vs=$cand; break; }
  done
fi
[[ -n "$vs" && -x "$vs" ]] || { echo "bench-compare: no vramsnap binary; build one (cmake --build build --target vramsnap_cli) or pass --vramsnap" >&2; exit 2; }
vs=$(cd "$(dirname "$vs")" && pwd)/$(basename "$vs")
for tool in zstd openssl hyperfine /usr/bin/time /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "bench-compare: $tool is required" >&2; exit 2; }
done
want() { [[ ",$only," == *",$1,"* ]]; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-compare.XXXXXX")
if [[ $keep == 1 ]]; then trap 'echo "bench-compare: kept $work" >&2' EXIT; else trap 'rm -rf "$work"' EXIT; fi
cd "$work"

# ---- helpers -----------------------------------------------------------------
say() { echo "$*" >&2; }
show() { say "  \$ $*"; }
# secs CMD...: runs CMD (stdout to /dev/null), prints wall seconds.
secs() {
  local t0=$EPOCHREALTIME
  "$@" >/dev/null
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}
min_of() { printf '%s\n' "$@" | sort -g | head -n1; }
median_of() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
fsize() { stat -c %s "$1"; }

# alternate A_NAME B_NAME: runs functions side_a / side_b $runs times each,
# alternating, after one warm-up each; sets A_BEST A_MED B_BEST B_MED.
alternate() {
  local a=() b=() k
  secs side_a >/dev/null; secs side_b >/dev/null
  for ((k = 1; k <= runs; k++)); do
    a+=("$(secs side_a)")
    b+=("$(secs side_b)")
  done
  say "    $1 runs (s): ${a[*]}"
  say "    $2 runs (s): ${b[*]}"
  A_BEST=$(min_of "${a[@]}"); A_MED=$(median_of "${a[@]}")
  B_BEST=$(min_of "${b[@]}"); B_MED=$(median_of "${b[@]}")
}

summary=()
failed=0
# line ID DESCRIPTION MEASURED TARGET OK(1|0) [NOTE]: records one summary line.
line() {
  local res=PASS l
  [[ $5 == 1 ]] || { res=FAIL; failed=1; }
  l=$(printf '%-4s%-30s measured %9s  target %-9s  %s' "$1" "$2" "$3" "$4" "$res")
  [[ -n ${6:-} ]] && l+="  ($6)"
  summary+=("$l")
  say "  => $l"
}
# verdict ID DESCRIPTION VALUE OP(>=|<=) TARGET UNIT [NOTE]
verdict() {
  local ok
  ok=$(awk -v v="$3" -v t="$5" -v op="$4" 'BEGIN { print (op == ">=" ? v >= t : v <= t) ? 1 : 0 }')
  line "$1" "$2" "$(printf '%.2f' "$3")$6" "$4 $(printf '%.2f' "$5")$6" "$ok" "${7:-}"
}

# ---- data ----------------------------------------------------------------------
say "bench-compare: $vs ($("$vs" --version 2>/dev/null | head -n1))"
say "bench-compare: work dir $work; data $size; C5 $c5_small vs $c5_big; best of $runs runs"
say "bench-compare: load before: $(uptime)"
"$vs" keygen -o k.key >/dev/null
# HMAC reference: the key is read from k.key by the process that uses it,
# never put on a command line (argv is visible to every user in ps).
hmac_file() {
  /usr/bin/python3 -c 'import hashlib, hmac, sys
h = hmac.new(open(sys.argv[1], "rb").read(), digestmod=hashlib.sha256)
with open(sys.argv[2], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
print(h.hexdigest())' "$1" "$2"
}
# shellcheck disable=SC2054  # the commas belong to the --region value
capture_cmd=("$vs" capture -o bf16.snap --key-file k.key --region weights=bf16.bin,kind=device,dtype=bf16 --force --quiet --json)

# make_snap SIZE NAME: bf16 data of SIZE captured (sealed) into NAME.snap; data removed.
make_snap() {
  "$vs" bench --synthetic "$1" --pattern bf16 --write-data "$2.bin" --quiet
  "$vs" capture -o "$2.snap" --key-file k.key --region "weights=$2.bin,kind=device,dtype=bf16" --quiet >/dev/null
  rm -f "$2.bin"
}

if want C1 || want C2 || want C3 || want C4 || want C7 || { want C5 && [[ $c5_small == "$size" ]]; }; then
  say "== data: $size of bf16-like values (N(0, 0.02) as bfloat16)"
  show "vramsnap bench --synthetic $size --pattern bf16 --write-data bf16.bin"
  "$vs" bench --synthetic "$size" --pattern bf16 --write-data bf16.bin --quiet
  if want C1 || want C3; then
    show "zstd -3 -T1 -q -f bf16.bin -o bf16.zst        # one zstd -3 stream (single-threaded, as the CLI default)"
    zstd -3 -T1 -q -f bf16.bin -o bf16.zst
  fi
fi

# ---- C3 + C4: capture vs zstd -3 ------------------------------------------------
if [[ -f bf16.bin ]]; then
  if want C4; then
    say "== C4: capture of $(mib "$(fsize bf16.bin)") bf16 vs zstd -3 -T0, wall time, same file"
    show "${capture_cmd[*]}"
    show "zstd -3 -T0 -q -f bf16.bin -o c4.zst"
    side_a() { "${capture_cmd[@]}" >capture.json; }
    side_b() { zstd -3 -T0 -q -f bf16.bin -o c4.zst; }
    alternate "capture" "zstd -3 -T0"
    say "    best: capture $A_BEST s, zstd -3 -T0 $B_BEST s (medians $A_MED / $B_MED)"
    verdict C4 "capture vs zstd -3 -T0 (wall)" "$(calc "$A_BEST / $B_BEST")" "<=" 1.20 x \
      "capture $(printf '%.3f' "$A_BEST") s vs zstd $(printf '%.3f' "$B_BEST") s; capture fsyncs, zstd does not"
    rm -f c4.zst
  else
    "${capture_cmd[@]}" >capture.json
  fi
  if want C3; then
    stored=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stored_bytes"])' capture.json)
    filesz=$(fsize bf16.snap); zsz=$(fsize bf16.zst); raw=$(fsize bf16.bin)
    say "== C3: stored size, capture --codec auto vs zstd -3 of the same raw bytes"
    say "    raw $raw B; vramsnap stored $stored B (whole file $filesz B); zstd -3 $zsz B"
    verdict C3 "stored size vs zstd -3" "$(calc "$stored / $zsz")" "<=" 0.93 x \
      "ratio raw/stored $(calc "$raw / $stored" | cut -c1-5) vs zstd $(calc "$raw / $zsz" | cut -c1-5); whole file $(calc "$filesz / $zsz" | cut -c1-5)x"
  fi
fi

# ---- C1: restore to host vs the naive pipeline -----------------------------------
if want C1; then
  say "== C1: restore --target host of a sealed snapshot vs naive (whole-file HMAC, then 1-thread zstd decode)"
  cat bf16.snap bf16.zst >/dev/null  # page cache
  show "hmac_file k.key bf16.zst (Python hmac over OpenSSL, key read from the file) && zstd -q -d -T1 -c bf16.zst >/dev/null"
  show "vramsnap restore bf16.snap --key-file k.key --target host --quiet"
  side_a() { hmac_file k.key bf16.zst >/dev/null && zstd -q -d -T1 -c bf16.zst >/dev/null; }
  side_b() { "$vs" restore bf16.snap --key-file k.key --target host --quiet; }
  alternate "naive" "restore"
  say "    best: naive $A_BEST s, restore $B_BEST s (medians $A_MED / $B_MED)"
  hmac_t=$(secs hmac_file k.key bf16.zst)
  dec_t=$(secs zstd -q -d -T1 -c bf16.zst)
  say "    naive split (one run): HMAC $hmac_t s + decode $dec_t s"
  verdict C1 "restore host vs naive" "$(calc "$A_BEST / $B_BEST")" ">=" 2.00 x \
    "naive $(printf '%.3f' "$A_BEST") s vs restore $(printf '%.3f' "$B_BEST") s"
fi

# ---- C2: verify vs openssl dgst -sha256 ------------------------------------------
if want C2; then
  say "== C2: verify of the sealed snapshot vs openssl dgst -sha256 of the same file"
  cat bf16.snap >/dev/null
  show "openssl dgst -sha256 bf16.snap"
  show "vramsnap verify bf16.snap --key-file k.key --quiet"
  side_a() { openssl dgst -sha256 bf16.snap; }
  side_b() { "$vs" verify bf16.snap --key-file k.key --quiet; }
  alternate "openssl dgst" "verify"
  say "    best: openssl $A_BEST s, verify $B_BEST s (medians $A_MED / $B_MED)"
  verdict C2 "verify vs openssl dgst -sha256" "$(calc "$A_BEST / $B_BEST")" ">=" 1.60 x \
    "openssl $(printf '%.3f' "$A_BEST") s vs verify $(printf '%.3f' "$B_BEST") s"
fi

# ---- C7: thread scaling ------------------------------------------------------------
if want C7; then
  say "== C7: restore --target host, 1 thread vs 2 threads"
  cat bf16.snap >/dev/null
  show "vramsnap restore bf16.snap --key-file k.key --target host --quiet --threads 1"
  show "vramsnap restore bf16.snap --key-file k.key --target host --quiet --threads 2"
  side_a() { "$vs" restore bf16.snap --key-file k.key --target host --quiet --threads 1; }
  side_b() { "$vs" restore bf16.snap --key-file k.key --target host --quiet --threads 2; }
  alternate "1 thread" "2 threads"
  say "    best: 1 thread $A_BEST s, 2 threads $B_BEST s (medians $A_MED / $B_MED)"
  verdict C7 "restore 1 -> 2 threads" "$(calc "$A_BEST / $B_BEST")" ">=" 1.70 x \
    "1 thread $(printf '%.3f' "$A_BEST") s vs 2 threads $(printf '%.3f' "$B_BEST") s"
fi

# ---- C6: whole-process restore of a 1 MiB snapshot ---------------------------------
if want C6; then
  say "== C6: 1 MiB sealed snapshot, whole 'vramsnap restore --target host' process (hyperfine median)"
  make_snap 1MiB s1m
  show "hyperfine -N --warmup 5 --runs 50 --export-json c6.json '$vs restore s1m.snap --key-file k.key --target host --quiet'"
  hyperfine -N --warmup 5 --runs 50 --export-json c6.json \
    "$vs restore s1m.snap --key-file k.key --target host --quiet" >&2
  med_ms=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.4f" % (r["median"] * 1e3))' c6.json)
  verdict C6 "1 MiB restore, whole process" "$med_ms" "<=" 5.00 " ms" "hyperfine median of 50 runs"
fi

# ---- C5: peak RSS, small vs big snapshot -------------------------------------------
if want C5; then
  say "== C5: peak RSS of verify and restore --extract, $c5_small vs $c5_big snapshot (/usr/bin/time -v)"
  say "    (restore --target host keeps the whole snapshot in memory by design, so it is not the C5 subject)"
  if [[ $c5_small == "$size" && -f bf16.snap ]]; then ln -f bf16.snap c5a.snap; else make_snap "$c5_small" c5a; fi
  rm -f bf16.bin bf16.zst  # room for the big one
  make_snap "$c5_big" c5b
  rss() {  # prints the peak RSS in KiB of the command
    /usr/bin/time -v "$@" 2>time.txt >/dev/null || { cat time.txt >&2; return 1; }
    awk -F': ' '/Maximum resident set size/ { print $2 }' time.txt
  }
  for kind in verify extract; do
    declare -A peak=()
    for s in small big; do
      snap=c5a.snap; [[ $s == big ]] && snap=c5b.snap
      if [[ $kind == verify ]]; then
        [[ $s == small ]] && show "/usr/bin/time -v vramsnap verify c5a.snap --key-file k.key --quiet"
        peak[$s]=$(rss "$vs" verify "$snap" --key-file k.key --quiet)
      else
        [[ $s == small ]] && show "/usr/bin/time -v vramsnap restore c5a.snap --key-file k.key --extract out --quiet"
        peak[$s]=$(rss "$vs" restore "$snap" --key-file k.key --extract "out-$s" --quiet)
        rm -rf "out-$s"
      fi
    done
    rss_small=${peak[small]} rss_big=${peak[big]}
    say "    $kind peak RSS: $c5_small ${rss_small} KiB, $c5_big ${rss_big} KiB"
    # Pass when the big one is within 10% or 16 MiB of the small one.
    within=$(awk -v a="$rss_small" -v b="$rss_big" 'BEGIN { print (b <= a * 1.10 || b - a <= 16384) ? 1 : 0 }')
    line C5 "peak RSS $kind $c5_big/$c5_small" "$(printf '%.2fx' "$(calc "$rss_big / $rss_small")")" "<= 1.10x" "$within" \
      "$(awk -v a="$rss_small" -v b="$rss_big" -v A="$c5_small" -v B="$c5_big" 'BEGIN { printf "%s %.1f MiB vs %s %.1f MiB; passes within 10%% or 16 MiB", B, b / 1024, A, a / 1024 }')"
    unset peak
  done
fi

say "bench-compare: load after: $(uptime)"
echo
echo "vramsnap bench-compare on $(hostname) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores); data $size, best of $runs"
for l in "${summary[@]}"; do echo "$l"; done
exit $failed
