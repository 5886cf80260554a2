#!/usr/bin/env python3
"""Collects one scripts/gpu-check.sh run into bench-results/.

Reads the bench sweeps it made (<tag>-raw-<date>.json, <tag>-compressed-<date>.json
and their PNGs, g6-<i>.json from a multi-GPU run, devmap.json from the
one-process --device-map restore onto every GPU) and writes
  <tag>-<date>.json          both sweeps, the G6 runs and the environment;
  <tag>-<date>-summary.txt   one line per target, then the goals of
                             performance.md that one bench run can judge;
  <tag>-<date>-raw.png, <tag>-<date>-compressed.png (when plotted).
Uses only the standard library (the GPU host's Python may have nothing else).
"""
import argparse
import glob
import json
import os
import shutil
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def by_size(sweep):
    return {r["snapshot"]["raw_bytes"]: r for r in sweep.get("results", [])}


def line(target, label, sweep):
    rs = by_size(sweep)
    if not rs:
        return f"{target} {label}: no results"
    big = rs[max(rs)]
    h2d = (big.get("references") or {}).get("pinned_h2d") or {}
    ratio = (big.get("ratios") or {}).get("restore_vs_pinned_h2d")
    return (f"{target} {label}: {big['snapshot']['raw_bytes'] / 2**20:.0f} MiB P50 "
            f"{big['phases']['total']['p50'] * 1e3:.1f} ms, {big['throughput']['raw_gb_per_s_p50']:.2f} GB/s; "
            f"pinned H2D {h2d.get('gb_per_s', 0):.2f} GB/s; ratio {'-' if ratio is None else f'{ratio:.2f}x'}; "
            f"stored/raw {big['snapshot'].get('stored_bytes', 0) / max(big['snapshot']['raw_bytes'], 1):.2f}")


def verification(label, sweep):
    """Device-verified against host-verified restore of the largest size, with host CPU s/GB."""
    rs = by_size(sweep)
    if not rs:
        return f"verify-on ({label}): no results"
    big = rs[max(rs)]
    v = big.get("verification") or {}
    if "restore" not in v:
        return f"verify-on ({label}): not measured"
    d, h = v["restore"], v.get("host_verified") or {}
    on_gpu = d["device_verified_bytes"] / max(big["snapshot"]["raw_bytes"], 1)
    ratio = d.get("vs_pinned_h2d")
    return (f"verify-on {d['where']} ({label}, {big['snapshot']['raw_bytes'] / 2**20:.0f} MiB): "
            f"{d['gb_per_s']:.2f} GB/s, {on_gpu:.0%} hashed on the GPU, host CPU {d['cpu_seconds_per_gb']:.3f} s/GB; "
            f"host-verified {h.get('gb_per_s', 0):.2f} GB/s, {h.get('cpu_seconds_per_gb', 0):.3f} s/GB; "
            f"pinned H2D ratio {'-' if ratio is None else f'{ratio:.2f}x'}")


def goals(raw, comp, g6):
    out = []
    rr, cr = by_size(raw), by_size(comp)
    if rr:
        r = rr[max(rr)]["ratios"].get("restore_vs_pinned_h2d")
        out.append(f"G1 raw vs pinned H2D (>= 0.90x): {'-' if r is None else f'{r:.2f}x'}"
                   f" {'PASS' if r is not None and r >= 0.9 else 'not met'} (--verify-on auto: leaf-hashed raw chunks hashed on the GPU)")
    if cr:
        r = cr[max(cr)]["ratios"].get("restore_vs_pinned_h2d")
        out.append(f"G2 compressed effective vs pinned H2D (>= 1.3x): {'-' if r is None else f'{r:.2f}x'}"
                   f" {'PASS' if r is not None and r >= 1.3 else 'not met'} (zstd/shuffle, CPU-decoded)")
    out.append("G3 safetensors naive load: not measured by bench --synthetic")
    mid = rr.get(512 * 2**20)
    if mid:
        p99 = mid["phases"]["total"]["p99"] * 1e3
        out.append(f"G4 512 MiB P99 (<= 40 ms): {p99:.1f} ms {'PASS' if p99 <= 40 else 'not met'}")
    if rr:
        ph = rr[max(rr)]["phases"]
        need = ["read", "hash", "decode", "copy", "allocate", "module_load", "context_init"]
        missing = [p for p in need if p not in ph]
        out.append(f"G5 per-phase report: {'PASS' if not missing else 'missing ' + ','.join(missing)}")
    if g6:
        agg = sum(r["throughput"]["raw_gb_per_s_p50"] for r in g6)
        one = rr[max(rr)]["throughput"]["raw_gb_per_s_p50"] if rr else 0
        scale = agg / one / len(g6) if one else 0
        out.append(f"G6 {len(g6)} GPUs at once, 1 GiB raw each: {agg:.2f} GB/s aggregate, {scale:.2f}x per GPU "
                   f"(>= 0.8x) {'PASS' if scale >= 0.8 else 'not met'} (separate processes)")
    else:
        out.append("G6 multi-GPU: one GPU here")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--sweeps", required=True)
    ap.add_argument("--environment")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    sweeps = {}
    for label in ("raw", "compressed"):
        # bench-sweep dates its file itself: a run across midnight differs.
        found = sorted(glob.glob(os.path.join(a.sweeps, f"{a.tag}-{label}-*.json")))
        path = found[-1] if found else ""
        sweeps[label] = load(path) if path else {}
        png = path[:-5] + ".png"
        if path and os.path.exists(png):
            shutil.copy(png, os.path.join(a.out_dir, f"{a.tag}-{a.date}-{label}.png"))
    g6 = [load(p) for p in sorted(glob.glob(os.path.join(a.sweeps, "g6-*.json")))]
    devmap_path = os.path.join(a.sweeps, "devmap.json")
    devmap = load(devmap_path) if os.path.exists(devmap_path) else None
    env = open(a.environment).read() if a.environment and os.path.exists(a.environment) else ""
    doc = {"schema": "vramsnap-gpu-check/1", "gpu": a.gpu, "date": a.date, "environment": env,
           "raw": sweeps["raw"], "compressed": sweeps["compressed"], "g6": g6, "device_map": devmap}
    base = os.path.join(a.out_dir, f"{a.tag}-{a.date}")
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    lines = [f"vramsnap gpu-check {a.date}: {a.gpu}",
             line("cuda:0", "raw", sweeps["raw"]), line("cuda:0", "compressed", sweeps["compressed"])]
    lines += [line(f"cuda:{i}", "raw (G6, concurrent)", {"results": [r]}) for i, r in enumerate(g6)]
    lines += [verification("raw", sweeps["raw"]), verification("compressed", sweeps["compressed"])]
    if devmap:
        lines.append(f"device map ({len(devmap.get('devices', []))} GPUs, one process, one read): "
                     f"{devmap['raw_bytes'] / 2**30:.2f} GiB in {devmap['seconds']:.3f} s, {devmap['gb_per_s']:.2f} GB/s; "
                     + ", ".join(f"GPU {d['device']} {d['bytes'] / 2**30:.2f} GiB" for d in devmap.get("devices", [])))
    lines += goals(sweeps["raw"], sweeps["compressed"], g6)
    with open(base + "-summary.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0 if sweeps["raw"] and sweeps["compressed"] else 1


if __name__ == "__main__":
    sys.exit(main())
