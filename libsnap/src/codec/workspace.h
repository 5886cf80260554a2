#pragma once
// A worker's codec workspace: zstd contexts and grow-only scratch buffers,
// created on first use and reused for every chunk, so the per-chunk path
// does not allocate. Shared by the codec entries; one per encoder or decoder.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "io/memory.h"
#include "vramsnap/error.hpp"

namespace vramsnap::codec {

// A grow-only byte buffer that is not zero-filled on growth (vector would
// touch every byte of a fresh 256 MiB scratch before zstd overwrites it);
// a new buffer's pages are faulted in as one batch (io::populate_for_write).
class Scratch {
 public:
  // nullptr when out of memory; never nullptr for n == 0.
  uint8_t* reserve(size_t n) {
    if (n == 0) n = 1;
    if (n > cap_) {
      std::unique_ptr<uint8_t[]> fresh(new (std::nothrow) uint8_t[n]);
      if (!fresh) return nullptr;
      buf_ = std::move(fresh);
      cap_ = n;
      io::populate_for_write({buf_.get(), n});
    }
    return buf_.get();
  }

 private:
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
};

struct Workspace {
  ZSTD_CCtx* cctx = nullptr;  // null until a chunk is compressed
  ZSTD_DCtx* dctx = nullptr;  // null until a chunk is decompressed
  Scratch out;                // encoder output
  Scratch planes;             // a chunk in byte-plane order (shuffle); the planes decoder's tables and strips
  Scratch planes_out;         // planes encoder output, beside another codec's in `out`
  Scratch palette_out;        // palette encoder output, beside both
  Scratch sample;             // auto's sample of a chunk (codec.cpp)
  // Whether the planes encoder may try the f16 split layout on 2-byte
  // elements: its fields are those of IEEE half, so a chunk known to hold
  // another 2-byte dtype (bf16, i16) skips the attempt and its cost.
  bool f16_split = true;

  Workspace() = default;
  ~Workspace() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

inline Error format_error(std::string message) { return make_error(ErrorKind::Format, std::move(message)); }

inline Error out_of_memory(size_t n) {
  return make_error(ErrorKind::Limit, "out of memory allocating " + std::to_string(n) + " bytes for a chunk");
}

}  // namespace vramsnap::codec
