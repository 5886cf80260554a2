// verify and seal: the public entry points over the chunk engine.
#include <fmt/format.h>

#include "codec/codec.h"
#include "crypto/digest.h"
#include "format/seal.h"
#include "format/snapshot_data.h"
#include "io/aligned_buffer.h"
#include "pipeline/engine.h"
#include "vramsnap/restore.hpp"

namespace vramsnap {
namespace {
// Read size for hash-only verification: small enough to stay in L2 between
// the kernel's copy and the hash, large enough that syscalls do not matter.
constexpr size_t kVerifyPiece = 256 * 1024;
}  // namespace

Result<VerifyReport> verify(const Snapshot& snap, const VerifyOptions& opt) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = snap.data();
  VerifyReport rep;
  rep.seal = s.seal;
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  rep.seal_checked = s.seal.state != SealState::Unsealed && opt.key;

  std::vector<size_t> chunks(s.chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) chunks[i] = i;
  const unsigned threads = pipeline::effective_threads(opt.threads, chunks.size());

  // Hash-only verification streams each chunk through a small per-worker
  // buffer, so every piece is hashed while it is still in the core's L2 cache
  // (the chunk is never needed whole). With decode the whole stored chunk is
  // read, hashed, and then decoded from that same buffer.
  struct Worker {
    io::AlignedBuffer in;
    std::vector<uint8_t> out;
    std::unique_ptr<codec::ChunkDecoder> decoder;
    std::unique_ptr<crypto::Sha256> hash;
  };
  std::vector<Worker> workers(threads);
  for (auto& w : workers) {
    if (opt.decode) {
      w.decoder = std::make_unique<codec::ChunkDecoder>();
    } else {
      w.hash = std::make_unique<crypto::Sha256>();
      if (w.in.reserve(kVerifyPiece).empty())
        return Error(ErrorKind::Limit, fmt::format("{}: out of memory for a {}-byte read buffer", s.path, kVerifyPiece));
    }
  }

  pipeline::EngineOptions eo{threads, opt.progress, opt.cancel};
  auto fn = [&](unsigned wi, size_t i, pipeline::WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    if (c.codec == Codec::Zero) return {};
    Worker& w = workers[wi];
    if (!opt.decode) {
      pipeline::PhaseTimer t(clk.hash_ns);
      return format::stream_check_chunk(s, i, *w.hash, w.in.reserve(kVerifyPiece));
    }
    std::span<const uint8_t> extent;
    {
      pipeline::PhaseTimer t(clk.read_ns);
      VRAMSNAP_ASSIGN_OR_RETURN(extent, format::read_chunk_extent(s, i, w.in));
    }
    const auto stored = extent.first(c.stored_size);
    {
      pipeline::PhaseTimer t(clk.hash_ns);
      VRAMSNAP_TRY(format::check_chunk(s, i, stored, extent.subspan(c.stored_size)));
    }
    pipeline::PhaseTimer t(clk.decode_ns);
    if (w.out.size() < c.raw_size) w.out.resize(c.raw_size);
    auto st = w.decoder->decode(static_cast<format::CodecId>(c.codec), c.elem_size, stored, {w.out.data(), c.raw_size});
    if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
    return {};
  };
  VRAMSNAP_TRY(pipeline::run_chunks(s, chunks, threads, eo, fn, nullptr));
  for (const auto& c : s.chunks) {
    rep.bytes_checked += c.stored_size;
    rep.raw_bytes += c.raw_size;
  }
  rep.chunks_checked = s.chunks.size();
  rep.seconds = pipeline::seconds_since(t0);
  return rep;
}

Result<SealInfo> seal(const std::string& path, const Key& key, SealInfo* previous) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto outcome, format::seal_file(path, key.impl()));
  if (previous) *previous = outcome.previous;
  return outcome.now;
}

}  // namespace vramsnap
