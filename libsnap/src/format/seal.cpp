// Seal blocks: made by the writer and by `seal`, checked before any chunk is
// read. The algorithm comes from the registry: the key's type picks it when
// sealing, the block's algorithm id when checking.
#include "format/seal.h"

#include <fmt/format.h>

#include "crypto/digest.h"
#include "crypto/key_access.h"
#include "format/features.h"
#include "format/seal/registry.h"
#include "io/file.h"
#include "io/unique_fd.h"

namespace vramsnap::format {
namespace {

SealedBytes sealed_bytes(const std::array<uint8_t, kKeyIdSize>& key_id, const HeaderBytes& header,
                         const TrailerBytes& trailer) {
  return {{key_id.data(), key_id.size()}, {header.data(), header.size()}, {trailer.data(), trl::kSealedPart}};
}

std::string id_list(std::span<const Key> keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k.id_hex();
  return out;
}

// Header and trailer of `s` with the seal feature bits replaced by `bits`
// and the minor they call for.
void with_seal_bits(const SnapshotData& s, uint64_t seal_bits, HeaderBytes& header, TrailerBytes& trailer) {
  auto h = parse_header(std::span<const uint8_t, kHeaderSize>(s.header_bytes));
  auto t = parse_trailer(std::span<const uint8_t, kTrailerSize>(s.trailer_bytes));
  Header hv = *h;  // both parsed when the snapshot was opened
  Trailer tv = *t;
  hv.required_features = (hv.required_features & ~seal_feature_bits()) | seal_bits;
  hv.minor = minor_for(hv.required_features, known_features());
  tv.minor = hv.minor;
  header = encode_header(hv);
  trailer = encode_trailer(tv);
}

}  // namespace

uint64_t seal_features(const Key* key) {
  if (!key) return 0;
  const SealAlgorithm* alg = sealing_algorithm(KeyAccess::material(*key));
  return alg ? alg->feature : 0;
}

Result<SealBlock> make_seal(const Key& key, const HeaderBytes& header, const TrailerBytes& trailer) {
  const crypto::Key& k = KeyAccess::material(key);
  const SealAlgorithm* alg = sealing_algorithm(k);
  if (!alg)
    return Error(ErrorKind::Usage, fmt::format("key {} is a {} key, which cannot seal snapshots", k.id_hex(),
                                               key_type_name(k.type())));
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

std::vector<Key> keys_of(const Key* key, const std::vector<Key>& trusted) {
  std::vector<Key> keys;
  if (key) keys.push_back(*key);
  keys.insert(keys.end(), trusted.begin(), trusted.end());
  return keys;
}

Status check_seal(const SnapshotData& s, const Key* key, bool allow_unsealed) {
  if (!key) return check_seal(s, std::span<const Key>(), allow_unsealed);
  return check_seal(s, std::span<const Key>(key, 1), allow_unsealed);
}

Status check_seal(const SnapshotData& s, std::span<const Key> keys, bool allow_unsealed) {
  if (s.seal_block.algorithm == kSealNone) {
    if (allow_unsealed) return {};
    return Error(ErrorKind::Integrity, s.path + ": snapshot is not sealed, and a seal is required");
  }
  if (keys.empty()) {
    if (allow_unsealed) return {};  // structure-only check of a sealed file
    return Error(ErrorKind::Usage, s.path + ": snapshot is sealed; a key is needed to check it");
  }
  // Snapshot::open refuses unknown algorithms; checked again so this function
  // stands alone.
  const SealAlgorithm* alg = find_seal_algorithm(s.seal_block.algorithm);
  if (!alg)
    return Error(ErrorKind::Format, fmt::format("{}: seal block: unknown seal algorithm {} (upgrade vramsnap)", s.path,
                                                s.seal_block.algorithm));
  const std::string sealed_by = crypto::key_id_hex(s.seal_block.key_id);
  const Key* match = nullptr;
  bool any_can_check = false;
  for (const Key& key : keys) {
    const crypto::Key& k = KeyAccess::material(key);
    any_can_check = any_can_check || alg->can_check(k);
    if (k.id() == s.seal_block.key_id && !match) match = &key;
  }
  if (!match) {
    // The policy of a host that trusts only public keys: an HMAC seal (which
    // any holder of the secret could make) is refused, not merely unmatched.
    if (!any_can_check)
      return Error(ErrorKind::Integrity, fmt::format("{}: sealed with {} (key {}), which none of the keys given here "
                                                     "can check (keys {}); refused", s.path, alg->name, sealed_by,
                                                     id_list(keys)));
    if (keys.size() == 1)
      return Error(ErrorKind::Integrity, fmt::format("{}: sealed with key {}, but the supplied key is {} (wrong key)",
                                                     s.path, sealed_by, keys[0].id_hex()));
    return Error(ErrorKind::Integrity, fmt::format("{}: sealed with key {}, which is none of the {} keys given ({}) "
                                                   "(wrong key)", s.path, sealed_by, keys.size(), id_list(keys)));
  }
  const crypto::Key& k = KeyAccess::material(*match);
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
  const crypto::Key& k = KeyAccess::material(key);
  const SealAlgorithm* alg = sealing_algorithm(k);
  if (!alg)
    return Error(ErrorKind::Usage, fmt::format("key {} is a {} key, which cannot seal snapshots", k.id_hex(),
                                               key_type_name(k.type())));
  SealOutcome out;
  out.previous = s.seal;
  HeaderBytes header = s.header_bytes;
  TrailerBytes trailer = s.trailer_bytes;
  with_seal_bits(s, alg->feature, header, trailer);
  out.rewritten = header != s.header_bytes;
  VRAMSNAP_ASSIGN_OR_RETURN(auto block, make_seal(key, header, trailer));
  const auto seal_bytes = encode_seal(block);
  out.now = seal_info(block);

  if (!out.rewritten) {
    VRAMSNAP_ASSIGN_OR_RETURN(int raw_fd, io::open_for_update(path));
    io::UniqueFd fd(raw_fd);
    // The file we validated must be the file we are about to write.
    if (io::file_identity(fd.get()) != s.source->identity())
      return Error(ErrorKind::IO, path + ": the file changed while it was being sealed; try again");
    VRAMSNAP_TRY(io::write_exact_fd(fd.get(), seal_bytes, s.layout.seal_offset, path));
    VRAMSNAP_TRY(io::fsync_fd(fd.get(), path));
    return out;
  }
  VRAMSNAP_ASSIGN_OR_RETURN(auto in, io::InputFile::open(path));
  if (io::file_identity(in.fd()) != s.source->identity())
    return Error(ErrorKind::IO, path + ": the file changed while it was being sealed; try again");
  VRAMSNAP_ASSIGN_OR_RETURN(auto copy, io::AtomicOutput::create(path, /*overwrite=*/true));
  VRAMSNAP_TRY(io::copy_file_into(in, copy));
  VRAMSNAP_TRY(copy.write_at(header, 0));
  VRAMSNAP_TRY(copy.write_at(seal_bytes, s.layout.seal_offset));
  VRAMSNAP_TRY(copy.write_at(trailer, s.layout.seal_offset + kSealSize));
  VRAMSNAP_TRY(copy.commit());
  return out;
}

}  // namespace vramsnap::format
