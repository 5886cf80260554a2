// The planes encoder: transpose the chunk into byte planes (the shuffle
// kernels), then per plane choose constant, Huffman or raw from its
// histograms, and write Huffman planes as independent 4096-symbol blocks,
// with one code table per 32 blocks, so the code follows the tensors a
// chunk spans.
#include "codec/planes/encode.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "codec/codec.h"
#include "codec/planes/huffman.h"
#include "codec/planes/layout.h"

namespace vramsnap::codec::planes {
namespace {

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

PlaneCode plane_code(const uint8_t* plane, uint32_t m) {
  PlaneCode pc;
  const uint32_t k = block_count(m);
  const uint32_t group = kBlocksPerTable * kBlockSymbols;
  pc.bound = uint64_t(kLengthsSize) * table_count(k) + 4ull * k + k;
  uint64_t bits = 0;
  for (uint32_t first = 0; first < m; first += group) {
    const uint32_t last = m - first < group ? m : first + group;
    const Histogram freq = group_histogram(plane, first, last, 256);
    const Lengths len = huffman_lengths(freq);
    for (unsigned s = 0; s < 256; ++s)
      bits += freq[s] * len[s];
    pc.lengths.push_back(len);
  }
  pc.bound += bits / 8;
  return pc;
}

}  // namespace

size_t write_huffman(const uint8_t* plane, uint32_t m, const PlaneCode& pc, uint8_t* out) {
  const uint32_t k = block_count(m);
  const uint32_t tables = table_count(k);
  std::memset(out, 0, size_t(kLengthsSize) * tables);
  for (uint32_t t = 0; t < tables; ++t)
    for (unsigned s = 0; s < 256; ++s) out[t * kLengthsSize + (s >> 1)] |= uint8_t(pc.lengths[t][s] << ((s & 1) * 4));
  uint8_t* ends = out + size_t(kLengthsSize) * tables;
  uint8_t* area = ends + 4 * size_t(k);
  uint32_t at = 0;
  std::array<uint16_t, 256> code{};
  for (uint32_t j = 0; j < k; ++j) {
    const Lengths& len = pc.lengths[j / kBlocksPerTable];
    if (j % kBlocksPerTable == 0) code = canonical_codes(len);
    const uint32_t first = j * kBlockSymbols;
    const uint32_t last = m - first < kBlockSymbols ? m : first + kBlockSymbols;
    BitWriter w(area + at);
    for (uint32_t i = first; i < last; ++i) w.put(code[plane[i]], len[plane[i]]);
    at += uint32_t(w.flush());
    put_u32(ends + 4 * j, at);
  }
  return size_t(kLengthsSize) * tables + 4 * size_t(k) + at;
}

Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned e) {
  const size_t n = raw.size();
  const uint32_t m = uint32_t(n / e);
  const size_t head = kHeaderSize + kDescriptorSize * e;
  // A Huffman plane is kept only when its bound (tables, ends, codes and
  // padding) is below the raw plane's size, so the output never exceeds
  // header + the planes + tail.
  const size_t cap = head + n;
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
    // One byte throughout: constant.
    bool constant = m > 0;
    for (uint32_t i = 1; i < m && constant; ++i) constant = plane[i] == plane[0];
    if (constant) {
      d[0] = kModeConstant;
      d[1] = plane[0];
      continue;
    }
    if (m > 0) {
      const PlaneCode pc = plane_code(plane, m);
      if (double(pc.bound) <= double(m) * (1.0 - kMinPlaneSaving)) {
        const size_t size = write_huffman(plane, m, pc, out + at);
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
  // Two-byte elements: the f16 split layout when it stores within
  // kSplitSlack of the byte planes (it decodes in about half their time).
  if (e == 2 && m > 0 && ws.f16_split) {
    const size_t limit = std::min(cap, size_t(double(at + tail) * kSplitSlack));
    // It knows its exact size before it writes, so it may overwrite `out`.
    if (const size_t size = encode_split(raw.data(), n, planes, out, limit))
      return std::span<const uint8_t>(out, size);
  }
  return std::span<const uint8_t>(out, at + tail);
}

}  // namespace vramsnap::codec::planes
