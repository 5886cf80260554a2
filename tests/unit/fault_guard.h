#pragma once
// Installs an I/O fault plan (io/fault.h) for the life of a scope.
#include "io/fault.h"

namespace vtest {

struct FaultGuard {
  explicit FaultGuard(vramsnap::io::fault::Plan p) { vramsnap::io::fault::set_plan(p); }
  ~FaultGuard() { vramsnap::io::fault::clear(); }
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;
};

}  // namespace vtest
