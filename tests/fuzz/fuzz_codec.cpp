// libFuzzer target for the chunk decoder (reliability item 7).
//
// Input: [codec id u8][elem size u8][declared raw size u32 LE][stored bytes...]
// The declared size is reduced modulo kMaxRaw + 1. The stored bytes are decoded
// into a guarded buffer of the declared size; then, so the encoder is covered
// too, they are encoded as a chunk and must decode back unchanged.
//
// Build with -DVRAMSNAP_FUZZ_CODEC_SEEDS (no -fsanitize=fuzzer) to get a
// program that writes the seed corpus: `fuzz_codec_seeds tests/fuzz/corpus/codec`.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/codec.h"
#include "codec_round_trip.h"

namespace {

using vramsnap::codec::ChunkDecoder;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
using vramsnap::format::CodecId;
using fuzzcheck::fail;

constexpr size_t kHeader = 6;
constexpr uint32_t kMaxRaw = 1u << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  // Reused across inputs, as the pipeline reuses them across chunks, so state
  // left behind by a failed decode is exercised too.
  static ChunkDecoder decoder;
  static ChunkEncoder encoder(1);

  const uint8_t codec = data[0];
  const uint8_t elem = data[1];
  const uint32_t declared = vramsnap::format::load_u32(data + 2) % (kMaxRaw + 1);
  const std::span<const uint8_t> stored(data + kHeader, size - kHeader);

  fuzzcheck::Guarded buf(declared);
  const std::span<uint8_t> dst = buf.span();
  const auto st = decoder.decode(CodecId(codec), elem, stored, dst);
  buf.check();
  if (st.ok()) {
    if (codec == uint8_t(CodecId::Raw) && !std::equal(stored.begin(), stored.end(), dst.begin())) fail();
    if (codec == uint8_t(CodecId::Zero) && !vramsnap::codec::is_all_zero(dst)) fail();
  } else if (st.error().kind() != vramsnap::ErrorKind::Format || st.error().message().empty()) {
    fail();
  }

  fuzzcheck::check_round_trip(encoder, decoder, stored, Choice(codec & 3), elem & 15);
  return 0;
}

#ifdef VRAMSNAP_FUZZ_CODEC_SEEDS
#include <fstream>
#include <string>

namespace {

void write_seed(const std::string& dir, const char* name, CodecId codec, uint8_t elem, uint32_t raw_size,
                std::span<const uint8_t> stored) {
  std::vector<uint8_t> out(kHeader);
  out[0] = uint8_t(codec);
  out[1] = elem;
  vramsnap::format::store_u32(out.data() + 2, raw_size);
  out.insert(out.end(), stored.begin(), stored.end());
  std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(out.data()),
                                                          std::streamsize(out.size()));
}

std::vector<uint8_t> weights(size_t n, unsigned elem) { return fuzzcheck::weights(n, elem, 7); }

using fuzzcheck::encoded;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  ChunkEncoder enc(3);
  std::string text;
  while (text.size() < 4096) text += "layer.attention.weight bias gradient snapshot restore ";
  const std::span<const uint8_t> text_bytes(reinterpret_cast<const uint8_t*>(text.data()), 4096);

  const auto zstd = encoded(enc, text_bytes, Choice::Zstd, 0, CodecId::Zstd);
  write_seed(dir, "zstd-text", CodecId::Zstd, 0, 4096, zstd);
  const auto bf16 = weights(4096, 2);
  write_seed(dir, "shuffle-bf16", CodecId::Shuffle, 2, 4096, encoded(enc, bf16, Choice::Shuffle, 2, CodecId::Shuffle));
  const auto f32 = weights(4099, 4);  // odd tail
  write_seed(dir, "shuffle-f32-tail", CodecId::Shuffle, 4, 4099, encoded(enc, f32, Choice::Shuffle, 4, CodecId::Shuffle));
  const auto f64 = weights(2051, 8);
  write_seed(dir, "shuffle-f64-tail", CodecId::Shuffle, 8, 2051, encoded(enc, f64, Choice::Shuffle, 8, CodecId::Shuffle));
  write_seed(dir, "raw", CodecId::Raw, 0, 64, text_bytes.first(64));
  write_seed(dir, "zero", CodecId::Zero, 0, 65536, {});

  write_seed(dir, "broken-truncated", CodecId::Zstd, 0, 4096, std::span(zstd).first(zstd.size() - 5));
  auto trailing = zstd;
  trailing.insert(trailing.end(), {0x28, 0xB5, 0x2F, 0xFD});
  write_seed(dir, "broken-trailing", CodecId::Zstd, 0, 4096, trailing);
  write_seed(dir, "broken-size", CodecId::Zstd, 0, 4095, zstd);
  const std::vector<uint8_t> skippable = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
  write_seed(dir, "broken-skippable", CodecId::Zstd, 0, 0, skippable);
  return 0;
}
#endif
