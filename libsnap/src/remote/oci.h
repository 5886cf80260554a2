#pragma once
// OCI artifacts of vramsnap snapshots: the media types, resolving a
// reference to the snapshot's blob, and building the manifest a push sends.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "remote/location.h"
#include "vramsnap/remote.hpp"
#include "vramsnap/source.hpp"

namespace vramsnap::remote {

inline constexpr const char* kArtifactType = "application/vnd.vramsnap.snapshot.v1";
inline constexpr const char* kLayerMediaType = "application/vnd.vramsnap.snapshot.v1";
inline constexpr const char* kManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kIndexMediaType = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kEmptyMediaType = "application/vnd.oci.empty.v1+json";
inline constexpr const char* kEmptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
inline constexpr size_t kMaxManifest = 4 * 1024 * 1024;

struct Descriptor {
  std::string digest;
  uint64_t size = 0;
};

// The snapshot layer of an image manifest (exactly one layer of media type
// kLayerMediaType) and the index digest its annotation names, if any
// (remote/pinned_source.h), or, for an index, the digest of the manifest
// whose artifactType is kArtifactType (`is_index` set). Format errors for
// anything malformed.
struct ManifestChoice {
  bool is_index = false;
  Descriptor chosen;
  std::string index_digest;
};
Result<ManifestChoice> choose_from_manifest(const std::string& body, const std::string& name);

// The artifact manifest for a snapshot blob (compact JSON, keys sorted); the
// layer carries the blob's title and index digest.
std::string artifact_manifest(const Descriptor& blob, const std::string& title, const std::string& index_digest,
                              const std::map<std::string, std::string>& annotations);

Result<std::shared_ptr<const Source>> open_oci_source(const std::string& ref, const RemoteOptions& options);

}  // namespace vramsnap::remote
