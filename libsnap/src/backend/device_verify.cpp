#include "backend/device_verify.h"

#include <cstring>

#include <fmt/format.h>

namespace vramsnap::backend {

bool device_kernels_built() {
#ifdef VRAMSNAP_HAVE_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

Status check_verify_on(VerifyOn verify_on, bool kernels_built) {
  if (verify_on == VerifyOn::Device && !kernels_built)
    return Error(ErrorKind::Compat, "--verify-on device: this vramsnap was built without its GPU kernels (no nvcc, or "
                                    "a sanitizer build); use --verify-on host or auto");
  return {};
}

bool verify_on_device(VerifyOn verify_on, bool kernels_built, ChunkHashScheme scheme, const ChunkEntry& c,
                      RegionKind kind, uint64_t dst) {
  return verify_on != VerifyOn::Host && kernels_built && scheme == ChunkHashScheme::Leaf16k &&
         c.codec == Codec::Raw && !c.packed_regions && kind == RegionKind::Device && dst % 16 == 0 && c.raw_size > 0;
}

bool VerifyBatch::add(size_t chunk, uint64_t device_ptr, uint64_t size, const std::array<uint8_t, 32>& hash) {
  const uint64_t leaves = kernels::leaves_of(size);
  if (jobs_.size() >= max_chunks_ || leaves > max_leaves_ - leaves_) return false;
  kernels::ChunkJob j{};
  j.data = reinterpret_cast<const uint8_t*>(device_ptr);
  j.size = size;
  j.first_leaf = leaves_;
  std::memcpy(j.expect, hash.data(), sizeof j.expect);
  jobs_.push_back(j);
  chunks_.push_back(chunk);
  leaves_ += leaves;
  return true;
}

void VerifyBatch::clear() {
  jobs_.clear();
  chunks_.clear();
  leaves_ = 0;
}

std::vector<pipeline::ChunkFailure> failures_from_verdicts(const SnapshotData& s, const std::vector<size_t>& slot_chunk,
                                                           const std::vector<uint32_t>& verdicts, int gpu) {
  std::vector<pipeline::ChunkFailure> out;
  for (size_t k = 0; k < slot_chunk.size(); ++k) {
    if (k < verdicts.size() && verdicts[k] == 1) continue;
    out.push_back({slot_chunk[k], Error(ErrorKind::Integrity,
                                        format::chunk_context(s, slot_chunk[k]) +
                                            fmt::format(": SHA-256 mismatch, checked on GPU {} (corrupt or tampered)", gpu))});
  }
  return out;
}

}  // namespace vramsnap::backend
