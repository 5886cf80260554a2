#pragma once
// The codec entries, one per file; registry.cpp lists them.
#include "codec/registry.h"

namespace vramsnap::codec {

extern const CodecEntry kZeroCodec;     // zero.cpp
extern const CodecEntry kRawCodec;      // raw.cpp
extern const CodecEntry kZstdCodec;     // zstd.cpp
extern const CodecEntry kShuffleCodec;  // shuffle.cpp
extern const CodecEntry kPlanesCodec;   // planes/entry.cpp
extern const CodecEntry kPaletteCodec;  // palette/entry.cpp

}  // namespace vramsnap::codec
