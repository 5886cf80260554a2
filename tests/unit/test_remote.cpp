// Remote locations without a network: URL and OCI reference parsing,
// WWW-Authenticate challenges, Content-Range, the retry policy, manifest
// choice and the artifact manifest a push writes. The servers themselves
// are exercised by tests/cli/remote_*.sh.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "remote/challenge.h"
#include "remote/http.h"
#include "remote/http_source.h"
#include "remote/location.h"
#include "remote/oci.h"
#include "remote/pinned_source.h"
#include "remote/retry.h"

using namespace vramsnap;
using namespace vramsnap::remote;

TEST_CASE("http URLs: parts, default ports, refusals") {
  auto u = parse_http_url("https://bucket.s3.example.com/models/a.snap?X-Amz-Signature=secret");
  REQUIRE(u.ok());
  CHECK(u->scheme == "https");
  CHECK(u->host == "bucket.s3.example.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/models/a.snap?X-Amz-Signature=secret");
  auto v = parse_http_url("http://127.0.0.1:8080");
  REQUIRE(v.ok());
  CHECK(v->port == 8080);
  CHECK(v->target == "/");
  auto six = parse_http_url("http://[::1]:99/x");
  REQUIRE(six.ok());
  CHECK(six->host == "::1");
  for (const char* bad : {"ftp://h/x", "http://user:pw@h/x", "http://h:0/x", "http://h:65536/x", "http://h:12a/x",
                          "http:///x", "http://h/x y", "http://h/x#frag", "http://-h/x", "https://h:/x"}) {
    auto r = parse_http_url(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.error().kind() == ErrorKind::Usage);
  }
  // Credentials in a URL are refused without being repeated.
  auto cred = parse_http_url("http://user:hunter2@h/x");
  REQUIRE(!cred.ok());
  CHECK(cred.error().message().find("hunter2") == std::string::npos);
}

TEST_CASE("redacted URLs drop query, fragment and user info") {
  CHECK(redacted("https://h/p/a.snap?sig=SECRET") == "https://h/p/a.snap?...");
  CHECK(redacted("https://u:SECRET@h/p") == "https://h/p");
  CHECK(redacted("http://h/p\x1b[31m") == "http://h/p?[31m");
}

TEST_CASE("loopback hosts") {
  for (const char* h : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) CHECK_MESSAGE(is_loopback_host(h), h);
  for (const char* h : {"127.0.0.1.evil.com", "10.0.0.1", "localhost.evil", "128.0.0.1", ""})
    CHECK_MESSAGE(!is_loopback_host(h), h);
}

TEST_CASE("plain HTTP only to loopback unless insecure") {
  Transport t;
  CHECK(check_scheme(*parse_http_url("http://127.0.0.1:1/x"), t).ok());
  CHECK(check_scheme(*parse_http_url("https://example.com/x"), t).ok());
  auto r = check_scheme(*parse_http_url("http://example.com/x?sig=SECRET"), t);
  REQUIRE(!r.ok());
  CHECK(r.error().message().find("SECRET") == std::string::npos);
  t.insecure = true;
  CHECK(check_scheme(*parse_http_url("http://example.com/x"), t).ok());
}

TEST_CASE("redirects: http(s) only, no downgrade, plain HTTP only to loopback") {
  Transport t;
  auto https = parse_http_url("https://registry.example.com/v2/r/blobs/sha256:x");
  auto local = parse_http_url("http://127.0.0.1:5000/ok/a.snap");
  REQUIRE(https.ok());
  REQUIRE(local.ok());
  CHECK(check_redirect(*https, "https://storage.example.com/b?X-Amz-Signature=s", t).ok());
  CHECK(check_redirect(*local, "http://localhost:5000/ok/a.snap", t).ok());
  CHECK(check_redirect(*local, "https://storage.example.com/b", t).ok());
  for (const char* bad : {"file:///etc/passwd", "ftp://h/x", "gopher://h/", "http://u:pw@h/x", "dict://127.0.0.1/"})
    CHECK_MESSAGE(!check_redirect(*local, bad, t).ok(), bad);
  // Plain HTTP to another host, or any downgrade from https, needs --insecure.
  auto plain = check_redirect(*local, "http://example.com/a.snap?sig=SECRET", t);
  REQUIRE(!plain.ok());
  CHECK(plain.error().kind() == ErrorKind::IO);
  CHECK(plain.error().message().find("SECRET") == std::string::npos);
  CHECK(plain.error().message().find("--insecure") != std::string::npos);
  CHECK(!check_redirect(*https, "http://127.0.0.1/a.snap", t).ok());
  t.insecure = true;
  CHECK(check_redirect(*local, "http://example.com/a.snap", t).ok());
  CHECK(check_redirect(*https, "http://127.0.0.1/a.snap", t).ok());
  CHECK(!check_redirect(*https, "file:///etc/passwd", t).ok());
}

TEST_CASE("credentials follow a redirect only within one origin") {
  auto a = parse_http_url("https://r.example.com/v2/x");
  auto b = parse_http_url("https://r.example.com:443/v2/y");
  auto other_port = parse_http_url("https://r.example.com:8443/v2/x");
  auto other_host = parse_http_url("https://storage.example.com/v2/x");
  auto other_scheme = parse_http_url("http://r.example.com:443/v2/x");
  REQUIRE((a.ok() && b.ok() && other_port.ok() && other_host.ok() && other_scheme.ok()));
  CHECK(same_origin(*a, *b));
  CHECK(!same_origin(*a, *other_port));
  CHECK(!same_origin(*a, *other_host));
  CHECK(!same_origin(*a, *other_scheme));
}

TEST_CASE("OCI references") {
  auto r = parse_oci_ref("oci://registry.example:5000/team/model:v1.2");
  REQUIRE(r.ok());
  CHECK(r->registry == "registry.example:5000");
  CHECK(r->host == "registry.example");
  CHECK(r->repository == "team/model");
  CHECK(r->tag == "v1.2");
  CHECK(r->digest.empty());
  const std::string dg = "sha256:" + std::string(64, 'a');
  auto d = parse_oci_ref("oci://127.0.0.1:5000/m@" + dg);
  REQUIRE(d.ok());
  CHECK(d->digest == dg);
  CHECK(d->tag.empty());
  CHECK(d->text() == "127.0.0.1:5000/m@" + dg);
  auto latest = parse_oci_ref("oci://r.example/a/b");
  REQUIRE(latest.ok());
  CHECK(latest->tag == "latest");
  auto both = parse_oci_ref("oci://r.example/a:t@" + dg);
  REQUIRE(both.ok());
  CHECK(both->tag == "t");
  CHECK(both->digest == dg);
  for (const std::string& bad : std::vector<std::string>{"oci://r.example", "oci:///a:b", "oci://r.example/A:b", "oci://r.example/a//b:c",
                          "oci://r.example/a:.t", "oci://r.example/a@sha256:abc", "oci://r.example/a@md5:" + std::string(64, 'a'),
                          "oci://u:p@r.example/a:b", "oci://r.example/a_-b:c", "oci://r.example/a:" + std::string(129, 't'),
                          "oci://r.example/-a:b", "oci://r.example/a:b c"}) {
    auto x = parse_oci_ref(bad);
    CHECK_MESSAGE(!x.ok(), bad);
  }
  CHECK(is_sha256_digest(dg));
  CHECK(!is_sha256_digest("sha256:" + std::string(64, 'A')));
  CHECK(location_kind("oci://x/y") == LocationKind::Oci);
  CHECK(location_kind("https://x/y") == LocationKind::Http);
  CHECK(location_kind("./https://x") == LocationKind::File);
}

TEST_CASE("WWW-Authenticate challenges") {
  auto c = parse_challenge(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull")");
  REQUIRE(c);
  CHECK(c->scheme == "bearer");
  CHECK(c->params["realm"] == "https://auth.example/token");
  CHECK(c->params["service"] == "registry.example");
  CHECK(c->params["scope"] == "repository:a/b:pull");
  auto b = parse_challenge(R"(Basic realm="Registry Realm")");
  REQUIRE(b);
  CHECK(b->scheme == "basic");
  CHECK(b->params["realm"] == "Registry Realm");
  auto esc = parse_challenge(R"(Bearer realm="a\"b", error=invalid_token)");
  REQUIRE(esc);
  CHECK(esc->params["realm"] == "a\"b");
  CHECK(esc->params["error"] == "invalid_token");
  CHECK(parse_challenge("Bearer") -> params.empty());
  for (const char* bad : {"", "   ", R"(Bearer realm="unterminated)", R"(Bearer realm="a",realm="b")",
                          "Bearer realm=\"a\x01\"", R"(Bearer realm="a" junk)"})
    CHECK_MESSAGE(!parse_challenge(bad), bad);
  CHECK(!parse_challenge("Bearer realm=\"" + std::string(5000, 'a') + "\""));
}

TEST_CASE("Content-Range") {
  auto a = parse_content_range("bytes 0-0/1234");
  REQUIRE(a);
  CHECK(*a->first == 0);
  CHECK(*a->last == 0);
  CHECK(a->total == 1234);
  auto star = parse_content_range("bytes */0");
  REQUIRE(star);
  CHECK(!star->first);
  CHECK(star->total == 0);
  for (const char* bad : {"bytes 5-4/10", "bytes 0-10/10", "bytes 0-1/", "bytes -1/10", "items 0-1/10",
                          "bytes 0-1/99999999999999999999", "bytes 0-1/x", "bytes 0-1/4611686018427387905"})
    CHECK_MESSAGE(!parse_content_range(bad), bad);
}

TEST_CASE("retry policy: which statuses, how long, how often") {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) CHECK(retryable_status(s));
  for (long s : {200L, 206L, 301L, 400L, 401L, 403L, 404L, 416L, 501L}) CHECK(!retryable_status(s));
  RetryPolicy p;
  CHECK(backoff_ms(p, 1) == 0);
  CHECK(backoff_ms(p, 2) == 200);
  CHECK(backoff_ms(p, 3) == 400);
  CHECK(backoff_ms(p, 6) == 3200);
  CHECK(backoff_ms(p, 7) == 5000);
  CHECK(backoff_ms(p, 1000) == 5000);
  CHECK(may_retry(p, 1, 1));
  CHECK(!may_retry(p, 5, 5));
  CHECK(may_retry(p, 19, 1));  // progress keeps a read going...
  CHECK(!may_retry(p, 20, 1));  // ...within a bound
}

TEST_CASE("OCI manifests: the snapshot layer, indexes, hostile shapes") {
  const std::string dg = "sha256:" + std::string(64, 'b');
  const std::string ix = "sha256:" + std::string(64, 'e');
  const std::string m = artifact_manifest({dg, 12345}, "model.snap", ix,
                                          {{"org.vramsnap.snapshot.id", "00"}, {"org.vramsnap.label.env", "prod"}});
  auto j = nlohmann::json::parse(m);
  CHECK(j["artifactType"] == kArtifactType);
  CHECK(j["mediaType"] == kManifestMediaType);
  CHECK(j["config"]["digest"] == kEmptyDigest);
  CHECK(j["config"]["size"] == 2);
  CHECK(j["annotations"]["org.vramsnap.label.env"] == "prod");
  auto c = choose_from_manifest(m, "x");
  REQUIRE(c.ok());
  CHECK(!c->is_index);
  CHECK(c->chosen.digest == dg);
  CHECK(c->chosen.size == 12345);
  CHECK(c->index_digest == ix);
  CHECK(j["layers"][0]["annotations"][kIndexDigestAnnotation] == ix);

  nlohmann::json idx = {{"schemaVersion", 2}, {"mediaType", kIndexMediaType},
                        {"manifests", {{{"mediaType", kManifestMediaType}, {"digest", "sha256:" + std::string(64, 'c')}, {"size", 10}},
                                       {{"mediaType", kManifestMediaType}, {"artifactType", kArtifactType}, {"digest", dg}, {"size", 11}}}}};
  auto ci = choose_from_manifest(idx.dump(), "x");
  REQUIRE(ci.ok());
  CHECK(ci->is_index);
  CHECK(ci->chosen.digest == dg);

  auto layer = [&](nlohmann::json l) { return nlohmann::json{{"layers", nlohmann::json::array({l})}}.dump(); };
  for (const std::string& bad :
       {std::string("[]"), std::string("not json"), std::string(R"({"layers": {}})"),
        layer({{"mediaType", "application/octet-stream"}, {"digest", dg}, {"size", 1}}),
        layer({{"mediaType", kLayerMediaType}, {"digest", "sha256:zz"}, {"size", 1}}),
        layer({{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", -1}}),
        layer({{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", "1"}}),
        layer({{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", 1e300}}),
        nlohmann::json{{"layers", {{{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", 1}},
                                   {{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", 1}}}}}.dump(),
        nlohmann::json{{"mediaType", kIndexMediaType}, {"manifests", nlohmann::json::array()}}.dump()}) {
    auto r = choose_from_manifest(bad, "x");
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.error().kind() == ErrorKind::Format);
  }
}

TEST_CASE("OCI manifests: the layer's index digest, absent or malformed") {
  const std::string dg = "sha256:" + std::string(64, 'b');
  auto with = [&](nlohmann::json annotations) {
    nlohmann::json l = {{"mediaType", kLayerMediaType}, {"digest", dg}, {"size", 5000}};
    if (!annotations.is_null()) l["annotations"] = annotations;
    return nlohmann::json{{"layers", nlohmann::json::array({l})}}.dump();
  };
  // Manifests other tools write carry no index digest: the reader then
  // checks the whole blob for a pinned reference.
  for (const auto& none : {nlohmann::json(), nlohmann::json::object(), nlohmann::json{{"other", "x"}},
                           nlohmann::json::array()}) {
    auto c = choose_from_manifest(with(none), "x");
    REQUIRE(c.ok());
    CHECK(c->index_digest.empty());
  }
  // One that is there but unusable is refused, not skipped.
  for (const auto& bad : {nlohmann::json{{kIndexDigestAnnotation, "sha256:zz"}},
                          nlohmann::json{{kIndexDigestAnnotation, 7}},
                          nlohmann::json{{kIndexDigestAnnotation, ""}},
                          nlohmann::json{{kIndexDigestAnnotation, "sha512:" + std::string(128, 'a')}}}) {
    auto c = choose_from_manifest(with(bad), "x");
    CHECK_MESSAGE(!c.ok(), bad.dump());
    if (!c.ok()) CHECK(c.error().kind() == ErrorKind::Format);
  }
}
