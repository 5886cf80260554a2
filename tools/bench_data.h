#pragma once
// Deterministic synthetic data for `vramsnap bench` (kept with the tool, not
// shipped in the library, as zstd keeps its datagen in programs/): weight-like bf16 and
// f32 values from N(0, 0.02), zeros, incompressible random bytes, and a mix.
//
// The output is a pure function of (pattern, seed, absolute byte offset): the
// data is cut into 64 KiB blocks, each generated from its own seed, so any
// slice comes out the same whatever the thread count or the slicing. No block
// repeats another (zstd would find long matches across repeated tables and
// flatter every compression ratio).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vramsnap/error.hpp"

namespace vramsnap::cli::synth {

enum class Pattern {
  Bf16,    // N(0, 0.02) rounded to bfloat16 (round to nearest even)
  F32,     // N(0, 0.02) as float32
  Zeros,   // all zero
  Random,  // uniform random bytes (incompressible)
  Mixed,   // per 64 KiB block: ~80% bf16, ~15% zero, ~5% random
};

inline constexpr uint64_t kBlockSize = 64 * 1024;
inline constexpr uint64_t kDefaultSeed = 0x5eed'0000'7a11'0001ull;

std::optional<Pattern> parse_pattern(std::string_view name);  // "bf16", "f32", "zeros", "random", "mixed"
const char* to_string(Pattern p) noexcept;
// dtype name recorded for a region of this pattern ("bf16", "f32", "u8").
const char* dtype_of(Pattern p) noexcept;

// Fills `out` with bytes [offset, offset + out.size()) of the pattern's
// stream for `seed`, on `threads` threads (0: all cores).
Status generate(Pattern p, uint64_t seed, uint64_t offset, std::span<uint8_t> out, unsigned threads = 0);

// Writes `size` bytes of the stream to `path` (temp file + fsync + rename;
// refuses to replace an existing file unless `overwrite`).
Status write_file(const std::string& path, Pattern p, uint64_t seed, uint64_t size, unsigned threads = 0,
                  bool overwrite = false);

}  // namespace vramsnap::cli::synth
