#pragma once
// Capture, step 3: everything after the chunk data. Draws the snapshot id,
// builds the manifest and the chunk table, lays out table, manifest, seal
// block and trailer (formats/snapshot-v1.md 13.1), seals when a key is given,
// and writes the header and the tail into the output file.
#include <cstdint>
#include <vector>

#include "io/file.h"
#include "vramsnap/capture.hpp"

namespace vramsnap::pipeline {

struct WrittenTail {
  SnapshotMeta meta;             // as recorded in the manifest
  std::vector<RegionMeta> regions;
  uint64_t file_size = 0;
  SealInfo seal;
};

// data_end: the aligned end of the chunk data, where the table starts.
// any_device: whether GPU facts belong in the default source description.
// chunk_features: required bits the chunks' contents need (WrittenChunks::features).
Result<WrittenTail> write_file_tail(const std::vector<RegionInput>& regions, const std::vector<ChunkEntry>& entries,
                                    uint64_t chunk_features, uint64_t data_end, bool any_device,
                                    const CaptureOptions& opt, io::AtomicOutput& out);

}  // namespace vramsnap::pipeline
