#include "bench_measure.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "text.h"
#include "vramsnap/bench.hpp"

namespace vramsnap::cli::bench {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The file the plain read measures (already opened once by Snapshot::open, so
// known to be a regular file): positional reads that retry short reads.
class ReadOnlyFile {
 public:
  static Result<ReadOnlyFile> open(const std::string& path) {
    ReadOnlyFile f;
    f.path_ = path;
    f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd_ < 0) return errno_error(ErrorKind::IO, path, "cannot open", errno);
    struct stat st {};
    if (::fstat(f.fd_, &st) != 0) return errno_error(ErrorKind::IO, path, "cannot stat", errno);
    f.size_ = static_cast<uint64_t>(st.st_size);
    return f;
  }
  ReadOnlyFile() = default;
  ReadOnlyFile(ReadOnlyFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_), path_(std::move(o.path_)) {}
  ReadOnlyFile& operator=(ReadOnlyFile&&) = delete;
  ~ReadOnlyFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  Status read_exact(std::span<uint8_t> dst, uint64_t offset) const {
    while (!dst.empty()) {
      const ssize_t n = ::pread(fd_, dst.data(), dst.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(ErrorKind::IO, path_, ("read at offset " + std::to_string(offset)).c_str(), errno);
      if (n == 0) return Error(ErrorKind::IO, path_ + ": file ended at offset " + std::to_string(offset));
      dst = dst.subspan(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return {};
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Plain read of the whole file through its Source (pread for a file, range
// requests for a URL): `threads` threads read pieces of `piece`
// bytes (claimed in order) into their own reused, page-aligned buffers (the
// kernel's copy runs several times slower into a misaligned buffer on some
// CPUs, and the reference must not depend on where malloc put it).
class PlainReader {
 public:
  PlainReader(std::shared_ptr<const Source> file, unsigned threads, uint64_t piece)
      : file_(std::move(file)), piece_(piece), bufs_(threads) {
    const size_t n = static_cast<size_t>(std::min(piece_, std::max<uint64_t>(file_->size(), 1)));
    for (auto& b : bufs_) {
      void* p = nullptr;
      if (posix_memalign(&p, 4096, n) != 0) throw std::bad_alloc();
      std::memset(p, 1, n);  // fault in before timing
      b.reset(static_cast<uint8_t*>(p));
    }
  }
  Result<double> run() {
    const uint64_t pieces = (file_->size() + piece_ - 1) / piece_;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    std::optional<Error> err;
    std::mutex mu;
    auto worker = [&](unsigned w) {
      for (;;) {
        const uint64_t k = next.fetch_add(1);
        if (k >= pieces || failed.load()) return;
        const uint64_t off = k * piece_;
        const uint64_t n = std::min(piece_, file_->size() - off);
        auto st = file_->read(off, {bufs_[w].get(), static_cast<size_t>(n)});
        if (!st.ok()) {
          std::lock_guard lk(mu);
          if (!err) err = std::move(st).error();
          failed = true;
          return;
        }
      }
    };
    const double t0 = now_s();
    {
      std::vector<std::jthread> pool;
      for (unsigned w = 1; w < bufs_.size(); ++w) pool.emplace_back(worker, w);
      worker(0);
    }
    const double t = now_s() - t0;
    if (err) return std::move(*err);
    return t;
  }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::shared_ptr<const Source> file_;
  uint64_t piece_;
  std::vector<std::unique_ptr<uint8_t, Free>> bufs_;
};

// Copies the first `cap` raw bytes (regions in snapshot order) into *out.
void take_sample(const Restored& r, uint64_t cap, std::vector<uint8_t>* out) {
  out->clear();
  for (const auto& rr : r.regions()) {
    if (out->size() >= cap) break;
    if (!rr.host) continue;
    const uint64_t n = std::min<uint64_t>(rr.meta->size, cap - out->size());
    const auto* p = static_cast<const uint8_t*>(rr.host);
    out->insert(out->end(), p, p + n);
  }
}

// User + system CPU seconds of the whole process (every thread).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// One restore, timed from the source's open; freed before it returns
// (outside the timing).
Result<RestoreRun> timed_restore(const RestoreSetup& setup, const RestoreOptions& ro, RestoreStats* stats,
                                 std::vector<uint8_t>* sample) {
  RestoreRun run;
  const double t0 = now_s(), c0 = cpu_seconds();
  auto src = open_source(setup.path, setup.remote);
  if (!src.ok()) return std::move(src).error();
  auto snap = Snapshot::open(std::move(*src));
  if (!snap.ok()) return std::move(snap).error();
  const double open_s = now_s() - t0;
  auto r = restore(*snap, ro);
  const double total = now_s() - t0;
  run.cpu_seconds = cpu_seconds() - c0;
  if (!r.ok()) return std::move(r).error();
  run.phases = r->stats().phases;
  run.phases.open = open_s;
  run.phases.total = total;
  run.device_verified_bytes = r->stats().device_verified_bytes;
  if (stats) *stats = r->stats();
  if (sample) take_sample(*r, setup.sample_cap, sample);
  return run;
}

RestoreOptions restore_options(const RestoreSetup& s, Target target) {
  RestoreOptions ro;
  ro.verify_on = s.verify_on;
  ro.key = s.key;
  ro.allow_unsealed = s.allow_unsealed;
  ro.threads = s.threads;
  ro.target = target;
  ro.device = s.device;
  return ro;
}

}  // namespace

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(pos);
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.min = v.front();
  p.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  return p;
}

Status drop_from_page_cache(const std::string& path) {
  VRAMSNAP_ASSIGN_OR_RETURN(auto f, ReadOnlyFile::open(path));
  (void)::fdatasync(f.fd());  // DONTNEED skips dirty pages
  const int e = ::posix_fadvise(f.fd(), 0, 0, POSIX_FADV_DONTNEED);
  if (e != 0) return errno_error(ErrorKind::IO, path, "posix_fadvise(DONTNEED)", e);
  return {};
}

Result<Measurements> measure_restores(const RestoreSetup& setup) {
  Measurements m;
  const bool remote = is_remote_location(setup.path);
  VRAMSNAP_ASSIGN_OR_RETURN(auto source, open_source(setup.path, setup.remote));
  VRAMSNAP_ASSIGN_OR_RETURN(auto probe, Snapshot::open(source));
  m.file_size = probe.layout().file_size;
  const uint64_t piece = probe.meta().chunk_size ? probe.meta().chunk_size : (4ull << 20);
  // The restore's own rule, so both sides run the same number of threads.
  m.read_threads = restore_worker_threads(setup.threads, probe.chunks().size());
  PlainReader reader(std::move(source), m.read_threads, piece);

  // The device target leaves no raw bytes in host memory: one untimed host
  // restore provides the sample for the zstd references.
  bool need_sample = setup.sample_cap > 0;
  if (need_sample && (setup.target != Target::Host || setup.warmup + setup.iterations == 0)) {
    auto r = restore(probe, restore_options(setup, Target::Host));
    if (!r.ok()) return std::move(r).error();
    take_sample(*r, setup.sample_cap, &m.sample);
    need_sample = false;
  }

  for (unsigned k = 0; k < setup.warmup + setup.iterations; ++k) {
    const bool timed = k >= setup.warmup;
    if (setup.cold && !remote) VRAMSNAP_TRY(drop_from_page_cache(setup.path));
    VRAMSNAP_ASSIGN_OR_RETURN(RestoreRun run, timed_restore(setup, restore_options(setup, setup.target), &m.stats,
                                                            need_sample ? &m.sample : nullptr));
    need_sample = false;
    if (timed) m.restores.push_back(run);
    if (setup.compare_host_verify) {
      if (setup.cold && !remote) VRAMSNAP_TRY(drop_from_page_cache(setup.path));
      RestoreOptions host = restore_options(setup, setup.target);
      host.verify_on = VerifyOn::Host;
      VRAMSNAP_ASSIGN_OR_RETURN(RestoreRun h, timed_restore(setup, host, nullptr, nullptr));
      if (timed) m.host_verified.push_back(h);
    }

    if (setup.cold && !remote) VRAMSNAP_TRY(drop_from_page_cache(setup.path));
    VRAMSNAP_ASSIGN_OR_RETURN(double t_read, reader.run());
    if (timed) m.read_seconds.push_back(t_read);
  }
  return m;
}

Result<ZstdReference> measure_zstd(const std::vector<uint8_t>& sample, unsigned iterations) {
  ZstdReference z;
  z.sample_bytes = sample.size();
  if (sample.empty()) return z;
  std::vector<uint8_t> stream(ZSTD_compressBound(sample.size()));
  {
    std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    if (!cctx) return Error(ErrorKind::Limit, "zstd reference: out of memory");
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
    const size_t n = ZSTD_compress2(cctx.get(), stream.data(), stream.size(), sample.data(), sample.size());
    if (ZSTD_isError(n)) return Error(ErrorKind::Resource, std::string("zstd reference: ") + ZSTD_getErrorName(n));
    stream.resize(n);
  }
  z.stream_bytes = stream.size();
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Error(ErrorKind::Limit, "zstd reference: out of memory");
  std::vector<uint8_t> out(sample.size());
  static const uint8_t kKey[32] = {};  // the speed of HMAC does not depend on the key
  for (unsigned k = 0; k <= iterations; ++k) {
    double t0 = now_s();
    const size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), stream.data(), stream.size());
    const double t_dec = now_s() - t0;
    if (ZSTD_isError(n) || n != sample.size())
      return Error(ErrorKind::Format, "zstd reference: the stream did not decode to the sample");
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    t0 = now_s();
    if (!HMAC(EVP_sha256(), kKey, sizeof kKey, stream.data(), stream.size(), mac, &mac_len))
      return Error(ErrorKind::Resource, "HMAC reference: OpenSSL HMAC failed");
    const double t_mac = now_s() - t0;
    if (k == 0) continue;  // warm-up: faults the output buffer in
    z.decode_seconds.push_back(t_dec);
    z.hmac_seconds.push_back(t_mac);
  }
  if (std::memcmp(out.data(), sample.data(), sample.size()) != 0)
    return Error(ErrorKind::Format, "zstd reference: decoded bytes differ from the sample");
  return z;
}

MachineFacts machine_facts() {
  MachineFacts f;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) f.hostname = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) f.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  struct utsname u{};
  if (::uname(&u) == 0) f.kernel = fmt::format("{} {}", u.sysname, u.release);
  f.cores = std::thread::hardware_concurrency();
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) f.memory_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  double load[1];
  if (::getloadavg(load, 1) == 1) f.loadavg_1m = load[0];
  return f;
}

}  // namespace vramsnap::cli::bench
