// Restored: owns what a restore allocated until the caller releases it.
#include <cstdlib>

#include "pipeline/sink.h"

namespace vramsnap {

Restored::State::~State() {
  for (void* p : host_owned) std::free(p);
}
Restored::Restored() : state_(std::make_unique<State>()) {}
Restored::Restored(std::unique_ptr<State> s) : state_(std::move(s)) {}
Restored::Restored(Restored&&) noexcept = default;
Restored& Restored::operator=(Restored&&) noexcept = default;
Restored::~Restored() = default;
const std::vector<RestoredRegion>& Restored::regions() const { return state_->regions; }
const RestoredRegion* Restored::find(const std::string& name) const {
  for (const auto& r : state_->regions)
    if (r.meta->name == name) return &r;
  return nullptr;
}
const RestoreStats& Restored::stats() const { return state_->stats; }
const std::vector<void*>& Restored::host_blocks() const { return state_->host_blocks; }
void Restored::release() {
  state_->host_owned.clear();
  if (state_->device) state_->device->disown();
}

}  // namespace vramsnap
