// The rules around exchanges that need no curl call of their own:
// credentials wiped when dropped, the scheme and redirect policy (and the
// redirect loop), the retry loop for small requests, the pool of idle
// handles, and what an HTTP status means to an operator.
#include <openssl/crypto.h>

#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "io/file.h"
#include "remote/http.h"

namespace vramsnap::remote {
namespace {

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

Auth::~Auth() {
  wipe(token);
  wipe(user);
  wipe(password);
}

Result<Transport> transport_from(const RemoteOptions& o) {
  // A CA file that cannot be read would surface only at the handshake, as
  // an untrusted certificate; say what is wrong before anything is sent.
  if (!o.ca_file.empty())
    if (auto f = io::InputFile::open(o.ca_file); !f.ok())
      return Error(ErrorKind::Usage, "cannot read the CA file given with --ca-file: " + f.error().message());
  Transport t;
  t.ca_file = o.ca_file;
  t.insecure = o.insecure;
  t.timeout_s = o.timeout_s == 0 ? 30 : o.timeout_s;
  t.retry.max_attempts = o.retries == 0 ? 1 : o.retries;
  t.retry.max_total = std::max(t.retry.max_total, t.retry.max_attempts);
  return t;
}

Status check_scheme(const HttpUrl& url, const Transport& t) {
  if (url.scheme == "http" && !t.insecure && !is_loopback_host(url.host))
    return Error(ErrorKind::Usage, fmt::format("{}: plain HTTP to a host other than loopback is refused (use https, or "
                                               "--insecure to allow it)", redacted(url.text)));
  return {};
}

Result<HttpUrl> check_redirect(const HttpUrl& from, std::string_view target, const Transport& t) {
  const std::string shown = redacted(target);
  auto u = parse_http_url(target);
  if (!u.ok())
    return Error(ErrorKind::IO, fmt::format("{}: redirected to {}, which is not an http(s) URL; refused",
                                            redacted(from.text), shown));
  if (u->scheme == "http" && !t.insecure && (from.scheme == "https" || !is_loopback_host(u->host)))
    return Error(ErrorKind::IO, fmt::format("{}: redirected to plain HTTP ({}); refused (--insecure allows it)",
                                            redacted(from.text), shown));
  return u;
}

bool same_origin(const HttpUrl& a, const HttpUrl& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

Exchange Easy::perform(const Request& req, const Transport& t) {
  const bool follow = req.method == "GET" || req.method == "HEAD";
  auto origin = parse_http_url(req.url);
  if (!follow || !origin.ok()) return perform_once(req, req.url, req.auth, follow, t);
  HttpUrl at = *origin;
  const Auth* auth = req.auth;
  for (int hop = 0;; ++hop) {
    Exchange ex = perform_once(req, at.text, auth, true, t);
    if (!ex.status.ok() || ex.response.redirect_url.empty()) return ex;
    if (hop == kMaxRedirects) {
      ex.status = Error(ErrorKind::IO, fmt::format("{}: more than {} redirects", redacted(req.url), kMaxRedirects));
      ex.callback_failed = true;
      return ex;
    }
    auto next = check_redirect(at, ex.response.redirect_url, t);
    if (!next.ok()) {
      ex.status = std::move(next).error();
      ex.callback_failed = true;
      return ex;
    }
    // Credentials stay with the origin they were given for; once another
    // origin is reached they are not sent again, even on a way back.
    if (!same_origin(*next, *origin)) auth = nullptr;
    at = std::move(*next);
  }
}

std::optional<std::string> Response::header(std::string_view name) const {
  std::optional<std::string> v;
  for (const auto& [k, val] : headers)
    if (k == name) v = val;
  return v;
}

void EasyPool::Release::operator()(Easy* e) const {
  std::lock_guard<std::mutex> lock(pool->mu_);
  pool->idle_.emplace_back(e);
}

void EasyPool::give(std::unique_ptr<Easy> easy) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(easy));
}

EasyPool::Handle EasyPool::acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.empty()) return Handle(new Easy, Release{this});
  Easy* e = idle_.back().release();
  idle_.pop_back();
  return Handle(e, Release{this});
}

void backoff_sleep(const RetryPolicy& p, unsigned attempt) {
  const uint64_t wait = backoff_ms(p, attempt);
  if (wait == 0) return;
  thread_local std::minstd_rand rng(std::random_device{}());
  const uint64_t jittered = wait / 2 + rng() % (wait / 2 + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(jittered));
}

Result<Response> perform_retried(Easy& easy, const Request& req, const Transport& t) {
  const std::string shown = redacted(req.url);
  for (unsigned attempt = 1;; ++attempt) {
    Exchange ex = easy.perform(req, t);
    const bool again = req.idempotent && may_retry(t.retry, attempt, attempt);
    if (!ex.status.ok()) {
      if (ex.transient && again) {
        backoff_sleep(t.retry, attempt + 1);
        continue;
      }
      if (ex.callback_failed) return std::move(ex.status).error();
      return Error(ex.status.error().kind(),
                   fmt::format("{}: {}{}", shown, ex.status.error().message(),
                               ex.transient ? fmt::format(" (after {} tries)", attempt) : ""));
    }
    if (retryable_status(ex.response.status) && again) {
      backoff_sleep(t.retry, attempt + 1);
      continue;
    }
    return std::move(ex.response);
  }
}

Error status_error(const Response& r, std::string_view shown_url) {
  std::string why;
  switch (r.status) {
    case 401: why = "authentication required or refused (give a token with --auth-file, or registry credentials)"; break;
    case 403: why = "access denied (the credentials lack permission)"; break;
    case 404: why = "not found"; break;
    case 416: why = "range not satisfiable"; break;
    default: why = r.status >= 500 ? "server error" : "unexpected response"; break;
  }
  return Error(ErrorKind::IO, fmt::format("{}: HTTP {}: {}", shown_url, r.status, why));
}

}  // namespace vramsnap::remote
