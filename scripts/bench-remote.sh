#!/usr/bin/env bash
# F1 of docs/performance.md: `restore --extract` of a sealed bf16-like
# snapshot served by nginx on loopback, against the same restore from the
# local file, same run, runs alternating; both write into tmpfs. Also the
# peak RSS (C5 for remote sources) of the HTTP restore at SIZE and 4x SIZE.
#
#   scripts/bench-remote.sh                    # 512 MiB, 5 runs per side
#   scripts/bench-remote.sh --size 1GiB --runs 7
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
size=512MiB
runs=5
vs=${VRAMSNAP:-$root/build/tools/vramsnap}
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --vramsnap) vs=$2; shift 2 ;;
    *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "bench-remote: needs nginx" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-bench-remote.XXXXXX")
out=$(mktemp -d /dev/shm/vramsnap-bench-remote.XXXXXX)
ngx_pid=""
cleanup() {
  [[ -n $ngx_pid ]] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
  rm -rf "$work" "$out"
}
trap cleanup EXIT

"$vs" keygen -o "$work/k.key" >/dev/null
mkdir "$work/www" "$work/tmp"
snap_of() {  # snap_of SIZE NAME
  "$vs" bench --synthetic "$1" --pattern bf16 --write-data "$work/$2.bf16" >/dev/null
  "$vs" capture -o "$work/www/$2.snap" --key-file "$work/k.key" --region "w=$work/$2.bf16" -q >/dev/null
  rm -f "$work/$2.bf16"
}
snap_of "$size" a

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log error;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
"$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
ngx_pid=$!
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

once() {  # once SRC: wall seconds of one restore --extract into tmpfs
  local t0 t1
  rm -rf "$out/x"
  t0=$EPOCHREALTIME
  "$vs" restore "$1" --key-file "$work/k.key" --extract "$out/x" -q >/dev/null
  t1=$EPOCHREALTIME
  rm -rf "$out/x"
  echo "$t0 $t1" | awk '{printf "%.4f\n", $2 - $1}'
}
cat "$work/www/a.snap" >/dev/null  # page cache warm for both sides
once "$work/www/a.snap" >/dev/null
local_t=() http_t=()
for ((i = 0; i < runs; i++)); do
  local_t+=("$(once "$work/www/a.snap")")
  http_t+=("$(once "http://127.0.0.1:$port/a.snap")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
best() { printf '%s\n' "$@" | sort -g | head -n1; }
lm=$(median "${local_t[@]}"); hm=$(median "${http_t[@]}")
lb=$(best "${local_t[@]}"); hb=$(best "${http_t[@]}")
ratio=$(awk -v l="$lb" -v h="$hb" 'BEGIN {printf "%.2f", l / h}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.7) ? "PASS" : "FAIL"}')
echo "machine: $(nproc) cores, $(uname -r); snapshot $size bf16-like, sealed; extract into tmpfs; $runs runs per side"
echo "local file restore --extract: best ${lb} s, median ${lm} s"
echo "nginx HTTP restore --extract: best ${hb} s, median ${hm} s"
echo "F1 HTTP/local speed ratio (best of $runs): $ratio (target >= 0.7) $verdict"

rss() {  # rss SRC: peak RSS in KiB of one HTTP restore --extract
  rm -rf "$out/x"
  /usr/bin/time -f %M "$vs" restore "$1" --key-file "$work/k.key" --extract "$out/x" -q 2>&1 >/dev/null | tail -n1
  rm -rf "$out/x"
}
if [[ -x /usr/bin/time ]]; then
  snap_of "$(awk -v s="${size%MiB}" 'BEGIN {print s * 4}')MiB" b 2>/dev/null || true
  if [[ -f $work/www/b.snap ]]; then
    echo "C5 over HTTP: peak RSS $(rss "http://127.0.0.1:$port/a.snap") KiB at $size, $(rss "http://127.0.0.1:$port/b.snap") KiB at 4x"
  fi
fi
[[ $verdict == PASS ]]
