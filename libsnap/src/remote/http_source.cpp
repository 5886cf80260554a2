// HttpSource: each readv is one range request for the whole extent, written
// straight into the caller's buffers (no copy in between, so memory in flight
// is what the pipeline already bounds), handed over in pieces as it arrives.
// Parallelism is the pipeline's: every worker thread runs its own request on
// a pooled handle that keeps its connection. Every response must be a 206
// for exactly the asked range of the same object (ETag, and If-Range so a
// changed object answers 200 instead of mixing versions). Transient failures
// resume from the last byte received, within the retry bound.
#include "remote/http_source.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "core/checked_math.h"

namespace vramsnap::remote {
namespace {

constexpr size_t kPiece = 256 * 1024;

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Fills the parts in order and hands them to on_piece as they fill.
class Cursor {
 public:
  Cursor(std::span<const std::span<uint8_t>> parts, const Source::PieceFn& on_piece)
      : parts_(parts), on_piece_(on_piece) {}
  uint64_t written() const { return written_; }

  Status take(std::span<const uint8_t> b) {
    while (!b.empty()) {
      while (wpart_ < parts_.size() && woff_ == parts_[wpart_].size()) { ++wpart_; woff_ = 0; }
      if (wpart_ == parts_.size()) return Error(ErrorKind::IO, "the server sent more bytes than the range asked for");
      const size_t n = std::min(b.size(), parts_[wpart_].size() - woff_);
      std::memcpy(parts_[wpart_].data() + woff_, b.data(), n);
      woff_ += n;
      written_ += n;
      b = b.subspan(n);
      VRAMSNAP_TRY(deliver(false));
    }
    return {};
  }

  // Hands over what has been written: whole pieces, finished parts, and with
  // `all` the rest.
  Status deliver(bool all) {
    if (!on_piece_) return {};
    while (dpart_ < parts_.size()) {
      const size_t end = dpart_ < wpart_ ? parts_[dpart_].size() : (dpart_ == wpart_ ? woff_ : 0);
      const size_t avail = end - doff_;
      if (avail == 0) {
        if (dpart_ < wpart_) { ++dpart_; doff_ = 0; continue; }
        break;
      }
      const bool part_done = end == parts_[dpart_].size();
      if (!all && !part_done && avail < kPiece) break;
      VRAMSNAP_TRY(on_piece_(parts_[dpart_].subspan(doff_, avail)));
      doff_ += avail;
      if (doff_ == parts_[dpart_].size()) { ++dpart_; doff_ = 0; }
    }
    return {};
  }

 private:
  std::span<const std::span<uint8_t>> parts_;
  const Source::PieceFn& on_piece_;
  uint64_t written_ = 0;
  size_t wpart_ = 0, woff_ = 0, dpart_ = 0, doff_ = 0;
};

class HttpSource final : public Source {
 public:
  HttpSource(HttpObject o, uint64_t size, std::string etag, std::string if_range, std::string identity)
      : o_(std::move(o)), size_(size), etag_(std::move(etag)), if_range_(std::move(if_range)),
        identity_(std::move(identity)), auth_(o_.auth) {}

  void adopt(std::unique_ptr<Easy> easy) { pool_.give(std::move(easy)); }

  const std::string& name() const override { return o_.name; }
  uint64_t size() const override { return size_; }
  std::string identity() const override { return identity_; }

  Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts, const PieceFn& on_piece) const override {
    uint64_t total = 0;
    for (const auto& p : parts) {
      auto t = core::checked_add(total, p.size());
      if (!t) return Error(ErrorKind::Format, o_.name + ": read size overflows");
      total = *t;
    }
    if (!core::range_within(offset, total, 0, size_))
      return Error(ErrorKind::Format, fmt::format("{}: truncated: {} bytes at offset {} pass the end ({} bytes)",
                                                  o_.name, total, offset, size_));
    if (total == 0) return {};
    const uint64_t last = offset + total - 1;
    Cursor cur(parts, on_piece);
    auto easy = pool_.acquire();
    unsigned attempts = 0, stalled = 0;
    bool reauthenticated = false;
    while (true) {
      ++attempts;
      const uint64_t before = cur.written();
      const uint64_t first = offset + before;
      const std::shared_ptr<const Auth> auth = current_auth();
      Request req;
      req.url = o_.url;
      req.auth = auth.get();
      req.range = fmt::format("{}-{}", first, last);
      if (!if_range_.empty()) req.headers.push_back("If-Range: " + if_range_);
      req.on_headers = [&](const Response& r) { return check_response(r, first, last); };
      req.on_body = [&](std::span<const uint8_t> b) { return cur.take(b); };
      req.max_body = 4096;
      Exchange ex = easy->perform(req, o_.transport);
      stalled = cur.written() > before ? 1 : stalled + 1;
      if (ex.callback_failed) return std::move(ex.status).error();
      std::string why;
      if (!ex.status.ok()) {
        if (!ex.transient) return Error(ex.status.error().kind(), o_.name + ": " + ex.status.error().message());
        why = ex.status.error().message();
      } else if (ex.response.status == 206) {
        if (cur.written() == total) return cur.deliver(true);
        why = "the response ended early";
      } else if (retryable_status(ex.response.status)) {
        why = fmt::format("HTTP {}", ex.response.status);
      } else if (ex.response.status == 401 && o_.reauthenticate && !reauthenticated) {
        reauthenticated = true;
        VRAMSNAP_TRY(refresh_auth(auth));
        --attempts;
        continue;
      } else {
        return status_error(ex.response, o_.name);
      }
      if (!may_retry(o_.transport.retry, attempts, stalled))
        return Error(ErrorKind::IO, fmt::format("{}: reading {} bytes at offset {}: {} (gave up after {} tries)",
                                                o_.name, total, offset, why, attempts));
      backoff_sleep(o_.transport.retry, stalled + 1);
    }
  }

 private:
  std::shared_ptr<const Auth> current_auth() const {
    std::lock_guard<std::mutex> lock(auth_mu_);
    return auth_;
  }

  // One refresh for all the threads that saw the same credentials fail.
  Status refresh_auth(const std::shared_ptr<const Auth>& failed) const {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    if (current_auth() != failed) return {};
    auto fresh = o_.reauthenticate();
    if (!fresh.ok()) return std::move(fresh).error();
    std::lock_guard<std::mutex> lock2(auth_mu_);
    auth_ = std::move(*fresh);
    return {};
  }

  Status check_response(const Response& r, uint64_t first, uint64_t last) const {
    if (r.status == 200) {
      if (!if_range_.empty())
        return Error(ErrorKind::IO, o_.name + ": the object changed on the server during the read (its validator "
                                              "no longer matches); open it again");
      return Error(ErrorKind::IO, o_.name + ": the server ignored the Range request");
    }
    if (r.status != 206) return {};
    if (auto et = r.header("etag"); et && !etag_.empty() && *et != etag_)
      return Error(ErrorKind::IO, fmt::format("{}: the object changed on the server during the read (ETag was {}, now "
                                              "{}); open it again", o_.name, etag_, et->substr(0, 80)));
    auto cr = r.header("content-range");
    auto parsed = cr ? parse_content_range(*cr) : std::nullopt;
    if (!parsed || !parsed->first || *parsed->first != first || *parsed->last > last || *parsed->last < first)
      return Error(ErrorKind::IO, fmt::format("{}: the server answered a different range than bytes {}-{}", o_.name,
                                              first, last));
    if (parsed->total != size_)
      return Error(ErrorKind::IO, fmt::format("{}: the object changed on the server during the read (size was {}, now {})",
                                              o_.name, size_, parsed->total));
    return {};
  }

  HttpObject o_;
  uint64_t size_;
  std::string etag_, if_range_, identity_;
  mutable std::mutex auth_mu_, refresh_mu_;
  mutable std::shared_ptr<const Auth> auth_;
  mutable EasyPool pool_;
};

}  // namespace

std::optional<ContentRange> parse_content_range(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const auto slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange cr;
  auto total = parse_u64(v.substr(slash + 1));
  if (!total || *total > (uint64_t{1} << 62)) return std::nullopt;
  cr.total = *total;
  const auto range = v.substr(0, slash);
  if (range == "*") return cr;
  const auto dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  cr.first = parse_u64(range.substr(0, dash));
  cr.last = parse_u64(range.substr(dash + 1));
  if (!cr.first || !cr.last || *cr.first > *cr.last || *cr.last >= cr.total) return std::nullopt;
  return cr;
}

Result<std::shared_ptr<const Source>> open_http_source(HttpObject o) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto url, parse_http_url(o.url));
  VRAMSNAP_TRY(check_scheme(url, o.transport));
  auto easy = std::make_unique<Easy>();
  Request req;
  req.url = o.url;
  req.auth = o.auth.get();
  req.range = "0-0";
  req.max_body = 4096;
  const std::string name = o.name;
  req.on_headers = [&](const Response& r) -> Status {
    if (r.status == 200)
      return Error(ErrorKind::IO, name + ": the server ignores Range requests (answered 200 to a range request); "
                                         "vramsnap reads snapshots by range: serve it from a server with range "
                                         "support, or copy the file and restore from disk");
    return {};
  };
  auto resp = perform_retried(*easy, req, o.transport);
  if (!resp.ok()) {
    return std::move(resp).error();
  }
  uint64_t size = 0;
  if (resp->status == 206 || resp->status == 416) {
    auto cr = resp->header("content-range");
    auto parsed = cr ? parse_content_range(*cr) : std::nullopt;
    if (!parsed || (resp->status == 206 && (!parsed->first || *parsed->first != 0)))
      return Error(ErrorKind::IO, name + ": missing or malformed Content-Range in the server's answer");
    size = parsed->total;
  } else {
    return status_error(*resp, name);
  }
  if (o.expected_size && *o.expected_size != size)
    return Error(ErrorKind::IO, fmt::format("{}: the server has {} bytes where the manifest says {}", name, size,
                                            *o.expected_size));
  std::string etag = resp->header("etag").value_or("");
  if (etag.size() > 256 || !printable(etag))
    return Error(ErrorKind::IO, name + ": the server's ETag is longer than 256 bytes or not printable");
  // Both go back to the server as If-Range: nothing that could split a header.
  std::string modified = resp->header("last-modified").value_or("").substr(0, 64);
  if (!printable(modified)) modified.clear();
  // If-Range needs a strong validator: a strong ETag, else the date.
  std::string if_range;
  if (!etag.empty() && !etag.starts_with("W/")) if_range = etag;
  else if (!modified.empty()) if_range = modified;
  std::string identity;
  if (!o.digest.empty()) identity = o.digest;
  else if (!etag.empty()) identity = "etag:" + etag + ":" + std::to_string(size);
  else identity = fmt::format("size:{}:modified:{}", size, modified);
  auto src = std::make_shared<HttpSource>(std::move(o), size, std::move(etag), std::move(if_range), std::move(identity));
  src->adopt(std::move(easy));  // the probe's connection serves the first read
  return std::shared_ptr<const Source>(std::move(src));
}

}  // namespace vramsnap::remote
