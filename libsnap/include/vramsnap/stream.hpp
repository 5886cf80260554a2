#pragma once
// Streaming handover: a restore into host memory that hands each region to
// the caller as soon as every chunk of it has been verified and placed, in
// an order the caller chooses (layer order, say), so that a server can start
// work before the last byte has arrived.
//
// The seal is checked first, as for restore(). Chunks are read in delivery
// order, so the first region is ready after about its own share of the work.
// Region k of the order is delivered once it and every region before it in
// the order are complete; each delivered region was fully verified, because
// every chunk hash is under the seal. A later failure still fails the call.
//
// Ownership. A delivered region's host buffer is the caller's from the
// moment on_region is called: free() it when done (buffers from
// host_allocator were the caller's all along). This holds whatever happens
// afterwards: on a later failure or a cancellation the regions already
// delivered stay valid and the caller's, and the library frees every buffer
// it allocated and has not delivered. Nothing is ever delivered twice.
#include <functional>
#include <string>
#include <vector>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/restore.hpp"

namespace vramsnap {

// What on_region tells the restore.
enum class Handover { Continue, Stop };

struct StreamOptions : RestoreOptions {
  // Delivery order: region names, each at most once. Selected regions not
  // named here follow in file order; an empty list is file order. A name
  // that is not among the selected regions is a Usage error.
  std::vector<std::string> order;
};

// Called on the thread that called restore_stream, one region at a time, in
// delivery order. Returning Stop cancels the restore: it then fails with
// Interrupted ("cancelled") after freeing what was not delivered. The
// restore's workers keep going while it runs.
using RegionReadyFn = std::function<Handover(const RestoredRegion& region)>;

// Target::Host only (Usage error otherwise). Returns the run's statistics
// once every region has been delivered.
VRAMSNAP_API Result<RestoreStats> restore_stream(const Snapshot& snap, const StreamOptions& options,
                                                 const RegionReadyFn& on_region);

}  // namespace vramsnap
