#pragma once
// When a remote read is tried again, and how long to wait first: pure
// functions, so the policy is unit-tested without a network.
#include <algorithm>
#include <cstdint>

namespace vramsnap::remote {

struct RetryPolicy {
  unsigned max_attempts = 5;  // tries per request without progress, the first included
  unsigned base_ms = 200;     // wait before the second try
  unsigned cap_ms = 5000;     // longest wait
  unsigned max_total = 20;    // tries per request in all, progress or not
};

// Transient statuses: timeout, too many requests, and the gateway/server
// errors a load balancer or a busy registry answers with.
constexpr bool retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Wait before try number `attempt` (2 = the first retry): base * 2^(attempt-2),
// capped. Callers add jitter in [wait/2, wait] so a fleet does not retry in step.
constexpr uint64_t backoff_ms(const RetryPolicy& p, unsigned attempt) {
  if (attempt < 2) return 0;
  const unsigned shift = std::min(attempt - 2, 20u);
  return std::min<uint64_t>(static_cast<uint64_t>(p.base_ms) << shift, p.cap_ms);
}

// Whether another try is allowed after `attempts` tries, `stalled` of them
// in a row without a single new byte.
constexpr bool may_retry(const RetryPolicy& p, unsigned attempts, unsigned stalled) {
  return attempts < p.max_total && stalled < p.max_attempts;
}

}  // namespace vramsnap::remote
