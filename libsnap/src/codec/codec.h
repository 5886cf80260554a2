#pragma once
// Per-chunk encoding and decoding over the codec registry (codec/registry.h):
// the encoder applies the writer's policy (zero detection, auto's choice,
// the raw fallback), the decoder dispatches on the record's codec id.
// Encoders and decoders are per-thread objects that own a workspace (zstd
// contexts and scratch buffers), so the hot path does not allocate.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "format/layout.h"
#include "vramsnap/codec.hpp"
#include "vramsnap/error.hpp"

namespace vramsnap::codec {

using Choice = CodecChoice;

// `auto` keeps raw when compression saves less than this fraction.
inline constexpr double kMinSavings = 0.03;

// For floating-point chunks `auto` keeps planes (GPU-decodable) over shuffle
// while planes stores at most this factor of shuffle's size.
inline constexpr double kPlanesSlack = 1.02;
// Chunks larger than twice this are weighed on a sample of this many bytes.
inline constexpr size_t kPlanesSample = 256 * 1024;

// The dtypes whose byte planes hold sign and exponent: bf16, f16, f32, f64.
bool is_float_dtype(std::string_view dtype) noexcept;

struct EncodedChunk {
  Codec codec;
  uint8_t elem_size;                 // for codecs that record one (shuffle: 2, 4 or 8); otherwise 0
  std::span<const uint8_t> stored;   // empty for zero; points into the encoder
                                     // (or at the input for raw); valid until
                                     // the next encode()
  uint64_t features = 0;             // required feature bits beyond the codec's own (f16 split: bit 5)
};

// The required feature bits a stored chunk needs beyond its codec's own:
// kFeatureF16Split for a planes chunk in the split layout.
uint64_t chunk_features(Codec codec, std::span<const uint8_t> stored);

class ChunkEncoder {
 public:
  // level: zstd level (-7..19). Throws nothing; an invalid level is clamped.
  explicit ChunkEncoder(int level);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // elem_size: element size of the region's dtype (0 or 1 when unknown);
  // floating: the dtype is a float (is_float_dtype); dtype: the region's
  // dtype when known (planes tries its f16 split layout only for "f16" or
  // an unknown dtype).
  // Auto: all-zero -> zero; else the registry's auto codec for elem_size
  // (shuffle for 2/4/8, else zstd), except that a floating chunk is stored
  // with planes when planes stores within kPlanesSlack of shuffle (judged on
  // a kPlanesSample-byte sample of larger chunks); raw when savings <
  // kMinSavings. A chosen
  // codec that stores verbatim (raw) is used as is. A chosen compressing codec
  // still falls back to zero for all-zero chunks, to its fallback codec for an
  // element size it does not take (shuffle -> zstd), and to raw when the
  // result would not be smaller than the input. A choice that names no
  // codec a writer can use is a Usage error.
  Result<EncodedChunk> encode(std::span<const uint8_t> raw, Choice choice, unsigned elem_size,
                              bool floating = false, std::string_view dtype = {});

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
  Status decode(Codec codec, uint8_t elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Byte-plane transpose: dst[p * (n/elem) + i] = src[i * elem + p] for the
// whole-element prefix; the n % elem tail bytes are copied unchanged at the end.
void shuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem);
void unshuffle_bytes(const uint8_t* src, uint8_t* dst, size_t n, unsigned elem);

// Interleaves elem (2, 4 or 8) planes of `elems` bytes each, wherever they
// lie: dst[i * elem + p] = planes[p][i].
void join_planes(const uint8_t* const* planes, uint8_t* dst, size_t elems, unsigned elem);

bool is_all_zero(std::span<const uint8_t> bytes);

// The registry's name for id ("zero", "raw", "zstd", "shuffle", "planes"), or "unknown".
const char* codec_name(Codec id);

}  // namespace vramsnap::codec
