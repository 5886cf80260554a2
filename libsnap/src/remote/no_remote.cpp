// Remote sources in a build without them (VRAMSNAP_REMOTE=OFF, for hosts
// that carry no libcurl): locations are still told apart, so a URL gets a
// clear error instead of being opened as a file name.
#include <fmt/format.h>

#include "remote/location.h"
#include "vramsnap/remote.hpp"

namespace vramsnap {
namespace {

Error unavailable(const std::string& location) {
  return Error(ErrorKind::Usage, fmt::format("{}: this vramsnap was built without remote sources "
                                             "(VRAMSNAP_REMOTE=OFF); copy the snapshot to a local file",
                                             redacted_location(location)));
}

}  // namespace

bool is_remote_location(const std::string& location) {
  return remote::location_kind(location) != remote::LocationKind::File;
}

std::string redacted_location(const std::string& location) {
  return remote::location_kind(location) == remote::LocationKind::Http ? remote::redacted(location) : location;
}

Result<std::shared_ptr<const Source>> open_source(const std::string& location, const RemoteOptions&) {
  if (!is_remote_location(location)) return open_file_source(location);
  return unavailable(location);
}

Result<PushResult> push_snapshot(const std::string&, const std::string& oci_ref, const RemoteOptions&) {
  return unavailable(oci_ref);
}

}  // namespace vramsnap
