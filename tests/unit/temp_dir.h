#pragma once
// A fresh directory under VRAMSNAP_TEST_TMPDIR, removed (recursively) at scope
// exit, so test cases cannot see each other's files.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
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
  // Writes `bytes` to NAME (its folder must exist); returns its path.
  std::string file(const std::string& name, std::string_view bytes) const {
    const std::string p = *this / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return p;
  }
};

}  // namespace vtest
