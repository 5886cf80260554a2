// The planes encoder: transpose the chunk into byte planes (the shuffle
// kernels), then per plane choose constant, Huffman or raw from its
// histogram, and write Huffman planes as independent 4096-symbol blocks.
#include "codec/planes/encode.h"

#include <cstring>

#include "codec/codec.h"
#include "codec/planes/huffman.h"
#include "codec/planes/layout.h"

namespace vramsnap::codec::planes {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}

// MSB-first bit writer over a buffer the caller sized for the worst case.
class BitWriter {
 public:
  explicit BitWriter(uint8_t* out) : out_(out) {}
  void put(uint32_t code, unsigned len) {
    acc_ = acc_ << len | code;
    bits_ += len;
    if (bits_ >= 32) {
      bits_ -= 32;
      const uint32_t v = uint32_t(acc_ >> bits_);
      out_[n_] = uint8_t(v >> 24);
      out_[n_ + 1] = uint8_t(v >> 16);
      out_[n_ + 2] = uint8_t(v >> 8);
      out_[n_ + 3] = uint8_t(v);
      n_ += 4;
    }
  }
  // Pads with zero bits to a byte boundary; returns the bytes written.
  size_t flush() {
    while (bits_ >= 8) {
      bits_ -= 8;
      out_[n_++] = uint8_t(acc_ >> bits_);
    }
    if (bits_) out_[n_++] = uint8_t(acc_ << (8 - bits_));
    bits_ = 0;
    acc_ = 0;
    return n_;
  }

 private:
  uint8_t* out_;
  size_t n_ = 0;
  uint64_t acc_ = 0;
  unsigned bits_ = 0;
};

// Writes a Huffman payload for plane[0, m) at out; returns its size.
size_t write_huffman(const uint8_t* plane, uint32_t m, const Lengths& len, uint8_t* out) {
  const auto code = canonical_codes(len);
  std::memset(out, 0, kLengthsSize);
  for (unsigned s = 0; s < 256; ++s) out[s >> 1] |= uint8_t(len[s] << ((s & 1) * 4));
  const uint32_t k = block_count(m);
  uint8_t* ends = out + kLengthsSize;
  uint8_t* area = ends + 4 * size_t(k);
  uint32_t at = 0;
  for (uint32_t j = 0; j < k; ++j) {
    const uint32_t first = j * kBlockSymbols;
    const uint32_t last = m - first < kBlockSymbols ? m : first + kBlockSymbols;
    BitWriter w(area + at);
    for (uint32_t i = first; i < last; ++i) w.put(code[plane[i]], len[plane[i]]);
    at += uint32_t(w.flush());
    put_u32(ends + 4 * j, at);
  }
  return kLengthsSize + 4 * size_t(k) + at;
}

}  // namespace

Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned e) {
  const size_t n = raw.size();
  const uint32_t m = uint32_t(n / e);
  const size_t head = kHeaderSize + kDescriptorSize * e;
  // A Huffman plane is kept only when smaller than the raw plane, so the
  // output never exceeds header + the planes + tail; the table and the last
  // block's padding get slack because a plane is sized before it is chosen.
  const size_t cap = head + n + kLengthsSize + 16;
  uint8_t* out = ws.planes_out.reserve(cap);
  uint8_t* planes = ws.planes.reserve(n);
  if (!out || !planes) return out_of_memory(cap + n);
  shuffle_bytes(raw.data(), planes, n, e);

  out[0] = uint8_t(kBlockLog);
  out[1] = uint8_t(e);
  out[2] = out[3] = 0;
  put_u32(out + 4, m);
  size_t at = head;
  for (unsigned p = 0; p < e; ++p) {
    const uint8_t* plane = planes + size_t(p) * m;
    uint8_t* d = out + kHeaderSize + kDescriptorSize * p;
    std::memset(d, 0, kDescriptorSize);
    Histogram freq{};
    for (uint32_t i = 0; i < m; ++i) ++freq[plane[i]];
    unsigned used = 0;
    for (uint64_t c : freq) used += c != 0;
    if (m > 0 && used == 1) {
      d[0] = kModeConstant;
      d[1] = plane[0];
      continue;
    }
    if (used >= 2) {
      const Lengths len = huffman_lengths(freq);
      uint64_t bits = 0;
      for (unsigned s = 0; s < 256; ++s) bits += freq[s] * len[s];
      const uint32_t k = block_count(m);
      // Upper bound: every block pads at most 7 bits.
      const uint64_t bound = kLengthsSize + 4ull * k + bits / 8 + k;
      if (double(bound) <= double(m) * (1.0 - kMinPlaneSaving)) {
        const size_t size = write_huffman(plane, m, len, out + at);
        d[0] = kModeHuffman;
        put_u32(d + 4, uint32_t(size));
        at += size;
        continue;
      }
    }
    d[0] = kModeRaw;
    put_u32(d + 4, m);
    if (m) std::memcpy(out + at, plane, m);
    at += m;
  }
  const size_t tail = n - size_t(m) * e;
  if (tail) std::memcpy(out + at, raw.data() + size_t(m) * e, tail);
  return std::span<const uint8_t>(out, at + tail);
}

}  // namespace vramsnap::codec::planes
