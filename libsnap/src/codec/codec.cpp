// The chunk encoder's policy and the decoder's dispatch. What each codec does
// lives in its registry entry; this file decides which entry a chunk gets.
#include "codec/codec.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "codec/planes/split.h"
#include "codec/registry.h"
#include "codec/workspace.h"
#include "format/features.h"

namespace vramsnap::codec {
namespace {

constexpr int kMinLevel = -7;
constexpr int kMaxLevel = 19;

// Auto's candidates for a floating-point chunk, by stored size: shuffle,
// and the GPU-decodable planes and palette (0 when palette declines).
struct Sizes {
  size_t shuffle = 0, planes = 0, palette = 0;
};

// The smallest GPU-decodable candidate when it stores within kPlanesSlack of
// shuffle, else shuffle. With `palette_ok` false palette is not considered.
const CodecEntry* pick(const Sizes& z, bool palette_ok, const CodecEntry* shuffle, const CodecEntry* planes,
                       const CodecEntry* palette) {
  const bool pal = palette_ok && z.palette > 0 && z.palette <= z.planes;
  const size_t gpu = pal ? z.palette : z.planes;
  if (double(gpu) > double(z.shuffle) * kPlanesSlack) return shuffle;
  return pal ? palette : planes;
}

// Auto weighs the candidates on a sample of a large chunk: four slices of
// kPlanesSample / 4 bytes spread over it (weights change from tensor to
// tensor), so capture pays for one full encode, not three. A palette
// declines within a few hundred elements when the values are many.
Result<Sizes> weigh_sample(Workspace& ws, std::span<const uint8_t> raw, unsigned elem, const CodecEntry& shuffle,
                           const CodecEntry& planes, const CodecEntry& palette, int level) {
  const size_t slice = kPlanesSample / 4 / elem * elem;
  uint8_t* s = ws.sample.reserve(4 * slice);
  if (!s) return out_of_memory(4 * slice);
  for (size_t i = 0; i < 4; ++i) {
    const size_t at = (raw.size() - slice) / 3 * i / elem * elem;
    std::memcpy(s + i * slice, raw.data() + at, slice);
  }
  const std::span<const uint8_t> sample(s, 4 * slice);
  Sizes z;
  for (auto [entry, size] : {std::pair{&shuffle, &z.shuffle}, {&planes, &z.planes}, {&palette, &z.palette}}) {
    auto r = entry->encode(ws, sample, elem, level);
    if (!r) return std::move(r).error();
    *size = r->size();
  }
  return z;
}

}  // namespace

bool is_all_zero(std::span<const uint8_t> bytes) {
  // memcmp against a static zero block uses libc's SIMD compare and stops at
  // the first differing block, so random data exits after a few bytes.
  static constexpr size_t kZeroBlock = 4096;
  alignas(64) static const uint8_t kZeros[kZeroBlock] = {};
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  while (n >= kZeroBlock) {
    if (std::memcmp(p, kZeros, kZeroBlock) != 0) return false;
    p += kZeroBlock;
    n -= kZeroBlock;
  }
  return n == 0 || std::memcmp(p, kZeros, n) == 0;
}

bool is_float_dtype(std::string_view dtype) noexcept {
  return dtype == "bf16" || dtype == "f16" || dtype == "f32" || dtype == "f64";
}

uint64_t chunk_features(Codec codec, std::span<const uint8_t> stored) {
  return codec == Codec::Planes && planes::is_split(stored.data(), stored.size()) ? format::kFeatureF16Split : 0;
}

const char* codec_name(Codec id) {
  const CodecEntry* e = find_codec(uint8_t(id));
  return e ? e->name : "unknown";
}

// ---- encoder ----------------------------------------------------------------

struct ChunkEncoder::Impl {
  int level = 3;
  Workspace ws;
};

ChunkEncoder::ChunkEncoder(int level) : impl_(new (std::nothrow) Impl) {
  if (impl_) impl_->level = std::clamp(level, kMinLevel, kMaxLevel);
}

ChunkEncoder::~ChunkEncoder() = default;

Result<EncodedChunk> ChunkEncoder::encode(std::span<const uint8_t> raw, Choice choice, unsigned elem_size,
                                          bool floating, std::string_view dtype) {
  try {
    const EncodedChunk as_raw{Codec::Raw, 0, raw};
    const CodecEntry* chosen = nullptr;
    if (choice != Choice::Auto) {
      chosen = find_codec(uint8_t(choice));
      if (!chosen || !chosen->choosable || !chosen->encode)
        return make_error(ErrorKind::Usage,
                          "codec choice " + std::to_string(int(choice)) + " names no codec a writer can use");
      // Verbatim means exactly that: not even all-zero chunks become zero.
      if (chosen->stored == StoredBytes::Verbatim) return EncodedChunk{chosen->id, 0, raw};
    }
    if (is_all_zero(raw)) return EncodedChunk{Codec::Zero, 0, {}};
    if (!impl_) return out_of_memory(sizeof(Impl));
    impl_->ws.f16_split = dtype.empty() || dtype == "f16";

    const CodecEntry* used = chosen ? &codec_for_elem_size(*chosen, elem_size) : &auto_codec(elem_size);
    const uint8_t elem = used->elem_size_ok ? uint8_t(elem_size) : 0;
    std::span<const uint8_t> frame;
    const CodecEntry* planes = find_codec(uint8_t(Codec::Planes));
    const CodecEntry* palette = find_codec(uint8_t(Codec::Palette));
    // Floating-point data under auto: planes or palette when it stores about
    // as small as shuffle, because a GPU decodes it where it lands.
    const bool weigh = !chosen && floating && planes && palette && planes->elem_size_ok(elem_size) &&
                       used->id == Codec::Shuffle;
    if (weigh && raw.size() > 2 * kPlanesSample) {
      VRAMSNAP_ASSIGN_OR_RETURN(const Sizes z, weigh_sample(impl_->ws, raw, elem, *used, *planes, *palette,
                                                            impl_->level));
      used = pick(z, true, used, planes, palette);
      VRAMSNAP_ASSIGN_OR_RETURN(frame, used->encode(impl_->ws, raw, elem, impl_->level));
      if (frame.empty() && used == palette) {  // more values in the chunk than in the sample
        used = pick(z, false, &auto_codec(elem_size), planes, palette);
        VRAMSNAP_ASSIGN_OR_RETURN(frame, used->encode(impl_->ws, raw, elem, impl_->level));
      }
    } else if (weigh) {
      // A small chunk: every candidate in full; each writes its own buffer
      // (out, planes_out, palette_out), so the results coexist.
      VRAMSNAP_ASSIGN_OR_RETURN(frame, used->encode(impl_->ws, raw, elem, impl_->level));
      VRAMSNAP_ASSIGN_OR_RETURN(const auto as_planes, planes->encode(impl_->ws, raw, elem, impl_->level));
      VRAMSNAP_ASSIGN_OR_RETURN(const auto as_palette, palette->encode(impl_->ws, raw, elem, impl_->level));
      used = pick({frame.size(), as_planes.size(), as_palette.size()}, true, used, planes, palette);
      if (used == planes) frame = as_planes;
      if (used == palette) frame = as_palette;
    } else {
      VRAMSNAP_ASSIGN_OR_RETURN(frame, used->encode(impl_->ws, raw, elem, impl_->level));
      // An encoder that declines the chunk (palette: too many values) hands
      // it to its fallback.
      if (frame.empty() && used->stored == StoredBytes::Compressed && used->fallback != used->id) {
        used = &codec_for_elem_size(*find_codec(uint8_t(used->fallback)), elem_size);
        VRAMSNAP_ASSIGN_OR_RETURN(frame, used->encode(impl_->ws, raw, elem, impl_->level));
      }
    }

    // Auto demands a real saving; an explicit codec only has to be smaller.
    const size_t stored = frame.size();
    const bool keep = choice == Choice::Auto
                          ? double(stored) <= double(raw.size()) * (1.0 - kMinSavings)
                          : stored < raw.size();
    if (!keep || frame.empty()) return as_raw;
    return EncodedChunk{used->id, elem, frame, chunk_features(used->id, frame)};
  } catch (const std::bad_alloc&) {  // only error-message strings allocate here
    return make_error(ErrorKind::Limit, "out of memory while encoding a chunk");
  }
}

// ---- decoder ----------------------------------------------------------------

struct ChunkDecoder::Impl {
  Workspace ws;
};

ChunkDecoder::ChunkDecoder() : impl_(new (std::nothrow) Impl) {}

ChunkDecoder::~ChunkDecoder() = default;

Status ChunkDecoder::decode(Codec codec, uint8_t elem_size, std::span<const uint8_t> stored,
                            std::span<uint8_t> dst) {
  try {
    const CodecEntry* entry = find_codec(uint8_t(codec));
    if (!entry) return format_error("unknown codec id " + std::to_string(unsigned(codec)));
    return entry->decode(impl_ ? &impl_->ws : nullptr, elem_size, stored, dst);
  } catch (const std::bad_alloc&) {  // only error-message strings allocate here
    return make_error(ErrorKind::Limit, "out of memory while decoding a chunk");
  }
}

}  // namespace vramsnap::codec
