// vramsnap bench (SNAP | --synthetic SIZE --pattern P) [--target host|cuda[:N]] ...
// Times full in-process restores and prints, from the same run, the reference
// figures every result is read against. JSON: "schema": "vramsnap-bench/1".
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_data.h"
#include "bench_measure.h"
#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "remote_args.h"
#include "target_arg.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/bench.hpp"
#include "vramsnap/runtime.hpp"
#include "vramsnap/sources.hpp"
#include "vramsnap/version.hpp"

namespace vramsnap::cli {
namespace {

using Json = nlohmann::ordered_json;

struct Opts {
  std::string snap, synthetic, pattern = "bf16", target = "host", key_file, json_out, baseline, write_data, workdir,
      machine, codec = "auto", chunk_size, verify_on = "auto";
  bool allow_unsealed = false, cold = false, quiet = false;
  unsigned iterations = 10, warmup = 2, threads = 0;
  RemoteFlags remote;
  double max_regression = 10.0;
  uint64_t seed = synth::kDefaultSeed;
};

// A snapshot built for one bench run in its own temporary directory, removed
// on every path out (and by the interrupt handler).
class TempSnapshot {
 public:
  TempSnapshot() = default;
  TempSnapshot(const TempSnapshot&) = delete;
  TempSnapshot& operator=(const TempSnapshot&) = delete;
  ~TempSnapshot() {
    if (!path_.empty()) ::unlink(path_.c_str());
    if (slot_ >= 0) unregister_temp_path(slot_);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  Status make_dir(const std::string& parent) {
    // Signals blocked from mkdtemp to registration: an interrupt in between
    // would leave the directory behind.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    std::string tmpl = parent + "/vramsnap-bench.XXXXXX";
    const bool made = ::mkdtemp(tmpl.data()) != nullptr;
    const int err = errno;
    if (made) {
      dir_ = tmpl;
      path_ = dir_ + "/bench.snap";
      slot_ = register_temp_dir(dir_);
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!made) return errno_error(ErrorKind::IO, parent, "mkdtemp", err);
    return {};
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  int slot_ = -1;
};

Result<Key> temporary_key() {
  uint8_t bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(ErrorKind::IO, "getrandom", "read", errno);
    got += static_cast<size_t>(n);
  }
  return Key::from_bytes(bytes, sizeof bytes);
}

// Generates the data in memory and captures it, sealed, like production.
Result<CaptureSummary> build_synthetic(const Opts& o, synth::Pattern pattern, uint64_t size, const Key& key,
                                       TempSnapshot& out) {
  const char* tmp = std::getenv("TMPDIR");
  VRAMSNAP_TRY(out.make_dir(!o.workdir.empty() ? o.workdir : (tmp && *tmp ? tmp : "/tmp")));
  std::unique_ptr<uint8_t[]> data(new (std::nothrow) uint8_t[size ? size : 1]);
  if (!data) return Error(ErrorKind::Limit, fmt::format("out of memory generating {} of synthetic data", human_bytes(size)));
  VRAMSNAP_TRY(synth::generate(pattern, o.seed, 0, {data.get(), static_cast<size_t>(size)}, o.threads));
  RegionMeta meta;
  meta.name = "weights";
  meta.kind = RegionKind::Device;
  meta.size = size;
  meta.dtype = synth::dtype_of(pattern);
  const unsigned elem = dtype_size(meta.dtype);
  if (elem && size % elem == 0) meta.shape = {size / elem};
  meta.device = 0;
  CaptureOptions co;
  co.key = &key;
  co.threads = o.threads;
  co.codec = *parse_codec_choice(o.codec);
  if (!o.chunk_size.empty()) {
    auto cs = parse_size(o.chunk_size);
    if (!cs) return Error(ErrorKind::Usage, "--chunk-size: not a size: " + o.chunk_size);
    co.chunk_size = *cs;
  }
  co.labels = {{"bench", "synthetic"}, {"pattern", synth::to_string(pattern)}, {"seed", fmt::format("{:#x}", o.seed)}};
  return capture(out.path(), {RegionInput::from_host(meta, data.get())}, co);
}

// The bench sample captured with one codec (leaf-hashed, sealed with `key`),
// for the restores that compare codecs on a GPU.
Result<CaptureSummary> capture_sample(const Opts& o, const std::vector<uint8_t>& sample, const std::string& dtype,
                                      CodecChoice codec, uint64_t chunk_size, const Key& key, TempSnapshot& out) {
  const char* tmp = std::getenv("TMPDIR");
  VRAMSNAP_TRY(out.make_dir(!o.workdir.empty() ? o.workdir : (tmp && *tmp ? tmp : "/tmp")));
  RegionMeta meta;
  meta.name = "sample";
  meta.kind = RegionKind::Device;
  meta.size = sample.size();
  meta.dtype = dtype;
  meta.device = 0;
  CaptureOptions co;
  co.key = &key;
  co.threads = o.threads;
  co.codec = codec;
  co.chunk_size = chunk_size;
  return capture(out.path(), {RegionInput::from_host(meta, sample.data())}, co);
}

Json pct_json(const bench::Percentiles& p) {
  return {{"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"min", p.min}, {"max", p.max}, {"mean", p.mean}};
}

double gbps(uint64_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0; }

// Phase name, accessor, note; the order of the report.
struct PhaseRow {
  const char* name;
  double PhaseTimes::*field;
  const char* note;
  bool cuda_only;
};
constexpr PhaseRow kPhases[] = {
    {"open", &PhaseTimes::open, "trailer, table, manifest", false},
    {"seal_check", &PhaseTimes::seal_check, "key id + HMAC", false},
    {"context_init", &PhaseTimes::context_init, "CUDA primary context", true},
    {"allocate", &PhaseTimes::allocate, "", false},
    {"read", &PhaseTimes::read, "thread-seconds", false},
    {"hash", &PhaseTimes::hash, "thread-seconds", false},
    {"decode", &PhaseTimes::decode, "thread-seconds", false},
    {"copy", &PhaseTimes::copy, "thread-seconds; host-to-device", true},
    {"module_load", &PhaseTimes::module_load, "cuModuleLoadData", true},
    {"total", &PhaseTimes::total, "wall: open + restore", false},
};

Result<Json> load_baseline(const std::string& path);
int compare_baseline(const Opts& o, const Json& doc, const Json& cur);

}  // namespace

namespace {

int run(Opts o) {
  // ---- what to bench -------------------------------------------------------
  if (!o.remote.url_file.empty())
    if (auto s = resolve_location(o.snap, o.remote); !s.ok()) return report_error("bench", s.error());
  if (o.snap.empty() == o.synthetic.empty())
    return report_error("bench", Error(ErrorKind::Usage, "give either a snapshot file or --synthetic SIZE"));
  auto pattern = synth::parse_pattern(o.pattern);
  if (!pattern) return report_error("bench", Error(ErrorKind::Usage, "--pattern: expected bf16, f32, zeros, random or mixed"));
  std::optional<uint64_t> size;
  if (!o.synthetic.empty()) {
    size = parse_size(o.synthetic);
    if (!size || *size == 0) return report_error("bench", Error(ErrorKind::Usage, "--synthetic: not a size: " + o.synthetic));
  }
  if (!o.write_data.empty()) {
    if (!size) return report_error("bench", Error(ErrorKind::Usage, "--write-data needs --synthetic SIZE"));
    auto st = synth::write_file(o.write_data, *pattern, o.seed, *size, o.threads);
    if (!st.ok()) return report_error("bench", st.error());
    if (!o.quiet) fmt::print("wrote {}: {} of {} data (seed {:#x})\n", o.write_data, human_bytes(*size), o.pattern, o.seed);
    return kExitOk;
  }
  bench::RestoreSetup setup;
  auto target = parse_target_arg(o.target);
  if (!target.ok()) return report_error("bench", target.error());
  setup.target = target->target;
  setup.device = target->device;
  auto verify_on = parse_verify_on(o.verify_on);
  if (!verify_on.ok()) return report_error("bench", verify_on.error());
  setup.verify_on = *verify_on;
  // On a GPU, device-verified restores are measured against host-verified
  // ones in the same run.
  setup.compare_host_verify = setup.target == Target::Cuda && setup.verify_on != VerifyOn::Host;
  if (setup.target == Target::Cuda) {
    auto st = require_gpu();  // before minutes of preparation
    if (!st.ok()) return report_error("bench", st.error());
  }
  // The report's path and the baseline are checked before minutes of
  // measuring, not after.
  if (!o.json_out.empty() && o.json_out != "-") {
    auto st = check_output_path(o.json_out, true);
    if (!st.ok()) return report_error("bench", st.error());
  }
  Json baseline;
  if (!o.baseline.empty()) {
    auto b = load_baseline(o.baseline);
    if (!b.ok()) return report_error("bench", b.error());
    baseline = std::move(*b);
  }

  // ---- the snapshot --------------------------------------------------------
  TempSnapshot temp;
  std::optional<Key> key;
  Json input;
  if (size) {
    auto k = temporary_key();
    if (!k.ok()) return report_error("bench", k.error());
    key = std::move(*k);
    if (!o.quiet) fmt::print(stderr, "bench: generating {} of {} data and capturing it (sealed, temporary key)...\n",
                             human_bytes(*size), o.pattern);
    auto sum = build_synthetic(o, *pattern, *size, *key, temp);
    if (!sum.ok()) return report_error("bench", sum.error());
    setup.path = temp.path();
    input = {{"kind", "synthetic"}, {"pattern", o.pattern}, {"seed", fmt::format("{:#x}", o.seed)}, {"size", *size}, {"codec", o.codec},
             {"capture_seconds", sum->seconds}};
  } else {
    auto k = find_key(o.key_file, o.allow_unsealed);
    if (!k.ok()) return report_error("bench", k.error());
    key = std::move(*k);
    setup.path = o.snap;
    input = {{"kind", "file"}, {"path", redacted_location(o.snap)}};
  }
  setup.key = key ? &*key : nullptr;
  setup.allow_unsealed = o.allow_unsealed;
  setup.threads = o.threads;
  setup.iterations = o.iterations;
  setup.warmup = o.warmup;
  setup.cold = o.cold;
  setup.remote = o.remote.options;
  if (o.cold && is_remote_location(setup.path))
    return report_error("bench", Error(ErrorKind::Usage, "--cold drops a local file from the page cache; it does not "
                                                         "apply to a remote snapshot"));
  auto snap = open_snapshot(setup.path, o.remote, o.quiet);
  if (!snap.ok()) return report_error("bench", snap.error());

  // ---- measurements --------------------------------------------------------
  const auto facts = bench::machine_facts();  // load average before we add ours
  if (!o.quiet) fmt::print(stderr, "bench: {} warm-up + {} timed restores ({}), each followed by a plain read...\n",
                           o.warmup, o.iterations, o.target);
  auto m = bench::measure_restores(setup);
  if (!m.ok()) return report_error("bench", m.error());
  if (size) {  // a bench of wrong bytes measures nothing: check them against the generator
    std::vector<uint8_t> expect(m->sample.size());
    auto st = synth::generate(*pattern, o.seed, 0, expect, o.threads);
    if (!st.ok()) return report_error("bench", st.error());
    if (expect != m->sample)
      return report_error("bench", Error(ErrorKind::Integrity, "the restored bytes differ from the synthetic data (library bug)"));
  }
  if (!o.quiet) fmt::print(stderr, "bench: zstd -3 single-thread decode and HMAC references...\n");
  auto z = bench::measure_zstd(m->sample, std::max(3u, o.iterations));
  if (!z.ok()) return report_error("bench", z.error());
  // The same sample stored raw, with shuffle, planes and palette, chunk by chunk
  // as capture stores it, each decoded by one core.
  std::string sample_dtype = size ? std::string(synth::dtype_of(*pattern)) : std::string();
  for (const auto& r : snap->regions())
    if (sample_dtype.empty() && r.size) sample_dtype = r.dtype;
  if (!o.quiet) fmt::print(stderr, "bench: raw, shuffle, planes and palette over the sample ({}), one core...\n", sample_dtype);
  // Three rounds of raw, shuffle, planes, palette, so a change of load on a shared
  // machine falls on every codec alike; the timed passes of all rounds pool.
  std::vector<CodecTiming> codec_runs;
  constexpr unsigned kRounds = 3;
  const unsigned per_round = (std::max(3u, o.iterations) + kRounds - 1) / kRounds;
  for (unsigned round = 0; round < kRounds; ++round) {
    size_t i = 0;
    for (CodecChoice c : {CodecChoice::Raw, CodecChoice::Shuffle, CodecChoice::Planes, CodecChoice::Palette}) {
      auto t = measure_codec(m->sample, c, sample_dtype, snap->meta().chunk_size, per_round);
      if (!t.ok()) return report_error("bench", t.error());
      if (round == 0) {
        codec_runs.push_back(std::move(*t));
      } else {
        CodecTiming& run = codec_runs[i];
        run.encode_seconds = std::min(run.encode_seconds, t->encode_seconds);
        run.decode_seconds.insert(run.decode_seconds.end(), t->decode_seconds.begin(), t->decode_seconds.end());
        run.decode_cpu_seconds.insert(run.decode_cpu_seconds.end(), t->decode_cpu_seconds.begin(),
                                      t->decode_cpu_seconds.end());
      }
      ++i;
    }
  }
  std::optional<CopyBandwidth> h2d;
  if (setup.target == Target::Cuda) {
    const uint64_t bytes = std::clamp<uint64_t>(m->stats.raw_bytes, 1ull << 20, 256ull << 20);
    auto b = measure_pinned_h2d(setup.device, bytes, std::max(3u, o.iterations));
    if (!b.ok()) return report_error("bench", b.error());
    h2d = std::move(*b);
  }

  // On a GPU, the sample captured with each codec and restored: chunks hashed
  // (and planes chunks decoded) where --verify-on puts them, against the same
  // snapshot hashed and decoded on the host, interleaved.
  std::vector<std::optional<bench::Measurements>> codec_restores(codec_runs.size());
  if (setup.target == Target::Cuda && setup.verify_on != VerifyOn::Host && !m->sample.empty()) {
    auto ck = temporary_key();
    if (!ck.ok()) return report_error("bench", ck.error());
    for (size_t k = 0; k < codec_runs.size(); ++k) {
      if (!o.quiet) fmt::print(stderr, "bench: the sample as {} restored on the GPU, device- and host-decoded...\n",
                               to_string(static_cast<Codec>(codec_runs[k].choice)));
      TempSnapshot t;
      auto cap = capture_sample(o, m->sample, sample_dtype, codec_runs[k].choice, snap->meta().chunk_size, *ck, t);
      if (!cap.ok()) return report_error("bench", cap.error());
      bench::RestoreSetup cs = setup;
      cs.path = t.path();
      cs.key = &*ck;
      cs.allow_unsealed = false;
      cs.remote = {};
      cs.compare_host_verify = true;
      cs.sample_cap = 0;
      cs.iterations = std::max(3u, o.iterations);
      cs.warmup = 1;
      auto r = bench::measure_restores(cs);
      if (!r.ok()) return report_error("bench", r.error());
      codec_restores[k] = std::move(*r);
    }
  }

  // ---- results -------------------------------------------------------------
  const uint64_t raw = m->stats.raw_bytes;
  Json phases;
  std::map<std::string, bench::Percentiles> pct;
  for (const auto& ph : kPhases) {
    std::vector<double> v;
    for (const auto& r : m->restores) v.push_back(r.phases.*(ph.field));
    pct[ph.name] = bench::percentiles(v);
    phases[ph.name] = pct_json(pct[ph.name]);
  }
  const auto& total = pct["total"];
  const double restore_gbps = gbps(raw, total.p50);
  const auto read_p = bench::percentiles(m->read_seconds);
  const double read_gbps = gbps(m->file_size, read_p.p50);
  const auto dec_p = bench::percentiles(z->decode_seconds);
  const auto mac_p = bench::percentiles(z->hmac_seconds);
  std::vector<double> naive_s;
  for (size_t k = 0; k < z->decode_seconds.size(); ++k) naive_s.push_back(z->decode_seconds[k] + z->hmac_seconds[k]);
  const auto naive_p = bench::percentiles(naive_s);
  const double dec_gbps = gbps(z->sample_bytes, dec_p.p50), naive_gbps = gbps(z->sample_bytes, naive_p.p50);
  auto ratio = [](double a, double b) { return b > 0 ? Json(a / b) : Json(nullptr); };

  Json j;
  j["schema"] = "vramsnap-bench/1";
  j["vramsnap_version"] = version();
  j["date"] = utc_now_rfc3339();
  j["machine"] = {{"name", o.machine.empty() ? facts.hostname : o.machine}, {"hostname", facts.hostname},
                  {"cpu_model", facts.cpu_model}, {"cores", facts.cores}, {"kernel", facts.kernel},
                  {"memory_bytes", facts.memory_bytes}, {"loadavg_1m_at_start", facts.loadavg_1m},
                  {"gpu", h2d ? Json(h2d->gpu_name) : Json(nullptr)}};
  j["input"] = input;
  uint64_t codec_chunks[256] = {};
  for (const auto& c : snap->chunks()) ++codec_chunks[static_cast<size_t>(c.codec)];
  Json chunk_counts = Json::object();
  for (Codec c : known_codecs()) chunk_counts[to_string(c)] = codec_chunks[static_cast<size_t>(c)];
  j["snapshot"] = {{"file_size", m->file_size}, {"raw_bytes", raw}, {"stored_bytes", m->stats.stored_bytes},
                   {"chunks", m->stats.chunks}, {"chunk_size", snap->meta().chunk_size},
                   {"codec_chunks", chunk_counts},
                   {"sealed", snap->seal().state != SealState::Unsealed}};
  j["target"] = o.target;
  j["threads"] = m->stats.threads;
  j["iterations"] = o.iterations;
  j["warmup"] = o.warmup;
  j["cold"] = o.cold;
  j["units"] = "seconds; read/hash/decode/copy are summed over worker threads; GB/s = 1e9 bytes/s";
  j["phases"] = phases;
  j["throughput"] = {{"raw_gb_per_s_p50", restore_gbps}, {"raw_gb_per_s_best", gbps(raw, total.min)}};
  Json refs;
  refs["plain_read"] = {{"what", "pread of the whole file into reused, page-aligned per-thread buffers"}, {"bytes", m->file_size},
                        {"threads", m->read_threads}, {"seconds", pct_json(read_p)}, {"gb_per_s", read_gbps}};
  refs["zstd_decode_1t"] = {{"what", "ZSTD_decompressDCtx of one zstd -3 frame of the first raw bytes, one thread"},
                            {"sample_bytes", z->sample_bytes}, {"stream_bytes", z->stream_bytes},
                            {"seconds", pct_json(dec_p)}, {"gb_per_s", dec_gbps}};
  refs["naive_pipeline"] = {{"what", "HMAC-SHA256 of that whole stream, then its single-threaded decode"},
                            {"hmac_seconds", pct_json(mac_p)}, {"seconds", pct_json(naive_p)},
                            {"gb_per_s", naive_gbps}};
  refs["pinned_h2d"] = nullptr;
  double h2d_gbps = 0;
  if (h2d) {
    const auto hp = bench::percentiles(h2d->seconds);
    h2d_gbps = gbps(h2d->bytes, hp.p50);
    refs["pinned_h2d"] = {{"what", "cudaMemcpyAsync from cudaHostAlloc memory, one stream"}, {"bytes", h2d->bytes},
                          {"seconds", pct_json(hp)}, {"gb_per_s", h2d_gbps}};
  }
  j["references"] = refs;
  // Codec comparison: ratios against shuffle (C8: planes decodes >= 1.5x
  // faster on one core and stores <= 1.02x).
  const CodecTiming& shuffle_run = codec_runs[1];
  const double shuffle_dec = gbps(shuffle_run.raw_bytes, bench::percentiles(shuffle_run.decode_seconds).p50);
  const double shuffle_cpu = gbps(shuffle_run.raw_bytes, bench::percentiles(shuffle_run.decode_cpu_seconds).p50);
  Json codecs = Json::array();
  for (size_t k = 0; k < codec_runs.size(); ++k) {
    const auto& t = codec_runs[k];
    const auto dp = bench::percentiles(t.decode_seconds);
    const double dec = gbps(t.raw_bytes, dp.p50);
    const auto cp = bench::percentiles(t.decode_cpu_seconds);
    const double cpu = gbps(t.raw_bytes, cp.p50);
    Json stored_as = Json::object();
    for (Codec c : known_codecs())
      if (t.chunks_by_codec[static_cast<size_t>(c)]) stored_as[to_string(c)] = t.chunks_by_codec[static_cast<size_t>(c)];
    codecs.push_back({{"codec", to_string(static_cast<Codec>(t.choice))}, {"sample_bytes", t.raw_bytes},
                      {"stored_bytes", t.stored_bytes}, {"chunks_stored_as", stored_as},
                      {"stored_vs_shuffle", ratio(double(t.stored_bytes), double(shuffle_run.stored_bytes))},
                      {"encode_gb_per_s_1t", gbps(t.raw_bytes, t.encode_seconds)},
                      {"decode_seconds_1t", pct_json(dp)}, {"decode_gb_per_s_1t", dec},
                      {"decode_vs_shuffle", ratio(dec, shuffle_dec)},
                      {"decode_cpu_seconds_1t", pct_json(cp)}, {"decode_cpu_gb_per_s_1t", cpu},
                      {"decode_cpu_vs_shuffle", ratio(cpu, shuffle_cpu)},
                      {"device_decode_gb_per_s", nullptr}, {"cuda_restore", nullptr}});
    if (!codec_restores[k]) continue;
    const auto& cm = *codec_restores[k];
    std::vector<double> dev_s, host_s;
    for (const auto& r : cm.restores) dev_s.push_back(r.phases.total);
    for (const auto& r : cm.host_verified) host_s.push_back(r.phases.total);
    const uint64_t cr = cm.stats.raw_bytes;
    const double dev = gbps(cr, bench::percentiles(dev_s).p50), host = gbps(cr, bench::percentiles(host_s).p50);
    codecs.back()["device_decode_gb_per_s"] = dev;
    codecs.back()["cuda_restore"] = {
        {"what", "the sample captured with this codec, restored on the GPU (raw bytes / wall time, P50)"},
        {"raw_bytes", cr}, {"file_size", cm.file_size}, {"device_decoded_bytes", cm.stats.device_decoded_bytes},
        {"device_verified_bytes", cm.stats.device_verified_bytes}, {"device_gb_per_s", dev},
        {"host_gb_per_s", host}, {"device_vs_host", ratio(dev, host)},
        {"device_vs_pinned_h2d", h2d ? ratio(dev, h2d_gbps) : Json(nullptr)}};
  }
  for (auto& c : codecs)
    if (!c["cuda_restore"].is_null())
      c["cuda_restore"]["device_vs_raw_codec"] =
          codecs[0]["cuda_restore"].is_null()
              ? Json(nullptr)
              : ratio(c["cuda_restore"]["device_gb_per_s"].get<double>(),
                      codecs[0]["cuda_restore"]["device_gb_per_s"].get<double>());
  j["codecs"] = codecs;
  // Where the hashes were checked, and what it cost the host: CPU seconds
  // (user + system, every thread) per GB restored.
  auto verify_json = [&](const std::vector<bench::RestoreRun>& runs, const char* where) {
    std::vector<double> wall, cpu;
    uint64_t on_gpu = 0;
    for (const auto& r : runs) {
      wall.push_back(r.phases.total);
      cpu.push_back(r.cpu_seconds);
      on_gpu = r.device_verified_bytes;
    }
    const auto wp = bench::percentiles(wall), cp = bench::percentiles(cpu);
    const double g = gbps(raw, wp.p50);
    return Json{{"where", where}, {"seconds", pct_json(wp)}, {"gb_per_s", g},
                {"cpu_seconds_per_gb", raw ? cp.p50 / (static_cast<double>(raw) / 1e9) : 0.0},
                {"device_verified_bytes", on_gpu}, {"vs_pinned_h2d", h2d ? ratio(g, h2d_gbps) : Json(nullptr)}};
  };
  j["verification"] = nullptr;
  if (setup.target == Target::Cuda) {
    Json v = {{"restore", verify_json(m->restores, o.verify_on.c_str())}};
    if (!m->host_verified.empty()) {
      v["host_verified"] = verify_json(m->host_verified, "host");
      v["restore_vs_host_verified"] = ratio(v["restore"]["gb_per_s"].get<double>(), v["host_verified"]["gb_per_s"].get<double>());
    }
    j["verification"] = v;
  }
  j["ratios"] = {{"restore_vs_plain_read", ratio(restore_gbps, read_gbps)},
                 {"restore_vs_zstd_decode_1t", ratio(restore_gbps, dec_gbps)},
                 {"restore_vs_naive_pipeline", ratio(restore_gbps, naive_gbps)},
                 {"restore_vs_pinned_h2d", h2d ? ratio(restore_gbps, h2d_gbps) : Json(nullptr)}};

  if (!o.json_out.empty() && o.json_out != "-") {
    // Temp file, fsync, rename: a symlink at the path is replaced, never
    // followed, and a failure leaves the old report whole.
    const std::string text = j.dump(2) + "\n";
    auto st = write_file_atomically(
        o.json_out, text.size(),
        [&](uint64_t off, std::span<uint8_t> piece) {
          std::memcpy(piece.data(), text.data() + off, piece.size());
          return Status{};
        },
        true);
    if (!st.ok()) return report_error("bench", st.error());
  }
  if (o.json_out == "-") {
    print_json(j.dump(2));
  } else {
    fmt::print("bench {}: {} raw in {} ({:.2f}x), {}, {}; target {}, {}, {} (+{} warm-up), {} page cache\n",
               size ? fmt::format("synthetic {} {}", human_bytes(*size), o.pattern) : escaped(redacted_location(o.snap)), human_bytes(raw),
               human_bytes(m->file_size), m->file_size ? static_cast<double>(raw) / static_cast<double>(m->file_size) : 0.0,
               plural(m->stats.chunks, "chunk"), j["snapshot"]["sealed"].get<bool>() ? "sealed" : "unsealed", o.target,
               plural(m->stats.threads, "thread"), plural(o.iterations, "run"), o.warmup, o.cold ? "cold" : "warm");
    Table t({"phase", "P50 ms", "P95 ms", "P99 ms", "note"}, {false, true, true, true, false});
    for (const auto& ph : kPhases) {
      if (ph.cuda_only && setup.target == Target::Host) continue;
      if (std::string(ph.name) == "total") t.separator();
      const auto& p = pct[ph.name];
      t.add({ph.name, fmt::format("{:.3f}", p.p50 * 1e3), fmt::format("{:.3f}", p.p95 * 1e3),
             fmt::format("{:.3f}", p.p99 * 1e3), ph.note});
    }
    fmt::print("{}", t.render());
    fmt::print("restore: {:.3f} GB/s raw at P50 (best {:.3f})\n\n", restore_gbps, gbps(raw, total.min));
    Table r({"reference (same run)", "GB/s", "restore / ref"}, {false, true, true});
    auto row = [&](std::string name, double g) {
      r.add({std::move(name), fmt::format("{:.3f}", g), g > 0 ? fmt::format("{:.2f}x", restore_gbps / g) : "-"});
    };
    row(fmt::format("plain read of the file ({}, file bytes)", plural(m->read_threads, "thread")), read_gbps);
    row(fmt::format("zstd -3 one stream ({} sample, {:.2f}x), 1-thread decode", human_bytes(z->sample_bytes),
                    z->stream_bytes ? static_cast<double>(z->sample_bytes) / static_cast<double>(z->stream_bytes) : 0.0),
        dec_gbps);
    row("naive: whole-stream HMAC-SHA256, then 1-thread decode", naive_gbps);
    if (h2d) row(fmt::format("pinned cudaMemcpyAsync H2D ({}, {})", human_bytes(h2d->bytes), h2d->gpu_name), h2d_gbps);
    if (j["verification"].is_object() && j["verification"].contains("host_verified"))
      row("host-verified restore (--verify-on host), same snapshot", j["verification"]["host_verified"]["gb_per_s"].get<double>());
    fmt::print("{}", r.render());
    if (j["verification"].is_object()) {
      const auto& v = j["verification"];
      fmt::print("verification: {} of {} checked on the GPU; host CPU {:.3f} s/GB", human_bytes(v["restore"]["device_verified_bytes"].get<uint64_t>()),
                 human_bytes(raw), v["restore"]["cpu_seconds_per_gb"].get<double>());
      if (v.contains("host_verified"))
        fmt::print(" (host-verified: {:.3f} s/GB)", v["host_verified"]["cpu_seconds_per_gb"].get<double>());
      fmt::print("\n");
    }
    Table ct({fmt::format("codec ({} sample, {})", human_bytes(shuffle_run.raw_bytes), sample_dtype), "stored",
              "vs shuffle", "encode GB/s", "decode GB/s 1t", "vs shuffle", "CPU-time vs shuffle",
              "GPU restore: device-dec GB/s", "host-dec GB/s"},
             {false, true, true, true, true, true, true, true, true});
    for (const auto& c : j["codecs"]) {
      auto x = [](const Json& v) { return v.is_null() ? std::string("-") : fmt::format("{:.3f}x", v.get<double>()); };
      ct.add({c["codec"].get<std::string>(), human_bytes(c["stored_bytes"].get<uint64_t>()), x(c["stored_vs_shuffle"]),
              fmt::format("{:.3f}", c["encode_gb_per_s_1t"].get<double>()),
              fmt::format("{:.3f}", c["decode_gb_per_s_1t"].get<double>()), x(c["decode_vs_shuffle"]),
              x(c["decode_cpu_vs_shuffle"]),
              c["cuda_restore"].is_null() ? "-" : fmt::format("{:.3f}", c["cuda_restore"]["device_gb_per_s"].get<double>()),
              c["cuda_restore"].is_null() ? "-" : fmt::format("{:.3f}", c["cuda_restore"]["host_gb_per_s"].get<double>())});
    }
    fmt::print("\n{}", ct.render());
  }
  if (!o.baseline.empty()) return compare_baseline(o, baseline, j);
  return kExitOk;
}

// The result in `doc` that describes the same work as `cur`: the document
// itself, or the matching entry of a sweep's "results".
const Json* pick_baseline(const Json& doc, const Json& cur) {
  auto same = [&](const Json& b) {
    return b.contains("snapshot") && b["snapshot"].value("raw_bytes", uint64_t{0}) == cur["snapshot"]["raw_bytes"] &&
           b.value("target", std::string()) == cur["target"].get<std::string>() &&
           b["input"].value("pattern", std::string()) == cur["input"].value("pattern", std::string());
  };
  if (doc.contains("results") && doc["results"].is_array()) {
    for (const auto& b : doc["results"])
      if (same(b)) return &b;
    return nullptr;
  }
  return doc.contains("phases") ? &doc : nullptr;
}

Result<Json> load_baseline(const std::string& path) {
  try {
    std::ifstream f(path);
    if (!f) return Error(ErrorKind::IO, path + ": cannot read the baseline");
    return Json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorKind::Format, path + ": not a bench JSON file: " + e.what());
  }
}

int compare_baseline(const Opts& o, const Json& doc, const Json& cur) {
  const Json* b = pick_baseline(doc, cur);
  if (!b)
    return report_error("bench", Error(ErrorKind::Usage, fmt::format("{}: no result for the same snapshot size, pattern "
                                                                      "and target to compare with", o.baseline)));
  double base_p50 = 0, base_gbps = 0;
  try {
    base_p50 = (*b)["phases"]["total"]["p50"].get<double>();
    base_gbps = (*b)["throughput"]["raw_gb_per_s_p50"].get<double>();
  } catch (const nlohmann::json::exception& e) {
    return report_error("bench", Error(ErrorKind::Format, o.baseline + ": baseline lacks total P50 or GB/s: " + e.what()));
  }
  const double p50 = cur["phases"]["total"]["p50"].get<double>();
  const double g = cur["throughput"]["raw_gb_per_s_p50"].get<double>();
  if ((*b)["machine"].value("cpu_model", std::string()) != cur["machine"]["cpu_model"].get<std::string>() ||
      (*b)["machine"].value("cores", 0u) != cur["machine"]["cores"].get<unsigned>())
    fmt::print(stderr, "bench: warning: the baseline was measured on another kind of machine ({}, {} cores)\n",
               (*b)["machine"].value("cpu_model", std::string("?")), (*b)["machine"].value("cores", 0u));
  const double lat_pct = base_p50 > 0 ? (p50 / base_p50 - 1) * 100 : 0;
  const double thr_pct = base_gbps > 0 ? (1 - g / base_gbps) * 100 : 0;
  const std::string line = fmt::format("total P50 {:.3f} ms vs baseline {:.3f} ms ({:+.1f}%); {:.3f} GB/s vs {:.3f} GB/s "
                                       "({:+.1f}%); allowed regression {:.1f}%",
                                       p50 * 1e3, base_p50 * 1e3, lat_pct, g, base_gbps, -thr_pct, o.max_regression);
  if (lat_pct > o.max_regression || thr_pct > o.max_regression) {
    fmt::print(stderr, "vramsnap bench: regression against {}: {}\n", o.baseline, line);
    return kExitRegression;
  }
  if (o.json_out != "-") fmt::print("baseline {}: {}: ok\n", o.baseline, line);
  return kExitOk;
}

}  // namespace

Command register_bench(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("bench", "Time verified restores, with same-run reference figures (read, zstd, H2D)");
  sub->add_option("snapshot", o->snap, "Snapshot to bench: a file, an http(s):// URL or an oci:// reference (or use "
                                       "--synthetic)")->type_name("SNAP");
  add_remote_options(sub, o->remote);
  sub->add_option("--synthetic", o->synthetic, "Bench a temporary sealed snapshot of SIZE synthetic bytes (e.g. 1GiB)")
      ->type_name("SIZE");
  sub->add_option("--pattern", o->pattern, "Synthetic data: bf16 (default; N(0,0.02) as bfloat16), f32, zeros, random, "
                                           "mixed (bf16 with ~15% zero and ~5% random 64 KiB blocks)")
      ->check(CLI::IsMember({"bf16", "f32", "zeros", "random", "mixed"}));
  sub->add_option("--seed", o->seed, "Seed of the synthetic data (same seed, same bytes on any thread count)")->type_name("N");
  sub->add_option("--write-data", o->write_data, "Write the raw synthetic bytes to FILE and exit (for zstd/openssl "
                                                 "comparisons)")->type_name("FILE");
  sub->add_option("--codec", o->codec, "Synthetic capture codec (default auto)")
      ->check(CLI::IsMember({"auto", "raw", "zstd", "shuffle", "planes", "palette"}));
  sub->add_option("--chunk-size", o->chunk_size, "Synthetic capture chunk size (default 4MiB)")->type_name("SIZE");
  sub->add_option("--workdir", o->workdir, "Directory for the temporary snapshot (default $TMPDIR or /tmp)")->type_name("DIR");
  add_key_option(sub, o->key_file);
  sub->add_flag("--allow-unsealed", o->allow_unsealed, "Accept an unsealed SNAP (hashes are still checked)");
  sub->add_option("--target", o->target, "host (default), cuda or cuda:N")->type_name("TARGET");
  sub->add_option("--verify-on", o->verify_on,
                  "cuda: where the timed restores check chunk hashes (auto, host, device); with auto or device each is "
                  "followed by a host-verified restore for comparison")
      ->type_name("WHERE");
  sub->add_option("--iterations", o->iterations, "Timed restores (default 10)")->check(CLI::Range(1u, 100000u));
  sub->add_option("--warmup", o->warmup, "Untimed restores first (default 2)")->check(CLI::Range(0u, 1000u));
  sub->add_flag("--cold", o->cold, "Drop the file from the page cache (posix_fadvise DONTNEED) before each run");
  sub->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_option("--json", o->json_out, "Write the results as JSON to FILE ('-': stdout instead of the table)")
      ->type_name("FILE");
  sub->add_option("--baseline", o->baseline, "Compare total P50 and GB/s with a saved bench JSON (or a sweep's); "
                                             "exit 7 on a regression")->type_name("FILE");
  sub->add_option("--max-regression", o->max_regression, "Allowed regression against --baseline, percent (default 10)")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 1e6));
  sub->add_option("--machine", o->machine, "Machine name recorded in the JSON (default: host name)")->type_name("NAME");
  sub->add_flag("-q,--quiet", o->quiet, "No progress messages");
  sub->footer(
      "Every figure is printed beside same-run references (plain read of the file, single-threaded zstd -3\n"
      "decode of the same raw bytes, HMAC-then-decode, pinned host-to-device copy) so results read as ratios.\n"
      "Examples:\n"
      "  vramsnap bench --synthetic 1GiB --pattern bf16 --json bench.json\n"
      "  vramsnap bench model.snap --key-file ci.key --target cuda:0 --cold --baseline bench-results/h100.json\n"
      "  vramsnap bench --synthetic 64MiB --pattern bf16 --write-data weights.bin");
  return {sub, [o] { return run(*o); }};
}

}  // namespace vramsnap::cli
