#!/usr/bin/env bash
# capture --tree and restore --extract-tree: a directory image (a CRIU dump)
# sealed and recreated byte- and mode-identical; refused entries (symlinks,
# devices, sockets, FIFOs); hostile names in a crafted manifest never leave
# DIR; nothing left behind on failure. With a working criu, a real process
# is dumped, sealed, extracted and restored.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

make_key k.key

# A synthetic image: nested directories, odd names, empty files, a large
# sparse file, modes 0600/0755/0444.
mkdir -p img/sub/deeper "img/with space" img/.hidden
head -c 300000 /dev/urandom >img/pages-1.img
: >img/empty.img
: >img/sub/deeper/zero-length
printf 'core\n' >"img/with space/odd name ü.img"
printf 'dot\n' >img/.hidden/.file
truncate -s 256M img/sub/sparse.img
printf 'tail' | dd of=img/sub/sparse.img bs=1 seek=$((200 * 1024 * 1024)) conv=notrunc status=none
printf '#!/bin/sh\n' >img/sub/run.sh
chmod 0600 img/pages-1.img
chmod 0755 img/sub/run.sh
chmod 0444 img/empty.img
chmod 0640 "img/with space/odd name ü.img"

step "capture --tree: every regular file a region named by its relative path, its mode a label"
expect_exit 0 "$VRAMSNAP" capture -o img.snap --tree img --key-file k.key --json
assert_json 'sorted(r["name"] for r in j["regions"]) == sorted([".hidden/.file", "empty.img", "pages-1.img", "sub/deeper/zero-length", "sub/run.sh", "sub/sparse.img", "with space/odd name ü.img"])' \
  'all(r["kind"] == "other" for r in j["regions"])'
expect_exit 0 "$VRAMSNAP" inspect img.snap --json
assert_json '{r["name"]: r["labels"]["mode"] for r in j["regions"]}["pages-1.img"] == "0600"' \
  '{r["name"]: r["labels"]["mode"] for r in j["regions"]}["sub/run.sh"] == "0755"' \
  '{r["name"]: r["labels"]["mode"] for r in j["regions"]}["empty.img"] == "0444"'
# Small for a 256 MiB sparse file: its zero chunks take no space.
[[ $(stat -c %s img.snap) -lt $((2 * 1024 * 1024)) ]] || fail "img.snap is $(stat -c %s img.snap) bytes"

step "restore --extract-tree: the same tree, bytes and modes"
umask 077
expect_exit 0 "$VRAMSNAP" restore img.snap --key-file k.key --extract-tree img2 --json
umask 022
assert_json 'j["target"] == "extract-tree" and len(j["files"]) == 7'
diff -r img img2 >/dev/null || fail "trees differ"
(cd img && find . -type f -printf '%P %m\n' | sort) >modes.a
(cd img2 && find . -type f -printf '%P %m\n' | sort) >modes.b
cmp -s modes.a modes.b || fail "modes differ: $(diff modes.a modes.b | head -5 | tr '\n' ' ')"
# Zero chunks stay holes: one 4 MiB chunk holds data, not 256 MiB.
[[ $(stat -c %b img2/sub/sparse.img) -lt 16384 ]] || fail "the sparse file was not restored sparse"
assert_no_temp_files img2
expect_exit 0 "$VRAMSNAP" restore img.snap --key-file k.key --extract-tree img3 --region sub/run.sh
assert_eq "$(cd img3 && find . -type f | sort | tr '\n' ' ')" "./sub/run.sh " "one region selected"

step "never overwrites: an existing top-level name fails before anything is written"
mkdir exist
echo keep >exist/pages-1.img
expect_exit 4 "$VRAMSNAP" restore img.snap --key-file k.key --extract-tree exist
expect_stderr_contains "exists"
assert_eq "$(find exist -mindepth 1 | sed 's|^exist/||' | sort | tr '\n' ' ')" "pages-1.img " "exist/ untouched"
# A planted symlink where a directory of the tree goes.
mkdir planted elsewhere
ln -s ../elsewhere planted/sub
expect_exit 4 "$VRAMSNAP" restore img.snap --key-file k.key --extract-tree planted
assert_empty_dir elsewhere
[[ -L planted/sub ]] || fail "the planted symlink was replaced"

step "capture --tree refuses symlinks, FIFOs, sockets and devices, naming the entry"
for kind in link-out link-in fifo socket; do
  rm -rf bad && mkdir bad && echo x >bad/ok
  case $kind in
    link-out) ln -s /etc/passwd bad/entry ;;
    link-in) ln -s ok bad/entry ;;
    fifo) mkfifo bad/entry ;;
    socket) "${PYTHON[@]}" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' bad/entry ;;
  esac
  expect_exit 4 "$VRAMSNAP" capture -o bad.snap --tree bad
  expect_stderr_contains "bad/entry"
  assert_no_file bad.snap
done
expect_stderr_contains "socket"
if [[ -e /dev/null ]]; then
  rm -rf bad && mkdir bad
  if mknod bad/dev c 1 3 2>/dev/null; then
    expect_exit 4 "$VRAMSNAP" capture -o bad.snap --tree bad
    expect_stderr_contains "character device"
  fi
fi
expect_exit 4 "$VRAMSNAP" capture -o bad.snap --tree no-such-dir
echo x >plain-file
expect_exit 4 "$VRAMSNAP" capture -o bad.snap --tree plain-file

step "hostile names: refused at capture, and in a crafted file before anything is created"
# A name that is not a region name never gets into a snapshot, and a file
# whose manifest was edited to hold one fails its manifest hash when opened;
# extract-tree checks every name again (tests/unit/test_tree.cpp).
gen_random r.bin 4096
for n in '../x' 'a/../../b' '/etc/x' 'a//b' $'a\x01b' 'a\b'; do
  expect_fail "$VRAMSNAP" capture -o h.snap --region "$n=r.bin"
  assert_no_file h.snap
done
"${PYTHON[@]}" - img.snap crafted.snap <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
i = data.find(b'"empty.img"')
assert i > 0
data[i:i + 11] = b'"../es.img"'
open(sys.argv[2], "wb").write(bytes(data))
PY
expect_fail "$VRAMSNAP" restore crafted.snap --allow-unsealed --extract-tree hostile
assert_no_file hostile
assert_no_file es.img

step "a failed extract-tree leaves nothing behind, DIR included when it created it"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --tree img --codec raw --chunk-size 64KiB
cp u.snap ubad.snap
flip_bit ubad.snap 5000
expect_exit 1 "$VRAMSNAP" restore ubad.snap --allow-unsealed --extract-tree gone
assert_no_file gone
mkdir stays
expect_exit 1 "$VRAMSNAP" restore ubad.snap --allow-unsealed --extract-tree stays
assert_empty_dir stays
expect_exit 5 "$VRAMSNAP" restore u.snap --allow-unsealed --extract-tree small --max-output 1MiB
assert_no_file small

step "SIGINT during extract-tree: nothing left, not even the DIR it created"
mkdir -p bigtree/a/b
head -c $((24 * 1024 * 1024)) /dev/urandom >bigtree/a/b/pages.img
cp bigtree/a/b/pages.img bigtree/top.img
expect_exit 0 "$VRAMSNAP" capture -o big.snap --tree bigtree --codec raw --chunk-size 64KiB -q
done_ok=
for attempt in 1 2 3; do
  dir=int-$attempt
  "$VRAMSNAP" restore big.snap --allow-unsealed --extract-tree "$dir" --threads 1 -q >"$dir.stdout" 2>"$dir.stderr" &
  pid=$!
  wait_for_glob "$pid" "$dir/.vramsnap-tree-*/a/b/pages.img" 10 || true
  signal_and_wait "$pid" INT
  [[ $SIGNAL_RC -eq 0 ]] && continue  # finished first: a race of this test, try again
  expect_signal_exit "restore --extract-tree interrupted by SIGINT" 130 "$dir"
  assert_no_file "$dir"
  done_ok=1
  break
done
[[ -n "$done_ok" ]] || echo "    (restore always finished before the signal: interrupt assertions skipped)"
OUT=$T/.stdout ERR=$T/.stderr

step "a real process through a sealed snapshot (criu dump / capture --tree / extract-tree / criu restore)"
if command -v criu >/dev/null 2>&1 && criu check >/dev/null 2>&1; then
  setsid sleep 600 </dev/null >/dev/null 2>&1 &
  pid=$!
  mkdir dump
  criu dump -t "$pid" -D dump --shell-job >/dev/null 2>&1 || fail "criu dump failed"
  expect_exit 0 "$VRAMSNAP" capture -o proc.snap --tree dump --key-file k.key
  expect_exit 0 "$VRAMSNAP" restore proc.snap --key-file k.key --extract-tree dump2
  diff -r dump dump2 >/dev/null || fail "image trees differ"
  criu restore -D dump2 --shell-job -d >/dev/null 2>&1 || fail "criu restore failed"
  kill -0 "$pid" 2>/dev/null || fail "restored process is not running"
  kill "$pid"
else
  echo "    (criu missing or 'criu check' fails here: synthetic tree only)"
fi

echo "PASS: $TEST_NAME"
