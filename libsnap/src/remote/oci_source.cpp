// Resolving oci://REGISTRY/REPO:TAG (or @sha256:DIGEST) to the snapshot's
// blob: the manifest (or an index, then its vramsnap manifest) fetched with
// a size cap and checked against its digest when the reference names one;
// then the blob is an HttpSource whose identity is its digest. A digest that
// may also be the snapshot blob's own (its first bytes tell), so the SHA-256
// that `vramsnap push` prints (the file's) restores too.
//
// What the blob is bound to: a manifest that names the snapshot's index
// digest binds it through the two ends of the file (remote/pinned_source.h),
// at no extra request; a digest reference without one (a blob digest, or a
// manifest another tool wrote) costs one pass over the whole blob against
// its digest before anything is used. A tag without an index digest binds
// nothing beyond what the snapshot says of itself (chunk hashes, seal).
#include "remote/oci.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "format/layout.h"
#include "remote/http_source.h"
#include "remote/pinned_source.h"
#include "remote/registry.h"

namespace vramsnap::remote {
namespace {

constexpr uint64_t kMaxBlob = uint64_t{1} << 52;

Result<Descriptor> descriptor_of(const nlohmann::json& d, const std::string& name) {
  if (!d.is_object()) return Error(ErrorKind::Format, name + ": a descriptor is not an object");
  auto dg = d.find("digest");
  auto sz = d.find("size");
  if (dg == d.end() || !dg->is_string() || !is_sha256_digest(dg->get<std::string>()))
    return Error(ErrorKind::Format, name + ": a descriptor's digest is missing or not sha256:<64 hex>");
  if (sz == d.end() || !sz->is_number_unsigned() || sz->get<uint64_t>() > kMaxBlob)
    return Error(ErrorKind::Format, name + ": a descriptor's size is missing or out of range");
  return Descriptor{dg->get<std::string>(), sz->get<uint64_t>()};
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The layer's index digest annotation: "" when absent, a format error when
// present but not sha256:<64 hex> (a reader must not quietly skip the check).
Result<std::string> index_digest_of(const nlohmann::json& layer, const std::string& name) {
  auto a = layer.find("annotations");
  if (a == layer.end() || !a->is_object()) return std::string();
  auto it = a->find(kIndexDigestAnnotation);
  if (it == a->end()) return std::string();
  if (!it->is_string() || !is_sha256_digest(it->get<std::string>()))
    return Error(ErrorKind::Format, fmt::format("{}: the layer's {} annotation is not sha256:<64 hex>", name,
                                                kIndexDigestAnnotation));
  return it->get<std::string>();
}

std::string sha256_digest(const std::string& body) {
  const auto d = crypto::sha256({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  return "sha256:" + crypto::to_hex(d);
}

// Whether the blob `digest` is a snapshot itself (its first bytes are the
// header magic) rather than a manifest: one 8-byte range request.
Result<bool> blob_is_snapshot(Registry& reg, const std::string& digest, const std::string& name) {
  Request req;
  req.url = "/v2/" + reg.ref().repository + "/blobs/" + digest;
  req.range = "0-7";
  req.max_body = 4096;
  req.on_headers = [&](const Response& r) -> Status {
    if (r.status == 200) return Error(ErrorKind::IO, name + ": the registry ignores Range requests");
    return {};
  };
  VRAMSNAP_ASSIGN_OR_RETURN(auto resp, reg.send(std::move(req)));
  if (resp.status != 206) return false;  // a manifest (registries may not serve those as blobs), or nothing
  const auto& m = format::kHeaderMagic;
  return resp.body.size() == m.size() && std::equal(m.begin(), m.end(), reinterpret_cast<const uint8_t*>(resp.body.data()));
}

Result<Response> get_manifest(Registry& reg, const std::string& reference) {
  Request req;
  req.url = "/v2/" + reg.ref().repository + "/manifests/" + reference;
  req.headers = {fmt::format("Accept: {}, {}, application/vnd.docker.distribution.manifest.v2+json",
                             kManifestMediaType, kIndexMediaType)};
  req.max_body = kMaxManifest;
  return reg.send(std::move(req));
}

}  // namespace

Result<ManifestChoice> choose_from_manifest(const std::string& body, const std::string& name) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(ErrorKind::Format, name + ": the manifest is not a JSON object");
  ManifestChoice c;
  const std::string media = string_field(j, "mediaType");
  if (media == kIndexMediaType || (media.empty() && j.contains("manifests"))) {
    auto ms = j.find("manifests");
    if (ms == j.end() || !ms->is_array()) return Error(ErrorKind::Format, name + ": the index has no manifests array");
    for (const auto& m : *ms) {
      if (!m.is_object() || string_field(m, "artifactType") != kArtifactType) continue;
      VRAMSNAP_ASSIGN_OR_RETURN(c.chosen, descriptor_of(m, name));
      c.is_index = true;
      return c;
    }
    return Error(ErrorKind::Format, fmt::format("{}: the index lists no manifest of artifactType {}", name, kArtifactType));
  }
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return Error(ErrorKind::Format, name + ": the manifest has no layers array");
  int found = 0;
  for (const auto& l : *layers) {
    if (!l.is_object() || string_field(l, "mediaType") != kLayerMediaType) continue;
    VRAMSNAP_ASSIGN_OR_RETURN(c.chosen, descriptor_of(l, name));
    VRAMSNAP_ASSIGN_OR_RETURN(c.index_digest, index_digest_of(l, name));
    ++found;
  }
  if (found == 0)
    return Error(ErrorKind::Format, fmt::format("{}: not a vramsnap artifact (no layer of media type {})", name,
                                                kLayerMediaType));
  if (found > 1) return Error(ErrorKind::Format, name + ": more than one snapshot layer in the manifest");
  return c;
}

Result<std::shared_ptr<const Source>> open_oci_source(const std::string& text, const RemoteOptions& o) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto ref, parse_oci_ref(text));
  const std::string name = "oci://" + ref.text();
  VRAMSNAP_ASSIGN_OR_RETURN(std::shared_ptr<Registry> reg, Registry::connect(ref, o, false));
  {
    VRAMSNAP_ASSIGN_OR_RETURN(auto url, parse_http_url(reg->base() + "/v2/"));
    VRAMSNAP_TRY(check_scheme(url, reg->transport()));
  }
  Descriptor blob;
  std::string index_digest;
  bool have_blob = false, from_manifest = false;
  std::string reference = ref.digest.empty() ? ref.tag : ref.digest;
  if (!ref.digest.empty()) {
    VRAMSNAP_ASSIGN_OR_RETURN(const bool direct, blob_is_snapshot(*reg, ref.digest, name));
    if (direct) {
      blob.digest = ref.digest;
      have_blob = true;
    }
  }
  for (int depth = 0; depth < 2 && !have_blob; ++depth) {
    VRAMSNAP_ASSIGN_OR_RETURN(auto resp, get_manifest(*reg, reference));
    if (resp.status != 200) return status_error(resp, name + " (manifest)");
    if (reference.starts_with("sha256:") && sha256_digest(resp.body) != reference)
      return Error(ErrorKind::Integrity, fmt::format("{}: the registry's manifest does not match digest {}", name,
                                                     reference));
    VRAMSNAP_ASSIGN_OR_RETURN(auto choice, choose_from_manifest(resp.body, name));
    if (choice.is_index) {
      reference = choice.chosen.digest;
      continue;
    }
    blob = choice.chosen;
    index_digest = choice.index_digest;
    have_blob = from_manifest = true;
  }
  if (!have_blob) return Error(ErrorKind::Format, name + ": an index points at another index");
  // The blob request goes through send() once so a pull token is in hand;
  // the range probe inside open_http_source then reuses it.
  HttpObject obj;
  obj.url = reg->base() + "/v2/" + ref.repository + "/blobs/" + blob.digest;
  obj.name = name;
  obj.transport = reg->transport();
  obj.digest = blob.digest;
  if (from_manifest) obj.expected_size = blob.size;
  Request head;
  head.method = "HEAD";
  head.url = obj.url;
  VRAMSNAP_ASSIGN_OR_RETURN(auto hr, reg->send(std::move(head)));
  if (hr.status != 200) return status_error(hr, name + " (blob " + blob.digest + ")");
  obj.auth = reg->auth();
  obj.reauthenticate = [reg] { return reg->reauthenticate(); };
  VRAMSNAP_ASSIGN_OR_RETURN(auto src, open_http_source(std::move(obj)));
  if (!index_digest.empty()) return pin_index(std::move(src), index_digest);
  if (!ref.digest.empty()) return pin_blob(std::move(src), blob.digest, o.progress);
  return src;
}

}  // namespace vramsnap::remote
