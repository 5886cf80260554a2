#pragma once
// Batch decoding of planes chunks, as the CUDA kernel runs it
// (backend/kernels/planes_decode.cuh) and as tests run the same grid on the
// host. The grid is one slice per 128 blocks' worth of elements of every
// chunk (a chunk has at least one slice); a slice is one CUDA thread block
// of kSliceThreads threads. Its work is split into phases separated by
// barriers on the device: begin_slice (one thread: find the chunk, parse and
// check its layout), then for each plane prepare_plane (one thread per code
// table the slice's blocks use: build and check it) and decode_slice_block
// (every thread: one block of 4096 elements of that plane). Every read stays inside the chunk's stored
// bytes and every write inside its raw_size bytes, whatever the input; a
// chunk that fails a check gets a non-zero status (its Fault). A palette job
// (codec 5) runs the same phases over its one index plane, with the
// per-group and per-block work of codec/palette/block.h. A chunk in
// the f16 split layout (split.h) has one plane, its symbols: a thread decodes
// its block's symbols and then assembles the block's values (split_block).
#include <stdint.h>

#include "codec/palette/block.h"
#include "codec/planes/block.h"
#include "codec/planes/layout.h"
#include "codec/planes/split.h"

namespace vramsnap::codec::planes {

inline constexpr uint32_t kSliceThreads = 128;
inline constexpr uint64_t kSliceElements = uint64_t(kSliceThreads) * kBlockSymbols;
inline constexpr uint32_t kSliceTables = kSliceThreads / kBlocksPerTable;  // code tables a slice uses
static_assert(kSliceThreads % kBlocksPerTable == 0, "a slice holds whole table groups");

// One chunk: where its stored bytes are, where it decodes to.
struct PlanesJob {
  const uint8_t* stored;
  uint64_t stored_size;
  uint8_t* dst;
  uint64_t raw_size;  // 1 .. 2^28, from a checked chunk record
  uint32_t elem_size;
  uint32_t first_slice;  // this chunk's first slice in the grid
  uint32_t palette;      // 1: a palette chunk (codec 5, codec/palette/block.h), 0: planes
};

struct PlanesBatch {
  const PlanesJob* jobs;
  uint32_t job_count;
  uint32_t slice_count;  // slices of every job: the grid size
  uint32_t* status;      // per job: 0, or the Fault that refused it
  // Per job, or null: a job whose entry is not 1 (its chunk hash did not
  // match, launch_leaf_verify's verdict) is not decoded and gets no status.
  const uint32_t* gate;
};

PLANES_HD inline uint32_t slices_for(uint64_t raw_size, uint32_t elem_size) {
  const uint64_t m = elem_size ? raw_size / elem_size : 0;
  const uint64_t s = (m + kSliceElements - 1) / kSliceElements;
  return s ? uint32_t(s) : 1;
}

// Numbers the slices of jobs[0, n) (sets first_slice); returns the grid size.
PLANES_HD inline uint32_t assign_slices(PlanesJob* jobs, uint32_t n) {
  uint32_t next = 0;
  for (uint32_t i = 0; i < n; ++i) {
    jobs[i].first_slice = next;
    next += slices_for(jobs[i].raw_size, jobs[i].elem_size);
  }
  return next;
}

// What a slice's threads share (shared memory on the device).
struct SliceState {
  uint32_t job;     // index into batch.jobs
  uint32_t slice;   // index of this slice within its job
  uint32_t planes;  // planes to decode: e, or 0 when the layout failed; set once per slice
  bool ok;          // the layout and the current plane's tables passed
  Layout layout;
  uint16_t tables[kSliceTables][kTableSize];  // 16 KiB
  bool palette;                          // a palette job: one index plane, `pal` below
  palette::Layout pal;
  uint32_t value_at[kSliceTables];       // each table group's values
  bool split;  // the f16 split layout (split.h): one symbol plane, `split_layout` below
  SplitLayout split_layout;
};

PLANES_HD inline void fail(const PlanesBatch& b, uint32_t job, Fault f) {
  // Any thread may record; every value it can store is non-zero.
  b.status[job] = uint32_t(f);
}

// Phase 1, one thread: the slice's job (jobs are in first_slice order) and
// its layout; the first slice also copies the tail.
PLANES_HD inline void begin_slice(const PlanesBatch& b, uint32_t slice, SliceState& st) {
  uint32_t lo = 0, hi = b.job_count;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (b.jobs[mid].first_slice <= slice) lo = mid; else hi = mid;
  }
  st.job = lo;
  st.slice = slice - b.jobs[lo].first_slice;
  if (b.gate && b.gate[lo] != 1) {  // unverified bytes are never parsed
    st.ok = false;
    st.planes = 0;
    return;
  }
  const PlanesJob& j = b.jobs[lo];
  st.palette = j.palette != 0;
  st.split = !st.palette && is_split(j.stored, j.stored_size);
  if (st.split) {  // checks S1, S2 and S7; S5 per block
    const SplitLayout& sl = st.split_layout;
    Fault f = parse_split(j.stored, j.stored_size, j.raw_size, j.elem_size, &st.split_layout);
    if (f == Fault::None) f = check_split_padding(j.stored + sl.bits_offset, sl.bits_size, sl.nonzero);
    st.ok = f == Fault::None;
    st.planes = st.ok ? 1 : 0;
    if (!st.ok) {
      fail(b, lo, f);
      return;
    }
    if (st.slice == 0)
      for (uint32_t i = 0; i < sl.tail_size; ++i) j.dst[uint64_t(sl.elements) * 2 + i] = j.stored[sl.tail_offset + i];
    return;
  }
  const Fault f = st.palette ? palette::parse_layout(j.stored, j.stored_size, j.raw_size, j.elem_size, &st.pal)
                             : parse_layout(j.stored, j.stored_size, j.raw_size, j.elem_size, &st.layout);
  st.ok = f == Fault::None;
  st.planes = st.ok ? (st.palette ? 1 : st.layout.elem) : 0;
  if (!st.ok) {
    fail(b, lo, f);
    return;
  }
  const uint64_t tail_at =
      st.palette ? uint64_t(st.pal.elements) * st.pal.elem : uint64_t(st.layout.elements) * st.layout.elem;
  const uint32_t tail_offset = st.palette ? st.pal.tail_offset : st.layout.tail_offset;
  const uint32_t tail_size = st.palette ? st.pal.tail_size : st.layout.tail_size;
  if (st.slice == 0)
    for (uint32_t i = 0; i < tail_size; ++i) j.dst[tail_at + i] = j.stored[tail_offset + i];
}

// Phase 2, per plane, threads 0 .. kSliceTables - 1: the code table of the
// slice's group `thread` (check 4). Several threads may clear st.ok.
PLANES_HD inline void prepare_plane(const PlanesBatch& b, unsigned p, uint32_t thread, SliceState& st) {
  if (st.split) {  // the symbol plane's group `thread` (checks S3)
    const Plane& sp = st.split_layout.symbols;
    const uint64_t t = uint64_t(st.slice) * kSliceTables + thread;
    if (!st.ok || thread >= kSliceTables || t >= sp.tables) return;
    const uint8_t* len = b.jobs[st.job].stored + sp.offset + t * kLengthsSize;
    Fault f = check_split_lengths(len);
    if (f == Fault::None) f = build_table(len, st.tables[thread]);
    if (f != Fault::None) {
      st.ok = false;
      fail(b, st.job, f);
    }
    return;
  }
  if (st.palette) {  // the index plane's group `thread`: values and code (palette checks 4, 5)
    const uint64_t g = uint64_t(st.slice) * kSliceTables + thread;
    if (!st.ok || thread >= kSliceTables || g >= st.pal.groups) return;
    const Fault f = palette::prepare_group(b.jobs[st.job].stored, st.pal, uint32_t(g), st.tables[thread],
                                           &st.value_at[thread]);
    if (f != Fault::None) {
      st.ok = false;
      fail(b, st.job, f);
    }
    return;
  }
  const Plane& pl = st.layout.planes[p];
  if (!st.ok || pl.mode != kModeHuffman || thread >= kSliceTables) return;
  const uint64_t t = uint64_t(st.slice) * kSliceTables + thread;
  if (t >= pl.tables) return;
  const Fault f = build_table(b.jobs[st.job].stored + pl.offset + t * kLengthsSize, st.tables[thread]);
  if (f != Fault::None) {
    st.ok = false;
    fail(b, st.job, f);
  }
}

// Phase 3, every thread: block `thread` of this slice, for plane p.
PLANES_HD inline void decode_slice_block(const PlanesBatch& b, unsigned p, uint32_t thread, const SliceState& st) {
  if (!st.ok) return;
  if (st.split) {  // block `thread` of the symbol plane, to values (S4-S6)
    const uint64_t js = uint64_t(st.slice) * kSliceThreads + thread;
    if (js >= st.split_layout.symbols.blocks) return;
    const PlanesJob& job = b.jobs[st.job];
    const Fault f = split_block(job.stored, job.stored_size, st.split_layout, uint32_t(js),
                                st.tables[thread / kBlocksPerTable], job.dst);
    if (f != Fault::None) fail(b, st.job, f);
    return;
  }
  if (st.palette) {  // block `thread` of the index plane, mapped to values
    const uint64_t jp = uint64_t(st.slice) * kSliceThreads + thread;
    if (jp >= st.pal.index.blocks) return;
    const PlanesJob& job = b.jobs[st.job];
    const uint32_t g = thread / kBlocksPerTable;
    const Fault f = palette::decode_block(job.stored, job.stored_size, job.dst, st.pal, uint32_t(jp), st.tables[g],
                                          st.value_at[g]);
    if (f != Fault::None) fail(b, st.job, f);
    return;
  }
  const Layout& lay = st.layout;
  const uint64_t j64 = uint64_t(st.slice) * kSliceThreads + thread;
  const uint32_t k = block_count(lay.elements);
  if (j64 >= k) return;
  const uint32_t j = uint32_t(j64);
  const PlanesJob& job = b.jobs[st.job];
  const Plane& pl = lay.planes[p];
  const uint32_t first = j * kBlockSymbols;
  const uint32_t count = lay.elements - first < kBlockSymbols ? lay.elements - first : kBlockSymbols;
  const uint32_t e = lay.elem;
  uint8_t* out = job.dst + uint64_t(first) * e + p;
  if (pl.mode == kModeRaw) {
    const uint8_t* in = job.stored + pl.offset + first;
    for (uint32_t i = 0; i < count; ++i) out[uint64_t(i) * e] = in[i];
    return;
  }
  if (pl.mode == kModeConstant) {
    for (uint32_t i = 0; i < count; ++i) out[uint64_t(i) * e] = pl.value;
    return;
  }
  uint32_t begin, end;
  Fault f = block_extent(job.stored + pl.ends_offset, j, k, pl.stream_size, &begin, &end);
  if (f == Fault::None) {
    const uint8_t* area = job.stored + pl.stream_offset;
    f = decode_block(st.tables[thread / kBlocksPerTable], area, job.stored_size - pl.stream_offset, begin, end, out,
                     e, count);
  }
  if (f != Fault::None) fail(b, st.job, f);
}

#if !defined(__CUDA_ARCH__)
// The kernel's grid on the host, slice by slice and thread by thread, in
// the order the kernel's barriers allow (tests compare it with the decoder).
inline void run_grid_on_host(const PlanesBatch& b, SliceState& st) {
  for (uint32_t s = 0; s < b.slice_count; ++s) {
    begin_slice(b, s, st);
    for (unsigned p = 0; p < st.planes; ++p) {
      for (uint32_t t = 0; t < kSliceThreads; ++t) prepare_plane(b, p, t, st);
      for (uint32_t t = 0; t < kSliceThreads; ++t) decode_slice_block(b, p, t, st);
    }
  }
}
#endif

}  // namespace vramsnap::codec::planes
