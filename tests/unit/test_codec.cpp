// Chunk codecs: round trips, the auto rule, and a decoder that refuses every
// malformed frame without writing outside its destination.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <zstd.h>

#include "codec/codec.h"
#include "codec/registry.h"

using vramsnap::ErrorKind;
using vramsnap::codec::ChunkDecoder;
using vramsnap::codec::ChunkEncoder;
using vramsnap::codec::Choice;
using vramsnap::format::CodecId;
using Bytes = std::vector<uint8_t>;

namespace {

// bf16 weights: N(0, 0.02) float32 truncated to its upper 16 bits.
Bytes bf16_like(size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Bytes out(n);
  for (size_t i = 0; i < n; i += 2) {
    const float f = dist(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    out[i] = uint8_t(bits >> 16);
    if (i + 1 < n) out[i + 1] = uint8_t(bits >> 24);
  }
  return out;
}

Bytes random_bytes(size_t n, unsigned seed = 2) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = uint8_t(rng());
  return out;
}

Bytes text_like(size_t n, unsigned seed = 3) {
  static const char* const kWords[] = {"tensor", "layer", "weight", "bias", "attention", "the",
                                       "of", "model", "gradient", "snapshot", "\n", "restore"};
  std::mt19937 rng(seed);
  Bytes out;
  while (out.size() < n) {
    const std::string w = std::string(kWords[rng() % 12]) + " ";
    out.insert(out.end(), w.begin(), w.end());
  }
  out.resize(n);
  return out;
}

// A destination inside a larger buffer whose guard bytes must stay untouched.
struct Guarded {
  static constexpr size_t kGuard = 4096;
  static constexpr uint8_t kFill = 0xA5;
  Bytes buf;
  explicit Guarded(size_t n) : buf(n + 2 * kGuard, kFill) {}
  std::span<uint8_t> dst() { return {buf.data() + kGuard, buf.size() - 2 * kGuard}; }
  bool guards_intact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (buf[i] != kFill || buf[buf.size() - 1 - i] != kFill) return false;
    }
    return true;
  }
};

void put_le(Bytes& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// A hand-made zstd frame of RLE blocks, so sizes can lie on purpose.
// window_desc is used only when !single_segment.
Bytes rle_frame(uint64_t declared, bool single_segment, uint8_t window_desc, unsigned blocks,
                uint32_t block_size, uint8_t byte = 0x42) {
  Bytes f;
  put_le(f, ZSTD_MAGICNUMBER, 4);
  f.push_back(uint8_t((3u << 6) | (single_segment ? 0x20 : 0)));  // 8-byte content size
  if (!single_segment) f.push_back(window_desc);
  put_le(f, declared, 8);
  for (unsigned b = 0; b < blocks; ++b) {
    const uint32_t last = b + 1 == blocks ? 1 : 0;
    put_le(f, last | (1u << 1) | (block_size << 3), 3);  // type 1 = RLE
    f.push_back(byte);
  }
  return f;
}

Bytes skippable_frame(size_t payload) {
  Bytes f;
  put_le(f, 0x184D2A50, 4);
  put_le(f, payload, 4);
  f.resize(f.size() + payload, 0x11);
  return f;
}

Bytes compress(std::span<const uint8_t> raw, Choice choice, unsigned elem, CodecId want) {
  ChunkEncoder enc(3);
  auto r = enc.encode(raw, choice, elem);
  REQUIRE(r.ok());
  REQUIRE(r->codec == want);
  return Bytes(r->stored.begin(), r->stored.end());
}

// Decodes into a guarded buffer of `n` bytes; returns the error (or none) and
// checks that nothing was written outside.
vramsnap::Status decode_guarded(ChunkDecoder& dec, CodecId codec, uint8_t elem,
                                std::span<const uint8_t> stored, size_t n) {
  Guarded g(n);
  auto st = dec.decode(codec, elem, stored, g.dst());
  CHECK(g.guards_intact());
  return st;
}

void check_format_error(const vramsnap::Status& st, const char* needle) {
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind() == ErrorKind::Format);
  INFO("message: " << st.error().message());
  CHECK(st.error().message().find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("shuffle_bytes matches the byte-plane definition and inverts") {
  const uint8_t src[5] = {0, 1, 2, 3, 4};
  uint8_t dst[5] = {};
  vramsnap::codec::shuffle_bytes(src, dst, 5, 2);
  CHECK(Bytes(dst, dst + 5) == Bytes{0, 2, 1, 3, 4});

  for (unsigned elem : {1u, 2u, 3u, 4u, 5u, 8u, 9u}) {
    for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(9), size_t(1024 * 8 * 3 + 5),
                     size_t(1024 * elem * 2 + elem - 1)}) {
      CAPTURE(elem);
      CAPTURE(n);
      const Bytes in = random_bytes(n, unsigned(n + elem));
      Bytes want(n);
      const size_t m = n / elem;
      for (size_t i = 0; i < m; ++i)
        for (unsigned p = 0; p < elem; ++p) want[p * m + i] = in[i * elem + p];
      for (size_t i = m * elem; i < n; ++i) want[i] = in[i];
      Bytes got(n), back(n);
      vramsnap::codec::shuffle_bytes(in.data(), got.data(), n, elem);
      CHECK(got == want);
      vramsnap::codec::unshuffle_bytes(got.data(), back.data(), n, elem);
      CHECK(back == in);
    }
  }
}

TEST_CASE("join_planes interleaves planes wherever they lie, on every path and length") {
  // Lengths around the 64-element steps of the AVX-512 joins (used where
  // the CPU has AVX-512BW) and the 1024-element blocks of the others.
  for (unsigned elem : {2u, 4u, 8u}) {
    for (size_t m : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(65), size_t(1000), size_t(4096 + 127)}) {
      CAPTURE(elem);
      CAPTURE(m);
      std::vector<Bytes> planes;
      const uint8_t* at[8];
      for (unsigned p = 0; p < elem; ++p) {
        planes.push_back(random_bytes(m + 1, unsigned(m * 8 + p)));  // +1: an odd offset below
        at[p] = planes.back().data() + 1;
      }
      Bytes want(m * elem), got(m * elem + 1, 0xee);
      for (size_t i = 0; i < m; ++i)
        for (unsigned p = 0; p < elem; ++p) want[i * elem + p] = at[p][i];
      vramsnap::codec::join_planes(at, got.data(), m, elem);
      CHECK(got.back() == 0xee);
      got.pop_back();
      CHECK(got == want);
    }
  }
}

TEST_CASE("is_all_zero and codec_name") {
  using vramsnap::codec::is_all_zero;
  CHECK(is_all_zero({}));
  Bytes z(3 * 4096 + 17, 0);
  CHECK(is_all_zero(z));
  for (size_t pos : {size_t(0), size_t(4095), size_t(4096), z.size() - 1}) {
    z[pos] = 1;
    CHECK_FALSE(is_all_zero(z));
    z[pos] = 0;
  }
  CHECK(std::string(vramsnap::codec::codec_name(CodecId::Zero)) == "zero");
  CHECK(std::string(vramsnap::codec::codec_name(CodecId::Raw)) == "raw");
  CHECK(std::string(vramsnap::codec::codec_name(CodecId::Zstd)) == "zstd");
  CHECK(std::string(vramsnap::codec::codec_name(CodecId::Shuffle)) == "shuffle");
}

TEST_CASE("every codec round-trips every size and element size") {
  ChunkEncoder enc(1);
  ChunkDecoder dec;
  const size_t sizes[] = {0, 1, 2, 3, 7, 4096, 4097, 1u << 20, (1u << 20) + 5};
  const Choice choices[] = {Choice::Auto, Choice::Raw, Choice::Zstd, Choice::Shuffle};
  for (size_t n : sizes) {
    const Bytes inputs[] = {bf16_like(n), random_bytes(n), Bytes(n, 0), text_like(n)};
    for (const Bytes& in : inputs) {
      for (Choice choice : choices) {
        for (unsigned elem : {0u, 1u, 2u, 3u, 4u, 8u}) {
          CAPTURE(n);
          CAPTURE(int(choice));
          CAPTURE(elem);
          auto r = enc.encode(in, choice, elem);
          REQUIRE(r.ok());
          const bool zero = vramsnap::codec::is_all_zero(in);
          if (choice == Choice::Raw) CHECK(r->codec == CodecId::Raw);
          else if (zero) CHECK(r->codec == CodecId::Zero);
          if (r->codec == CodecId::Raw) CHECK(r->stored.data() == in.data());
          if (r->codec == CodecId::Shuffle) CHECK(r->elem_size == elem);
          else CHECK(r->elem_size == 0);
          if (r->codec != CodecId::Raw) CHECK(r->stored.size() < std::max<size_t>(n, 1));
          Guarded g(n);
          const auto st = dec.decode(r->codec, r->elem_size, r->stored, g.dst());
          REQUIRE(st.ok());
          CHECK(g.guards_intact());
          CHECK(std::equal(in.begin(), in.end(), g.dst().begin()));
        }
      }
    }
  }
}

TEST_CASE("auto picks zero, raw, shuffle and zstd as the rule says") {
  ChunkEncoder enc(3);
  const size_t n = 1 << 20;
  const Bytes zeros(n, 0), rnd = random_bytes(n), bf16 = bf16_like(n), text = text_like(n);

  auto r = enc.encode(zeros, Choice::Auto, 2);
  REQUIRE(r.ok());
  CHECK(r->codec == CodecId::Zero);
  CHECK(r->stored.empty());

  r = enc.encode(rnd, Choice::Auto, 2);
  REQUIRE(r.ok());
  CHECK(r->codec == CodecId::Raw);
  CHECK(r->stored.data() == rnd.data());
  CHECK(r->stored.size() == n);

  r = enc.encode(bf16, Choice::Auto, 2);
  REQUIRE(r.ok());
  CHECK(r->codec == CodecId::Shuffle);
  CHECK(r->elem_size == 2);

  for (unsigned elem : {0u, 1u, 3u}) {
    r = enc.encode(text, Choice::Auto, elem);
    REQUIRE(r.ok());
    CHECK(r->codec == CodecId::Zstd);
    CHECK(r->elem_size == 0);
  }
  // Explicit shuffle without a usable element size is plain zstd.
  r = enc.encode(text, Choice::Shuffle, 3);
  REQUIRE(r.ok());
  CHECK(r->codec == CodecId::Zstd);
  // Explicit codecs fall back to raw only when the result is not smaller.
  r = enc.encode(rnd, Choice::Shuffle, 2);
  REQUIRE(r.ok());
  CHECK(r->codec == CodecId::Raw);
}

TEST_CASE("auto keeps raw below 3% savings; explicit zstd does not") {
  ChunkEncoder enc(3);
  const size_t n = 1 << 20;
  for (double zero_fraction : {0.015, 0.05}) {
    CAPTURE(zero_fraction);
    Bytes in = random_bytes(n);
    std::fill_n(in.begin(), size_t(double(n) * zero_fraction), uint8_t(0));
    auto explicit_zstd = enc.encode(in, Choice::Zstd, 0);
    REQUIRE(explicit_zstd.ok());
    REQUIRE(explicit_zstd->codec == CodecId::Zstd);
    const size_t stored = explicit_zstd->stored.size();
    auto automatic = enc.encode(in, Choice::Auto, 0);
    REQUIRE(automatic.ok());
    const bool saves_enough = double(stored) <= double(n) * (1.0 - vramsnap::codec::kMinSavings);
    CHECK(saves_enough == (zero_fraction > 0.03));
    CHECK(automatic->codec == (saves_enough ? CodecId::Zstd : CodecId::Raw));
  }
}

TEST_CASE("shuffle beats plain zstd on bf16-like weights") {
  const Bytes bf16 = bf16_like(1 << 20);
  const Bytes shuffled = compress(bf16, Choice::Shuffle, 2, CodecId::Shuffle);
  const Bytes plain = compress(bf16, Choice::Zstd, 2, CodecId::Zstd);
  INFO("shuffle " << shuffled.size() << " B, zstd " << plain.size() << " B");
  CHECK(shuffled.size() < plain.size());
}

TEST_CASE("encoder clamps out-of-range levels") {
  const Bytes text = text_like(8192);
  for (int level : {-1000, -7, 0, 19, 1000}) {
    CAPTURE(level);
    ChunkEncoder enc(level);
    auto r = enc.encode(text, Choice::Zstd, 0);
    REQUIRE(r.ok());
    CHECK(r->codec == CodecId::Zstd);
  }
}

TEST_CASE("decoder refuses malformed chunks without writing outside dst") {
  ChunkDecoder dec;
  const Bytes text = text_like(4096);
  const Bytes frame = compress(text, Choice::Zstd, 0, CodecId::Zstd);
  const Bytes bf16 = bf16_like(4096);
  const Bytes sframe = compress(bf16, Choice::Shuffle, 2, CodecId::Shuffle);

  SUBCASE("wrong declared size") {
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, frame, 4095), "declares 4096 bytes, expected 4095");
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, frame, 4097), "declares 4096 bytes, expected 4097");
    check_format_error(decode_guarded(dec, CodecId::Shuffle, 2, sframe, 100), "declares 4096 bytes");
  }
  SUBCASE("every truncation") {
    for (size_t len = 0; len < frame.size(); ++len) {
      CAPTURE(len);
      const auto st = decode_guarded(dec, CodecId::Zstd, 0, std::span(frame.data(), len), 4096);
      CHECK_FALSE(st.ok());
      if (!st.ok()) CHECK(st.error().kind() == ErrorKind::Format);
    }
  }
  SUBCASE("two frames, trailing garbage, skippable frames") {
    Bytes two = frame;
    two.insert(two.end(), frame.begin(), frame.end());
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, two, 4096), "bytes after its frame");
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, two, 8192), "declares 4096 bytes, expected 8192");
    Bytes garbage = frame;
    garbage.push_back(0);
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, garbage, 4096), "1 bytes after its frame");
    Bytes skip_after = frame;
    const Bytes skip = skippable_frame(16);
    skip_after.insert(skip_after.end(), skip.begin(), skip.end());
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, skip_after, 4096), "bytes after its frame");
    Bytes skip_before = skip;
    skip_before.insert(skip_before.end(), frame.begin(), frame.end());
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, skip_before, 4096), "skippable");
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, skippable_frame(0), 0), "skippable");
    check_format_error(decode_guarded(dec, CodecId::Shuffle, 2, skip, 0), "skippable");
  }
  SUBCASE("raw, zero, unknown codec, bad shuffle element size") {
    check_format_error(decode_guarded(dec, CodecId::Raw, 0, text, 4095), "raw chunk stores 4096 bytes, expected 4095");
    check_format_error(decode_guarded(dec, CodecId::Raw, 0, text, 4097), "expected 4097");
    check_format_error(decode_guarded(dec, CodecId::Zero, 0, std::span(text.data(), 1), 4096), "zero chunk has 1");
    check_format_error(decode_guarded(dec, CodecId(6), 0, frame, 4096), "unknown codec id 6");
    check_format_error(decode_guarded(dec, CodecId::Planes, 0, frame, 4096), "planes chunk has element size 0");
    check_format_error(decode_guarded(dec, CodecId(255), 0, frame, 4096), "unknown codec id 255");
    for (uint8_t elem : {0, 1, 3, 16}) {
      CAPTURE(int(elem));
      check_format_error(decode_guarded(dec, CodecId::Shuffle, elem, sframe, 4096), "element size");
    }
  }
  SUBCASE("only current zstd frames") {
    Bytes legacy = frame;
    legacy[0] = 0x27;  // 0xFD2FB527: zstd v0.7 legacy frame magic
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, legacy, 4096), "magic");
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, text, 4096), "magic");
  }
  SUBCASE("content size missing") {
    Bytes f = frame;
    f[4] &= uint8_t(~0xC0);  // FCS flag 0 and not single-segment: size unknown
    f[4] &= uint8_t(~0x20);
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, f, 4096), "does not declare");
  }
  SUBCASE("empty frames decode to nothing") {
    Bytes empty(ZSTD_compressBound(0));
    empty.resize(ZSTD_compress(empty.data(), empty.size(), nullptr, 0, 3));
    REQUIRE(ZSTD_getFrameContentSize(empty.data(), empty.size()) == 0);
    CHECK(decode_guarded(dec, CodecId::Zstd, 0, empty, 0).ok());
    CHECK(decode_guarded(dec, CodecId::Shuffle, 2, empty, 0).ok());
    check_format_error(decode_guarded(dec, CodecId::Shuffle, 2, empty, 1), "declares 0 bytes, expected 1");
  }
  SUBCASE("hand-made frames are valid when honest") {
    Guarded g(1000);
    REQUIRE(dec.decode(CodecId::Zstd, 0, rle_frame(1000, true, 0, 1, 1000), g.dst()).ok());
    CHECK(g.dst()[0] == 0x42);
    CHECK(g.dst()[999] == 0x42);
    CHECK(g.guards_intact());
    // Non-single-segment with a 2^28 window (exponent 18) is still allowed.
    REQUIRE(dec.decode(CodecId::Zstd, 0, rle_frame(1000, false, 18 << 3, 1, 1000), g.dst()).ok());
  }
  SUBCASE("window above 2^28") {
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(1000, false, 19 << 3, 1, 1000), 1000),
                       "window");
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(1000, false, (18 << 3) | 1, 1, 1000), 1000),
                       "window");
  }
  SUBCASE("decompression bombs") {
    // Declares 2 GiB; refused before any decoding.
    check_format_error(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(2ull << 30, true, 0, 1, 1000), 4096),
                       "declares 2147483648 bytes, expected 4096");
    check_format_error(decode_guarded(dec, CodecId::Shuffle, 2, rle_frame(2ull << 30, true, 0, 1, 1000), 4096),
                       "declares 2147483648 bytes");
    // Declares dst.size() but its blocks expand to 256 KiB / 2 MiB.
    CHECK_FALSE(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(4096, true, 0, 64, 4096), 4096).ok());
    CHECK_FALSE(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(4096, false, 7 << 3, 16, 128 << 10), 4096).ok());
    CHECK_FALSE(decode_guarded(dec, CodecId::Shuffle, 8, rle_frame(4096, false, 7 << 3, 16, 128 << 10), 4096).ok());
    // Declares dst.size() but decodes to less.
    CHECK_FALSE(decode_guarded(dec, CodecId::Zstd, 0, rle_frame(4096, false, 7 << 3, 1, 1000), 4096).ok());
  }
  SUBCASE("single-byte corruption never escapes dst") {
    for (size_t i = 0; i < frame.size(); ++i) {
      Bytes f = frame;
      f[i] ^= 0x5A;
      (void)decode_guarded(dec, CodecId::Zstd, 0, f, 4096);
    }
  }

  // Errors leave the decoder usable.
  Guarded g(4096);
  REQUIRE(dec.decode(CodecId::Zstd, 0, frame, g.dst()).ok());
  CHECK(std::equal(text.begin(), text.end(), g.dst().begin()));
  REQUIRE(dec.decode(CodecId::Shuffle, 2, sframe, g.dst()).ok());
  CHECK(std::equal(bf16.begin(), bf16.end(), g.dst().begin()));
}

TEST_CASE("codec registry: ids and names round-trip, unknown ids are refused") {
  using vramsnap::codec::codec_entries;
  using vramsnap::codec::find_codec;
  int previous = -1;
  for (const auto* e : codec_entries()) {
    const std::string name = e->name;
    CAPTURE(name);
    CHECK(int(e->id) > previous);  // listed in id order, each id once
    previous = int(e->id);
    CHECK(find_codec(uint8_t(e->id)) == e);
    CHECK(find_codec(std::string_view(name)) == e);
    CHECK(std::string(vramsnap::to_string(e->id)) == name);
    CHECK(std::string(vramsnap::codec::codec_name(e->id)) == name);
    CHECK(bool(e->decode));
    CHECK((e->choosable ? bool(e->encode) : true));
    CHECK((e->elem_size_ok ? e->elem_sizes != nullptr : true));
    const auto choice = vramsnap::parse_codec_choice(name);
    if (e->choosable) {
      REQUIRE(choice.has_value());
      CHECK(int(*choice) == int(e->id));
    } else {
      CHECK_FALSE(choice.has_value());
    }
  }
  CHECK(vramsnap::codec::codec_id_limit() == size_t(previous) + 1);
  for (unsigned id = 6; id < 256; ++id) {
    CHECK(find_codec(uint8_t(id)) == nullptr);
    CHECK(std::string(vramsnap::to_string(CodecId(id))) == "?");
    CHECK(std::string(vramsnap::codec::codec_name(CodecId(id))) == "unknown");
  }
  CHECK(find_codec(std::string_view("Planes")) == nullptr);
  CHECK(find_codec(std::string_view("")) == nullptr);
  CHECK(find_codec(std::string_view("ZSTD")) == nullptr);
}

TEST_CASE("codec registry and the public enums agree") {
  using vramsnap::Codec;
  using vramsnap::CodecChoice;
  CHECK(vramsnap::known_codecs() ==
        std::vector<Codec>{Codec::Zero, Codec::Raw, Codec::Zstd, Codec::Shuffle, Codec::Planes, Codec::Palette});
  CHECK(std::string(vramsnap::to_string(Codec::Planes)) == "planes");
  CHECK(std::string(vramsnap::to_string(Codec::Palette)) == "palette");
  CHECK(vramsnap::parse_codec_choice("palette") == CodecChoice::Palette);
  CHECK(vramsnap::parse_codec_choice("planes") == CodecChoice::Planes);
  CHECK(std::string(vramsnap::to_string(Codec::Zero)) == "zero");
  CHECK(std::string(vramsnap::to_string(Codec::Raw)) == "raw");
  CHECK(std::string(vramsnap::to_string(Codec::Zstd)) == "zstd");
  CHECK(std::string(vramsnap::to_string(Codec::Shuffle)) == "shuffle");
  CHECK(vramsnap::parse_codec_choice("auto") == CodecChoice::Auto);
  CHECK(vramsnap::parse_codec_choice("raw") == CodecChoice::Raw);
  CHECK(vramsnap::parse_codec_choice("zstd") == CodecChoice::Zstd);
  CHECK(vramsnap::parse_codec_choice("shuffle") == CodecChoice::Shuffle);
  for (const char* bad : {"zero", "", "Auto", "zstd ", "Planes", "?"}) CHECK_FALSE(vramsnap::parse_codec_choice(bad));
  // Properties the record checks and the writer rely on (spec 5.2, 6.3).
  using vramsnap::codec::StoredBytes;
  CHECK(vramsnap::codec::find_codec(0)->stored == StoredBytes::None);
  CHECK(vramsnap::codec::find_codec(1)->stored == StoredBytes::Verbatim);
  CHECK(vramsnap::codec::find_codec(2)->stored == StoredBytes::Compressed);
  CHECK(vramsnap::codec::find_codec(3)->stored == StoredBytes::Compressed);
  CHECK(vramsnap::codec::auto_codec(2).id == Codec::Shuffle);
  CHECK(vramsnap::codec::auto_codec(4).id == Codec::Shuffle);
  CHECK(vramsnap::codec::auto_codec(8).id == Codec::Shuffle);
  for (unsigned elem : {0u, 1u, 3u, 16u}) CHECK(vramsnap::codec::auto_codec(elem).id == Codec::Zstd);
  const auto& shuffle = *vramsnap::codec::find_codec(3);
  CHECK(vramsnap::codec::codec_for_elem_size(shuffle, 2).id == Codec::Shuffle);
  CHECK(vramsnap::codec::codec_for_elem_size(shuffle, 16).id == Codec::Zstd);
}

TEST_CASE("the encoder refuses a choice that names no codec a writer can use") {
  ChunkEncoder enc(3);
  const Bytes in(4096, 7);
  for (int bad : {0xFF, 6, 200, -1}) {
    CAPTURE(bad);
    auto r = enc.encode(in, Choice(bad), 0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
  }
}
