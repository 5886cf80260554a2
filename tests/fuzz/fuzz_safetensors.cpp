// libFuzzer target for the safetensors header parser (capture input, parsed
// like our own format: distrusted). The input is a whole safetensors file:
// u64 LE header length N, then the header JSON, then the data buffer; the
// file size is the input size. As read_safetensors does, the parser is given
// the bytes after the length prefix (at most N of them) and N itself, so
// lengths that do not fit the file reach its own checks too.
//
// An accepted header must keep the promises of source/sources.h: tensors in
// file order, inside the data buffer, non-empty ones disjoint, and sizes that
// match shape x dtype for dtypes of known size.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

#include "core/checked_math.h"
#include "format/layout.h"
#include "source/sources.h"

namespace {

namespace S = vramsnap::source;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_safetensors: oracle failed: %s\n", why);
  __builtin_trap();
}

void check(const S::SafetensorsFile& f, uint64_t header_size, uint64_t file_size) {
  if (f.header_size != header_size || f.data_offset != 8 + header_size || f.data_offset > file_size)
    fail("header size or data offset differs from the file's");
  const S::SafetensorsTensor* prev = nullptr;
  uint64_t reach = f.data_offset;  // end of the furthest non-empty tensor so far
  for (const auto& t : f.tensors) {
    if (t.name.empty() || t.dtype.empty() || t.shape.size() > vramsnap::format::kMaxShapeRank)
      fail("tensor with an empty name or dtype, or a shape over the rank cap");
    if (!vramsnap::core::range_within(t.file_offset, t.size, f.data_offset, file_size))
      fail("tensor outside the data buffer");
    if (prev && (t.file_offset < prev->file_offset || (t.file_offset == prev->file_offset && t.name < prev->name)))
      fail("tensors not in file order");
    if (t.size != 0) {
      if (t.file_offset < reach) fail("overlapping tensors accepted");
      reach = t.file_offset + t.size;
    }
    if (const unsigned elem = vramsnap::dtype_size(t.dtype); elem != 0) {
      std::optional<uint64_t> n = elem;
      for (uint64_t d : t.shape) n = n ? vramsnap::core::checked_mul(*n, d) : std::nullopt;
      bool empty = false;
      for (uint64_t d : t.shape) empty = empty || d == 0;
      if (empty ? t.size != 0 : (!n || *n != t.size)) fail("tensor size differs from shape x dtype size");
    }
    prev = &t;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;  // read_safetensors refuses these before parsing
  const uint64_t n = vramsnap::format::load_u64(data);
  const size_t avail = size - 8;
  const std::string_view json(reinterpret_cast<const char*>(data + 8), n < avail ? size_t(n) : avail);
  auto f = S::parse_safetensors_header(json, n, size);
  if (!f.ok()) {
    if (f.error().message().empty()) fail("error without a message");
    return 0;
  }
  check(*f, n, size);
  return 0;
}
