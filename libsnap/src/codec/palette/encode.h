#pragma once
// The palette encoder (formats/snapshot-v1.md 6.5), host only.
#include <cstdint>
#include <span>

#include "codec/workspace.h"

namespace vramsnap::codec::palette {

// Encodes raw (elem_size 2, 4 or 8) into ws.palette_out, or returns an empty
// span (the chunk is declined) when a table group holds more than 256
// distinct element values or the chunk has no whole element. The result
// may be larger than raw for tiny chunks (the caller then stores the chunk
// raw). Uses ws.planes as scratch.
Result<std::span<const uint8_t>> encode(Workspace& ws, std::span<const uint8_t> raw, unsigned elem_size);

}  // namespace vramsnap::codec::palette
