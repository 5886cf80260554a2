#pragma once
// The codec registry. Every chunk codec is one CodecEntry (on-disk id, name,
// properties, encoder, decoder) defined in its own file (zero.cpp, raw.cpp,
// zstd.cpp, shuffle.cpp, planes/entry.cpp, palette/entry.cpp) and listed once in registry.cpp. Whatever names,
// validates or dispatches on a codec id asks the registry, so a new codec is
// one entry plus its section in formats/snapshot-v1.md.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "vramsnap/codec.hpp"
#include "vramsnap/error.hpp"

namespace vramsnap::codec {

struct Workspace;

// How a record's stored size relates to its raw size (formats/snapshot-v1.md 5.2).
enum class StoredBytes {
  None,        // stores nothing: stored_size = 0, stored_offset = 0
  Verbatim,    // stored_size = raw_size
  Compressed,  // 1 <= stored_size <= raw_size; a writer keeps it only if smaller
};

// Encodes raw into bytes that live in the workspace (or point at raw); valid
// until the workspace's next use. level: zstd level, already clamped.
using EncodeFn = Result<std::span<const uint8_t>> (*)(Workspace& ws, std::span<const uint8_t> raw,
                                                      unsigned elem_size, int level);
// Decodes hostile stored bytes into exactly dst.size() bytes, never writing
// beyond dst. ws is null when the caller's workspace could not be allocated.
using DecodeFn = Status (*)(Workspace* ws, unsigned elem_size, std::span<const uint8_t> stored,
                            std::span<uint8_t> dst);

struct CodecEntry {
  Codec id;                // record offset 4
  const char* name;        // as inspect, JSON output and --codec spell it
  StoredBytes stored;
  // Non-null when the record carries an element size (record offset 5): which
  // sizes are valid, and how messages list them. Otherwise elem_size is 0.
  bool (*elem_size_ok)(unsigned elem_size);
  const char* elem_sizes;
  bool choosable;          // a writer can be asked for it by name
  // Used instead when the chunk's element size is one elem_size_ok refuses.
  Codec fallback;
  // Under auto, the compressing codec with the lowest non-zero rank that takes
  // the chunk's element size is tried; 0: never chosen by auto.
  int auto_rank;
  EncodeFn encode;         // null for codecs a writer never asks for directly
  DecodeFn decode;
  // The required feature bit (section 14.2) a file must set to use it; 0
  // for the codecs of format 1.0.
  uint64_t feature = 0;
};

// nullptr when the id or name is not a codec this library knows.
const CodecEntry* find_codec(uint8_t id) noexcept;
const CodecEntry* find_codec(std::string_view name) noexcept;

// Every entry, in id order.
std::span<const CodecEntry* const> codec_entries() noexcept;

// One more than the largest known id: the size of a table indexed by codec id.
size_t codec_id_limit() noexcept;

// The codec auto tries for a chunk of this element size.
const CodecEntry& auto_codec(unsigned elem_size) noexcept;

// The entry to encode with when `chosen` is asked for and the chunk has this
// element size (chosen itself, or its fallback).
const CodecEntry& codec_for_elem_size(const CodecEntry& chosen, unsigned elem_size) noexcept;

}  // namespace vramsnap::codec
