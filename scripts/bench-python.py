#!/usr/bin/python3
"""Benchmarks of the Python package, each a ratio within one run:

  P1      vramsnap.numpy.load_file of a sealed bf16-like snapshot against the
          same restore through the library alone (vramsnap_restore, called
          directly), both into fresh memory, alternated, median of N each.
  stream  time to the first region of a 100-region snapshot through
          vramsnap.restore_stream, against the time to the last and against
          a whole load_file of the same file.

    /usr/bin/python3 scripts/bench-python.py [--mib 1024] [--regions 100] [--runs 5] [--out FILE]

Needs the library: VRAMSNAP_LIBRARY=build/libsnap/libvramsnap.so.0 (and
PYTHONPATH=libsnap/python), or an installed package."""

import argparse
import ctypes
import datetime
import gc
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time

import numpy as np

import vramsnap
import vramsnap.numpy as vnp
from vramsnap import _keys
from vramsnap._lib import RestoreOptions, check, lib


def bf16_like(n, seed):
    """n bf16 values (as uint16 bits) from N(0, 0.02), like real weights."""
    f = (np.random.default_rng(seed).standard_normal(n, dtype=np.float32) * 0.02)
    return (f.view(np.uint32) >> 16).astype(np.uint16)


def key_file(d):
    p = os.path.join(d, "bench.key")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_bytes(32))
    os.close(fd)
    return p


def library_restore(path, key):
    """The reference: one vramsnap_restore, buffers freed afterwards; seconds."""
    snap = vramsnap.open(path)
    k = _keys.secret(key)
    opts = RestoreOptions()
    lib.vramsnap_restore_options_init(ctypes.byref(opts))
    opts.check.key = k.handle
    h = ctypes.c_void_p()
    t0 = time.perf_counter()
    check(lib.vramsnap_restore(snap.handle, ctypes.byref(opts), ctypes.byref(h)))
    dt = time.perf_counter() - t0
    lib.vramsnap_restored_free(h)
    snap.close()
    return dt


class TimedLib:
    """Stands in for the package's handle on the library and times the
    vramsnap_restore inside a load_file, so the package's own cost (total
    minus that call) is measured within the same call, free of the noise
    between runs on a shared machine."""

    def __init__(self, real):
        self.real, self.restore_s = real, 0.0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def vramsnap_restore(self, *args):
        t0 = time.perf_counter()
        st = self.real.vramsnap_restore(*args)
        self.restore_s += time.perf_counter() - t0
        return st


def python_load(path, key, timed=None):
    """Seconds of one load_file; with `timed`, also the seconds spent in the library's restore."""
    import vramsnap._restore as r
    proxy = TimedLib(r.lib)
    r.lib = proxy
    try:
        t0 = time.perf_counter()
        out = vnp.load_file(path, key_file=key)
        dt = time.perf_counter() - t0
    finally:
        r.lib = proxy.real
    if timed is not None:
        timed.append(proxy.restore_s)
    del out
    gc.collect()
    return dt


def stream_times(path, key):
    t0 = time.perf_counter()
    first = None
    n = 0
    for _name, _a in vramsnap.restore_stream(path, key_file=key):
        if first is None:
            first = time.perf_counter() - t0
        n += 1
    return first, time.perf_counter() - t0, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024, help="snapshot size for P1 (MiB)")
    ap.add_argument("--regions", type=int, default=100, help="regions of the streaming snapshot")
    ap.add_argument("--stream-mib", type=int, default=400, help="size of the streaming snapshot (MiB)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", help="also write the report to this file")
    ap.add_argument("--tmp", default=None, help="directory for the snapshots (default: $TMPDIR)")
    a = ap.parse_args()

    lines = [f"# {' '.join(['/usr/bin/python3'] + sys.argv)}",
             f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ} {platform.node()} "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; vramsnap {vramsnap.version()}; "
             f"numpy {np.__version__}"]

    def say(s):
        print(s, flush=True)
        lines.append(s)

    for line in lines:
        print(line)
    with tempfile.TemporaryDirectory(dir=a.tmp) as d:
        key = key_file(d)
        # P1: 1 GiB in 16 tensors.
        path = os.path.join(d, "p1.snap")
        per = a.mib * (1 << 20) // 16 // 2
        vnp.save_file({f"w.{i}": bf16_like(per, i) for i in range(16)}, path, key_file=key)
        size = os.path.getsize(path)
        ref, py, inner = [], [], []
        for _ in range(a.runs):
            ref.append(library_restore(path, key))
            py.append(python_load(path, key, inner))
        r, p = statistics.median(ref), statistics.median(py)
        own = statistics.median([(t - c) / c for t, c in zip(py, inner)])
        say(f"P1 {a.mib} MiB raw ({size / 2**20:.0f} MiB stored), {a.runs} runs alternated, fresh memory each:")
        say(f"   library vramsnap_restore   median {r:.3f} s  (runs {' '.join(f'{x:.3f}' for x in ref)})")
        say(f"   vramsnap.numpy.load_file   median {p:.3f} s  (runs {' '.join(f'{x:.3f}' for x in py)})")
        say(f"   ratio of medians python/library {p / r:.3f}; ratio of minima {min(py) / min(ref):.3f}")
        say(f"   within each load_file, time outside the library's restore: median {own * 100:.2f}% of it "
            f"(total/library {1 + own:.4f})  target <= 1.05  {'PASS' if own <= 0.05 else 'FAIL'}")
        os.unlink(path)

        # Streaming: regions of equal size in file order.
        path = os.path.join(d, "stream.snap")
        per = a.stream_mib * (1 << 20) // a.regions // 2
        vnp.save_file({f"layer.{i}": bf16_like(per, 1000 + i) for i in range(a.regions)}, path, key_file=key)
        firsts, lasts, whole = [], [], []
        for _ in range(a.runs):
            f, l, n = stream_times(path, key)
            assert n == a.regions
            firsts.append(f)
            lasts.append(l)
            gc.collect()
            whole.append(python_load(path, key))
        f, l, w = statistics.median(firsts), statistics.median(lasts), statistics.median(whole)
        say(f"stream {a.regions} regions, {a.stream_mib} MiB raw, {a.runs} runs:")
        say(f"   first region {f:.4f} s, last region {l:.3f} s, whole load_file {w:.3f} s (medians)")
        say(f"   first/last {f / l:.3f}  first/whole {f / w:.3f}  target <= 0.1  "
            f"{'PASS' if f / w <= 0.1 else 'FAIL'}")
    if a.out:
        with open(a.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
