#!/usr/bin/env bash
# keygen, key files and key resolution, seal, verify (text and --json), and
# what verify must refuse. No command may ever print key material.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

# layout_offset SNAP NAME: offset column of inspect's file layout table.
layout_offset() {
  "$VRAMSNAP" inspect "$1" | awk -v n="$2" '$0 ~ "^" n " " { print $(NF-1) }'
}

step "keygen: mode 0600 whatever the umask, key id printed, never overwrites"
for mask in 000 022 077; do
  (umask "$mask" && "$VRAMSNAP" keygen -o "k$mask.key" >"$OUT" 2>"$ERR") || fail "keygen with umask $mask"
  assert_eq "$(file_mode "k$mask.key")" 600 "mode of a key made under umask $mask"
  assert_eq "$(file_size "k$mask.key")" 32 "key size"
  register_secret "k$mask.key"
done
expect_exit 0 "$VRAMSNAP" keygen -o a.key
register_secret a.key
expect_stdout_matches 'key id [0-9a-f]{16}'
key_a=$(grep -oE 'key id [0-9a-f]{16}' "$OUT" | cut -d' ' -f3)
expect_exit 0 "$VRAMSNAP" keygen -o b.key --json
register_secret b.key
assert_json 'j["key_file"] == "b.key" and len(j["key_id"]) == 16'
key_b=$(json_value 'j["key_id"]')
[[ "$key_a" != "$key_b" ]] || fail "two keygens gave the same key id"
cp a.key a.key.orig
expect_exit 4 "$VRAMSNAP" keygen -o a.key
expect_stderr_contains "refusing to overwrite"
assert_same_bytes a.key a.key.orig
ln -s planted-target link.key
expect_exit 4 "$VRAMSNAP" keygen -o link.key
assert_no_file planted-target
expect_exit 4 "$VRAMSNAP" keygen -o no/such/dir/k.key

step "capture --key-file seals as it writes"
gen_random r.bin 150000
gen_bf16 w.bf16 $((128 * 1024))
expect_exit 0 "$VRAMSNAP" capture -o s.snap --json --chunk-size 64KiB --generation 5 --label env=prod \
  --region a=r.bin --region b=w.bf16,kind=device,dtype=bf16 --key-file a.key
assert_json "j[\"sealed\"] is True and j[\"key_id\"] == \"$key_a\""
expect_exit 0 "$VRAMSNAP" inspect s.snap
expect_stdout_contains "sealed (HMAC-SHA256, key $key_a)"
expect_exit 0 "$VRAMSNAP" inspect s.snap --json
assert_json "j[\"seal\"] == {\"state\": \"hmac-sha256\", \"key_id\": \"$key_a\"}"

step "verify: text and --json"
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file a.key
expect_stdout_contains "OK s.snap: seal valid (key $key_a)"
expect_stdout_contains "generation 5"
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file a.key --json --threads 1
assert_json \
  'j["ok"] is True and j["path"] == "s.snap" and j["generation"] == 5' \
  "j[\"seal\"] == {\"state\": \"hmac-sha256\", \"key_id\": \"$key_a\", \"checked\": True}" \
  'j["chunks_checked"] == 5 and j["raw_bytes"] == 150000 + 131072' \
  'j["bytes_checked"] > 0 and j["bytes_checked"] <= j["raw_bytes"]' \
  'isinstance(j["seconds"], float) and j["seconds"] >= 0 and j["gb_per_s"] >= 0' \
  'j["decoded"] is False'
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file a.key --json --decode
assert_json 'j["decoded"] is True'
# With --allow-unsealed and no key a seal is reported but not checked.
expect_exit 0 "$VRAMSNAP" verify s.snap --allow-unsealed --json
assert_json 'j["seal"]["checked"] is False and j["seal"]["state"] == "hmac-sha256"'
expect_exit 0 "$VRAMSNAP" verify s.snap --allow-unsealed
expect_stdout_contains "seal NOT checked"

step "key resolution: VRAMSNAP_KEY_FILE, CREDENTIALS_DIRECTORY, --key-file first"
expect_exit 0 env VRAMSNAP_KEY_FILE="$T/a.key" "$VRAMSNAP" verify s.snap
expect_stdout_contains "seal valid (key $key_a)"
mkdir creds
cp a.key creds/vramsnap.key
chmod 400 creds/vramsnap.key
expect_exit 0 env CREDENTIALS_DIRECTORY="$T/creds" "$VRAMSNAP" verify s.snap
expect_stdout_contains "seal valid (key $key_a)"
# Order: --key-file, then VRAMSNAP_KEY_FILE, then the credential.
expect_exit 0 env VRAMSNAP_KEY_FILE="$T/b.key" "$VRAMSNAP" verify s.snap --key-file a.key
expect_exit 1 env VRAMSNAP_KEY_FILE="$T/b.key" CREDENTIALS_DIRECTORY="$T/creds" "$VRAMSNAP" verify s.snap
expect_stderr_contains "$key_b"
expect_exit 0 env VRAMSNAP_KEY_FILE= CREDENTIALS_DIRECTORY="$T/creds" "$VRAMSNAP" verify s.snap
mkdir nocreds
expect_exit 2 env CREDENTIALS_DIRECTORY="$T/nocreds" "$VRAMSNAP" verify s.snap
expect_stderr_contains "has no vramsnap.key"
expect_exit 2 "$VRAMSNAP" verify s.snap
expect_stderr_contains "no key"
# The library names no flag; the tool adds the one that helps.
expect_stderr_contains "vramsnap verify: hint: pass --key-file FILE"
expect_exit 0 env VRAMSNAP_KEY_FILE="$T/a.key" "$VRAMSNAP" capture -o env.snap --seal --region a=r.bin --json
assert_json "j[\"key_id\"] == \"$key_a\""
expect_exit 2 "$VRAMSNAP" capture -o noseal.snap --seal --region a=r.bin
assert_no_file noseal.snap

step "bad key files are refused with the fix in the message"
cp a.key k644.key && chmod 644 k644.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file k644.key
expect_stderr_contains "chmod 600 k644.key"
cp a.key k640.key && chmod 640 k640.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file k640.key
expect_stderr_contains "chmod 600"
cp a.key k604.key && chmod 604 k604.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file k604.key
: >empty.key && chmod 600 empty.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file empty.key
expect_stderr_contains "empty"
expect_stderr_contains "vramsnap keygen"
head -c 31 a.key >k31.key && chmod 600 k31.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file k31.key
expect_stderr_contains "31 bytes"
cat a.key a.key | head -c 33 >k33.key && chmod 600 k33.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file k33.key
expect_stderr_contains "33 bytes"
mkdir kdir && chmod 700 kdir
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file kdir
mkfifo kfifo && chmod 600 kfifo
expect_exit 2 timeout 10 "$VRAMSNAP" verify s.snap --key-file kfifo
expect_exit 4 "$VRAMSNAP" verify s.snap --key-file missing.key
expect_stderr_contains "missing.key"
expect_exit 2 env VRAMSNAP_KEY_FILE="$T/k644.key" "$VRAMSNAP" verify s.snap
expect_exit 2 "$VRAMSNAP" capture -o bad.snap --region a=r.bin --key-file k644.key
expect_exit 2 "$VRAMSNAP" seal s.snap --key-file k31.key
assert_no_file bad.snap

step "seal: seals in place, re-seals with another key"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --region a=r.bin --chunk-size 64KiB
expect_exit 1 "$VRAMSNAP" verify u.snap --key-file a.key
expect_stderr_contains "vramsnap verify: integrity error:"
expect_stderr_contains "not sealed"
expect_stderr_contains "vramsnap verify: hint: seal it with 'vramsnap seal', or pass --allow-unsealed"
expect_exit 1 "$VRAMSNAP" verify u.snap --key-file a.key --json
assert_json 'j["ok"] is False and j["failure"]["exit_code"] == 1 and "not sealed" in j["failure"]["message"] and j["failure"]["kind"] == "integrity error"'
expect_exit 1 "$VRAMSNAP" restore u.snap --key-file a.key
expect_exit 0 "$VRAMSNAP" verify u.snap --allow-unsealed
expect_stdout_contains "unsealed (allowed by --allow-unsealed)"
size_before=$(file_size u.snap)
expect_exit 0 "$VRAMSNAP" seal u.snap --key-file a.key --json
assert_json "j[\"key_id\"] == \"$key_a\" and j[\"previous\"] is None and j[\"path\"] == \"u.snap\""
assert_eq "$(file_size u.snap)" "$size_before" "seal changes the file size"
expect_exit 0 "$VRAMSNAP" verify u.snap --key-file a.key
expect_exit 0 "$VRAMSNAP" seal u.snap --key-file b.key
expect_stdout_contains "with key $key_b (was: key $key_a)"
expect_exit 0 "$VRAMSNAP" verify u.snap --key-file b.key

step "wrong key -> exit 1 naming both key ids"
expect_exit 1 "$VRAMSNAP" verify u.snap --key-file a.key
expect_stderr_contains "u.snap"
expect_stderr_contains "$key_a"
expect_stderr_contains "$key_b"
expect_stderr_contains "wrong key"
expect_exit 1 "$VRAMSNAP" restore u.snap --key-file a.key --extract wrongkey.out
assert_no_file wrongkey.out
expect_exit 2 "$VRAMSNAP" seal u.snap
expect_exit 3 "$VRAMSNAP" seal r.bin --key-file a.key
expect_exit 4 "$VRAMSNAP" seal missing.snap --key-file a.key

step "--min-generation refuses older snapshots"
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file a.key --min-generation 5
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file a.key --min-generation 0
expect_exit 1 "$VRAMSNAP" verify s.snap --key-file a.key --min-generation 6
expect_stderr_contains "older than the required minimum 6"
expect_exit 1 "$VRAMSNAP" restore s.snap --key-file a.key --min-generation 6
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file a.key --min-generation -1

step "a flipped bit in every chunk -> exit 1 naming region and chunk"
expect_exit 0 "$VRAMSNAP" inspect s.snap --json --chunks
"${PYTHON[@]}" -c 'import json,sys
j = json.load(open(sys.argv[1]))
for c in j["chunks"]:
    if c["codec"] != "zero":
        print(c["index"], c["region"], c["stored_offset"] + c["stored_size"] // 2)' "$OUT" >chunks.txt
[[ $(wc -l <chunks.txt) -eq 5 ]] || fail "expected 5 stored chunks"
while read -r idx region off; do
  cp s.snap f.snap
  flip_bit f.snap "$off" 3
  expect_exit 1 "$VRAMSNAP" verify f.snap --key-file a.key
  expect_stderr_contains "region \"$region\", chunk $idx "
  expect_stderr_contains "SHA-256 mismatch"
  expect_exit 1 "$VRAMSNAP" verify f.snap --key-file a.key --json
  assert_json 'j["ok"] is False and j["failure"]["kind"] and j["failure"]["exit_code"] == 1'
  expect_exit 1 "$VRAMSNAP" restore f.snap --key-file a.key --region "$region"
  expect_exit 1 "$VRAMSNAP" restore f.snap --key-file a.key --extract "f$idx.out"
  [[ ! -e "f$idx.out" ]] || assert_empty_dir "f$idx.out"
done <chunks.txt

step "flips in table, manifest, key id, MAC -> exit 1; header, trailer -> exit 3"
S=$(file_size s.snap)
table=$(layout_offset s.snap "chunk table")
manifest=$(layout_offset s.snap "manifest")
seal=$(layout_offset s.snap "seal block")
assert_eq "$seal" "$((S - 288))" "seal block offset"
for case in "$table:1:chunk table hash mismatch" "$((manifest + 5)):1:manifest hash mismatch" \
            "$((seal + 16)):1:wrong key" "$((seal + 40)):1:" "$((seal + 100)):3:seal block" \
            "0:3:bad header magic" "40:3:header" "200:3:header padding" \
            "$((S - 150)):3:trailer" "$((S - 1)):3:"; do
  IFS=: read -r off code frag <<<"$case"
  cp s.snap f.snap
  flip_bit f.snap "$off"
  expect_exit "$code" "$VRAMSNAP" verify f.snap --key-file a.key
  expect_stderr_contains "f.snap"
  [[ -z "$frag" ]] || expect_stderr_contains "$frag"
  expect_exit "$code" "$VRAMSNAP" restore f.snap --key-file a.key
done

step "truncation and extension -> exit 3"
for len in 0 1 4095 4383 4384 4896 $((S / 2)) $((S - 288)) $((S - 160)) $((S - 1)); do
  head -c "$len" s.snap >t.snap
  expect_exit 3 "$VRAMSNAP" verify t.snap --key-file a.key
  expect_stderr_contains "t.snap"
  expect_exit 3 "$VRAMSNAP" inspect t.snap
done
head -c "$((S / 2))" s.snap >t.snap
expect_exit 3 "$VRAMSNAP" verify t.snap --key-file a.key
expect_stderr_contains "truncated"
cp s.snap t.snap && printf 'x' >>t.snap
expect_exit 3 "$VRAMSNAP" verify t.snap --key-file a.key

step "concurrent verifies of one snapshot"
pids=()
for i in 1 2 3 4; do
  "$VRAMSNAP" verify s.snap --key-file a.key >"par$i.out" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent verify failed: $(cat par*.out)"; done

step "no output of any command contained key material"
# (expect_exit checked every command above against all registered keys.)
for f in par*.out; do
  OUT=$f
  check_no_secrets
done
echo "PASS: $TEST_NAME"
