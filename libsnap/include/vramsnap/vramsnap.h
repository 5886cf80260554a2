/* libvramsnap C API: capture, verify and restore GPU workload snapshots from
 * any language with a C FFI (Rust, Python, Go, Wasm runtimes).
 *
 * Conventions
 * - Every fallible call returns a vramsnap_status; VRAMSNAP_OK is 0. The
 *   message of the last failure on the calling thread is vramsnap_last_error().
 * - Handles are opaque and freed with their *_free / vramsnap_close function;
 *   passing NULL to a free function is a no-op.
 * - Option structs are initialised with their *_init function first, so new
 *   fields added later get safe defaults.
 * - Thread safety: a vramsnap_snapshot may be used from several threads at
 *   once (verify/restore only read it); other handles belong to one thread at
 *   a time. The library starts its own worker threads.
 * - Status values equal the vramsnap command's exit codes. */
#ifndef VRAMSNAP_H
#define VRAMSNAP_H

#include <stddef.h>
#include <stdint.h>

#include "vramsnap/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vramsnap_status {
  VRAMSNAP_OK = 0,
  VRAMSNAP_ERR_INTEGRITY = 1,   /* bad seal, wrong key, hash mismatch, unsealed, too old */
  VRAMSNAP_ERR_USAGE = 2,       /* bad argument */
  VRAMSNAP_ERR_FORMAT = 3,      /* not a snapshot, truncated, corrupt structure */
  VRAMSNAP_ERR_IO = 4,          /* read/write failure, output exists */
  VRAMSNAP_ERR_RESOURCE = 5,    /* out of memory (host or GPU), a cap exceeded */
  VRAMSNAP_ERR_UNAVAILABLE = 6, /* no GPU/driver, or incompatible */
  VRAMSNAP_ERR_INTERRUPTED = 130
} vramsnap_status;
/* Deprecated: the old name of VRAMSNAP_ERR_INTEGRITY, kept so that existing
 * callers still compile. */
#define VRAMSNAP_ERR_VERIFY VRAMSNAP_ERR_INTEGRITY

typedef enum vramsnap_region_kind {
  VRAMSNAP_KIND_DEVICE = 0,
  VRAMSNAP_KIND_HOST = 1,
  VRAMSNAP_KIND_MODULE = 2,
  VRAMSNAP_KIND_OTHER = 3
} vramsnap_region_kind;

enum { VRAMSNAP_FLAG_READ_MOSTLY = 1u << 0, VRAMSNAP_FLAG_WARM = 1u << 1 };

typedef enum vramsnap_target { VRAMSNAP_TARGET_HOST = 0, VRAMSNAP_TARGET_CUDA = 1 } vramsnap_target;

typedef struct vramsnap_key vramsnap_key;
typedef struct vramsnap_snapshot vramsnap_snapshot;
typedef struct vramsnap_capture vramsnap_capture;
typedef struct vramsnap_restored vramsnap_restored;

/* Progress: return non-zero to cancel the operation (it then fails with
 * VRAMSNAP_ERR_INTERRUPTED and leaves nothing behind). */
typedef int (*vramsnap_progress_fn)(void* user, uint64_t bytes_done, uint64_t bytes_total);

VRAMSNAP_API const char* vramsnap_version(void);
/* Message of the last failure on this thread ("" if none). Valid until the next call on this thread. */
VRAMSNAP_API const char* vramsnap_last_error(void);

/* ---- keys ----------------------------------------------------------------- */
typedef enum vramsnap_key_type {
  VRAMSNAP_KEY_SECRET = 0,           /* 32-byte HMAC-SHA256 key: seals and checks */
  VRAMSNAP_KEY_ED25519_PRIVATE = 1,  /* Ed25519 signing key: signs and checks */
  VRAMSNAP_KEY_ED25519_PUBLIC = 2    /* Ed25519 public key: checks only */
} vramsnap_key_type;

/* Loads a secret key file (mode 0600 or stricter, owned by the caller, not a
 * symbolic link): 32 bytes (HMAC) or a PEM PKCS#8 Ed25519 private key. */
VRAMSNAP_API vramsnap_status vramsnap_key_load(const char* path, vramsnap_key** out);
/* Loads a PEM Ed25519 public key (not writable by group or others). HMAC key
 * files and private keys are refused. */
VRAMSNAP_API vramsnap_status vramsnap_key_load_public(const char* path, vramsnap_key** out);
/* Creates an Ed25519 key pair: private_path (mode 0600) and public_path (NULL:
 * private_path with ".key" replaced by ".pub"); neither may exist. */
VRAMSNAP_API vramsnap_status vramsnap_key_generate_ed25519(const char* private_path, const char* public_path,
                                                           char key_id[17]);
/* An Ed25519 private key from its 32-byte seed (hosts with a secret store). */
VRAMSNAP_API vramsnap_status vramsnap_key_ed25519_from_seed(const void* seed, size_t size, vramsnap_key** out);
/* The public key of an Ed25519 key (VRAMSNAP_ERR_USAGE for an HMAC key). */
VRAMSNAP_API vramsnap_status vramsnap_key_public(const vramsnap_key* key, vramsnap_key** out);
VRAMSNAP_API vramsnap_key_type vramsnap_key_get_type(const vramsnap_key* key);
/* NULL path: $VRAMSNAP_KEY_FILE, then $CREDENTIALS_DIRECTORY/vramsnap.key. */
VRAMSNAP_API vramsnap_status vramsnap_key_resolve(const char* path_or_null, vramsnap_key** out);
VRAMSNAP_API vramsnap_status vramsnap_key_from_bytes(const void* bytes, size_t size, vramsnap_key** out);
/* Creates a new key file (mode 0600, never overwrites); writes the 16-hex-digit key id + NUL. */
VRAMSNAP_API vramsnap_status vramsnap_key_generate(const char* path, char key_id[17]);
VRAMSNAP_API void vramsnap_key_id(const vramsnap_key* key, char key_id[17]);
VRAMSNAP_API void vramsnap_key_free(vramsnap_key* key); /* wipes the key bytes */

/* ---- capture ---------------------------------------------------------------- */
typedef struct vramsnap_region_desc {
  const char* name;            /* unique; see formats/snapshot-v1.md for the rules */
  vramsnap_region_kind kind;
  const char* dtype;           /* "bf16", "f32", ...; NULL or "" when unknown */
  const uint64_t* shape;       /* may be NULL */
  size_t rank;
  int32_t device;              /* device ordinal, -1 for none */
  uint32_t flags;              /* VRAMSNAP_FLAG_* */
} vramsnap_region_desc;

typedef struct vramsnap_capture_options {
  uint64_t chunk_size;         /* default 4 MiB */
  const char* codec;           /* "auto" (default), "raw", "zstd", "shuffle", "planes", "palette" */
  int level;                   /* zstd level, default 3 */
  unsigned threads;            /* 0: all cores */
  uint64_t generation;
  int overwrite;               /* replace an existing output file */
  const vramsnap_key* key;     /* seal as it writes; NULL: unsealed */
  vramsnap_progress_fn progress;
  void* progress_user;
  const char* chunk_hash;      /* "leaf-sha256" (default; format 1.1) or "sha256" (flat; format 1.0) */
  /* Regions smaller than this share packed chunks (format 1.3). -1 (default):
   * 64 KiB in leaf-hashed files, never with chunk_hash "sha256"; 0: never. */
  int64_t pack_below;
} vramsnap_capture_options;

VRAMSNAP_API void vramsnap_capture_options_init(vramsnap_capture_options* options);
VRAMSNAP_API vramsnap_status vramsnap_capture_new(vramsnap_capture** out);
/* Host memory: must stay valid and unchanged until vramsnap_capture_write returns. */
VRAMSNAP_API vramsnap_status vramsnap_capture_add_host(vramsnap_capture* c, const vramsnap_region_desc* desc,
                                                       const void* data, uint64_t size);
/* CUDA device memory (copied through pinned buffers); its address is recorded. */
VRAMSNAP_API vramsnap_status vramsnap_capture_add_device(vramsnap_capture* c, const vramsnap_region_desc* desc,
                                                         const void* device_ptr, uint64_t size);
VRAMSNAP_API vramsnap_status vramsnap_capture_add_file(vramsnap_capture* c, const vramsnap_region_desc* desc,
                                                       const char* path, uint64_t offset, uint64_t size);
/* Adds every regular file below dir as a region named by its relative path,
 * its mode in the region label "mode" (vramsnap::regions_from_tree). */
VRAMSNAP_API vramsnap_status vramsnap_capture_add_tree(vramsnap_capture* c, const char* dir);
VRAMSNAP_API vramsnap_status vramsnap_capture_set_label(vramsnap_capture* c, const char* key, const char* value);
/* Writes the snapshot (temp file + fsync + rename). snapshot_id receives 32 hex digits + NUL (may be NULL). */
VRAMSNAP_API vramsnap_status vramsnap_capture_write(vramsnap_capture* c, const char* path,
                                                    const vramsnap_capture_options* options, char snapshot_id[33]);
VRAMSNAP_API void vramsnap_capture_free(vramsnap_capture* c);

/* ---- open, inspect, verify, seal ---------------------------------------------- */
typedef struct vramsnap_region_info {
  const char* name;            /* valid while the snapshot is open */
  vramsnap_region_kind kind;
  const char* dtype;           /* "" when unknown */
  const uint64_t* shape;
  size_t rank;
  uint64_t size;
  int32_t device;
  int has_va;
  uint64_t va;
  uint32_t flags;
} vramsnap_region_info;

/* path: a file, an http(s):// URL or an oci://REGISTRY/REPO:TAG|@sha256:DIGEST
   reference, read in place with range requests; credentials for remote
   locations come from $VRAMSNAP_AUTH_FILE and the docker config.json
   ($DOCKER_CONFIG), as described in vramsnap/remote.hpp; vramsnap_open_remote
   names them explicitly. */
VRAMSNAP_API vramsnap_status vramsnap_open(const char* path, vramsnap_snapshot** out);

/* Settings for remote locations, as the tool's --auth-file, --ca-file,
   --registry-config, --insecure, --timeout and --retries. Paths only: a
   token or login never passes through this struct. NULL or "" keeps the
   environment's default. Ignored for a local file. */
typedef struct vramsnap_remote_options {
  const char* auth_file;       /* bearer token file (mode 0600); NULL: $VRAMSNAP_AUTH_FILE for http(s) */
  const char* ca_file;         /* extra CA certificates (PEM) besides the system store */
  const char* registry_config; /* docker config.json; NULL: $DOCKER_CONFIG, else ~/.docker */
  int insecure;                /* allow plain HTTP to hosts other than loopback */
  unsigned timeout_s;          /* connect and stall timeout; 30 after init */
  unsigned retries;            /* tries per request without progress; 5 after init */
} vramsnap_remote_options;

VRAMSNAP_API void vramsnap_remote_options_init(vramsnap_remote_options* options);
/* vramsnap_open with explicit remote settings; options may be NULL (defaults). */
VRAMSNAP_API vramsnap_status vramsnap_open_remote(const char* location, const vramsnap_remote_options* options,
                                                  vramsnap_snapshot** out);
VRAMSNAP_API void vramsnap_close(vramsnap_snapshot* snap);
VRAMSNAP_API size_t vramsnap_region_count(const vramsnap_snapshot* snap);
VRAMSNAP_API vramsnap_status vramsnap_region_get(const vramsnap_snapshot* snap, size_t index, vramsnap_region_info* out);
VRAMSNAP_API uint64_t vramsnap_generation(const vramsnap_snapshot* snap);
VRAMSNAP_API const char* vramsnap_snapshot_id(const vramsnap_snapshot* snap); /* 32 hex digits */
/* 1 when sealed; key_id (may be NULL) receives the sealing key id. */
VRAMSNAP_API int vramsnap_is_sealed(const vramsnap_snapshot* snap, char key_id[17]);
/* The seal algorithm's name: "hmac-sha256", "ed25519"; "" when unsealed. */
VRAMSNAP_API const char* vramsnap_seal_algorithm(const vramsnap_snapshot* snap);

typedef struct vramsnap_check_options {
  const vramsnap_key* key;     /* required for sealed snapshots unless allow_unsealed */
  int allow_unsealed;
  int has_min_generation;
  uint64_t min_generation;
  unsigned threads;
  vramsnap_progress_fn progress;
  void* progress_user;
  /* Further keys, any one of which may have sealed (Ed25519 public keys). A
   * host given only public keys refuses HMAC-sealed files, and unsealed ones
   * unless allow_unsealed. */
  const vramsnap_key* const* trusted_keys;
  size_t trusted_key_count;
} vramsnap_check_options;

VRAMSNAP_API void vramsnap_check_options_init(vramsnap_check_options* options);
VRAMSNAP_API vramsnap_status vramsnap_verify(const vramsnap_snapshot* snap, const vramsnap_check_options* options);
/* Seals (or re-seals) a snapshot file in place. */
VRAMSNAP_API vramsnap_status vramsnap_seal(const char* path, const vramsnap_key* key);

/* ---- restore ------------------------------------------------------------------ */
/* Caller-provided host memory: return a buffer of `size` bytes for the region,
 * or NULL to let the library allocate (regions it allocates are slices of
 * one block, freed by vramsnap_restored_free, or by the caller with free()
 * of each vramsnap_restored_host_blocks() entry after vramsnap_restored_release). */
typedef void* (*vramsnap_alloc_fn)(void* user, const char* region_name, uint64_t size);

/* Where the CUDA target checks chunk hashes: AUTO puts leaf-hashed raw chunks
 * on the GPU (their stored bytes cross PCIe once and are hashed there) and
 * everything else on the host. */
typedef enum vramsnap_verify_on {
  VRAMSNAP_VERIFY_AUTO = 0,
  VRAMSNAP_VERIFY_HOST = 1,
  VRAMSNAP_VERIFY_DEVICE = 2
} vramsnap_verify_on;

typedef struct vramsnap_restore_options {
  vramsnap_check_options check;
  vramsnap_target target;
  int device;                  /* CUDA device ordinal */
  int fixed_va;                /* map device regions at their recorded addresses */
  int load_modules;            /* default 1 */
  int warm_modules;
  const char* const* regions;  /* NULL: all regions */
  size_t region_count;
  vramsnap_alloc_fn host_alloc;
  void* host_alloc_user;
  uint64_t max_host_bytes;     /* host target: most bytes the library allocates for regions;
                                  0 (default): the memory available now; UINT64_MAX: no limit */
  uint64_t max_output_bytes;   /* extract: most bytes the files may declare, checked before anything
                                  is created; 0 (default): the space available on the target's file
                                  system; UINT64_MAX: no limit */
  const char* device_map;      /* CUDA: "SRC:DST[,SRC:DST...]", recorded device ordinal -> GPU of this
                                  machine; NULL or "" (default): every region onto `device` */
  uint32_t staging_buffers;    /* CUDA: pinned staging buffers per target GPU; 0 (default): 8 */
  uint64_t staging_buffer_bytes; /* CUDA: bytes per staging buffer; 0 (default): 16 MiB */
  int32_t verify_on;           /* CUDA: where chunk hashes are checked, a vramsnap_verify_on value;
                                  default VRAMSNAP_VERIFY_AUTO; any other value is a usage error */
  int separate_host_buffers;   /* host target: each region the library allocates gets its own buffer
                                  (free() each after vramsnap_restored_release) instead of a slice
                                  of one block; default 0 */
} vramsnap_restore_options;

typedef struct vramsnap_restored_region {
  const char* name;            /* valid while the restored handle lives */
  vramsnap_region_kind kind;
  uint64_t size;
  void* host;                  /* host regions (and module bytes) */
  uint64_t device_ptr;         /* device regions on the CUDA target (CUdeviceptr) */
  void* module;                /* CUmodule for loaded module regions */
  int32_t device;              /* CUDA: the GPU holding device_ptr or module; -1 otherwise */
} vramsnap_restored_region;

VRAMSNAP_API void vramsnap_restore_options_init(vramsnap_restore_options* options);
VRAMSNAP_API vramsnap_status vramsnap_restore(const vramsnap_snapshot* snap, const vramsnap_restore_options* options,
                                              vramsnap_restored** out);
/* Writes the selected regions as files under dir, verified, all or nothing.
 * tree == 0: DIR/<percent-encoded name> (vramsnap::extract); tree != 0: the
 * directory image a capture of a tree recorded, names as relative paths and
 * modes restored (vramsnap::extract_tree). */
VRAMSNAP_API vramsnap_status vramsnap_extract(const vramsnap_snapshot* snap, const char* dir,
                                              const vramsnap_restore_options* options, int tree);
VRAMSNAP_API size_t vramsnap_restored_count(const vramsnap_restored* r);
VRAMSNAP_API vramsnap_status vramsnap_restored_get(const vramsnap_restored* r, size_t index, vramsnap_restored_region* out);
VRAMSNAP_API vramsnap_status vramsnap_restored_find(const vramsnap_restored* r, const char* name,
                                                    vramsnap_restored_region* out);
/* Wall-clock seconds the restore took. */
VRAMSNAP_API double vramsnap_restored_seconds(const vramsnap_restored* r);
/* Gives up ownership for good: the library's host blocks become the
 * caller's (free() each one vramsnap_restored_host_blocks lists, never a
 * region's host pointer); device memory and modules stay alive for the life
 * of the process (regions may share one device allocation: never free a
 * region's device pointer). */
VRAMSNAP_API void vramsnap_restored_release(vramsnap_restored* r);
/* The host allocations the library made for regions (one for a host
 * restore); *count receives their number. Valid while the handle lives. */
VRAMSNAP_API void* const* vramsnap_restored_host_blocks(const vramsnap_restored* r, size_t* count);
VRAMSNAP_API void vramsnap_restored_free(vramsnap_restored* r);

/* ---- labels ------------------------------------------------------------------- */
/* Snapshot labels (region == VRAMSNAP_SNAPSHOT_LABELS) or one region's labels,
 * in key order. Strings are valid while the snapshot is open. */
#define VRAMSNAP_SNAPSHOT_LABELS ((size_t)-1)
VRAMSNAP_API size_t vramsnap_label_count(const vramsnap_snapshot* snap, size_t region);
VRAMSNAP_API vramsnap_status vramsnap_label_get(const vramsnap_snapshot* snap, size_t region, size_t index,
                                                const char** key, const char** value);
/* Sets a label of the region named `region_name`, added to the capture before. */
VRAMSNAP_API vramsnap_status vramsnap_capture_set_region_label(vramsnap_capture* c, const char* region_name,
                                                               const char* key, const char* value);

/* ---- streaming handover ------------------------------------------------------- */
/* Called once per region, on the thread that called vramsnap_restore_stream,
 * as soon as every chunk of the region has been verified and placed, in
 * delivery order. `index` is the region's index in the snapshot; region->host
 * holds its bytes. Return 0 to go on, non-zero to stop: the restore then
 * fails with VRAMSNAP_ERR_INTERRUPTED.
 *
 * Ownership: a delivered region's host buffer is the caller's from the moment
 * of the call; free it with vramsnap_free (buffers from host_alloc were the
 * caller's all along). Delivered regions stay valid and the caller's when the
 * restore fails later or is stopped; the library frees every buffer it
 * allocated and has not delivered. region->name is valid during the call. */
typedef int (*vramsnap_region_ready_fn)(void* user, size_t index, const vramsnap_restored_region* region);

typedef struct vramsnap_stream_options {
  vramsnap_restore_options restore;  /* the host target only */
  /* Delivery order by region name; regions selected but not named follow in
   * file order. NULL: file order. */
  const char* const* order;
  size_t order_count;
  vramsnap_region_ready_fn on_region;
  void* on_region_user;
} vramsnap_stream_options;

VRAMSNAP_API void vramsnap_stream_options_init(vramsnap_stream_options* options);
/* Restores into host memory, handing each region over as it completes; the
 * seal is checked first. VRAMSNAP_OK once every region has been delivered. */
VRAMSNAP_API vramsnap_status vramsnap_restore_stream(const vramsnap_snapshot* snap,
                                                     const vramsnap_stream_options* options);
/* Frees a host buffer that the library handed over (streaming handover, or
 * after vramsnap_restored_release). NULL is a no-op. */
VRAMSNAP_API void vramsnap_free(void* buffer);

#ifdef __cplusplus
}
#endif
#endif /* VRAMSNAP_H */
