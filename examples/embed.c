/* embed: the capture/restore round trip from C, as a Rust, Python or Wasm
 * host would drive it through the C API.
 *   embed WORKDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vramsnap/vramsnap.h>

static int check(vramsnap_status st, const char* what) {
  if (st != VRAMSNAP_OK) {
    fprintf(stderr, "%s failed (status %d): %s\n", what, (int)st, vramsnap_last_error());
    return 1;
  }
  return 0;
}

/* Caller-provided memory for restored regions. */
static void* my_alloc(void* user, const char* name, uint64_t size) {
  (void)name;
  *(int*)user += 1;
  return malloc(size ? size : 1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
    return 2;
  }
  char key_path[4096], snap_path[4096];
  snprintf(key_path, sizeof key_path, "%s/embed.key", argv[1]);
  snprintf(snap_path, sizeof snap_path, "%s/embed.snap", argv[1]);
  unlink(key_path);

  char key_id[17];
  if (check(vramsnap_key_generate(key_path, key_id), "keygen")) return 1;
  vramsnap_key* key = NULL;
  if (check(vramsnap_key_load(key_path, &key), "key load")) return 1;

  /* A Wasm linear memory and a small table of floats. */
  size_t heap_size = 1u << 20;
  unsigned char* heap = malloc(heap_size);
  for (size_t i = 0; i < heap_size; ++i) heap[i] = (unsigned char)((i * 7) ^ (i >> 9));
  float table[1000];
  for (int i = 0; i < 1000; ++i) table[i] = (float)i * 0.5f;
  uint64_t shape[1] = {1000};

  vramsnap_capture* cap = NULL;
  if (check(vramsnap_capture_new(&cap), "capture_new")) return 1;
  vramsnap_region_desc heap_desc = {"wasm.heap", VRAMSNAP_KIND_HOST, "u8", NULL, 0, -1, 0};
  vramsnap_region_desc table_desc = {"table", VRAMSNAP_KIND_HOST, "f32", shape, 1, -1, 0};
  if (check(vramsnap_capture_add_host(cap, &heap_desc, heap, heap_size), "add heap")) return 1;
  if (check(vramsnap_capture_add_host(cap, &table_desc, table, sizeof table), "add table")) return 1;
  if (check(vramsnap_capture_set_label(cap, "runtime", "wasm"), "label")) return 1;
  vramsnap_capture_options copt;
  vramsnap_capture_options_init(&copt);
  copt.key = key;
  copt.generation = 7;
  copt.overwrite = 1;
  char snap_id[33];
  if (check(vramsnap_capture_write(cap, snap_path, &copt, snap_id), "capture_write")) return 1;
  vramsnap_capture_free(cap);
  printf("captured %s (key %s)\n", snap_id, key_id);

  vramsnap_snapshot* snap = NULL;
  if (check(vramsnap_open(snap_path, &snap), "open")) return 1;
  char sealed_by[17] = "";
  if (!vramsnap_is_sealed(snap, sealed_by) || strcmp(sealed_by, key_id) != 0) {
    fprintf(stderr, "snapshot not sealed by %s\n", key_id);
    return 1;
  }
  vramsnap_restore_options ropt;
  vramsnap_restore_options_init(&ropt);
  ropt.check.key = key;
  ropt.check.has_min_generation = 1;
  ropt.check.min_generation = 7;
  int allocations = 0;
  ropt.host_alloc = my_alloc;
  ropt.host_alloc_user = &allocations;
  vramsnap_restored* restored = NULL;
  if (check(vramsnap_restore(snap, &ropt, &restored), "restore")) return 1;

  vramsnap_restored_region h, t;
  if (check(vramsnap_restored_find(restored, "wasm.heap", &h), "find heap")) return 1;
  if (check(vramsnap_restored_find(restored, "table", &t), "find table")) return 1;
  if (h.size != heap_size || memcmp(h.host, heap, heap_size) != 0 || t.size != sizeof table ||
      memcmp(t.host, table, sizeof table) != 0) {
    fprintf(stderr, "restored bytes differ\n");
    return 1;
  }
  if (allocations != 2) {
    fprintf(stderr, "expected the caller's allocator to be used twice, got %d\n", allocations);
    return 1;
  }
  /* A wrong minimum generation must be refused with VRAMSNAP_ERR_INTEGRITY. */
  vramsnap_restored* again = NULL;
  ropt.check.min_generation = 8;
  ropt.host_alloc = NULL;
  if (vramsnap_restore(snap, &ropt, &again) != VRAMSNAP_ERR_INTEGRITY || again != NULL) {
    fprintf(stderr, "older generation was not refused\n");
    return 1;
  }
  printf("restored %zu regions through the C API; refused generation 7 < 8: %s\n", vramsnap_restored_count(restored),
         vramsnap_last_error());
  free(h.host);  /* caller-allocated buffers stay the caller's */
  free(t.host);
  vramsnap_restored_free(restored);
  vramsnap_close(snap);
  vramsnap_key_free(key);
  free(heap);
  return 0;
}
