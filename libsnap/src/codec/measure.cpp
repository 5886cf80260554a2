// measure_codec (vramsnap/bench.hpp): a codec's stored size and one core's
// encode and decode speed over a sample, for `bench`'s codec comparison.
// It runs the writer's encoder and the reader's decoder, chunk by chunk.
#include <time.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "codec/codec.h"
#include "vramsnap/bench.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap {
namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace

Result<CodecTiming> measure_codec(std::span<const uint8_t> sample, CodecChoice choice, const std::string& dtype,
                                  uint64_t chunk_size, unsigned iterations) {
  if (chunk_size == 0) return Error(ErrorKind::Usage, "measure_codec: chunk size 0");
  struct Chunk {
    Codec codec;
    uint8_t elem;
    std::vector<uint8_t> stored;
    std::span<const uint8_t> raw;
  };
  CodecTiming t;
  t.choice = choice;
  t.raw_bytes = sample.size();
  t.chunks_by_codec.assign(256, 0);
  std::vector<Chunk> chunks;
  codec::ChunkEncoder enc(3);
  const unsigned elem = dtype_size(dtype);
  const bool floating = codec::is_float_dtype(dtype);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t off = 0; off < sample.size(); off += chunk_size) {
    const auto raw = sample.subspan(off, std::min<uint64_t>(chunk_size, sample.size() - off));
    auto r = enc.encode(raw, choice, elem, floating, dtype);
    if (!r.ok()) return std::move(r).error();
    chunks.push_back({r->codec, r->elem_size, {r->stored.begin(), r->stored.end()}, raw});
  }
  t.encode_seconds = since(t0);
  std::unique_ptr<uint8_t[]> out(new (std::nothrow) uint8_t[std::max<uint64_t>(chunk_size, 1)]);
  if (!out) return Error(ErrorKind::Limit, "measure_codec: out of memory");
  for (const auto& c : chunks) {
    t.stored_bytes += c.stored.size();
    ++t.chunks_by_codec[size_t(c.codec)];
  }
  codec::ChunkDecoder dec;
  for (unsigned i = 0; i <= iterations; ++i) {
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu_seconds();
    for (const auto& c : chunks) {
      VRAMSNAP_TRY(dec.decode(c.codec, c.elem, c.stored, {out.get(), c.raw.size()}));
      if (i == 0 && std::memcmp(out.get(), c.raw.data(), c.raw.size()) != 0)
        return Error(ErrorKind::Format, "measure_codec: a chunk did not decode to its bytes (library bug)");
    }
    if (i > 0) {  // pass 0 is the warm-up
      t.decode_seconds.push_back(since(t1));
      t.decode_cpu_seconds.push_back(thread_cpu_seconds() - c1);
    }
  }
  return t;
}

}  // namespace vramsnap
