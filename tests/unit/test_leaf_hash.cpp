// The leaf-tree chunk hash: the portable SHA-256 core (shared with the GPU)
// against OpenSSL for every length class, the incremental CPU hasher against
// its definition, and the device kernel's indexing (coalesced staging, one
// lane per leaf, roots and verdicts per chunk) run on the host by looping
// over warps and lanes, against the CPU hasher.
#include "test_support.h"
#include "device_standin.h"

#include <cstring>

#include "backend/kernels/leaf_hash.cuh"
#include "crypto/leaf_hash.h"
#include "crypto/sha256_core.h"

using namespace vtest;
namespace core = vramsnap::crypto::sha256core;
namespace k = vramsnap::backend::kernels;
using vramsnap::crypto::Digest;

namespace {

Digest core_digest(std::span<const uint8_t> b) {
  Digest d;
  core::digest(b.data(), b.size(), d.data());
  return d;
}

// The definition, spelled out with OpenSSL.
Digest leaf_tree_reference(std::span<const uint8_t> b) {
  Bytes root_in(vramsnap::crypto::kLeafRootDomain,
                vramsnap::crypto::kLeafRootDomain + sizeof(vramsnap::crypto::kLeafRootDomain));
  for (size_t off = 0; off < b.size(); off += 16384) {
    const Digest leaf = sha256(b.subspan(off, std::min<size_t>(16384, b.size() - off)));
    root_in.insert(root_in.end(), leaf.begin(), leaf.end());
  }
  for (int i = 0; i < 8; ++i) root_in.push_back(static_cast<uint8_t>(uint64_t(b.size()) >> (8 * i)));
  return sha256(root_in);
}

// Runs the kernels' per-warp and per-chunk logic on the host.
std::vector<uint32_t> verify_on_host(std::vector<k::ChunkJob>& jobs, std::vector<Digest>* roots = nullptr) {
  uint64_t leaves = 0;
  for (auto& j : jobs) {
    j.first_leaf = leaves;
    leaves += k::leaves_of(j.size);
  }
  return run_leaf_kernels_on_host(jobs, leaves, roots);
}

}  // namespace

TEST_CASE("sha256 core: matches OpenSSL for every length class") {
  const Bytes data = random_bytes(70000, 11);
  // Empty, under one block, the padding boundary (55/56/63/64/65), whole
  // blocks, odd tails, a whole leaf and around it.
  for (size_t n : {0ul, 1ul, 3ul, 55ul, 56ul, 57ul, 63ul, 64ul, 65ul, 119ul, 120ul, 127ul, 128ul, 129ul, 1000ul,
                   4095ul, 4096ul, 16383ul, 16384ul, 16385ul, 65536ul, 70000ul}) {
    CAPTURE(n);
    CHECK(core_digest({data.data(), n}) == sha256({data.data(), n}));
  }
  CHECK(hex(core_digest(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("leaf hash: the incremental hasher is the definition, whatever the pieces") {
  const Bytes data = random_bytes(5 * 16384 + 777, 12);
  for (size_t n : {0ul, 1ul, 16383ul, 16384ul, 16385ul, 2 * 16384ul, data.size()}) {
    CAPTURE(n);
    const std::span<const uint8_t> b(data.data(), n);
    const Digest ref = leaf_tree_reference(b);
    CHECK(vramsnap::crypto::leaf_sha256(b) == ref);
    for (size_t piece : {1ul, 7ul, 4096ul, 16384ul, 100000ul}) {
      vramsnap::crypto::LeafHasher h;
      for (size_t off = 0; off < n; off += piece) h.update(b.subspan(off, std::min(piece, n - off)));
      CHECK(h.finish() == ref);
    }
    // Never the flat hash, and the length is bound.
    CHECK(ref != sha256(b));
  }
  // Reusable after finish.
  vramsnap::crypto::LeafHasher h;
  h.update({data.data(), 100});
  (void)h.finish();
  h.update({data.data(), 50});
  CHECK(h.finish() == leaf_tree_reference({data.data(), 50}));
}

TEST_CASE("leaf hash kernel logic: coalesced staging and per-lane leaves give the CPU's roots") {
  // Chunks of awkward sizes in one batch, so warps straddle chunk ends:
  // 1 byte, under one stage round, exactly one leaf, one leaf and a byte, a
  // 4 MiB chunk, and sizes ending mid-block and at block and round edges.
  const std::vector<size_t> sizes = {1, 100, 16384, 16385, 4u << 20, 64 * 5 + 3, 256, 255, 257, 3 * 16384 - 64};
  std::vector<Bytes> bufs;
  std::vector<k::ChunkJob> jobs;
  uint32_t seed = 40;
  for (size_t n : sizes) {
    bufs.push_back(random_bytes(n, ++seed));
    k::ChunkJob j{};
    j.data = bufs.back().data();
    j.size = n;
    const Digest ref = leaf_tree_reference(bufs.back());
    std::memcpy(j.expect, ref.data(), 32);
    jobs.push_back(j);
  }
  std::vector<Digest> roots;
  auto verdicts = verify_on_host(jobs, &roots);
  for (size_t c = 0; c < sizes.size(); ++c) {
    CAPTURE(sizes[c]);
    CHECK(verdicts[c] == 1);
    CHECK(roots[c] == leaf_tree_reference(bufs[c]));
  }

  // A flipped byte anywhere fails exactly its chunk.
  for (size_t victim : {0ul, 4ul, 7ul}) {
    CAPTURE(victim);
    Bytes& b = bufs[victim];
    const size_t at = b.size() / 2;
    b[at] ^= 1;
    auto v = verify_on_host(jobs);
    for (size_t c = 0; c < sizes.size(); ++c) CHECK(v[c] == (c == victim ? 0u : 1u));
    b[at] ^= 1;
  }
  // A wrong expected hash fails too (the comparison is on the device side).
  jobs[3].expect[31] ^= 0x80;
  auto v = verify_on_host(jobs);
  CHECK(v[3] == 0);
  CHECK(v[2] == 1);
}

TEST_CASE("leaf hash kernel logic: the chunk of every leaf is found by its first leaf") {
  Bytes backing(1 + 3 * 16384 + 16385);
  std::vector<k::ChunkJob> jobs(3);
  jobs[0].data = backing.data();
  jobs[1].data = backing.data() + 1;
  jobs[2].data = backing.data() + 1 + 3 * 16384;
  jobs[0].size = 1;
  jobs[0].first_leaf = 0;
  jobs[1].size = 3 * 16384;
  jobs[1].first_leaf = 1;
  jobs[2].size = 16385;
  jobs[2].first_leaf = 4;
  k::Batch b{jobs.data(), 3, 6, nullptr, nullptr};
  const uint32_t expect[] = {0, 1, 1, 1, 2, 2};
  for (uint64_t leaf = 0; leaf < 6; ++leaf) CHECK(k::chunk_of_leaf(b, leaf) == expect[leaf]);
  CHECK(k::leaf_ref(b, 6).len == 0);
  CHECK(k::leaf_ref(b, 5).len == 1);
  CHECK(k::leaf_ref(b, 3).len == 16384);
}

TEST_CASE("leaf hash: the spec's worked example (section 5.4)") {
  Bytes b(20000);
  for (size_t j = 0; j < b.size(); ++j) b[j] = static_cast<uint8_t>(j % 251);
  CHECK(hex(sha256({b.data(), 16384})) == "4348e3b98e8a327b34ced39c1da9e67cdb4cd5e48e4d7960607a3ae403d35f0c");
  CHECK(hex(sha256({b.data() + 16384, b.size() - 16384})) ==
        "011cc7f5e54cc4793b01cd178e966e7b1e96fc0316bc31a1e3c75359508f9114");
  CHECK(hex(vramsnap::crypto::leaf_sha256(b)) == "afa684ba5dd8380891cbeed2cc0d7d40a148580a04223e9bf2234553251e3b0e");
  CHECK(hex(sha256(b)) == "93a6015a3874a774dd59fdd5db19414b301525381eb5ddcc265cdcc68bb9d350");
}
