// The format's rules for one region's metadata (vramsnap::validate_region in
// types.hpp), shared by capture, every input parser and the manifest reader.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/checked_math.h"
#include "format/layout.h"
#include "format/manifest.h"
#include "format/names.h"
#include "vramsnap/types.hpp"

namespace vramsnap {

Status validate_region(const RegionMeta& r, std::string* field) {
  auto fail = [&](const char* f, ErrorKind kind, std::string message) -> Status {
    if (field) *field = f;
    return Error(kind, std::move(message));
  };
  using format::kMaxRegionSize;
  using format::kMaxShapeRank;
  if (auto p = format::region_name_problem(r.name); !p.empty())
    return fail("name", ErrorKind::Usage, fmt::format("region name {} {}", format::printable(r.name), p));
  if (r.size > kMaxRegionSize)
    return fail("size", ErrorKind::Limit,
                fmt::format("region \"{}\": size {} exceeds the cap of {}", r.name, r.size, kMaxRegionSize));
  if (!r.dtype.empty() && !dtype_name_valid(r.dtype))
    return fail("dtype", ErrorKind::Usage,
                fmt::format("region \"{}\": dtype {} is not a valid dtype name (1-32 of [a-z0-9_], e.g. bf16, f16, "
                            "f32, u8)", r.name, format::printable(r.dtype)));
  if (r.device < -1 || r.device > 1023)
    return fail("device", ErrorKind::Usage,
                fmt::format("region \"{}\": device {} is not in -1..1023 (-1: none)", r.name, r.device));
  if (r.shape.size() > kMaxShapeRank)
    return fail("shape", ErrorKind::Usage,
                fmt::format("region \"{}\": shape rank {} exceeds {}", r.name, r.shape.size(), kMaxShapeRank));
  if (unsigned es = dtype_size(r.dtype); es != 0 && !r.shape.empty()) {
    std::optional<uint64_t> n = es;
    for (auto d : r.shape) n = n ? core::checked_mul(*n, d) : std::nullopt;
    if (!n || *n != r.size)
      return fail("shape", ErrorKind::Usage,
                  fmt::format("region \"{}\": shape x dtype size does not equal the region size {} (shape [{}] of "
                              "{} is {} bytes)", r.name, r.size, fmt::join(r.shape, ", "), r.dtype,
                              n ? std::to_string(*n) : std::string("more than 2^64")));
  }
  if (r.alloc) {
    if (!r.va)
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": an enclosing allocation without a va", r.name));
    const auto alloc_end = core::checked_add(r.alloc->base, r.alloc->size);
    if (r.alloc->size == 0 || !alloc_end)
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": allocation {:#x} + {} is empty or overflows", r.name, r.alloc->base,
                              r.alloc->size));
    if (!core::range_within(*r.va, r.size, r.alloc->base, *alloc_end))
      return fail("alloc", ErrorKind::Usage,
                  fmt::format("region \"{}\": [va, va + size) is not inside its allocation [{:#x}, {:#x})", r.name,
                              r.alloc->base, *alloc_end));
  }
  // Most regions have no labels: no message context is built for them.
  auto st = r.labels.empty() ? Status{} : format::validate_labels(r.labels, fmt::format("region \"{}\"", r.name));
  if (!st.ok()) {
    const ErrorKind kind = st.error().kind() == ErrorKind::Limit ? ErrorKind::Limit : ErrorKind::Usage;
    return fail("labels", kind, st.error().message());
  }
  return {};
}

}  // namespace vramsnap
