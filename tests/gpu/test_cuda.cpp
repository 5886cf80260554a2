// GPU tests (ctest label "gpu"): exit 77 (skipped) when no CUDA GPU is usable.
// Round trip through device memory, fixed-VA restore and a taken range,
// device maps (several GPUs when present), out-of-memory cleanup, many chunks over several streams, module loading,
// planes chunks hashed and decoded on the GPU against the host path, and refused when tampered.
// Prints "N passed, N failed".
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu_check.h"
#include "vramsnap/capture.hpp"
#include "vramsnap/restore.hpp"

using namespace vramsnap;


static std::string g_dir;

static std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng() & 0x3F);  // compressible, not trivial
  return v;
}

static RegionMeta device_meta(const std::string& name, uint64_t size, uint32_t flags = 0) {
  RegionMeta m;
  m.name = name;
  m.kind = RegionKind::Device;
  m.size = size;
  m.dtype = "u8";
  m.device = 0;
  m.flags = flags;
  return m;
}

static std::vector<uint8_t> read_device(uint64_t ptr, size_t n) {
  std::vector<uint8_t> v(n);
  cudaMemcpy(v.data(), reinterpret_cast<void*>(ptr), n, cudaMemcpyDeviceToHost);
  return v;
}

// Device buffers -> capture from device -> restore to device -> compare.
static void round_trip(bool read_mostly, unsigned threads, uint64_t chunk) {
  const size_t sizes[] = {1, 4097, 3u << 20, 9u << 20};
  std::vector<std::vector<uint8_t>> host;
  std::vector<void*> dev;
  Capture cap;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    host.push_back(random_bytes(sizes[i], 100 + i));
    void* d = nullptr;
    cudaMalloc(&d, sizes[i]);
    cudaMemcpy(d, host.back().data(), sizes[i], cudaMemcpyHostToDevice);
    dev.push_back(d);
    cap.add_device(device_meta("r" + std::to_string(i), sizes[i], read_mostly ? kFlagReadMostly : 0), d);
  }
  const std::string path = g_dir + "/rt.snap";
  CaptureOptions co;
  co.chunk_size = chunk;
  co.overwrite = true;
  co.threads = threads;
  auto sum = cap.write(path, co);
  CHECK(sum.ok(), "capture: %s", sum.ok() ? "" : sum.error().message().c_str());
  for (void* d : dev) cudaFree(d);
  if (!sum.ok()) return;
  auto snap = Snapshot::open(path);
  CHECK(snap.ok(), "open");
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  ro.threads = threads;
  auto r = restore(*snap, ro);
  CHECK(r.ok(), "restore: %s", r.ok() ? "" : r.error().message().c_str());
  if (!r.ok()) return;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    const auto* rr = r->find("r" + std::to_string(i));
    CHECK(rr && rr->device_ptr, "region %zu not on the device", i);
    if (rr && rr->device_ptr) CHECK(read_device(rr->device_ptr, sizes[i]) == host[i], "region %zu differs", i);
  }
}

// The VMM driver calls the fixed-VA test reserves its own range with: the
// test then knows the range is free again once it gives it back, which
// cudaFree does not promise (the runtime may keep freed ranges).
struct Vmm {
  CUresult (*reserve)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long) = nullptr;
  CUresult (*address_free)(CUdeviceptr, size_t) = nullptr;
  CUresult (*create)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long) = nullptr;
  CUresult (*release)(CUmemGenericAllocationHandle) = nullptr;
  CUresult (*map)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long) = nullptr;
  CUresult (*unmap)(CUdeviceptr, size_t) = nullptr;
  CUresult (*set_access)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t) = nullptr;
  CUresult (*granularity)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags) = nullptr;

  template <class F>
  static bool get(const char* name, F& f) {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      return false;
    f = reinterpret_cast<F>(p);
    return true;
  }
  bool load() {
    return get("cuMemAddressReserve", reserve) && get("cuMemAddressFree", address_free) && get("cuMemCreate", create) &&
           get("cuMemRelease", release) && get("cuMemMap", map) && get("cuMemUnmap", unmap) &&
           get("cuMemSetAccess", set_access) && get("cuMemGetAllocationGranularity", granularity);
  }
};

// Two regions at unaligned addresses inside one allocation, sharing a
// granule: capture records the enclosing allocation; a fixed-VA restore
// while the range is still mapped fails with Resource; once the test has
// given the range back, the restore maps the allocation's aligned range once
// and both regions come back at their addresses.
static void fixed_va() {
  Vmm vmm;
  if (!vmm.load()) {
    std::fprintf(stderr, "fixed-va test skipped: the driver lacks the VMM entry points\n");
    return;
  }
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 0;
  size_t gran = 0;
  if (vmm.granularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM) != CUDA_SUCCESS || gran == 0) {
    std::fprintf(stderr, "fixed-va test skipped: no VMM granularity for GPU 0\n");
    return;
  }
  const size_t size = 3 * gran;
  CUdeviceptr base = 0;
  CUmemGenericAllocationHandle h = 0;
  CHECK(vmm.reserve(&base, size, 0, 0, 0) == CUDA_SUCCESS, "cuMemAddressReserve");
  CHECK(vmm.create(&h, size, &prop, 0) == CUDA_SUCCESS, "cuMemCreate");
  CHECK(vmm.map(base, size, 0, h, 0) == CUDA_SUCCESS, "cuMemMap");
  CUmemAccessDesc access{};
  access.location = prop.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CHECK(vmm.set_access(base, size, &access, 1) == CUDA_SUCCESS, "cuMemSetAccess");
  const size_t n0 = gran + 4097, n1 = 8192;
  const uint64_t va0 = base + 4096, va1 = base + 2 * gran - 4096;  // va1's first page shares va0's last granule
  auto h0 = random_bytes(n0, 7), h1 = random_bytes(n1, 8);
  cudaMemcpy(reinterpret_cast<void*>(va0), h0.data(), n0, cudaMemcpyHostToDevice);
  cudaMemcpy(reinterpret_cast<void*>(va1), h1.data(), n1, cudaMemcpyHostToDevice);
  const std::string path = g_dir + "/va.snap";
  Capture cap;
  cap.add_device(device_meta("w0", n0), reinterpret_cast<void*>(va0));
  cap.add_device(device_meta("w1", n1), reinterpret_cast<void*>(va1));
  CaptureOptions co;
  co.overwrite = true;
  co.chunk_size = 1u << 20;
  auto sum = cap.write(path, co);
  CHECK(sum.ok(), "capture: %s", sum.ok() ? "" : sum.error().message().c_str());
  auto snap = Snapshot::open(path);
  if (!sum.ok() || !snap.ok()) return;
  const auto& regs = snap->regions();
  CHECK(regs[0].va && *regs[0].va == va0, "recorded va");
  CHECK(regs[0].alloc && regs[0].alloc->base == base && regs[0].alloc->size == size, "recorded allocation");
  CHECK(regs[1].alloc && regs[1].alloc->base == base, "recorded allocation of the second region");
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  ro.fixed_va = true;
  {
    auto r = restore(*snap, ro);
    CHECK(!r.ok() && r.error().kind() == ErrorKind::Resource, "taken range: %s",
          r.ok() ? "succeeded" : r.error().message().c_str());
  }
  CHECK(vmm.unmap(base, size) == CUDA_SUCCESS, "cuMemUnmap");
  CHECK(vmm.release(h) == CUDA_SUCCESS, "cuMemRelease");
  CHECK(vmm.address_free(base, size) == CUDA_SUCCESS, "cuMemAddressFree");
  auto r = restore(*snap, ro);
  CHECK(r.ok(), "fixed-va restore: %s", r.ok() ? "" : r.error().message().c_str());
  if (!r.ok()) return;
  const auto* r0 = r->find("w0");
  const auto* r1 = r->find("w1");
  CHECK(r0 && r0->device_ptr == va0, "w0 not at its recorded address");
  CHECK(r1 && r1->device_ptr == va1, "w1 not at its recorded address");
  if (r0 && r0->device_ptr == va0) CHECK(read_device(va0, n0) == h0, "w0 bytes differ");
  if (r1 && r1->device_ptr == va1) CHECK(read_device(va1, n1) == h1, "w1 bytes differ");
}

// Device maps: regions recorded on GPU 3 restore onto GPU 0 with 3:0; an
// unmapped ordinal, or a GPU this machine lacks, fails with Compat before
// anything is allocated. With two GPUs or more, a two-rank snapshot fills
// both in one call.
static void device_map(int gpus) {
  const size_t n = (5u << 20) + 3;
  auto h0 = random_bytes(n, 31), h1 = random_bytes(n, 32);
  Capture cap;
  RegionMeta m0 = device_meta("rank0", n), m1 = device_meta("rank1", n);
  m0.device = 3;
  m1.device = 4;
  cap.add_host(m0, h0.data());  // host bytes recorded as device regions of GPUs 3 and 4
  cap.add_host(m1, h1.data());
  CaptureOptions co;
  co.overwrite = true;
  co.chunk_size = 1u << 20;
  const std::string path = g_dir + "/tp.snap";
  auto sum = cap.write(path, co);
  CHECK(sum.ok(), "capture: %s", sum.ok() ? "" : sum.error().message().c_str());
  auto snap = Snapshot::open(path);
  if (!sum.ok() || !snap.ok()) return;
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  ro.staging = {2, 1u << 20};  // fewer buffers than chunks in flight: pieces wait for buffers
  ro.threads = 4;
  ro.device_map = {{3, 0}};
  {
    auto r = restore(*snap, ro);
    CHECK(!r.ok() && r.error().kind() == ErrorKind::Compat &&
              r.error().message().find("GPU 4") != std::string::npos,
          "unmapped ordinal: %s", r.ok() ? "succeeded" : r.error().message().c_str());
  }
  ro.device_map = {{3, 0}, {4, gpus}};
  {
    auto r = restore(*snap, ro);
    CHECK(!r.ok() && r.error().kind() == ErrorKind::Compat, "missing GPU: %s",
          r.ok() ? "succeeded" : r.error().message().c_str());
  }
  ro.device_map = {{3, 0}, {4, gpus > 1 ? 1 : 0}};
  auto r = restore(*snap, ro);
  CHECK(r.ok(), "device-map restore: %s", r.ok() ? "" : r.error().message().c_str());
  if (!r.ok()) return;
  const auto* r0 = r->find("rank0");
  const auto* r1 = r->find("rank1");
  CHECK(r0 && r0->device == 0 && r1 && r1->device == (gpus > 1 ? 1 : 0), "regions on the wrong GPUs");
  if (r0) CHECK(read_device(r0->device_ptr, n) == h0, "rank0 bytes differ");
  if (r1) CHECK(read_device(r1->device_ptr, n) == h1, "rank1 bytes differ");
  uint64_t placed = 0;
  for (const auto& [dev, bytes] : r->stats().device_bytes) placed += bytes;
  CHECK(placed == 2 * n, "per-GPU bytes add up to %llu, expected %zu", static_cast<unsigned long long>(placed), 2 * n);
}

// A region larger than the GPU (all zeros, so the file is tiny): Resource,
// and every byte allocated on the way is freed.
static void oom_cleanup() {
  size_t free_before = 0, total = 0;
  cudaMemGetInfo(&free_before, &total);
  const uint64_t huge = (static_cast<uint64_t>(total) + (1ull << 30)) & ~((256ull << 20) - 1);
  // The zero region comes from a sparse file: nothing is stored for it.
  const std::string data = g_dir + "/huge.bin";
  FILE* f = std::fopen(data.c_str(), "w");
  std::fclose(f);
  if (truncate(data.c_str(), static_cast<off_t>(huge)) != 0) return;
  Capture cap2;
  RegionMeta small = device_meta("small", 1u << 20);
  cap2.add_file(small, data, 0);
  cap2.add_file(device_meta("huge", huge), data, 0);
  CaptureOptions co;
  co.overwrite = true;
  co.chunk_size = 256u << 20;
  const std::string path = g_dir + "/oom.snap";
  auto sum = cap2.write(path, co);
  CHECK(sum.ok(), "capture huge zero region: %s", sum.ok() ? "" : sum.error().message().c_str());
  std::remove(data.c_str());
  if (!sum.ok()) return;
  auto snap = Snapshot::open(path);
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  auto r = restore(*snap, ro);
  CHECK(!r.ok() && r.error().kind() == ErrorKind::Resource, "oversized restore: %s",
        r.ok() ? "succeeded" : r.error().message().c_str());
  size_t free_after = 0;
  cudaMemGetInfo(&free_after, &total);
  // Allow for the context's own allocations made by the first restore.
  CHECK(free_after + (64u << 20) >= free_before, "leaked %zu bytes", free_before - free_after);
}

// A PTX module region is loaded with cuModuleLoadData and warmed.
static void module_load() {
  static const char ptx[] =
      ".version 7.0\n.target sm_70\n.address_size 64\n"
      ".visible .entry vramsnap_noop()\n{\n\tret;\n}\n";
  RegionMeta m;
  m.name = "kernels.ptx";
  m.kind = RegionKind::Module;
  m.size = sizeof(ptx);  // includes the NUL that cuModuleLoadData needs for PTX
  m.flags = kFlagWarm;
  Capture cap;
  cap.add_host(m, ptx);
  CaptureOptions co;
  co.overwrite = true;
  const std::string path = g_dir + "/mod.snap";
  CHECK(cap.write(path, co).ok(), "capture module");
  auto snap = Snapshot::open(path);
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  ro.warm_modules = true;
  auto r = restore(*snap, ro);
  CHECK(r.ok(), "module restore: %s", r.ok() ? "" : r.error().message().c_str());
  if (r.ok()) CHECK(r->regions()[0].module != nullptr, "module not loaded");
}

// bf16-like values: random sign and mantissa, exponents in a narrow band.
static std::vector<uint8_t> bf16_bytes(size_t elements, uint32_t seed) {
  std::vector<uint8_t> v(elements * 2);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < elements; ++i) {
    const uint32_t r = rng();
    const uint16_t x = static_cast<uint16_t>((r & 0x8000) | ((118 + (r >> 16) % 12) << 7) | (r >> 8 & 0x7F));
    v[2 * i] = static_cast<uint8_t>(x);
    v[2 * i + 1] = static_cast<uint8_t>(x >> 8);
  }
  return v;
}

// Planes chunks: decoded on the GPU (verify_on device) and on the host give
// the captured bytes; small chunks and one worker make several batches, so
// the device staging area is reused; a flipped stored bit is refused.
static void planes_on_device(unsigned threads, uint64_t chunk) {
  const size_t elements[] = {1, 3000, 1u << 20, (1u << 20) + 77};
  std::vector<std::vector<uint8_t>> host;
  Capture cap;
  uint64_t total = 0;
  for (size_t i = 0; i < std::size(elements); ++i) {
    host.push_back(bf16_bytes(elements[i], 700 + i));
    RegionMeta m = device_meta("p" + std::to_string(i), host.back().size());
    m.dtype = "bf16";
    m.shape = {elements[i]};
    cap.add_host(m, host.back().data());
    total += host.back().size();
  }
  const std::string path = g_dir + "/planes.snap";
  CaptureOptions co;
  co.chunk_size = chunk;
  co.overwrite = true;
  co.codec = CodecChoice::Planes;
  auto sum = cap.write(path, co);
  CHECK(sum.ok(), "planes capture: %s", sum.ok() ? "" : sum.error().message().c_str());
  if (!sum.ok()) return;
  for (VerifyOn where : {VerifyOn::Device, VerifyOn::Host}) {
    auto snap = Snapshot::open(path);
    CHECK(snap.ok(), "open");
    if (!snap.ok()) return;
    uint64_t planes_raw = 0;
    for (const auto& c : snap->chunks())
      if (c.codec == Codec::Planes) planes_raw += c.raw_size;
    CHECK(planes_raw > total / 2, "planes stored only %llu of %llu bytes", (unsigned long long)planes_raw,
          (unsigned long long)total);
    RestoreOptions ro;
    ro.allow_unsealed = true;
    ro.target = Target::Cuda;
    ro.threads = threads;
    ro.verify_on = where;
    auto r = restore(*snap, ro);
    CHECK(r.ok(), "planes restore: %s", r.ok() ? "" : r.error().message().c_str());
    if (!r.ok()) return;
    const uint64_t expect = where == VerifyOn::Device ? planes_raw : 0;
    CHECK(r->stats().device_decoded_bytes == expect, "decoded on the GPU: %llu, expected %llu",
          (unsigned long long)r->stats().device_decoded_bytes, (unsigned long long)expect);
    for (size_t i = 0; i < std::size(elements); ++i) {
      const auto* rr = r->find("p" + std::to_string(i));
      CHECK(rr && rr->device_ptr, "planes region %zu not on the device", i);
      if (rr && rr->device_ptr)
        CHECK(read_device(rr->device_ptr, host[i].size()) == host[i], "planes region %zu differs (%s)", i,
              where == VerifyOn::Device ? "device" : "host");
    }
  }
  // A flipped bit in the last planes chunk's stored bytes: refused by the GPU's hash.
  auto snap = Snapshot::open(path);
  if (!snap.ok()) return;
  uint64_t off = 0;
  for (const auto& c : snap->chunks())
    if (c.codec == Codec::Planes) off = c.stored_offset + c.stored_size / 2;
  FILE* f = std::fopen(path.c_str(), "r+b");
  CHECK(f != nullptr, "open for tampering");
  if (!f) return;
  std::fseek(f, static_cast<long>(off), SEEK_SET);
  const int b = std::fgetc(f);
  std::fseek(f, static_cast<long>(off), SEEK_SET);
  std::fputc(b ^ 0x10, f);
  std::fclose(f);
  auto bad = Snapshot::open(path);
  CHECK(bad.ok(), "open tampered");
  if (!bad.ok()) return;
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.target = Target::Cuda;
  ro.threads = threads;
  ro.verify_on = VerifyOn::Device;
  auto r = restore(*bad, ro);
  CHECK(!r.ok() && r.error().kind() == ErrorKind::Integrity, "tampered planes chunk not refused as integrity");
  if (!r.ok())
    CHECK(r.error().message().find("checked on GPU") != std::string::npos, "refused, but not on the GPU: %s",
          r.error().message().c_str());
}

int main() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::printf("no usable CUDA GPU: skipping GPU tests\n");
    return 77;
  }
  char tmpl[] = "/tmp/vramsnap-gpu.XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  g_dir = tmpl;
  round_trip(false, 1, 1u << 20);
  round_trip(false, 8, 256u << 10);  // many chunks over 8 streams
  round_trip(true, 4, 1u << 20);     // read-mostly regions in managed memory
  fixed_va();
  device_map(n);
  oom_cleanup();
  module_load();
  planes_on_device(1, 16u << 10);  // hundreds of chunks through one stream's staging area
  planes_on_device(8, 1u << 20);
  std::string cmd = "rm -rf '" + g_dir + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cleanup failed\n");
  std::printf("%d passed, %d failed\n", gputest::passed, gputest::failed);
  return gputest::failed ? 1 : 0;
}
