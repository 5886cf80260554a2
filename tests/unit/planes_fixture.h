// Shared by the planes, palette and f16-split tests: a destination with
// guard bytes on both sides, and the batch kernel's phases run on the host
// over one chunk, so the CPU decoder and the GPU grid are checked alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/planes/batch.h"

namespace planes_fixture {

struct Guarded {
  static constexpr size_t kGuard = 256;
  std::vector<uint8_t> buf;
  explicit Guarded(size_t n) : buf(n + 2 * kGuard, 0xA5) {}
  std::span<uint8_t> dst() { return {buf.data() + kGuard, buf.size() - 2 * kGuard}; }
  bool intact() const {
    for (size_t i = 0; i < kGuard; ++i)
      if (buf[i] != 0xA5 || buf[buf.size() - 1 - i] != 0xA5) return false;
    return true;
  }
};

// The batch kernel's phases over one chunk (palette: a codec 5 chunk);
// returns the chunk's fault status, 0 when it decoded.
inline uint32_t grid_decode(std::span<const uint8_t> stored, unsigned e, std::span<uint8_t> dst,
                            bool palette = false) {
  namespace planes = vramsnap::codec::planes;
  planes::PlanesJob job{stored.data(), stored.size(), dst.data(), dst.size(), e, 0, palette ? 1u : 0u};
  uint32_t status = 0;
  planes::PlanesBatch b{&job, 1, planes::assign_slices(&job, 1), &status, nullptr};
  auto st = std::make_unique<planes::SliceState>();
  planes::run_grid_on_host(b, *st);
  return status;
}

}  // namespace planes_fixture
