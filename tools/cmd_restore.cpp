// vramsnap restore SNAP [--key-file K] [--target host|cuda[:N]] [--extract DIR] ...
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "remote_args.h"
#include "target_arg.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/restore.hpp"
#include "vramsnap/sources.hpp"

namespace vramsnap::cli {
namespace {

struct Opts {
  std::string snap, key_file, target = "host", extract, extract_tree, max_host_memory, max_output, device_map, staging,
      verify_on = "auto";
  PublicKeyFlags pub;
  std::vector<std::string> regions;
  bool allow_unsealed = false, json = false, quiet = false, fixed_va = false, warm = false, no_modules = false;
  std::optional<uint64_t> min_generation;
  unsigned threads = 0;
  RemoteFlags remote;
};

nlohmann::json phases_json(const PhaseTimes& p) {
  return {{"open", p.open},       {"seal_check", p.seal_check}, {"context_init", p.context_init},
          {"allocate", p.allocate}, {"read", p.read},           {"hash", p.hash},
          {"decode", p.decode},   {"copy", p.copy},             {"module_load", p.module_load},
          {"total", p.total}};
}

void print_phases(const PhaseTimes& p, const RestoreStats& st, const std::string& what) {
  Table t({"phase", "ms", "note"}, {false, true, false});
  auto row = [&](const char* n, double s, const char* note) { t.add({n, fmt::format("{:.3f}", s * 1e3), note}); };
  row("open", p.open, "trailer, table, manifest");
  row("seal check", p.seal_check, "key id + MAC or signature");
  if (p.context_init > 0) row("context init", p.context_init, "CUDA primary context");
  row("allocate", p.allocate, "");
  row("read", p.read, "summed over threads");
  row("hash", p.hash, "summed over threads");
  row("decode", p.decode, "summed over threads");
  row("copy", p.copy, what.c_str());
  if (p.module_load > 0) row("module load", p.module_load, "cuModuleLoadData");
  t.separator();
  row("total", p.open + p.total, "wall");
  fmt::print("{}", t.render());
  const double wall = p.open + p.total;
  fmt::print("{}, {} restored ({} stored) in {:.3f} s: {:.2f} GB/s with {}\n", plural(st.chunks, "chunk"),
             human_bytes(st.raw_bytes), human_bytes(st.stored_bytes), wall,
             wall > 0 ? static_cast<double>(st.raw_bytes) / wall / 1e9 : 0.0, plural(st.threads, "thread"));
}

int run(Opts o) {
  if (auto s = resolve_location(o.snap, o.remote); !s.ok()) {
    if (o.json) report_failures_as_json();
    return report_error("restore", s.error());
  }
  if (o.json) report_failures_as_json(redacted_location(o.snap));
  const uint64_t t_open0 = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
  RestoreOptions ro;
  auto target = parse_target_arg(o.target);
  if (!target.ok()) return report_error("restore", target.error());
  ro.target = target->target;
  ro.device = target->device;
  if (!o.max_host_memory.empty()) {
    if (o.max_host_memory == "unlimited") {
      ro.max_host_bytes = UINT64_MAX;
    } else {
      auto n = parse_size(o.max_host_memory);
      if (!n || *n == 0)
        return report_error("restore", Error(ErrorKind::Usage, "--max-host-memory: expected a size such as 16GiB or "
                                                                 "\"unlimited\", got " + o.max_host_memory));
      ro.max_host_bytes = *n;
    }
  }
  if (!o.max_output.empty()) {
    if (o.max_output == "unlimited") {
      ro.max_output_bytes = UINT64_MAX;
    } else {
      auto n = parse_size(o.max_output);
      if (!n || *n == 0)
        return report_error("restore", Error(ErrorKind::Usage, "--max-output: expected a size such as 100GiB or "
                                                                 "\"unlimited\", got " + o.max_output));
      ro.max_output_bytes = *n;
    }
  }
  if (!o.device_map.empty()) {
    auto m = parse_device_map_spec(o.device_map);
    if (!m.ok()) return report_error("restore", m.error());
    ro.device_map = std::move(m).value();
  }
  if (!o.staging.empty()) {
    auto st = parse_staging_spec(o.staging);
    if (!st.ok()) return report_error("restore", Error(ErrorKind::Usage, "--staging: " + st.error().message()));
    ro.staging = *st;
  }
  auto verify_on = parse_verify_on(o.verify_on);
  if (!verify_on.ok()) return report_error("restore", verify_on.error());
  ro.verify_on = *verify_on;
  if ((!o.device_map.empty() || !o.staging.empty()) && ro.target != Target::Cuda)
    return report_error("restore", Error(ErrorKind::Usage, "--device-map and --staging place regions on GPUs; they "
                                                            "need --target cuda"));
  const std::string& out_dir = !o.extract.empty() ? o.extract : o.extract_tree;
  if (!out_dir.empty() && ro.target == Target::Cuda)
    return report_error("restore", Error(ErrorKind::Usage, "--extract and --extract-tree write files; they cannot be "
                                                            "combined with --target cuda"));
  if (out_dir.empty() && !o.max_output.empty())
    return report_error("restore", Error(ErrorKind::Usage, "--max-output bounds --extract or --extract-tree"));
  auto keys = find_check_keys(o.key_file, o.pub, o.allow_unsealed);
  if (!keys.ok()) return report_error("restore", keys.error());
  auto snap = open_snapshot(o.snap, o.remote, o.quiet);
  if (!snap.ok()) return report_error("restore", snap.error());
  const double open_s = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count() -
      t_open0) * 1e-9;
  if (keys->key) ro.key = &*keys->key;
  ro.trusted_keys = keys->trusted;
  ro.allow_unsealed = o.allow_unsealed;
  ro.min_generation = o.min_generation;
  ro.threads = o.threads;
  ro.regions = o.regions;
  ro.fixed_va = o.fixed_va;
  ro.warm_modules = o.warm;
  ro.load_modules = !o.no_modules;
  ProgressBar bar("restore", o.quiet);
  ro.progress = bar.callback();

  RestoreStats stats;
  nlohmann::json files = nlohmann::json::array();
  nlohmann::json regions = nlohmann::json::array();
  if (!out_dir.empty()) {
    auto r = !o.extract.empty() ? extract(*snap, o.extract, ro, &stats) : extract_tree(*snap, o.extract_tree, ro, &stats);
    bar.finish();
    if (!r.ok()) return report_error("restore", r.error());
    for (const auto& f : *r) files.push_back({{"region", f.region}, {"path", f.path}, {"size", f.size}});
  } else {
    auto r = restore(*snap, ro);
    bar.finish();
    if (!r.ok()) return report_error("restore", r.error());
    stats = r->stats();
    // Only --json lists the regions: no per-region work for a plain restore.
    if (o.json)
      for (const auto& rr : r->regions())
        regions.push_back({{"name", rr.meta->name}, {"kind", to_string(rr.meta->kind)}, {"size", rr.meta->size},
                           {"device_ptr", rr.device_ptr ? nlohmann::json(fmt::format("0x{:x}", rr.device_ptr)) : nlohmann::json(nullptr)},
                           {"device", rr.device >= 0 ? nlohmann::json(rr.device) : nlohmann::json(nullptr)}});
  }
  stats.phases.open = open_s;
  if (o.json) {
    const double wall = stats.phases.open + stats.phases.total;
    nlohmann::json j = {{"ok", true}, {"path", redacted_location(o.snap)}, {"snapshot_id", snap->meta().id_hex},
                        {"target", out_dir.empty() ? o.target : (!o.extract.empty() ? "extract" : "extract-tree")}, {"threads", stats.threads},
                        {"chunks", stats.chunks}, {"raw_bytes", stats.raw_bytes}, {"stored_bytes", stats.stored_bytes},
                        {"seconds", wall}, {"gb_per_s", wall > 0 ? static_cast<double>(stats.raw_bytes) / wall / 1e9 : 0.0},
                        {"phases", phases_json(stats.phases)}};
    if (!out_dir.empty()) j["files"] = files;
    else j["regions"] = regions;
    if (ro.target == Target::Cuda) {
      nlohmann::json devices = nlohmann::json::array();
      for (const auto& [dev, bytes] : stats.device_bytes) devices.push_back({{"device", dev}, {"bytes", bytes}});
      j["devices"] = devices;
      j["device_verified_bytes"] = stats.device_verified_bytes;
      j["device_decoded_bytes"] = stats.device_decoded_bytes;
    }
    print_json(j.dump(2));
  } else {
    if (!out_dir.empty())
      for (const auto& f : files)
        fmt::print("{}  {}\n", escaped(f["path"].get<std::string>()), human_bytes(f["size"].get<uint64_t>()));
    print_phases(stats.phases, stats, !out_dir.empty() ? "file writes + fsync" : (ro.target == Target::Cuda ? "host-to-device" : "none (decoded in place)"));
  }
  return kExitOk;
}

}  // namespace

Command register_restore(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("restore", "Verified restore into host memory, a CUDA GPU, or files");
  sub->add_option("snapshot", o->snap, kSnapLocationHelp)->type_name("SNAP");
  add_remote_options(sub, o->remote);
  add_key_option(sub, o->key_file);
  add_public_key_options(sub, o->pub);
  sub->add_flag("--allow-unsealed", o->allow_unsealed, "Accept an unsealed snapshot (hashes are still checked)");
  sub->add_option("--target", o->target, "host (default), cuda or cuda:N")->type_name("TARGET");
  sub->add_option("--extract", o->extract, "Write each region to DIR/<name> (created; never overwrites, never "
                                           "follows symlinks; names are percent-encoded)")->type_name("DIR");
  auto* tree = sub->add_option("--extract-tree", o->extract_tree,
                               "Recreate a directory image captured with 'capture --tree' under DIR: names as relative "
                               "paths, modes restored, never outside DIR, never overwriting; all or nothing")
                   ->type_name("DIR");
  tree->excludes(sub->get_option("--extract"));
  sub->add_option("--max-output", o->max_output,
                  "extract: refuse (exit 5) when the selected regions declare more than SIZE bytes of files, checked "
                  "before anything is created (default: the space available on the target's file system; "
                  "\"unlimited\" for no limit)")
      ->type_name("SIZE");
  sub->add_option("--region", o->regions, "Restore only this region (repeatable)")->type_name("NAME");
  sub->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_option("--max-host-memory", o->max_host_memory,
                  "host: refuse (exit 5) when the selected regions need more memory than SIZE, checked before "
                  "anything is allocated (default: the memory available now; \"unlimited\" for no limit)")
      ->type_name("SIZE");
  sub->add_option("--device-map", o->device_map,
                  "cuda: send the regions captured on GPU SRC to GPU DST of this machine, e.g. 0:0,1:1 or 3:0; every "
                  "recorded GPU must be mapped; all GPUs fill in parallel (default: everything onto --target's GPU)")
      ->type_name("SRC:DST[,...]");
  sub->add_option("--staging", o->staging,
                  "cuda: pinned staging buffers per target GPU as COUNTxSIZE (default 8x16MiB, shrunk to the largest "
                  "chunk)")
      ->type_name("NxSIZE");
  sub->add_option("--verify-on", o->verify_on,
                  "cuda: where chunk hashes are checked: auto (default: on the GPU for leaf-hashed raw chunks, on the "
                  "host for the rest), host, or device (auto, but an error when the GPU kernels are not built)")
      ->type_name("WHERE");
  sub->add_flag("--fixed-va", o->fixed_va, "cuda: map device regions at their recorded virtual addresses (exit 5 when taken)");
  auto* warm = sub->add_flag("--warm-modules", o->warm, "cuda: load every function of module regions eagerly");
  sub->add_flag("--no-modules", o->no_modules, "cuda: restore module regions as bytes without loading them")
      ->excludes(warm);
  sub->add_option("--min-generation", o->min_generation, "Refuse snapshots whose generation is lower")
      ->type_name("N")->check(kUint64Arg);
  sub->add_flag("--json", o->json, "Print timings and throughput as JSON (formats/restore-output.schema.json)");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->footer("The seal is checked first and every chunk before it is used; on any failure everything is freed\n"
              "(or removed) and nothing is handed over.\n"
              "Examples:\n  vramsnap restore model.snap --key-file ci.key --target cuda:0 --json\n"
              "  vramsnap restore model.snap --key-file ci.key --extract out/ --region embed.weight\n"
              "  vramsnap restore model.snap --pubkey deploy.pub --target cuda:0\n"
              "  vramsnap restore tp8.snap --key-file ci.key --target cuda --device-map 0:0,1:1,2:2,3:3\n"
              "  vramsnap restore img.snap --key-file ci.key --extract-tree img2/\n"
              "  vramsnap restore oci://registry.example/models/llama@sha256:... --pubkey deploy.pub --target cuda:0");
  return {sub, [o] { return run(*o); }};
}

}  // namespace vramsnap::cli
