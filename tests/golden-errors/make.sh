#!/usr/bin/env bash
# How the broken snapshots in this directory were made from the golden ones
# (kept for reference: like the golden files, they are never regenerated,
# only added to). Run from this directory:  ./make.sh
# Needs /usr/bin/python3 (standard library only); snap_edit.py holds the
# offsets and the hash fixes the sections share. Each NAME.snap gets a
# NAME.expect written by hand from the message the tool printed (see
# README.md).
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONDONTWRITEBYTECODE=1
sealed=../golden/v1-sealed.snap
codecs=../golden/v1-codecs.snap

/usr/bin/python3 - "$sealed" "$codecs" <<'PY'
import hashlib, struct, sys
from snap_edit import fix_header_check, fix_table_hash, fix_trailer_check, flip, layout, records, strip_seal, write

sealed = open(sys.argv[1], "rb").read()
codecs = open(sys.argv[2], "rb").read()

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
write("chunk-bitflip", flip(sealed, first["offset"] + first["size"] // 2, 5))
pad = first["offset"] + first["size"]
assert pad % 4096 != 0, "first chunk has no padding"
write("chunk-padding", flip(sealed, pad))
write("table-bitflip", flip(sealed, L["table"] + 72 + 20))        # raw_size of record 1
write("manifest-bitflip", flip(sealed, L["manifest"] + L["manifest_size"] // 2))
write("mac-bitflip", flip(sealed, L["seal"] + 32))                # tag[0]
assert L["seal"] == S - 288
write("seal-stripped", strip_seal(sealed))  # a downgrade to "unsealed"

# Unsealed golden: a flipped chunk, and a zstd frame replaced by garbage whose
# hash is recorded (chunk hash, table hash and trailer check recomputed), so
# only decoding finds it.
z = next(r for r in records(codecs) if r["codec"] == 2)
write("unsealed-chunk-bitflip", flip(codecs, z["offset"] + 3))
b = bytearray(codecs)
garbage = bytes((i * 37 + 11) % 256 for i in range(z["size"]))
b[z["offset"]:z["offset"] + z["size"]] = garbage
b[z["rec"] + 40:z["rec"] + 72] = hashlib.sha256(garbage).digest()
fix_table_hash(b)
write("unsealed-zstd-garbage", bytes(b))
PY

# Format 1.2: broken copies of the Ed25519-signed golden (v1-signed.snap,
# golden-ed25519.key). The downgrade to HMAC is a valid HMAC seal made with
# the vramsnap of the day, so it needs the tool and golden.key.
/usr/bin/python3 - ../golden/v1-signed.snap <<'PY'
import sys
from snap_edit import SEAL, edit_version, flip, strip_seal, write

signed = open(sys.argv[1], "rb").read()
seal = len(signed) - SEAL

write("signed-signature-bitflip", flip(signed, seal + 32 + 40, 3))   # inside the 64-byte signature
write("signed-key-id-bitflip", flip(signed, seal + 16))
write("signed-stripped", strip_seal(signed))                         # bit 1 still set
write("signed-stripped-bit-cleared", edit_version(strip_seal(signed), 0, 0))  # a well-formed unsealed 1.0 file
write("signed-bit-cleared", edit_version(signed, 0, 2))              # signature kept, header without bit 1
PY
cp ../golden/v1-signed.snap signed-downgraded-to-hmac.snap
key=$(mktemp)  # mode 0600, as seal requires of a key file
cp ../golden/golden.key "$key"
vramsnap seal signed-downgraded-to-hmac.snap --key-file "$key"
rm -f "$key"
ls -l ./*.snap

# Format 1.1 (feature leaf-sha256, formats/snapshot-v1.md 5.4), from
# ../golden/v1.1-leaf.snap (unsealed): a flipped byte inside a leaf-hashed
# chunk; the leaf-sha256 bit under minor 0; the bit stripped (minor 0), so
# the reader checks flat hashes against leaf-tree ones.
/usr/bin/python3 - ../golden/v1.1-leaf.snap <<'PY'
import sys
from snap_edit import edit_version, flip, write
leaf = open(sys.argv[1], "rb").read()
write("leaf-chunk-bitflip", flip(leaf, 4096 + 20000, 3))  # inside the raw chunk's second 16 KiB leaf
write("leaf-feature-minor0", edit_version(leaf, 1, 0))
write("leaf-feature-stripped", edit_version(leaf, 0, 0))
PY

# Format 1.3 (feature packed-regions, formats/snapshot-v1.md 5.5), from
# ../golden/v1.3-packed.snap (sealed with golden.key): chunk 0 is packed and
# holds 24 regions. The table edits fix the table hash and the trailer check,
# so the reader's structural rules (phase A) speak before the seal does.
/usr/bin/python3 - ../golden/v1.3-packed.snap <<'PY'
import struct, sys
from snap_edit import edit_version, fix_table_hash, flip, layout, write
packed = open(sys.argv[1], "rb").read()
table = layout(packed)["table"]
def edit_record0(f, offset, fmt, value):
    b = bytearray(f)
    struct.pack_into(fmt, b, table + offset, value)
    fix_table_hash(b)
    return bytes(b)
assert struct.unpack_from("<HQ", packed, table + 6) == (1, 24)  # chunk 0: flags packed, 24 regions
write("packed-chunk-bitflip", flip(packed, 4096 + 100, 5))  # inside packed chunk 0's stored bytes
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
/usr/bin/python3 - ../golden/v1.4-planes.snap <<'PY'
import struct, sys
from snap_edit import damaged, edit_version, flip, records, write
snap = open(sys.argv[1], "rb").read()
planes = [r for r in records(snap) if r["codec"] == 4]
assert len(planes) >= 3
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
write("planes-chunk-bitflip", flip(snap, planes[0]["offset"] + planes[0]["size"] // 2, 2))
write("planes-code-length", damaged(snap, planes[0], bad_length))
write("planes-block-end", damaged(snap, planes[1], moved_end))
write("planes-plane-mode", damaged(snap, planes[2], bad_mode))
PY

# Format 1.5 (feature palette, codec 5, formats/snapshot-v1.md 6.5), from
# ../golden/v1.5-palette.snap (unsealed, leaf-hashed): the palette bit
# stripped (bits 0 and 3 under minor 4, as if written without it); the bit
# under minor 4; a flipped byte in a palette chunk; and palette chunks
# damaged inside with their leaf hash, the table hash and the trailer check
# recomputed, so only decoding finds them: a code for an index past its
# value table, a table size of 257, a table size that runs past the stored
# bytes (a truncated table), two values out of order.
/usr/bin/python3 - ../golden/v1.5-palette.snap <<'PY'
import struct, sys
from snap_edit import damaged, edit_version, fix_table_hash, flip, leaf_hash, records, write
snap = open(sys.argv[1], "rb").read()
palette = [r for r in records(snap) if r["codec"] == 5]
assert len(palette) >= 4
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
def truncated(rec, keep):
    # The chunk cut inside its value tables: the record's stored_size
    # shrunk, the bytes after it zeroed (chunk padding), hashes recomputed.
    b = bytearray(snap)
    s = bytes(b[rec["offset"]:rec["offset"] + keep])
    b[rec["offset"] + keep:rec["offset"] + rec["size"]] = bytes(rec["size"] - keep)
    struct.pack_into("<Q", b, rec["rec"] + 32, keep)
    b[rec["rec"] + 40:rec["rec"] + 72] = leaf_hash(s)
    fix_table_hash(b)
    return bytes(b)
write("palette-feature-stripped", edit_version(snap, 0x9, 4))
write("palette-feature-minor4", edit_version(snap, 0x19, 4))
write("palette-chunk-bitflip", flip(snap, palette[0]["offset"] + palette[0]["size"] // 2, 2))
write("palette-bad-index", damaged(snap, palette[0], index_past_table))
write("palette-table-too-big", damaged(snap, palette[1], table_257))
write("palette-truncated-table", truncated(palette[5], 8 + 2 + 8 * 3 + 5))
write("palette-value-order", damaged(snap, palette[3], values_swapped))
PY

# Format 1.6 (feature f16-split, formats/snapshot-v1.md 6.4.1), from
# ../golden/v1.6-f16split.snap (unsealed, leaf-hashed; chunks 0-2 split, 3
# byte planes): the f16-split bit stripped (minor 4, as a 1.4 writer would
# have it); the bit under minor 5; and split chunks damaged inside with their
# leaf hash, the table hash and the trailer check recomputed, so only
# decoding finds them: a code for symbol 34, a non-zero count moved, the bit
# planes cut short (z raised by 8: the parts no longer add up), a count
# that disagrees with its block's symbols.
/usr/bin/python3 - ../golden/v1.6-f16split.snap <<'PY'
import struct, sys
from snap_edit import damaged, edit_version, records, write
snap = open(sys.argv[1], "rb").read()
split = [r for r in records(snap) if r["codec"] == 4 and snap[r["offset"] + 2] == 1]
assert len(split) == 3
def counts_at(s):  # offset of the non-zero ends, and k (m is the header's)
    m = struct.unpack_from("<I", s, 4)[0]
    return 16 + struct.unpack_from("<I", s, 8)[0], (m + 4095) // 4096
def symbol34(s):  # a coded symbol's length moved to symbol 34 (the code stays complete)
    for sym in range(34):
        n = (s[16 + sym // 2] >> (sym % 2 * 4)) & 15
        if n:
            s[16 + sym // 2] &= 0x0f if sym % 2 else 0xf0
            s[16 + 17] = n
            return
def count_moved(s):  # the first block's count one lower (chunk 0 has 16 blocks)
    at, k = counts_at(s)
    assert k > 1
    struct.pack_into("<I", s, at, struct.unpack_from("<I", s, at)[0] - 1)
def count_past(s):  # the last count one past z
    at, k = counts_at(s)
    struct.pack_into("<I", s, at + 4 * (k - 1), struct.unpack_from("<I", s, 12)[0] + 1)
def bits_short(s):
    struct.pack_into("<I", s, 12, struct.unpack_from("<I", s, 12)[0] + 8)
write("f16split-feature-stripped", edit_version(snap, 0x09, 4))
write("f16split-feature-minor5", edit_version(snap, 0x29, 5))
write("f16split-symbol-34", damaged(snap, split[0], symbol34))
write("f16split-count-moved", damaged(snap, split[0], count_moved))
write("f16split-count-past-z", damaged(snap, split[1], count_past))
write("f16split-bits-short", damaged(snap, split[2], bits_short))
PY
