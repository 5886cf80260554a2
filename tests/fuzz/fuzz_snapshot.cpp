// libFuzzer target for whole snapshot files (reliability items 1-8): the
// input is written to a memfd and opened through /proc/self/fd/N, exactly as
// a file on disk would be; when it opens, it is verified (decoding every
// chunk) and restored to host memory, both with allow_unsealed and 1 thread.
//
// Every structure is behind a SHA-256 (header and trailer check values,
// table, manifest and chunk hashes), so a mutated input almost never gets
// past the trailer. Each input therefore runs twice: as is, then with every
// hash and check value that the input locates recomputed and the trailer's
// file size set to the input size ("fixed up"), so mutations reach the
// parsers and cross-checks behind the hashes.
//
// Oracles besides "no crash, no leak, no sanitizer report":
//   - errors carry a message and a kind that a file can cause;
//   - an opened snapshot accounts for every byte (FileLayout adds up);
//   - verify (decode) and host restore agree on whether the file is good, and
//     hash-only verify (the streaming path) never fails a file that verify
//     with decode passes;
//   - a host restore whose regions declare more than its memory budget fails
//     with a Limit error before allocating them;
//   - signed files (seal algorithm 2; the seeds "signed-*" are signed with the
//     key of formats/snapshot-v1.md 9.4, seed 00..1f) are also checked against
//     that public key, and a file whose signature holds never fails the
//     structure-and-hash check.
//
// Memory: open allocates at most the input size (the table and manifest must
// lie inside the file) and verify at most one chunk (<= 256 MiB cap). A host
// restore may allocate the regions' declared sizes, which a small file can set
// to terabytes with zero-codec chunks, so it runs with max_host_bytes =
// kRestoreBudget.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/checked_math.h"
#include "crypto/digest.h"
#include "format/layout.h"
#include "vramsnap/restore.hpp"
#include "vramsnap/snapshot.hpp"

namespace {

using namespace vramsnap;
namespace F = vramsnap::format;

constexpr uint64_t kRestoreBudget = 64ull << 20;
// Bytes hashed while fixing up chunk hashes: records may all name the whole
// input, and 14k records x 1 MiB would make one input take minutes.
constexpr uint64_t kFixUpHashBudget = 8ull << 20;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_snapshot: oracle failed: %s\n", why);
  __builtin_trap();
}

// The public key of formats/snapshot-v1.md 9.4's worked example.
const Key& trusted_public_key() {
  static const Key k = [] {
    uint8_t seed[32];
    for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(i);
    return *Key::ed25519_from_seed(seed, sizeof seed)->public_key();
  }();
  return k;
}

void check_error(const Error& e) {
  if (e.message().empty()) fail("error without a message");
  switch (e.kind()) {
    case ErrorKind::Format:
    case ErrorKind::Integrity:
    case ErrorKind::Limit:
    case ErrorKind::IO:
      return;
    default:
      fail("error kind that a snapshot file cannot cause");
  }
}

class MemFd {
 public:
  MemFd() : fd_(::memfd_create("fuzz_snapshot", MFD_CLOEXEC)) {}
  ~MemFd() { if (fd_ >= 0) ::close(fd_); }
  MemFd(const MemFd&) = delete;
  MemFd& operator=(const MemFd&) = delete;
  bool write_all(const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

void run(const uint8_t* data, size_t size) {
  MemFd mem;
  if (mem.fd() < 0 || !mem.write_all(data, size)) {
    std::perror("fuzz_snapshot: memfd");
    std::abort();  // the harness, not the library, is broken
  }
  const std::string path = "/proc/self/fd/" + std::to_string(mem.fd());
  auto snap = Snapshot::open(path);
  if (!snap.ok()) {
    check_error(snap.error());
    return;
  }

  const FileLayout& L = snap->layout();
  if (L.header + L.header_padding + L.chunk_data + L.chunk_padding + L.table + L.manifest + L.seal_padding +
          L.seal + L.trailer != L.file_size ||
      L.file_size != size)
    fail("FileLayout does not add up to the file size");

  VerifyOptions vo;
  vo.allow_unsealed = true;
  vo.decode = true;
  vo.threads = 1;
  auto rep = verify(*snap, vo);
  if (!rep.ok()) check_error(rep.error());
  VerifyOptions ho = vo;
  ho.decode = false;
  auto hashed = verify(*snap, ho);
  if (!hashed.ok()) check_error(hashed.error());
  if (rep.ok() && !hashed.ok()) fail("hash-only verify fails a file that verify with decode passes");

  if (snap->seal().state == SealState::Ed25519) {
    VerifyOptions so = ho;
    so.allow_unsealed = false;
    so.trusted_keys = {trusted_public_key()};
    auto sig = verify(*snap, so);
    if (!sig.ok()) check_error(sig.error());
    if (sig.ok() && !hashed.ok()) fail("a signed file verifies with its key but not without");
  }

  uint64_t total = 0;
  for (const auto& r : snap->regions()) {
    auto t = core::checked_add(total, r.size);
    total = t.value_or(UINT64_MAX);
    if (!t) break;
  }
  RestoreOptions ro;
  ro.allow_unsealed = true;
  ro.threads = 1;
  ro.target = Target::Host;
  ro.max_host_bytes = kRestoreBudget;
  auto restored = restore(*snap, ro);
  if (!restored.ok()) check_error(restored.error());
  if (total > kRestoreBudget) {
    if (restored.ok()) fail("restore allocated more than max_host_bytes");
    if (rep.ok() && restored.error().kind() != ErrorKind::Limit) fail("restore over budget failed without a Limit error");
    return;
  }
  if (restored.ok() != rep.ok()) fail("verify and restore disagree on the same file");
  if (restored.ok() && restored->regions().size() != snap->regions().size()) fail("restore lost a region");
}

void put_digest(uint8_t* dst, const crypto::Digest& d) { std::copy(d.begin(), d.end(), dst); }
// Header and trailer check values: the first 8 bytes of SHA-256 over the prefix.
void put_check(uint8_t* dst, const crypto::Digest& d) { std::copy_n(d.begin(), 8, dst); }

// Recomputes what the input's own offsets make computable. Offsets are only
// followed when they lie inside the buffer; returns false when the trailer is
// not even there.
bool fix_up(std::vector<uint8_t>& b) {
  const uint64_t S = b.size();
  if (S >= F::kHeaderSize) {
    put_check(b.data() + F::hdr::kCheck, crypto::sha256({b.data(), F::hdr::kCheck}));
  }
  if (S < F::kTrailerSize) return S >= F::kHeaderSize;
  uint8_t* t = b.data() + S - F::kTrailerSize;
  F::store_u64(t + F::trl::kFileSize, S);

  const uint64_t table = F::load_u64(t + F::trl::kTableOffset);
  const uint64_t count = F::load_u64(t + F::trl::kChunkCount);
  auto table_size = core::checked_mul(count, F::kChunkRecordSize);
  if (table_size && core::range_within(table, *table_size, 0, S)) {
    uint64_t hashed = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint8_t* rec = b.data() + table + i * F::kChunkRecordSize;
      const uint64_t off = F::load_u64(rec + F::rec::kStoredOffset);
      const uint64_t len = F::load_u64(rec + F::rec::kStoredSize);
      // Zero chunks keep their hash (the empty SHA-256 in valid files).
      if (rec[F::rec::kCodec] == uint8_t(F::CodecId::Zero) || !core::range_within(off, len, 0, S)) continue;
      if ((hashed += len) > kFixUpHashBudget) break;
      put_digest(rec + F::rec::kHash, crypto::sha256({b.data() + off, len}));
    }
    put_digest(t + F::trl::kTableHash, crypto::sha256({b.data() + table, *table_size}));
  }
  const uint64_t moff = F::load_u64(t + F::trl::kManifestOffset);
  const uint64_t msize = F::load_u64(t + F::trl::kManifestSize);
  if (core::range_within(moff, msize, 0, S))
    put_digest(t + F::trl::kManifestHash, crypto::sha256({b.data() + moff, msize}));
  put_check(t + F::trl::kCheck, crypto::sha256({t, F::trl::kCheck}));
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size);
  std::vector<uint8_t> fixed(data, data + size);
  if (fix_up(fixed) && !std::equal(fixed.begin(), fixed.end(), data)) run(fixed.data(), fixed.size());
  return 0;
}
