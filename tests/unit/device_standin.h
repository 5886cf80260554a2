#pragma once
// Host stand-ins for the GPU, shared by the device verify, device decode and
// leaf hash tests: the leaf kernels' per-warp and per-chunk logic looped on
// the host over a batch whose pointers are host memory, and the part of a
// device sink that keeps "device memory" in host vectors. The tests add what
// their sink does on the device (place_unverified, launches, verdicts).
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "backend/kernels/leaf_hash.cuh"
#include "crypto/sha256_core.h"
#include "format/snapshot_data.h"
#include "pipeline/sink.h"

namespace vtest {

// Runs the leaf kernels over `jobs` (first_leaf set, `leaves` in all) and
// returns each chunk's verdict; with `roots`, each chunk's root too.
inline std::vector<uint32_t> run_leaf_kernels_on_host(std::vector<vramsnap::backend::kernels::ChunkJob>& jobs,
                                                      uint64_t leaves, std::vector<std::array<uint8_t, 32>>* roots = nullptr) {
  namespace k = vramsnap::backend::kernels;
  namespace core = vramsnap::crypto::sha256core;
  std::vector<uint8_t> digests(leaves * 32, 0xEE);
  std::vector<uint32_t> verdicts(jobs.size(), 7);
  k::Batch b{jobs.data(), static_cast<uint32_t>(jobs.size()), leaves, digests.data(), verdicts.data()};
  alignas(16) uint8_t stage[k::kWarp * k::kStageBytes];
  k::LeafRef refs[k::kWarp];
  bool done[k::kWarp];
  core::State states[k::kWarp];
  for (uint64_t first = 0; first < leaves; first += k::kWarp)
    k::hash_warp_leaves(
        b, first, stage, refs, done,
        [](auto&& f) {
          for (uint32_t lane = 0; lane < k::kWarp; ++lane) f(lane);
        },
        [&](uint32_t lane) -> core::State& { return states[lane]; }, [] {});
  for (uint32_t c = 0; c < jobs.size(); ++c) {
    std::array<uint8_t, 32> root{};
    verdicts[c] = k::root_matches(b, c, root.data());
    if (roots) roots->push_back(root);
  }
  return verdicts;
}

// A sink whose "device memory" is one host vector per region, zeroed at
// prepare: chunks the engine verifies itself are decoded in place, packed
// regions copied; what the device would do is the derived sink's.
class HostMemorySink : public vramsnap::pipeline::Sink {
 public:
  explicit HostMemorySink(const vramsnap::SnapshotData& s) : s_(s), mem_(s.regions.size()) {}
  vramsnap::Status prepare(unsigned, vramsnap::PhaseTimes&) override {
    for (size_t r = 0; r < s_.regions.size(); ++r) mem_[r].assign(s_.regions[r].size, 0);
    return {};
  }
  vramsnap::Result<std::span<uint8_t>> acquire(unsigned, size_t i, vramsnap::pipeline::WorkerClock&) override {
    return std::span<uint8_t>(dst(i), s_.chunks[i].raw_size);
  }
  vramsnap::Status commit(unsigned, size_t, std::span<uint8_t>, vramsnap::pipeline::WorkerClock&) override { return {}; }
  vramsnap::Status place_region(unsigned, size_t r, std::span<const uint8_t> bytes,
                                vramsnap::pipeline::WorkerClock&) override {
    std::copy(bytes.begin(), bytes.end(), mem_[r].begin());
    return {};
  }
  void abandon(unsigned, size_t) override { ++abandoned; }
  const std::vector<uint8_t>& region(size_t r) const { return mem_[r]; }
  int abandoned = 0;

 protected:
  // Chunk i's place in its region's memory.
  uint8_t* dst(size_t i) { return mem_[s_.chunks[i].region].data() + s_.chunks[i].region_offset; }
  const vramsnap::SnapshotData& s_;

 private:
  std::vector<std::vector<uint8_t>> mem_;
};

}  // namespace vtest
