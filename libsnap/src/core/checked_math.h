#pragma once
// Overflow-checked arithmetic for every size and offset read from a file.
#include <cstdint>
#include <optional>

namespace vramsnap::core {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Rounds v up to a multiple of `align` (a power of two); nullopt on overflow.
inline std::optional<uint64_t> checked_align_up(uint64_t v, uint64_t align) {
  auto s = checked_add(v, align - 1);
  if (!s) return std::nullopt;
  return *s & ~(align - 1);
}

constexpr uint64_t align_up(uint64_t v, uint64_t align) { return (v + align - 1) & ~(align - 1); }

// True when [off, off+len) lies inside [lo, hi) without overflow.
inline bool range_within(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi) {
  auto end = checked_add(off, len);
  return end && off >= lo && *end <= hi;
}

}  // namespace vramsnap::core
