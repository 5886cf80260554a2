// The local-file Source: positional reads (pread) of a regular file, handed
// over in pieces small enough to stay in a core's L2 while the caller hashes
// them. Every other Source (remote, fault-injecting) has the same contract.
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "io/file.h"
#include "vramsnap/source.hpp"

namespace vramsnap {

Source::~Source() = default;

namespace io {
namespace {

// 256 KiB: read into a page-aligned buffer and hashed right away, a piece is
// still in L2; the kernel's copy out of the page cache is as fast as for
// bigger reads.
constexpr size_t kPiece = 256 * 1024;

class FileSource final : public Source {
 public:
  FileSource(InputFile file, std::string identity) : file_(std::move(file)), identity_(std::move(identity)) {}

  const std::string& name() const override { return file_.path(); }
  uint64_t size() const override { return file_.size(); }
  std::string identity() const override { return identity_; }

  Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts, const PieceFn& on_piece) const override {
    uint64_t at = offset;
    for (const auto& dst : parts) {
      if (!on_piece) {
        VRAMSNAP_TRY(file_.read_exact(dst, at));
        at += dst.size();
        continue;
      }
      for (size_t done = 0; done < dst.size();) {
        const auto piece = dst.subspan(done, std::min(kPiece, dst.size() - done));
        VRAMSNAP_TRY(file_.read_exact(piece, at));
        VRAMSNAP_TRY(on_piece(piece));
        done += piece.size();
        at += piece.size();
      }
    }
    return {};
  }
  void advise_sequential() const override { file_.advise_sequential(); }
  void drop_cache() const override { file_.drop_cache(); }

 private:
  InputFile file_;
  std::string identity_;
};

}  // namespace

std::string file_identity(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {};
  return fmt::format("file:{}:{}:{}:{}.{:09}", static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
                     static_cast<long>(st.st_mtim.tv_nsec));
}

}  // namespace io

Result<std::shared_ptr<const Source>> open_file_source(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto file, io::InputFile::open(path));
  std::string id = io::file_identity(file.fd());
  return std::shared_ptr<const Source>(std::make_shared<io::FileSource>(std::move(file), std::move(id)));
}

}  // namespace vramsnap
