#!/usr/bin/env bash
# Golden files: snapshots written by earlier versions (tests/golden) must keep
# inspecting, verifying and restoring to the same bytes; broken snapshots
# (tests/golden-errors) must keep failing with the same exit code and message.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need sha256sum

[[ -n "$SRCDIR" && -d "$SRCDIR/tests/golden" ]] || fail "source dir with tests/golden not given (arg 2 or \$VRAMSNAP_SOURCE_DIR)"
G=$SRCDIR/tests/golden
E=$SRCDIR/tests/golden-errors

# git does not keep mode 0600, and vramsnap refuses a key readable by others.
cp "$G/golden.key" key
chmod 600 key
register_secret key
# key_id = H8("vramsnap/v1/key-id" NUL || key) (formats/snapshot-v1.md 9.1).
key_id=$({ printf 'vramsnap/v1/key-id\0'; cat key; } | sha256sum | cut -c1-16)
# The Ed25519 pair that signs v1-signed.snap (public on purpose, like golden.key).
cp "$G/golden-ed25519.key" edkey
chmod 600 edkey
register_secret edkey
cp "$G/golden-ed25519.pub" pub
chmod 644 pub
ed_key_id=ae4ff6d6dd3fedfc

shopt -s nullglob
snaps=("$G"/*.snap)
[[ ${#snaps[@]} -ge 3 ]] || fail "expected at least 3 golden snapshots in $G"
for snap in "${snaps[@]}"; do
  name=$(basename "$snap" .snap)
  sums=$G/$name.sha256sums
  step "golden $name"
  [[ -f "$sums" ]] || fail "$name.snap has no $name.sha256sums"
  expect_exit 0 "$VRAMSNAP" inspect "$snap"
  expect_stdout_contains "format      1."
  expect_stdout_contains "total = file size"
  expect_exit 0 "$VRAMSNAP" inspect "$snap" --chunks --format csv
  # Where the expected table is recorded, it is exact (no time or id in it).
  if [[ -f "$G/$name.chunks.csv" ]]; then
    assert_eq "$(cat "$OUT")" "$(cat "$G/$name.chunks.csv")" "$name: inspect --chunks --format csv"
  fi
  # A golden that comes with its expected inspect output must match it
  # exactly, but for the first line (the path it was opened by).
  if [[ -f "$G/$name.inspect" ]]; then
    expect_exit 0 "$VRAMSNAP" inspect "$snap" --chunks
    diff -u <(tail -n +2 "$G/$name.inspect") <(tail -n +2 "$OUT") >&2 ||
      fail "$name: inspect --chunks differs from $name.inspect"
  fi
  expect_exit 0 "$VRAMSNAP" inspect "$snap" --json
  expect_exit 0 "$VRAMSNAP" inspect "$snap"
  if grep -q '^seal        signed' "$OUT"; then
    grep -qF "key $ed_key_id)" "$OUT" || fail "$name: signed with a key other than golden-ed25519.key"
    auth=(--pubkey pub)
    expect_exit 0 "$VRAMSNAP" verify "$snap" --pubkey pub --decode
    expect_stdout_contains "signature valid (Ed25519, key $ed_key_id)"
    expect_exit 0 "$VRAMSNAP" verify "$snap" --key-file edkey
    expect_stdout_contains "signature valid (Ed25519, key $ed_key_id)"
    # A host given the public key refuses what it was not signed with; an
    # HMAC key alone cannot check a signature.
    expect_exit 1 "$VRAMSNAP" verify "$snap" --key-file key
    expect_stderr_contains "none of the keys given here can check"
  elif grep -q '^seal        sealed' "$OUT"; then
    grep -qF "key $key_id)" "$OUT" || fail "$name: sealed with a key other than golden.key"
    auth=(--key-file key)
    expect_exit 0 "$VRAMSNAP" verify "$snap" --key-file key --decode
    expect_stdout_contains "seal valid (key $key_id)"
    expect_exit 0 "$VRAMSNAP" verify "$snap" --allow-unsealed
    expect_stdout_contains "seal NOT checked"
  else
    auth=(--allow-unsealed)
    expect_exit 0 "$VRAMSNAP" verify "$snap" --allow-unsealed --decode
    expect_stdout_contains "unsealed"
    expect_exit 1 "$VRAMSNAP" verify "$snap" --key-file key
    expect_stderr_contains "not sealed"
  fi
  expect_exit 0 "$VRAMSNAP" restore "$snap" "${auth[@]}" --target host
  expect_exit 0 "$VRAMSNAP" restore "$snap" "${auth[@]}" --extract "x-$name"
  # Exactly the files listed, with the listed contents.
  (cd "x-$name" && sha256sum --check --strict --quiet "$sums") >"$OUT" 2>"$ERR" ||
    fail "$name: extracted bytes differ from $name.sha256sums"
  listed=$(awk '{ print $2 }' "$sums" | sort)
  got=$(cd "x-$name" && find . -mindepth 1 -printf '%P\n' | sort)
  assert_eq "$got" "$listed" "$name: extracted files"
done

step "golden-errors: exit code and message"
errs=("$E"/*.snap)
[[ ${#errs[@]} -ge 16 ]] || fail "expected at least 10 broken snapshots in $E"
for snap in "${errs[@]}"; do
  name=$(basename "$snap" .snap)
  expect=$E/$name.expect
  [[ -f "$expect" ]] || fail "$name.snap has no $name.expect"
  code=$(sed -n 1p "$expect")
  fragment=$(sed -n 2p "$expect")
  argline=$(sed -n 3p "$expect")
  [[ "$code" =~ ^[0-9]+$ && -n "$fragment" ]] || fail "$name.expect: want an exit code on line 1 and a fragment on line 2"
  [[ -n "$argline" ]] || argline="--key-file @KEY"
  read -r -a args <<<"$argline"
  args=("${args[@]/#@KEY/key}")
  args=("${args[@]/#@PUB/pub}")
  expect_exit "$code" "$VRAMSNAP" verify "$snap" "${args[@]}"
  expect_stderr_contains "$fragment"
  expect_stderr_contains "$name.snap"
  # restore refuses it the same way, and leaves nothing behind.
  rargs=()
  for a in "${args[@]}"; do [[ $a == --decode ]] || rargs+=("$a"); done
  expect_exit "$code" "$VRAMSNAP" restore "$snap" "${rargs[@]}" --extract "e-$name"
  [[ ! -e "e-$name" ]] || assert_empty_dir "e-$name"
done
for expect in "$E"/*.expect; do
  [[ -f "${expect%.expect}.snap" ]] || fail "$(basename "$expect") has no snapshot"
done
echo "PASS: $TEST_NAME"
