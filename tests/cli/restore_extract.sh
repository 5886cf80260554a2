#!/usr/bin/env bash
# restore --target host and --extract: byte-identical round trips, region
# selection, and the file-system rules of --extract (no overwrite, no symlink
# following, percent-encoded names).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

make_key k.key
gen_random r.bin 200000
gen_bf16 w.bf16 $((256 * 1024))
gen_zeros z.bin 100000
gen_text t.log 150000
: >e.bin
head -c 777 /dev/urandom >odd.bin

# region name -> source file, and the file name --extract must give it.
regions=(
  "plain|r.bin|plain"
  "model.layers.0.weight|w.bf16|model.layers.0.weight"
  "encoder/layer_0/kernel|z.bin|encoder%2Flayer_0%2Fkernel"
  "kv cache|t.log|kv%20cache"
  "ünï|odd.bin|%C3%BCn%C3%AF"
  ".hidden|odd.bin|%2Ehidden"
  "50%|r.bin|50%25"
  "empty|e.bin|empty"
)
args=()
for spec in "${regions[@]}"; do
  IFS='|' read -r name file _ <<<"$spec"
  args+=(--region "$name=$file")
done
expect_exit 0 "$VRAMSNAP" capture -o s.snap --chunk-size 64KiB --pack-below 0 --key-file k.key "${args[@]}"

step "restore --extract: every region byte-identical, names percent-encoded inside DIR"
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --extract out --json
assert_json \
  'j["ok"] is True and j["target"] == "extract" and len(j["files"]) == 8' \
  'j["raw_bytes"] == 200000 + 262144 + 100000 + 150000 + 777 + 777 + 200000' \
  'all(f["path"].startswith("out/") and "/" not in f["path"][4:] for f in j["files"])  # files directly in DIR'
for spec in "${regions[@]}"; do
  IFS='|' read -r name file enc <<<"$spec"
  [[ -f "out/$enc" ]] || fail "region '$name' not extracted as out/$enc"
  assert_same_bytes "$file" "out/$enc"
done
assert_eq "$(find out -mindepth 1 | wc -l)" 8 "files in out/"
assert_no_temp_files out
# Nothing was written outside DIR (e.g. an "encoder" directory).
assert_no_file encoder
assert_no_file out/encoder

step "restore --max-host-memory: declared sizes are checked before anything is allocated"
total=$((200000 + 262144 + 100000 + 150000 + 777 + 777 + 200000))
expect_exit 5 "$VRAMSNAP" restore s.snap --key-file k.key --max-host-memory $((total - 1)) --quiet
expect_stderr_contains "bytes of host memory"
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --max-host-memory "$total" --quiet
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --max-host-memory unlimited --quiet
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --max-host-memory 1KiB --region empty --quiet
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --max-host-memory lots
expect_stderr_contains "--max-host-memory: expected a size"

step "cuda placement flags: checked before the GPU is asked"
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --device-map 0:0,1:x
expect_stderr_contains '"1:x" is not two ordinals'
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --device-map 0:0,0:1
expect_stderr_contains "GPU 0 is mapped twice"
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --device-map 0:0
expect_stderr_contains "need --target cuda"
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --staging 8
expect_stderr_contains "--staging"
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --verify-on gpu
expect_stderr_contains "--verify-on: expected auto, host or device"

step "restore --extract --region: only the named regions"
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --extract part --region "kv cache" --region plain --region plain
assert_eq "$(find part -mindepth 1 | sort | tr '\n' ' ')" "part/kv%20cache part/plain " "partial extract"
assert_same_bytes t.log "part/kv%20cache"
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --extract unk --region nope
expect_stderr_contains 'no region named "nope"'
expect_stderr_contains "vramsnap restore: hint: list the regions with 'vramsnap inspect SNAP'"
assert_no_file unk
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --region nope

step "restore --target host (default) with --json"
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --json --threads 2
assert_json \
  'j["ok"] is True and j["target"] == "host" and j["threads"] == 2' \
  '[r["name"] for r in j["regions"]] == ["plain", "model.layers.0.weight", "encoder/layer_0/kernel", "kv cache", "ünï", ".hidden", "50%", "empty"]' \
  'all(r["device_ptr"] is None for r in j["regions"])' \
  'j["chunks"] == 4 + 4 + 2 + 3 + 1 + 1 + 4 + 0 and j["raw_bytes"] == sum(r["size"] for r in j["regions"])' \
  'set(j["phases"]) >= {"open", "seal_check", "allocate", "read", "hash", "decode", "copy", "total"}'
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --target host --region ünï
expect_stdout_contains "restored"

step "extract refuses to overwrite and never follows a planted symlink"
mkdir trap1
echo "precious" >victim.txt
cp victim.txt victim.orig
ln -s ../victim.txt trap1/plain
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract trap1
expect_stderr_contains "trap1/plain"
assert_same_bytes victim.txt victim.orig
[[ -L trap1/plain ]] || fail "the planted symlink was replaced"
assert_no_temp_files trap1
assert_eq "$(find trap1 -mindepth 1 | wc -l)" 1 "only the symlink is left in trap1"
# A dangling symlink must not be created through either.
mkdir trap2
ln -s ../created-through-link trap2/empty
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract trap2
assert_no_file created-through-link
# A symlink to a directory at an encoded name.
mkdir trap3 elsewhere
ln -s ../elsewhere 'trap3/kv%20cache'
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract trap3
assert_empty_dir elsewhere
# An existing regular file.
mkdir exists
echo keep >exists/plain
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract exists
expect_stderr_contains "exists"
assert_eq "$(cat exists/plain)" keep "existing file"
assert_eq "$(find exists -mindepth 1 | wc -l)" 1 "nothing else written into exists/"
# Extracting twice into the same directory.
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract out
for spec in "${regions[@]}"; do
  IFS='|' read -r _ file enc <<<"$spec"
  assert_same_bytes "$file" "out/$enc"
done
# DIR is a file, or cannot be created.
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract r.bin
expect_exit 4 "$VRAMSNAP" restore s.snap --key-file k.key --extract no/such/parent

step "unsealed snapshots need --allow-unsealed"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --region plain=r.bin
expect_exit 1 "$VRAMSNAP" restore u.snap --key-file k.key --extract u.out
expect_stderr_contains "not sealed"
assert_no_file u.out
expect_exit 2 "$VRAMSNAP" restore u.snap
expect_exit 0 "$VRAMSNAP" restore u.snap --allow-unsealed --extract u.out
assert_same_bytes r.bin u.out/plain

step "restore --target cuda without a GPU -> exit 6 naming the GPU/driver"
expect_fail "$VRAMSNAP" restore s.snap --key-file k.key --target cuda
if [[ $LAST_RC -eq 6 ]]; then
  grep -qiE 'gpu|driver|cuda' "$ERR" || fail "exit 6 without saying GPU/driver/CUDA"
  expect_exit 6 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda:0 --json
  assert_json 'j["ok"] is False and j["failure"]["exit_code"] == 6 and "regions" not in j'  # the failure, as JSON
else
  # A GPU is here: the cuda path is tested by gpu_restore.sh.
  assert_eq "$LAST_RC" 0 "restore --target cuda on a machine with a GPU"
  echo "    (GPU present: exit-6 assertion skipped)"
fi
# A bad or unsealed file is refused before any GPU is looked for.
expect_exit 1 "$VRAMSNAP" restore u.snap --key-file k.key --target cuda
echo "PASS: $TEST_NAME"
