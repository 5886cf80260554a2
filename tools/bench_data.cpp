// Synthetic data generation. Every 64 KiB block has its own xoshiro256**
// stream seeded from (seed, block index) through splitmix64, so blocks never
// repeat and threads can take blocks in any order. Normal values come from
// the Marsaglia polar method in float: one logf and one sqrtf per pair, plenty
// for values that end up with 8 bits of mantissa.
#include "bench_data.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "vramsnap/runtime.hpp"

namespace vramsnap::cli::synth {
namespace {

constexpr float kSigma = 0.02f;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Xoshiro256ss {
 public:
  explicit Xoshiro256ss(uint64_t seed) {
    for (auto& x : s_) x = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

 private:
  uint64_t s_[4];
};

uint64_t block_seed(uint64_t seed, uint64_t block) {
  uint64_t st = seed ^ (block * 0xd1b54a32d192ed03ull);
  splitmix64(st);
  return splitmix64(st);
}

// n normal values (n even) with standard deviation kSigma.
void fill_normal(Xoshiro256ss& rng, float* out, size_t n) {
  constexpr float kScale = 1.0f / 8388608.0f;  // 2^-23: 24-bit integers -> [0, 2)
  size_t i = 0;
  while (i < n) {
    const uint64_t x = rng.next();
    const float u = static_cast<float>(x >> 40) * kScale - 1.0f;
    const float v = static_cast<float>((x >> 16) & 0xffffff) * kScale - 1.0f;
    const float s = u * u + v * v;
    if (s >= 1.0f || s == 0.0f) continue;
    const float f = kSigma * std::sqrt(-2.0f * std::log(s) / s);
    out[i] = u * f;
    out[i + 1] = v * f;
    i += 2;
  }
}

// float32 -> bfloat16, round to nearest even (no NaN can occur here).
uint16_t to_bf16(float f) {
  uint32_t b = std::bit_cast<uint32_t>(f);
  b += 0x7fffu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void store_le32(uint8_t* p, uint32_t v) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
}
void store_le64(uint8_t* p, uint64_t v) {
  for (int k = 0; k < 8; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
}

constexpr size_t kBatch = 512;  // floats generated per inner batch (stack)

void gen_bf16(Xoshiro256ss& rng, uint8_t* dst) {
  float f[kBatch];
  for (size_t off = 0; off < kBlockSize; off += 2 * kBatch) {
    fill_normal(rng, f, kBatch);
    for (size_t k = 0; k < kBatch; ++k) store_le16(dst + off + 2 * k, to_bf16(f[k]));
  }
}

void gen_f32(Xoshiro256ss& rng, uint8_t* dst) {
  float f[kBatch];
  for (size_t off = 0; off < kBlockSize; off += 4 * kBatch) {
    fill_normal(rng, f, kBatch);
    for (size_t k = 0; k < kBatch; ++k) store_le32(dst + off + 4 * k, std::bit_cast<uint32_t>(f[k]));
  }
}

void gen_random(Xoshiro256ss& rng, uint8_t* dst) {
  for (size_t off = 0; off < kBlockSize; off += 8) store_le64(dst + off, rng.next());
}

// One whole block of the stream.
void gen_block(Pattern p, uint64_t seed, uint64_t block, uint8_t* dst) {
  if (p == Pattern::Zeros) {
    std::memset(dst, 0, kBlockSize);
    return;
  }
  Xoshiro256ss rng(block_seed(seed, block));
  if (p == Pattern::Mixed) {
    // The block's first draw picks its kind: 15% zero pages, 5% random, 80% bf16.
    const uint64_t pick = (rng.next() >> 11) % 100;
    p = pick < 15 ? Pattern::Zeros : pick < 20 ? Pattern::Random : Pattern::Bf16;
    if (p == Pattern::Zeros) {
      std::memset(dst, 0, kBlockSize);
      return;
    }
  }
  switch (p) {
    case Pattern::Bf16: gen_bf16(rng, dst); break;
    case Pattern::F32: gen_f32(rng, dst); break;
    case Pattern::Random: gen_random(rng, dst); break;
    default: std::memset(dst, 0, kBlockSize); break;
  }
}

// Blocks [first, last) of the stream, clipped to the bytes `out` covers.
void gen_range(Pattern p, uint64_t seed, uint64_t offset, std::span<uint8_t> out, uint64_t first, uint64_t last,
               std::vector<uint8_t>& scratch) {
  const uint64_t end = offset + out.size();
  for (uint64_t b = first; b < last; ++b) {
    const uint64_t b0 = b * kBlockSize;
    const uint64_t lo = std::max(b0, offset);
    const uint64_t hi = std::min(b0 + kBlockSize, end);
    uint8_t* dst = out.data() + (lo - offset);
    if (lo == b0 && hi == b0 + kBlockSize) {
      gen_block(p, seed, b, dst);
    } else {
      scratch.resize(kBlockSize);
      gen_block(p, seed, b, scratch.data());
      std::memcpy(dst, scratch.data() + (lo - b0), hi - lo);
    }
  }
}

}  // namespace

std::optional<Pattern> parse_pattern(std::string_view name) {
  if (name == "bf16") return Pattern::Bf16;
  if (name == "f32") return Pattern::F32;
  if (name == "zeros") return Pattern::Zeros;
  if (name == "random") return Pattern::Random;
  if (name == "mixed") return Pattern::Mixed;
  return std::nullopt;
}

const char* to_string(Pattern p) noexcept {
  switch (p) {
    case Pattern::Bf16: return "bf16";
    case Pattern::F32: return "f32";
    case Pattern::Zeros: return "zeros";
    case Pattern::Random: return "random";
    case Pattern::Mixed: return "mixed";
  }
  return "?";
}

const char* dtype_of(Pattern p) noexcept {
  switch (p) {
    case Pattern::Bf16:
    case Pattern::Mixed: return "bf16";
    case Pattern::F32: return "f32";
    default: return "u8";
  }
}

Status generate(Pattern p, uint64_t seed, uint64_t offset, std::span<uint8_t> out, unsigned threads) {
  if (out.empty()) return {};
  if (offset > UINT64_MAX - out.size())
    return Error(ErrorKind::Usage, "synthetic data: offset + size overflows");
  const uint64_t first = offset / kBlockSize;
  const uint64_t last = (offset + out.size() + kBlockSize - 1) / kBlockSize;
  const uint64_t blocks = last - first;
  constexpr uint64_t kBlocksPerTask = 16;  // 1 MiB: amortises the shared counter
  const uint64_t tasks = (blocks + kBlocksPerTask - 1) / kBlocksPerTask;
  unsigned t = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  t = static_cast<unsigned>(std::min<uint64_t>(t, tasks));
  std::atomic<uint64_t> next{0};
  auto worker = [&] {
    std::vector<uint8_t> scratch;
    for (;;) {
      const uint64_t k = next.fetch_add(1);
      if (k >= tasks || interrupted()) return;
      const uint64_t b = first + k * kBlocksPerTask;
      gen_range(p, seed, offset, out, b, std::min(last, b + kBlocksPerTask), scratch);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned w = 1; w < t; ++w) pool.emplace_back(worker);
    worker();
  }
  if (interrupted()) return Error(ErrorKind::Interrupted, "interrupted");
  return {};
}

Status write_file(const std::string& path, Pattern p, uint64_t seed, uint64_t size, unsigned threads,
                  bool overwrite) {
  return write_file_atomically(
      path, size, [&](uint64_t off, std::span<uint8_t> piece) { return generate(p, seed, off, piece, threads); },
      overwrite);
}

}  // namespace vramsnap::cli::synth
