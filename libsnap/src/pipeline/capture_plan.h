#pragma once
// Capture, step 1: check the caller's regions and options, open the input
// files, and cut every region into chunk jobs, in file order. Nothing is
// written before the plan stands.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/file.h"
#include "vramsnap/capture.hpp"

namespace vramsnap::pipeline {

struct ChunkJob {
  uint32_t region;
  uint64_t offset;  // within the region
  uint64_t size;
  uint32_t packed = 0;  // a packed chunk: whole regions region .. region+packed-1
};

struct CapturePlan {
  std::vector<ChunkJob> jobs;                  // in file order
  std::map<std::string, io::InputFile> files;  // by path, for file regions
  uint64_t bytes_total = 0;
  bool any_device = false;                     // a device region: a GPU is required
};

// Usage errors for bad options, names, labels or pointers; Limit errors for
// caps (regions, chunks); IO errors for input files that cannot be read or
// are too short; Compat when device regions are given and no GPU is usable.
Result<CapturePlan> plan_capture(const std::vector<RegionInput>& regions, const CaptureOptions& opt);

}  // namespace vramsnap::pipeline
