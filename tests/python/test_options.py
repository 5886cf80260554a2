"""The package's options that mirror vramsnap(1)'s flags: remote sources
(auth_file, ca_file, registry_config, insecure, timeout, retries) against
the CLI tests' local HTTP server, and the CUDA restore's device_map and
verify_on, whose checks run without a GPU."""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

import vramsnap
import vramsnap.numpy as vnp
from support import TempDirCase

try:
    import torch
    import vramsnap.torch as vt
except ImportError:
    torch = None

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli", "fault_server.py")
ARRAYS = {"w": np.arange(300000, dtype=np.float32), "b": np.full((3, 5), 7, dtype=np.int16)}


class Remote(unittest.TestCase):
    """One server and one sealed snapshot for the class: /ok/ serves it,
    /auth/ only with the bearer token, /forbidden/ never."""

    @classmethod
    def setUpClass(cls):
        try:
            vramsnap.open("http://127.0.0.1:1/x.snap", retries=1)
        except vramsnap.UsageError as e:
            if "without remote sources" in str(e):
                raise unittest.SkipTest("this libvramsnap was built without remote sources")
        except vramsnap.IoError:
            pass
        base = os.environ.get("VRAMSNAP_TEST_TMPDIR")
        if base:
            os.makedirs(base, exist_ok=True)
        cls.tmp = tempfile.TemporaryDirectory(prefix="py-remote-", dir=base)
        d = cls.tmp.name
        cls.key = os.path.join(d, "k.key")
        fd = os.open(cls.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, secrets.token_bytes(32))
        os.close(fd)
        vnp.save_file(ARRAYS, os.path.join(d, "s.snap"), key_file=cls.key, chunk_size=64 * 1024)
        cls.secret = "tok-" + secrets.token_hex(12)
        cls.token = os.path.join(d, "token")
        fd = os.open(cls.token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (cls.secret + "\n").encode())
        os.close(fd)
        portfile = os.path.join(d, "port")
        cls.server = subprocess.Popen([sys.executable, SERVER, d, portfile, os.path.join(d, "log"), cls.secret],
                                      stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(portfile):
                break
            time.sleep(0.05)
        else:
            cls.tearDownClass()
            raise RuntimeError("the test server did not start")
        with open(portfile, encoding="utf-8") as f:
            cls.url = f"http://127.0.0.1:{f.read().strip()}"

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait()
        cls.tmp.cleanup()

    def assert_same(self, got):
        self.assertEqual(list(got), list(ARRAYS))
        for name, a in ARRAYS.items():
            np.testing.assert_array_equal(got[name], a)

    def test_open_load_verify_and_stream_over_http(self):
        u = f"{self.url}/ok/s.snap"
        with vramsnap.open(u, timeout=10, retries=3) as snap:
            self.assertTrue(snap.sealed)
            self.assertEqual([r.name for r in snap.regions], list(ARRAYS))
            self.assert_same(vnp.load_file(snap, key_file=self.key))
        self.assert_same(vnp.load_file(u, key_file=self.key, retries=2))
        self.assertTrue(vramsnap.verify(u, key_file=self.key, timeout=10))
        self.assert_same(dict(vramsnap.restore_stream(u, key_file=self.key, retries=2)))

    def test_auth_file_sends_the_token_and_only_a_private_one(self):
        u = f"{self.url}/auth/s.snap"
        with self.assertRaises(vramsnap.IoError) as cm:
            vramsnap.open(u)
        self.assertIn("HTTP 401", str(cm.exception))
        self.assert_same(vnp.load_file(u, key_file=self.key, auth_file=self.token))
        self.assert_same(dict(vnp.load_stream(u, key_file=self.key, auth_file=self.token)))
        with vramsnap.safe_open(u, framework="np", key_file=self.key, auth_file=self.token) as f:
            np.testing.assert_array_equal(f.get_tensor("b"), ARRAYS["b"])
        os.chmod(self.token, 0o644)
        try:
            with self.assertRaises(vramsnap.UsageError) as cm:
                vramsnap.open(u, auth_file=self.token)
        finally:
            os.chmod(self.token, 0o600)
        self.assertNotIn(self.secret, str(cm.exception))
        with self.assertRaises(vramsnap.IoError) as cm:
            vramsnap.open(f"{self.url}/forbidden/s.snap", auth_file=self.token)
        self.assertIn("HTTP 403", str(cm.exception))
        self.assertNotIn(self.secret, str(cm.exception))

    def test_retries_bound_the_tries(self):
        with self.assertRaises(vramsnap.IoError) as cm:
            vramsnap.open("http://127.0.0.1:1/x.snap", retries=2)
        self.assertIn("after 2 tries", str(cm.exception))

    def test_ca_file_and_insecure_reach_the_library(self):
        missing = os.path.join(self.tmp.name, "no-such-ca.pem")
        with self.assertRaises(vramsnap.UsageError) as cm:
            vramsnap.open("https://127.0.0.1:1/x.snap", ca_file=missing)
        self.assertIn("no-such-ca.pem", str(cm.exception))
        with self.assertRaises(vramsnap.UsageError) as cm:
            vramsnap.open("http://example.invalid/s.snap")
        self.assertIn("insecure", str(cm.exception))
        # Allowed now: what remains is that the host does not exist.
        with self.assertRaises(vramsnap.IoError):
            vramsnap.open("http://example.invalid/s.snap", insecure=True, retries=1, timeout=5)

    def test_registry_config_holds_the_login(self):
        port = self.url.rsplit(":", 1)[1]
        ref = f"oci://127.0.0.1:{port}/models/s:latest"
        login = base64.b64encode(f"ci:{self.secret}".encode()).decode()
        configs = {}
        for name, auths in (("with", {f"127.0.0.1:{port}": {"auth": login}}), ("without", {})):
            configs[name] = os.path.join(self.tmp.name, f"{name}.json")
            fd = os.open(configs[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, json.dumps({"auths": auths}).encode())
            os.close(fd)
        self.assert_same(vnp.load_file(ref, key_file=self.key, registry_config=configs["with"]))
        with self.assertRaises(vramsnap.IoError) as cm:
            vramsnap.open(ref, registry_config=configs["without"])
        self.assertNotIn(self.secret, str(cm.exception))


class RemoteArguments(TempDirCase):
    def test_bad_values_are_refused_before_anything_is_read(self):
        path = self.path("a.snap")
        vnp.save_file(ARRAYS, path)
        for kw in ({"timeout": 0}, {"timeout": 3601}, {"timeout": "5"}, {"timeout": True}, {"retries": 0},
                   {"retries": 101}, {"insecure": "yes"}, {"auth_file": ""}):
            with self.subTest(**{k: repr(v) for k, v in kw.items()}):
                with self.assertRaises(vramsnap.UsageError):
                    vramsnap.open(path, **kw)
        with self.assertRaisesRegex(ValueError, "NUL"):  # would cut the path short
            vramsnap.open(path, ca_file="a\0b")
        with self.assertRaises(TypeError):
            vnp.load_file(path, allow_unsealed=True, auth_files="x")
        # A local file ignores the remote settings.
        self.assertEqual(len(vnp.load_file(path, allow_unsealed=True, timeout=3, retries=1)), 2)
        # They belong to opening: an open snapshot cannot take them any more.
        with vramsnap.open(path) as snap:
            with self.assertRaises(vramsnap.UsageError):
                vnp.load_file(snap, allow_unsealed=True, retries=3)
            with self.assertRaises(vramsnap.UsageError):
                vramsnap.verify(snap, allow_unsealed=True, timeout=3)


@unittest.skipIf(torch is None, "torch is not installed")
class DeviceOptions(TempDirCase):
    def setUp(self):
        super().setUp()
        self.snap = self.path("t.snap")
        vt.save_file({"w": torch.arange(1000, dtype=torch.float32)}, self.snap)

    def load(self, **kw):
        return vt.load_file(self.snap, allow_unsealed=True, **kw)

    def test_device_map_needs_a_gpu_target(self):
        with self.assertRaisesRegex(vramsnap.UsageError, "needs device='cuda:N'"):
            self.load(device_map={0: 0})
        with self.assertRaisesRegex(vramsnap.UsageError, "needs device='cuda:N'"):
            vramsnap.safe_open(self.snap, device="cpu", allow_unsealed=True, device_map="0:0")

    def test_device_map_values(self):
        for bad in ({0: -1}, {"0": 1}, {True: 0}, {0: 1.0}, {}, [(0, 1)], 3):
            with self.subTest(device_map=repr(bad)):
                with self.assertRaises(vramsnap.UsageError):
                    self.load(device="cuda:0", device_map=bad)
        # The text form is the tool's and the library checks it, before any GPU is looked for.
        with self.assertRaisesRegex(vramsnap.UsageError, "SRC:DST"):
            self.load(device="cuda:0", device_map="0:x")

    def test_verify_on_values(self):
        for bad in ("gpu", "", "Host", 1):
            with self.subTest(verify_on=repr(bad)):
                with self.assertRaises(vramsnap.UsageError):
                    self.load(verify_on=bad)
        with self.assertRaises(vramsnap.UsageError):
            vramsnap.safe_open(self.snap, device="cpu", allow_unsealed=True, verify_on="gpu")
        # As vramsnap(1)'s --verify-on: checked always, used by a CUDA restore.
        self.assertTrue(torch.equal(self.load(verify_on="host")["w"], torch.arange(1000, dtype=torch.float32)))

    @unittest.skipIf(torch is not None and torch.cuda.is_available(), "a GPU is here: the restore would succeed")
    def test_valid_device_options_get_as_far_as_the_missing_gpu(self):
        for kw in ({"device_map": {0: 0}}, {"device_map": "0:0"}, {"verify_on": "device"}, {"verify_on": "auto"}):
            with self.subTest(**{k: repr(v) for k, v in kw.items()}):
                with self.assertRaises(vramsnap.CompatError):
                    self.load(device="cuda:0", **kw)


if __name__ == "__main__":
    unittest.main()
