// vramsnap capture -o OUT [--region ...] [--safetensors ...] [--spec ...]
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "region_arg.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/capture.hpp"
#include "vramsnap/sources.hpp"

namespace vramsnap::cli {
namespace {

struct Opts {
  std::string out, spec, key_file, chunk_size, pack_below, codec, chunk_hash, labels_dummy;
  std::vector<std::string> regions, safetensors, labels, trees;
  std::optional<uint64_t> generation;
  std::optional<int> level;
  unsigned threads = 0;
  bool force = false, json = false, quiet = false, seal = false;
};

std::string codec_mix(const RegionSummary& r) {
  std::vector<std::string> parts;
  for (Codec c : known_codecs())
    if (const size_t i = static_cast<size_t>(c); i < r.codec_chunks.size() && r.codec_chunks[i])
      parts.push_back(fmt::format("{}:{}", to_string(c), r.codec_chunks[i]));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " "));
}

std::string ratio(uint64_t raw, uint64_t stored) {
  return stored ? fmt::format("{:.2f}x", static_cast<double>(raw) / static_cast<double>(stored)) : (raw ? "inf" : "-");
}

nlohmann::json summary_json(const CaptureSummary& s) {
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& r : s.regions) {
    nlohmann::json codecs;
    for (Codec c : known_codecs())
      if (const size_t i = static_cast<size_t>(c); i < r.codec_chunks.size()) codecs[to_string(c)] = r.codec_chunks[i];
    regions.push_back({{"name", r.meta.name}, {"kind", to_string(r.meta.kind)}, {"dtype", r.meta.dtype},
                       {"shape", r.meta.shape}, {"size", r.meta.size}, {"stored", r.stored}, {"chunks", r.chunks},
                       {"codecs", codecs}});
  }
  return {{"path", s.path}, {"snapshot_id", s.id_hex}, {"file_size", s.file_size}, {"raw_bytes", s.raw_total},
          {"stored_bytes", s.stored_total}, {"seconds", s.seconds}, {"threads", s.threads},
          {"sealed", s.seal.state != SealState::Unsealed},
          {"key_id", s.seal.state == SealState::Unsealed ? nlohmann::json(nullptr) : nlohmann::json(s.seal.key_id_hex)},
          {"regions", regions}};
}

// The output must not be one of the inputs: with --force the rename would
// replace a file while its bytes are still being read.
Status check_output_not_input(const std::string& out, const std::vector<std::string>& inputs) {
  std::error_code ec;
  if (!std::filesystem::exists(out, ec)) return {};
  for (const auto& in : inputs)
    if (std::filesystem::equivalent(out, in, ec))
      return Error(ErrorKind::Usage, "output " + out + " is also an input (" + in + "); write the snapshot elsewhere");
  return {};
}

int run(const Opts& o) {
  std::vector<RegionInput> inputs;
  CaptureOptions opt;
  std::vector<std::string> input_paths;
  auto add_source = [&](RegionSource&& rs) {
    input_paths.push_back(rs.path);
    inputs.push_back(RegionInput::from_file(std::move(rs.meta), std::move(rs.path), rs.offset));
  };
  if (!o.spec.empty()) {
    auto spec = read_capture_spec(o.spec);
    if (!spec.ok()) return report_error("capture", spec.error());
    for (auto& r : spec->regions) add_source(std::move(r));
    opt.labels = spec->labels;
    if (spec->generation) opt.generation = *spec->generation;
    if (spec->chunk_size) opt.chunk_size = *spec->chunk_size;
    if (spec->level) opt.level = *spec->level;
    if (spec->codec) {
      auto c = parse_codec_choice(*spec->codec);
      if (!c) return report_error("capture", Error(ErrorKind::Usage, o.spec + ": unknown codec " + *spec->codec));
      opt.codec = *c;
    }
  }
  for (const auto& path : o.safetensors) {
    auto regs = safetensors_regions(path);
    if (!regs.ok()) return report_error("capture", regs.error());
    for (auto& r : *regs) add_source(std::move(r));
  }
  for (const auto& dir : o.trees) {
    auto regs = regions_from_tree(dir);
    if (!regs.ok()) return report_error("capture", regs.error());
    for (auto& r : *regs) add_source(std::move(r));
  }
  for (const auto& arg : o.regions) {
    auto r = parse_region_arg(arg);
    if (!r.ok()) return report_error("capture", r.error());
    add_source(std::move(r).value());
  }
  if (inputs.empty())
    return report_error("capture", Error(ErrorKind::Usage,
                                         "nothing to capture: give --region, --safetensors, --tree or --spec"));
  if (auto st = check_output_not_input(o.out, input_paths); !st.ok()) return report_error("capture", st.error());
  for (const auto& l : o.labels) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0)
      return report_error("capture", Error(ErrorKind::Usage, "--label wants KEY=VALUE, got \"" + l + "\""));
    opt.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  if (o.generation) opt.generation = *o.generation;
  if (o.level) opt.level = *o.level;
  if (!o.chunk_size.empty()) {
    auto cs = parse_size(o.chunk_size);
    if (!cs) return report_error("capture", Error(ErrorKind::Usage, "--chunk-size: not a size: " + o.chunk_size));
    opt.chunk_size = *cs;
  }
  if (!o.pack_below.empty()) {
    auto pb = parse_size(o.pack_below);
    if (!pb) return report_error("capture", Error(ErrorKind::Usage, "--pack-below: not a size: " + o.pack_below));
    opt.pack_below = *pb;
  }
  if (!o.codec.empty()) opt.codec = *parse_codec_choice(o.codec);
  if (!o.chunk_hash.empty()) opt.chunk_hash = *parse_chunk_hash(o.chunk_hash);
  opt.threads = o.threads;
  opt.overwrite = o.force;
  std::optional<Key> key;
  if (!o.key_file.empty() || o.seal) {
    auto k = find_key(o.key_file, false);
    if (!k.ok()) return report_error("capture", k.error());
    key = std::move(**k);
    opt.key = &*key;
  }
  ProgressBar bar("capture", o.quiet);
  opt.progress = bar.callback();
  auto sum = capture(o.out, inputs, opt);
  bar.finish();
  if (!sum.ok()) return report_error("capture", sum.error());
  if (o.json) {
    print_json(summary_json(*sum).dump(2));
    return kExitOk;
  }
  Table t({"region", "kind", "dtype", "shape", "size", "stored", "ratio", "chunks", "codecs"},
          {false, false, false, false, true, true, true, true, false});
  uint64_t chunks = 0;
  for (const auto& r : sum->regions) {
    t.add({escaped(r.meta.name), to_string(r.meta.kind), r.meta.dtype.empty() ? "-" : escaped(r.meta.dtype), format_shape(r.meta.shape),
           human_bytes(r.meta.size), human_bytes(r.stored), ratio(r.meta.size, r.stored), std::to_string(r.chunks),
           codec_mix(r)});
    chunks += r.chunks;
  }
  t.separator();
  t.add({fmt::format("total ({})", plural(sum->regions.size(), "region")), "", "", "", human_bytes(sum->raw_total),
         human_bytes(sum->stored_total), ratio(sum->raw_total, sum->stored_total), std::to_string(chunks), ""});
  fmt::print("{}", t.render());
  const double mbps = sum->seconds > 0 ? static_cast<double>(sum->raw_total) / sum->seconds / 1e6 : 0;
  fmt::print("\nwrote {} ({}), snapshot id {}\n{} in {:.3f} s ({:.0f} MB/s, {}); {}\n", escaped(sum->path),
             human_bytes(sum->file_size), sum->id_hex, human_bytes(sum->raw_total), sum->seconds, mbps,
             plural(sum->threads, "thread"),
             sum->seal.state == SealState::Unsealed   ? "unsealed"
             : sum->seal.state == SealState::Ed25519 ? "signed (Ed25519) with key " + sum->seal.key_id_hex
                                                     : "sealed with key " + sum->seal.key_id_hex);
  return kExitOk;
}

}  // namespace

Command register_capture(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("capture", "Build a snapshot from files, safetensors weights or a spec file");
  sub->add_option("-o,--output", o->out, "Snapshot file to write (written to a temp file, then renamed)")
      ->required()->type_name("OUT");
  sub->add_option("--region", o->regions,
                  "A region from a file: NAME=PATH[,kind=host|device|module|other][,dtype=bf16|f16|f32|u8...]"
                  "[,shape=AxB][,va=0x...][,device=N][,flags=read_mostly+warm][,offset=N][,size=N] (repeatable)")
      ->type_name("SPEC");
  sub->add_option("--safetensors", o->safetensors, "Each tensor becomes a device region with dtype and shape (repeatable)")
      ->type_name("FILE");
  sub->add_option("--tree", o->trees, "A directory image (a CRIU dump): every regular file becomes a region named by "
                                      "its relative path, its mode recorded; symlinks, devices, sockets and FIFOs are "
                                      "refused (repeatable)")
      ->type_name("DIR");
  sub->add_option("--spec", o->spec, "Capture spec (JSON, formats/capture-spec.schema.json): regions, safetensors, "
                                     "labels and options for deploy hooks")->type_name("FILE.json");
  sub->add_option("--label", o->labels, "Snapshot label KEY=VALUE (repeatable; sealed with the snapshot)")->type_name("KEY=VALUE");
  sub->add_option("--generation", o->generation, "Generation number (sealed; 'verify --min-generation' refuses older)")
      ->type_name("N")->check(kUint64Arg);
  sub->add_option("--chunk-size", o->chunk_size, "Chunk size, 64KiB..256MiB (default 4MiB)")->type_name("SIZE");
  sub->add_option("--pack-below", o->pack_below,
                  "Regions smaller than SIZE share packed chunks (format 1.3; default 64KiB, none with "
                  "--chunk-hash sha256; 0: never pack)")
      ->type_name("SIZE");
  sub->add_option("--codec", o->codec, "auto (default: per chunk, raw when compression gains < 3%), raw, zstd, "
                                       "shuffle (byte planes by dtype size, then zstd), planes (byte planes, "
                                       "Huffman-coded in blocks a GPU decodes), or palette (per-group value "
                                       "tables and Huffman-coded indices, for quantized weights; planes where a "
                                       "group has more than 256 values)")
      ->check(CLI::IsMember({"auto", "raw", "zstd", "shuffle", "planes", "palette"}));
  sub->add_option("--level", o->level, "zstd level (default 3)")->check(CLI::Range(-7, 19));
  sub->add_option("--chunk-hash", o->chunk_hash,
                  "leaf-sha256 (default: over 16 KiB leaves, format 1.1, verifiable on a GPU) or sha256 (flat, "
                  "format 1.0, for readers older than vramsnap 0.2)")
      ->check(CLI::IsMember({"leaf-sha256", "sha256"}));
  sub->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1u, 1024u));
  add_key_option(sub, o->key_file);
  sub->add_flag("--seal", o->seal, "Seal with the default key ($VRAMSNAP_KEY_FILE or the systemd credential)");
  sub->add_flag("--force", o->force, "Replace OUT if it exists");
  sub->add_flag("--json", o->json, "Print the summary as JSON (formats/capture-output.schema.json)");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->footer(
      "Examples:\n"
      "  vramsnap capture -o model.snap --safetensors model.safetensors --label model=llama --generation 7\n"
      "  vramsnap capture -o state.snap --region wasm=linear.bin,kind=host --region kv=kv.bin,kind=device,dtype=f16\n"
      "  vramsnap capture -o app.snap --spec deploy/snapshot.json --key-file ci.key");
  return {sub, [o] { return run(*o); }};
}

}  // namespace vramsnap::cli
