#pragma once
// The slice of the CUDA backend that capture needs. Every function works in a
// build without CUDA and on a machine without a GPU: it then reports Compat.
#include <cstddef>
#include <cstdint>

#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

// Ok when a CUDA device is usable; else Compat with the reason (no driver,
// driver too old, no device, built without CUDA).
Status require_gpu();

// Fills gpu_name, compute_capability, driver_version, cuda_runtime of device 0
// when a GPU is usable; leaves them empty otherwise. Never fails.
void describe_gpu(SourceInfo& info);

// Synchronous device-to-host copy of `size` bytes on `device`.
Status copy_device_to_host(int device, const void* src, void* dst, size_t size);

// Page-locked host memory for fast device-to-host copies; nullptr when CUDA
// is unavailable (callers fall back to ordinary memory). Allocated with
// `device` selected (its primary context, not GPU 0's) and portable, so
// copies from any GPU use it at full speed; the caller's context is kept.
void* alloc_pinned(int device, size_t size);
void free_pinned(int device, void* p);  // the device it was allocated with

}  // namespace vramsnap::backend
