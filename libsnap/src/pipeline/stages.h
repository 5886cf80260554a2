#pragma once
// The stages of one chunk's trip, each with one job:
//
//   read (Source) -> verify (hash) -> decode (codec) -> place (Sink)
//
// read_verified() runs the first two: one read of the chunk's extent from the
// Source, its stored bytes hashed piece by piece as they arrive and compared
// with the table, the alignment padding checked to be zero. Nothing is
// decoded or placed before it returns success. decode_chunk() is the third;
// the Sink (pipeline/sink.h) the fourth. These are the CPU implementations;
// a device path verifies and decodes on the GPU instead and reports each
// chunk's verdict back through Sink::deferred_failures().
#include <cstdint>
#include <span>

#include "codec/codec.h"
#include "crypto/digest.h"
#include "crypto/leaf_hash.h"
#include "format/snapshot_data.h"
#include "pipeline/clock.h"

namespace vramsnap::pipeline {

// The verify stage on the host: the snapshot's chunk hash (flat SHA-256, or
// the leaf tree) of the stored bytes, with OpenSSL.
class ChunkHasher {
 public:
  explicit ChunkHasher(ChunkHashScheme scheme = ChunkHashScheme::Flat) : scheme_(scheme) {}
  void set_scheme(ChunkHashScheme scheme) { scheme_ = scheme; }
  void update(std::span<const uint8_t> piece) {
    if (scheme_ == ChunkHashScheme::Flat) sha_.update(piece);
    else leaf_.update(piece);
  }
  // Finishes the hash (leaving the hasher fresh) and compares it with the
  // table's in constant time.
  bool finish_matches(const ChunkEntry& c);

 private:
  ChunkHashScheme scheme_;
  crypto::Sha256 sha_;
  crypto::LeafHasher leaf_;
};

// Reads chunk i's extent: its stored bytes into `stored` (exactly
// stored_size bytes) and its alignment padding into a scratch page, in one
// Source read, hashing each piece as it lands. Integrity error naming the chunk
// when the padding is not zero or the hash differs; the Source's error (with
// the chunk's context) when the read fails. On error `stored` holds
// unverified bytes that must not be used.
Status read_verified(const SnapshotData& s, size_t i, std::span<uint8_t> stored, ChunkHasher& hasher,
                     WorkerClock& clock);

// The device path's read: stored bytes [offset, offset + dst.size()) of raw
// chunk i into dst, unhashed, for a GPU to hash where they land; the piece
// that ends the chunk also reads its alignment padding and checks it is zero
// (Integrity error otherwise). The caller reports the restore done only
// after the device's verdict.
Status read_unverified(const SnapshotData& s, size_t i, uint64_t offset, std::span<uint8_t> dst, WorkerClock& clock);

// Decodes chunk i's verified stored bytes into dst (exactly raw_size bytes).
Status decode_chunk(const SnapshotData& s, size_t i, codec::ChunkDecoder& decoder, std::span<const uint8_t> stored,
                    std::span<uint8_t> dst, WorkerClock& clock);

}  // namespace vramsnap::pipeline
