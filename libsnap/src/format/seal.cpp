#include "format/seal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "io/file.h"

namespace vramsnap::format {

crypto::Digest compute_seal_mac(const crypto::Key& key, const HeaderBytes& header, const TrailerBytes& trailer) {
  const auto& id = key.id();
  return crypto::hmac_sha256(key, {
      {reinterpret_cast<const uint8_t*>(kSealDomain), sizeof(kSealDomain)},
      {id.data(), id.size()},
      {header.data(), header.size()},
      {trailer.data(), trl::kSealedPart},
  });
}

Status check_seal(const SnapshotData& s, const crypto::Key* key, bool allow_unsealed) {
  if (s.seal_block.algorithm == kSealNone) {
    if (allow_unsealed) return {};
    return Error(ErrorKind::Integrity, s.path + ": snapshot is not sealed, and a seal is required");
  }
  if (!key) {
    if (allow_unsealed) return {};  // structure-only check of a sealed file
    return Error(ErrorKind::Usage, s.path + ": snapshot is sealed; a key is needed to check it");
  }
  if (key->id() != s.seal_block.key_id)
    return Error(ErrorKind::Integrity, fmt::format("{}: sealed with key {}, but the supplied key is {} (wrong key)", s.path,
                                              crypto::key_id_hex(s.seal_block.key_id), key->id_hex()));
  auto mac = compute_seal_mac(*key, s.header_bytes, s.trailer_bytes);
  if (!crypto::equal_ct(mac.data(), s.seal_block.mac.data(), mac.size()))
    return Error(ErrorKind::Integrity, fmt::format("{}: seal does not match (key {}): the file was modified after sealing",
                                              s.path, key->id_hex()));
  return {};
}

Result<SealOutcome> seal_file(const std::string& path, const crypto::Key& key) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto snap, Snapshot::open(path));
  const SnapshotData& s = SnapshotAccess::data(snap);
  VRAMSNAP_ASSIGN_OR_RETURN(int fd, io::open_for_update(path));
  struct FdGuard { int fd; ~FdGuard() { ::close(fd); } } guard{fd};
  // The file we validated must be the file we are about to write.
  if (io::file_identity(fd) != s.source->identity())
    return Error(ErrorKind::IO, path + ": the file changed while it was being sealed; try again");

  SealOutcome out;
  out.previous = s.seal;
  SealBlock block;
  block.algorithm = kSealHmacSha256;
  block.key_id = key.id();
  block.mac = compute_seal_mac(key, s.header_bytes, s.trailer_bytes);
  auto bytes = encode_seal(block);
  VRAMSNAP_TRY(io::write_exact_fd(fd, bytes, s.layout.seal_offset, path));
  VRAMSNAP_TRY(io::fsync_fd(fd, path));
  out.now.state = SealState::HmacSha256;
  out.now.key_id = key.id();
  out.now.key_id_hex = key.id_hex();
  return out;
}

}  // namespace vramsnap::format
