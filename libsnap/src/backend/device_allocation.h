#pragma once
// The device allocation that encloses a pointer, as the driver reports it
// (cuMemGetAddressRange). Capture records it per device region so that a
// fixed-VA restore can reserve the allocation's granularity-aligned range
// instead of the region's own, which is rarely aligned.
#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::backend {

// Needs the pointer's device current on the calling thread. Compat error
// without a driver (or one without the entry point), IO for a pointer the
// driver does not know (for instance host memory).
Result<AllocationRange> enclosing_allocation(const void* device_ptr);

// Sets meta.alloc for a device region captured at its own address (meta.va is
// the pointer) when the driver names an allocation that holds the whole
// region; leaves it unset otherwise (no driver, a pointer the driver does not
// know: the copy itself reports those). Selects meta.device for the query and
// puts the calling thread's context back.
void record_allocation(RegionMeta& meta, const void* device_ptr);

}  // namespace vramsnap::backend
