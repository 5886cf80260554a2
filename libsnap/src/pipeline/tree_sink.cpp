// The tree sink (see tree_sink.h): the plan of paths and modes, and the
// staged files; writing and committing are StagedSink's.
#include "pipeline/tree_sink.h"

#include <algorithm>

#include "format/names.h"

namespace vramsnap::pipeline {
namespace {

// "0644", "644", "0755": octal permission bits, at most 0777.
std::optional<unsigned> parse_mode(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + unsigned(c - '0');
  }
  if (v > 0777) return std::nullopt;
  return v;
}

}  // namespace

Result<std::vector<TreeEntry>> plan_tree(const SnapshotData& s, const std::vector<size_t>& regions) {
  std::vector<TreeEntry> plan;
  std::vector<std::string> names;
  for (size_t r : regions) {
    const auto& meta = s.regions[r];
    const std::string where = s.path + ": region " + format::printable(meta.name);
    if (auto p = format::region_name_problem(meta.name); !p.empty())
      return Error(ErrorKind::Format, where + ": cannot be a path inside the directory: name " + p);
    unsigned mode = 0644;
    if (auto it = meta.labels.find("mode"); it != meta.labels.end()) {
      auto m = parse_mode(it->second);
      if (!m) return Error(ErrorKind::Format, where + ": label mode " + format::printable(it->second) +
                                                  " is not octal permission bits (0000..0777)");
      mode = *m;
    }
    plan.push_back({r, mode});
    names.push_back(meta.name);
  }
  // A file that another path needs as a directory ("a" and "a/b"): sorted,
  // such a pair is adjacent up to names that sort between ("a" < "a-b" <
  // "a/b"), so every name is checked against its directory prefixes.
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    for (size_t slash = n.find('/'); slash != std::string::npos; slash = n.find('/', slash + 1)) {
      if (std::binary_search(names.begin(), names.end(), n.substr(0, slash)))
        return Error(ErrorKind::Format, s.path + ": region " + format::printable(n.substr(0, slash)) +
                                            " is a file, but region " + format::printable(n) +
                                            " needs it as a directory");
    }
  }
  if (std::adjacent_find(names.begin(), names.end()) != names.end())
    return Error(ErrorKind::Format, s.path + ": two regions have the same name; they cannot both be files");
  return plan;
}

TreeSink::TreeSink(const SnapshotData& s, std::vector<TreeEntry> plan, std::string dir)
    : StagedSink(s, std::move(dir)), plan_(std::move(plan)) {}

Status TreeSink::prepare(unsigned threads, PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  VRAMSNAP_ASSIGN_OR_RETURN(auto stage, io::TreeStage::create(dir_));
  stage_.emplace(std::move(stage));
  for (const auto& e : plan_) {
    const std::string& name = s_.regions[e.region].name;
    VRAMSNAP_TRY(stage_->check_absent(name.substr(0, name.find('/'))));
  }
  for (const auto& e : plan_) {
    const auto& meta = s_.regions[e.region];
    VRAMSNAP_ASSIGN_OR_RETURN(const size_t file, stage_->add_file(meta.name, meta.size, e.mode));
    staged(e.region, meta.name, file);
    // Open only while written: thousands of files never hold thousands of
    // descriptors. A file without chunks is done now.
    const auto [first, last] = s_.region_ranges[e.region];
    if (last == first) VRAMSNAP_TRY(stage_->close_file(file));
    else stage_->park_file(file);
  }
  scratch_.resize(threads);
  times.allocate += seconds_since(t0);
  return {};
}

}  // namespace vramsnap::pipeline
