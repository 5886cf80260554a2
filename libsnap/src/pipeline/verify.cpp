// verify and seal: the public entry points over the chunk engine. verify runs
// the read and verify stages on every chunk (and, when asked, decode into a
// scratch buffer), with no sink.
#include <fmt/format.h>

#include "format/seal.h"
#include "io/aligned_buffer.h"
#include "pipeline/engine.h"
#include "pipeline/stages.h"
#include "vramsnap/restore.hpp"

namespace vramsnap {
Result<VerifyReport> verify(const Snapshot& snap, const VerifyOptions& opt) {
  const uint64_t t0 = pipeline::now_ns();
  const SnapshotData& s = SnapshotAccess::data(snap);
  VerifyReport rep;
  rep.seal = s.seal;
  VRAMSNAP_TRY(pipeline::check_snapshot(s, opt));
  rep.seal_checked = s.seal.state != SealState::Unsealed && (opt.key || !opt.trusted_keys.empty());

  std::vector<size_t> chunks(s.chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) chunks[i] = i;
  const unsigned threads = pipeline::effective_threads(opt.threads, chunks.size());

  // Each chunk is read in one Source read whose pieces are hashed as they
  // arrive, while still in the core's cache; with decode the stored chunk is
  // decoded from the very bytes that were hashed.
  struct Worker {
    io::AlignedBuffer stored;
    std::vector<uint8_t> out;
    pipeline::ChunkHasher hasher;
    codec::ChunkDecoder decoder;
  };
  std::vector<Worker> workers(threads);
  auto fn = [&](unsigned wi, size_t i, pipeline::WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    if (c.codec == Codec::Zero) return {};
    Worker& w = workers[wi];
    const auto stored = w.stored.reserve(c.stored_size);
    if (stored.size() != c.stored_size)
      return Error(ErrorKind::Limit,
                   format::chunk_context(s, i) + fmt::format(": out of memory for a {}-byte read buffer", c.stored_size));
    VRAMSNAP_TRY(pipeline::read_verified(s, i, stored, w.hasher, clk));
    if (!opt.decode) return {};
    if (w.out.size() < c.raw_size) w.out.resize(c.raw_size);
    return pipeline::decode_chunk(s, i, w.decoder, stored, {w.out.data(), c.raw_size}, clk);
  };
  VRAMSNAP_TRY(pipeline::run_chunks(s, chunks, pipeline::EngineOptions{threads, opt.progress, opt.cancel}, fn, nullptr));
  for (const auto& c : s.chunks) {
    rep.bytes_checked += c.stored_size;
    rep.raw_bytes += c.raw_size;
  }
  rep.chunks_checked = s.chunks.size();
  rep.seconds = pipeline::seconds_since(t0);
  return rep;
}

Result<SealInfo> seal(const std::string& path, const Key& key, SealInfo* previous) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto outcome, format::seal_file(path, key));
  if (previous) *previous = outcome.previous;
  return outcome.now;
}

}  // namespace vramsnap
