#pragma once
// The measuring half of `vramsnap bench`: timed in-process restores and the
// same-run reference figures (plain read of the file, single-threaded zstd
// decode of one zstd -3 stream of the same raw bytes, the naive
// HMAC-then-decode pipeline, pinned host-to-device copies). cmd_bench.cpp
// parses, prints and compares; nothing here prints.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vramsnap/remote.hpp"
#include "vramsnap/restore.hpp"

namespace vramsnap::cli::bench {

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, min = 0, max = 0, mean = 0;
};
// Linear interpolation between closest ranks; all zero for an empty series.
Percentiles percentiles(std::vector<double> values);

struct RestoreSetup {
  std::string path;  // a file, an http(s):// URL or an oci:// reference
  RemoteOptions remote;
  const Key* key = nullptr;
  bool allow_unsealed = false;
  Target target = Target::Host;
  int device = 0;
  unsigned threads = 0;  // 0: all cores
  unsigned iterations = 10;
  unsigned warmup = 2;
  bool cold = false;       // drop the file from the page cache before each run
  VerifyOn verify_on = VerifyOn::Auto;  // cuda: where chunk hashes are checked
  // cuda: also time a host-verified restore after each restore (interleaved,
  // so load from other users hits both alike).
  bool compare_host_verify = false;
  uint64_t sample_cap = 256ull << 20;  // raw bytes kept for the zstd references
};

// One timed iteration; phases.open is Snapshot::open, phases.total the wall
// time of open + restore (what `vramsnap restore` reports as total).
struct RestoreRun {
  PhaseTimes phases;
  double cpu_seconds = 0;             // user + system time of this process during the restore
  uint64_t device_verified_bytes = 0;
};

struct Measurements {
  std::vector<RestoreRun> restores;
  std::vector<RestoreRun> host_verified;  // with compare_host_verify
  RestoreStats stats;                 // of the last run (bytes, chunks, threads)
  uint64_t file_size = 0;
  std::vector<double> read_seconds;   // plain read of the whole file (pread, or range GETs), same threads
  unsigned read_threads = 0;
  std::vector<uint8_t> sample;        // first sample_cap raw bytes, in region order
};

// Warm-up and timed restores, each followed by one plain read of the file
// (interleaved so that load from other users hits both alike). Host memory is
// freed after every iteration.
Result<Measurements> measure_restores(const RestoreSetup& setup);

struct ZstdReference {
  uint64_t sample_bytes = 0;
  uint64_t stream_bytes = 0;          // one zstd -3 frame of the sample
  std::vector<double> decode_seconds; // single-threaded ZSTD_decompressDCtx
  std::vector<double> hmac_seconds;   // HMAC-SHA256 over the whole stream
};
// Compresses the sample once (level 3, one frame, one thread), then times
// `iterations` decodes and whole-stream HMACs after one warm-up each.
Result<ZstdReference> measure_zstd(const std::vector<uint8_t>& sample, unsigned iterations);

struct MachineFacts {
  std::string hostname, cpu_model, kernel;
  unsigned cores = 0;
  uint64_t memory_bytes = 0;
  double loadavg_1m = -1;
};
MachineFacts machine_facts();

// Drops `path` from the page cache (POSIX_FADV_DONTNEED); clean pages only.
Status drop_from_page_cache(const std::string& path);

}  // namespace vramsnap::cli::bench
