// The list of codecs and the lookups over it, public names included. The
// list is short, so lookups scan it; that costs a few compares per chunk.
#include "codec/registry.h"

#include <algorithm>
#include <array>

#include "codec/entries.h"

namespace vramsnap::codec {
namespace {

// In id order. A new codec: its file, its line here, its spec section.
constexpr std::array<const CodecEntry*, 6> kEntries = {&kZeroCodec,    &kRawCodec,    &kZstdCodec,
                                                        &kShuffleCodec, &kPlanesCodec, &kPaletteCodec};

// A writer's choice names a codec by its id (vramsnap/codec.hpp).
static_assert(int(CodecChoice::Raw) == int(Codec::Raw));
static_assert(int(CodecChoice::Zstd) == int(Codec::Zstd));
static_assert(int(CodecChoice::Shuffle) == int(Codec::Shuffle));
static_assert(int(CodecChoice::Planes) == int(Codec::Planes));
static_assert(int(CodecChoice::Palette) == int(Codec::Palette));

}  // namespace

const CodecEntry* find_codec(uint8_t id) noexcept {
  for (const CodecEntry* e : kEntries)
    if (uint8_t(e->id) == id) return e;
  return nullptr;
}

const CodecEntry* find_codec(std::string_view name) noexcept {
  for (const CodecEntry* e : kEntries)
    if (name == e->name) return e;
  return nullptr;
}

std::span<const CodecEntry* const> codec_entries() noexcept { return kEntries; }

size_t codec_id_limit() noexcept {
  size_t limit = 0;
  for (const CodecEntry* e : kEntries) limit = std::max<size_t>(limit, size_t(e->id) + 1);
  return limit;
}

const CodecEntry& codec_for_elem_size(const CodecEntry& chosen, unsigned elem_size) noexcept {
  // Fallbacks form a short chain (palette -> planes -> zstd) that ends at a
  // codec taking any element size.
  const CodecEntry* e = &chosen;
  while (e && e->elem_size_ok && !e->elem_size_ok(elem_size)) e = find_codec(uint8_t(e->fallback));
  return e ? *e : kRawCodec;
}

const CodecEntry& auto_codec(unsigned elem_size) noexcept {
  const CodecEntry* best = nullptr;
  for (const CodecEntry* e : kEntries) {
    if (e->auto_rank <= 0 || (e->elem_size_ok && !e->elem_size_ok(elem_size))) continue;
    if (!best || e->auto_rank < best->auto_rank) best = e;
  }
  return best ? *best : kRawCodec;
}

}  // namespace vramsnap::codec

namespace vramsnap {

const char* to_string(Codec codec) noexcept {
  const codec::CodecEntry* e = codec::find_codec(uint8_t(codec));
  return e ? e->name : "?";
}

std::vector<Codec> known_codecs() {
  std::vector<Codec> out;
  for (const codec::CodecEntry* e : codec::codec_entries()) out.push_back(e->id);
  return out;
}

std::optional<CodecChoice> parse_codec_choice(const std::string& s) noexcept {
  if (s == "auto") return CodecChoice::Auto;
  const codec::CodecEntry* e = codec::find_codec(std::string_view(s));
  if (!e || !e->choosable) return std::nullopt;
  return static_cast<CodecChoice>(e->id);
}

}  // namespace vramsnap
