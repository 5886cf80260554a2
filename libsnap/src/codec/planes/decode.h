#pragma once
// The planes decoder on the host (formats/snapshot-v1.md 6.4).
#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/planes/layout.h"
#include "codec/planes/split.h"
#include "codec/workspace.h"

namespace vramsnap::codec::planes {

// Decodes hostile stored bytes into exactly dst.size() bytes. Checks 1-5 of
// section 6.4 run before anything is written; a block that fails check 6
// fails the chunk after dst was partly written (never beyond its size).
Status decode(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

// decode() with its CPU paths chosen: `fast` takes the BMI2 steps and the
// AVX-512 table builds where the CPU has them (as decode() does), else the
// portable code, so tests can check that both write the same bytes (the
// split layout of 6.4.1 takes its own paths whichever is asked for).
Status decode_with_paths(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst,
                         bool fast);

// Scratch bytes past a decoded plane's m symbols that the fast steps may write.
inline constexpr size_t kPlaneSlack = 16;

// Decodes the Huffman plane `pl` of stored bytes s[0, stored_size) into
// out[0, m + kPlaneSlack); its code tables and block ends are already checked
// (checks 4 and 5). Errors name `plane` and the failing block.
Status decode_huffman_plane(const uint8_t* s, size_t stored_size, const Plane& pl, uint32_t m, uint8_t* out,
                            unsigned plane);

// The f16 split layout (section 6.4.1, split_decode.cpp): checks S1-S5 and
// S7 before anything is written, S6 for each block as its values are written.
Status decode_split(Workspace& ws, unsigned elem_size, std::span<const uint8_t> stored, std::span<uint8_t> dst);

// Its two passes, each with a fast build (BMI2 and AVX-512 VBMI2, used when
// `fast` and split_fast_path()) and a portable one; on a fault *block names
// the block. split_symbols(): the m symbols of a layout checked for S1-S5
// and S7 into out[0, m) (S6's stream part). split_values_checked(): the
// values of those symbols into out[0, 2m), each block's count checked (the
// rest of S6) before or as its values are written.
Fault split_symbols(const uint8_t* s, uint64_t stored_size, const Plane& pl, uint32_t m, uint8_t* out, bool fast,
                    uint32_t* block);
Fault split_values_checked(const uint8_t* sym, const SplitLayout& lay, const uint8_t* s, uint8_t* out, bool fast,
                           uint32_t* block);
bool split_fast_path();

// What a fault means, for error messages ("planes chunk: ...").
const char* fault_text(Fault f);

}  // namespace vramsnap::codec::planes
