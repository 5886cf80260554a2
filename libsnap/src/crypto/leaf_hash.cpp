#include "crypto/leaf_hash.h"

#include <algorithm>

namespace vramsnap::crypto {

void LeafHasher::begin_root_if_needed() {
  if (root_started_) return;
  root_.update({reinterpret_cast<const uint8_t*>(kLeafRootDomain), sizeof(kLeafRootDomain)});
  root_started_ = true;
}

void LeafHasher::update(std::span<const uint8_t> piece) {
  while (!piece.empty()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), kLeafSize - in_leaf_));
    leaf_.update(piece.first(n));
    in_leaf_ += n;
    total_ += n;
    piece = piece.subspan(n);
    if (in_leaf_ == kLeafSize) {
      begin_root_if_needed();
      const Digest d = leaf_.finish();
      root_.update(d);
      in_leaf_ = 0;
    }
  }
}

Digest LeafHasher::finish() {
  begin_root_if_needed();
  if (in_leaf_ > 0) {
    const Digest d = leaf_.finish();
    root_.update(d);
  }
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(total_ >> (8 * i));
  root_.update(len);
  const Digest out = root_.finish();
  in_leaf_ = 0;
  total_ = 0;
  root_started_ = false;
  return out;
}

Digest leaf_sha256(std::span<const uint8_t> data) {
  LeafHasher h;
  h.update(data);
  return h.finish();
}

}  // namespace vramsnap::crypto
