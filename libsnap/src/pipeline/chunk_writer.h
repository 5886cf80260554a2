#pragma once
// Capture, step 2: the chunk data area. Workers claim chunk jobs in order,
// read and encode them independently, then take turns (in job order) to
// append their stored bytes to the file. Each worker holds one chunk at a
// time and turns go in claim order, so memory in flight is threads x (chunk
// + encoded chunk) and the layout is deterministic for a given input.
#include <cstdint>
#include <vector>

#include "io/file.h"
#include "pipeline/capture_plan.h"
#include "vramsnap/capture.hpp"

namespace vramsnap::pipeline {

struct WrittenChunks {
  std::vector<ChunkEntry> entries;  // one per job, in file order
  uint64_t data_end = 0;            // aligned end of the data area: where the table goes
  unsigned threads = 0;
  uint64_t features = 0;            // required bits the chunks' contents need (EncodedChunk::features)
};

// Writes every job's stored bytes into out from format::kDataOffset on. The
// first failing job (in file order) is the error reported; cancellation
// (opt.cancel, SIGINT/SIGTERM) is an Interrupted error.
Result<WrittenChunks> write_chunks(const std::vector<RegionInput>& regions, const CapturePlan& plan,
                                   const CaptureOptions& opt, io::AtomicOutput& out);

}  // namespace vramsnap::pipeline
