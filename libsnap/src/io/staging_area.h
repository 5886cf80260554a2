#pragma once
// What StagingDir and TreeStage share: the output directory DIR (created when
// missing, and then removed again unless the stage commits), a private
// staging directory DIR/.vramsnap-<what>-XXXXXX registered for interrupt
// cleanup with SIGINT/SIGTERM blocked (so no interrupt can leave it
// unregistered), and the moves from it into DIR that never replace a name.
// Until commit() succeeds, destruction removes the staging directory with
// everything below it, every entry already moved into DIR, and DIR itself
// when it was created here.
#include <string>
#include <vector>

#include "io/unique_fd.h"
#include "vramsnap/error.hpp"

namespace vramsnap::io {

class StagingArea {
 public:
  static Result<StagingArea> create(const std::string& dir, const std::string& what);
  StagingArea(StagingArea&&) noexcept;
  StagingArea& operator=(StagingArea&&) = delete;
  StagingArea(const StagingArea&) = delete;
  ~StagingArea();

  // IO error when DIR already holds `name` (of any kind, symlinks included).
  Status check_absent(const std::string& name) const;
  // One syncfs for the whole staging file system: cheaper than an fsync per
  // file once there are many (kSyncEachUpTo).
  Status sync_all() const;
  // Renames staging entry `name` into DIR; IO error when DIR holds it by now.
  Status move_in(const std::string& name);
  // fsyncs DIR; from then on DIR and everything moved into it stay.
  Status commit();

  const std::string& dir() const { return dir_; }
  int dirfd() const { return dirfd_.get(); }
  int stagefd() const { return stagefd_.get(); }
  // DIR/.vramsnap-<what>-XXXXXX, for messages.
  std::string stage_path() const { return dir_ + "/" + stage_name_; }

 private:
  StagingArea() = default;
  std::string dir_, stage_name_;
  UniqueFd dirfd_, stagefd_;
  int slot_ = -1, created_slot_ = -1;
  bool created_ = false, committed_ = false;
  std::vector<std::string> moved_;  // entries already renamed into DIR
};

}  // namespace vramsnap::io
