#pragma once
// Chunk codecs as the public API sees them: the codec a chunk is stored with,
// and the codec a writer is asked for. Both enums are open: their values are
// on-disk codec ids (formats/snapshot-v1.md section 6), later versions add
// codecs, and code must not assume the names below are every value;
// known_codecs() lists the codecs this library reads and writes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/export.h"

namespace vramsnap {

enum class Codec : uint8_t { Zero = 0, Raw = 1, Zstd = 2, Shuffle = 3, Planes = 4, Palette = 5 };

// The codec's name ("zero", "raw", "zstd", "shuffle", "planes", "palette"), or "?" for an id this
// library does not know.
VRAMSNAP_API const char* to_string(Codec codec) noexcept;

// Every codec this library knows, by id.
VRAMSNAP_API std::vector<Codec> known_codecs();

// Auto picks a codec per chunk (formats/snapshot-v1.md 6.3). Any other value
// is the id of the codec to use; id 0 (zero) is never asked for by name, so
// it means auto here.
enum class CodecChoice { Auto = 0, Raw = 1, Zstd = 2, Shuffle = 3, Planes = 4, Palette = 5 };

// "auto", or the name of a codec a writer can be asked for.
VRAMSNAP_API std::optional<CodecChoice> parse_codec_choice(const std::string& s) noexcept;

}  // namespace vramsnap
