// libcurl loaded at run time: nothing maps it before the first URL, the
// loaded table works, and a host without it (or with something else under
// its name) gets a clear error instead of a crash.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "remote/curl_api.h"
#include "remote/http.h"

using namespace vramsnap;
using namespace vramsnap::remote;

namespace {

bool maps_libcurl() {
  std::ifstream maps("/proc/self/maps");
  std::stringstream all;
  all << maps.rdbuf();
  return all.str().find("/libcurl.so") != std::string::npos;
}

}  // namespace

TEST_CASE("libcurl is mapped only once a remote source asks for it") {
  CHECK(!maps_libcurl());
  CHECK(url_escape("sha256:ab/c d~._-") == "sha256%3Aab%2Fc%20d~._-");  // needs no libcurl
  CHECK(!maps_libcurl());
  auto api = curl_api();
  REQUIRE_MESSAGE(api.ok(), api.error().message());
  CHECK(maps_libcurl());
  auto again = curl_api();
  REQUIRE(again.ok());
  CHECK(*again == *api);  // loaded once
  const curl_version_info_data* v = (*api)->version_info(CURLVERSION_NOW);
  REQUIRE(v != nullptr);
  CHECK(v->version_num >= 0x075500);
  CURL* h = (*api)->easy_init();
  REQUIRE(h != nullptr);
  CHECK((*api)->easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/") == CURLE_OK);
  (*api)->easy_cleanup(h);
}

TEST_CASE("a missing or wrong libcurl is a Compat error that says what to do") {
  auto none = load_curl("libvramsnap-no-such-library.so.4");
  REQUIRE(!none.ok());
  CHECK(none.error().kind() == ErrorKind::Compat);
  CHECK(none.error().message().find("libcurl") != std::string::npos);
  CHECK(none.error().message().find("local file") != std::string::npos);
  // A library that loads but is not libcurl: the first absent entry point is named.
  auto other = load_curl("libzstd.so.1");
  REQUIRE(!other.ok());
  CHECK(other.error().kind() == ErrorKind::Compat);
  CHECK(other.error().message().find("curl_global_init") != std::string::npos);
}

TEST_CASE("libcurl is loaded by soname only, never by path") {
  for (const char* p : {"./libcurl.so.4", "/tmp/libcurl.so.4", "lib/libcurl.so.4"}) {
    auto r = load_curl(p);
    REQUIRE(!r.ok());
    CHECK(r.error().kind() == ErrorKind::Usage);
  }
}
