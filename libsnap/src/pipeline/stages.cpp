#include "pipeline/stages.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace vramsnap::pipeline {

bool ChunkHasher::finish_matches(const ChunkEntry& c) {
  const crypto::Digest d = scheme_ == ChunkHashScheme::Flat ? sha_.finish() : leaf_.finish();
  return crypto::equal_ct(d.data(), c.hash.data(), d.size());
}

Status read_verified(const SnapshotData& s, size_t i, std::span<uint8_t> stored, ChunkHasher& hasher,
                     WorkerClock& clk) {
  const auto& c = s.chunks[i];
  if (stored.size() != c.stored_size)
    return Error(ErrorKind::Limit, format::chunk_context(s, i) + ": read buffer does not fit the chunk");
  hasher.set_scheme(s.chunk_hash);
  std::array<uint8_t, format::kDataAlign> pad;
  const uint64_t pad_len = format::chunk_extent_end(c) - c.stored_offset - c.stored_size;
  const std::span<uint8_t> parts[2] = {stored, {pad.data(), pad_len}};

  // Hash time is measured inside the piece callback and taken out of the
  // read's wall time, so the two phases do not count the same nanoseconds.
  uint64_t seen = 0, hash_ns = 0;
  const uint64_t t0 = now_ns();
  auto st = s.source->readv(c.stored_offset, parts, [&](std::span<const uint8_t> piece) -> Status {
    const uint64_t h0 = now_ns();
    if (seen < c.stored_size) hasher.update(piece.first(std::min<uint64_t>(piece.size(), c.stored_size - seen)));
    seen += piece.size();
    hash_ns += now_ns() - h0;
    return {};
  });
  const uint64_t h0 = now_ns();
  const bool match = hasher.finish_matches(c);  // also resets the hasher after a failed read
  hash_ns += now_ns() - h0;
  clk.hash_ns += hash_ns;
  clk.read_ns += now_ns() - t0 - hash_ns;
  if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
  if (!std::all_of(pad.begin(), pad.begin() + static_cast<long>(pad_len), [](uint8_t b) { return b == 0; }))
    return Error(ErrorKind::Integrity,
                 format::chunk_context(s, i) + ": alignment padding after the chunk is not zero (corrupt or tampered)");
  if (!match) return Error(ErrorKind::Integrity, format::chunk_context(s, i) + ": SHA-256 mismatch (corrupt or tampered)");
  return {};
}

Status read_unverified(const SnapshotData& s, size_t i, uint64_t offset, std::span<uint8_t> dst, WorkerClock& clk) {
  const auto& c = s.chunks[i];
  if (offset > c.stored_size || dst.size() > c.stored_size - offset)
    return Error(ErrorKind::Limit, format::chunk_context(s, i) + ": read outside the chunk");
  std::array<uint8_t, format::kDataAlign> pad;
  const bool last = offset + dst.size() == c.stored_size;
  const uint64_t pad_len = last ? format::chunk_extent_end(c) - c.stored_offset - c.stored_size : 0;
  const std::span<uint8_t> parts[2] = {dst, {pad.data(), pad_len}};
  PhaseTimer t(clk.read_ns);
  auto st = s.source->readv(c.stored_offset + offset, parts);
  if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
  if (!std::all_of(pad.begin(), pad.begin() + static_cast<long>(pad_len), [](uint8_t b) { return b == 0; }))
    return Error(ErrorKind::Integrity,
                 format::chunk_context(s, i) + ": alignment padding after the chunk is not zero (corrupt or tampered)");
  return {};
}

Status decode_chunk(const SnapshotData& s, size_t i, codec::ChunkDecoder& decoder, std::span<const uint8_t> stored,
                    std::span<uint8_t> dst, WorkerClock& clk) {
  const auto& c = s.chunks[i];
  PhaseTimer t(clk.decode_ns);
  // A chunk's layout may need a bit beyond its codec's (step 4.3).
  if (const uint64_t need = codec::chunk_features(c.codec, stored); need & ~s.meta.required_features)
    return Error(ErrorKind::Format, format::chunk_context(s, i) + ": planes chunk in the f16 split layout needs feature "
                                                                  "f16-split (bit 5), which the header does not set");
  auto st = decoder.decode(static_cast<format::CodecId>(c.codec), c.elem_size, stored, dst);
  if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
  return {};
}

}  // namespace vramsnap::pipeline
