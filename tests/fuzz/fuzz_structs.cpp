// libFuzzer target for the fixed-size structures of format v1 (reliability
// items 3-5, 7): header, trailer, seal block and chunk record.
//
// Input: [mode u8][header 64][trailer 160][seal 128][record 72]; missing
// bytes are zero. Mode bit 0 recomputes the header and trailer check values
// first, so mutations get past the SHA-256 self-checks. Each parser that
// accepts its slice must hand back fields that encode to the very same bytes:
// every byte is either a field or a value the parser checked.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

#include "crypto/digest.h"
#include "format/binary.h"

namespace {

namespace F = vramsnap::format;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_structs: oracle failed: %s\n", why);
  __builtin_trap();
}

constexpr size_t kHeaderAt = 1;
constexpr size_t kTrailerAt = kHeaderAt + F::kHeaderSize;
constexpr size_t kSealAt = kTrailerAt + F::kTrailerSize;
constexpr size_t kRecordAt = kSealAt + F::kSealSize;
constexpr size_t kTotal = kRecordAt + F::kChunkRecordSize;

void fix_check(uint8_t* p, size_t covered) {
  const auto d = vramsnap::crypto::sha256({p, covered});
  std::copy_n(d.begin(), 8, p + covered);
}

template <class T>
void check_error(const vramsnap::Result<T>& r) {
  if (r.error().kind() != vramsnap::ErrorKind::Format || r.error().message().empty())
    fail("parser error that is not a Format error with a message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::array<uint8_t, kTotal> b{};
  std::copy_n(data, std::min(size, kTotal), b.begin());
  if (b[0] & 1) {
    fix_check(&b[kHeaderAt], F::hdr::kCheck);
    fix_check(&b[kTrailerAt], F::trl::kCheck);
  }

  const std::span<const uint8_t, F::kHeaderSize> hb(&b[kHeaderAt], F::kHeaderSize);
  if (auto h = F::parse_header(hb); h.ok()) {
    const auto enc = F::encode_header(*h);
    if (!std::equal(enc.begin(), enc.end(), hb.begin())) fail("header does not round-trip");
  } else {
    check_error(h);
  }

  const std::span<const uint8_t, F::kTrailerSize> tb(&b[kTrailerAt], F::kTrailerSize);
  if (auto t = F::parse_trailer(tb); t.ok()) {
    const auto enc = F::encode_trailer(*t);
    if (!std::equal(enc.begin(), enc.end(), tb.begin())) fail("trailer does not round-trip");
    if (t->chunk_count > F::kMaxChunkCount || t->region_count > F::kMaxRegionCount ||
        t->manifest_size > F::kMaxManifestSize)
      fail("trailer accepted above a cap");
  } else {
    check_error(t);
  }

  const std::span<const uint8_t, F::kSealSize> sb(&b[kSealAt], F::kSealSize);
  if (auto s = F::parse_seal(sb); s.ok()) {
    const auto enc = F::encode_seal(*s);
    if (!std::equal(enc.begin(), enc.end(), sb.begin())) fail("seal block does not round-trip");
  } else {
    check_error(s);
  }

  // As a 1.0-1.2 reader (no packed records) and as a reader of files with
  // the packed-regions bit (spec 5.5).
  for (const bool packed_allowed : {false, true}) {
    if (auto c = F::parse_record(&b[kRecordAt], 0, packed_allowed); c.ok()) {
      std::array<uint8_t, F::kChunkRecordSize> enc{};
      F::encode_record(*c, enc.data());
      if (!std::equal(enc.begin(), enc.end(), &b[kRecordAt])) fail("chunk record does not round-trip");
      if (c->raw_size == 0 || c->raw_size > F::kMaxChunkRawSize || c->stored_size > c->raw_size)
        fail("chunk record accepted outside the caps");
      if (c->packed_regions && (!packed_allowed || c->packed_regions < 2 || c->packed_regions > F::kMaxRegionCount ||
                                c->region_offset != 0))
        fail("packed record accepted outside its rules");
    } else {
      check_error(c);
    }
  }
  return 0;
}
