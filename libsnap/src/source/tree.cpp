// A directory image as capture input (regions_from_tree): the listing is
// io::list_tree's; here each file becomes a region and its mode a label.
#include <fmt/format.h>

#include <new>

#include "io/tree_walk.h"
#include "vramsnap/sources.hpp"

namespace vramsnap {

Result<std::vector<RegionSource>> regions_from_tree(const std::string& dir) {
  try {
    VRAMSNAP_ASSIGN_OR_RETURN(auto files, io::list_tree(dir));
    std::vector<RegionSource> out;
    out.reserve(files.size());
    for (auto& f : files) {
      RegionSource r;
      r.meta.name = f.path;
      r.meta.kind = RegionKind::Other;
      r.meta.size = f.size;
      r.meta.device = -1;
      r.meta.labels["mode"] = fmt::format("{:04o}", f.mode);
      std::string field;
      if (auto v = validate_region(r.meta, &field); !v.ok())
        return Error(v.error().kind(), dir + ": " + field + ": " + v.error().message());
      r.path = dir + "/" + f.path;
      out.push_back(std::move(r));
    }
    return out;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::Limit, dir + ": out of memory listing the tree");
  }
}

}  // namespace vramsnap
