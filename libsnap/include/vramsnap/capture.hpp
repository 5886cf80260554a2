#pragma once
// Writing snapshots. Streaming and parallel: memory in flight is bounded by
// threads x chunk size, never by the snapshot size. Output goes to a temp
// file in the target directory, is fsynced and renamed into place; on any
// error or cancellation nothing is left under the final name.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/codec.hpp"
#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/key.hpp"
#include "vramsnap/snapshot.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap {

// Where a region's bytes come from.
class VRAMSNAP_API RegionInput {
 public:
  // Bytes [offset, offset + meta.size) of a regular file.
  static RegionInput from_file(RegionMeta meta, std::string path, uint64_t offset = 0);
  // Host memory the caller keeps alive and unchanged until capture returns.
  static RegionInput from_host(RegionMeta meta, const void* data);
  // CUDA device memory (current context of meta.device); meta.va defaults to
  // the pointer. Fails with Compat when no GPU is usable.
  static RegionInput from_device(RegionMeta meta, const void* device_ptr);

  const RegionMeta& meta() const { return meta_; }
  RegionMeta& meta() { return meta_; }

  enum class Source { File, Host, Device };
  Source source() const { return source_; }
  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }
  const void* pointer() const { return ptr_; }

 private:
  RegionMeta meta_;
  Source source_ = Source::File;
  std::string path_;
  uint64_t offset_ = 0;
  const void* ptr_ = nullptr;
};

struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};
// Called from worker threads (serialised by the library), at most ~20 times a second.
using ProgressFn = std::function<void(const Progress&)>;

// How each chunk's hash is computed (formats/snapshot-v1.md 5.4).
// LeafSha256: over 16 KiB leaves (format 1.1, feature leaf-sha256), so a GPU
// verifies a chunk in parallel; on a CPU core it costs what the flat hash
// does. Sha256: the flat hash of format 1.0, for readers older than 1.1.
enum class ChunkHash : uint8_t { Sha256 = 0, LeafSha256 = 1 };
VRAMSNAP_API const char* to_string(ChunkHash h) noexcept;  // "sha256", "leaf-sha256"
VRAMSNAP_API std::optional<ChunkHash> parse_chunk_hash(const std::string& s) noexcept;

struct CaptureOptions {
  uint64_t chunk_size = 4ull << 20;  // 64 KiB .. 256 MiB, power of two not required
  // Regions smaller than this (and than chunk_size) that follow one another
  // share packed chunks (format 1.3, feature packed-regions) instead of each
  // taking its own aligned chunk and compression context. 0: never pack.
  // Unset: 64 KiB in leaf-hashed files, none with ChunkHash::Sha256 (a file
  // for readers older than 1.1 cannot use format 1.3 either).
  std::optional<uint64_t> pack_below;
  CodecChoice codec = CodecChoice::Auto;  // parse_codec_choice() spells it
  int level = 3;                      // zstd level
  ChunkHash chunk_hash = ChunkHash::LeafSha256;
  unsigned threads = 0;               // 0: all cores
  bool overwrite = false;
  uint64_t generation = 0;
  std::map<std::string, std::string> labels;
  std::optional<SourceInfo> source;   // default: described from the machine
  const Key* key = nullptr;           // seal as it writes, with the algorithm for the key's type
  ProgressFn progress;
  const std::atomic<bool>* cancel = nullptr;
};

struct RegionSummary {
  RegionMeta meta;
  uint64_t stored = 0;   // stored bytes (excluding padding)
  uint64_t chunks = 0;
  // Chunks per codec, indexed by Codec id; one entry per id up to the largest
  // known_codecs() value, so ids a region does not use count 0.
  std::vector<uint64_t> codec_chunks;
};

struct CaptureSummary {
  std::string path;
  std::string id_hex;
  uint64_t file_size = 0;
  uint64_t raw_total = 0;
  uint64_t stored_total = 0;
  double seconds = 0;
  unsigned threads = 0;
  SealInfo seal;
  std::vector<RegionSummary> regions;
};

VRAMSNAP_API Result<CaptureSummary> capture(const std::string& out_path, const std::vector<RegionInput>& regions,
                                            const CaptureOptions& options);

// A capture session for serving processes: register regions (host memory,
// device memory, files), then write. The session only records pointers; the
// memory must stay valid and unchanged until write() returns.
class VRAMSNAP_API Capture {
 public:
  Capture& add_host(RegionMeta meta, const void* data);
  Capture& add_device(RegionMeta meta, const void* device_ptr);
  Capture& add_file(RegionMeta meta, std::string path, uint64_t offset = 0);
  Result<CaptureSummary> write(const std::string& path, const CaptureOptions& options) const;
  const std::vector<RegionInput>& regions() const { return regions_; }

 private:
  std::vector<RegionInput> regions_;
};

// Describes this machine (host name, and GPU / driver / runtime when a GPU is usable).
VRAMSNAP_API SourceInfo describe_source();

}  // namespace vramsnap
