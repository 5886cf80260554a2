// vramsnap push: the snapshot file becomes one blob of an OCI artifact. The
// file is validated and hashed first; the blob (and the empty config) are
// uploaded unless the registry has them (HEAD), monolithically (POST for an
// upload session, one PUT with ?digest= that the registry checks); the
// manifest, which tags the artifact, goes last, so a push that fails
// half-way leaves blobs that nothing references and no tag. The manifest's
// layer names the snapshot's index digest (remote/pinned_source.h), taken in
// the same pass that hashes the file, so a reference pinned to the manifest
// binds the snapshot, sealed or not.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "io/file.h"
#include "remote/curl_api.h"
#include "remote/oci.h"
#include "remote/pinned_source.h"
#include "remote/registry.h"
#include "vramsnap/snapshot.hpp"

namespace vramsnap {
namespace remote {
namespace {

constexpr size_t kHashBuffer = 1 << 20;

struct FileDigests {
  Descriptor blob;
  std::string index_digest;
};

// The file's SHA-256 and its index digest, from one read. `f` is a snapshot
// that opened, so it holds both ends of the index.
Result<FileDigests> hash_file(const io::InputFile& f) {
  crypto::Sha256 h;
  IndexBytes ends(f.size());
  std::vector<uint8_t> buf(kHashBuffer);
  for (uint64_t at = 0; at < f.size();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), f.size() - at));
    VRAMSNAP_TRY(f.read_exact({buf.data(), n}, at));
    h.update({buf.data(), n});
    ends.take(at, {buf.data(), n});
    at += n;
  }
  return FileDigests{{"sha256:" + crypto::to_hex(h.finish()), f.size()}, ends.digest()};
}


// Uploads one blob unless present; true when it was present.
Result<bool> ensure_blob(Registry& reg, const Descriptor& d, const io::InputFile* file, const std::string& bytes,
                         const std::string& name) {
  const std::string repo = reg.ref().repository;
  Request head;
  head.method = "HEAD";
  head.url = "/v2/" + repo + "/blobs/" + d.digest;
  VRAMSNAP_ASSIGN_OR_RETURN(auto hr, reg.send(std::move(head)));
  if (hr.status == 200) return true;
  if (hr.status != 404) return status_error(hr, name + " (blob check)");
  Request start;
  start.method = "POST";
  start.url = "/v2/" + repo + "/blobs/uploads/";
  VRAMSNAP_ASSIGN_OR_RETURN(auto sr, reg.send(std::move(start)));
  if (sr.status != 202) return status_error(sr, name + " (starting an upload)");
  auto location = sr.header("location");
  if (!location || location->empty() || location->size() > 4096)
    return Error(ErrorKind::IO, name + ": the registry gave no upload location");
  std::string url = location->starts_with("/") ? reg.base() + *location : *location;
  if (!url.starts_with(reg.base() + "/"))
    return Error(ErrorKind::IO, name + ": the registry's upload location is on another host; refused");
  url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + url_escape(d.digest);
  Request put;
  put.method = "PUT";
  put.url = url;
  put.headers = {"Content-Type: application/octet-stream"};
  put.idempotent = false;
  // The streamed body's read position and hash outlive the request. The
  // bytes sent are hashed as they go: the digest named is the one uploaded,
  // whether or not the registry checks it.
  uint64_t at = 0;
  crypto::Sha256 sent;
  if (file) {
    put.upload_size = d.size;
    put.upload = [file, &at, &sent](std::span<uint8_t> dst) -> Result<size_t> {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size(), file->size() - at));
      if (n == 0) return size_t{0};
      VRAMSNAP_TRY(file->read_exact(dst.first(n), at));
      sent.update({dst.data(), n});
      at += n;
      return n;
    };
  } else {
    put.body = bytes;
  }
  VRAMSNAP_ASSIGN_OR_RETURN(auto pr, reg.send(std::move(put)));
  if (file && (at != d.size || "sha256:" + crypto::to_hex(sent.finish()) != d.digest))
    return Error(ErrorKind::IO, fmt::format("{}: {} changed while being pushed (what was uploaded is not {}); the tag "
                                            "was not written", name, file->path(), d.digest));
  if (pr.status != 201) return status_error(pr, name + " (uploading blob " + d.digest + ")");
  if (auto got = pr.header("docker-content-digest"); got && *got != d.digest)
    return Error(ErrorKind::IO, fmt::format("{}: the registry stored the blob as {}, not {}", name, got->substr(0, 80),
                                            d.digest));
  return false;
}

}  // namespace

std::string artifact_manifest(const Descriptor& blob, const std::string& title, const std::string& index_digest,
                              const std::map<std::string, std::string>& annotations) {
  nlohmann::json m;
  m["schemaVersion"] = 2;
  m["mediaType"] = kManifestMediaType;
  m["artifactType"] = kArtifactType;
  m["config"] = {{"mediaType", kEmptyMediaType}, {"digest", kEmptyDigest}, {"size", 2}, {"data", "e30="}};
  m["layers"] = nlohmann::json::array(
      {{{"mediaType", kLayerMediaType}, {"digest", blob.digest}, {"size", blob.size},
        {"annotations", {{"org.opencontainers.image.title", title}, {kIndexDigestAnnotation, index_digest}}}}});
  m["annotations"] = annotations;
  return m.dump();
}

}  // namespace remote

Result<PushResult> push_snapshot(const std::string& path, const std::string& oci_ref, const RemoteOptions& o) {
  using namespace remote;
  VRAMSNAP_ASSIGN_OR_RETURN(auto ref, parse_oci_ref(oci_ref));
  if (!ref.digest.empty()) return Error(ErrorKind::Usage, "push: the destination takes a tag, not a digest");
  const std::string name = "oci://" + ref.text();
  VRAMSNAP_TRY(curl_api());
  VRAMSNAP_ASSIGN_OR_RETURN(auto snap, Snapshot::open(path));
  VRAMSNAP_ASSIGN_OR_RETURN(auto file, io::InputFile::open(path));
  if (file.size() != snap.layout().file_size)
    return Error(ErrorKind::IO, path + ": the file changed while being pushed");
  VRAMSNAP_ASSIGN_OR_RETURN(auto digests, hash_file(file));
  const Descriptor& blob = digests.blob;
  std::map<std::string, std::string> ann;
  const auto& meta = snap.meta();
  ann["org.opencontainers.image.created"] = meta.created;
  ann["org.vramsnap.snapshot.id"] = meta.id_hex;
  ann["org.vramsnap.generation"] = std::to_string(meta.generation);
  ann["org.vramsnap.seal"] = snap.seal().state == SealState::Unsealed ? "unsealed" : snap.seal().algorithm;
  if (!snap.seal().key_id_hex.empty()) ann["org.vramsnap.key-id"] = snap.seal().key_id_hex;
  ann["org.vramsnap.format"] = fmt::format("{}.{}", meta.major, meta.minor);
  for (const auto& [k, v] : meta.labels) ann["org.vramsnap.label." + k] = v;

  VRAMSNAP_ASSIGN_OR_RETURN(auto reg, Registry::connect(ref, o, true));
  {
    VRAMSNAP_ASSIGN_OR_RETURN(auto url, parse_http_url(reg->base() + "/v2/"));
    VRAMSNAP_TRY(check_scheme(url, reg->transport()));
  }
  PushResult out;
  out.blob_digest = blob.digest;
  out.index_digest = digests.index_digest;
  out.size = blob.size;
  VRAMSNAP_ASSIGN_OR_RETURN(out.blob_existed, ensure_blob(*reg, blob, &file, {}, name));
  VRAMSNAP_TRY(ensure_blob(*reg, Descriptor{kEmptyDigest, 2}, nullptr, "{}", name));
  const auto slash = path.find_last_of('/');
  const std::string manifest = artifact_manifest(blob, slash == std::string::npos ? path : path.substr(slash + 1),
                                                digests.index_digest, ann);
  const auto md = crypto::sha256({reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size()});
  out.manifest_digest = "sha256:" + crypto::to_hex(md);
  Request put;
  put.method = "PUT";
  put.url = "/v2/" + ref.repository + "/manifests/" + ref.tag;
  put.headers = {std::string("Content-Type: ") + kManifestMediaType};
  put.body = manifest;
  VRAMSNAP_ASSIGN_OR_RETURN(auto pr, reg->send(std::move(put)));
  if (pr.status != 201) return status_error(pr, name + " (manifest)");
  if (auto got = pr.header("docker-content-digest"); got && *got != out.manifest_digest)
    return Error(ErrorKind::IO, fmt::format("{}: the registry stored the manifest as {}, not {}", name,
                                            got->substr(0, 80), out.manifest_digest));
  out.reference = "oci://" + ref.registry + "/" + ref.repository + "@" + out.manifest_digest;
  return out;
}

}  // namespace vramsnap
