#pragma once
// One HTTP exchange over libcurl, and the rules every exchange follows: TLS
// always verified (system store plus --ca-file), plain HTTP only to loopback
// unless allowed, redirects followed only to http(s) and never with the
// credentials, connect and stall timeouts, bounded headers and bodies.
// Callers (HttpSource, the registry client) decide what to retry.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "remote/location.h"
#include "remote/retry.h"
#include "vramsnap/error.hpp"
#include "vramsnap/remote.hpp"

namespace vramsnap::remote {

// Credentials for one origin, wiped when destroyed. Handed to curl as its
// auth options, and not sent again once a redirect leaves the origin.
struct Auth {
  enum class Kind { None, Bearer, Basic };
  Kind kind = Kind::None;
  std::string token;           // Bearer
  std::string user, password;  // Basic
  Auth() = default;
  Auth(const Auth&) = default;
  Auth& operator=(const Auth&) = default;
  ~Auth();
};

struct Transport {
  std::string ca_file;
  bool insecure = false;
  unsigned timeout_s = 30;
  RetryPolicy retry;
};
// Refuses a --ca-file that cannot be read (usage error).
Result<Transport> transport_from(const RemoteOptions& o);

// Plain http:// to a host other than loopback needs `insecure`.
Status check_scheme(const HttpUrl& url, const Transport& t);

// Redirects are followed here, not by curl, so that each hop is held to the
// rules before anything is sent: an http(s) URL, no downgrade from https to
// http and plain HTTP only to loopback (unless `insecure`). Errors name the
// target without its query.
inline constexpr int kMaxRedirects = 5;
Result<HttpUrl> check_redirect(const HttpUrl& from, std::string_view target, const Transport& t);
// Same scheme, host and port: where credentials may go.
bool same_origin(const HttpUrl& a, const HttpUrl& b);

struct Response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, final response only
  std::string body;  // when not streamed: at most Request::max_body bytes
  std::string effective_url;
  std::string redirect_url;  // a 3xx's Location, resolved against the request's URL
  // The last value of a header, or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

struct Request {
  std::string method = "GET";  // GET, HEAD, POST, PUT
  std::string url;
  std::vector<std::string> headers;  // never credentials: see Auth
  const Auth* auth = nullptr;
  std::string range;     // "first-last" for CURLOPT_RANGE
  std::string body;      // request body (POST, PUT) when no upload function
  // PUT body streamed: fills the span, returns the bytes written (0 at the end).
  std::function<Result<size_t>(std::span<uint8_t>)> upload;
  uint64_t upload_size = 0;
  // Runs once the final response's headers are in, before any body byte is
  // taken; an error aborts the transfer (a 200 where a range was asked for
  // is refused here, so the body is never read).
  std::function<Status(const Response&)> on_headers;
  // Receives the body of a 2xx response; otherwise it is kept in
  // Response::body up to max_body bytes (more is an error).
  std::function<Status(std::span<const uint8_t>)> on_body;
  size_t max_body = 64 * 1024;
  // Whether perform_retried may send it again (not for streamed uploads).
  bool idempotent = true;
};

// The outcome of one try: a response (any status), or a transport failure
// with curl's code (`transient` when trying again may help).
struct Exchange {
  Response response;
  Status status;           // error: transport failure or a callback's error
  bool transient = false;  // a transport failure worth retrying
  bool callback_failed = false;
};

struct CurlApi;

// A libcurl easy handle; reused for connection reuse (keep-alive, HTTP/2).
// Where libcurl cannot be loaded, every exchange fails with that error.
class Easy {
 public:
  Easy();
  ~Easy();
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
  // Follows GET and HEAD redirects (kMaxRedirects at most), sending the
  // credentials only while the origin stays the request's.
  Exchange perform(const Request& req, const Transport& t);

 private:
  Exchange perform_once(const Request& req, const std::string& url, const Auth* auth, bool follow,
                        const Transport& t);
  const CurlApi* api_ = nullptr;
  void* h_ = nullptr;
};

// Idle easy handles shared by the threads reading one source.
class EasyPool {
 public:
  struct Release {
    EasyPool* pool;
    void operator()(Easy* e) const;
  };
  using Handle = std::unique_ptr<Easy, Release>;
  Handle acquire();
  // Adds an idle handle (with its open connection).
  void give(std::unique_ptr<Easy> easy);

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<Easy>> idle_;
};

// perform() with retries of transient failures and retryable statuses
// (small requests: restarted from the beginning).
Result<Response> perform_retried(Easy& easy, const Request& req, const Transport& t);

// "HTTP 404 from https://host/path" with what the status means.
Error status_error(const Response& r, std::string_view shown_url);

// Percent-encoding for a query value (RFC 3986 unreserved characters kept).
std::string url_escape(const std::string& s);

// Jittered sleep before try `attempt`.
void backoff_sleep(const RetryPolicy& p, unsigned attempt);

}  // namespace vramsnap::remote
