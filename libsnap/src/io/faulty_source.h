#pragma once
// A Source wrapper that misbehaves on purpose, for tests to compose with any
// other Source: the Nth read fails with an I/O error, or the bytes at one
// file offset come back flipped (a disk or a server returning wrong data).
// Pieces are delivered the way the wrapped source delivers them, so hashing
// on arrival sees exactly the bytes the caller gets.
#include <atomic>
#include <cerrno>
#include <memory>

#include "io/file.h"
#include "vramsnap/source.hpp"

namespace vramsnap::io {

struct SourceFault {
  enum class Kind { None, FailRead, FlipByte };
  Kind kind = Kind::None;
  uint64_t nth_read = 0;  // FailRead: 1-based index of the read() call that fails
  int err = EIO;          // FailRead: the errno reported
  uint64_t offset = 0;    // FlipByte: file offset whose byte is inverted
};

class FaultySource final : public Source {
 public:
  FaultySource(std::shared_ptr<const Source> inner, SourceFault fault) : inner_(std::move(inner)), fault_(fault) {}

  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  std::string identity() const override { return inner_->identity(); }
  uint64_t reads() const { return reads_.load(); }

  Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts, const PieceFn& on_piece) const override {
    const uint64_t n = reads_.fetch_add(1) + 1;
    if (fault_.kind == SourceFault::Kind::FailRead && n == fault_.nth_read)
      return errno_error(ErrorKind::IO, name(), ("read at offset " + std::to_string(offset)).c_str(), fault_.err);
    if (fault_.kind != SourceFault::Kind::FlipByte) return inner_->readv(offset, parts, on_piece);
    // Flip inside each piece before the caller sees it.
    uint64_t at = offset;
    auto flip = [&](std::span<uint8_t> piece) {
      if (fault_.offset >= at && fault_.offset - at < piece.size()) piece[fault_.offset - at] ^= 0xFF;
      at += piece.size();
    };
    if (!on_piece) {
      VRAMSNAP_TRY(inner_->readv(offset, parts, {}));
      for (const auto& p : parts) flip(p);
      return {};
    }
    return inner_->readv(offset, parts, [&](std::span<const uint8_t> piece) -> Status {
      // The piece lies inside dst, which is ours to change.
      flip({const_cast<uint8_t*>(piece.data()), piece.size()});
      return on_piece(piece);
    });
  }

 private:
  std::shared_ptr<const Source> inner_;
  SourceFault fault_;
  mutable std::atomic<uint64_t> reads_{0};
};

}  // namespace vramsnap::io
