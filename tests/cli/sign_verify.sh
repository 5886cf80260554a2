#!/usr/bin/env bash
# Ed25519: keygen --type ed25519, signing at capture and with seal, verify and
# restore with --pubkey / --trusted-keys / environment / systemd credential,
# the policy of a host given public keys, and key files used in the wrong
# place. No command may ever print private key material.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

# register_pem KEYFILE: the private key's base64 body counts as key material too.
register_pem() {
  register_secret "$1"
  SECRETS_B64+=("$(sed -n 2p "$1" | cut -c1-40)")
}

step "keygen --type ed25519: private 0600, public beside it, key id, never overwrites"
for mask in 000 022 077; do
  (umask "$mask" && "$VRAMSNAP" keygen --type ed25519 -o "k$mask.key" >"$OUT" 2>"$ERR") || fail "keygen umask $mask"
  assert_eq "$(file_mode "k$mask.key")" 600 "private key mode under umask $mask"
  [[ -f "k$mask.pub" ]] || fail "no k$mask.pub"
  register_pem "k$mask.key"
done
expect_exit 0 "$VRAMSNAP" keygen --type ed25519 -o deploy.key
register_pem deploy.key
expect_stdout_matches 'key id [0-9a-f]{16}'
id_a=$(grep -oE 'key id [0-9a-f]{16}' "$OUT" | cut -d' ' -f3)
expect_stdout_contains "deploy.pub"
head -1 deploy.key | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "private key is not PKCS#8 PEM"
head -1 deploy.pub | grep -qx -- '-----BEGIN PUBLIC KEY-----' || fail "public key is not SPKI PEM"
expect_exit 0 "$VRAMSNAP" keygen --type ed25519 -o next.key --json
register_pem next.key
assert_json 'j["key_file"] == "next.key" and j["public_key_file"] == "next.pub" and j["type"] == "ed25519"'
id_b=$(json_value 'j["key_id"]')
[[ "$id_a" != "$id_b" ]] || fail "two keygens gave the same key id"
cp deploy.key deploy.key.orig
expect_exit 4 "$VRAMSNAP" keygen --type ed25519 -o deploy.key
expect_stderr_contains "refusing to overwrite"
assert_same_bytes deploy.key deploy.key.orig
cp deploy.pub lone.pub
expect_exit 4 "$VRAMSNAP" keygen --type ed25519 -o lone.key
[[ ! -e lone.key ]] || fail "keygen left a private key behind after refusing its public key"
expect_exit 2 "$VRAMSNAP" keygen --type rsa -o r.key
make_key h.key
key_h=$("$VRAMSNAP" keygen -o h2.key --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key_id"])')
register_secret h2.key

step "capture --key-file with a private key signs; inspect shows it"
gen_random r.bin 150000
gen_text t.log 60000
expect_exit 0 "$VRAMSNAP" capture -o s.snap --json --chunk-size 64KiB --generation 5 \
  --region a=r.bin --region log=t.log,kind=other --key-file deploy.key
assert_json "j[\"sealed\"] is True and j[\"key_id\"] == \"$id_a\""
expect_exit 0 "$VRAMSNAP" inspect s.snap
expect_stdout_contains "signed (Ed25519, key $id_a)"
expect_stdout_contains "format      1.2 (required features 0x"
expect_exit 0 "$VRAMSNAP" inspect s.snap --json
assert_json "j[\"seal\"] == {\"state\": \"ed25519\", \"key_id\": \"$id_a\"}" 'j["format_version"] == "1.2"'

step "verify and restore with public keys"
expect_exit 0 "$VRAMSNAP" verify s.snap --pubkey deploy.pub
expect_stdout_contains "OK s.snap: signature valid (Ed25519, key $id_a)"
expect_exit 0 "$VRAMSNAP" verify s.snap --pubkey next.pub --pubkey deploy.pub --json
assert_json "j[\"seal\"] == {\"state\": \"ed25519\", \"key_id\": \"$id_a\", \"checked\": True}"
expect_exit 1 "$VRAMSNAP" verify s.snap --pubkey next.pub
expect_stderr_contains "sealed with key $id_a, but the supplied key is $id_b"
expect_exit 0 "$VRAMSNAP" verify s.snap --key-file deploy.key
expect_exit 0 "$VRAMSNAP" restore s.snap --pubkey deploy.pub --extract x1 -q
assert_same_bytes x1/a r.bin
mkdir -m 755 trusted
cp deploy.pub next.pub trusted/
expect_exit 0 "$VRAMSNAP" verify s.snap --trusted-keys trusted
expect_exit 0 env VRAMSNAP_PUBKEY_FILE="next.pub:deploy.pub" "$VRAMSNAP" verify s.snap
expect_exit 0 env VRAMSNAP_TRUSTED_KEYS=trusted "$VRAMSNAP" verify s.snap
mkdir -m 700 creds
cp deploy.pub creds/vramsnap.pub
expect_exit 0 env CREDENTIALS_DIRECTORY="$PWD/creds" "$VRAMSNAP" verify s.snap
expect_stdout_contains "signature valid"
chmod 777 trusted
expect_exit 2 "$VRAMSNAP" verify s.snap --trusted-keys trusted
expect_stderr_contains "writable by group or others"
chmod 755 trusted

step "replay: --min-generation with a signature"
expect_exit 1 "$VRAMSNAP" verify s.snap --pubkey deploy.pub --min-generation 6
expect_stderr_contains "replayed or stale snapshot"
expect_exit 1 "$VRAMSNAP" restore s.snap --pubkey deploy.pub --min-generation 6 --extract x2
[[ ! -e x2 ]] || assert_empty_dir x2

step "no key at all: the hint names both kinds"
expect_exit 2 env -u VRAMSNAP_KEY_FILE -u VRAMSNAP_PUBKEY_FILE -u CREDENTIALS_DIRECTORY "$VRAMSNAP" verify s.snap
expect_stderr_contains "hint: pass --key-file FILE or --pubkey FILE"

step "policy: a host given public keys refuses HMAC-sealed and unsealed files unless told otherwise"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --chunk-size 64KiB --region a=r.bin -q
expect_exit 1 "$VRAMSNAP" verify u.snap --pubkey deploy.pub
expect_stderr_contains "not sealed"
expect_exit 0 "$VRAMSNAP" verify u.snap --pubkey deploy.pub --allow-unsealed
cp u.snap hm.snap
expect_exit 0 "$VRAMSNAP" seal hm.snap --key-file h.key
expect_exit 1 "$VRAMSNAP" verify hm.snap --pubkey deploy.pub
expect_stderr_contains "sealed with hmac-sha256"
expect_stderr_contains "none of the keys given here can check"
expect_stderr_contains "vramsnap verify: hint: a host given only public keys (--pubkey)"
expect_exit 1 "$VRAMSNAP" verify hm.snap --pubkey deploy.pub --allow-unsealed
expect_exit 1 "$VRAMSNAP" restore hm.snap --pubkey deploy.pub --extract x3
[[ ! -e x3 ]] || assert_empty_dir x3
expect_exit 0 "$VRAMSNAP" verify hm.snap --pubkey deploy.pub --key-file h.key
expect_exit 1 "$VRAMSNAP" verify s.snap --key-file h.key
expect_stderr_contains "none of the keys given here can check"

step "seal: signing an unsealed file rewrites it, keeps its mode; re-signing and HMAC"
chmod 640 u.snap
expect_exit 0 "$VRAMSNAP" seal u.snap --key-file deploy.key --json
assert_json "j[\"key_id\"] == \"$id_a\" and j[\"algorithm\"] == \"ed25519\" and j[\"previous\"] is None"
assert_eq "$(file_mode u.snap)" 640 "mode after signing"
assert_no_temp_files .
expect_exit 0 "$VRAMSNAP" verify u.snap --pubkey deploy.pub
expect_exit 0 "$VRAMSNAP" seal u.snap --key-file next.key
expect_stdout_contains "signed u.snap with Ed25519 key $id_b (was: Ed25519 key $id_a)"
expect_exit 0 "$VRAMSNAP" verify u.snap --pubkey next.pub
expect_exit 0 "$VRAMSNAP" seal u.snap --key-file h2.key
expect_exit 0 "$VRAMSNAP" inspect u.snap
expect_stdout_matches "format      1\.[01] "
expect_stdout_contains "sealed (HMAC-SHA256, key $key_h)"

step "every bit flip in header, seal block and trailer of a signed file is refused"
size=$(file_size s.snap)
seal_off=$((size - 288))
for off in 0 10 16 17 56 $((seal_off + 8)) $((seal_off + 16)) $((seal_off + 32)) $((seal_off + 95)) \
           $((seal_off + 96)) $((size - 160 + 58)) $((size - 100)) $((size - 1)) 5000 $((seal_off - 300)); do
  cp s.snap f.snap
  flip_bit f.snap "$off" 1
  expect_fail "$VRAMSNAP" verify f.snap --pubkey deploy.pub
done

step "key files in the wrong place are refused, with the fix"
expect_exit 2 "$VRAMSNAP" seal s.snap --key-file deploy.pub
expect_stderr_contains "holds a public key"
expect_stderr_contains "vramsnap seal: hint: sign with the private key"
expect_exit 2 "$VRAMSNAP" capture -o p.snap --region a=r.bin --key-file deploy.pub
expect_exit 2 "$VRAMSNAP" verify s.snap --pubkey h.key
expect_stderr_contains "is an HMAC secret key (32 bytes), not a public key"
expect_exit 2 "$VRAMSNAP" verify s.snap --pubkey deploy.key
expect_stderr_contains "holds a private key"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkey user@host" >ssh.pub
expect_exit 2 "$VRAMSNAP" verify s.snap --pubkey ssh.pub
expect_stderr_contains "OpenSSH public key"
chmod 644 deploy.key
expect_exit 2 "$VRAMSNAP" seal s.snap --key-file deploy.key
expect_stderr_contains "chmod 600"
chmod 600 deploy.key
ln -s deploy.key link.key
expect_exit 2 "$VRAMSNAP" seal s.snap --key-file link.key
expect_stderr_contains "symbolic link"
chmod 666 next.pub
expect_exit 2 "$VRAMSNAP" verify s.snap --pubkey next.pub
expect_stderr_contains "chmod 644"
echo "PASS: $TEST_NAME"
