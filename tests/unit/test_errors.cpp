// The one error table (error_kind_info): every kind has one name, and the
// tool (exit codes, tools/exit_code.cpp) and the C API (vramsnap_status) map
// it identically.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "../../tools/exit_code.h"
#include "vramsnap/error.hpp"
#include "vramsnap/vramsnap.h"

using namespace vramsnap;

TEST_CASE("every ErrorKind: one name, and the same code in the tool and the C API") {
  std::set<std::string> names;
  for (ErrorKind k : kAllErrorKinds) {
    const ErrorKindInfo info = error_kind_info(k);
    CAPTURE(info.name);
    REQUIRE(info.name != nullptr);
    CHECK(std::string(to_string(k)) == info.name);
    CHECK(names.insert(info.name).second);
    CHECK(info.exit_code == info.c_status);
    CHECK(cli::exit_code_for(k) == info.c_status);
  }
  CHECK(names.size() == 8);
}

TEST_CASE("the table's codes are the documented ones (vramsnap(1), vramsnap.h)") {
  CHECK(error_kind_info(ErrorKind::Integrity).c_status == VRAMSNAP_ERR_INTEGRITY);
  CHECK(std::string(error_kind_info(ErrorKind::Integrity).name) == "integrity error");
  CHECK(error_kind_info(ErrorKind::Usage).c_status == VRAMSNAP_ERR_USAGE);
  CHECK(error_kind_info(ErrorKind::Format).c_status == VRAMSNAP_ERR_FORMAT);
  CHECK(error_kind_info(ErrorKind::IO).c_status == VRAMSNAP_ERR_IO);
  CHECK(error_kind_info(ErrorKind::Limit).c_status == VRAMSNAP_ERR_RESOURCE);
  CHECK(error_kind_info(ErrorKind::Resource).c_status == VRAMSNAP_ERR_RESOURCE);
  CHECK(error_kind_info(ErrorKind::Compat).c_status == VRAMSNAP_ERR_UNAVAILABLE);
  CHECK(error_kind_info(ErrorKind::Interrupted).c_status == VRAMSNAP_ERR_INTERRUPTED);
  CHECK(cli::exit_code_for(ErrorKind::Integrity) == cli::kExitIntegrity);
  CHECK(cli::exit_code_for(ErrorKind::Usage) == cli::kExitUsage);
  CHECK(cli::exit_code_for(ErrorKind::Compat) == cli::kExitUnavailable);
  CHECK(cli::exit_code_for(ErrorKind::Interrupted) == cli::kExitInterrupted);
  // The old C name still compiles and means the same status.
  static_assert(VRAMSNAP_ERR_VERIFY == VRAMSNAP_ERR_INTEGRITY);
}

TEST_CASE("hints name a flag only for the commands that have it") {
  const Error exists(ErrorKind::IO, "out.snap exists and overwriting was not requested");
  CHECK(cli::hint_for("capture", exists) == "pass --force to replace it");
  CHECK(cli::hint_for("keygen", exists).empty());
  const Error unsealed(ErrorKind::Integrity, "u.snap: snapshot is not sealed, and a seal is required");
  CHECK(cli::hint_for("verify", unsealed).find("--allow-unsealed") != std::string::npos);
  CHECK(cli::hint_for("seal", unsealed).empty());
  CHECK(cli::hint_for("verify", Error(ErrorKind::Format, "snapshot is not sealed")).empty());
}
