// capture_restore: a process fills host buffers (and device buffers when a
// GPU is present), captures them into a sealed snapshot; a second process
// restores the snapshot and checks every byte.
//
//   capture_restore all WORKDIR         run both halves (the restore in a child process)
//   capture_restore capture SNAP KEY    first half
//   capture_restore restore SNAP KEY    second half
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <vramsnap/capture.hpp>
#include <vramsnap/restore.hpp>

#ifdef VRAMSNAP_EXAMPLE_CUDA
#include <cuda_runtime_api.h>
#endif

extern char** environ;

namespace {

// Deterministic contents, so the restoring process can check every byte
// without a copy of the originals.
std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    // Mostly small values, like weights and activations: compressible but not trivial.
    v[i] = static_cast<uint8_t>((i % 4096 < 512) ? 0 : (x & 0x0F));
  }
  return v;
}

struct RegionSpec { const char* name; vramsnap::RegionKind kind; size_t size; uint32_t seed; };
const RegionSpec kRegions[] = {
    {"wasm.linear_memory", vramsnap::RegionKind::Host, 3u << 20, 1},
    {"jit.code_cache", vramsnap::RegionKind::Host, 200000, 2},
    {"model.embed.weight", vramsnap::RegionKind::Device, 5u << 20, 3},
    {"kv_cache", vramsnap::RegionKind::Device, 0, 4},
};

// Device regions go through real GPU memory when a GPU is usable.
bool have_gpu() {
#ifdef VRAMSNAP_EXAMPLE_CUDA
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
#else
  return false;
#endif
}

int fail(const char* what, const vramsnap::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message().c_str());
  return 1;
}

int do_capture(const std::string& snap, const std::string& key_file) {
  auto key = vramsnap::Key::load(key_file);
  if (!key.ok()) return fail("load key", key.error());
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<void*> device_buffers;
  const bool gpu = have_gpu();
  vramsnap::Capture cap;
  for (const auto& r : kRegions) {
    buffers.push_back(pattern(r.size, r.seed));
    vramsnap::RegionMeta meta;
    meta.name = r.name;
    meta.kind = r.kind;
    meta.size = r.size;
    meta.dtype = "u8";
    meta.flags = r.kind == vramsnap::RegionKind::Device ? vramsnap::kFlagReadMostly : 0;
#ifdef VRAMSNAP_EXAMPLE_CUDA
    if (gpu && r.kind == vramsnap::RegionKind::Device && r.size) {
      void* d = nullptr;
      if (cudaMalloc(&d, r.size) != cudaSuccess ||
          cudaMemcpy(d, buffers.back().data(), r.size, cudaMemcpyHostToDevice) != cudaSuccess) {
        std::fprintf(stderr, "cannot fill device buffer\n");
        return 1;
      }
      device_buffers.push_back(d);
      cap.add_device(meta, d);
      continue;
    }
#endif
    cap.add_host(meta, buffers.back().data());
  }
  vramsnap::CaptureOptions opt;
  opt.key = &*key;
  opt.generation = 42;
  opt.labels = {{"example", "capture_restore"}};
  opt.overwrite = true;
  auto sum = cap.write(snap, opt);
#ifdef VRAMSNAP_EXAMPLE_CUDA
  for (void* d : device_buffers) cudaFree(d);
#endif
  if (!sum.ok()) return fail("capture", sum.error());
  std::printf("%s", gpu ? "device regions captured from GPU memory\n" : "");
  std::printf("captured %zu regions, %llu -> %llu bytes, snapshot %s, key %s\n", sum->regions.size(),
              static_cast<unsigned long long>(sum->raw_total), static_cast<unsigned long long>(sum->stored_total),
              sum->id_hex.c_str(), key->id_hex().c_str());
  return 0;
}

int do_restore(const std::string& snap_path, const std::string& key_file) {
  auto key = vramsnap::Key::load(key_file);
  if (!key.ok()) return fail("load key", key.error());
  auto snap = vramsnap::Snapshot::open(snap_path);
  if (!snap.ok()) return fail("open", snap.error());
  vramsnap::RestoreOptions ro;
  ro.key = &*key;
  ro.min_generation = 42;
  const bool gpu = have_gpu();
  if (gpu) ro.target = vramsnap::Target::Cuda;
  auto restored = vramsnap::restore(*snap, ro);
  if (!restored.ok()) return fail("restore", restored.error());
  size_t checked = 0;
  for (const auto& r : kRegions) {
    const auto* rr = restored->find(r.name);
    if (!rr || rr->meta->size != r.size) {
      std::fprintf(stderr, "region %s missing or wrong size\n", r.name);
      return 1;
    }
    auto expect = pattern(r.size, r.seed);
    const void* got = rr->host;
    std::vector<uint8_t> copy;
#ifdef VRAMSNAP_EXAMPLE_CUDA
    if (gpu && rr->device_ptr) {
      copy.resize(r.size);
      cudaMemcpy(copy.data(), reinterpret_cast<void*>(rr->device_ptr), r.size, cudaMemcpyDeviceToHost);
      got = copy.data();
    }
#endif
    if (r.size && std::memcmp(got, expect.data(), r.size) != 0) {
      std::fprintf(stderr, "region %s differs\n", r.name);
      return 1;
    }
    checked += r.size;
  }
  std::printf("restored and checked %zu bytes in %zu regions (%.3f ms)\n", checked, restored->regions().size(),
              restored->stats().phases.total * 1e3);
  return 0;
}

int do_all(const std::string& dir, const char* self) {
  const std::string key = dir + "/example.key", snap = dir + "/example.snap";
  std::remove(key.c_str());
  auto id = vramsnap::Key::generate(key);
  if (!id.ok()) return fail("keygen", id.error());
  if (int rc = do_capture(snap, key)) return rc;
  // The restore runs in a separate process, as it would at a cold start.
  std::fflush(stdout);
  const char* argv[] = {self, "restore", snap.c_str(), key.c_str(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, self, nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "all") == 0) return do_all(argv[2], argv[0]);
  if (argc == 4 && std::strcmp(argv[1], "capture") == 0) return do_capture(argv[2], argv[3]);
  if (argc == 4 && std::strcmp(argv[1], "restore") == 0) return do_restore(argv[2], argv[3]);
  std::fprintf(stderr, "usage: %s all WORKDIR | capture SNAP KEY | restore SNAP KEY\n", argv[0]);
  return 2;
}
