#!/usr/bin/env bash
# Packed small regions (format 1.3), measured in one run on one machine:
#   - stored size against `zstd -3` of the same safetensors file (C3), with
#     and without packing, on real models (TensorFlow.js models shipped in the
#     npm package @vladmandic/face-api, converted to bf16 and f16) and on a
#     synthetic model shaped like the one in the field report (about 8,300
#     tensors, most under 20 KiB); a snapshot must never be larger than its
#     safetensors file;
#   - manifest and table bytes per region beyond the name;
#   - C9: open + host restore of 60,000 regions against one region of the
#     same bytes (hyperfine, whole process, same run), and restore --extract
#     of the 60,000.
#
#   scripts/bench-packed.sh [VRAMSNAP] [WORKDIR]   (default build/tools/vramsnap, a temp dir)
#
# Needs npm (to fetch the models), zstd, hyperfine, bc, /usr/bin/python3 with
# numpy and torch. Prints one line per measurement; bench-results/ keeps a run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=$(realpath "${1:-$ROOT/build/tools/vramsnap}")
W=${2:-$(mktemp -d /tmp/vramsnap-packed.XXXXXX)}
PY=/usr/bin/python3
mkdir -p "$W"
cd "$W"
echo "# bench-packed: $(date -u +%FT%TZ), $(nproc) cores, $(uname -r), $("$V" --version | head -1)"

# ---- inputs -------------------------------------------------------------------
if [[ ! -d package/model ]]; then
  npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null
  tar xzf vladmandic-face-api-1.7.15.tgz
fi
M=package/model
for dt in bf16 f16; do
  [[ -f faceapi-all-$dt.safetensors ]] ||
    $PY "$ROOT/scripts/tfjs_to_safetensors.py" $M/*-weights_manifest.json faceapi-all-$dt.safetensors --dtype $dt 2>/dev/null
  [[ -f faceapi-ssd-$dt.safetensors ]] ||
    $PY "$ROOT/scripts/tfjs_to_safetensors.py" $M/ssd_mobilenetv1_model-weights_manifest.json faceapi-ssd-$dt.safetensors --dtype $dt 2>/dev/null
done
[[ -f synth-bf16.safetensors ]] || $PY - <<'PY'
# A model shaped like the field report: ~8,300 tensors, most under 20 KiB,
# '/' in names, a few large matrices; weights N(0, 0.02), norms near 1.
import json, struct
import numpy as np, torch
rng = np.random.default_rng(11)
tensors = []
for layer in range(690):
    for part, n in (("q/bias", 1024), ("k/bias", 1024), ("v/bias", 1024), ("norm/gamma", 2048),
                    ("norm/beta", 2048), ("conv/kernel", 3 * 3 * 64 * 8), ("scale", 64),
                    ("mlp/bias", 4096), ("gate", 256), ("proj/bias", 1024), ("ln/gamma", 512), ("ln/beta", 512)):
        base = 1.0 if "gamma" in part else 0.0
        tensors.append((f"encoder/layer_{layer}/{part}", (n,), rng.normal(base, 0.02, n).astype(np.float32)))
for i in range(40):
    tensors.append((f"dense_{i}/kernel", (512, 1024), rng.normal(0, 0.02, 512 * 1024).astype(np.float32)))
for dt, name in (("BF16", "synth-bf16"), ("F16", "synth-f16")):
    header, blobs, off = {}, [], 0
    for key, shape, a in tensors:
        if dt == "BF16":
            b = torch.from_numpy(a).to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            b = a.astype(np.float16).tobytes()
        header[key] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(name + ".safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
# C9: 60,000 regions of 512 bytes, and one region of the same 30.72 MB.
data = rng.normal(0, 0.02, 60000 * 256).astype(np.float32)
b = torch.from_numpy(data).to(torch.bfloat16).view(torch.int16).numpy().tobytes()
for name, parts in (("many-60000", 60000), ("one-region", 1)):
    header, step = {}, len(b) // parts
    for i in range(parts):
        header[f"t/{i}"] = {"dtype": "BF16", "shape": [step // 2], "data_offsets": [i * step, (i + 1) * step]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(name + ".safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b)
PY

# ---- C3: stored size --------------------------------------------------------------
ratio() { echo "scale=3; $1 / $2" | bc; }
echo "# C3 stored size: snapshot bytes / zstd -3 bytes of the same safetensors file (target <= 0.93 bf16, <= 0.96 f16; never above the safetensors file)"
for f in faceapi-all-bf16 faceapi-all-f16 faceapi-ssd-bf16 faceapi-ssd-f16 synth-bf16 synth-f16; do
  st=$(stat -c %s $f.safetensors)
  z=$(zstd -3 -q -c $f.safetensors | wc -c)
  tensors=$($PY -c "import json,struct,sys; d=open(sys.argv[1],'rb'); n=struct.unpack('<Q',d.read(8))[0]; h=json.loads(d.read(n)); h.pop('__metadata__',None); print(len(h))" $f.safetensors)
  line="$f tensors=$tensors safetensors=$st zstd3=$z"
  for pb in 0 4KiB 64KiB 1MiB; do
    "$V" capture -q -o $f.snap --pack-below $pb --safetensors $f.safetensors --force >/dev/null
    s=$(stat -c %s $f.snap)
    line+=" pack<$pb=$s($(ratio "$s" "$z"))"
    [[ $s -le $st ]] || line+="!LARGER-THAN-SOURCE"
  done
  echo "$line"
done

# ---- per-region overhead ---------------------------------------------------------------
echo "# overhead per region beyond its name: manifest bytes, table bytes (default packing)"
for f in synth-bf16 many-60000; do
  "$V" capture -q -o $f.snap --safetensors $f.safetensors --force >/dev/null
  "$V" inspect $f.snap --json >$f.json
  $PY - $f.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = len(d["regions"]); names = sum(len(r["name"].encode()) for r in d["regions"])
L = d["layout"]
print(f"{sys.argv[1][:-5]} regions={n} chunks={d['totals']['chunks']} manifest/region-beyond-name={(L['manifest'] - names) / n:.1f} "
      f"table/region={L['chunk_table'] / n:.2f} padding/region={L['chunk_padding'] / n:.1f} file={L['file_size']}")
PY
done

# ---- C9: 60,000 regions against one ---------------------------------------------------
echo "# C9: open + host restore, whole process (hyperfine), 60,000 x 512 B regions vs 1 region of the same 30 MB (target <= 2x)"
"$V" capture -q -o one-region.snap --safetensors one-region.safetensors --force >/dev/null
hyperfine -N --warmup 2 --runs 15 --export-json c9.json \
  "$V restore many-60000.snap --allow-unsealed --target host -q" \
  "$V restore one-region.snap --allow-unsealed --target host -q" >/dev/null
$PY - <<'PY'
import json
r = json.load(open("c9.json"))["results"]
many, one = r[0]["median"], r[1]["median"]
print(f"C9 many-60000 median={many*1e3:.1f} ms  one-region median={one*1e3:.1f} ms  ratio={many/one:.2f}x  (target <= 2x)")
PY
rm -rf x60000
start=$(date +%s.%N)
"$V" restore many-60000.snap --allow-unsealed --extract x60000 -q >/dev/null
end=$(date +%s.%N)
echo "extract of 60,000 regions: $(ls x60000 | wc -l) files in $(echo "$end - $start" | bc) s"
rm -rf x60000
