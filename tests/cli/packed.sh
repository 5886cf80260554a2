#!/usr/bin/env bash
# Packed small regions (format 1.3): a safetensors file of thousands of small
# tensors is captured into shared chunks, inspected, verified, restored to
# host memory, extracted (one file per region, no descriptor held per region)
# and extracted as a tree; --pack-below 0 writes the unpacked layout; the
# snapshot is smaller than its source where the unpacked one is not.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3 /usr/bin/python3

make_key k.key
# 1200 tensors of 2 to 64 bf16 values with '/' in their names, and one of 256 KiB.
/usr/bin/python3 - <<'PY'
import json, random, struct
rng = random.Random(7)
header, data = {}, bytearray()
def add(name, n):
    b = b"".join(struct.pack("<f", rng.gauss(0, 0.02))[2:4] for _ in range(n))
    header[name] = {"dtype": "BF16", "shape": [n], "data_offsets": [len(data), len(data) + len(b)]}
    data.extend(b)
for i in range(1200):
    add(f"layer_{i // 10}/t{i % 10}", 2 + i % 63)
add("big/kernel", 128 * 1024)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open("many.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
PY

step "capture packs the small tensors: bit 2, format 1.3, few chunks"
expect_exit 0 "$VRAMSNAP" capture -o p.snap --safetensors many.safetensors --key-file k.key --threads 2 --json
assert_json 'len(j["regions"]) == 1201'
expect_exit 0 "$VRAMSNAP" inspect p.snap --json
# Bits 0 (leaf-sha256) and 2; auto may also store float chunks as planes
# (bit 3, format 1.4).
assert_json 'j["required_features"] & ~8 == 5 and j["format_version"] == ("1.4" if j["required_features"] & 8 else "1.3")' \
  'j["totals"]["chunks"] < 10' \
  'j["layout"]["file_size"] == sum(v for k, v in j["layout"].items() if k != "file_size")'
expect_exit 0 "$VRAMSNAP" inspect p.snap --chunks --format json
assert_json 'j["chunks"][0]["packed_regions"] >= 2 and j["chunks"][0]["region"] == "layer_0/t0"' \
  'sum(c.get("packed_regions", 1) for c in j["chunks"]) == 1201'
expect_exit 0 "$VRAMSNAP" inspect p.snap --chunks
expect_stdout_matches '^ +0 +layer_0/t0 +packed [0-9]+ '
[[ $(file_size p.snap) -lt $(file_size many.safetensors) ]] || fail "packed snapshot larger than its source"

step "--pack-below 0: one chunk per region, no bit 2, and much larger"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --safetensors many.safetensors --pack-below 0 --json
expect_exit 0 "$VRAMSNAP" inspect u.snap --json
assert_json 'j["required_features"] & 4 == 0 and j["totals"]["chunks"] == 1201'
[[ $(file_size u.snap) -gt $((4 * $(file_size p.snap))) ]] || fail "unpacked $(file_size u.snap) vs packed $(file_size p.snap)"
expect_exit 2 "$VRAMSNAP" capture -o x.snap --safetensors many.safetensors --pack-below 12parsecs
expect_stderr_contains "--pack-below: not a size"

step "verify, host restore, extract and extract-tree of the packed file"
expect_exit 0 "$VRAMSNAP" verify p.snap --key-file k.key --decode
expect_exit 0 "$VRAMSNAP" restore p.snap --key-file k.key --target host --json
assert_json 'j["chunks"] < 10 and j["raw_bytes"] == sum(r["size"] for r in j["regions"])'
# A limit on descriptors far below the region count: none is held per region.
expect_exit 0 bash -c "ulimit -n 64 && exec \"$VRAMSNAP\" restore p.snap --key-file k.key --extract out -q"
[[ $(find out -type f | wc -l) -eq 1201 ]] || fail "extract wrote $(find out -type f | wc -l) files"
expect_exit 0 "$VRAMSNAP" restore u.snap --allow-unsealed --extract out-u -q
diff -r out out-u >/dev/null || fail "packed and unpacked extracts differ"
expect_exit 0 bash -c "ulimit -n 64 && exec \"$VRAMSNAP\" restore p.snap --key-file k.key --extract-tree tree -q"
assert_same_bytes tree/layer_17/t3 "out/layer_17%2Ft3"
assert_same_bytes tree/big/kernel "out/big%2Fkernel"

step "one region of a packed chunk"
expect_exit 0 "$VRAMSNAP" restore p.snap --key-file k.key --region layer_99/t9 --extract one -q
assert_same_bytes "one/layer_99%2Ft9" "out/layer_99%2Ft9"
[[ $(find one -type f | wc -l) -eq 1 ]] || fail "partial extract wrote more than one file"

step "a flipped byte in a packed chunk fails the chunk's regions, and nothing is left"
off=$((4096 + 200))
cp p.snap bad.snap
flip_bit bad.snap "$off" 3
expect_exit 1 "$VRAMSNAP" restore bad.snap --key-file k.key --extract bad-out
expect_stderr_contains "packed chunk 0"
expect_stderr_contains "SHA-256 mismatch"
[[ ! -e bad-out ]] || assert_empty_dir bad-out
echo "PASS: $TEST_NAME"
