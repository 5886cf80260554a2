// vramsnap inspect SNAP [--chunks] [--json | --format text|json|csv]
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "remote_args.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/restore.hpp"
#include "vramsnap/snapshot.hpp"

namespace vramsnap::cli {
namespace {

struct Opts {
  std::string snap, format = "text";
  bool chunks = false, json = false, quiet = false;
  RemoteFlags remote;
};

struct RegionTotals {
  uint64_t stored = 0, chunks = 0;
  std::array<uint64_t, 256> codecs{};  // chunks per codec id
};

std::vector<RegionTotals> totals(const Snapshot& s) {
  std::vector<RegionTotals> t(s.regions().size());
  for (const auto& c : s.chunks()) {
    // A packed chunk counts for each of its regions, its stored bytes shared
    // out by size (the last region takes the rounding), so the rows add up.
    const uint32_t n = c.packed_regions ? c.packed_regions : 1;
    uint64_t left = c.stored_size;
    for (uint32_t r = c.region; r < c.region + n; ++r) {
      const uint64_t share =
          r + 1 == c.region + n ? left
                                : std::min(left, static_cast<uint64_t>(static_cast<double>(c.stored_size) *
                                                                       static_cast<double>(s.regions()[r].size) /
                                                                       static_cast<double>(c.raw_size)));
      t[r].stored += share;
      left -= share;
      t[r].chunks += 1;
      t[r].codecs[static_cast<size_t>(c.codec)] += 1;
    }
  }
  return t;
}

std::string ratio(uint64_t raw, uint64_t stored) {
  return stored ? fmt::format("{:.2f}x", static_cast<double>(raw) / static_cast<double>(stored)) : (raw ? "inf" : "-");
}

std::string codec_mix(const std::array<uint64_t, 256>& c) {
  std::vector<std::string> parts;
  for (Codec id : known_codecs())
    if (c[static_cast<size_t>(id)]) parts.push_back(fmt::format("{}:{}", to_string(id), c[static_cast<size_t>(id)]));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " "));
}

std::vector<std::pair<std::string, uint64_t>> layout_rows(const FileLayout& L) {
  return {{"header", L.header},         {"header padding", L.header_padding}, {"chunk data", L.chunk_data},
          {"chunk padding", L.chunk_padding}, {"chunk table", L.table},      {"manifest", L.manifest},
          {"seal padding", L.seal_padding},   {"seal block", L.seal},         {"trailer", L.trailer}};
}

std::string seal_text(const SealInfo& s) {
  return seal_words(s);
}

nlohmann::json to_json(const Snapshot& s, bool with_chunks) {
  using nlohmann::json;
  const auto& m = s.meta();
  const auto t = totals(s);
  json regions = json::array();
  for (size_t i = 0; i < s.regions().size(); ++i) {
    const auto& r = s.regions()[i];
    json codecs;
    for (Codec c : known_codecs()) codecs[to_string(c)] = t[i].codecs[static_cast<size_t>(c)];
    json flags = json::array();
    if (r.flags & kFlagReadMostly) flags.push_back("read_mostly");
    if (r.flags & kFlagWarm) flags.push_back("warm");
    regions.push_back({{"name", r.name}, {"kind", to_string(r.kind)}, {"dtype", r.dtype}, {"shape", r.shape},
                       {"device", r.device}, {"va", r.va ? json(fmt::format("0x{:x}", *r.va)) : json(nullptr)},
                       {"flags", flags}, {"labels", r.labels}, {"size", r.size}, {"stored", t[i].stored},
                       {"chunks", t[i].chunks}, {"codecs", codecs}});
    const Portability p = portability(r, m.source);
    regions.back()["portable"] = p.portable;
    regions.back()["portable_reason"] = p.reason;
  }
  json layout = json::object();
  for (const auto& [k, v] : layout_rows(s.layout())) {
    std::string key = k;
    std::replace(key.begin(), key.end(), ' ', '_');
    layout[key] = v;
  }
  layout["file_size"] = s.layout().file_size;
  uint64_t raw = 0, stored = 0;
  for (const auto& r : s.regions()) raw += r.size;
  for (const auto& c : s.chunks()) stored += c.stored_size;
  json out = {{"path", s.path()},
              {"format_version", fmt::format("{}.{}", m.major, m.minor)},
              {"required_features", m.required_features},
              {"optional_features", m.optional_features},
              {"chunk_hash", m.chunk_hash},
              {"snapshot_id", m.id_hex},
              {"created", m.created},
              {"tool", m.tool},
              {"generation", m.generation},
              {"labels", m.labels},
              {"chunk_size", m.chunk_size},
              {"source", {{"gpu_name", m.source.gpu_name}, {"compute_capability", m.source.compute_capability},
                          {"driver_version", m.source.driver_version}, {"cuda_runtime", m.source.cuda_runtime},
                          {"host", m.source.host}}},
              {"seal", {{"state", seal_state_name(s.seal())},
                        {"key_id", s.seal().state == SealState::Unsealed ? json(nullptr) : json(s.seal().key_id_hex)}}},
              {"regions", regions},
              {"totals", {{"regions", s.regions().size()}, {"chunks", s.chunks().size()}, {"raw_bytes", raw},
                          {"stored_bytes", stored}}},
              {"layout", layout}};
  if (with_chunks) {
    json chunks = json::array();
    for (size_t i = 0; i < s.chunks().size(); ++i) {
      const auto& c = s.chunks()[i];
      chunks.push_back({{"index", i}, {"region", s.regions()[c.region].name}, {"region_offset", c.region_offset},
                        {"raw_size", c.raw_size}, {"codec", to_string(c.codec)}, {"elem_size", c.elem_size},
                        {"stored_offset", c.stored_offset}, {"stored_size", c.stored_size},
                        {"sha256", to_hex(c.hash)}});
      if (c.packed_regions) chunks.back()["packed_regions"] = c.packed_regions;
    }
    out["chunks"] = chunks;
  }
  return out;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_csv(const Snapshot& s, bool with_chunks) {
  if (with_chunks) {
    fmt::print("index,region,region_offset,raw_size,codec,elem_size,stored_offset,stored_size,sha256,packed_regions\n");
    for (size_t i = 0; i < s.chunks().size(); ++i) {
      const auto& c = s.chunks()[i];
      fmt::print("{},{},{},{},{},{},{},{},{},{}\n", i, csv_field(s.regions()[c.region].name), c.region_offset, c.raw_size,
                 to_string(c.codec), c.elem_size, c.stored_offset, c.stored_size, to_hex(c.hash), c.packed_regions);
    }
    return;
  }
  const auto t = totals(s);
  fmt::print("name,kind,dtype,shape,device,size,stored,chunks");
  for (Codec c : known_codecs()) fmt::print(",{}", to_string(c));
  fmt::print("\n");
  for (size_t i = 0; i < s.regions().size(); ++i) {
    const auto& r = s.regions()[i];
    fmt::print("{},{},{},{},{},{},{},{}", csv_field(r.name), to_string(r.kind), r.dtype,
               csv_field(r.shape.empty() ? "" : fmt::format("{}", fmt::join(r.shape, "x"))), r.device, r.size,
               t[i].stored, t[i].chunks);
    for (Codec c : known_codecs()) fmt::print(",{}", t[i].codecs[static_cast<size_t>(c)]);
    fmt::print("\n");
  }
}

void print_text(const Snapshot& s, bool with_chunks) {
  const auto& m = s.meta();
  std::vector<std::string> labels;
  // Every string from the file is escaped: a label holding "\nseal  sealed"
  // must not forge a line of this report.
  for (const auto& [k, v] : m.labels) labels.push_back(escaped(k) + "=" + escaped(v));
  std::vector<std::string> src;
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) src.push_back(fmt::format("{}={}", k, escaped(v)));
  };
  put("host", m.source.host);
  put("gpu", m.source.gpu_name);
  put("cc", m.source.compute_capability);
  put("driver", m.source.driver_version);
  put("cuda", m.source.cuda_runtime);
  fmt::print("snapshot    {}\n", escaped(s.path()));
  fmt::print("format      {}.{} (required features 0x{:x}, optional 0x{:x})\n", m.major, m.minor, m.required_features,
             m.optional_features);
  fmt::print("chunk hash  {}\n", m.chunk_hash);
  fmt::print("id          {}\n", m.id_hex);
  fmt::print("created     {} by {}\n", escaped(m.created), escaped(m.tool));
  fmt::print("generation  {}\n", m.generation);
  fmt::print("labels      {}\n", labels.empty() ? "-" : fmt::format("{}", fmt::join(labels, ", ")));
  fmt::print("source      {}\n", src.empty() ? "-" : fmt::format("{}", fmt::join(src, ", ")));
  fmt::print("seal        {}\n", seal_text(s.seal()));
  fmt::print("chunk size  {}\n\n", human_bytes(m.chunk_size));

  const auto t = totals(s);
  Table tab({"region", "kind", "dtype", "shape", "dev", "portable", "size", "stored", "ratio", "chunks", "codecs"},
            {false, false, false, false, true, false, true, true, true, true, false});
  uint64_t raw = 0, stored = 0;
  std::vector<std::string> not_portable;
  for (size_t i = 0; i < s.regions().size(); ++i) {
    const auto& r = s.regions()[i];
    const Portability p = portability(r, m.source);
    if (!p.portable) not_portable.push_back(fmt::format("{}: {}", escaped(r.name), p.reason));
    tab.add({escaped(r.name), to_string(r.kind), r.dtype.empty() ? "-" : escaped(r.dtype), format_shape(r.shape),
             r.device < 0 ? "-" : std::to_string(r.device), p.portable ? "yes" : "no", human_bytes(r.size),
             human_bytes(t[i].stored), ratio(r.size, t[i].stored), std::to_string(t[i].chunks), codec_mix(t[i].codecs)});
    raw += r.size;
    stored += t[i].stored;
  }
  tab.separator();
  tab.add({fmt::format("total ({})", plural(s.regions().size(), "region")), "", "", "", "", "", human_bytes(raw),
           human_bytes(stored), ratio(raw, stored), std::to_string(s.chunks().size()), ""});
  fmt::print("{}\n", tab.render());
  // Portable regions restore on any GPU; the others need one like the source (spec 7.9).
  for (const auto& line : not_portable) fmt::print("not portable: {}\n", line);
  if (!not_portable.empty()) fmt::print("\n");

  Table lay({"file layout", "offset", "bytes"}, {false, true, true});
  const auto& L = s.layout();
  const uint64_t offsets[] = {0, L.header, L.data_offset, L.data_offset, L.table_offset, L.manifest_offset,
                              L.manifest_offset + L.manifest, L.seal_offset, L.trailer_offset};
  uint64_t sum = 0;
  size_t k = 0;
  for (const auto& [name, bytes] : layout_rows(L)) {
    lay.add({name, k == 3 ? "-" : std::to_string(offsets[k]), std::to_string(bytes)});
    sum += bytes;
    ++k;
  }
  lay.separator();
  lay.add({sum == L.file_size ? "total = file size" : "total (MISMATCH)", "", std::to_string(sum)});
  fmt::print("{}", lay.render());

  if (with_chunks) {
    Table ct({"chunk", "region", "region off", "raw", "codec", "file off", "stored", "sha256"},
             {true, false, true, true, false, true, true, false});
    for (size_t i = 0; i < s.chunks().size(); ++i) {
      const auto& c = s.chunks()[i];
      ct.add({std::to_string(i), escaped(s.regions()[c.region].name),
              c.packed_regions ? fmt::format("packed {}", c.packed_regions) : std::to_string(c.region_offset),
              std::to_string(c.raw_size),
              c.elem_size ? fmt::format("{}/{}", to_string(c.codec), c.elem_size) : to_string(c.codec),
              c.codec == Codec::Zero ? "-" : std::to_string(c.stored_offset), std::to_string(c.stored_size),
              to_hex({c.hash.data(), 8})});
    }
    fmt::print("\n{}", ct.render());
  }
}

}  // namespace

Command register_inspect(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("inspect", "Show a snapshot's metadata, seal status, regions and byte layout (no key, no GPU)");
  sub->add_option("snapshot", o->snap, kSnapLocationHelp)->type_name("SNAP");
  add_remote_options(sub, o->remote);
  sub->add_flag("--chunks", o->chunks, "List every chunk");
  auto* json = sub->add_flag("--json", o->json, "Same as --format json (formats/inspect-output.schema.json)");
  sub->add_option("--format", o->format, "Output format: text (default), json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->excludes(json);
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar (inspect shows one only while it hashes a whole registry blob)");
  sub->footer("inspect checks the file's structure and the hashes of its table and manifest, but not the chunk\n"
              "data or the seal: use 'vramsnap verify' for that.\n"
              "Examples:\n  vramsnap inspect model.snap\n  vramsnap inspect oci://registry.example/models/llama:v3\n  vramsnap inspect model.snap --chunks --format csv");
  return {sub, [o] {
            if (auto s = resolve_location(o->snap, o->remote); !s.ok()) return report_error("inspect", s.error());
            auto snap = open_snapshot(o->snap, o->remote, o->quiet);
            if (!snap.ok()) return report_error("inspect", snap.error());
            const std::string f = o->json ? "json" : o->format;
            if (f == "json") print_json(to_json(*snap, o->chunks).dump(2));
            else if (f == "csv") print_csv(*snap, o->chunks);
            else print_text(*snap, o->chunks);
            return kExitOk;
          }};
}

}  // namespace vramsnap::cli
