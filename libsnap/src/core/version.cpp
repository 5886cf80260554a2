#include "vramsnap/version.hpp"

#include <openssl/crypto.h>
#include <zstd.h>

#include <fmt/format.h>

#include "format/features.h"
#include "format/layout.h"
#ifdef VRAMSNAP_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace vramsnap {

const char* version() noexcept { return VRAMSNAP_VERSION; }

std::string version_report() {
  std::string cuda = "not built in";
#ifdef VRAMSNAP_HAVE_CUDA
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);  // 0 when no driver is installed
  (void)cudaGetLastError();
  cuda = fmt::format("runtime {}.{} (static), driver {}", rt / 1000, (rt % 1000) / 10,
                     drv ? fmt::format("{}.{}", drv / 1000, (drv % 1000) / 10) : std::string("none"));
#endif
  // The format line names the range this build reads; a file is written at the
  // lowest minor version its features need.
  uint16_t newest = format::kMinorVersion;
  for (const auto& f : format::known_features())
    if (f.minor > newest) newest = f.minor;
  return fmt::format("vramsnap {}\nformat {}.{} to {}.{}\nzstd {}\n{}\nCUDA {}", VRAMSNAP_VERSION, format::kMajorVersion,
                     format::kMinorVersion, format::kMajorVersion, newest, ZSTD_versionString(),
                     OpenSSL_version(OPENSSL_VERSION), cuda);
}

}  // namespace vramsnap
