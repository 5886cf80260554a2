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

  // Each chunk is read in pieces that are hashed while still in the core's
  // cache (format::read_hashed_chunk). Hash-only verification cycles one
  // piece-sized buffer per worker and never holds a chunk whole; with decode
  // the stored chunk is kept and decoded from the very bytes that were hashed.
  struct Worker {
    io::AlignedBuffer in;
    std::vector<uint8_t> out;
    std::unique_ptr<codec::ChunkDecoder> decoder;
    crypto::Sha256 hash;
  };
  std::vector<Worker> workers(threads);
  for (auto& w : workers) {
    if (opt.decode) w.decoder = std::make_unique<codec::ChunkDecoder>();
    if (w.in.reserve(format::kHashPiece).empty())
      return Error(ErrorKind::Limit, fmt::format("{}: out of memory for a {}-byte read buffer", s.path, format::kHashPiece));
  }

  pipeline::EngineOptions eo{threads, opt.progress, opt.cancel};
  auto fn = [&](unsigned wi, size_t i, pipeline::WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    if (c.codec == Codec::Zero) return {};
    Worker& w = workers[wi];
    if (!opt.decode)
      return format::read_hashed_chunk(s, i, w.in.reserve(format::kHashPiece), format::Keep::Nothing, w.hash,
                                       &clk.read_ns, &clk.hash_ns);
    const auto buf = w.in.reserve(std::max<size_t>(c.stored_size, format::kHashPiece));
    if (buf.empty())
      return Error(ErrorKind::Limit, format::chunk_context(s, i) + fmt::format(": out of memory for a {}-byte read buffer", c.stored_size));
    VRAMSNAP_TRY(format::read_hashed_chunk(s, i, buf, format::Keep::Stored, w.hash, &clk.read_ns, &clk.hash_ns));
    pipeline::PhaseTimer t(clk.decode_ns);
    if (w.out.size() < c.raw_size) w.out.resize(c.raw_size);
    auto st = w.decoder->decode(static_cast<format::CodecId>(c.codec), c.elem_size, buf.first(c.stored_size),
                                {w.out.data(), c.raw_size});
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
