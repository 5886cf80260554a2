// verify and seal: the public entry points over the chunk engine.
#include <fmt/format.h>

#include "codec/codec.h"
#include "format/seal.h"
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
  std::vector<std::vector<uint8_t>> bufs(threads), out(threads);
  std::vector<std::unique_ptr<codec::ChunkDecoder>> decoders(threads);
  if (opt.decode)
    for (auto& d : decoders) d = std::make_unique<codec::ChunkDecoder>();

  pipeline::EngineOptions eo{threads, opt.progress, opt.cancel};
  auto fn = [&](unsigned w, size_t i, pipeline::WorkerClock& clk) -> Status {
    const auto& c = s.chunks[i];
    if (c.codec == Codec::Zero) return {};
    {
      pipeline::PhaseTimer t(clk.read_ns);
      VRAMSNAP_TRY(format::read_chunk_extent(s, i, bufs[w]));
    }
    const uint64_t extent = format::chunk_extent_end(c) - c.stored_offset;
    std::span<const uint8_t> stored(bufs[w].data(), c.stored_size);
    {
      pipeline::PhaseTimer t(clk.hash_ns);
      VRAMSNAP_TRY(format::check_chunk(s, i, stored, {bufs[w].data() + c.stored_size, extent - c.stored_size}));
    }
    if (opt.decode) {
      pipeline::PhaseTimer t(clk.decode_ns);
      if (out[w].size() < c.raw_size) out[w].resize(c.raw_size);
      auto st = decoders[w]->decode(static_cast<format::CodecId>(c.codec), c.elem_size, stored, {out[w].data(), c.raw_size});
      if (!st.ok()) return std::move(st).error().with_context(format::chunk_context(s, i) + ": ");
    }
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
