#!/usr/bin/env bash
# What a hostile walkthrough tried, each pinned: failed writes to stdout,
# strings from a file that could forge output, bounded extraction, output
# files that follow links or replace inputs, empty option values, usage
# errors and interrupts under --json, one error class per kind of input.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

make_key k.key
gen_random r.bin 100000
expect_exit 0 "$VRAMSNAP" capture -o s.snap --key-file k.key --region plain=r.bin --label model=x

# run_to FILE CMD...: CMD with stdout sent to FILE; the exit code in LAST_RC.
run_to() {
  local dest=$1
  shift
  _set_last_cmd "$@"
  LAST_RC=0
  "$@" >"$dest" 2>"$ERR" </dev/null || LAST_RC=$?
}

step "1: a report that cannot be written to stdout is an I/O error (exit 4), never a silent 0"
if [[ -w /dev/full ]]; then
  run_to /dev/full "$VRAMSNAP" inspect s.snap --json
  assert_eq "$LAST_RC" 4 "inspect --json >/dev/full"
  expect_stderr_contains "stdout"
  run_to /dev/full "$VRAMSNAP" inspect s.snap
  assert_eq "$LAST_RC" 4 "inspect >/dev/full"
  run_to /dev/full "$VRAMSNAP" verify s.snap --key-file k.key --json
  assert_eq "$LAST_RC" 4 "verify --json >/dev/full"
  run_to /dev/full "$VRAMSNAP" restore s.snap --key-file k.key --json
  assert_eq "$LAST_RC" 4 "restore --json >/dev/full"
  run_to /dev/full "$VRAMSNAP" seal s.snap --key-file k.key --json
  assert_eq "$LAST_RC" 4 "seal --json >/dev/full"
  run_to /dev/full "$VRAMSNAP" capture -o s2.snap --region plain=r.bin --json
  assert_eq "$LAST_RC" 4 "capture --json >/dev/full"
  expect_exit 0 "$VRAMSNAP" verify s.snap --key-file k.key
else
  echo "    (no writable /dev/full: skipped)"
fi

step "2: strings from the file are escaped in human output and messages; JSON stays exact"
label=$'x\nseal        sealed (HMAC-SHA256, key 0000000000000000)\e[2K'
expect_exit 0 "$VRAMSNAP" capture -o forged.snap --region plain=r.bin --label "note=$label"
expect_exit 0 "$VRAMSNAP" inspect forged.snap
assert_eq "$(grep -c '^seal   ' "$OUT")" 1 "lines starting with 'seal   '"
expect_stdout_contains "seal        unsealed"
expect_stdout_contains 'note=x\x0aseal'
if grep -q $'\e' "$OUT"; then fail "an ESC byte reached the terminal"; fi
expect_exit 0 "$VRAMSNAP" inspect forged.snap --json
assert_json "j['labels']['note'] == $(printf '%s' "$label" | "${PYTHON[@]}" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
expect_exit 4 "$VRAMSNAP" verify $'no\e[31msuch.snap' --allow-unsealed
if grep -q $'\e' "$ERR"; then fail "an ESC byte reached stderr"; fi
expect_stderr_contains 'no\x1b[31msuch.snap'

step "3: extraction is bounded before anything is created (--max-output, free space)"
gen_zeros z.bin $((8 * 1024 * 1024))
expect_exit 0 "$VRAMSNAP" capture -o z.snap --region zeros=z.bin
expect_exit 5 "$VRAMSNAP" restore z.snap --allow-unsealed --extract zout --max-output 1MiB
expect_stderr_contains "declare 8388608 bytes"
assert_no_file zout
expect_exit 0 "$VRAMSNAP" restore z.snap --allow-unsealed --extract zout --max-output 8MiB
assert_same_bytes z.bin zout/zeros
# Zero chunks are holes: the file takes (almost) no blocks.
blocks=$(stat -c %b zout/zeros)
[[ $blocks -lt 1024 ]] || fail "zout/zeros takes $blocks blocks; zero chunks should be holes"
expect_exit 0 "$VRAMSNAP" restore z.snap --allow-unsealed --extract zout2 --max-output unlimited
expect_exit 2 "$VRAMSNAP" restore z.snap --allow-unsealed --extract zout3 --max-output lots
expect_exit 2 "$VRAMSNAP" restore z.snap --allow-unsealed --max-output 1MiB
expect_stderr_contains "--max-output bounds --extract"

step "4: bench --json FILE replaces a symlink instead of writing through it"
echo precious >victim.txt
ln -s victim.txt report.json
expect_exit 0 "$VRAMSNAP" bench --synthetic 64KiB --iterations 1 --warmup 0 --threads 1 -q --json report.json
assert_eq "$(cat victim.txt)" precious "symlink target"
[[ -f report.json && ! -L report.json ]] || fail "report.json should now be a regular file"
"${PYTHON[@]}" -c 'import json,sys; json.load(open(sys.argv[1]))' report.json || fail "report.json is not JSON"
assert_no_temp_files .
expect_exit 4 "$VRAMSNAP" bench --synthetic 64KiB --iterations 1 --warmup 0 -q --json no/such/dir/r.json
assert_no_file no
# A device or FIFO at the path is never replaced (as root, `--json /dev/null`
# would otherwise put a regular file in /dev/null's place), and the bench
# stops before measuring. A FIFO stands in for the device.
mkfifo report.fifo
expect_exit 4 "$VRAMSNAP" bench --synthetic 64MiB --iterations 50 -q --json report.fifo
expect_stderr_contains "report.fifo: is a FIFO; outputs are written to a temporary file renamed into place"
expect_stdout_empty
[[ -p report.fifo ]] || fail "report.fifo is no longer a FIFO"
assert_no_temp_files .

step "5: capture refuses to write over one of its inputs, even with --force"
cp r.bin in.snap
expect_exit 2 "$VRAMSNAP" capture -o in.snap --region a=in.snap --force
expect_stderr_contains "is also an input"
assert_same_bytes r.bin in.snap
ln -s in.snap alias.snap
expect_exit 2 "$VRAMSNAP" capture -o alias.snap --region a=in.snap --force

step "6: an empty value is a usage error, never 'unset'"
export VRAMSNAP_KEY_FILE=$T/k.key
expect_exit 2 "$VRAMSNAP" verify s.snap --key-file ""
expect_stderr_contains "empty value"
unset VRAMSNAP_KEY_FILE
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --extract ""
expect_exit 2 "$VRAMSNAP" capture -o e.snap --region plain=r.bin --chunk-size ""
expect_exit 2 "$VRAMSNAP" capture -o "" --region plain=r.bin
expect_exit 2 "$VRAMSNAP" inspect ""
assert_no_file e.snap

step "7: bench --write-data over an existing file names no --force (bench has none)"
expect_exit 4 "$VRAMSNAP" bench --synthetic 64KiB --write-data r.bin
expect_stderr_not_contains "--force"
expect_stderr_contains "another --write-data FILE"

step "8: a failed --extract removes the directory it created, never one that existed"
expect_exit 0 "$VRAMSNAP" capture -o u.snap --chunk-size 64KiB --codec raw --region plain=r.bin
cp u.snap bad.snap
flip_bit bad.snap 5000
expect_exit 1 "$VRAMSNAP" restore bad.snap --allow-unsealed --extract made
assert_no_file made
mkdir kept
expect_exit 1 "$VRAMSNAP" restore bad.snap --allow-unsealed --extract kept
[[ -d kept ]] || fail "a directory that existed was removed"
assert_empty_dir kept
expect_exit 1 "$VRAMSNAP" restore bad.snap --allow-unsealed --extract-tree made2
assert_no_file made2
# An interrupted bench leaves no vramsnap-bench.XXXXXX behind.
mkdir wd
"$VRAMSNAP" bench --synthetic 512MiB --pattern random --workdir wd --threads 1 -q --json - >bench.out 2>bench.err &
pid=$!
wait_for_glob "$pid" 'wd/vramsnap-bench.*' 4 || true
signal_and_wait "$pid" INT
rc=$SIGNAL_RC
if [[ $rc -eq 130 ]]; then
  assert_empty_dir wd
  OUT=bench.out
  # 9, on SIGINT: the --json caller still gets one JSON object.
  assert_json 'j["ok"] is False and j["failure"]["kind"] == "interrupted" and j["failure"]["exit_code"] == 130'
  OUT=$T/.stdout
else
  echo "    (bench finished before the signal: rc $rc; interrupt assertions skipped)"
fi

step "9: parse errors carry the command prefix, and --json commands print a JSON failure"
expect_exit 2 "$VRAMSNAP" capture -o x.snap --region plain=r.bin --level abc
expect_stderr_contains "vramsnap capture: usage error: "
expect_stderr_contains "--help"
expect_exit 2 "$VRAMSNAP" verify s.snap --json --threads abc
assert_json 'j["ok"] is False and j["failure"]["kind"] == "usage error" and j["failure"]["exit_code"] == 2'
expect_exit 2 "$VRAMSNAP" inspect s.snap --json --bogus
assert_json 'j["ok"] is False and j["failure"]["exit_code"] == 2'
expect_exit 4 "$VRAMSNAP" inspect missing.snap --json
assert_json 'j["ok"] is False and j["failure"]["exit_code"] == 4'
expect_exit 2 "$VRAMSNAP" frobnicate
expect_stderr_contains "vramsnap usage: usage error: "

step "10: bad tensor names in a safetensors file are one class: format (exit 3)"
mk_st() {
  "${PYTHON[@]}" - "$1" "$2" <<'PY'
import json, struct, sys
name = json.loads(sys.argv[2])
h = json.dumps({name: {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"abcd")
PY
}
for n in '"../x"' '"/abs"' '"a/../../b"' '"a//b"' '"a\\\\b"' '"a\u0001b"'; do
  mk_st bad.safetensors "$n"
  expect_exit 3 "$VRAMSNAP" capture -o st.snap --safetensors bad.safetensors
done
assert_no_file st.snap

step "11: a procfs file (size 0, content not) is refused, not captured empty"
if [[ -r /proc/self/status ]]; then
  expect_exit 4 "$VRAMSNAP" capture -o p.snap --region a=/proc/self/status
  expect_stderr_contains "procfs"
  assert_no_file p.snap
fi

step "12: conflicting or invalid flags are refused before any work"
expect_exit 2 "$VRAMSNAP" inspect s.snap --json --format csv
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --no-modules --warm-modules
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --extract a --extract-tree b
expect_exit 2 "$VRAMSNAP" bench --synthetic 64KiB --max-regression -5
expect_exit 4 "$VRAMSNAP" bench --synthetic 64KiB --iterations 1 --warmup 0 --baseline missing.json
expect_stderr_not_contains "timed restores"

step "13: capture refuses a device ordinal its own verify would refuse"
expect_exit 2 "$VRAMSNAP" capture -o d.snap --region "a=r.bin,kind=device,device=5000"
expect_stderr_contains "-1..1023"
assert_no_file d.snap
expect_exit 0 "$VRAMSNAP" capture -o d.snap --region "a=r.bin,kind=device,device=1023"
expect_exit 0 "$VRAMSNAP" verify d.snap --allow-unsealed

step "14: \$CREDENTIALS_DIRECTORY without vramsnap.key: no key with --allow-unsealed, exit 2 without"
mkdir creds
CREDENTIALS_DIRECTORY=$T/creds expect_exit 0 "$VRAMSNAP" verify u.snap --allow-unsealed
CREDENTIALS_DIRECTORY=$T/creds expect_exit 2 "$VRAMSNAP" verify u.snap
# A vramsnap.key that exists but cannot be used is never ignored.
head -c 5 /dev/urandom >creds/vramsnap.key
chmod 600 creds/vramsnap.key
CREDENTIALS_DIRECTORY=$T/creds expect_fail "$VRAMSNAP" verify u.snap --allow-unsealed

step "15: the README makes every example file before it uses it"
if [[ -n "$SRCDIR" && -f "$SRCDIR/README.md" ]]; then
  "${PYTHON[@]}" - "$SRCDIR/README.md" <<'PY' || fail "README uses a file before saying how to make it"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for name in ("weights.bin", "heap.bin", "kv.bin", "model.safetensors"):
    first = text.find(name)
    assert first >= 0, name
    line = text[text.rfind("\n", 0, first) + 1:text.find("\n", first)]
    assert re.search(r"--write-data|save_file|head -c|> *" + re.escape(name), line), (name, line)
PY
fi

step "16: -q everywhere, and singular counts"
expect_exit 0 "$VRAMSNAP" inspect s.snap -q
expect_stdout_contains "total (1 region)"
expect_exit 0 "$VRAMSNAP" seal s.snap --key-file k.key -q
expect_exit 0 "$VRAMSNAP" keygen -o k2.key -q
register_secret k2.key
expect_exit 0 "$VRAMSNAP" capture -o one.snap --region plain=r.bin --threads 1 --chunk-size 1MiB
expect_stdout_contains "total (1 region)"
expect_stdout_contains "1 thread)"
expect_exit 0 "$VRAMSNAP" verify one.snap --allow-unsealed --threads 1
expect_stdout_contains " 1 chunk,"
expect_exit 0 "$VRAMSNAP" restore one.snap --allow-unsealed --threads 1
expect_stdout_contains "1 chunk, "
expect_stdout_contains "with 1 thread"

step "17: scripts put no key on a command line"
if [[ -n "$SRCDIR" ]]; then
  if grep -nE 'hexkey:|-macopt +"?key:|-hmac ' "$SRCDIR"/scripts/*.sh; then fail "a script puts a key on argv"; fi
fi

step "18: a file without a seal check requested: no key and no --allow-unsealed is exit 2 before the file is opened"
expect_exit 2 "$VRAMSNAP" verify does-not-exist.snap
expect_stderr_contains "no key given"

echo "PASS: $TEST_NAME"
