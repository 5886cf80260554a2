#pragma once
// Snapshots that live on a server: http(s) URLs (range requests) and OCI
// registries (oci://REGISTRY/REPO:TAG or @sha256:DIGEST). open_source gives
// a Source like open_file_source does, so open, verify and restore read a
// remote snapshot chunk by chunk, each chunk checked against its hash, with
// no local copy. push_snapshot uploads a file as an OCI artifact.
//
// Credentials come from files only (never a URL, never argv) and are sent
// only to the host they were meant for: never after a redirect elsewhere.
#include <cstdint>
#include <memory>
#include <string>

#include "vramsnap/capture.hpp"
#include "vramsnap/error.hpp"
#include "vramsnap/export.h"
#include "vramsnap/source.hpp"

namespace vramsnap {

struct RemoteOptions {
  // A file holding a bearer token for the URL's host, or for a registry that
  // takes one directly. Empty: for http(s) URLs $VRAMSNAP_AUTH_FILE when
  // set, else no token; registries then use the docker logins only.
  std::string auth_file;
  // Extra CA certificates (PEM) trusted besides the system store.
  std::string ca_file;
  // A docker config.json with registry credentials. Empty:
  // $DOCKER_CONFIG/config.json, else ~/.docker/config.json, when present.
  std::string registry_config;
  // Allow plain HTTP to hosts other than loopback. TLS is never weakened.
  bool insecure = false;
  // Seconds to connect, and seconds a transfer may stall (no byte received)
  // before it is abandoned and retried.
  unsigned timeout_s = 30;
  // Tries per request that make no progress (5xx, reset, timeout), the first
  // included; waits double from 0.2 s up to 5 s between them.
  unsigned retries = 5;
  // Hears how far open has got in the one pass over a whole registry blob
  // that binds a digest reference whose manifest names no index digest
  // (formats/oci-artifact.md, reading step 2): the blob's bytes hashed so
  // far, of its size. Nothing else at open is long enough to report.
  ProgressFn progress;
};

// True for http://, https:// and oci:// locations.
VRAMSNAP_API bool is_remote_location(const std::string& location);

// What messages and reports show of a location: a URL without user info,
// query or fragment (a presigned URL's signature is a credential); a path or
// an oci:// reference as given.
VRAMSNAP_API std::string redacted_location(const std::string& location);

// A path (open_file_source), an http(s) URL or an oci:// reference. Remote
// opens make one small request (two or three for a registry: manifest,
// token) to learn the size and identity; a server that ignores Range
// requests is refused (IO error) rather than read whole once per chunk.
VRAMSNAP_API Result<std::shared_ptr<const Source>> open_source(const std::string& location,
                                                                const RemoteOptions& options = {});

struct PushResult {
  std::string blob_digest;      // "sha256:..." of the file: its SHA-256
  std::string manifest_digest;  // the artifact manifest's digest
  std::string index_digest;     // the layer's org.vramsnap.index.digest: SHA-256 of the file's two ends
  uint64_t size = 0;
  bool blob_existed = false;    // the registry had the blob; nothing uploaded
  std::string reference;        // oci://REGISTRY/REPO@manifest_digest
};

// Uploads the snapshot at `path` (opened and validated first) to `oci_ref`
// (oci://REGISTRY/REPO:TAG) as one blob of an OCI artifact (artifactType
// application/vnd.vramsnap.snapshot.v1, annotations: snapshot id,
// generation, key id, labels), skipping the blob when the registry has it.
// The tag is written last, so a failed push leaves no tag behind.
VRAMSNAP_API Result<PushResult> push_snapshot(const std::string& path, const std::string& oci_ref,
                                              const RemoteOptions& options = {});

}  // namespace vramsnap
