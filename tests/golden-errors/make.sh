#!/usr/bin/env bash
# How the broken snapshots in this directory were made from the golden ones
# (kept for reference: like the golden files, they are never regenerated,
# only added to). Run from this directory:  ./make.sh
# Needs python3 (standard library only). Each NAME.snap gets a NAME.expect
# written by hand from the message the tool printed (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
sealed=../golden/v1-sealed.snap
codecs=../golden/v1-codecs.snap

python3 - "$sealed" "$codecs" <<'PY'
import hashlib, json, struct, sys

sealed = open(sys.argv[1], "rb").read()
codecs = open(sys.argv[2], "rb").read()

def h8(b): return hashlib.sha256(b).digest()[:8]

def layout(f):
    """Offsets from the trailer (formats/snapshot-v1.md section 10)."""
    t = f[-160:]
    table_off, count = struct.unpack_from("<QQ", t, 0)
    man_off, man_size, seal_off = struct.unpack_from("<QQQ", t, 24)
    return dict(table=table_off, count=count, manifest=man_off, manifest_size=man_size,
                seal=seal_off, trailer=len(f) - 160)

def records(f):
    L = layout(f)
    out = []
    for i in range(L["count"]):
        r = f[L["table"] + 72 * i: L["table"] + 72 * (i + 1)]
        region, codec, elem = struct.unpack_from("<IBB", r, 0)
        region_off, raw, soff, ssize = struct.unpack_from("<QQQQ", r, 8)
        out.append(dict(index=i, region=region, codec=codec, raw=raw, stored_offset=soff, stored_size=ssize))
    return out

def flip(f, off, bit=0):
    b = bytearray(f)
    b[off] ^= 1 << bit
    return bytes(b)

def fix_header_check(b):
    b[56:64] = h8(bytes(b[0:56]))

def fix_trailer_check(b):
    t = len(b) - 160
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))

def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)

S = len(sealed)
L = layout(sealed)
first = next(r for r in records(sealed) if r["codec"] != 0)

# Structure (exit 3).
write("truncated", sealed[:S // 2])
write("too-short", sealed[:4000])
write("bad-magic", flip(sealed, 0))
b = bytearray(sealed)            # major 2 in header and trailer, checks fixed
struct.pack_into("<H", b, 8, 2); fix_header_check(b)
struct.pack_into("<H", b, L["trailer"] + 56, 2); fix_trailer_check(b)
write("unknown-major", bytes(b))
b = bytearray(sealed)            # required feature bit 40, header check fixed
struct.pack_into("<Q", b, 16, 1 << 40); fix_header_check(b)
write("unknown-required-feature", bytes(b))
write("trailing-garbage", sealed + b"garbage\n")
write("trailing-trailer", sealed + bytes(512 - 160) + sealed[-160:])
write("header-check", flip(sealed, 40))                    # a snapshot_id byte
write("trailer-check", flip(sealed, L["trailer"] + 70))    # a table_hash byte

# Integrity (exit 1).
write("chunk-bitflip", flip(sealed, first["stored_offset"] + first["stored_size"] // 2, 5))
pad = first["stored_offset"] + first["stored_size"]
assert pad % 4096 != 0, "first chunk has no padding"
write("chunk-padding", flip(sealed, pad))
write("table-bitflip", flip(sealed, L["table"] + 72 + 20))        # raw_size of record 1
write("manifest-bitflip", flip(sealed, L["manifest"] + L["manifest_size"] // 2))
write("mac-bitflip", flip(sealed, L["seal"] + 32))                # tag[0]
b = bytearray(sealed)            # seal block downgraded to "unsealed"
b[L["seal"] + 8:L["seal"] + 12] = bytes(4)      # algorithm 0
b[L["seal"] + 16:L["seal"] + 24] = bytes(8)     # key id
b[L["seal"] + 32:L["seal"] + 128] = bytes(96)   # tag
write("seal-stripped", bytes(b))

# Unsealed golden: a flipped chunk, and a zstd frame replaced by garbage whose
# hash is recorded (chunk hash, table hash and trailer check recomputed), so
# only decoding finds it.
z = next(r for r in records(codecs) if r["codec"] == 2)
write("unsealed-chunk-bitflip", flip(codecs, z["stored_offset"] + 3))
b = bytearray(codecs)
C = layout(codecs)
garbage = bytes((i * 37 + 11) % 256 for i in range(z["stored_size"]))
b[z["stored_offset"]:z["stored_offset"] + z["stored_size"]] = garbage
rec = C["table"] + 72 * z["index"]
b[rec + 40:rec + 72] = hashlib.sha256(garbage).digest()
table = bytes(b[C["table"]:C["table"] + 72 * C["count"]])
b[C["trailer"] + 64:C["trailer"] + 96] = hashlib.sha256(table).digest()
fix_trailer_check(b)
write("unsealed-zstd-garbage", bytes(b))
PY

# Format 1.2: broken copies of the Ed25519-signed golden (v1-signed.snap,
# golden-ed25519.key). The downgrade to HMAC is a valid HMAC seal made with
# the vramsnap of the day, so it needs the tool and golden.key.
python3 - ../golden/v1-signed.snap <<'PY'
import hashlib, struct, sys

signed = open(sys.argv[1], "rb").read()
S = len(signed)
seal, trailer = S - 288, S - 160

def h8(b): return hashlib.sha256(b).digest()[:8]

def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)

def flip(f, off, bit=0):
    b = bytearray(f)
    b[off] ^= 1 << bit
    return bytes(b)

def strip_seal(b):
    b[seal + 8:seal + 12] = bytes(4)
    b[seal + 16:seal + 24] = bytes(8)
    b[seal + 32:seal + 128] = bytes(96)

def set_bits(b, required, minor):   # header bit and minor, trailer minor, checks
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    struct.pack_into("<H", b, trailer + 58, minor)
    b[trailer + 144:trailer + 152] = h8(bytes(b[trailer:trailer + 144]))

write("signed-signature-bitflip", flip(signed, seal + 32 + 40, 3))   # inside the 64-byte signature
write("signed-key-id-bitflip", flip(signed, seal + 16))
b = bytearray(signed); strip_seal(b)
write("signed-stripped", bytes(b))                                   # bit 1 still set
b = bytearray(signed); strip_seal(b); set_bits(b, 0, 0)
write("signed-stripped-bit-cleared", bytes(b))                       # a well-formed unsealed 1.0 file
b = bytearray(signed); set_bits(b, 0, 2)
write("signed-bit-cleared", bytes(b))                                # signature kept, header without bit 1
PY
cp ../golden/v1-signed.snap signed-downgraded-to-hmac.snap
cp ../golden/golden.key /tmp/golden-hmac.key && chmod 600 /tmp/golden-hmac.key
vramsnap seal signed-downgraded-to-hmac.snap --key-file /tmp/golden-hmac.key
rm -f /tmp/golden-hmac.key
ls -l ./*.snap

# Format 1.1 (feature leaf-sha256, formats/snapshot-v1.md 5.4), from
# ../golden/v1.1-leaf.snap (unsealed): a flipped byte inside a leaf-hashed
# chunk; the leaf-sha256 bit under minor 0; the bit stripped (minor 0), so
# the reader checks flat hashes against leaf-tree ones.
python3 - ../golden/v1.1-leaf.snap <<'PY'
import hashlib, struct, sys
leaf = open(sys.argv[1], "rb").read()
def h8(b): return hashlib.sha256(b).digest()[:8]
def edit_version(f, required, minor):
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    t = len(b) - 160
    struct.pack_into("<H", b, t + 58, minor)
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
b = bytearray(leaf)
b[4096 + 20000] ^= 0x08          # inside the raw chunk's second 16 KiB leaf
write("leaf-chunk-bitflip", bytes(b))
write("leaf-feature-minor0", edit_version(leaf, 1, 0))
write("leaf-feature-stripped", edit_version(leaf, 0, 0))
PY

# Format 1.3 (feature packed-regions, formats/snapshot-v1.md 5.5), from
# ../golden/v1.3-packed.snap (sealed with golden.key): chunk 0 is packed and
# holds 24 regions. The table edits fix the table hash and the trailer check,
# so the reader's structural rules (phase A) speak before the seal does.
/usr/bin/python3 - ../golden/v1.3-packed.snap <<'PY'
import hashlib, struct, sys
packed = open(sys.argv[1], "rb").read()
def h8(b): return hashlib.sha256(b).digest()[:8]
def fix_trailer(b):
    t = len(b) - 160
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
def edit_version(f, required, minor):
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    struct.pack_into("<H", b, len(b) - 160 + 58, minor)
    fix_trailer(b)
    return bytes(b)
def edit_record0(f, offset, fmt, value):
    b = bytearray(f)
    t = len(b) - 160
    table, count = struct.unpack_from("<QQ", b, t)
    struct.pack_into(fmt, b, table + offset, value)
    b[t + 64:t + 96] = hashlib.sha256(bytes(b[table:table + 72 * count])).digest()
    fix_trailer(b)
    return bytes(b)
def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
table = struct.unpack_from("<Q", packed, len(packed) - 160)[0]
assert struct.unpack_from("<HQ", packed, table + 6) == (1, 24)  # chunk 0: flags packed, 24 regions
b = bytearray(packed)
b[4096 + 100] ^= 0x20            # inside packed chunk 0's stored bytes
write("packed-chunk-bitflip", bytes(b))
write("packed-count-short", edit_record0(packed, 8, "<Q", 23))
write("packed-count-huge", edit_record0(packed, 8, "<Q", 2**64 - 1))
write("packed-flag-unknown", edit_record0(packed, 6, "<H", 3))
write("packed-feature-minor2", edit_version(packed, 5, 2))
write("packed-feature-stripped", edit_version(packed, 1, 1))
PY

# Format 1.4 (feature planes, codec 4, formats/snapshot-v1.md 6.4), from
# ../golden/v1.4-planes.snap (unsealed, leaf-hashed): the planes bit stripped
# (minor 1, as if written without it); the bit under minor 3; a flipped byte
# in a planes chunk; and three planes chunks damaged inside with their leaf
# hash, the table hash and the trailer check recomputed, so only decoding
# finds them: a code length of 12, a block end moved, a descriptor's mode 3.
python3 - ../golden/v1.4-planes.snap <<'PY'
import hashlib, struct, sys
snap = open(sys.argv[1], "rb").read()
def h8(b): return hashlib.sha256(b).digest()[:8]
def sha(b): return hashlib.sha256(b).digest()
def leaf_hash(b):  # formats/snapshot-v1.md 5.4
    L = 16384
    d = b"".join(sha(b[i:i + L]) for i in range(0, len(b), L))
    return sha(b"vramsnap/v1/chunk/leaf-sha256-16k\0" + d + struct.pack("<Q", len(b)))
def edit_version(f, required, minor):
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    t = len(b) - 160
    struct.pack_into("<H", b, t + 58, minor)
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
t = len(snap) - 160
table_off, count = struct.unpack_from("<QQ", snap, t)
recs = []
for i in range(count):
    r = table_off + 72 * i
    codec, elem = snap[r + 4], snap[r + 5]
    raw, soff, ssize = struct.unpack_from("<QQQ", snap, r + 16)
    recs.append(dict(rec=r, codec=codec, elem=elem, offset=soff, size=ssize))
planes = [r for r in recs if r["codec"] == 4]
assert len(planes) >= 3
def damaged(rec, change):
    b = bytearray(snap)
    s = bytearray(b[rec["offset"]:rec["offset"] + rec["size"]])
    change(s)
    b[rec["offset"]:rec["offset"] + rec["size"]] = s
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(bytes(s))
    b[t + 64:t + 96] = sha(bytes(b[table_off:table_off + 72 * count]))
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def huffman_plane(s):  # offset of the first Huffman plane's payload
    e = s[1]
    at = 8 + 8 * e
    for p in range(e):
        mode, size = s[8 + 8 * p], struct.unpack_from("<I", s, 12 + 8 * p)[0]
        if mode == 1: return at, p
        at += size
    raise SystemExit("no Huffman plane")
def bad_length(s):
    at, _ = huffman_plane(s)
    for k in range(128):
        if s[at + k] & 15:
            s[at + k] = (s[at + k] & 0xf0) | 12
            return
def moved_end(s):
    at, _ = huffman_plane(s)
    end0 = struct.unpack_from("<I", s, at + 128)[0]
    struct.pack_into("<I", s, at + 128, end0 + 1)
def bad_mode(s):
    s[8] = 3
write("planes-feature-stripped", edit_version(snap, 1, 1))
write("planes-feature-minor3", edit_version(snap, 9, 3))
b = bytearray(snap)
b[planes[0]["offset"] + planes[0]["size"] // 2] ^= 0x04
write("planes-chunk-bitflip", bytes(b))
write("planes-code-length", damaged(planes[0], bad_length))
write("planes-block-end", damaged(planes[1], moved_end))
write("planes-plane-mode", damaged(planes[2], bad_mode))
PY

# Format 1.5 (feature palette, codec 5, formats/snapshot-v1.md 6.5), from
# ../golden/v1.5-palette.snap (unsealed, leaf-hashed): the palette bit
# stripped (bits 0 and 3 under minor 4, as if written without it); the bit
# under minor 4; a flipped byte in a palette chunk; and palette chunks
# damaged inside with their leaf hash, the table hash and the trailer check
# recomputed, so only decoding finds them: a code for an index past its
# value table, a table size of 257, a table size that runs past the stored
# bytes (a truncated table), two values out of order.
python3 - ../golden/v1.5-palette.snap <<'PY'
import hashlib, struct, sys
snap = open(sys.argv[1], "rb").read()
def h8(b): return hashlib.sha256(b).digest()[:8]
def sha(b): return hashlib.sha256(b).digest()
def leaf_hash(b):  # formats/snapshot-v1.md 5.4
    L = 16384
    d = b"".join(sha(b[i:i + L]) for i in range(0, len(b), L))
    return sha(b"vramsnap/v1/chunk/leaf-sha256-16k\0" + d + struct.pack("<Q", len(b)))
def edit_version(f, required, minor):
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    t = len(b) - 160
    struct.pack_into("<H", b, t + 58, minor)
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
t = len(snap) - 160
table_off, count = struct.unpack_from("<QQ", snap, t)
recs = []
for i in range(count):
    r = table_off + 72 * i
    codec, elem = snap[r + 4], snap[r + 5]
    raw, soff, ssize = struct.unpack_from("<QQQ", snap, r + 16)
    recs.append(dict(rec=r, codec=codec, elem=elem, offset=soff, size=ssize))
palette = [r for r in recs if r["codec"] == 5]
assert len(palette) >= 4
def damaged(rec, change):
    b = bytearray(snap)
    s = bytearray(b[rec["offset"]:rec["offset"] + rec["size"]])
    change(s)
    b[rec["offset"]:rec["offset"] + rec["size"]] = s
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(bytes(s))
    b[t + 64:t + 96] = sha(bytes(b[table_off:table_off + 72 * count]))
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def groups(s):  # T = ceil(ceil(m / 4096) / 32)
    m = struct.unpack_from("<I", s, 4)[0]
    return ((m + 4095) // 4096 + 31) // 32
def table0(s):  # offset of group 0's code lengths, and c_0
    T, e = groups(s), s[1]
    total = sum(struct.unpack_from("<H", s, 8 + 2 * g)[0] for g in range(T))
    return 8 + 2 * T + e * total, struct.unpack_from("<H", s, 8)[0]
def length(s, at, sym): return (s[at + sym // 2] >> (4 * (sym & 1))) & 15
def set_length(s, at, sym, v):
    sh = 4 * (sym & 1)
    s[at + sym // 2] = (s[at + sym // 2] & ~(15 << sh) & 255) | (v << sh)
def index_past_table(s):
    # Split a code of length L < 11 into two of length L + 1, the second
    # for index c_0 (one past the table): still a complete code.
    at, c = table0(s)
    assert c < 256 and length(s, at, c) == 0
    sym = max((x for x in range(c) if 0 < length(s, at, x) < 11), key=lambda x: length(s, at, x))
    L = length(s, at, sym)
    set_length(s, at, sym, L + 1)
    set_length(s, at, c, L + 1)
def table_257(s): struct.pack_into("<H", s, 8, 257)
def values_swapped(s):
    e, T = s[1], groups(s)
    v0 = 8 + 2 * T
    s[v0:v0 + e], s[v0 + e:v0 + 2 * e] = s[v0 + e:v0 + 2 * e], s[v0:v0 + e]
write("palette-feature-stripped", edit_version(snap, 0x9, 4))
write("palette-feature-minor4", edit_version(snap, 0x19, 4))
b = bytearray(snap)
b[palette[0]["offset"] + palette[0]["size"] // 2] ^= 0x04
write("palette-chunk-bitflip", bytes(b))
write("palette-bad-index", damaged(palette[0], index_past_table))
write("palette-table-too-big", damaged(palette[1], table_257))
def truncated(rec, keep):
    # The chunk cut inside its value tables: the record's stored_size
    # shrunk, the bytes after it zeroed (chunk padding), hashes recomputed.
    b = bytearray(snap)
    s = bytes(b[rec["offset"]:rec["offset"] + keep])
    b[rec["offset"] + keep:rec["offset"] + rec["size"]] = bytes(rec["size"] - keep)
    struct.pack_into("<Q", b, rec["rec"] + 32, keep)
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(s)
    b[t + 64:t + 96] = sha(bytes(b[table_off:table_off + 72 * count]))
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
write("palette-truncated-table", truncated(palette[5], 8 + 2 + 8 * 3 + 5))
write("palette-value-order", damaged(palette[3], values_swapped))
PY

# Format 1.6 (feature f16-split, formats/snapshot-v1.md 6.4.1), from
# ../golden/v1.6-f16split.snap (unsealed, leaf-hashed; chunks 0-2 split, 3
# byte planes): the f16-split bit stripped (minor 4, as a 1.4 writer would
# have it); the bit under minor 5; and split chunks damaged inside with their
# leaf hash, the table hash and the trailer check recomputed, so only
# decoding finds them: a code for symbol 34, a non-zero count moved, the bit
# planes cut short (z raised by 8: the parts no longer add up), a count
# that disagrees with its block's symbols.
python3 - ../golden/v1.6-f16split.snap <<'PY'
import hashlib, struct, sys
snap = open(sys.argv[1], "rb").read()
def h8(b): return hashlib.sha256(b).digest()[:8]
def sha(b): return hashlib.sha256(b).digest()
def leaf_hash(b):  # formats/snapshot-v1.md 5.4
    L = 16384
    d = b"".join(sha(b[i:i + L]) for i in range(0, len(b), L))
    return sha(b"vramsnap/v1/chunk/leaf-sha256-16k\0" + d + struct.pack("<Q", len(b)))
def edit_version(f, required, minor):
    b = bytearray(f)
    struct.pack_into("<Q", b, 16, required)
    struct.pack_into("<H", b, 10, minor)
    b[56:64] = h8(bytes(b[0:56]))
    t = len(b) - 160
    struct.pack_into("<H", b, t + 58, minor)
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def write(name, data):
    with open(name + ".snap", "wb") as f:
        f.write(data)
t = len(snap) - 160
table_off, count = struct.unpack_from("<QQ", snap, t)
recs = []
for i in range(count):
    r = table_off + 72 * i
    raw, soff, ssize = struct.unpack_from("<QQQ", snap, r + 16)
    recs.append(dict(rec=r, codec=snap[r + 4], raw=raw, offset=soff, size=ssize))
split = [r for r in recs if r["codec"] == 4 and snap[r["offset"] + 2] == 1]
assert len(split) == 3
def damaged(rec, change):
    b = bytearray(snap)
    s = bytearray(b[rec["offset"]:rec["offset"] + rec["size"]])
    change(s, rec)
    b[rec["offset"]:rec["offset"] + rec["size"]] = s
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(bytes(s))
    b[t + 64:t + 96] = sha(bytes(b[table_off:table_off + 72 * count]))
    b[t + 144:t + 152] = h8(bytes(b[t:t + 144]))
    return bytes(b)
def counts_at(s, rec):  # offset of the non-zero ends, and k
    m = rec["raw"] // 2
    return 16 + struct.unpack_from("<I", s, 8)[0], (m + 4095) // 4096
def symbol34(s, rec):  # a coded symbol's length moved to symbol 34 (the code stays complete)
    for sym in range(34):
        n = (s[16 + sym // 2] >> (sym % 2 * 4)) & 15
        if n:
            s[16 + sym // 2] &= 0x0f if sym % 2 else 0xf0
            s[16 + 17] = n
            return
def count_moved(s, rec):  # the first block's count one lower (chunk 0 has 16 blocks)
    at, k = counts_at(s, rec)
    assert k > 1
    struct.pack_into("<I", s, at, struct.unpack_from("<I", s, at)[0] - 1)
def count_past(s, rec):  # the last count one past z
    at, k = counts_at(s, rec)
    struct.pack_into("<I", s, at + 4 * (k - 1), struct.unpack_from("<I", s, 12)[0] + 1)
def bits_short(s, rec):
    struct.pack_into("<I", s, 12, struct.unpack_from("<I", s, 12)[0] + 8)
write("f16split-feature-stripped", edit_version(snap, 0x09, 4))
write("f16split-feature-minor5", edit_version(snap, 0x29, 5))
write("f16split-symbol-34", damaged(split[0], symbol34))
write("f16split-count-moved", damaged(split[0], count_moved))
write("f16split-count-past-z", damaged(split[1], count_past))
write("f16split-bits-short", damaged(split[2], bits_short))
PY
