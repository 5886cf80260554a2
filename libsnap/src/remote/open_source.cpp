// Choosing a Source by what the location looks like: a path, an http(s)
// URL or an oci:// reference.
#include <fmt/format.h>

#include "remote/credentials.h"
#include "remote/curl_api.h"
#include "remote/http_source.h"
#include "remote/oci.h"
#include "vramsnap/remote.hpp"

namespace vramsnap {

bool is_remote_location(const std::string& location) {
  return remote::location_kind(location) != remote::LocationKind::File;
}

std::string redacted_location(const std::string& location) {
  return remote::location_kind(location) == remote::LocationKind::Http ? remote::redacted(location) : location;
}

Result<std::shared_ptr<const Source>> open_source(const std::string& location, const RemoteOptions& o) {
  switch (remote::location_kind(location)) {
    case remote::LocationKind::File:
      return open_file_source(location);
    case remote::LocationKind::Oci:
      VRAMSNAP_TRY(remote::curl_api());
      return remote::open_oci_source(location, o);
    case remote::LocationKind::Http: {
      VRAMSNAP_TRY(remote::curl_api());
      remote::HttpObject obj;
      obj.url = location;
      obj.name = remote::redacted(location);
      VRAMSNAP_ASSIGN_OR_RETURN(obj.transport, remote::transport_from(o));
      VRAMSNAP_ASSIGN_OR_RETURN(obj.auth, remote::load_bearer(o));
      return remote::open_http_source(std::move(obj));
    }
  }
  return Error(ErrorKind::Usage, "unknown location");
}

}  // namespace vramsnap
