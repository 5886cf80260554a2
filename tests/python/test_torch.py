"""vramsnap.torch: a state_dict round trip over every plain dtype torch has
(bf16 and f16 included), scalars and empty tensors, zero-copy tensors that
own their buffers, load_state_dict into a module, and streaming."""

import gc
import os
import unittest

import torch

import vramsnap
import vramsnap.torch as vt
from support import TempDirCase, tamper_region

PLAIN = [d for d in (getattr(torch, n, None) for n in (
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64", "complex32",
    "complex64", "complex128", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2")) if d is not None]


def sample(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_complex:
        parts = torch.randn(shape + (2,), generator=g)
        return torch.view_as_complex(parts).to(dtype) if dtype != torch.complex32 else \
            torch.randn(shape + (2,), generator=g).half().view(torch.complex32).reshape(shape)
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=g) * 0.02).to(dtype)
    return torch.randint(0, 100, shape, generator=g).to(dtype)


def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    # Bitwise, so NaN payloads and types without comparison kernels count too.
    return torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


class StateDict(TempDirCase):
    def test_every_plain_dtype(self):
        tensors = {}
        for i, dt in enumerate(PLAIN):
            name = str(dt).replace("torch.", "")
            tensors[f"{name}.weight"] = sample(dt, (17, 9), i)
            tensors[f"{name}.scalar"] = sample(dt, (), 50 + i)
            tensors[f"{name}.empty"] = torch.zeros((0, 3), dtype=dt)
        key = self.key_file()
        path = self.path("sd.snap")
        vt.save_file(tensors, path, metadata={"format": "pt"}, key_file=key)
        out = vt.load_file(path, key_file=key)
        self.assertEqual(list(out), list(tensors))
        for name, t in tensors.items():
            with self.subTest(name=name):
                self.assertTrue(same(out[name], t), f"{name}: {out[name].dtype} {tuple(out[name].shape)}")
        with vramsnap.open(path) as snap:
            self.assertEqual(snap.region("bfloat16.weight").dtype, "bf16")
            self.assertEqual(snap.region("bfloat16.weight").kind, "device")
            self.assertEqual(snap.labels, {"format": "pt"})

    def test_module_round_trip(self):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.LayerNorm(32), torch.nn.Linear(32, 8))
        model = model.to(torch.bfloat16)
        path = self.path("m.snap")
        vt.save_file(model.state_dict(), path)
        fresh = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.LayerNorm(32),
                                    torch.nn.Linear(32, 8)).to(torch.bfloat16)
        fresh.load_state_dict(vt.load_file(path, allow_unsealed=True))
        x = torch.randn(4, 64).to(torch.bfloat16)
        self.assertTrue(torch.equal(model(x), fresh(x)))

    def test_zero_copy_and_ownership(self):
        path = self.path("z.snap")
        vt.save_file({"w": torch.randn(512, 256), "b": torch.randn(256).half()}, path)
        gc.collect()
        base = vramsnap.live_buffers()
        out = vt.load_file(path, allow_unsealed=True)
        self.assertEqual(vramsnap.live_buffers(), base + 2)
        # The library's buffers are page-aligned; torch's own allocations need not be.
        self.assertEqual(out["w"].data_ptr() % 4096, 0)
        self.assertEqual(out["b"].data_ptr() % 4096, 0)
        w = out["w"]
        del out
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base + 1)
        w.add_(1)  # writable, and still the library's buffer
        del w
        gc.collect()
        self.assertEqual(vramsnap.live_buffers(), base)

    def test_refusals(self):
        with self.assertRaises(ValueError):
            vt.save_file({"t": torch.zeros(4, 4).t()}, self.path("t.snap"))
        with self.assertRaises(TypeError):
            vt.save_file({"q": torch.quantize_per_tensor(torch.zeros(4), 0.1, 0, torch.quint8)}, self.path("q.snap"))
        with self.assertRaises(ValueError):
            vt.load_file(self.path("t.snap"), device="meta")
        # Lazy views whose memory holds other values than they show.
        with self.assertRaisesRegex(ValueError, "conjugate"):
            vt.save_file({"c": torch.tensor([1 + 2j, 3 - 4j]).conj()}, self.path("c.snap"))
        with self.assertRaisesRegex(ValueError, "negative"):
            vt.save_file({"n": torch._neg_view(torch.ones(3))}, self.path("c.snap"))
        self.assertFalse(os.path.exists(self.path("c.snap")))
        resolved = torch.tensor([1 + 2j, 3 - 4j]).conj().resolve_conj()
        vt.save_file({"c": resolved}, self.path("c.snap"))
        self.assertTrue(torch.equal(vt.load_file(self.path("c.snap"), allow_unsealed=True)["c"],
                                    torch.tensor([1 - 2j, 3 + 4j])))
        # No host or CUDA address behind it: refused before the library sees a pointer.
        with self.assertRaisesRegex(ValueError, "on device meta"):
            vt.save_file({"m": torch.empty(16, device="meta")}, self.path("m.snap"))
        self.assertFalse(os.path.exists(self.path("m.snap")))


class Stream(TempDirCase):
    def test_layers_in_order_then_failure(self):
        key = self.key_file()
        path = self.path("s.snap")
        layers = {f"model.layers.{i}.weight": sample(torch.bfloat16, (64, 300), i) for i in range(10)}
        vt.save_file(layers, path, key_file=key, chunk_size=64 * 1024)
        order = [f"model.layers.{i}.weight" for i in reversed(range(10))]
        got = list(vramsnap.restore_stream(path, key_file=key, order=order, framework="torch"))
        self.assertEqual([n for n, _ in got], order)
        for n, t in got:
            self.assertTrue(same(t, layers[n]))
        tamper_region(path, 0)
        seen = []
        with self.assertRaises(vramsnap.IntegrityError):
            for n, _ in vt.load_stream(path, key_file=key, order=order):
                seen.append(n)
        self.assertNotIn(order[-1], seen)


class NoGpu(TempDirCase):
    @unittest.skipIf(torch.cuda.is_available(), "a GPU is usable here")
    def test_cuda_without_a_gpu_is_compat(self):
        path = self.path("c.snap")
        vt.save_file({"w": torch.ones(10)}, path)
        gc.collect()
        base = vramsnap.live_buffers()
        with self.assertRaises(vramsnap.CompatError) as cm:
            vt.load_file(path, device="cuda:0", allow_unsealed=True)
        self.assertEqual(cm.exception.exit_code, 6)
        with self.assertRaises(vramsnap.CompatError):
            vt.load_file(path, device="cuda", allow_unsealed=True)
        self.assertEqual(vramsnap.live_buffers(), base)


class SafeOpen(TempDirCase):
    def test_keys_metadata_get_tensor(self):
        key = self.key_file()
        path = self.path("so.snap")
        # a.weight is above the packing threshold (64 KiB), so a and b keep chunks of their own.
        tensors = {"a.weight": sample(torch.bfloat16, (256, 256), 1), "b": sample(torch.int64, (5,), 2)}
        vt.save_file(tensors, path, metadata={"format": "pt"}, key_file=key)
        with vramsnap.safe_open(path, framework="pt", key_file=key) as f:
            self.assertEqual(f.keys(), ["a.weight", "b"])
            self.assertEqual(f.metadata(), {"format": "pt"})
            for name in f.keys():
                self.assertTrue(same(f.get_tensor(name), tensors[name]))
            with self.assertRaises(vramsnap.UsageError):
                f.get_tensor("missing")
        with vramsnap.safe_open(path, framework="np", key_file=key) as f:
            self.assertEqual(f.get_tensor("b").tolist(), tensors["b"].tolist())
        tamper_region(path, 1)
        with vramsnap.safe_open(path, key_file=key) as f:
            self.assertTrue(same(f.get_tensor("a.weight"), tensors["a.weight"]))  # only its own chunks are read
            with self.assertRaises(vramsnap.IntegrityError):
                f.get_tensor("b")
