#pragma once
// A directory tree that appears under DIR all at once, or not at all: the
// staged counterpart of StagingDir for nested paths. Everything is built in a
// private DIR/.vramsnap-tree-XXXXXX (a StagingArea), each level reached with
// openat(O_DIRECTORY|O_NOFOLLOW) from the one above and each file created
// with O_CREAT|O_EXCL|O_NOFOLLOW, so nothing is ever written outside DIR or
// through a link. commit() fsyncs the files and directories, then renames
// each top-level entry into DIR without replacing a name. Until commit()
// succeeds, destruction (or an interrupt) removes the staging tree, anything
// already moved into DIR, and DIR itself if this object created it.
//
// Files are opened only while they are written (open_file/close_file), so a
// tree of many thousands of files never holds more descriptors than writers.
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/staging_area.h"
#include "io/unique_fd.h"
#include "vramsnap/error.hpp"

namespace vramsnap::io {

class TreeStage {
 public:
  static Result<TreeStage> create(const std::string& dir);
  TreeStage(TreeStage&&) noexcept = default;
  TreeStage& operator=(TreeStage&&) = delete;

  // IO error when DIR already holds the top-level name (any kind, symlinks too).
  Status check_absent(const std::string& top) const { return area_.check_absent(top); }
  // Creates the file at relative `path` (its directories as needed), sized
  // (sparse) to `size`, mode 0600 until close_file gives it `mode`. The
  // caller has checked `path`: segments non-empty, never "." or "..".
  Result<size_t> add_file(const std::string& path, uint64_t size, unsigned mode);
  // Thread-safe: opens the file on first use.
  Status write_at(size_t file, std::span<const uint8_t> data, uint64_t offset);
  // Closes the descriptor for now; the next write_at reopens the file.
  void park_file(size_t file);
  // fsync, final mode, close. Idempotent.
  Status close_file(size_t file);
  Status commit();

  const std::string& dir() const { return area_.dir(); }

 private:
  explicit TreeStage(StagingArea area) : area_(std::move(area)) {}
  Result<UniqueFd> open_parent(const std::string& path, bool create, std::string* leaf);
  struct File {
    std::string path;
    unsigned mode = 0644;
    UniqueFd fd;
    bool closed = false;
  };
  StagingArea area_;  // declared first: outlives the descriptors below
  std::vector<File> files_;
  std::vector<std::string> dirs_;  // staged directories, parents first
  std::vector<std::string> tops_;  // top-level entries, in creation order
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
};

}  // namespace vramsnap::io
