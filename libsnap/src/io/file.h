#pragma once
// Files: a read-only handle with exact positional reads, and an atomic output
// (temp file in the target directory -> fsync -> rename -> fsync directory).
#include <cstdint>
#include <span>
#include <string>

#include "vramsnap/error.hpp"

namespace vramsnap::io {

// Staged outputs fsync up to this many files one by one as each is complete;
// more are flushed with one syncfs at commit, since thousands of fsyncs of
// small files cost minutes where one syncfs costs what the data does.
inline constexpr size_t kSyncEachUpTo = 64;

class InputFile {
 public:
  // Opens read-only (O_CLOEXEC|O_NONBLOCK so a FIFO cannot block; cleared
  // after fstat). Refuses anything but a regular file (IO error naming what it
  // is: directory, FIFO, device, socket).
  static Result<InputFile> open(const std::string& path);
  InputFile() = default;  // not open
  InputFile(InputFile&& o) noexcept;
  InputFile& operator=(InputFile&& o) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  uint64_t size() const { return size_; }  // size at open
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Reads exactly dst.size() bytes at offset, retrying short reads and EINTR.
  // EOF before the end -> Format error "truncated"; errno -> IO error.
  Status read_exact(std::span<uint8_t> dst, uint64_t offset) const;

  // posix_fadvise hints.
  void advise_sequential() const;
  void drop_cache() const;  // POSIX_FADV_DONTNEED over the whole file

 private:
  InputFile(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

class AtomicOutput {
 public:
  // Creates "<dir>/.<name>.vramsnap-XXXXXX" (O_EXCL, mode 0644 before umask)
  // in the final file's directory. Without `overwrite`, an existing final path
  // is an IO error ("exists and overwriting was not requested"). The temp path is registered with
  // the interrupt cleanup (io/cleanup.h). An existing device, FIFO or socket
  // at the final path is never replaced, even with `overwrite`.
  static Result<AtomicOutput> create(const std::string& final_path, bool overwrite, unsigned mode = 0644);
  // create()'s checks of the final path alone: nothing is created.
  static Status check(const std::string& final_path, bool overwrite);
  AtomicOutput(AtomicOutput&& o) noexcept;
  AtomicOutput& operator=(AtomicOutput&& o) noexcept;
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();  // not committed -> temp file unlinked

  Status write_at(std::span<const uint8_t> data, uint64_t offset);  // full write, EINTR/short-write safe; ENOSPC/EIO -> IO
  // fsync file, rename into place (renameat2 RENAME_NOREPLACE unless
  // overwrite), fsync directory. After success the temp name is gone.
  Status commit();
  void abandon();  // unlink the temp file now

  int fd() const { return fd_; }
  const std::string& final_path() const { return final_path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicOutput() = default;
  int fd_ = -1;
  bool overwrite_ = false;
  bool committed_ = false;
  std::string final_path_;
  std::string temp_path_;
};

// Copies every byte of `in` into `out` from offset 0 (copy_file_range, so a
// reflink or a server-side copy where the file system offers one; read and
// write otherwise), and gives `out` the permission bits of `in`. For
// rewriting a file whose fixed structures change (seal with another feature bit).
Status copy_file_into(const InputFile& in, AtomicOutput& out);

// Opens an existing file read-write for in-place update (seal). Regular files
// only; O_NOFOLLOW not applied (the operator names the file).
Result<int> open_for_update(const std::string& path);
Status write_exact_fd(int fd, std::span<const uint8_t> data, uint64_t offset, const std::string& path);
Status fsync_fd(int fd, const std::string& path);

// "file:<dev>:<ino>:<size>:<mtime>" of an open descriptor (empty when fstat
// fails): the identity of a file Source, and how seal proves that the file it
// writes is the file it validated.
std::string file_identity(int fd);

// Strerror-based message: "<path>: <what>: <strerror>".
Error errno_error(ErrorKind kind, const std::string& path, const char* what, int err);

}  // namespace vramsnap::io

namespace vramsnap::io {

// Moves oldname to newname without ever replacing an existing newname:
// renameat2(RENAME_NOREPLACE), else link()+unlink(), else (filesystems with
// neither) check-then-rename. true: moved; false: newname exists (the caller
// words the error); an IO error otherwise, naming display_path.
Result<bool> rename_noreplace(int olddirfd, const std::string& oldname, int newdirfd, const std::string& newname,
                              const std::string& display_path);
Status rename_replace(int olddirfd, const std::string& oldname, int newdirfd, const std::string& newname,
                      const std::string& display_path);

// fsync of a directory after a rename into it. Filesystems that cannot fsync
// a directory (EINVAL, EROFS) make the rename as durable as they allow.
Status fsync_directory(const std::string& dir);
Status fsync_directory_fd(int dirfd, const std::string& display_path);

}  // namespace vramsnap::io
