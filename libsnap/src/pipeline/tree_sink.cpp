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
    : s_(s), plan_(std::move(plan)), dir_(std::move(dir)), file_of_(s.regions.size(), SIZE_MAX),
      left_(new std::atomic<size_t>[s.regions.size()]) {}

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
    VRAMSNAP_ASSIGN_OR_RETURN(file_of_[e.region], stage_->add_file(meta.name, meta.size, e.mode));
    const auto [first, last] = s_.region_ranges[e.region];
    left_[e.region].store(last - first);
    // Open only while written: thousands of files never hold thousands of
    // descriptors. A file without chunks is done now.
    if (last == first) VRAMSNAP_TRY(stage_->close_file(file_of_[e.region]));
    else stage_->park_file(file_of_[e.region]);
  }
  scratch_.resize(threads);
  times.allocate += seconds_since(t0);
  return {};
}

Result<std::span<uint8_t>> TreeSink::acquire(unsigned w, size_t i, WorkerClock&) {
  auto& b = scratch_[w];
  if (b.size() < s_.chunks[i].raw_size) b.resize(s_.chunks[i].raw_size);
  return std::span<uint8_t>(b.data(), s_.chunks[i].raw_size);
}

Status TreeSink::chunk_done(size_t r) {
  if (left_[r].fetch_sub(1) == 1) return stage_->close_file(file_of_[r]);
  return {};
}

Status TreeSink::commit(unsigned, size_t i, std::span<uint8_t> bytes, WorkerClock& clk) {
  const auto& c = s_.chunks[i];
  PhaseTimer t(clk.copy_ns);
  VRAMSNAP_TRY(stage_->write_at(file_of_[c.region], bytes, c.region_offset));
  return chunk_done(c.region);
}

// The file was sized sparse: a zero chunk is a hole, never written.
Status TreeSink::commit_zero(unsigned, size_t i, WorkerClock&) { return chunk_done(s_.chunks[i].region); }

Status TreeSink::place_region(unsigned, size_t r, std::span<const uint8_t> bytes, WorkerClock& clk) {
  PhaseTimer t(clk.copy_ns);
  VRAMSNAP_TRY(stage_->write_at(file_of_[r], bytes, 0));
  return chunk_done(r);
}

Status TreeSink::finish(PhaseTimes& times) {
  const uint64_t t0 = now_ns();
  VRAMSNAP_TRY(stage_->commit());
  for (const auto& e : plan_)
    files_.push_back({s_.regions[e.region].name, dir_ + "/" + s_.regions[e.region].name, s_.regions[e.region].size});
  times.copy += seconds_since(t0);
  return {};
}

}  // namespace vramsnap::pipeline
