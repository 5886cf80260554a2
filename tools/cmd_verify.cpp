// vramsnap verify SNAP (--key-file K | --pubkey P... | --allow-unsealed) [--min-generation N]
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "exit_code.h"
#include "keys.h"
#include "remote_args.h"
#include "terminal.h"
#include "text.h"
#include "vramsnap/restore.hpp"

namespace vramsnap::cli {
namespace {

struct Opts {
  std::string snap, key_file;
  PublicKeyFlags pub;
  bool allow_unsealed = false, json = false, quiet = false, decode = false;
  std::optional<uint64_t> min_generation;
  unsigned threads = 0;
  RemoteFlags remote;
};

int fail(const Opts&, const Error& e) { return report_error("verify", e); }

int run(Opts o) {
  if (auto s = resolve_location(o.snap, o.remote); !s.ok()) {
    if (o.json) report_failures_as_json();
    return fail(o, s.error());
  }
  const std::string shown = redacted_location(o.snap);
  if (o.json) report_failures_as_json(shown);
  auto keys = find_check_keys(o.key_file, o.pub, o.allow_unsealed);
  if (!keys.ok()) return fail(o, keys.error());
  auto snap = open_snapshot(o.snap, o.remote, o.quiet);
  if (!snap.ok()) return fail(o, snap.error());
  VerifyOptions vo;
  if (keys->key) vo.key = &*keys->key;
  vo.trusted_keys = keys->trusted;
  vo.allow_unsealed = o.allow_unsealed;
  vo.min_generation = o.min_generation;
  vo.threads = o.threads;
  vo.decode = o.decode;
  ProgressBar bar("verify", o.quiet);
  vo.progress = bar.callback();
  auto rep = verify(*snap, vo);
  bar.finish();
  if (!rep.ok()) return fail(o, rep.error());
  const double gbps = rep->seconds > 0 ? static_cast<double>(rep->bytes_checked) / rep->seconds / 1e9 : 0;
  std::string seal;
  if (rep->seal.state == SealState::Unsealed) seal = "unsealed (allowed by --allow-unsealed)";
  else if (rep->seal_checked && rep->seal.state == SealState::Ed25519)
    seal = "signature valid (Ed25519, key " + rep->seal.key_id_hex + ")";
  else if (rep->seal_checked) seal = "seal valid (key " + rep->seal.key_id_hex + ")";
  else seal = "sealed with key " + rep->seal.key_id_hex + ", seal NOT checked (no key; --allow-unsealed)";
  if (o.json) {
    print_json(nlohmann::json{{"ok", true},
                              {"path", shown},
                              {"snapshot_id", snap->meta().id_hex},
                              {"generation", snap->meta().generation},
                              {"seal", {{"state", seal_state_name(rep->seal)},
                                        {"key_id", rep->seal.state == SealState::Unsealed ? nlohmann::json(nullptr)
                                                                                          : nlohmann::json(rep->seal.key_id_hex)},
                                        {"checked", rep->seal_checked}}},
                              {"chunks_checked", rep->chunks_checked},
                              {"bytes_checked", rep->bytes_checked},
                              {"raw_bytes", rep->raw_bytes},
                              {"decoded", o.decode},
                              {"seconds", rep->seconds},
                              {"gb_per_s", gbps}}
                   .dump(2));
  } else {
    fmt::print("OK {}: {}; {}, {} checked in {:.3f} s ({:.2f} GB/s); generation {}\n", escaped(shown), seal,
               plural(rep->chunks_checked, "chunk"), human_bytes(rep->bytes_checked), rep->seconds, gbps, snap->meta().generation);
  }
  return kExitOk;
}

}  // namespace

Command register_verify(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("verify", "Check a snapshot's structure, seal and every chunk's SHA-256");
  sub->add_option("snapshot", o->snap, kSnapLocationHelp)->type_name("SNAP");
  add_remote_options(sub, o->remote);
  add_key_option(sub, o->key_file);
  add_public_key_options(sub, o->pub);
  sub->add_flag("--allow-unsealed", o->allow_unsealed,
                "Accept an unsealed snapshot (structure and hashes only); without a key, a seal is not checked");
  sub->add_option("--min-generation", o->min_generation, "Refuse snapshots whose generation is lower")
      ->type_name("N")->check(kUint64Arg);
  sub->add_flag("--decode", o->decode, "Also decode every chunk (slower; catches codec damage in unsealed files)");
  sub->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_flag("--json", o->json, "Print the report as JSON (formats/verify-output.schema.json)");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->footer("Exit 0 only if everything holds; 1 on any integrity or authenticity failure (the first failing\n"
              "region, chunk and offset are named); 3 when the file is not a well-formed snapshot.\n"
              "Examples:\n  vramsnap verify model.snap --key-file ci.key --min-generation 7\n"
              "  vramsnap verify model.snap --pubkey deploy.pub --pubkey next.pub\n"
              "  vramsnap verify model.snap --allow-unsealed --json");
  return {sub, [o] { return run(*o); }};
}

}  // namespace vramsnap::cli
