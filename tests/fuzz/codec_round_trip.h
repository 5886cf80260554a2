#pragma once
// What the chunk codec fuzz targets share: output buffers with guard bytes on
// both sides (a decoder that writes one byte outside its chunk is caught), the
// round trip of arbitrary bytes through an encoder and back, and the
// weight-like seed data their corpus generators encode.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "codec/codec.h"

namespace fuzzcheck {

constexpr size_t kGuard = 64;
constexpr uint8_t kFill = 0xA5;

[[noreturn]] inline void fail() { __builtin_trap(); }

// `size` bytes with kGuard bytes of kFill before and after.
class Guarded {
 public:
  explicit Guarded(size_t size) : buf_(size + 2 * kGuard, kFill) {}
  std::span<uint8_t> span() { return {buf_.data() + kGuard, buf_.size() - 2 * kGuard}; }
  void check() const {
    for (size_t i = 0; i < kGuard; ++i)
      if (buf_[i] != kFill || buf_[buf_.size() - 1 - i] != kFill) fail();
  }

 private:
  std::vector<uint8_t> buf_;
};

// `bytes`, taken as raw data, encoded with `choice` and decoded again: the
// encoder must accept anything, and the decoder give back exactly `bytes`.
inline void check_round_trip(vramsnap::codec::ChunkEncoder& encoder, vramsnap::codec::ChunkDecoder& decoder,
                             std::span<const uint8_t> bytes, vramsnap::codec::Choice choice, unsigned elem) {
  auto enc = encoder.encode(bytes, choice, elem);
  if (!enc.ok()) fail();
  Guarded back(bytes.size());
  if (!decoder.decode(enc->codec, enc->elem_size, enc->stored, back.span()).ok()) fail();
  back.check();
  if (!std::equal(bytes.begin(), bytes.end(), back.span().begin())) fail();
}

// raw encoded with `choice` for a seed file; aborts unless the encoder chose `want`.
inline std::vector<uint8_t> encoded(vramsnap::codec::ChunkEncoder& enc, std::span<const uint8_t> raw,
                                    vramsnap::codec::Choice choice, unsigned elem, vramsnap::Codec want) {
  auto r = enc.encode(raw, choice, elem);
  if (!r.ok() || r->codec != want) std::abort();
  return {r->stored.begin(), r->stored.end()};
}

// n bytes of elem-byte values shaped like model weights (normal, sigma 0.02):
// bf16 for elem 2, float32 for 4, the float's bits moved up for 8; a partial
// last value when n is not a multiple of elem.
inline std::vector<uint8_t> weights(size_t n, unsigned elem, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; i += elem) {
    const float f = dist(rng);
    uint64_t bits = 0;
    std::memcpy(&bits, &f, 4);
    if (elem == 2) bits >>= 16;  // bf16: upper half of the float32
    if (elem == 8) bits <<= 29;  // roughly where a double's mantissa sits
    for (unsigned b = 0; b < elem && i + b < n; ++b) out[i + b] = uint8_t(bits >> (8 * b));
  }
  return out;
}

}  // namespace fuzzcheck
