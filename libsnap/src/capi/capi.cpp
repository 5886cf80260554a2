// The C API: a thin shell over the C++ API. Errors become status codes plus a
// thread-local message; no exception crosses into C.
#include "vramsnap/vramsnap.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <string>

#include "crypto/key.h"
#include "vramsnap/capture.hpp"
#include "vramsnap/remote.hpp"
#include "vramsnap/restore.hpp"
#include "vramsnap/sources.hpp"
#include "vramsnap/snapshot.hpp"
#include "vramsnap/stream.hpp"
#include "vramsnap/version.hpp"

struct vramsnap_key {
  vramsnap::Key key;
};
struct vramsnap_snapshot {
  vramsnap::Snapshot snap;
};
struct vramsnap_capture {
  std::vector<vramsnap::RegionInput> regions;
  std::map<std::string, std::string> labels;
};
struct vramsnap_restored {
  vramsnap::Restored restored;
};

namespace {

thread_local std::string g_last_error;

// The library's one table (error_kind_info) says which status a kind gets.
vramsnap_status status_for(vramsnap::ErrorKind k) {
  return static_cast<vramsnap_status>(vramsnap::error_kind_info(k).c_status);
}

vramsnap_status fail(const vramsnap::Error& e) {
  g_last_error = e.message();
  return status_for(e.kind());
}

vramsnap_status usage(const char* msg) {
  g_last_error = msg;
  return VRAMSNAP_ERR_USAGE;
}

// Runs f, turning allocation failures and stray exceptions into statuses.
template <class F>
vramsnap_status guarded(F&& f) noexcept {
  try {
    g_last_error.clear();
    return f();
  } catch (const std::bad_alloc&) {
    g_last_error = "out of memory";
    return VRAMSNAP_ERR_RESOURCE;
  } catch (const std::exception& e) {
    g_last_error = std::string("internal error: ") + e.what();
    return VRAMSNAP_ERR_IO;
  }
}

vramsnap::RegionKind kind_from_c(vramsnap_region_kind k) {
  switch (k) {
    case VRAMSNAP_KIND_DEVICE: return vramsnap::RegionKind::Device;
    case VRAMSNAP_KIND_HOST: return vramsnap::RegionKind::Host;
    case VRAMSNAP_KIND_MODULE: return vramsnap::RegionKind::Module;
    default: return vramsnap::RegionKind::Other;
  }
}

vramsnap_region_kind kind_to_c(vramsnap::RegionKind k) {
  switch (k) {
    case vramsnap::RegionKind::Device: return VRAMSNAP_KIND_DEVICE;
    case vramsnap::RegionKind::Host: return VRAMSNAP_KIND_HOST;
    case vramsnap::RegionKind::Module: return VRAMSNAP_KIND_MODULE;
    case vramsnap::RegionKind::Other: return VRAMSNAP_KIND_OTHER;
  }
  return VRAMSNAP_KIND_OTHER;
}

bool meta_from_desc(const vramsnap_region_desc* d, uint64_t size, vramsnap::RegionMeta& m) {
  if (!d || !d->name) return false;
  m.name = d->name;
  m.kind = kind_from_c(d->kind);
  m.size = size;
  if (d->dtype) m.dtype = d->dtype;
  if (d->shape) m.shape.assign(d->shape, d->shape + d->rank);
  m.device = d->device;
  m.flags = d->flags & (vramsnap::kFlagReadMostly | vramsnap::kFlagWarm);
  return true;
}

void copy_id(const std::string& hex, char* out, size_t cap) {
  if (!out) return;
  std::strncpy(out, hex.c_str(), cap - 1);
  out[cap - 1] = '\0';
}

vramsnap::ProgressFn progress_fn(vramsnap_progress_fn fn, void* user, std::atomic<bool>* cancel) {
  if (!fn) return {};
  return [fn, user, cancel](const vramsnap::Progress& p) {
    if (fn(user, p.bytes_done, p.bytes_total) != 0) cancel->store(true);
  };
}

void fill_check(const vramsnap_check_options& c, vramsnap::CheckOptions& o, std::atomic<bool>* cancel) {
  o.key = c.key ? &c.key->key : nullptr;
  for (size_t i = 0; c.trusted_keys && i < c.trusted_key_count; ++i)
    if (c.trusted_keys[i]) o.trusted_keys.push_back(c.trusted_keys[i]->key);
  o.allow_unsealed = c.allow_unsealed != 0;
  if (c.has_min_generation) o.min_generation = c.min_generation;
  o.threads = c.threads;
  o.progress = progress_fn(c.progress, c.progress_user, cancel);
  o.cancel = cancel;
}

}  // namespace

extern "C" {

const char* vramsnap_version(void) { return vramsnap::version(); }
const char* vramsnap_last_error(void) { return g_last_error.c_str(); }

vramsnap_status vramsnap_key_load(const char* path, vramsnap_key** out) {
  if (!path || !*path) return usage("key file path is NULL or empty");
  return vramsnap_key_resolve(path, out);
}

vramsnap_status vramsnap_key_resolve(const char* path, vramsnap_key** out) {
  return guarded([&] {
    if (!out) return usage("out is NULL");
    *out = nullptr;
    std::optional<std::string> p;
    if (path && *path) p = path;
    auto k = vramsnap::Key::resolve(p);
    if (!k.ok()) return fail(k.error());
    *out = new vramsnap_key{std::move(k).value()};
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_key_from_bytes(const void* bytes, size_t size, vramsnap_key** out) {
  return guarded([&] {
    if (!out) return usage("out is NULL");
    *out = nullptr;
    auto k = vramsnap::Key::from_bytes(bytes, size);
    if (!k.ok()) return fail(k.error());
    *out = new vramsnap_key{std::move(k).value()};
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_key_generate(const char* path, char key_id[17]) {
  return guarded([&] {
    if (!path) return usage("path is NULL");
    auto id = vramsnap::Key::generate(path);
    if (!id.ok()) return fail(id.error());
    copy_id(*id, key_id, 17);
    return VRAMSNAP_OK;
  });
}

void vramsnap_key_id(const vramsnap_key* key, char key_id[17]) {
  if (key && key_id) copy_id(key->key.id_hex(), key_id, 17);
}

void vramsnap_key_free(vramsnap_key* key) { delete key; }

vramsnap_status vramsnap_key_load_public(const char* path, vramsnap_key** out) {
  return guarded([&] {
    if (!out) return usage("out is NULL");
    *out = nullptr;
    if (!path || !*path) return usage("public key path is NULL or empty");
    auto k = vramsnap::Key::load_public(path);
    if (!k.ok()) return fail(k.error());
    *out = new vramsnap_key{std::move(k).value()};
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_key_generate_ed25519(const char* private_path, const char* public_path, char key_id[17]) {
  return guarded([&] {
    if (!private_path) return usage("private_path is NULL");
    const std::string pub = public_path ? public_path : vramsnap::Key::public_path_for(private_path);
    auto id = vramsnap::Key::generate_ed25519(private_path, pub);
    if (!id.ok()) return fail(id.error());
    copy_id(*id, key_id, 17);
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_key_ed25519_from_seed(const void* seed, size_t size, vramsnap_key** out) {
  return guarded([&] {
    if (!out) return usage("out is NULL");
    *out = nullptr;
    auto k = vramsnap::Key::ed25519_from_seed(seed, size);
    if (!k.ok()) return fail(k.error());
    *out = new vramsnap_key{std::move(k).value()};
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_key_public(const vramsnap_key* key, vramsnap_key** out) {
  return guarded([&] {
    if (!out || !key) return usage("key or out is NULL");
    *out = nullptr;
    auto k = key->key.public_key();
    if (!k.ok()) return fail(k.error());
    *out = new vramsnap_key{std::move(k).value()};
    return VRAMSNAP_OK;
  });
}

vramsnap_key_type vramsnap_key_get_type(const vramsnap_key* key) {
  return key ? static_cast<vramsnap_key_type>(key->key.type()) : VRAMSNAP_KEY_SECRET;
}

void vramsnap_capture_options_init(vramsnap_capture_options* o) {
  if (!o) return;
  *o = vramsnap_capture_options{};
  o->chunk_size = 4ull << 20;
  o->codec = "auto";
  o->chunk_hash = "leaf-sha256";
  o->pack_below = -1;
  o->level = 3;
}

vramsnap_status vramsnap_capture_new(vramsnap_capture** out) {
  return guarded([&] {
    if (!out) return usage("out is NULL");
    *out = new vramsnap_capture{};
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_add_host(vramsnap_capture* c, const vramsnap_region_desc* d, const void* data,
                                          uint64_t size) {
  return guarded([&] {
    vramsnap::RegionMeta m;
    if (!c || !meta_from_desc(d, size, m)) return usage("capture handle, descriptor or name is NULL");
    if (size && !data) return usage("host region data is NULL");
    c->regions.push_back(vramsnap::RegionInput::from_host(std::move(m), data));
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_add_device(vramsnap_capture* c, const vramsnap_region_desc* d, const void* ptr,
                                            uint64_t size) {
  return guarded([&] {
    vramsnap::RegionMeta m;
    if (!c || !meta_from_desc(d, size, m)) return usage("capture handle, descriptor or name is NULL");
    if (size && !ptr) return usage("device pointer is NULL");
    c->regions.push_back(vramsnap::RegionInput::from_device(std::move(m), ptr));
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_add_file(vramsnap_capture* c, const vramsnap_region_desc* d, const char* path,
                                          uint64_t offset, uint64_t size) {
  return guarded([&] {
    vramsnap::RegionMeta m;
    if (!c || !path || !meta_from_desc(d, size, m)) return usage("capture handle, descriptor, name or path is NULL");
    c->regions.push_back(vramsnap::RegionInput::from_file(std::move(m), path, offset));
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_add_tree(vramsnap_capture* c, const char* dir) {
  return guarded([&] {
    if (!c || !dir) return usage("capture handle or directory is NULL");
    auto files = vramsnap::regions_from_tree(dir);
    if (!files.ok()) return fail(files.error());
    for (auto& f : *files) c->regions.push_back(vramsnap::RegionInput::from_file(std::move(f.meta), f.path, f.offset));
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_set_label(vramsnap_capture* c, const char* key, const char* value) {
  return guarded([&] {
    if (!c || !key || !value) return usage("capture handle, label key or value is NULL");
    c->labels[key] = value;
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_write(vramsnap_capture* c, const char* path, const vramsnap_capture_options* o,
                                       char snapshot_id[33]) {
  return guarded([&] {
    if (!c || !path) return usage("capture handle or path is NULL");
    vramsnap_capture_options defaults;
    vramsnap_capture_options_init(&defaults);
    if (!o) o = &defaults;
    vramsnap::CaptureOptions opt;
    opt.chunk_size = o->chunk_size;
    auto codec = vramsnap::parse_codec_choice(o->codec ? o->codec : "auto");
    if (!codec) return usage("codec must be auto, raw, zstd, shuffle, planes or palette");
    opt.codec = *codec;
    auto chunk_hash = vramsnap::parse_chunk_hash(o->chunk_hash ? o->chunk_hash : "leaf-sha256");
    if (!chunk_hash) return usage("chunk_hash must be leaf-sha256 or sha256");
    opt.chunk_hash = *chunk_hash;
    if (o->pack_below < -1) return usage("pack_below must be -1 (default), 0 (never) or a size in bytes");
    if (o->pack_below >= 0) opt.pack_below = static_cast<uint64_t>(o->pack_below);
    opt.level = o->level;
    opt.threads = o->threads;
    opt.generation = o->generation;
    opt.overwrite = o->overwrite != 0;
    opt.labels = c->labels;
    opt.key = o->key ? &o->key->key : nullptr;
    std::atomic<bool> cancel{false};
    opt.progress = progress_fn(o->progress, o->progress_user, &cancel);
    opt.cancel = &cancel;
    auto sum = vramsnap::capture(path, c->regions, opt);
    if (!sum.ok()) return fail(sum.error());
    copy_id(sum->id_hex, snapshot_id, 33);
    return VRAMSNAP_OK;
  });
}

void vramsnap_capture_free(vramsnap_capture* c) { delete c; }

vramsnap_status vramsnap_open(const char* path, vramsnap_snapshot** out) {
  return guarded([&] {
    if (!path || !out) return usage("path or out is NULL");
    *out = nullptr;
    auto s = vramsnap::Snapshot::open(path);
    if (!s.ok()) return fail(s.error());
    *out = new vramsnap_snapshot{std::move(s).value()};
    return VRAMSNAP_OK;
  });
}

void vramsnap_remote_options_init(vramsnap_remote_options* o) {
  if (!o) return;
  *o = vramsnap_remote_options{};
  const vramsnap::RemoteOptions defaults;
  o->timeout_s = defaults.timeout_s;
  o->retries = defaults.retries;
}

vramsnap_status vramsnap_open_remote(const char* location, const vramsnap_remote_options* o,
                                     vramsnap_snapshot** out) {
  return guarded([&] {
    if (!location || !out) return usage("location or out is NULL");
    *out = nullptr;
    vramsnap::RemoteOptions ro;
    if (o) {
      ro.auth_file = o->auth_file ? o->auth_file : "";
      ro.ca_file = o->ca_file ? o->ca_file : "";
      ro.registry_config = o->registry_config ? o->registry_config : "";
      ro.insecure = o->insecure != 0;
      ro.timeout_s = o->timeout_s;
      ro.retries = o->retries;
    }
    auto src = vramsnap::open_source(location, ro);
    if (!src.ok()) return fail(src.error());
    auto s = vramsnap::Snapshot::open(std::move(src).value());
    if (!s.ok()) return fail(s.error());
    *out = new vramsnap_snapshot{std::move(s).value()};
    return VRAMSNAP_OK;
  });
}

void vramsnap_close(vramsnap_snapshot* snap) { delete snap; }

size_t vramsnap_region_count(const vramsnap_snapshot* snap) { return snap ? snap->snap.regions().size() : 0; }

vramsnap_status vramsnap_region_get(const vramsnap_snapshot* snap, size_t index, vramsnap_region_info* out) {
  return guarded([&] {
    if (!snap || !out) return usage("snapshot or out is NULL");
    if (index >= snap->snap.regions().size()) return usage("region index out of range");
    const auto& r = snap->snap.regions()[index];
    *out = vramsnap_region_info{};
    out->name = r.name.c_str();
    out->kind = kind_to_c(r.kind);
    out->dtype = r.dtype.c_str();
    out->shape = r.shape.empty() ? nullptr : r.shape.data();
    out->rank = r.shape.size();
    out->size = r.size;
    out->device = r.device;
    out->has_va = r.va.has_value();
    out->va = r.va.value_or(0);
    out->flags = r.flags;
    return VRAMSNAP_OK;
  });
}

uint64_t vramsnap_generation(const vramsnap_snapshot* snap) { return snap ? snap->snap.meta().generation : 0; }
const char* vramsnap_snapshot_id(const vramsnap_snapshot* snap) { return snap ? snap->snap.meta().id_hex.c_str() : ""; }

int vramsnap_is_sealed(const vramsnap_snapshot* snap, char key_id[17]) {
  if (!snap || snap->snap.seal().state == vramsnap::SealState::Unsealed) return 0;
  copy_id(snap->snap.seal().key_id_hex, key_id, 17);
  return 1;
}

const char* vramsnap_seal_algorithm(const vramsnap_snapshot* snap) {
  return snap ? snap->snap.seal().algorithm.c_str() : "";
}

void vramsnap_check_options_init(vramsnap_check_options* o) {
  if (o) *o = vramsnap_check_options{};
}

vramsnap_status vramsnap_verify(const vramsnap_snapshot* snap, const vramsnap_check_options* o) {
  return guarded([&] {
    if (!snap || !o) return usage("snapshot or options is NULL");
    vramsnap::VerifyOptions vo;
    std::atomic<bool> cancel{false};
    fill_check(*o, vo, &cancel);
    auto r = vramsnap::verify(snap->snap, vo);
    if (!r.ok()) return fail(r.error());
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_seal(const char* path, const vramsnap_key* key) {
  return guarded([&] {
    if (!path || !key) return usage("path or key is NULL");
    auto r = vramsnap::seal(path, key->key);
    if (!r.ok()) return fail(r.error());
    return VRAMSNAP_OK;
  });
}

void vramsnap_restore_options_init(vramsnap_restore_options* o) {
  if (!o) return;
  *o = vramsnap_restore_options{};
  o->load_modules = 1;
}

// Usage error for a NULL region name or a device map that does not parse.
static vramsnap::Status fill_restore(const vramsnap_restore_options* o, vramsnap::RestoreOptions& ro,
                                     std::atomic<bool>* cancel) {
  fill_check(o->check, ro, cancel);
  ro.target = o->target == VRAMSNAP_TARGET_CUDA ? vramsnap::Target::Cuda : vramsnap::Target::Host;
  ro.device = o->device;
  ro.fixed_va = o->fixed_va != 0;
  ro.load_modules = o->load_modules != 0;
  ro.warm_modules = o->warm_modules != 0;
  ro.max_host_bytes = o->max_host_bytes;
  ro.max_output_bytes = o->max_output_bytes;
  ro.separate_host_buffers = o->separate_host_buffers != 0;
  for (size_t i = 0; o->regions && i < o->region_count; ++i) {
    if (!o->regions[i]) return vramsnap::Error(vramsnap::ErrorKind::Usage, "region name is NULL");
    ro.regions.emplace_back(o->regions[i]);
  }
  if (o->device_map && *o->device_map) {
    VRAMSNAP_ASSIGN_OR_RETURN(ro.device_map, vramsnap::parse_device_map_spec(o->device_map));
  }
  ro.staging = {o->staging_buffers, o->staging_buffer_bytes};
  switch (o->verify_on) {
    case VRAMSNAP_VERIFY_AUTO: ro.verify_on = vramsnap::VerifyOn::Auto; break;
    case VRAMSNAP_VERIFY_HOST: ro.verify_on = vramsnap::VerifyOn::Host; break;
    case VRAMSNAP_VERIFY_DEVICE: ro.verify_on = vramsnap::VerifyOn::Device; break;
    default: return vramsnap::Error(vramsnap::ErrorKind::Usage, "verify_on is not a vramsnap_verify_on value");
  }
  return {};
}

vramsnap_status vramsnap_extract(const vramsnap_snapshot* snap, const char* dir, const vramsnap_restore_options* o,
                                 int tree) {
  return guarded([&] {
    if (!snap || !dir || !o) return usage("snapshot, directory or options is NULL");
    vramsnap::RestoreOptions ro;
    std::atomic<bool> cancel{false};
    if (auto st = fill_restore(o, ro, &cancel); !st.ok()) return fail(st.error());
    auto r = tree ? vramsnap::extract_tree(snap->snap, dir, ro) : vramsnap::extract(snap->snap, dir, ro);
    if (!r.ok()) return fail(r.error());
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_restore(const vramsnap_snapshot* snap, const vramsnap_restore_options* o,
                                 vramsnap_restored** out) {
  return guarded([&] {
    if (!snap || !o || !out) return usage("snapshot, options or out is NULL");
    *out = nullptr;
    vramsnap::RestoreOptions ro;
    std::atomic<bool> cancel{false};
    if (auto st = fill_restore(o, ro, &cancel); !st.ok()) return fail(st.error());
    if (o->host_alloc) {
      auto fn = o->host_alloc;
      void* user = o->host_alloc_user;
      ro.host_allocator = [fn, user](const vramsnap::RegionMeta& m) { return fn(user, m.name.c_str(), m.size); };
    }
    auto r = vramsnap::restore(snap->snap, ro);
    if (!r.ok()) return fail(r.error());
    *out = new vramsnap_restored{std::move(r).value()};
    return VRAMSNAP_OK;
  });
}

size_t vramsnap_restored_count(const vramsnap_restored* r) { return r ? r->restored.regions().size() : 0; }

static void fill_restored(const vramsnap::RestoredRegion& rr, vramsnap_restored_region* out) {
  *out = vramsnap_restored_region{};
  out->name = rr.meta->name.c_str();
  out->kind = kind_to_c(rr.meta->kind);
  out->size = rr.meta->size;
  out->host = rr.host;
  out->device_ptr = rr.device_ptr;
  out->module = rr.module;
  out->device = rr.device;
}

vramsnap_status vramsnap_restored_get(const vramsnap_restored* r, size_t index, vramsnap_restored_region* out) {
  return guarded([&] {
    if (!r || !out) return usage("restored handle or out is NULL");
    if (index >= r->restored.regions().size()) return usage("region index out of range");
    fill_restored(r->restored.regions()[index], out);
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_restored_find(const vramsnap_restored* r, const char* name, vramsnap_restored_region* out) {
  return guarded([&] {
    if (!r || !name || !out) return usage("restored handle, name or out is NULL");
    const auto* rr = r->restored.find(name);
    if (!rr) {
      g_last_error = std::string("no restored region named \"") + name + "\"";
      return VRAMSNAP_ERR_USAGE;
    }
    fill_restored(*rr, out);
    return VRAMSNAP_OK;
  });
}

double vramsnap_restored_seconds(const vramsnap_restored* r) { return r ? r->restored.stats().phases.total : 0.0; }
void vramsnap_restored_release(vramsnap_restored* r) {
  if (r) r->restored.release();
}
void* const* vramsnap_restored_host_blocks(const vramsnap_restored* r, size_t* count) {
  if (count) *count = r ? r->restored.host_blocks().size() : 0;
  return r ? r->restored.host_blocks().data() : nullptr;
}
void vramsnap_restored_free(vramsnap_restored* r) { delete r; }

size_t vramsnap_label_count(const vramsnap_snapshot* snap, size_t region) {
  if (!snap) return 0;
  if (region == VRAMSNAP_SNAPSHOT_LABELS) return snap->snap.meta().labels.size();
  return region < snap->snap.regions().size() ? snap->snap.regions()[region].labels.size() : 0;
}

vramsnap_status vramsnap_label_get(const vramsnap_snapshot* snap, size_t region, size_t index, const char** key,
                                   const char** value) {
  return guarded([&] {
    if (!snap || !key || !value) return usage("snapshot, key or value is NULL");
    if (region != VRAMSNAP_SNAPSHOT_LABELS && region >= snap->snap.regions().size())
      return usage("region index out of range");
    const auto& labels =
        region == VRAMSNAP_SNAPSHOT_LABELS ? snap->snap.meta().labels : snap->snap.regions()[region].labels;
    if (index >= labels.size()) return usage("label index out of range");
    auto it = std::next(labels.begin(), static_cast<long>(index));
    *key = it->first.c_str();
    *value = it->second.c_str();
    return VRAMSNAP_OK;
  });
}

vramsnap_status vramsnap_capture_set_region_label(vramsnap_capture* c, const char* region_name, const char* key,
                                                  const char* value) {
  return guarded([&] {
    if (!c || !region_name || !key || !value) return usage("capture handle, region name, label key or value is NULL");
    for (auto it = c->regions.rbegin(); it != c->regions.rend(); ++it) {
      if (it->meta().name != region_name) continue;
      it->meta().labels[key] = value;
      return VRAMSNAP_OK;
    }
    g_last_error = std::string("no region named \"") + region_name + "\" in this capture";
    return VRAMSNAP_ERR_USAGE;
  });
}

void vramsnap_stream_options_init(vramsnap_stream_options* o) {
  if (!o) return;
  *o = vramsnap_stream_options{};
  vramsnap_restore_options_init(&o->restore);
}

vramsnap_status vramsnap_restore_stream(const vramsnap_snapshot* snap, const vramsnap_stream_options* o) {
  return guarded([&] {
    if (!snap || !o || !o->on_region) return usage("snapshot, options or on_region is NULL");
    vramsnap::StreamOptions so;
    std::atomic<bool> cancel{false};
    if (auto st = fill_restore(&o->restore, so, &cancel); !st.ok()) return fail(st.error());
    if (o->restore.host_alloc) {
      auto fn = o->restore.host_alloc;
      void* user = o->restore.host_alloc_user;
      so.host_allocator = [fn, user](const vramsnap::RegionMeta& m) { return fn(user, m.name.c_str(), m.size); };
    }
    for (size_t i = 0; o->order && i < o->order_count; ++i) {
      if (!o->order[i]) return usage("region name in the delivery order is NULL");
      so.order.emplace_back(o->order[i]);
    }
    auto fn = o->on_region;
    void* user = o->on_region_user;
    auto r = vramsnap::restore_stream(snap->snap, so, [fn, user](const vramsnap::RestoredRegion& rr) {
      vramsnap_restored_region c;
      fill_restored(rr, &c);
      return fn(user, rr.index, &c) != 0 ? vramsnap::Handover::Stop : vramsnap::Handover::Continue;
    });
    if (!r.ok()) return fail(r.error());
    return VRAMSNAP_OK;
  });
}

void vramsnap_free(void* buffer) { std::free(buffer); }

}  // extern "C"
