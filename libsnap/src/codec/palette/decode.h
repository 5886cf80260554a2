#pragma once
// The palette decoder on the host (formats/snapshot-v1.md 6.5).
#include <cstdint>
#include <span>

#include "codec/workspace.h"

namespace vramsnap::codec::palette {

// Decodes hostile stored bytes into exactly dst.size() bytes. Checks 1-6 of
// section 6.5 run before anything is written; a block that fails check 7
// fails the chunk after dst was partly written (never beyond its size).
Status decode(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

}  // namespace vramsnap::codec::palette
