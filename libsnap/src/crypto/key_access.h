#pragma once
// The library's access to the key material behind a public vramsnap::Key.
// Not installed: callers outside the library only see ids and types.
#include <memory>
#include <utility>

#include "crypto/key.h"
#include "vramsnap/key.hpp"

namespace vramsnap {

struct KeyAccess {
  static const crypto::Key& material(const Key& key) { return *key.impl_; }
  static Key wrap(crypto::Key&& key) { return Key(std::make_shared<const crypto::Key>(std::move(key))); }
};

}  // namespace vramsnap
