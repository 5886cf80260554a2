#!/usr/bin/env bash
# capture from --region / --safetensors / --spec with every option, and
# inspect in every format; refusals of bad inputs and outputs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

gen_random host.bin 10000
gen_bf16 dev.bf16 $((192 * 1024))
gen_zeros zeros.bin 70000
gen_text text.log 100000
gen_random mod.bin 4096
: >empty.bin

step "capture --region with kind, dtype, shape, va, device, flags, offset, size"
expect_exit 0 "$VRAMSNAP" capture -o regions.snap --json --threads 2 --chunk-size 64KiB --pack-below 0 \
  --region host=host.bin,kind=host \
  --region 'weights=dev.bf16,kind=device,dtype=bf16,shape=96x1024,va=0x7f0000000000,device=1,flags=read_mostly+warm' \
  --region zeros=zeros.bin,kind=other,dtype=u8 \
  --region text=text.log,kind=host \
  --region mod=mod.bin,kind=module \
  --region slice=host.bin,offset=1000,size=4KiB \
  --region empty=empty.bin,kind=device,dtype=f32,shape=0x16
expect_stderr_not_contains "error"
assert_json \
  'j["path"] == "regions.snap" and j["sealed"] is False and j["key_id"] is None' \
  'len(j["snapshot_id"]) == 32 and int(j["snapshot_id"], 16) >= 0' \
  '[r["name"] for r in j["regions"]] == ["host","weights","zeros","text","mod","slice","empty"]  # region order' \
  '[r["kind"] for r in j["regions"]] == ["host","device","other","host","module","host","device"]  # kinds' \
  'j["regions"][1]["dtype"] == "bf16" and j["regions"][1]["shape"] == [96, 1024]  # dtype/shape' \
  '[r["size"] for r in j["regions"]] == [10000, 196608, 70000, 100000, 4096, 4096, 0]  # sizes' \
  'j["raw_bytes"] == sum(r["size"] for r in j["regions"])' \
  'j["stored_bytes"] == sum(r["stored"] for r in j["regions"])' \
  'j["regions"][1]["chunks"] == 3 and j["regions"][6]["chunks"] == 0  # chunk counts at 64 KiB' \
  'j["regions"][2]["codecs"]["zero"] == 2  # zero region stored as zero chunks' \
  'j["regions"][3]["codecs"]["zstd"] == 2  # text compressed with zstd' \
  'j["regions"][0]["codecs"]["raw"] == 1  # random bytes stored raw' \
  'j["threads"] == 2' \
  'j["file_size"] > 0'
snap_size=$(json_value 'j["file_size"]')
assert_eq "$(file_size regions.snap)" "$snap_size" "capture --json file_size"
assert_no_temp_files .

step "inspect --json: metadata, regions, and the layout accounts for every byte"
expect_exit 0 "$VRAMSNAP" inspect regions.snap --json
assert_json \
  'j["format_version"] == "1.4" and j["required_features"] == 9 and j["chunk_hash"] == "leaf-sha256-16k"  # bf16 as planes' \
  'j["seal"] == {"state": "unsealed", "key_id": None}' \
  'j["chunk_size"] == 65536'
w='j["regions"][1]'
assert_json \
  "${w}[\"va\"] == \"0x7f0000000000\" and ${w}[\"device\"] == 1 and ${w}[\"flags\"] == [\"read_mostly\", \"warm\"]  # va/device/flags" \
  'j["regions"][0]["va"] is None and j["regions"][0]["device"] == -1 and j["regions"][0]["flags"] == []' \
  'j["regions"][6]["shape"] == [0, 16] and j["regions"][6]["size"] == 0' \
  'sum(v for k, v in j["layout"].items() if k != "file_size") == j["layout"]["file_size"]  # layout sums to file_size' \
  "j[\"layout\"][\"file_size\"] == $snap_size" \
  'j["layout"]["header"] == 64 and j["layout"]["trailer"] == 160 and j["layout"]["seal_block"] == 128' \
  'j["totals"]["regions"] == 7 and j["totals"]["chunks"] == sum(r["chunks"] for r in j["regions"])' \
  'j["totals"]["raw_bytes"] == 10000 + 196608 + 70000 + 100000 + 4096 + 4096' \
  '"chunks" not in j'
assert_json \
  '[r["portable"] for r in j["regions"]] == [True, True, True, True, False, True, True]  # only the module is not' \
  'j["regions"][4]["portable_reason"].startswith("module: machine code") and j["regions"][1]["portable_reason"] == ""'
expect_exit 0 "$VRAMSNAP" inspect regions.snap --format json
assert_json 'j["totals"]["regions"] == 7'
expect_exit 0 "$VRAMSNAP" inspect regions.snap
expect_stdout_contains "portable"
expect_stdout_contains "not portable: mod: module: machine code"

step "capture --chunk-hash sha256 writes a format 1.0 file"
expect_exit 0 "$VRAMSNAP" capture -o flat.snap --chunk-hash sha256 --region w=dev.bf16,dtype=bf16
expect_exit 0 "$VRAMSNAP" inspect flat.snap --json
assert_json 'j["format_version"] == "1.0" and j["required_features"] == 0 and j["chunk_hash"] == "sha256"'
expect_exit 0 "$VRAMSNAP" verify flat.snap --allow-unsealed --decode
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --chunk-hash md5 --region w=dev.bf16

step "inspect --json --chunks"
expect_exit 0 "$VRAMSNAP" inspect regions.snap --json --chunks
assert_json \
  'len(j["chunks"]) == j["totals"]["chunks"]' \
  '[c["index"] for c in j["chunks"]] == list(range(len(j["chunks"])))' \
  'all(len(c["sha256"]) == 64 for c in j["chunks"])' \
  'all(c["stored_offset"] % 4096 == 0 for c in j["chunks"] if c["codec"] != "zero")  # chunks 4 KiB aligned' \
  'sum(c["raw_size"] for c in j["chunks"]) == j["totals"]["raw_bytes"]' \
  'all(c["elem_size"] == 2 for c in j["chunks"] if c["codec"] in ("shuffle", "planes"))  # bf16 elem size'

step "inspect text"
expect_exit 0 "$VRAMSNAP" inspect regions.snap
expect_stdout_contains "format      1.4"
expect_stdout_contains "chunk hash  leaf-sha256-16k"
expect_stdout_contains "seal        unsealed"
expect_stdout_contains "chunk size  64.00 KiB"
expect_stdout_contains "total = file size"
expect_stdout_not_contains "MISMATCH"
expect_stdout_matches '^weights +device +bf16 +\[96, 1024\] +1 '
expect_stdout_matches "^total = file size +$snap_size\$"
expect_exit 0 "$VRAMSNAP" inspect regions.snap --chunks
expect_stdout_matches '^ +0 +host +0 +10000 +raw '
expect_stdout_matches 'planes/2'

step "inspect --format csv (regions and chunks)"
expect_exit 0 "$VRAMSNAP" inspect regions.snap --format csv
assert_eq "$(head -n1 "$OUT")" "name,kind,dtype,shape,device,size,stored,chunks,zero,raw,zstd,shuffle,planes,palette" "csv header"
assert_eq "$(wc -l <"$OUT")" 8 "csv rows"
expect_stdout_contains "weights,device,bf16,96x1024,1,196608,"
expect_stdout_contains "empty,device,f32,0x16,0,0,0,0,0,0,0,0"
expect_exit 0 "$VRAMSNAP" inspect regions.snap --format csv --chunks
assert_eq "$(head -n1 "$OUT")" "index,region,region_offset,raw_size,codec,elem_size,stored_offset,stored_size,sha256,packed_regions" "csv chunk header"
chunks=$(("$(wc -l <"$OUT")" - 1))
expect_exit 0 "$VRAMSNAP" inspect regions.snap --json
assert_json "j[\"totals\"][\"chunks\"] == $chunks  # csv chunk rows"

step "--codec raw / zstd / shuffle / planes / auto, --level, --threads"
for codec in raw zstd shuffle planes auto; do
  expect_exit 0 "$VRAMSNAP" capture -o "c-$codec.snap" --json --codec "$codec" --level 5 --threads 1 \
    --chunk-size 64KiB --region w=dev.bf16,kind=device,dtype=bf16 --region t=text.log --region z=zeros.bin
  assert_json 'j["threads"] == 1'
  # formats/snapshot-v1.md 6.3: raw is always raw (zeros too); the others
  # store all-zero chunks as zero; shuffle without a dtype falls back to zstd.
  case $codec in
    raw) assert_json '[r["codecs"]["raw"] for r in j["regions"]] == [3, 2, 2] and j["stored_bytes"] == j["raw_bytes"]  # raw' ;;
    zstd) assert_json '[r["codecs"]["zstd"] for r in j["regions"]] == [3, 2, 0] and j["regions"][2]["codecs"]["zero"] == 2  # zstd' ;;
    shuffle) assert_json '[r["codecs"]["shuffle"] for r in j["regions"]] == [3, 0, 0] and j["regions"][1]["codecs"]["zstd"] == 2 and j["regions"][2]["codecs"]["zero"] == 2  # shuffle' ;;
    planes) assert_json '[r["codecs"]["planes"] for r in j["regions"]] == [3, 0, 0] and j["regions"][1]["codecs"]["zstd"] == 2 and j["regions"][2]["codecs"]["zero"] == 2  # planes' ;;
    auto) assert_json 'j["regions"][0]["codecs"]["planes"] == 3 and j["regions"][1]["codecs"]["zstd"] == 2 and j["regions"][2]["codecs"]["zero"] == 2  # auto' ;;
  esac
  expect_exit 0 "$VRAMSNAP" verify "c-$codec.snap" --allow-unsealed --decode
done
expect_exit 0 "$VRAMSNAP" capture -o lvl19.snap --json --codec zstd --level 19 --region t=text.log
expect_exit 0 "$VRAMSNAP" capture -o lvl-7.snap --json --codec zstd --level -7 --region t=text.log
[[ $(file_size lvl19.snap) -le $(file_size lvl-7.snap) ]] || fail "--level 19 output larger than --level -7"
expect_exit 0 "$VRAMSNAP" capture -o cs.snap --json --chunk-size 65536 --region w=dev.bf16
assert_json 'j["regions"][0]["chunks"] == 3'
expect_exit 0 "$VRAMSNAP" capture -o cs2.snap --json --chunk-size 1MiB --region w=dev.bf16
assert_json 'j["regions"][0]["chunks"] == 1'
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --chunk-size 32KiB --region w=dev.bf16
expect_stderr_contains "chunk size"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --chunk-size 4MB --region w=dev.bf16
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --chunk-size 512MiB --region w=dev.bf16
assert_no_file bad.snap

step "--label and --generation"
expect_exit 0 "$VRAMSNAP" capture -o lab.snap --label model=llama --label 'note=a b=c' --generation 42 --region h=host.bin
expect_exit 0 "$VRAMSNAP" inspect lab.snap --json
assert_json 'j["labels"] == {"model": "llama", "note": "a b=c"} and j["generation"] == 42'
expect_exit 0 "$VRAMSNAP" inspect lab.snap
expect_stdout_contains "generation  42"
expect_stdout_contains "model=llama"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --label novalue --region h=host.bin
expect_stderr_contains "KEY=VALUE"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --label =v --region h=host.bin
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --generation -1 --region h=host.bin
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --generation 18446744073709551616 --region h=host.bin
assert_no_file bad.snap

step "--safetensors: odd tensor names, a scalar, a zero-size tensor, a unicode name"
"${PYTHON[@]}" - <<'PY'
import json, struct, random
random.seed(7)
tensors = [  # name, dtype, shape, element size
    ("model.layers.0.weight", "BF16", [4, 8], 2),
    ("encoder/layer_0/kernel", "F32", [2, 3], 4),
    ("scalar", "F32", [], 4),
    ("zero_size", "F16", [0, 4], 2),
    ("ünï.bias", "F32", [3], 4),
    ("ids", "I64", [5], 8),
]
header, data = {"__metadata__": {"format": "pt"}}, b""
for name, dt, shape, es in tensors:
    n = es
    for d in shape: n *= d
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + n]}
    data += bytes(random.randrange(256) for _ in range(n))
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open("model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
# Expected region bytes, for the extract check below.
off = 0
for name, dt, shape, es in tensors:
    n = es
    for d in shape: n *= d
    with open("expect." + name.replace("/", "_"), "wb") as f:
        f.write(data[off:off + n])
    off += n
PY
expect_exit 0 "$VRAMSNAP" capture -o st.snap --json --safetensors model.safetensors
assert_json \
  'sorted(r["name"] for r in j["regions"]) == sorted(["model.layers.0.weight", "encoder/layer_0/kernel", "scalar", "zero_size", "ünï.bias", "ids"])' \
  'all(r["kind"] == "device" for r in j["regions"])'
expect_exit 0 "$VRAMSNAP" inspect st.snap --json
assert_json '{r["name"]: (r["dtype"], r["shape"], r["size"], r["device"]) for r in j["regions"]} == {
  "model.layers.0.weight": ("bf16", [4, 8], 64, 0), "encoder/layer_0/kernel": ("f32", [2, 3], 24, 0),
  "scalar": ("f32", [], 4, 0), "zero_size": ("f16", [0, 4], 0, 0), "ünï.bias": ("f32", [3], 12, 0),
  "ids": ("i64", [5], 40, 0)}  # safetensors dtypes/shapes/sizes'
# Text tables line up by characters, not bytes, with a UTF-8 name among them.
expect_exit 0 "$VRAMSNAP" inspect st.snap
"${PYTHON[@]}" - "$OUT" <<'PY' || fail "inspect table columns do not line up with a UTF-8 region name"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
h = next(i for i, l in enumerate(lines) if l.startswith("region "))
col = lines[h].index("kind")
rows = lines[h + 1:]
rows = rows[:next(i for i, l in enumerate(rows) if l.startswith("---"))]
assert len(rows) == 6 and all(l[col:col + 7] == "device " for l in rows), rows
PY
expect_exit 0 "$VRAMSNAP" restore st.snap --allow-unsealed --extract st.out
for e in expect.*; do
  name=${e#expect.}
  case $name in
    encoder_layer_0_kernel) f='encoder%2Flayer_0%2Fkernel' ;;
    ünï.bias) f='%C3%BCn%C3%AF.bias' ;;
    *) f=$name ;;
  esac
  assert_same_bytes "$e" "st.out/$f"
done
# A tensor name clashing with a --region name.
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --safetensors model.safetensors --region scalar=host.bin
expect_stderr_contains "used twice"
# Not a safetensors file: format error naming the file.
head -c 100 /dev/urandom >junk.safetensors
expect_exit 3 "$VRAMSNAP" capture -o bad.snap --safetensors junk.safetensors
expect_stderr_contains "junk.safetensors"
head -c 40 model.safetensors >trunc.safetensors
expect_exit 3 "$VRAMSNAP" capture -o bad.snap --safetensors trunc.safetensors
assert_no_file bad.snap

step "--spec: relative paths, labels, generation, codec, chunk size, safetensors with a prefix"
mkdir -p deploy/data
cp host.bin deploy/data/host.bin
cp dev.bf16 deploy/data/w.bf16
cp model.safetensors deploy/model.safetensors
cat >deploy/snapshot.json <<'JSON'
{
  "regions": [
    {"name": "host", "path": "data/host.bin", "kind": "host", "labels": {"role": "state"}},
    {"name": "w", "path": "data/w.bf16", "kind": "device", "dtype": "bf16", "shape": [96, 1024],
     "va": "0x7f0000200000", "device": 0, "flags": ["read_mostly"]},
    {"name": "a,b \"q\"", "path": "data/host.bin", "offset": 16, "size": "1KiB"}
  ],
  "safetensors": [{"path": "model.safetensors", "prefix": "st/"}],
  "labels": {"deploy": "blue", "commit": "abc123"},
  "generation": 9,
  "chunk_size": "128KiB",
  "codec": "raw",
  "level": 1
}
JSON
expect_exit 0 "$VRAMSNAP" capture -o spec.snap --spec deploy/snapshot.json
expect_exit 0 "$VRAMSNAP" inspect spec.snap --json
assert_json \
  'j["labels"] == {"deploy": "blue", "commit": "abc123"} and j["generation"] == 9 and j["chunk_size"] == 131072' \
  '[r["name"] for r in j["regions"]][:3] == ["host", "w", "a,b \"q\""]' \
  'sum(1 for r in j["regions"] if r["name"].startswith("st/")) == 6  # prefixed tensors' \
  'j["regions"][0]["labels"] == {"role": "state"} and j["regions"][1]["va"] == "0x7f0000200000"' \
  'j["regions"][2]["size"] == 1024' \
  'all(r["codecs"]["zstd"] == 0 and r["codecs"]["shuffle"] == 0 for r in j["regions"])  # spec codec raw'
# --label / --generation on the command line override the spec.
expect_exit 0 "$VRAMSNAP" capture -o spec2.snap --spec deploy/snapshot.json --generation 10 --label deploy=green
expect_exit 0 "$VRAMSNAP" inspect spec2.snap --json
assert_json 'j["generation"] == 10 and j["labels"]["deploy"] == "green"'
# CSV quotes a name with ',' and '"'.
expect_exit 0 "$VRAMSNAP" inspect spec.snap --format csv
expect_stdout_contains '"a,b ""q""",host,'
# Spec errors are usage errors naming the file and the JSON path.
printf '{"regions": [{"name": "x", "path": "data/host.bin", "knd": "host"}]}' >deploy/typo.json
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --spec deploy/typo.json
expect_stderr_contains "deploy/typo.json"
expect_stderr_contains "regions[0]"
printf '{"regions": [{"name": "x", "path": "data/host.bin"}, {"name": "x", "path": "data/w.bf16"}]}' >deploy/dup.json
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --spec deploy/dup.json
expect_stderr_contains "already used"
printf '{"regions": [], "generation": 1, "generation": 2}' >deploy/dupkey.json
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --spec deploy/dupkey.json --region h=host.bin
printf '{"regions": [' >deploy/broken.json
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --spec deploy/broken.json
expect_stderr_contains "not valid JSON"
expect_exit 4 "$VRAMSNAP" capture -o bad.snap --spec deploy/missing.json
assert_no_file bad.snap

step "output exists: refused without --force, replaced with it"
id1=$("$VRAMSNAP" inspect lab.snap --json | "${PYTHON[@]}" -c 'import json,sys; print(json.load(sys.stdin)["snapshot_id"])')
expect_exit 4 "$VRAMSNAP" capture -o lab.snap --region h=host.bin
expect_stderr_contains "lab.snap exists"
expect_stderr_contains "vramsnap capture: hint: pass --force to replace it"
expect_exit 0 "$VRAMSNAP" inspect lab.snap --json
assert_json "j[\"snapshot_id\"] == \"$id1\"  # refused capture left the old file alone"
expect_exit 0 "$VRAMSNAP" capture -o lab.snap --region other=text.log --force
expect_exit 0 "$VRAMSNAP" inspect lab.snap --json
assert_json "j[\"snapshot_id\"] != \"$id1\" and [r[\"name\"] for r in j[\"regions\"]] == [\"other\"]  # --force replaced it"
assert_no_temp_files .
mkdir outdir
expect_exit 4 "$VRAMSNAP" capture -o outdir --region h=host.bin
expect_exit 4 "$VRAMSNAP" capture -o outdir --region h=host.bin --force
expect_exit 4 "$VRAMSNAP" capture -o no/such/dir/x.snap --region h=host.bin
expect_stderr_contains "does not exist"

step "bad inputs: missing file, directory, FIFO -> exit 4"
expect_exit 4 "$VRAMSNAP" capture -o bad.snap --region a=missing.bin
expect_stderr_contains "missing.bin"
mkdir adir
expect_exit 4 "$VRAMSNAP" capture -o bad.snap --region a=adir
expect_stderr_contains "directory"
mkfifo fifo
expect_exit 4 timeout 10 "$VRAMSNAP" capture -o bad.snap --region a=fifo
expect_stderr_contains "fifo"
expect_exit 4 timeout 10 "$VRAMSNAP" capture -o bad.snap --safetensors fifo
expect_exit 4 timeout 10 "$VRAMSNAP" capture -o bad.snap --spec fifo
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,offset=20000   # usage: past the end
expect_stderr_contains "past the end"
assert_no_file bad.snap
assert_no_temp_files .

step "bad region specs -> exit 2"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin --region a=text.log
expect_stderr_contains "used twice"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,kind=gpu
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,dtype=BF-16
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=dev.bf16,dtype=bf16,shape=3x3
expect_stderr_contains "shape"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,va=xyz
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,flags=hot
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,kind=host,kind=device
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=host.bin,bogus=1
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region =host.bin
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region noequals
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region "$(printf 'ctl\001x')=host.bin"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region "$(head -c 256 /dev/zero | tr '\0' n)=host.bin"
# Names that would escape an --extract directory. Observed: exit 2 (usage),
# refused by the writer's region-name rules before any output is created.
for name in .. ../x a/../b a/./b /abs trail/ 'a//b' 'back\slash'; do
  expect_fail "$VRAMSNAP" capture -o bad.snap --region "$name=host.bin"
  assert_eq "$LAST_RC" 2 "exit code for region name '$name'"
done
expect_stderr_contains "name"
assert_no_file bad.snap

step "no sources -> exit 2"
expect_exit 2 "$VRAMSNAP" capture -o bad.snap
expect_stderr_contains "nothing to capture"
assert_no_file bad.snap

step "inspect refuses what is not a snapshot"
expect_exit 3 "$VRAMSNAP" inspect host.bin
expect_stderr_contains "host.bin"
expect_exit 3 "$VRAMSNAP" inspect empty.bin
expect_exit 4 "$VRAMSNAP" inspect missing.snap
expect_exit 4 timeout 10 "$VRAMSNAP" inspect fifo
expect_exit 4 "$VRAMSNAP" inspect adir
assert_no_temp_files .
echo "PASS: $TEST_NAME"
