#pragma once
// Per-chunk codecs: zero | raw | zstd | shuffle (byte-plane transpose by element
// size, then zstd). Encoders and decoders are per-thread objects that own their
// zstd contexts and scratch buffers, so the hot path does not allocate.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "format/layout.h"
#include "vramsnap/error.hpp"

namespace vramsnap::codec {

enum class Choice { Auto, Raw, Zstd, Shuffle };

// `auto` keeps raw when compression saves less than this fraction.
inline constexpr double kMinSavings = 0.03;

struct EncodedChunk {
  format::CodecId codec;
  uint8_t elem_size;                 // shuffle: 2, 4 or 8; otherwise 0
  std::span<const uint8_t> stored;   // empty for zero; points into the encoder
                                     // (or at the input for raw); valid until
                                     // the next encode()
};

class ChunkEncoder {
 public:
  // level: zstd level (-7..19). Throws nothing; an invalid level is clamped.
  explicit ChunkEncoder(int level);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // elem_size: element size of the region's dtype (0 or 1 when unknown).
  // Auto: all-zero -> zero; elem_size 2/4/8 -> shuffle, else zstd; raw when
  // savings < kMinSavings. Shuffle with elem_size not in {2,4,8} -> zstd.
  // Explicit Zstd/Shuffle still fall back to zero for all-zero chunks and to
  // raw when the result would not be smaller than the input.
  Result<EncodedChunk> encode(std::span<const uint8_t> raw, Choice choice, unsigned elem_size);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ChunkDecoder {
 public:
  ChunkDecoder();
  ~ChunkDecoder();
  ChunkDecoder(const ChunkDecoder&) = delete;
  ChunkDecoder& operator=(const ChunkDecoder&) = delete;

  // Decodes `stored` into exactly dst.size() bytes. Errors (kind Format):
  // unknown codec; zero with stored bytes; raw with stored.size()!=dst.size();
  // zstd/shuffle that is not exactly one frame declaring content size ==
  // dst.size() and filling it exactly (no trailing bytes, no skippable frames,
  // window above 2^28 refused); shuffle elem_size not in {2,4,8}.
  // dst is never written beyond its size.
  Status decode(format::CodecId codec, uint8_t elem_size, std::span<const uint8_t> stored,
                std::span<uint8_t> dst);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Byte-plane transpose: dst[p * (n/elem) + i] = src[i * elem + p] for the
// whole-element prefix; the n % elem tail bytes are copied unchanged at the end.
void shuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem);
void unshuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem);

bool is_all_zero(std::span<const uint8_t> bytes);

const char* codec_name(format::CodecId id);  // "zero", "raw", "zstd", "shuffle"

}  // namespace vramsnap::codec
