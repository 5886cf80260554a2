#!/usr/bin/env bash
# Start-up cost of the vramsnap process (C6), against baselines in the same
# run: a trivial C binary, the same linked against each library vramsnap
# loads, `openssl version` and `zstd --version`; with BEFORE=OLD_VRAMSNAP,
# the same commands of another build of vramsnap, interleaved with these.
# Wall time comes from hyperfine (median; noisy on a shared machine), CPU
# time from `perf stat` task-clock (what the process itself spends, which
# load on other cores barely moves), the dynamic loader's own account from
# LD_DEBUG=statistics, and the in-process figure from `vramsnap bench`
# (open + verified restore of the same 1 MiB sealed snapshot, P50).
# REALTIME=1 (root) runs the wall-time measurements under SCHED_FIFO
# (chrt -f 10): on a machine busy with other work, each run then has a core
# as on an idle machine, instead of queueing behind the load.
#
#   [BEFORE=OLD_VRAMSNAP] [REALTIME=1] scripts/bench-startup.sh [VRAMSNAP] [WORKDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=$(realpath "${1:-$ROOT/build/tools/vramsnap}")
B=${BEFORE:+$(realpath "$BEFORE")}
W=${2:-$(mktemp -d /tmp/vramsnap-startup.XXXXXX)}
mkdir -p "$W"
cd "$W"
rt=()
if [[ -n "${REALTIME:-}" ]]; then rt=(chrt -f 10); fi
echo "# bench-startup: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$V" --version | head -1)${REALTIME:+, wall under SCHED_FIFO}"

printf 'int main(void) { return 0; }\n' >triv.c
cc -O2 -o triv triv.c
c++ -O2 -x c++ -o triv_cxx triv.c -Wl,--no-as-needed -lstdc++
cc -O2 -o triv_crypto triv.c -Wl,--no-as-needed -lcrypto
cc -O2 -o triv_c_libs triv.c -Wl,--no-as-needed -lcrypto -lzstd -lm
c++ -O2 -x c++ -o triv_libs triv.c -Wl,--no-as-needed -lcrypto -lzstd -lfmt
head -c 1048576 /dev/urandom >one-mib.bin
"$V" keygen -o k.key >/dev/null
"$V" capture -q -o one-mib.snap --region data=one-mib.bin --key-file k.key --force >/dev/null

cmds=("./triv" "./triv_cxx" "./triv_crypto" "./triv_c_libs" "./triv_libs" "openssl version" "zstd --version")
names=("trivial C" "C + libstdc++" "C + libcrypto" "C + libcrypto, libzstd, libm" "C + libcrypto, libzstd, libfmt, libstdc++"
       "openssl version" "zstd --version")
for bin in ${B:+"$B"} "$V"; do
  tag=$([[ "$bin" == "$V" ]] && echo "" || echo " [before]")
  cmds+=("$bin --version" "$bin inspect one-mib.snap" "$bin restore one-mib.snap --key-file k.key -q")
  names+=("vramsnap --version$tag" "vramsnap inspect (1 MiB snapshot)$tag" "vramsnap restore (1 MiB sealed, host)$tag")
done
"${rt[@]}" hyperfine -N --warmup 10 --runs 100 --export-json startup.json "${cmds[@]}" >/dev/null 2>&1
echo "# what                                          wall median (ms)   CPU task-clock (ms)"
for i in "${!cmds[@]}"; do
  read -r -a argv <<<"${cmds[$i]}"
  cpu=$(perf stat -r 50 -x, -e task-clock "${argv[@]}" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }')
  wall=$(/usr/bin/python3 -c "import json,sys; print('%.2f' % (json.load(open('startup.json'))['results'][int(sys.argv[1])]['median'] * 1e3))" "$i")
  printf '%-48s %10s %20s\n' "${names[$i]}" "$wall" "$cpu"
done
for bin in ${B:+"$B"} "$V"; do
  tag=$([[ "$bin" == "$V" ]] && echo "" || echo " [before]")
  echo "# dynamic loader (LD_DEBUG=statistics), vramsnap restore$tag; objects loaded: $(LD_DEBUG=files "$bin" restore \
one-mib.snap --key-file k.key -q 2>&1 >/dev/null | sed -n 's/.*file=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')"
  LD_DEBUG=statistics "$bin" restore one-mib.snap --key-file k.key -q 2>&1 >/dev/null |
    sed -n 's/^ *[0-9]*: *//p' | grep -E "startup|relocation|relative" | head -6
done

echo "# in-process: vramsnap bench one-mib.snap --key-file k.key --iterations 500 --warmup 20 (open + verified restore, ms)"
"${rt[@]}" "$V" bench one-mib.snap --key-file k.key --iterations 500 --warmup 20 --json - 2>/dev/null | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)["phases"]
print("phase        P50      P95")
for k in ("open", "seal_check", "allocate", "read", "hash", "decode", "total"):
    print("%-10s %7.3f  %7.3f" % (k, p[k]["p50"] * 1e3, p[k]["p95"] * 1e3))
print("C6 in-process: total P50 %.3f ms against <= 1.5 ms: %s" % (p["total"]["p50"] * 1e3, "met" if p["total"]["p50"] <= 1.5e-3 else "NOT met"))'
/usr/bin/python3 -c "
import json
r = json.load(open('startup.json'))['results'][-1]['median'] * 1e3
print('C6 whole process: restore wall median %.2f ms against <= 5 ms: %s' % (r, 'met' if r <= 5 else 'NOT met'))"
[[ -n "${REALTIME:-}" ]] || echo "# wall includes waiting for a core when the machine is loaded (REALTIME=1 gives each run a core)"
