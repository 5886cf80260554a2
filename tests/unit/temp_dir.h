#pragma once
// A fresh directory under VRAMSNAP_TEST_TMPDIR, removed (recursively) at scope
// exit, so test cases cannot see each other's files.
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include <doctest/doctest.h>

namespace vtest {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& prefix = "lib") {
    std::filesystem::create_directories(VRAMSNAP_TEST_TMPDIR);
    std::string tmpl = std::string(VRAMSNAP_TEST_TMPDIR) + "/" + prefix + "-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

}  // namespace vtest
