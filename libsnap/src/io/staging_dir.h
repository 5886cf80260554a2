#pragma once
// Files that appear in a directory all at once, or not at all. Files are
// created with O_EXCL|O_NOFOLLOW in a private staging directory (a
// StagingArea: DIR/.vramsnap-<what>-XXXXXX, removed on failure or interrupt);
// commit() fsyncs them, renames each into DIR without ever replacing a name,
// and fsyncs DIR. Until commit() succeeds, destruction removes the staging
// directory and everything in it, and any file already moved into DIR.
// A file is open only while it is written (write_at opens it, close_file
// closes it for good), so thousands of files never hold thousands of
// descriptors.
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

class StagingDir {
 public:
  // Creates DIR (mode 0755) when it does not exist, then the staging
  // directory inside it. A DIR created here is removed again unless commit()
  // succeeds.
  static Result<StagingDir> create(const std::string& dir, const std::string& what);
  StagingDir(StagingDir&&) noexcept = default;
  StagingDir& operator=(StagingDir&&) = delete;
  StagingDir(const StagingDir&) = delete;

  // IO error when DIR already holds `name` (of any kind, symlinks included).
  Status check_absent(const std::string& name) const { return area_.check_absent(name); }
  // Creates `name` in the staging directory, sized (sparse) to `size` bytes,
  // and closes it again. Returns its index for write_at.
  Result<size_t> add_file(const std::string& name, uint64_t size, unsigned mode = 0644);
  // Thread-safe; opens the file when it is not open.
  Status write_at(size_t file, std::span<const uint8_t> data, uint64_t offset);
  // fsync and close; the file is complete. Idempotent; commit() closes the rest.
  Status close_file(size_t file);
  // Makes every file visible in DIR under its name; after success the files
  // are the caller's.
  Status commit();

  const std::string& dir() const { return area_.dir(); }

 private:
  explicit StagingDir(StagingArea area) : area_(std::move(area)) {}
  struct File {
    std::string name;
    UniqueFd fd;
    bool closed = false;
  };
  Result<int> open_fd(File& f);
  StagingArea area_;  // declared first: outlives the descriptors below
  std::vector<File> files_;
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
};

}  // namespace vramsnap::io
