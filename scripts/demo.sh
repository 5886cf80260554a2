#!/usr/bin/env bash
# Builds vramsnap and runs it on a small built-in example: weights-like bf16
# data, a host region and a zero region are captured, sealed, inspected,
# verified and restored, and the restored bytes are compared.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target vramsnap_cli
vs="$root/build/tools/vramsnap"
work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== making example data in $work"
"$vs" bench --synthetic 8MiB --pattern bf16 --write-data weights.bin
"$vs" bench --synthetic 1MiB --pattern random --write-data heap.bin
truncate -s 2MiB kv.bin   # an empty KV cache: all zeros

run() { echo; echo "\$ vramsnap $*"; "$vs" "$@"; }
run keygen -o demo.key
run capture -o demo.snap --key-file demo.key --label app=demo --generation 1 \
  --region embed.weight=weights.bin,kind=device,dtype=bf16,shape=2048x2048 \
  --region wasm.heap=heap.bin,kind=host --region kv_cache=kv.bin,kind=device,dtype=f16
run inspect demo.snap
run verify demo.snap --key-file demo.key
run restore demo.snap --key-file demo.key --extract restored
cmp restored/embed.weight weights.bin && cmp restored/wasm.heap heap.bin && cmp restored/kv_cache kv.bin
echo
echo "demo: restored regions are byte-identical to the originals"
