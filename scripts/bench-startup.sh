#!/usr/bin/env bash
# Start-up cost of the vramsnap process (C6), against baselines in the same
# run: a trivial C binary, the same linked against each library vramsnap
# loads, `openssl version` and `zstd --version`. Wall time comes from
# hyperfine (median; noisy on a shared machine), CPU time from `perf stat`
# task-clock (what the process itself spends, which load on other cores
# barely moves), and the dynamic loader's own account from LD_DEBUG=statistics.
#
#   scripts/bench-startup.sh [VRAMSNAP] [WORKDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=$(realpath "${1:-$ROOT/build/tools/vramsnap}")
W=${2:-$(mktemp -d /tmp/vramsnap-startup.XXXXXX)}
mkdir -p "$W"
cd "$W"
echo "# bench-startup: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$V" --version | head -1)"

printf 'int main(void) { return 0; }\n' >triv.c
cc -O2 -o triv triv.c
c++ -O2 -x c++ -o triv_cxx triv.c -Wl,--no-as-needed -lstdc++
cc -O2 -o triv_crypto triv.c -Wl,--no-as-needed -lcrypto
c++ -O2 -x c++ -o triv_libs triv.c -Wl,--no-as-needed -lcrypto -lzstd -lfmt
head -c 1048576 /dev/urandom >one-mib.bin
"$V" keygen -o k.key >/dev/null
"$V" capture -q -o one-mib.snap --region data=one-mib.bin --key-file k.key --force >/dev/null

cmds=("./triv" "./triv_cxx" "./triv_crypto" "./triv_libs" "openssl version" "zstd --version"
      "$V --version" "$V inspect one-mib.snap" "$V restore one-mib.snap --key-file k.key -q")
names=("trivial C" "C + libstdc++" "C + libcrypto" "C + libcrypto, libzstd, libfmt, libstdc++" "openssl version"
       "zstd --version" "vramsnap --version" "vramsnap inspect (1 MiB snapshot)" "vramsnap restore (1 MiB sealed, host)")
hyperfine -N --warmup 10 --runs 100 --export-json startup.json "${cmds[@]}" >/dev/null 2>&1
echo "# what                                          wall median (ms)   CPU task-clock (ms)"
for i in "${!cmds[@]}"; do
  read -r -a argv <<<"${cmds[$i]}"
  cpu=$(perf stat -r 50 -x, -e task-clock "${argv[@]}" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }')
  wall=$(/usr/bin/python3 -c "import json,sys; print('%.2f' % (json.load(open('startup.json'))['results'][int(sys.argv[1])]['median'] * 1e3))" "$i")
  printf '%-48s %10s %20s\n' "${names[$i]}" "$wall" "$cpu"
done
echo "# dynamic loader (LD_DEBUG=statistics), vramsnap --version"
LD_DEBUG=statistics "$V" --version 2>&1 >/dev/null | sed -n 's/^ *[0-9]*: *//p' | grep -E "startup|relocation|relative" | head -6
