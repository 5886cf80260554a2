// The public face (vramsnap/runtime.hpp, vramsnap/bench.hpp) of services that
// live in io/, pipeline/ and backend/: programs reach them here without
// seeing the internals.
#include <algorithm>
#include <vector>

#include "backend/cuda_bench.h"
#include "backend/device_source.h"
#include "io/cleanup.h"
#include "io/file.h"
#include "pipeline/engine.h"
#include "vramsnap/bench.hpp"
#include "vramsnap/runtime.hpp"

namespace vramsnap {

void install_interrupt_cleanup() { io::install_interrupt_handlers(); }
int register_temp_path(const std::string& path) { return io::register_temp_path(path); }
int register_temp_dir(const std::string& path) { return io::register_temp_dir(path); }
void report_interrupt_as_json(bool on) noexcept { io::set_interrupt_json(on); }
void unregister_temp_path(int slot) { io::unregister_temp_path(slot); }
bool interrupted() noexcept { return io::interrupted(); }

Status check_output_path(const std::string& path, bool overwrite) { return io::AtomicOutput::check(path, overwrite); }

Status write_file_atomically(const std::string& path, uint64_t size,
                             const std::function<Status(uint64_t, std::span<uint8_t>)>& fill, bool overwrite) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto out, io::AtomicOutput::create(path, overwrite));
  constexpr uint64_t kPiece = 64ull << 20;
  std::vector<uint8_t> buf(static_cast<size_t>(std::min(size, kPiece)));
  for (uint64_t off = 0; off < size; off += kPiece) {
    std::span<uint8_t> piece(buf.data(), static_cast<size_t>(std::min(kPiece, size - off)));
    VRAMSNAP_TRY(fill(off, piece));
    VRAMSNAP_TRY(out.write_at(piece, off));
  }
  return out.commit();
}

unsigned restore_worker_threads(unsigned requested, size_t chunks) noexcept {
  return pipeline::effective_threads(requested, chunks);
}

Status require_gpu() { return backend::require_gpu(); }

Result<CopyBandwidth> measure_pinned_h2d(int device, uint64_t bytes, unsigned iterations) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto b, backend::measure_pinned_h2d(device, bytes, iterations));
  CopyBandwidth out;
  out.gpu_name = std::move(b.gpu_name);
  out.bytes = b.bytes;
  out.seconds = std::move(b.seconds);
  return out;
}

}  // namespace vramsnap
