#!/usr/bin/env bash
# Runs `vramsnap bench --synthetic` over snapshot sizes (1 MiB .. 1 GiB, the
# seed design's table), collects the results into one JSON,
# bench-results/<machine>-<date>.json, and plots it beside (same name, .png).
#
#   scripts/bench-sweep.sh                      # host target, machine cpu-<N>core
#   scripts/bench-sweep.sh --target cuda:0 --machine h100-pcie
#   scripts/bench-sweep.sh --sizes "1MiB 16MiB" --iterations 5 --out-dir /tmp/r
#   scripts/bench-sweep.sh --codec raw          # uncompressed snapshots
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmdline="scripts/bench-sweep.sh $*"

target=host
pattern=bf16
sizes="1MiB 16MiB 128MiB 512MiB 1GiB"
iterations=10
warmup=2
machine=""
out_dir="$root/bench-results"
vs="${VRAMSNAP:-}"
py="${PYTHON:-python3}"
extra=()

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options: --target host|cuda[:N]  --pattern P  --sizes "S1 S2 .."  --iterations N  --warmup N
         --machine NAME  --out-dir DIR  --vramsnap PATH  --cold  --threads N  --codec C
Environment: PYTHON (default python3) runs the collection and plot steps.
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --pattern) pattern=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --vramsnap) vs=$2; shift 2 ;;
    --cold) extra+=(--cold); shift ;;
    --threads) extra+=(--threads "$2"); shift 2 ;;
    --codec) extra+=(--codec "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-sweep: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "$vs" ]]; then
  for cand in "$root/build-bench/tools/vramsnap" "$root/build/tools/vramsnap"; do
    [[ -x "$cand" ]] && { vs=$cand; break; }
  done
fi
[[ -n "$vs" && -x "$vs" ]] || { echo "bench-sweep: no vramsnap binary; build one (cmake --build build --target vramsnap_cli) or pass --vramsnap" >&2; exit 2; }

if [[ -z "$machine" ]]; then
  if [[ "$target" == host ]]; then
    machine="cpu-$(nproc)core"
  else
    gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)
    machine=$(echo "${gpu:-cuda}" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9.-')
  fi
fi
date_tag=$(date -u +%Y-%m-%d)
mkdir -p "$out_dir"
out="$out_dir/$machine-$date_tag.json"
work=$(mktemp -d "${TMPDIR:-/tmp}/vramsnap-sweep.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "bench-sweep: $vs, target $target, pattern $pattern, sizes: $sizes" >&2
echo "bench-sweep: load before: $(uptime)" >&2
files=()
for s in $sizes; do
  f="$work/$s.json"
  echo "bench-sweep: $s ..." >&2
  "$vs" bench --synthetic "$s" --pattern "$pattern" --target "$target" --iterations "$iterations" \
    --warmup "$warmup" --machine "$machine" --workdir "$work" --json "$f" --quiet ${extra[@]+"${extra[@]}"} >&2
  files+=("$f")
done
load_after=$(uptime)
echo "bench-sweep: load after: $load_after" >&2

"$py" - "$out" "$machine" "$target" "$load_after" "$cmdline" "${files[@]}" <<'EOF'
import json, sys, datetime
out, machine, target, load_after, cmdline, *files = sys.argv[1:]
results = [json.load(open(f)) for f in files]
doc = {
    "schema": "vramsnap-bench-sweep/1",
    "machine": machine,
    "target": target,
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "command": cmdline.strip(),
    "uptime_after": load_after.strip(),
    "results": results,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
# The plot needs matplotlib, which a GPU host's Python may lack: the JSON and
# the table below do not.
if "$py" "$root/scripts/plot-bench.py" "$out" -o "${out%.json}.png" >/dev/null; then
  echo "bench-sweep: wrote $out and ${out%.json}.png" >&2
else
  echo "bench-sweep: wrote $out (no plot: scripts/plot-bench.py failed, see above)" >&2
fi

# One line per size: total P50/P99 and throughput, with the same-run ratios.
"$py" - "$out" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
print(f"{'size':>10} {'P50 ms':>9} {'P99 ms':>9} {'GB/s':>7} {'vs read':>8} {'vs zstd1t':>9} {'vs naive':>9}")
for r in doc["results"]:
    ph, ra = r["phases"]["total"], r["ratios"]
    fmt = lambda x: f"{x:.2f}x" if x is not None else "-"
    print(f"{r['snapshot']['raw_bytes'] / 2**20:>7.0f}MiB {ph['p50'] * 1e3:>9.2f} {ph['p99'] * 1e3:>9.2f} "
          f"{r['throughput']['raw_gb_per_s_p50']:>7.3f} {fmt(ra['restore_vs_plain_read']):>8} "
          f"{fmt(ra['restore_vs_zstd_decode_1t']):>9} {fmt(ra['restore_vs_naive_pipeline']):>9}")
EOF
