#pragma once
// The planes decoder on the host (formats/snapshot-v1.md 6.4).
#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/planes/layout.h"
#include "codec/workspace.h"

namespace vramsnap::codec::planes {

// Decodes hostile stored bytes into exactly dst.size() bytes. Checks 1-5 of
// section 6.4 run before anything is written; a block that fails check 6
// fails the chunk after dst was partly written (never beyond its size).
Status decode(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

// Scratch bytes past a decoded plane's m symbols that the fast steps may write.
inline constexpr size_t kPlaneSlack = 16;

// Decodes the Huffman plane `pl` of stored bytes s[0, stored_size) into
// out[0, m + kPlaneSlack); its code tables and block ends are already checked
// (checks 4 and 5). Errors name `plane` and the failing block.
Status decode_huffman_plane(const uint8_t* s, size_t stored_size, const Plane& pl, uint32_t m, uint8_t* out,
                            unsigned plane);

// The f16 split layout (section 6.4.1, split_decode.cpp): checks S1-S5 and
// S7 before anything is written, S6 on the decoded symbols before the values.
Status decode_split(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

// The values of a split chunk's m symbols (checked) into out: AVX-512 VBMI2
// and BMI2 when `fast` and the CPU has them, else the portable loop.
// split_fast_path(): whether the CPU has them.
void split_values_chunk(const uint8_t* sym, uint32_t m, const uint8_t* low, const uint8_t* bits, uint32_t bits_size,
                        uint8_t* out, bool fast);
bool split_fast_path();

// What a fault means, for error messages ("planes chunk: ...").
const char* fault_text(Fault f);

}  // namespace vramsnap::codec::planes
