// libcurl under one set of rules. Each exchange resets the easy handle (the
// connection cache survives a reset, so requests reuse connections) and sets
// every option again, so nothing of one request leaks into the next.
// Easy::perform, which follows redirects hop by hop, is in http_policy.cpp.
// libcurl itself is reached through the table curl_api() loads.
#include "remote/http.h"

#include "remote/curl_api.h"

#include <chrono>
#include <cctype>

#include <fmt/format.h>

namespace vramsnap::remote {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;

struct CurlList {
  explicit CurlList(const CurlApi* a) : api(a) {}
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  ~CurlList() { api->slist_free_all(list); }
  void add(const std::string& s) { list = api->slist_append(list, s.c_str()); }
  const CurlApi* api;
  curl_slist* list = nullptr;
};

// The state of one transfer, reached from curl's callbacks.
struct Transfer {
  Transfer(const Request* q, Response* r) : req(q), resp(r) {}
  const Request* req;
  Response* resp;
  size_t header_bytes = 0;
  bool headers_done = false;
  Status error;
  bool failed = false;
  bool stalled = false;
  bool follow = false;  // a 3xx with a Location will be followed: its body is not the answer
  uint64_t uploaded = 0;
  // Stall detection: curl's low-speed check averages over seconds, so a
  // transfer that stops after a burst would go unnoticed for long.
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_bytes = -1;
  unsigned stall_s = 30;

  void fail(Error e) {
    if (!failed) error = std::move(e);
    failed = true;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->fail(Error(ErrorKind::IO, "response headers larger than 64 KiB"));
    return 0;
  }
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or a 100)
    t->resp->headers.clear();
    t->resp->status = 0;
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos && line.size() >= sp + 4) {
      long s = 0;
      for (size_t i = sp + 1; i < sp + 4; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(line[i]))) return len;
        s = s * 10 + (line[i] - '0');
      }
      t->resp->status = s;
    }
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return len;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->resp->headers.emplace_back(std::move(name), std::string(value));
  return len;
}

bool redirecting(const Transfer& t) {
  const long s = t.resp->status;
  return t.follow && (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) && t.resp->header("location");
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (!t->headers_done && !redirecting(*t)) {
    t->headers_done = true;
    if (t->req->on_headers) {
      auto s = t->req->on_headers(*t->resp);
      if (!s.ok()) {
        t->fail(std::move(s).error());
        return 0;
      }
    }
  }
  const bool ok_status = t->resp->status >= 200 && t->resp->status < 300;
  if (ok_status && t->req->on_body) {
    auto s = t->req->on_body({reinterpret_cast<const uint8_t*>(data), len});
    if (!s.ok()) {
      t->fail(std::move(s).error());
      return 0;
    }
    return len;
  }
  if (t->resp->body.size() + len > t->req->max_body) {
    // An error page only feeds a message: keep its start and drop the rest,
    // so a load balancer's large 503 page is retried like a small one.
    if (!ok_status) {
      t->resp->body.append(data, t->req->max_body - t->resp->body.size());
      return len;
    }
    t->fail(Error(ErrorKind::Limit, fmt::format("response body larger than {} bytes", t->req->max_body)));
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_read(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  auto r = t->req->upload({reinterpret_cast<uint8_t*>(data), size * n});
  if (!r.ok()) {
    t->fail(std::move(r).error());
    return CURL_READFUNC_ABORT;
  }
  t->uploaded += *r;
  return *r;
}

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (dlnow + ulnow != t->last_bytes) {
    t->last_bytes = dlnow + ulnow;
    t->last_progress = now;
    return 0;
  }
  if (now - t->last_progress >= std::chrono::seconds(t->stall_s)) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

bool transient_code(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string what_failed(const CurlApi& api, CURLcode c, const char* errbuf) {
  std::string detail = errbuf[0] ? errbuf : api.easy_strerror(c);
  switch (c) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return "TLS certificate not trusted (" + detail + "); pass the CA with --ca-file";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS handshake failed (" + detail + ")";
    case CURLE_OPERATION_TIMEDOUT:
      return "timed out (" + detail + "); --timeout sets the limit";
    default:
      return detail;
  }
}

}  // namespace

// RFC 3986: everything but the unreserved characters is percent-encoded.
std::string url_escape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Easy::Easy() {
  auto api = curl_api();
  if (!api.ok()) return;
  api_ = *api;
  h_ = api_->easy_init();
}

Easy::~Easy() {
  if (api_) api_->easy_cleanup(static_cast<CURL*>(h_));
}

Exchange Easy::perform_once(const Request& req, const std::string& url, const Auth* auth, bool follow,
                            const Transport& t) {
  Exchange ex;
  if (!api_) {
    ex.status = curl_api().error();
    return ex;
  }
  const CurlApi* api = api_;
  CURL* h = static_cast<CURL*>(h_);
  if (!h) {
    ex.status = Error(ErrorKind::Resource, "cannot create an HTTP handle (libcurl)");
    return ex;
  }
  api->easy_reset(h);
  char errbuf[CURL_ERROR_SIZE] = {0};
  Transfer tr(&req, &ex.response);
  tr.follow = follow;
  CurlList headers(api);
  for (const auto& hd : req.headers) headers.add(hd);
  api->easy_setopt(h, CURLOPT_URL, url.c_str());
  api->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  api->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  api->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // curl follows nothing itself (see perform); these hold should that change.
  api->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  api->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  api->easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
  api->easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  api->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(t.timeout_s));
  tr.stall_s = t.timeout_s;
  // A server that trickles a byte now and then never stalls; under 1 KiB/s
  // for the whole timeout it is abandoned (and resumed) all the same.
  api->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  api->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(t.timeout_s));
  api->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  api->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  api->easy_setopt(h, CURLOPT_XFERINFODATA, &tr);
  api->easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  api->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  api->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!t.ca_file.empty()) {
    // Added to the system store, which stays trusted through its directory.
    api->easy_setopt(h, CURLOPT_CAINFO, t.ca_file.c_str());
    api->easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  api->easy_setopt(h, CURLOPT_USERAGENT, "vramsnap/" VRAMSNAP_VERSION);
  api->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  api->easy_setopt(h, CURLOPT_HEADERDATA, &tr);
  api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  api->easy_setopt(h, CURLOPT_WRITEDATA, &tr);
  if (auth && auth->kind == Auth::Kind::Bearer) {
    api->easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
    api->easy_setopt(h, CURLOPT_XOAUTH2_BEARER, auth->token.c_str());
  } else if (auth && auth->kind == Auth::Kind::Basic) {
    api->easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    api->easy_setopt(h, CURLOPT_USERNAME, auth->user.c_str());
    api->easy_setopt(h, CURLOPT_PASSWORD, auth->password.c_str());
  }
  if (!req.range.empty()) api->easy_setopt(h, CURLOPT_RANGE, req.range.c_str());
  if (req.method == "HEAD") {
    api->easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST") {
    api->easy_setopt(h, CURLOPT_POST, 1L);
    api->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    api->easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
  } else if (req.method == "PUT") {
    api->easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    if (req.upload) {
      api->easy_setopt(h, CURLOPT_UPLOAD, 1L);
      api->easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      api->easy_setopt(h, CURLOPT_READDATA, &tr);
      api->easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.upload_size));
    } else {
      api->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      api->easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
    headers.add("Expect:");
  } else if (req.method != "GET") {
    api->easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (headers.list) api->easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);

  const CURLcode rc = api->easy_perform(h);
  char* eff = nullptr;
  if (api->easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) ex.response.effective_url = eff;
  char* next = nullptr;
  if (rc == CURLE_OK && redirecting(tr) && api->easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next)
    ex.response.redirect_url = next;
  // Drop the secrets curl copied; the next exchange sets its own.
  api->easy_setopt(h, CURLOPT_XOAUTH2_BEARER, nullptr);
  api->easy_setopt(h, CURLOPT_USERNAME, nullptr);
  api->easy_setopt(h, CURLOPT_PASSWORD, nullptr);
  if (tr.failed) {
    ex.status = std::move(tr.error);
    ex.callback_failed = true;
    return ex;
  }
  if (tr.stalled) {
    ex.status = Error(ErrorKind::IO, fmt::format("no data for {} s; --timeout sets the limit", t.timeout_s));
    ex.transient = true;
    return ex;
  }
  if (rc != CURLE_OK) {
    ex.status = Error(ErrorKind::IO, what_failed(*api, rc, errbuf));
    ex.transient = transient_code(rc);
    return ex;
  }
  if (!tr.headers_done && req.on_headers && ex.response.redirect_url.empty()) {  // a response without a body
    tr.headers_done = true;
    auto s = req.on_headers(ex.response);
    if (!s.ok()) {
      ex.status = std::move(s).error();
      ex.callback_failed = true;
    }
  }
  return ex;
}

}  // namespace vramsnap::remote
