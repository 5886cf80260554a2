// Seal blocks: made by the writer and by `seal`, checked before any chunk is
// read. The algorithm comes from the registry: the key's type picks it when
// sealing, the block's algorithm id when checking.
#include "format/seal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "crypto/digest.h"
#include "crypto/key_access.h"
#include "format/seal/registry.h"
#include "io/file.h"

namespace vramsnap::format {
namespace {

SealedBytes sealed_bytes(const std::array<uint8_t, kKeyIdSize>& key_id, const HeaderBytes& header,
                         const TrailerBytes& trailer) {
  return {{key_id.data(), key_id.size()}, {header.data(), header.size()}, {trailer.data(), trl::kSealedPart}};
}

}  // namespace

Result<SealBlock> make_seal(const Key& key, const HeaderBytes& header, const TrailerBytes& trailer) {
  const crypto::Key& k = KeyAccess::material(key);
  const SealAlgorithm* alg = sealing_algorithm(k);
  if (!alg) return Error(ErrorKind::Usage, fmt::format("key {} cannot seal snapshots", k.id_hex()));
  SealBlock block;
  block.algorithm = alg->id;
  block.key_id = k.id();
  VRAMSNAP_ASSIGN_OR_RETURN(block.tag, alg->seal(k, sealed_bytes(block.key_id, header, trailer)));
  return block;
}

SealInfo seal_info(const SealBlock& block) {
  SealInfo info;
  const SealAlgorithm* alg = find_seal_algorithm(block.algorithm);
  if (!alg) return info;
  info.state = static_cast<SealState>(alg->id);
  info.algorithm = alg->name;
  info.key_id = block.key_id;
  info.key_id_hex = crypto::to_hex(block.key_id);
  return info;
}

Status check_seal(const SnapshotData& s, const Key* key, bool allow_unsealed) {
  if (s.seal_block.algorithm == kSealNone) {
    if (allow_unsealed) return {};
    return Error(ErrorKind::Integrity, s.path + ": snapshot is not sealed, and a seal is required");
  }
  if (!key) {
    if (allow_unsealed) return {};  // structure-only check of a sealed file
    return Error(ErrorKind::Usage, s.path + ": snapshot is sealed; a key is needed to check it");
  }
  // Snapshot::open refuses unknown algorithms; checked again so this function
  // stands alone.
  const SealAlgorithm* alg = find_seal_algorithm(s.seal_block.algorithm);
  if (!alg)
    return Error(ErrorKind::Format, fmt::format("{}: seal block: unknown seal algorithm {} (upgrade vramsnap)", s.path,
                                                s.seal_block.algorithm));
  const crypto::Key& k = KeyAccess::material(*key);
  if (k.id() != s.seal_block.key_id)
    return Error(ErrorKind::Integrity, fmt::format("{}: sealed with key {}, but the supplied key is {} (wrong key)", s.path,
                                              crypto::key_id_hex(s.seal_block.key_id), k.id_hex()));
  if (!alg->can_check(k))
    return Error(ErrorKind::Usage, fmt::format("{}: sealed with {}, which key {} cannot check", s.path, alg->name,
                                               k.id_hex()));
  const auto sealed = sealed_bytes(s.seal_block.key_id, s.header_bytes, s.trailer_bytes);
  if (!alg->check(k, sealed, std::span<const uint8_t>(s.seal_block.tag).first(alg->tag_size)))
    return Error(ErrorKind::Integrity, fmt::format("{}: seal does not match (key {}): the file was modified after sealing",
                                              s.path, k.id_hex()));
  return {};
}

Result<SealOutcome> seal_file(const std::string& path, const Key& key) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto snap, Snapshot::open(path));
  const SnapshotData& s = SnapshotAccess::data(snap);
  VRAMSNAP_ASSIGN_OR_RETURN(int fd, io::open_for_update(path));
  struct FdGuard { int fd; ~FdGuard() { ::close(fd); } } guard{fd};
  // The file we validated must be the file we are about to write.
  if (io::file_identity(fd) != s.source->identity())
    return Error(ErrorKind::IO, path + ": the file changed while it was being sealed; try again");

  SealOutcome out;
  out.previous = s.seal;
  VRAMSNAP_ASSIGN_OR_RETURN(auto block, make_seal(key, s.header_bytes, s.trailer_bytes));
  auto bytes = encode_seal(block);
  VRAMSNAP_TRY(io::write_exact_fd(fd, bytes, s.layout.seal_offset, path));
  VRAMSNAP_TRY(io::fsync_fd(fd, path));
  out.now = seal_info(block);
  return out;
}

}  // namespace vramsnap::format
