// device_pointers: state that holds device pointers survives a snapshot when
// it is restored at its original addresses.
//
// The first process builds a device-side table of pointers to three weight
// buffers, and a kernel sums the buffers by following the table. It captures
// the buffers and the table (their device addresses are recorded). A second
// process restores them with fixed_va, so the pointers stored inside the
// table are valid again, runs the same kernel and compares the sums.
//
//   device_pointers all WORKDIR      (exit 77 when no GPU is usable)
#include <cuda_runtime.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <vramsnap/capture.hpp>
#include <vramsnap/restore.hpp>

extern char** environ;

constexpr int kBuffers = 3;
constexpr size_t kElems = (2u << 20) / sizeof(float);  // 2 MiB each: VMM granularity

// Integer-valued elements summed as integers: the result does not depend on
// the order in which threads' atomic adds land, so it compares exactly.
__global__ void sum_through_table(float* const* table, int n_tables, size_t n, unsigned long long* out) {
  unsigned long long acc = 0;
  for (int t = 0; t < n_tables; ++t)
    for (size_t i = threadIdx.x; i < n; i += blockDim.x)
      acc += static_cast<unsigned long long>(table[t][i]) * static_cast<unsigned long long>(t + 1);
  atomicAdd(out, acc);
}

static unsigned long long run_kernel(float* const* d_table) {
  unsigned long long* d_out = nullptr;
  unsigned long long out = 0;
  cudaMalloc(&d_out, sizeof out);
  cudaMemset(d_out, 0, sizeof out);
  sum_through_table<<<1, 256>>>(d_table, kBuffers, kElems, d_out);
  cudaMemcpy(&out, d_out, sizeof out, cudaMemcpyDeviceToHost);
  cudaFree(d_out);
  return out;
}

static int fail(const char* what, const vramsnap::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message().c_str());
  return 1;
}

static int do_capture(const std::string& snap, const std::string& key_file, const std::string& sum_file) {
  auto key = vramsnap::Key::load(key_file);
  if (!key.ok()) return fail("key", key.error());
  std::vector<float*> bufs(kBuffers);
  std::vector<float> host(kElems);
  vramsnap::Capture cap;
  for (int b = 0; b < kBuffers; ++b) {
    for (size_t i = 0; i < kElems; ++i) host[i] = static_cast<float>((i * (b + 3)) % 97);
    cudaMalloc(&bufs[b], kElems * sizeof(float));
    cudaMemcpy(bufs[b], host.data(), kElems * sizeof(float), cudaMemcpyHostToDevice);
    vramsnap::RegionMeta m;
    m.name = "weights." + std::to_string(b);
    m.kind = vramsnap::RegionKind::Device;
    m.size = kElems * sizeof(float);
    m.dtype = "f32";
    m.shape = {kElems};
    cap.add_device(m, bufs[b]);
  }
  float** d_table = nullptr;
  cudaMalloc(&d_table, 2u << 20);  // padded to the mapping granularity
  cudaMemcpy(d_table, bufs.data(), kBuffers * sizeof(float*), cudaMemcpyHostToDevice);
  vramsnap::RegionMeta t;
  t.name = "pointer_table";
  t.kind = vramsnap::RegionKind::Device;
  t.size = 2u << 20;
  t.dtype = "u64";
  cap.add_device(t, d_table);
  const unsigned long long expect = run_kernel(d_table);
  vramsnap::CaptureOptions opt;
  opt.key = &*key;
  opt.overwrite = true;
  auto sum = cap.write(snap, opt);
  if (!sum.ok()) return fail("capture", sum.error());
  FILE* f = std::fopen(sum_file.c_str(), "w");
  std::fprintf(f, "%llu\n", expect);
  std::fclose(f);
  std::printf("captured table at %p and %d buffers; kernel sum %llu\n", static_cast<void*>(d_table), kBuffers, expect);
  return 0;
}

static int do_restore(const std::string& snap_path, const std::string& key_file, const std::string& sum_file) {
  auto key = vramsnap::Key::load(key_file);
  if (!key.ok()) return fail("key", key.error());
  auto snap = vramsnap::Snapshot::open(snap_path);
  if (!snap.ok()) return fail("open", snap.error());
  vramsnap::RestoreOptions ro;
  ro.key = &*key;
  ro.target = vramsnap::Target::Cuda;
  ro.fixed_va = true;  // before any other allocation in this process
  auto r = vramsnap::restore(*snap, ro);
  if (!r.ok()) return fail("restore", r.error());
  const auto* table = r->find("pointer_table");
  if (!table || table->device_ptr != table->meta->va.value_or(0)) {
    std::fprintf(stderr, "table not restored at its original address\n");
    return 1;
  }
  const unsigned long long got = run_kernel(reinterpret_cast<float* const*>(table->device_ptr));
  unsigned long long expect = 0;
  FILE* f = std::fopen(sum_file.c_str(), "r");
  if (!f || std::fscanf(f, "%llu", &expect) != 1) return 1;
  std::fclose(f);
  std::printf("restored at 0x%llx; kernel followed the stored pointers: sum %llu (expected %llu)\n",
              static_cast<unsigned long long>(table->device_ptr), got, expect);
  return got == expect ? 0 : 1;
}

int main(int argc, char** argv) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::fprintf(stderr, "no usable GPU; skipping\n");
    return 77;
  }
  if (argc == 5 && std::strcmp(argv[1], "capture") == 0) return do_capture(argv[2], argv[3], argv[4]);
  if (argc == 5 && std::strcmp(argv[1], "restore") == 0) return do_restore(argv[2], argv[3], argv[4]);
  if (argc != 3 || std::strcmp(argv[1], "all") != 0) {
    std::fprintf(stderr, "usage: %s all WORKDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[2], key = dir + "/dp.key", snap = dir + "/dp.snap", sums = dir + "/dp.sum";
  std::remove(key.c_str());
  if (auto id = vramsnap::Key::generate(key); !id.ok()) return fail("keygen", id.error());
  for (const char* step : {"capture", "restore"}) {
    const char* args[] = {argv[0], step, snap.c_str(), key.c_str(), sums.c_str(), nullptr};
    pid_t pid;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char* const*>(args), environ) != 0) return 1;
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  return 0;
}
