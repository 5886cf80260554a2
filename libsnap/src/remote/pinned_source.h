#pragma once
// Binding what a registry serves to what a digest reference pins. Chunk
// hashes and the seal say a snapshot is self-consistent and who sealed it;
// only this says it is the snapshot the reference names, which matters for
// unsealed snapshots and for older sealed ones of the same key.
//
// The snapshot's index digest is SHA-256 over its two ends: the header page
// [0, 4096) and the seal block with the trailer [S - 288, S). The trailer
// holds the hashes of the chunk table and the manifest, and the table holds
// every chunk's hash, so those 4384 bytes commit to every byte of the file.
// A PinnedSource keeps the ends once they matched and serves them itself, so
// the reader builds on exactly the bytes that were checked; a later answer
// that disagrees with them is an integrity error.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/layout.h"
#include "vramsnap/capture.hpp"
#include "vramsnap/source.hpp"

namespace vramsnap::remote {

// The layer annotation `vramsnap push` writes: "sha256:<64 hex>".
inline constexpr const char* kIndexDigestAnnotation = "org.vramsnap.index.digest";
inline constexpr uint64_t kIndexHead = format::kDataOffset;
inline constexpr uint64_t kIndexTail = format::kSealSize + format::kTrailerSize;

// The two ends of a snapshot file of `size` bytes (at least kIndexHead +
// kIndexTail), collected from pieces read front to back.
class IndexBytes {
 public:
  explicit IndexBytes(uint64_t size);
  uint64_t size() const { return size_; }
  // Keeps what of [offset, offset + piece.size()) falls in either end.
  void take(uint64_t offset, std::span<const uint8_t> piece);
  // "sha256:<hex>" of head then tail.
  std::string digest() const;
  // Whether [offset, offset + piece.size()) agrees with the ends where they
  // overlap; the first file offset that does not, or -1.
  int64_t first_mismatch(uint64_t offset, std::span<const uint8_t> piece) const;
  const std::vector<uint8_t>& head() const { return head_; }
  const std::vector<uint8_t>& tail() const { return tail_; }

 private:
  uint64_t size_;
  std::vector<uint8_t> head_, tail_;
};

// Reads the two ends of `inner` (two requests) and checks their digest
// against `index_digest`; integrity error naming both digests otherwise.
Result<std::shared_ptr<const Source>> pin_index(std::shared_ptr<const Source> inner, const std::string& index_digest);

// For a blob whose manifest names no index digest: reads all of `inner` once,
// in bounded pieces, and checks its SHA-256 against `blob_digest`; the ends
// are kept from that same pass. `progress` (may be empty) hears of the bytes
// hashed at most ~20 times a second, and once when all are.
Result<std::shared_ptr<const Source>> pin_blob(std::shared_ptr<const Source> inner, const std::string& blob_digest,
                                               const ProgressFn& progress = {});

}  // namespace vramsnap::remote
