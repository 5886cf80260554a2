// libFuzzer target for what servers and operators hand the remote sources
// (reliability cases 30-32): the first byte picks the parser, the rest is its
// input: 0 WWW-Authenticate, 1 Content-Range, 2 an OCI manifest or index,
// 3 an oci:// reference, 4 an http(s) URL, 5 a redirect target. Oracles: no
// crash, and whatever parses is within the documented bounds.
#include <cstdint>
#include <cstdio>
#include <string>

#include "remote/challenge.h"
#include "remote/http.h"
#include "remote/http_source.h"
#include "remote/location.h"
#include "remote/oci.h"

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_remote: oracle failed: %s\n", why);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vramsnap::remote;
  if (size == 0) return 0;
  const std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto c = parse_challenge(in); c && c->scheme.empty()) fail("challenge without a scheme");
      break;
    case 1:
      if (auto r = parse_content_range(in)) {
        if (r->total > (uint64_t{1} << 62)) fail("total past the bound");
        if (r->first && (*r->first > *r->last || *r->last >= r->total)) fail("range outside the object");
      }
      break;
    case 2:
      if (auto c = choose_from_manifest(in, "fuzz"); c.ok()) {
        if (!is_sha256_digest(c->chosen.digest)) fail("chosen descriptor without a sha256 digest");
        if (!c->index_digest.empty() && !is_sha256_digest(c->index_digest)) fail("index digest not sha256");
      }
      break;
    case 3:
      if (auto r = parse_oci_ref(in); r.ok()) {
        if (r->repository.empty() || (r->tag.empty() && r->digest.empty())) fail("reference without name or version");
        if (!r->digest.empty() && !is_sha256_digest(r->digest)) fail("bad digest accepted");
      }
      break;
    case 4:
      if (auto u = parse_http_url(in); u.ok()) {
        if (u->target.empty() || u->target[0] != '/') fail("target does not start with /");
        if (u->port == 0) fail("port 0");
      }
      (void)redacted(in);
      break;
    case 5: {
      static const auto tls = parse_http_url("https://registry.example.com/v2/r/blobs/x");
      static const auto local = parse_http_url("http://127.0.0.1:5000/ok/a.snap");
      const Transport t;
      for (const auto* from : {&tls, &local}) {
        auto to = check_redirect(from->value(), in, t);
        if (!to.ok()) continue;
        if (to->scheme != "http" && to->scheme != "https") fail("redirect to another scheme");
        if (to->scheme == "http" && (from->value().scheme == "https" || !is_loopback_host(to->host)))
          fail("redirect to plain HTTP accepted");
      }
      break;
    }
  }
  return 0;
}
