#pragma once
#include <string>

#include "vramsnap/export.h"

namespace vramsnap {

VRAMSNAP_API const char* version() noexcept;  // "0.1.0"
// One line per component: tool, format, zstd, OpenSSL, CUDA runtime, driver.
VRAMSNAP_API std::string version_report();

}  // namespace vramsnap
