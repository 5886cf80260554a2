// The index digest of a snapshot blob, and PinnedSource: a Source that
// answers reads of the two checked ends from memory and holds every other
// read that touches them to those bytes.
#include "remote/pinned_source.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/checked_math.h"
#include "crypto/digest.h"

namespace vramsnap::remote {
namespace {

// Bytes per request of the whole-blob pass: few requests, bounded memory.
constexpr uint64_t kPassPiece = 16 * 1024 * 1024;
// Between two progress reports of the pass, at the least.
constexpr auto kProgressEvery = std::chrono::milliseconds(50);

// The part of [offset, offset + n) inside [lo, hi), as [first, last).
struct Overlap {
  uint64_t first = 0, last = 0;
  bool empty() const { return first >= last; }
};
Overlap overlap(uint64_t offset, uint64_t n, uint64_t lo, uint64_t hi) {
  const uint64_t end = core::checked_add(offset, n).value_or(UINT64_MAX);
  return {std::max(offset, lo), std::min(end, hi)};
}

class PinnedSource final : public Source {
 public:
  PinnedSource(std::shared_ptr<const Source> inner, IndexBytes ends) : inner_(std::move(inner)), ends_(std::move(ends)) {}

  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  std::string identity() const override { return inner_->identity(); }
  void advise_sequential() const override { inner_->advise_sequential(); }
  void drop_cache() const override { inner_->drop_cache(); }

  Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts, const PieceFn& on_piece) const override {
    uint64_t len = 0;
    for (const auto& p : parts) len = core::checked_add(len, p.size()).value_or(UINT64_MAX);
    const uint64_t S = ends_.size(), tail_at = S - kIndexTail;
    // Wholly inside one end (the reader's own reads of header and tail):
    // the checked bytes, without a request.
    if (core::range_within(offset, len, 0, kIndexHead)) return serve(ends_.head(), offset, parts, on_piece);
    if (core::range_within(offset, len, tail_at, S)) return serve(ends_.tail(), offset - tail_at, parts, on_piece);
    if (overlap(offset, len, 0, kIndexHead).empty() && overlap(offset, len, tail_at, S).empty())
      return inner_->readv(offset, parts, on_piece);
    uint64_t at = offset;
    return inner_->readv(offset, parts, [&](std::span<const uint8_t> piece) -> Status {
      if (const int64_t bad = ends_.first_mismatch(at, piece); bad >= 0)
        return Error(ErrorKind::Integrity,
                     fmt::format("{}: the byte at offset {} differs from the snapshot index checked at open (the "
                                 "server now serves other bytes under the same digest)", name(), bad));
      at += piece.size();
      return on_piece ? on_piece(piece) : Status{};
    });
  }

 private:
  static Status serve(const std::vector<uint8_t>& from, uint64_t at, std::span<const std::span<uint8_t>> parts,
                      const PieceFn& on_piece) {
    for (const auto& p : parts) {
      std::memcpy(p.data(), from.data() + at, p.size());
      at += p.size();
      if (on_piece) VRAMSNAP_TRY(on_piece(p));
    }
    return {};
  }

  std::shared_ptr<const Source> inner_;
  IndexBytes ends_;
};

Status check_size(const Source& s) {
  if (s.size() < kIndexHead + kIndexTail)
    return Error(ErrorKind::Format, fmt::format("{}: the blob is {} bytes, too short to be a snapshot (at least {})",
                                                s.name(), s.size(), kIndexHead + kIndexTail));
  return {};
}

}  // namespace

IndexBytes::IndexBytes(uint64_t size) : size_(size), head_(kIndexHead), tail_(kIndexTail) {}

void IndexBytes::take(uint64_t offset, std::span<const uint8_t> piece) {
  const uint64_t tail_at = size_ - kIndexTail;
  if (auto o = overlap(offset, piece.size(), 0, kIndexHead); !o.empty())
    std::memcpy(head_.data() + o.first, piece.data() + (o.first - offset), o.last - o.first);
  if (auto o = overlap(offset, piece.size(), tail_at, size_); !o.empty())
    std::memcpy(tail_.data() + (o.first - tail_at), piece.data() + (o.first - offset), o.last - o.first);
}

std::string IndexBytes::digest() const {
  crypto::Sha256 h;
  h.update(head_);
  h.update(tail_);
  return "sha256:" + crypto::to_hex(h.finish());
}

int64_t IndexBytes::first_mismatch(uint64_t offset, std::span<const uint8_t> piece) const {
  const uint64_t tail_at = size_ - kIndexTail;
  const struct {
    const std::vector<uint8_t>& bytes;
    uint64_t at;
  } ends[] = {{head_, 0}, {tail_, tail_at}};
  for (const auto& e : ends) {
    const auto o = overlap(offset, piece.size(), e.at, e.at + e.bytes.size());
    for (uint64_t i = o.first; i < o.last; ++i)
      if (piece[i - offset] != e.bytes[i - e.at]) return static_cast<int64_t>(i);
  }
  return -1;
}

Result<std::shared_ptr<const Source>> pin_index(std::shared_ptr<const Source> inner, const std::string& index_digest) {
  VRAMSNAP_TRY(check_size(*inner));
  const uint64_t S = inner->size();
  IndexBytes ends(S);
  std::vector<uint8_t> buf(kIndexHead);
  VRAMSNAP_TRY(inner->read(0, buf));
  ends.take(0, buf);
  buf.resize(kIndexTail);
  VRAMSNAP_TRY(inner->read(S - kIndexTail, buf));
  ends.take(S - kIndexTail, buf);
  if (const std::string got = ends.digest(); got != index_digest)
    return Error(ErrorKind::Integrity,
                 fmt::format("{}: the blob is not the snapshot the manifest pins: its index (header page, seal block "
                             "and trailer) hashes to {}, the manifest's {} is {}; nothing was used",
                             inner->name(), got, kIndexDigestAnnotation, index_digest));
  return std::shared_ptr<const Source>(std::make_shared<PinnedSource>(std::move(inner), std::move(ends)));
}

Result<std::shared_ptr<const Source>> pin_blob(std::shared_ptr<const Source> inner, const std::string& blob_digest,
                                               const ProgressFn& progress) {
  VRAMSNAP_TRY(check_size(*inner));
  const uint64_t S = inner->size();
  inner->advise_sequential();
  IndexBytes ends(S);
  crypto::Sha256 h;
  std::vector<uint8_t> buf(static_cast<size_t>(std::min(kPassPiece, S)));
  auto reported = std::chrono::steady_clock::now();
  for (uint64_t at = 0; at < S;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), S - at));
    uint64_t p = at;
    VRAMSNAP_TRY(inner->read(at, {buf.data(), n}, [&](std::span<const uint8_t> piece) -> Status {
      h.update(piece);
      ends.take(p, piece);
      p += piece.size();
      if (progress && p < S) {
        const auto now = std::chrono::steady_clock::now();
        if (now - reported >= kProgressEvery) {
          reported = now;
          progress(Progress{p, S});
        }
      }
      return {};
    }));
    at += n;
  }
  if (progress) progress(Progress{S, S});
  if (const std::string got = "sha256:" + crypto::to_hex(h.finish()); got != blob_digest)
    return Error(ErrorKind::Integrity,
                 fmt::format("{}: the blob is not the one the reference pins: its bytes hash to {}, not {}; nothing "
                             "was used", inner->name(), got, blob_digest));
  return std::shared_ptr<const Source>(std::make_shared<PinnedSource>(std::move(inner), std::move(ends)));
}

}  // namespace vramsnap::remote
