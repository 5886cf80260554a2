#!/usr/bin/python3
"""Plot `vramsnap bench --json` results: per-phase latency against snapshot size.

Takes one or more JSON files, each a single bench result or a sweep
({"results": [...]}, as written by scripts/bench-sweep.sh), and writes a PNG
with two log-log panels:
  left:  P50 of every phase, with error bars up to P99;
  right: total P50 and P99 against the seed design's estimate (TensorWasm,
         docs/performance.md), plus the restore throughput.

  scripts/plot-bench.py bench-results/cpu-2core-2026-01-01.json -o out.png
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MiB = 1024 * 1024
# The seed's estimated restore latency (P50, P99) in ms by snapshot size.
SEED = {1 * MiB: (5, 14), 16 * MiB: (22, 55), 128 * MiB: (65, 180), 512 * MiB: (150, 420)}
PHASES = ["open", "seal_check", "context_init", "allocate", "read", "hash", "decode", "copy", "module_load", "total"]
THREAD_SECONDS = {"read", "hash", "decode", "copy"}


def load_results(paths):
    out = []
    for p in paths:
        with open(p) as f:
            doc = json.load(f)
        items = doc["results"] if isinstance(doc, dict) and "results" in doc else [doc]
        for r in items:
            if "phases" not in r or "snapshot" not in r:
                sys.exit(f"plot-bench: {p}: not a vramsnap bench result (no phases/snapshot)")
            out.append(r)
    return out


def size_label(b):
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", MiB), ("KiB", 1024)):
        if b >= scale:
            v = b / scale
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{b} B"


def series_key(r):
    return (r.get("machine", {}).get("name", "?"), r.get("target", "?"), r.get("input", {}).get("pattern", "file"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="bench JSON files (single results or sweeps)")
    ap.add_argument("-o", "--output", help="PNG to write (default: first input with .png)")
    ap.add_argument("--title", help="plot title")
    args = ap.parse_args()
    results = load_results(args.json)
    out = args.output or os.path.splitext(args.json[0])[0] + ".png"

    groups = {}
    for r in results:
        groups.setdefault(series_key(r), []).append(r)
    for g in groups.values():
        g.sort(key=lambda r: r["snapshot"]["raw_bytes"])

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(15, 6.5))
    cmap = plt.get_cmap("tab10")
    markers = "osD^v<>"
    for gi, (key, rs) in enumerate(sorted(groups.items())):
        sizes = [r["snapshot"]["raw_bytes"] / MiB for r in rs]
        prefix = "" if len(groups) == 1 else f"{key[0]} {key[1]} {key[2]}: "
        for pi, ph in enumerate(PHASES):
            p50 = [r["phases"][ph]["p50"] * 1e3 for r in rs]
            p99 = [r["phases"][ph]["p99"] * 1e3 for r in rs]
            if max(p50) <= 0:
                continue  # phases a target does not have (context init on host)
            pts = [(s, a, b) for s, a, b in zip(sizes, p50, p99) if a > 0]
            xs, ys, top = zip(*pts)
            label = prefix + ph + (" (thread-s)" if ph in THREAD_SECONDS else "")
            ax.errorbar(xs, ys, yerr=[[0] * len(ys), [max(0.0, t - y) for t, y in zip(top, ys)]],
                        marker=markers[gi % len(markers)], ms=4, capsize=3, color=cmap(pi % 10),
                        lw=2.4 if ph == "total" else 1.2, label=label)
        tot50 = [r["phases"]["total"]["p50"] * 1e3 for r in rs]
        tot99 = [r["phases"]["total"]["p99"] * 1e3 for r in rs]
        ax2.plot(sizes, tot50, "o-", color=cmap(gi % 10), lw=2, label=prefix + "vramsnap total P50")
        ax2.plot(sizes, tot99, "s--", color=cmap(gi % 10), lw=1.2, label=prefix + "vramsnap total P99")
        for s, r, y in zip(sizes, rs, tot50):
            ax2.annotate(f"{r['throughput']['raw_gb_per_s_p50']:.2f} GB/s", (s, y), textcoords="offset points",
                         xytext=(4, -12), fontsize=7, color=cmap(gi % 10))

    seed_x = [s / MiB for s in sorted(SEED)]
    for a in (ax, ax2):
        a.plot(seed_x, [SEED[s][0] for s in sorted(SEED)], "k:", lw=2, label="seed estimate P50")
        a.plot(seed_x, [SEED[s][1] for s in sorted(SEED)], color="0.5", ls=":", lw=2, label="seed estimate P99")
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xlabel("snapshot size (raw MiB)")
        a.set_ylabel("latency (ms)")
        a.grid(True, which="both", alpha=0.3)
        xt = sorted({r["snapshot"]["raw_bytes"] for r in results} | set(SEED))
        a.set_xticks([x / MiB for x in xt])
        a.set_xticklabels([size_label(x) for x in xt], rotation=30, fontsize=8)
    ax.set_title("per-phase P50 (bars up to P99); read/hash/decode are thread-seconds")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax2.set_title("whole restore (open + restore) vs the seed design's estimate")
    ax2.legend(fontsize=8, loc="upper left")

    r0 = results[0]
    m = r0.get("machine", {})
    la = [r.get("machine", {}).get("loadavg_1m_at_start", -1) for r in results]
    la = [x for x in la if x is not None and x >= 0]
    loads = f"{min(la):.1f}-{max(la):.1f}" if la else "?"
    title = args.title or (f"vramsnap bench - {m.get('name', '?')} ({m.get('cpu_model', '?')}, {m.get('cores', '?')} cores"
                           f"{', ' + m['gpu'] if m.get('gpu') else ''}) - target {r0.get('target', '?')}, "
                           f"up to {max(r.get('threads', 0) for r in results)} threads, {r0.get('iterations', '?')} runs, "
                           f"{'cold' if r0.get('cold') else 'warm'} cache, load avg {loads} - {r0.get('date', '')[:10]}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
