"""vramsnap.torch on a GPU: load_file(device="cuda:0") places device regions
with the library and builds tensors on that memory (no host copy), and
CUDA tensors are captured from their device pointers. Skipped without a
CUDA build of torch and a usable GPU."""

import gc
import unittest

import torch

import vramsnap
import vramsnap.torch as vt
from support import TempDirCase


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA build of torch, or no usable GPU")
class Cuda(TempDirCase):
    def test_round_trip_on_device(self):
        torch.manual_seed(0)
        src = {"w": torch.randn(1024, 512, device="cuda").bfloat16(), "b": torch.randn(512, device="cuda"),
               "i": torch.arange(1000, device="cuda", dtype=torch.int64), "s": torch.tensor(3.5, device="cuda")}
        path = self.path("g.snap")
        vt.save_file(src, path)  # from device pointers
        out = vt.load_file(path, device="cuda:0", allow_unsealed=True)
        for n, t in src.items():
            self.assertTrue(out[n].is_cuda, n)
            self.assertEqual(out[n].dtype, t.dtype)
            self.assertEqual(out[n].shape, t.shape)
            self.assertTrue(torch.equal(out[n], t), n)
        w = out["w"]
        del out
        gc.collect()
        self.assertEqual(float(w.float().sum()), float(src["w"].float().sum()))
        cpu = vt.load_file(path, allow_unsealed=True)
        self.assertTrue(torch.equal(cpu["w"].cuda(), src["w"]))
