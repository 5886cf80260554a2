# Byte edits of golden snapshots for make.sh: where the structures lie
# (formats/snapshot-v1.md sections 3-10), and the hashes and check values
# an edit must recompute so that only the damage it means is left for the
# reader to find. Standard library only.
import hashlib
import struct

TRAILER = 160   # trailer size; the seal block (128 bytes) precedes it
SEAL = 288      # seal block and trailer
RECORD = 72     # chunk record size


def sha(b):
    return hashlib.sha256(b).digest()


def h8(b):
    return sha(b)[:8]


def leaf_hash(b):  # section 5.4
    L = 16384
    d = b"".join(sha(b[i:i + L]) for i in range(0, len(b), L))
    return sha(b"vramsnap/v1/chunk/leaf-sha256-16k\0" + d + struct.pack("<Q", len(b)))


def layout(f):
    """Offsets from the trailer (section 10)."""
    t = len(f) - TRAILER
    table, count = struct.unpack_from("<QQ", f, t)
    manifest, manifest_size, seal = struct.unpack_from("<QQQ", f, t + 24)
    return dict(table=table, count=count, manifest=manifest, manifest_size=manifest_size, seal=seal, trailer=t)


def records(f):
    """The chunk table: each record's own offset (rec) and fields."""
    L = layout(f)
    out = []
    for i in range(L["count"]):
        rec = L["table"] + RECORD * i
        region, codec, elem = struct.unpack_from("<IBB", f, rec)
        raw, offset, size = struct.unpack_from("<QQQ", f, rec + 16)
        out.append(dict(index=i, rec=rec, region=region, codec=codec, elem=elem, raw=raw, offset=offset, size=size))
    return out


def flip(f, off, bit=0):
    b = bytearray(f)
    b[off] ^= 1 << bit
    return bytes(b)


def fix_header_check(b):
    b[56:64] = h8(bytes(b[0:56]))


def fix_trailer_check(b):
    t = len(b) - TRAILER
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))


def fix_table_hash(b):
    """The trailer's table hash over the table as it now is, then its check."""
    L = layout(b)
    t = L["trailer"]
    b[t + 64:t + 96] = sha(bytes(b[L["table"]:L["table"] + RECORD * L["count"]]))
    fix_trailer_check(b)


def edit_version(f, required, minor):
    """Required feature bits and minor version (header and trailer), checks recomputed."""
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    fix_header_check(b)
    struct.pack_into("<H", b, len(b) - TRAILER + 58, minor)
    fix_trailer_check(b)
    return bytes(b)


def strip_seal(f):
    """The seal block rewritten as "unsealed": algorithm, key id and tag zeroed."""
    b = bytearray(f)
    seal = len(b) - SEAL
    b[seal + 8:seal + 12] = bytes(4)
    b[seal + 16:seal + 24] = bytes(8)
    b[seal + 32:seal + 128] = bytes(96)
    return bytes(b)


def damaged(f, rec, change):
    """Chunk `rec`'s stored bytes edited in place by change(bytearray), with
    its leaf hash, the table hash and the trailer check recomputed, so only
    decoding finds the damage."""
    b = bytearray(f)
    s = bytearray(b[rec["offset"]:rec["offset"] + rec["size"]])
    change(s)
    b[rec["offset"]:rec["offset"] + rec["size"]] = s
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(bytes(s))
    fix_table_hash(b)
    return bytes(b)


def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
