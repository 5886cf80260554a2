"""Helpers for the Python package's tests: temp directories, key files,
and byte flips in a region's stored chunk."""

import gc
import os
import secrets
import shutil
import tempfile
import unittest


class TempDirCase(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("VRAMSNAP_TEST_TMPDIR")
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="py-", dir=base)

    def tearDown(self):
        gc.collect()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def key_file(self, name="snap.key"):
        """A 32-byte HMAC key file, mode 0600."""
        p = self.path(name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, secrets.token_bytes(32))
        os.close(fd)
        return p


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x10]))


def chunks(path):
    """[(region index, stored_offset, stored_size)] from the chunk table
    (formats/snapshot-v1.md 5.1 and 10), read without the package."""
    import struct
    with open(path, "rb") as f:
        f.seek(-160, 2)
        table_offset, count = struct.unpack_from("<QQ", f.read(160), 0)
        f.seek(table_offset)
        table = f.read(72 * count)
    out = []
    for k in range(count):
        region = struct.unpack_from("<I", table, 72 * k)[0]
        stored_offset, stored_size = struct.unpack_from("<QQ", table, 72 * k + 24)
        out.append((region, stored_offset, stored_size))
    return out


def tamper_region(path, region):
    """Flips a byte in the middle of the region's last stored chunk."""
    mine = [c for c in chunks(path) if c[0] == region and c[2] > 0]
    _, off, size = mine[-1]
    flip_byte(path, off + size // 2)
