// Moving chunks to their GPU (cuda_sink.h). Host-verified chunks are decoded
// (or read) straight into a staging buffer when one is free and fits,
// otherwise into the worker's host buffer and copied in pieces; leaf-hashed
// raw chunks go unhashed from the file through staging into their
// destination and are hashed there (device_verify.h); leaf-hashed planes
// chunks go unhashed into a device staging area, are hashed there and decoded
// into their destination only where the hash matched (device_decode.h). Zero
// chunks are a cudaMemsetAsync.
#ifdef VRAMSNAP_HAVE_CUDA
#include "backend/cuda_sink.h"

#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "backend/cuda_check.h"
#include "backend/staging_plan.h"
#include "pipeline/stages.h"

namespace vramsnap::backend {

Result<std::span<uint8_t>> CudaSink::acquire(unsigned w, size_t i, pipeline::WorkerClock&) {
  const auto& c = s_.chunks[i];
  if (s_.regions[c.region].kind != RegionKind::Device)
    return std::span<uint8_t>(host_base_[c.region] + c.region_offset, c.raw_size);
  TargetGpu& g = gpu(c.region);
  // A chunk that fits a staging buffer free now lands in it directly: no
  // host copy. Never waits for one: buffers held through read, hash and
  // decode would otherwise cap the workers at the pool's size.
  if (g.has_pool() && c.raw_size <= g.pool().buffer_bytes()) {
    if (PinnedPool::Buffer* b = g.pool().try_take()) {
      workers_[w].held = b;
      return std::span<uint8_t>(b->data, c.raw_size);
    }
  }
  const auto dst = workers_[w].scratch.reserve(c.raw_size);
  if (dst.size() != c.raw_size)
    return Error(ErrorKind::Limit, fmt::format("{}: out of host memory for a {}-byte chunk buffer", s_.path, c.raw_size));
  return dst;
}

void CudaSink::abandon(unsigned w, size_t i) {
  if (PinnedPool::Buffer* b = std::exchange(workers_[w].held, nullptr)) gpu(s_.chunks[i].region).pool().give_back(b);
}

Status CudaSink::commit(unsigned w, size_t i, std::span<uint8_t> bytes, pipeline::WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  if (s_.regions[c.region].kind != RegionKind::Device) return {};
  pipeline::PhaseTimer t(clk.copy_ns);
  TargetGpu& g = gpu(c.region);
  PinnedPool::Buffer* held = std::exchange(workers_[w].held, nullptr);
  const cudaError_t e = cudaSetDevice(g.ordinal());
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (held) g.pool().give_back(held);
    return cuda_error(e, "cudaSetDevice", __FILE__, __LINE__);
  }
  g.placed += c.raw_size;
  const uint64_t dst = dev_base_[c.region] + c.region_offset;
  if (held) return g.copy(w, held, reinterpret_cast<void*>(dst), bytes.size());
  return stage(w, g, dst, bytes);
}

// One region of a packed chunk (spec 5.5): a packed chunk scatters to as
// many destinations as it holds regions.
Status CudaSink::place_region(unsigned w, size_t r, std::span<const uint8_t> bytes, pipeline::WorkerClock& clk) {
  pipeline::PhaseTimer t(clk.copy_ns);
  if (s_.regions[r].kind != RegionKind::Device) {
    std::memcpy(host_base_[r], bytes.data(), bytes.size());
    return {};
  }
  TargetGpu& g = gpu(r);
  SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
  g.placed += bytes.size();
  return stage(w, g, dev_base_[r], bytes);
}

Status CudaSink::stage(unsigned w, TargetGpu& g, uint64_t dst, std::span<const uint8_t> bytes) {
  for (const auto& piece : split_into_pieces(0, bytes.size(), g.pool().buffer_bytes())) {
    VRAMSNAP_ASSIGN_OR_RETURN(PinnedPool::Buffer * b, g.pool().take());
    std::memcpy(b->data, bytes.data() + piece.src_offset, piece.size);
    VRAMSNAP_TRY(g.copy(w, b, reinterpret_cast<void*>(dst + piece.dst_offset), piece.size));
  }
  return {};
}

// Zero chunks never cross PCIe: the worker's stream clears the range.
Status CudaSink::commit_zero(unsigned w, size_t i, pipeline::WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  if (s_.regions[c.region].kind != RegionKind::Device) {
    pipeline::PhaseTimer t(clk.decode_ns);
    std::memset(host_base_[c.region] + c.region_offset, 0, c.raw_size);
    return {};
  }
  pipeline::PhaseTimer t(clk.copy_ns);
  TargetGpu& g = gpu(c.region);
  SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
  g.placed += c.raw_size;
  void* dst = reinterpret_cast<void*>(dev_base_[c.region] + c.region_offset);
  SNAP_CUDA_TRY(cudaMemsetAsync(dst, 0, c.raw_size, g.stream(w)));
  return {};
}

// Stored bytes go from the file into pinned staging and over PCIe straight
// into their destination, unhashed; the chunk joins its stream's batch and
// is hashed on the GPU after those copies.
Status CudaSink::place_unverified(unsigned w, size_t i, pipeline::WorkerClock& clk) {
  if (device_decode_[i]) return place_decoded(w, i, clk);
  const auto& c = s_.chunks[i];
  TargetGpu& g = gpu(c.region);
  SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
  const uint64_t dst = dev_base_[c.region] + c.region_offset;
  for (const auto& piece : split_into_pieces(0, c.stored_size, g.pool().buffer_bytes())) {
    VRAMSNAP_ASSIGN_OR_RETURN(PinnedPool::Buffer * b, g.pool().take());
    auto st = pipeline::read_unverified(s_, i, piece.src_offset, {b->data, piece.size}, clk);
    if (!st.ok()) {
      g.pool().give_back(b);
      return st;
    }
    pipeline::PhaseTimer t(clk.copy_ns);
    VRAMSNAP_TRY(g.copy(w, b, reinterpret_cast<void*>(dst + piece.dst_offset), piece.size));
  }
  g.placed += c.raw_size;
  g.verified += c.raw_size;
  pipeline::PhaseTimer t(clk.copy_ns);
  return g.verify(w, i, dst, c.raw_size, c.hash);
}

// Stored bytes of a planes chunk go from the file through pinned staging
// into the stream's device staging area, unhashed; the stream's decode
// batch hashes them there and decodes the matching ones into place.
Status CudaSink::place_decoded(unsigned w, size_t i, pipeline::WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  TargetGpu& g = gpu(c.region);
  SNAP_CUDA_TRY(cudaSetDevice(g.ordinal()));
  VRAMSNAP_ASSIGN_OR_RETURN(const uint64_t at, g.stage(w, i, c, dev_base_[c.region] + c.region_offset));
  for (const auto& piece : split_into_pieces(0, c.stored_size, g.pool().buffer_bytes())) {
    auto b = g.pool().take();
    if (!b.ok()) {
      g.unstage(w);
      return std::move(b).error();
    }
    auto st = pipeline::read_unverified(s_, i, piece.src_offset, {(*b)->data, piece.size}, clk);
    if (!st.ok()) {
      g.pool().give_back(*b);
      g.unstage(w);
      return st;
    }
    pipeline::PhaseTimer t(clk.copy_ns);
    st = g.copy(w, *b, reinterpret_cast<void*>(at + piece.dst_offset), piece.size);
    if (!st.ok()) {
      g.unstage(w);
      return st;
    }
  }
  g.placed += c.raw_size;
  g.verified += c.raw_size;
  g.decoded += c.raw_size;
  pipeline::PhaseTimer t(clk.copy_ns);
  return g.staged(w);
}

}  // namespace vramsnap::backend
#endif
