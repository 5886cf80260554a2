#pragma once
// The place stage: where verified, decoded chunks go. Host memory (decoded in
// place, no staging copy), extracted files, CUDA device memory. The restore
// engine asks for each chunk's destination (acquire), fills it only with
// bytes whose hash has matched, and hands it back (commit). Zero chunks
// skip read, verify and decode: commit_zero lets each sink place them its
// cheapest way (a hole in a file, a memset on the device).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "pipeline/clock.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::pipeline {

// A chunk that failed where the engine could not see it at once (a device
// that verifies a batch of chunks and reports afterwards).
struct ChunkFailure {
  size_t chunk;  // index in the snapshot's chunk table
  Error error;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Allocates destinations for the selected regions; called once.
  virtual Status prepare(unsigned workers, PhaseTimes& times) = 0;
  // chunk's destination: exactly raw_size bytes.
  virtual Result<std::span<uint8_t>> acquire(unsigned worker, size_t chunk, WorkerClock& clock) = 0;
  // bytes (from acquire) now hold chunk's verified, decoded contents.
  virtual Status commit(unsigned worker, size_t chunk, std::span<uint8_t> bytes, WorkerClock& clock) = 0;
  // True when the sink checks chunk's hash itself, where its stored bytes
  // land (a GPU), and reports mismatches through deferred_failures(); the
  // engine then calls place_unverified instead of read -> verify -> decode.
  virtual bool verifies(size_t /*chunk*/) const { return false; }
  virtual Status place_unverified(unsigned /*worker*/, size_t /*chunk*/, WorkerClock& /*clock*/) {
    return Error(ErrorKind::Usage, "this sink does not verify chunks itself");
  }
  // acquire()'s destination will not be committed: the chunk failed between
  // the two (a read or hash error); the sink takes back what it lent.
  virtual void abandon(unsigned /*worker*/, size_t /*chunk*/) {}
  // A zero chunk. The default fills acquire()'s span with zeros and commits.
  virtual Status commit_zero(unsigned worker, size_t chunk, WorkerClock& clock);
  // One selected region's whole contents, cut from a packed chunk (format
  // 5.5) that the engine has read, verified and decoded into its own buffer;
  // acquire and commit are not called for packed chunks.
  virtual Status place_region(unsigned worker, size_t region, std::span<const uint8_t> bytes, WorkerClock& clock) = 0;
  // Where a packed chunk's whole decoded bytes can go when the sink holds
  // all of its regions back to back, at the offsets they have in the chunk:
  // the engine then decodes straight into it, and neither will_place nor
  // place_region is called for the chunk. Empty: the sink cannot.
  virtual std::span<uint8_t> packed_destination(unsigned /*worker*/, size_t /*chunk*/, WorkerClock& /*clock*/) {
    return {};
  }
  // Before a packed chunk's place_region calls: regions first .. last (the
  // selected ones among them) are about to be filled, in order. A hint.
  virtual void will_place(unsigned /*worker*/, size_t /*first*/, size_t /*last*/, WorkerClock& /*clock*/) {}
  // After the last chunk: wait for copies, load modules, fill in results.
  virtual Status finish(PhaseTimes& times) = 0;
  // Verdicts that arrived after commit (device-side verification); the engine
  // merges them with its own and reports the lowest failing chunk. Called
  // after finish(), or instead of it when the engine failed: the sink then
  // waits for what it has in flight, so no verdict is lost.
  virtual std::vector<ChunkFailure> deferred_failures() { return {}; }
};

}  // namespace vramsnap::pipeline

namespace vramsnap {

// Device memory, modules and whatever else a backend must free; owned by
// Restored::State until release().
struct DeviceResources {
  virtual ~DeviceResources() = default;
  virtual void disown() = 0;  // keep everything alive after destruction
};

struct Restored::State {
  // Keeps the metadata that regions[i].meta points to alive, even after the
  // caller's Snapshot is gone.
  std::shared_ptr<const SnapshotData> snapshot;
  std::vector<RestoredRegion> regions;
  RestoreStats stats;
  std::vector<void*> host_owned;  // free() on destruction, unless released
  std::vector<void*> host_blocks;  // host_owned as the restore left it (kept by release())
  std::unique_ptr<DeviceResources> device;
  ~State();
};

// The library's way to build a Restored from its state.
struct RestoredAccess {
  static Restored make(std::unique_ptr<Restored::State> s) { return Restored(std::move(s)); }
};

}  // namespace vramsnap
