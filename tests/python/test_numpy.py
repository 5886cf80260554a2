"""vramsnap.numpy and the package's common parts: round trips of every dtype
the format and numpy share, ownership of restored memory, errors mapped to
their classes, open/verify, and the streaming handover."""

import gc
import os
import shutil
import subprocess
import tracemalloc
import unittest
import weakref

import numpy as np

import vramsnap
import vramsnap.numpy as vnp
from support import TempDirCase, flip_byte, tamper_region

DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.float16, np.uint32, np.int32, np.float32,
          np.uint64, np.int64, np.float64, np.complex64, np.complex128]


def sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def buffer_owner(a):
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return a.base


class RoundTrip(TempDirCase):
    def test_every_dtype_and_shape_sealed(self):
        arrays = {}
        for i, dt in enumerate(DTYPES):
            name = np.dtype(dt).name
            arrays[f"{name}/matrix"] = sample(dt, (33, 17), i)
            arrays[f"{name}/scalar"] = sample(dt, (), 100 + i)
            arrays[f"{name}/empty"] = np.zeros((0, 4), dtype=dt)
        arrays["big/f32"] = sample(np.float32, (300, 1000), 7)  # several 64 KiB chunks... and more
        key = self.key_file()
        path = self.path("a.snap")
        snap_id = vnp.save_file(arrays, path, metadata={"format": "np"}, key_file=key, labels={"model": "t"},
                                chunk_size=64 * 1024)
        self.assertEqual(len(snap_id), 32)
        out = vnp.load_file(path, key_file=key)
        self.assertEqual(list(out), list(arrays))
        for name, a in arrays.items():
            with self.subTest(name=name):
                b = out[name]
                self.assertEqual(b.dtype, a.dtype)
                self.assertEqual(b.shape, a.shape)
                np.testing.assert_array_equal(b, a)
        with vramsnap.open(path) as snap:
            self.assertTrue(snap.sealed)
            self.assertEqual(snap.seal_algorithm, "hmac-sha256")
            self.assertEqual(snap.labels, {"format": "np", "model": "t"})
            self.assertEqual(snap.id, snap_id)
            r = snap.region("float32/matrix")
            self.assertEqual((r.dtype, r.shape, r.size, r.kind), ("f32", (33, 17), 33 * 17 * 4, "host"))
            self.assertEqual(snap.region("int8/scalar").labels, {"rank": "0"})
        self.assertTrue(vramsnap.verify(path, key_file=key))

    @unittest.skipUnless(shutil.which("openssl"), "no openssl command to make an Ed25519 key")
    def test_ed25519_signed_checked_with_the_public_key(self):
        priv, pub = self.path("ed.pem"), self.path("ed.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", priv], check=True)
        os.chmod(priv, 0o600)
        subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True)
        path = self.path("signed.snap")
        vnp.save_file({"a": np.arange(1000, dtype=np.int16)}, path, key_file=priv)
        with vramsnap.open(path) as snap:
            self.assertEqual(snap.seal_algorithm, "ed25519")
        np.testing.assert_array_equal(vnp.load_file(path, public_key_files=[pub])["a"], np.arange(1000))
        self.assertTrue(vramsnap.verify(path, public_key_files=pub))
        with self.assertRaises(vramsnap.IntegrityError):
            vnp.load_file(path, key_file=self.key_file())  # an HMAC key cannot check a signature

    def test_unsealed_needs_allow_unsealed(self):
        path = self.path("u.snap")
        vnp.save_file({"x": np.arange(10, dtype=np.int64)}, path)
        with self.assertRaises(vramsnap.IntegrityError) as cm:
            vnp.load_file(path)
        self.assertEqual(cm.exception.exit_code, 1)
        np.testing.assert_array_equal(vnp.load_file(path, allow_unsealed=True)["x"], np.arange(10))

    def test_refuses_what_it_cannot_store_without_a_copy(self):
        with self.assertRaises(ValueError):
            vnp.save_file({"t": np.zeros((4, 4), np.float32).T}, self.path("t.snap"))
        with self.assertRaises(TypeError):
            vnp.save_file({"o": np.array(["a"], dtype=object)}, self.path("o.snap"))
        with self.assertRaisesRegex(TypeError, "big-endian"):
            vnp.save_file({"b": np.arange(4, dtype=">f4")}, self.path("b.snap"))
        self.assertFalse(os.path.exists(self.path("t.snap")))
        self.assertFalse(os.path.exists(self.path("b.snap")))
        # Fortran order is refused like any other non-C layout; a 1-D one is both.
        with self.assertRaises(ValueError):
            vnp.save_file({"f": np.asfortranarray(np.zeros((3, 5), np.float32))}, self.path("f.snap"))
        vnp.save_file({"f": np.asfortranarray(np.arange(5, dtype=np.int32))}, self.path("f.snap"))
        np.testing.assert_array_equal(vnp.load_file(self.path("f.snap"), allow_unsealed=True)["f"], np.arange(5))


class Ownership(TempDirCase):
    def test_arrays_own_their_buffers(self):
        path = self.path("o.snap")
        vnp.save_file({"a": np.arange(50000, dtype=np.float32), "b": np.ones(7000, np.int16),
                       "e": np.zeros(0, np.uint8)}, path)
        gc.collect()
        base = vramsnap.live_buffers()
        out = vnp.load_file(path, allow_unsealed=True)
        self.assertEqual(vramsnap.live_buffers(), base + 2)  # the empty region has no buffer
        owner = buffer_owner(out["a"])
        self.assertIsNotNone(owner)
        gone = []
        weakref.finalize(owner, gone.append, True)
        a = out["a"][10:20]  # a view keeps the whole buffer alive
        del out, owner
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base + 1)
        self.assertEqual(gone, [])
        np.testing.assert_array_equal(a, np.arange(10, 20, dtype=np.float32))
        del a
        gc.collect()
        self.assertEqual(gone, [True])
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_every_buffer_freed_once_when_making_the_arrays_fails(self):
        from vramsnap import _memory
        path = self.path("f.snap")
        vnp.save_file({f"r{i}": np.full(3000, i, np.int32) for i in range(3)}, path)
        freed = []
        real_free, real_array = _memory.HostBuffer._free, _memory.HostBuffer.array
        calls = [0]

        def array(buf):
            calls[0] += 1
            if calls[0] == 2:
                raise MemoryError("injected")
            return real_array(buf)

        _memory.HostBuffer._free = staticmethod(lambda p: (freed.append(p), real_free(p)))
        _memory.HostBuffer.array = array
        try:
            with self.assertRaises(MemoryError):
                vnp.load_file(path, allow_unsealed=True)
            gc.collect()
        finally:
            _memory.HostBuffer._free, _memory.HostBuffer.array = real_free, real_array
        self.assertEqual(len(freed), 3)
        self.assertEqual(len(set(freed)), 3)

    def test_interrupt_as_the_restore_returns_frees_it(self):
        from vramsnap import _memory, _restore
        path = self.path("k.snap")
        vnp.save_file({"a": np.arange(5000, dtype=np.int64)}, path)
        freed = []
        real_free, real_check = _memory.RestoredHandle._free, _restore.check

        def check(status):  # Ctrl-C lands just as vramsnap_restore returns
            if status == 0 and not freed:
                raise KeyboardInterrupt
            real_check(status)

        _memory.RestoredHandle._free = staticmethod(lambda h: (freed.append(h.value), real_free(h)))
        _restore.check = check
        try:
            with self.assertRaises(KeyboardInterrupt):
                vnp.load_file(path, allow_unsealed=True)
            gc.collect()
        finally:
            _memory.RestoredHandle._free, _restore.check = real_free, real_check
        self.assertEqual(len(freed), 1)
        self.assertTrue(freed[0])

    def test_no_copy_in_python(self):
        # numpy reports its allocations to tracemalloc: a staging copy of the
        # 32 MiB array on save, or of the restored bytes on load, would show.
        big = np.random.default_rng(1).standard_normal(4 << 20).astype(np.float64)
        path = self.path("n.snap")
        tracemalloc.start()
        try:
            vnp.save_file({"big": big}, path)
            _, peak_save = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            out = vnp.load_file(path, allow_unsealed=True)
            _, peak_load = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak_save, 1 << 20)
        self.assertLess(peak_load, 1 << 20)
        np.testing.assert_array_equal(out["big"], big)

    def test_snapshot_closed_arrays_stay(self):
        path = self.path("c.snap")
        vnp.save_file({"a": np.arange(1000, dtype=np.int32)}, path)
        snap = vramsnap.open(path)
        out = vnp.load_file(snap, allow_unsealed=True)
        snap.close()
        del snap
        gc.collect()
        np.testing.assert_array_equal(out["a"], np.arange(1000))


class Errors(TempDirCase):
    def setUp(self):
        super().setUp()
        self.key = self.key_file()
        self.snap = self.path("e.snap")
        vnp.save_file({"a": np.arange(100000, dtype=np.float64), "b": np.arange(100, dtype=np.int8)}, self.snap,
                      key_file=self.key)

    def check(self, cls, code, fn, *args, **kw):
        with self.assertRaises(cls) as cm:
            fn(*args, **kw)
        self.assertIsInstance(cm.exception, vramsnap.Error)
        self.assertEqual(cm.exception.exit_code, code)
        self.assertTrue(str(cm.exception))
        return cm.exception

    def test_tampered_chunk_is_integrity(self):
        tamper_region(self.snap, 0)
        gc.collect()
        base = vramsnap.live_buffers()
        e = self.check(vramsnap.IntegrityError, 1, vnp.load_file, self.snap, key_file=self.key)
        self.assertIn("chunk", str(e))
        self.check(vramsnap.IntegrityError, 1, vramsnap.verify, self.snap, key_file=self.key)
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_wrong_or_missing_key_is_integrity(self):
        e = self.check(vramsnap.IntegrityError, 1, vnp.load_file, self.snap, key_file=self.key_file("other.key"))
        self.assertIn("key", str(e))
        e = self.check(vramsnap.UsageError, 2, vnp.load_file, self.snap)
        self.assertIn("key is needed", str(e))

    def test_structure_io_usage(self):
        os.chmod(self.key, 0o644)  # a key file others can read is refused
        e = self.check(vramsnap.UsageError, 2, vnp.load_file, self.snap, key_file=self.key)
        self.assertIn("chmod 600", str(e))
        os.chmod(self.key, 0o600)
        garbage = self.path("g.snap")
        with open(garbage, "wb") as f:
            f.write(b"not a snapshot" * 100)
        self.check(vramsnap.FormatError, 3, vramsnap.open, garbage)
        flip_byte(self.snap, os.path.getsize(self.snap) - 1)  # the trailer's magic
        self.check(vramsnap.FormatError, 3, vnp.load_file, self.snap, key_file=self.key)
        e = self.check(vramsnap.IoError, 4, vramsnap.open, self.path("missing.snap"))
        self.assertIsInstance(e, OSError)
        self.check(vramsnap.IoError, 4, vnp.load_file, self.path("x.snap"), key_file=self.path("missing.key"))

    def test_a_library_that_is_not_libvramsnap_is_refused_at_import(self):
        import sys
        env = dict(os.environ, VRAMSNAP_LIBRARY="libz.so.1")
        r = subprocess.run([sys.executable, "-c", "import vramsnap"], env=env, capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("lacks vramsnap_", r.stderr)

    def test_nul_in_a_name_is_refused_not_cut_short(self):
        for args in (({"a\0b": np.ones(3)}, self.path("n.snap")), ({"a": np.ones(3)}, self.path("n\0.snap"))):
            with self.assertRaisesRegex(ValueError, "NUL"):
                vnp.save_file(*args)
        with self.assertRaisesRegex(ValueError, "NUL"):
            vnp.save_file({"a": np.ones(3)}, self.path("n.snap"), metadata={"k\0": "v"})
        self.assertFalse(os.path.exists(self.path("n.snap")))
        vnp.save_file({"a": np.ones(3)}, self.path("n.snap"))
        with self.assertRaisesRegex(ValueError, "NUL"):
            vnp.load_file(self.path("n.snap"), allow_unsealed=True, regions=["a\0x"])
        with self.assertRaisesRegex(ValueError, "NUL"):
            vramsnap.open(self.path("n.snap") + "\0.other")

    def test_usage(self):
        e = self.check(vramsnap.UsageError, 2, vnp.load_file, self.snap, key_file=self.key, regions=["nope"])
        self.assertIsInstance(e, ValueError)
        self.assertIn("nope", str(e))


class Stream(TempDirCase):
    def make(self, n=12, key=None):
        path = self.path("s.snap")
        arrays = {f"layer.{i}": np.full(20000 + 1000 * i, i, dtype=np.float32) for i in range(n)}
        vnp.save_file(arrays, path, key_file=key, chunk_size=64 * 1024)
        return path, arrays

    def test_order_and_each_once(self):
        key = self.key_file()
        path, arrays = self.make(key=key)
        order = ["layer.7", 3, "layer.0"]
        got = list(vramsnap.restore_stream(path, key_file=key, order=order, threads=2))
        names = [n for n, _ in got]
        self.assertEqual(names, ["layer.7", "layer.3", "layer.0"] +
                         [f"layer.{i}" for i in range(12) if i not in (7, 3, 0)])
        for n, a in got:
            np.testing.assert_array_equal(a, arrays[n])

    def test_stop_early_frees_the_rest(self):
        path, _ = self.make()
        gc.collect()
        base = vramsnap.live_buffers()
        it = vramsnap.restore_stream(path, allow_unsealed=True, threads=2)
        name, first = next(it)
        self.assertEqual(name, "layer.0")
        it.close()
        del it
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base + 1)
        np.testing.assert_array_equal(first, np.zeros(20000, np.float32))
        del first
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_dropped_without_close_stops_and_joins(self):
        import threading
        path, arrays = self.make()
        gc.collect()
        base = vramsnap.live_buffers()
        it = vramsnap.restore_stream(path, allow_unsealed=True, threads=2)
        name, first = next(it)
        del it  # no close(): the generator's finaliser cancels the restore and joins its thread
        gc.collect()
        self.assertEqual([t for t in threading.enumerate() if t.name == "vramsnap-stream"], [])
        self.assertEqual(vramsnap.live_buffers(), base + 1)
        np.testing.assert_array_equal(first, arrays[name])
        del first
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_failure_after_deliveries(self):
        key = self.key_file()
        path, arrays = self.make(key=key)
        tamper_region(path, 11)
        got = []
        with self.assertRaises(vramsnap.IntegrityError):
            for n, a in vramsnap.restore_stream(path, key_file=key, threads=1):
                got.append(n)
                np.testing.assert_array_equal(a, arrays[n])
        self.assertNotIn("layer.11", got)
        self.assertEqual(got, [f"layer.{i}" for i in range(len(got))])

    def test_closing_the_snapshot_cancels_its_stream(self):
        path = self.path("c.snap")
        arrays = {f"r{i}": np.arange(i, i + 65536, dtype=np.float32) for i in range(48)}
        vnp.save_file(arrays, path, codec="raw")
        gc.collect()
        base = vramsnap.live_buffers()
        with vramsnap.open(path) as snap:
            it = vramsnap.restore_stream(snap, allow_unsealed=True, threads=1)
            name, first = next(it)
        # The snapshot's handle is gone; the restore that read it had stopped first.
        got = [name]
        try:
            got += [n for n, _ in it]
        except vramsnap.Interrupted:
            pass
        else:
            self.assertEqual(len(got), 48)  # it had finished before close
        self.assertEqual(got, [f"r{i}" for i in range(len(got))])
        np.testing.assert_array_equal(first, arrays["r0"])
        with self.assertRaises(ValueError):
            snap.handle
        del it, first
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_interpreter_exits_cleanly_during_a_stream(self):
        import sys
        path = self.path("x.snap")
        vnp.save_file({f"r{i}": np.arange(i, i + (1 << 18), dtype=np.float32) for i in range(32)}, path,
                      codec="raw")
        code = ("import sys, vramsnap\n"
                "it = vramsnap.restore_stream(sys.argv[1], allow_unsealed=True, threads=1)\n"
                "print(next(it)[0])\n")
        # Left with the restore still running: it is cancelled, not crashed or hung.
        r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "r0\n", ""))

    def test_seal_first(self):
        path, _ = self.make(key=self.key_file())
        with self.assertRaises(vramsnap.IntegrityError):
            next(vramsnap.restore_stream(path, key_file=self.key_file("wrong.key")))
