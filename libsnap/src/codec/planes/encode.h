#pragma once
// The planes encoder (formats/snapshot-v1.md 6.4), host only.
#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/workspace.h"

namespace vramsnap::codec::planes {

// A plane is Huffman-coded only when that saves at least this fraction of
// it; planes closer to random stay raw, which keeps them a copy to decode.
inline constexpr double kMinPlaneSaving = 0.02;

// Encodes raw (elem_size 2, 4 or 8) into ws.planes_out; the result may be larger
// than raw for tiny chunks (the caller then stores the chunk raw).
Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned elem_size);

}  // namespace vramsnap::codec::planes
