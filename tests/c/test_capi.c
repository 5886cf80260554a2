/* The C API, compiled as C: status codes, last-error messages, and a full
 * capture -> open -> verify -> restore cycle. Prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vramsnap/vramsnap.h>

static int passed, failed;
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (cond) ++passed;                                                               \
    else {                                                                            \
      ++failed;                                                                       \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, \
              #cond, vramsnap_last_error());                                          \
    }                                                                                 \
  } while (0)

/* Streaming handover: records the order, takes ownership, stops when told. */
struct handed {
  size_t order[8];
  size_t count;
  size_t stop_after;
  void* owned[8];
};
static int take_region(void* user, size_t index, const vramsnap_restored_region* region) {
  struct handed* h = (struct handed*)user;
  if (h->count < 8) {
    h->order[h->count] = index;
    h->owned[h->count] = region->host;
  }
  h->count++;
  return h->stop_after && h->count >= h->stop_after;
}

static int cancel_after_first(void* user, uint64_t done, uint64_t total) {
  (void)done; (void)total;
  return ++*(int*)user >= 1;
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/tmp";
  char snap_path[4096], missing[4096];
  snprintf(snap_path, sizeof snap_path, "%s/capi-%d.snap", dir, (int)getpid());
  snprintf(missing, sizeof missing, "%s/capi-missing-%d.snap", dir, (int)getpid());

  CHECK(strlen(vramsnap_version()) > 0);

  /* Errors: codes plus a message naming the problem. */
  vramsnap_snapshot* snap = NULL;
  CHECK(vramsnap_open(missing, &snap) == VRAMSNAP_ERR_IO);
  CHECK(snap == NULL);
  CHECK(strstr(vramsnap_last_error(), "capi-missing") != NULL);
  CHECK(vramsnap_open(NULL, &snap) == VRAMSNAP_ERR_USAGE);
  vramsnap_key* bad = NULL;
  CHECK(vramsnap_key_from_bytes("short", 5, &bad) == VRAMSNAP_ERR_USAGE);
  CHECK(vramsnap_key_load(NULL, &bad) == VRAMSNAP_ERR_USAGE);

  unsigned char kb[32], kb2[32];
  for (int i = 0; i < 32; ++i) { kb[i] = (unsigned char)i; kb2[i] = (unsigned char)(255 - i); }
  vramsnap_key *key = NULL, *other = NULL;
  CHECK(vramsnap_key_from_bytes(kb, 32, &key) == VRAMSNAP_OK);
  CHECK(vramsnap_key_from_bytes(kb2, 32, &other) == VRAMSNAP_OK);
  char id[17], id2[17];
  vramsnap_key_id(key, id);
  vramsnap_key_id(other, id2);
  CHECK(strlen(id) == 16 && strcmp(id, id2) != 0);

  /* Capture: two host regions, one of them all zeros, sealed. */
  size_t n = 300000;
  unsigned char* a = malloc(n);
  unsigned char* z = calloc(1, 70000);
  for (size_t i = 0; i < n; ++i) a[i] = (unsigned char)(i * 31 + (i >> 7));
  vramsnap_capture* cap = NULL;
  CHECK(vramsnap_capture_new(&cap) == VRAMSNAP_OK);
  uint64_t shape[2] = {1000, 300};
  vramsnap_region_desc da = {"state/a", VRAMSNAP_KIND_HOST, "u8", shape, 2, -1, 0};
  vramsnap_region_desc dz = {"zeros", VRAMSNAP_KIND_OTHER, NULL, NULL, 0, -1, 0};
  vramsnap_region_desc dbad = {"../escape", VRAMSNAP_KIND_HOST, NULL, NULL, 0, -1, 0};
  CHECK(vramsnap_capture_add_host(cap, &da, a, n) == VRAMSNAP_OK);
  CHECK(vramsnap_capture_add_host(cap, &dz, z, 70000) == VRAMSNAP_OK);
  CHECK(vramsnap_capture_add_host(cap, NULL, a, n) == VRAMSNAP_ERR_USAGE);
  vramsnap_capture_options co;
  vramsnap_capture_options_init(&co);
  co.chunk_size = 65536;
  co.key = key;
  co.generation = 3;
  char sid[33];
  CHECK(vramsnap_capture_write(cap, snap_path, &co, sid) == VRAMSNAP_OK);
  CHECK(strlen(sid) == 32);
  /* Exists now: refused without overwrite. */
  CHECK(vramsnap_capture_write(cap, snap_path, &co, NULL) == VRAMSNAP_ERR_IO);
  /* A bad region name is a usage error and writes nothing. */
  CHECK(vramsnap_capture_add_host(cap, &dbad, a, 10) == VRAMSNAP_OK);
  co.overwrite = 1;
  CHECK(vramsnap_capture_write(cap, snap_path, &co, NULL) == VRAMSNAP_ERR_USAGE);
  vramsnap_capture_free(cap);

  /* Remote settings reach the open: a file opens as with vramsnap_open; a
     named token file is read before any connection; plain HTTP off loopback
     is refused; the retry bound is the one given. */
  {
    vramsnap_remote_options ro;
    vramsnap_snapshot* rs = NULL;
    vramsnap_remote_options_init(&ro);
    CHECK(ro.timeout_s == 30 && ro.retries == 5 && ro.auth_file == NULL && ro.insecure == 0);
    CHECK(vramsnap_open_remote(snap_path, &ro, &rs) == VRAMSNAP_OK);
    CHECK(vramsnap_region_count(rs) == 2);
    vramsnap_close(rs);
    rs = NULL;
#ifdef VRAMSNAP_TEST_REMOTE
    ro.auth_file = missing;
    CHECK(vramsnap_open_remote("http://127.0.0.1:1/x.snap", &ro, &rs) != VRAMSNAP_OK);
    CHECK(rs == NULL);
    CHECK(strstr(vramsnap_last_error(), "capi-missing") != NULL);
    ro.auth_file = NULL;
    CHECK(vramsnap_open_remote("http://example.invalid/x.snap", &ro, &rs) == VRAMSNAP_ERR_USAGE);
    CHECK(vramsnap_open_remote("http://example.invalid/x.snap", NULL, &rs) == VRAMSNAP_ERR_USAGE);
    CHECK(vramsnap_open_remote(NULL, &ro, &rs) == VRAMSNAP_ERR_USAGE);
    ro.retries = 1;
    ro.timeout_s = 2;
    CHECK(vramsnap_open_remote("http://127.0.0.1:1/x.snap", &ro, &rs) == VRAMSNAP_ERR_IO);
    CHECK(strstr(vramsnap_last_error(), "after 1 tries") != NULL);
    CHECK(rs == NULL);
#else
    /* A build without remote sources refuses a URL by name. */
    CHECK(vramsnap_open_remote("http://127.0.0.1:1/x.snap", &ro, &rs) == VRAMSNAP_ERR_USAGE);
    CHECK(strstr(vramsnap_last_error(), "without remote sources") != NULL);
    CHECK(rs == NULL);
#endif
  }

  /* Open and inspect. */
  CHECK(vramsnap_open(snap_path, &snap) == VRAMSNAP_OK);
  CHECK(vramsnap_region_count(snap) == 2);
  CHECK(strcmp(vramsnap_snapshot_id(snap), sid) == 0);
  CHECK(vramsnap_generation(snap) == 3);
  char sealed_by[17];
  CHECK(vramsnap_is_sealed(snap, sealed_by) == 1 && strcmp(sealed_by, id) == 0);
  vramsnap_region_info info;
  CHECK(vramsnap_region_get(snap, 0, &info) == VRAMSNAP_OK);
  CHECK(strcmp(info.name, "state/a") == 0 && info.size == n && info.rank == 2 && info.shape[1] == 300);
  CHECK(strcmp(info.dtype, "u8") == 0 && info.kind == VRAMSNAP_KIND_HOST);
  CHECK(vramsnap_region_get(snap, 2, &info) == VRAMSNAP_ERR_USAGE);

  /* Verify: right key, wrong key (names both ids), no key. */
  vramsnap_check_options chk;
  vramsnap_check_options_init(&chk);
  chk.key = key;
  CHECK(vramsnap_verify(snap, &chk) == VRAMSNAP_OK);
  chk.key = other;
  CHECK(vramsnap_verify(snap, &chk) == VRAMSNAP_ERR_INTEGRITY);
  CHECK(strstr(vramsnap_last_error(), id) != NULL && strstr(vramsnap_last_error(), id2) != NULL);
  chk.key = NULL;
  CHECK(vramsnap_verify(snap, &chk) != VRAMSNAP_OK);
  chk.key = key;
  chk.has_min_generation = 1;
  chk.min_generation = 4;
  CHECK(vramsnap_verify(snap, &chk) == VRAMSNAP_ERR_INTEGRITY);

  /* Restore: library-owned buffers, partial restore, cancellation. */
  vramsnap_restore_options ro;
  vramsnap_restore_options_init(&ro);
  ro.check.key = key;
  vramsnap_restored* r = NULL;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_OK);
  CHECK(vramsnap_restored_count(r) == 2);
  vramsnap_restored_region rr;
  CHECK(vramsnap_restored_find(r, "state/a", &rr) == VRAMSNAP_OK);
  CHECK(rr.size == n && memcmp(rr.host, a, n) == 0);
  CHECK(vramsnap_restored_find(r, "zeros", &rr) == VRAMSNAP_OK);
  CHECK(rr.size == 70000 && memcmp(rr.host, z, 70000) == 0);
  CHECK(vramsnap_restored_find(r, "nope", &rr) == VRAMSNAP_ERR_USAGE);
  /* After release the host block is ours to free: both regions lie in it. */
  size_t blocks = 0;
  void* const* block = vramsnap_restored_host_blocks(r, &blocks);
  CHECK(blocks == 1 && block != NULL);
  void* owned = blocks == 1 ? block[0] : NULL;
  vramsnap_restored_release(r);
  vramsnap_restored_free(r);
  free(owned);

  const char* only[1] = {"zeros"};
  ro.regions = only;
  ro.region_count = 1;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_OK);
  CHECK(vramsnap_restored_count(r) == 1);
  vramsnap_restored_free(r);
  const char* unknown[1] = {"missing-region"};
  ro.regions = unknown;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_ERR_USAGE && r == NULL);

  /* CUDA placement options are checked before anything else happens. */
  ro.regions = NULL;
  ro.region_count = 0;
  ro.device_map = "0:0,1:x";
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_ERR_USAGE && r == NULL);
  CHECK(strstr(vramsnap_last_error(), "\"1:x\"") != NULL);
  ro.device_map = NULL;
  ro.verify_on = 7;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_ERR_USAGE && r == NULL);
  ro.verify_on = VRAMSNAP_VERIFY_AUTO;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_OK);
  CHECK(vramsnap_restored_get(r, 0, &rr) == VRAMSNAP_OK && rr.device == -1);
  vramsnap_restored_free(r);

  ro.regions = NULL;
  ro.region_count = 0;
  ro.check.threads = 1;
  int calls = 0;
  ro.check.progress = cancel_after_first;
  ro.check.progress_user = &calls;
  CHECK(vramsnap_restore(snap, &ro, &r) == VRAMSNAP_ERR_INTERRUPTED && r == NULL);

  /* The CUDA target without a GPU: unavailable (6), not a crash. */
  ro.check.progress = NULL;
  ro.target = VRAMSNAP_TARGET_CUDA;
  vramsnap_status st = vramsnap_restore(snap, &ro, &r);
  CHECK(st == VRAMSNAP_OK || st == VRAMSNAP_ERR_UNAVAILABLE);
  if (st == VRAMSNAP_OK) vramsnap_restored_free(r);

  /* Re-seal with the other key through the C API. */
  vramsnap_close(snap);
  CHECK(vramsnap_seal(snap_path, other) == VRAMSNAP_OK);
  CHECK(vramsnap_open(snap_path, &snap) == VRAMSNAP_OK);
  chk.key = other;
  chk.has_min_generation = 0;
  CHECK(vramsnap_verify(snap, &chk) == VRAMSNAP_OK);
  CHECK(strcmp(vramsnap_seal_algorithm(snap), "hmac-sha256") == 0);
  vramsnap_close(snap);

  /* A directory image: capture_add_tree, then vramsnap_extract as a tree
   * (mode kept) and refused over an existing tree; --max-output's field. */
  {
    char tree[2048], out[2048], path[4200], tsnap[2048];
    snprintf(tree, sizeof tree, "%s/capi-tree-%d", dir, (int)getpid());
    snprintf(out, sizeof out, "%s/capi-tree-out-%d", dir, (int)getpid());
    snprintf(tsnap, sizeof tsnap, "%s/capi-tree-%d.snap", dir, (int)getpid());
    snprintf(path, sizeof path, "%s/sub", tree);
    CHECK(mkdir(tree, 0755) == 0 && mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/sub/f.img", tree);
    FILE* f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
      fputs("image", f);
      fclose(f);
    }
    CHECK(chmod(path, 0600) == 0);
    vramsnap_capture* tc = NULL;
    CHECK(vramsnap_capture_new(&tc) == VRAMSNAP_OK);
    CHECK(vramsnap_capture_add_tree(tc, tree) == VRAMSNAP_OK);
    CHECK(vramsnap_capture_add_tree(tc, NULL) == VRAMSNAP_ERR_USAGE);
    CHECK(vramsnap_capture_write(tc, tsnap, NULL, NULL) == VRAMSNAP_OK);
    vramsnap_capture_free(tc);
    vramsnap_snapshot* ts = NULL;
    CHECK(vramsnap_open(tsnap, &ts) == VRAMSNAP_OK);
    vramsnap_restore_options to;
    vramsnap_restore_options_init(&to);
    CHECK(to.max_output_bytes == 0);
    to.check.allow_unsealed = 1;
    to.max_output_bytes = 4;
    CHECK(vramsnap_extract(ts, out, &to, 1) == VRAMSNAP_ERR_RESOURCE);
    CHECK(access(out, F_OK) != 0);
    to.max_output_bytes = 0;
    CHECK(vramsnap_extract(ts, out, &to, 1) == VRAMSNAP_OK);
    snprintf(path, sizeof path, "%s/sub/f.img", out);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600 && sb.st_size == 5);
    CHECK(vramsnap_extract(ts, out, &to, 1) == VRAMSNAP_ERR_IO);
    vramsnap_close(ts);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", out);
    rmdir(path);
    rmdir(out);
    snprintf(path, sizeof path, "%s/sub/f.img", tree);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", tree);
    rmdir(path);
    rmdir(tree);
    unlink(tsnap);
  }

  /* Streaming handover: the caller's order, each region once, the caller
   * owns delivered buffers; stopping; labels of the snapshot and a region. */
  {
    CHECK(vramsnap_open(snap_path, &snap) == VRAMSNAP_OK);
    vramsnap_stream_options so;
    vramsnap_stream_options_init(&so);
    CHECK(so.restore.load_modules == 1);
    so.restore.check.key = other;
    so.restore.check.threads = 2;
    const char* order[1] = {"zeros"};
    so.order = order;
    so.order_count = 1;
    struct handed h = {{0}, 0, 0, {0}};
    so.on_region = take_region;
    so.on_region_user = &h;
    CHECK(vramsnap_restore_stream(snap, &so) == VRAMSNAP_OK);
    CHECK(h.count == 2 && h.order[0] == 1 && h.order[1] == 0);
    CHECK(h.owned[0] && memcmp(h.owned[0], z, 70000) == 0);
    CHECK(h.owned[1] && memcmp(h.owned[1], a, n) == 0);
    vramsnap_free(h.owned[0]);
    vramsnap_free(h.owned[1]);
    struct handed s1 = {{0}, 0, 1, {0}};
    so.on_region_user = &s1;
    CHECK(vramsnap_restore_stream(snap, &so) == VRAMSNAP_ERR_INTERRUPTED);
    CHECK(s1.count == 1 && strstr(vramsnap_last_error(), "1 of 2") != NULL);
    vramsnap_free(s1.owned[0]);
    so.on_region = NULL;
    CHECK(vramsnap_restore_stream(snap, &so) == VRAMSNAP_ERR_USAGE);
    so.on_region = take_region;
    so.restore.check.key = key; /* the wrong key: nothing delivered */
    struct handed s2 = {{0}, 0, 0, {0}};
    so.on_region_user = &s2;
    CHECK(vramsnap_restore_stream(snap, &so) == VRAMSNAP_ERR_INTEGRITY && s2.count == 0);
    CHECK(vramsnap_label_count(snap, VRAMSNAP_SNAPSHOT_LABELS) == 0);
    CHECK(vramsnap_label_count(snap, 0) == 0);
    const char *lk = NULL, *lv = NULL;
    CHECK(vramsnap_label_get(snap, 0, 0, &lk, &lv) == VRAMSNAP_ERR_USAGE);
    vramsnap_close(snap);

    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s.labels", snap_path);
    vramsnap_capture* lc = NULL;
    CHECK(vramsnap_capture_new(&lc) == VRAMSNAP_OK);
    CHECK(vramsnap_capture_add_host(lc, &da, a, n) == VRAMSNAP_OK);
    CHECK(vramsnap_capture_set_label(lc, "model", "m1") == VRAMSNAP_OK);
    CHECK(vramsnap_capture_set_region_label(lc, "state/a", "rank", "2") == VRAMSNAP_OK);
    CHECK(vramsnap_capture_set_region_label(lc, "nope", "rank", "2") == VRAMSNAP_ERR_USAGE);
    CHECK(vramsnap_capture_write(lc, lpath, NULL, NULL) == VRAMSNAP_OK);
    vramsnap_capture_free(lc);
    CHECK(vramsnap_open(lpath, &snap) == VRAMSNAP_OK);
    CHECK(vramsnap_label_count(snap, VRAMSNAP_SNAPSHOT_LABELS) == 1);
    CHECK(vramsnap_label_get(snap, VRAMSNAP_SNAPSHOT_LABELS, 0, &lk, &lv) == VRAMSNAP_OK);
    CHECK(strcmp(lk, "model") == 0 && strcmp(lv, "m1") == 0);
    CHECK(vramsnap_label_count(snap, 0) == 1);
    CHECK(vramsnap_label_get(snap, 0, 0, &lk, &lv) == VRAMSNAP_OK);
    CHECK(strcmp(lk, "rank") == 0 && strcmp(lv, "2") == 0);
    CHECK(vramsnap_label_get(snap, 0, 1, &lk, &lv) == VRAMSNAP_ERR_USAGE);
    vramsnap_close(snap);
    unlink(lpath);
  }

  /* Ed25519: sign with a private key from a seed, verify with its public key
   * alone; a host given only the public key refuses an HMAC seal. */
  unsigned char seed[32];
  for (int i = 0; i < 32; ++i) seed[i] = (unsigned char)i;
  vramsnap_key *signer = NULL, *pub = NULL;
  CHECK(vramsnap_key_ed25519_from_seed(seed, 32, &signer) == VRAMSNAP_OK);
  CHECK(vramsnap_key_get_type(signer) == VRAMSNAP_KEY_ED25519_PRIVATE);
  CHECK(vramsnap_key_public(signer, &pub) == VRAMSNAP_OK);
  CHECK(vramsnap_key_get_type(pub) == VRAMSNAP_KEY_ED25519_PUBLIC);
  CHECK(vramsnap_key_get_type(key) == VRAMSNAP_KEY_SECRET);
  vramsnap_key_id(pub, id);
  CHECK(strcmp(id, "9f1ce4a508f663bd") == 0); /* formats/snapshot-v1.md 9.4 */
  vramsnap_key* none = NULL;
  CHECK(vramsnap_key_public(key, &none) == VRAMSNAP_ERR_USAGE);
  CHECK(vramsnap_seal(snap_path, pub) == VRAMSNAP_ERR_USAGE); /* a public key never seals */
  const vramsnap_key* trusted[1] = {pub};
  vramsnap_check_options pchk;
  vramsnap_check_options_init(&pchk);
  pchk.trusted_keys = trusted;
  pchk.trusted_key_count = 1;
  CHECK(vramsnap_open(snap_path, &snap) == VRAMSNAP_OK);
  CHECK(vramsnap_verify(snap, &pchk) == VRAMSNAP_ERR_INTEGRITY); /* HMAC-sealed */
  vramsnap_close(snap);
  CHECK(vramsnap_seal(snap_path, signer) == VRAMSNAP_OK);
  CHECK(vramsnap_open(snap_path, &snap) == VRAMSNAP_OK);
  CHECK(strcmp(vramsnap_seal_algorithm(snap), "ed25519") == 0);
  CHECK(vramsnap_verify(snap, &pchk) == VRAMSNAP_OK);
  vramsnap_close(snap);
  vramsnap_key_free(signer);
  vramsnap_key_free(pub);

  vramsnap_key_free(key);
  vramsnap_key_free(other);
  free(a);
  free(z);
  unlink(snap_path);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
