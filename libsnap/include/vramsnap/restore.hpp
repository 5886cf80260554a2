#pragma once
// Verifying and restoring snapshots.
//
// Verification model: structure first (Snapshot::open), then the seal (key id,
// then HMAC, constant-time), then every chunk: its SHA-256 is computed over the
// very buffer that is about to be decoded or copied, never over a second read.
// A restore succeeds only after the last chunk is checked; on any failure every
// allocation is freed and nothing is handed over.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vramsnap/capture.hpp"
#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/key.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap {

struct CheckOptions {
  const Key* key = nullptr;        // required for sealed snapshots unless allow_unsealed
  // Further keys, any one of which may have sealed: the Ed25519 public keys a
  // host trusts (several during a rotation). A host given only public keys
  // refuses HMAC-sealed files (Integrity), and unsealed ones unless allow_unsealed.
  std::vector<Key> trusted_keys;
  bool allow_unsealed = false;     // accept unsealed files (structure + hashes only)
  std::optional<uint64_t> min_generation;  // refuse older snapshots (Integrity)
  unsigned threads = 0;            // 0: all cores
  ProgressFn progress;
  const std::atomic<bool>* cancel = nullptr;
};

struct VerifyOptions : CheckOptions {
  bool decode = false;  // also decode every chunk (catches codec damage in unsealed files)
};

struct VerifyReport {
  uint64_t chunks_checked = 0;
  uint64_t bytes_checked = 0;  // stored bytes hashed
  uint64_t raw_bytes = 0;
  double seconds = 0;
  SealInfo seal;
  bool seal_checked = false;
};

// Returns the report, or the first failure (lowest chunk index) as an error.
VRAMSNAP_API Result<VerifyReport> verify(const Snapshot& snap, const VerifyOptions& options);

// Seals or re-seals a snapshot file: in place (only the 128-byte seal block is
// rewritten) when the key's algorithm needs the feature bits the file already
// sets; otherwise (signing an unsealed or HMAC-sealed file with an Ed25519
// key, or the reverse) the file is copied, patched and renamed over the
// original. An Ed25519 public key cannot seal (Usage). Returns the new seal;
// *previous receives the old one.
VRAMSNAP_API Result<SealInfo> seal(const std::string& path, const Key& key, SealInfo* previous = nullptr);

enum class Target { Host, Cuda };

// Where chunk hashes are checked on the cuda target. Auto: on the GPU for
// leaf-hashed raw chunks (their stored bytes cross PCIe once, into their
// destination, and are hashed there), on the host for everything else.
enum class VerifyOn { Auto, Host, Device };

// Pinned staging for host-to-device copies, per target GPU (0: the default,
// 8 buffers of 16 MiB, shrunk to the largest chunk when every chunk is smaller).
struct StagingSpec {
  uint32_t buffers = 0;
  uint64_t buffer_bytes = 0;
};

// Per-phase timings in seconds. read/hash/decode/copy are summed over worker
// threads (thread-seconds); the others are wall time.
struct PhaseTimes {
  double open = 0;
  double seal_check = 0;
  double context_init = 0;  // CUDA context creation (cuda target)
  double allocate = 0;
  double read = 0;
  double hash = 0;
  double decode = 0;
  double copy = 0;          // host-to-device copies (cuda) or file writes (extract)
  double module_load = 0;
  double total = 0;         // wall time of restore(), open excluded
};

struct RestoreOptions : CheckOptions {
  Target target = Target::Host;
  int device = 0;                      // cuda target
  std::vector<std::string> regions;    // empty: all regions
  bool fixed_va = false;               // cuda: map device regions at their recorded addresses
  bool load_modules = true;            // cuda: cuModuleLoadData for module regions
  bool warm_modules = false;           // cuda: load every function of each module eagerly
  // cuda: recorded device ordinal -> target GPU. Each GPU-placed region goes
  // to the GPU its recorded ordinal maps to (regions recorded without one go
  // to `device`); every GPU is filled in parallel from one read of the file.
  // An ordinal missing from the map, or a GPU this machine lacks, fails with
  // Compat before anything is allocated. Empty: every region onto `device`.
  std::map<int, int> device_map;
  StagingSpec staging;                 // cuda: pinned staging per target GPU
  VerifyOn verify_on = VerifyOn::Auto;  // cuda: where chunk hashes are checked
  // Host target: where each region goes. Return a buffer of meta.size bytes
  // that the caller owns, or nullptr to let the library allocate (every such
  // region is a slice of one block: see Restored::host_blocks).
  std::function<void*(const RegionMeta&)> host_allocator;
  // Host target: the most bytes the library may allocate for regions (caller
  // buffers from host_allocator do not count). The declared sizes are checked
  // against it before anything is allocated, so a file that declares more
  // than it holds fails with a Limit error instead of exhausting memory.
  // 0: the memory available when the restore starts (MemAvailable, and the
  // room under a cgroup v2 limit); UINT64_MAX: no limit.
  uint64_t max_host_bytes = 0;
  // extract / extract_tree: the most bytes the files may declare (region
  // sizes summed, zero chunks included although they are written as holes).
  // Checked before anything is created, so a small file that declares
  // terabytes fails with a Limit error at once. 0: the space available to
  // the caller on the target's file system (statvfs); UINT64_MAX: no limit.
  uint64_t max_output_bytes = 0;
  // Host target: give every region the library allocates its own buffer
  // (free() each one after release()) instead of a slice of one block, for
  // callers that free regions one by one. One block costs one allocation
  // however many regions there are.
  bool separate_host_buffers = false;
};

struct RestoredRegion {
  size_t index = 0;                  // index in the snapshot's region list
  const RegionMeta* meta = nullptr;  // the snapshot's own entry, alive as long as the Restored
  void* host = nullptr;       // host target
  uint64_t device_ptr = 0;    // cuda target (CUdeviceptr)
  int device = -1;            // cuda target: the GPU holding device_ptr or module
  void* module = nullptr;     // cuda module regions: CUmodule
  bool caller_owned = false;  // from host_allocator
};

struct RestoreStats {
  PhaseTimes phases;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t chunks = 0;
  unsigned threads = 0;
  // cuda target: raw bytes placed on each GPU (ordinal -> bytes), and the
  // bytes whose hash was checked on a GPU rather than on the host, and of
  // those the raw bytes of chunks decoded on a GPU (planes).
  std::map<int, uint64_t> device_bytes;
  uint64_t device_verified_bytes = 0;
  uint64_t device_decoded_bytes = 0;
};

// "SRC:DST[,SRC:DST...]" (restore --device-map): decimal ordinals 0..1023; a
// SRC at most once, several SRC may share a DST. Usage error naming the entry.
VRAMSNAP_API Result<std::map<int, int>> parse_device_map_spec(std::string_view text);

// "COUNTxSIZE" (restore --staging), e.g. "8x16MiB"; Usage error otherwise
// (the bounds are checked when a restore plans its staging).
VRAMSNAP_API Result<StagingSpec> parse_staging_spec(std::string_view text);

// Whether a region restores on any GPU (formats/snapshot-v1.md 7.9): host,
// other and device memory are plain bytes; module regions carry machine code
// for the capturing GPU's compute capability. `reason` says why not.
struct Portability {
  bool portable = true;
  std::string reason;
};
VRAMSNAP_API Portability portability(const RegionMeta& region, const SourceInfo& source);

// Owns what a restore allocated (host buffers, device memory, modules) until
// released. Move-only; destruction frees everything still owned.
class VRAMSNAP_API Restored {
 public:
  Restored();
  Restored(Restored&&) noexcept;
  Restored& operator=(Restored&&) noexcept;
  ~Restored();

  const std::vector<RestoredRegion>& regions() const;
  const RestoredRegion* find(const std::string& name) const;
  const RestoreStats& stats() const;
  // Gives up ownership for good: the host blocks the library allocated
  // become the caller's (free() each of host_blocks(), never a region's
  // pointer: regions are slices of a block); device memory, managed memory,
  // VMM mappings and modules stay alive for the life of the process. Device
  // regions may share one allocation, so never cudaFree a region pointer.
  void release();
  // The host allocations regions live in (one for a host-target restore,
  // however many regions), whether or not released.
  const std::vector<void*>& host_blocks() const;

  struct State;

 private:
  explicit Restored(std::unique_ptr<State> s);
  friend struct RestoredAccess;
  std::unique_ptr<State> state_;
};

VRAMSNAP_API Result<Restored> restore(const Snapshot& snap, const RestoreOptions& options);

// Streams each selected region into DIR/<encoded name> (files created with
// O_EXCL|O_NOFOLLOW, never outside DIR), verifying as it goes. Files are
// written as temp files and renamed only after the last chunk is checked.
struct ExtractedFile {
  std::string region;
  std::string path;
  uint64_t size = 0;
};
VRAMSNAP_API Result<std::vector<ExtractedFile>> extract(const Snapshot& snap, const std::string& dir,
                                                         const RestoreOptions& options, RestoreStats* stats = nullptr);

// Recreates a directory image (a tree captured by regions_from_tree) under
// DIR: each selected region becomes DIR/<region name>, the name read as a
// '/'-separated relative path, with the permission bits of its "mode" label
// (0644 without one; directories 0755 less the umask). Every level is opened
// with openat and O_NOFOLLOW, nothing is written outside DIR, nothing
// existing is replaced; the tree is staged and appears only after the last
// chunk has been checked, and on any failure nothing is left behind (DIR
// too, if it was created). A name that cannot be a path inside DIR is a
// Format error before anything is created.
VRAMSNAP_API Result<std::vector<ExtractedFile>> extract_tree(const Snapshot& snap, const std::string& dir,
                                                              const RestoreOptions& options,
                                                              RestoreStats* stats = nullptr);

}  // namespace vramsnap
