#include "vramsnap/version.hpp"

#include <openssl/crypto.h>
#include <zstd.h>

#include <fmt/format.h>

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
  return fmt::format("vramsnap {}\nformat {}.{}\nzstd {}\n{}\nCUDA {}", VRAMSNAP_VERSION, format::kMajorVersion,
                     format::kMinorVersion, ZSTD_versionString(), OpenSSL_version(OPENSSL_VERSION), cuda);
}

}  // namespace vramsnap
