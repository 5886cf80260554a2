// Shared by the planes, palette and f16-split tests: a destination with
// guard bytes on both sides, a chunk encoded and decoded through the codec
// table, and the batch kernel's phases run on the host over one chunk, so
// the CPU decoder and the GPU grid are checked alike.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/batch.h"

namespace planes_fixture {

struct Guarded {
  static constexpr size_t kGuard = 256;
  std::vector<uint8_t> buf;
  explicit Guarded(size_t n) : buf(n + 2 * kGuard, 0xA5) {}
  std::span<uint8_t> dst() { return {buf.data() + kGuard, buf.size() - 2 * kGuard}; }
  bool intact() const {
    for (size_t i = 0; i < kGuard; ++i)
      if (buf[i] != 0xA5 || buf[buf.size() - 1 - i] != 0xA5) return false;
    return true;
  }
};

// f as element i of out: bf16 (e = 2: the top half of its f32), f32 (4) or
// f64 (8).
inline void store_float(std::vector<uint8_t>& out, size_t i, unsigned e, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (e == 2) {
    const uint16_t h = uint16_t(bits >> 16);
    std::memcpy(&out[i * 2], &h, 2);
  } else if (e == 4) {
    std::memcpy(&out[i * 4], &bits, 4);
  } else {
    const double d = f;
    std::memcpy(&out[i * 8], &d, 8);
  }
}

// f as f16, rounded towards zero; values below f16's normals become a
// signed zero (the exponent range of small weights fits well enough).
inline uint16_t f16_toward_zero(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const int exp = int((bits >> 23) & 255) - 127 + 15;
  uint16_t h = uint16_t((bits >> 16) & 0x8000);
  if (exp > 0) h |= uint16_t(exp << 10 | ((bits >> 13) & 0x3ff));
  return h;
}

// The chunk as the encoder stores it when asked for `choice`, if it picks
// `codec`; empty when it stores it otherwise (raw or zero). `used`: what
// it picked.
inline std::vector<uint8_t> encode_with(std::span<const uint8_t> raw, vramsnap::codec::Choice choice,
                                        vramsnap::Codec codec, unsigned e, vramsnap::Codec* used = nullptr) {
  vramsnap::codec::ChunkEncoder enc(3);
  auto r = enc.encode(raw, choice, e);
  REQUIRE(r.ok());
  if (used) *used = r->codec;
  if (r->codec != codec) return {};
  CHECK(r->elem_size == e);
  return {r->stored.begin(), r->stored.end()};
}

// The CPU decoder into g's destination, which must not write past it.
inline vramsnap::Status decode_into(vramsnap::Codec codec, std::span<const uint8_t> stored, unsigned e, Guarded& g) {
  vramsnap::codec::ChunkDecoder dec;
  auto st = dec.decode(codec, uint8_t(e), stored, g.dst());
  CHECK(g.intact());
  return st;
}

// The batch kernel's phases over one chunk (palette: a codec 5 chunk);
// returns the chunk's fault status, 0 when it decoded.
inline uint32_t grid_decode(std::span<const uint8_t> stored, unsigned e, std::span<uint8_t> dst,
                            bool palette = false) {
  namespace planes = vramsnap::codec::planes;
  planes::PlanesJob job{stored.data(), stored.size(), dst.data(), dst.size(), e, 0, palette ? 1u : 0u};
  uint32_t status = 0;
  planes::PlanesBatch b{&job, 1, planes::assign_slices(&job, 1), &status, nullptr};
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  return status;
}

}  // namespace planes_fixture
