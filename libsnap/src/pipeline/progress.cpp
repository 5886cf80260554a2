// The progress throttle: one lock around the clock check and the callback,
// so reports are serialised and their counts never go backwards.
#include "pipeline/progress.h"

namespace vramsnap::pipeline {

void ProgressThrottle::add(uint64_t bytes) {
  done_.fetch_add(bytes, std::memory_order_relaxed);
  if (!fn_) return;
  std::lock_guard lk(mu_);
  const auto now = Clock::now();
  if (now - last_ < kInterval) return;
  last_ = now;
  fn_(Progress{done(), total_});
}

void ProgressThrottle::finish() {
  if (!fn_) return;
  std::lock_guard lk(mu_);
  last_ = Clock::now();
  fn_(Progress{done(), total_});
}

}  // namespace vramsnap::pipeline
