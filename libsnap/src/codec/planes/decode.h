#pragma once
// The planes decoder on the host (formats/snapshot-v1.md 6.4).
#include <cstdint>
#include <span>

#include "codec/planes/layout.h"
#include "codec/workspace.h"

namespace vramsnap::codec::planes {

// Decodes hostile stored bytes into exactly dst.size() bytes. Checks 1-5 of
// section 6.4 run before anything is written; a block that fails check 6
// fails the chunk after dst was partly written (never beyond its size).
Status decode(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

// What a fault means, for error messages ("planes chunk: ...").
const char* fault_text(Fault f);

}  // namespace vramsnap::codec::planes
