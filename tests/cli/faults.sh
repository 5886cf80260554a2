#!/usr/bin/env bash
# Injected I/O faults (VRAMSNAP_FAULT, io/fault.h): ENOSPC and EIO are I/O
# errors (exit 4), never corruption, and leave nothing behind; short reads are
# retried and succeed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

gen_random r.bin 300000
gen_text t.log 200000
gen_zeros z.bin 100000
make_key k.key
expect_exit 0 "$VRAMSNAP" capture -o s.snap --chunk-size 64KiB --key-file k.key --region r=r.bin --region t=t.log --region z=z.bin

step "write-enospc / write-eio during capture -> exit 4, nothing left"
for n in 1 2 3 5; do
  for kind in enospc eio; do
    expect_exit 4 env VRAMSNAP_FAULT="write-$kind:$n" "$VRAMSNAP" capture -o f.snap --chunk-size 64KiB \
      --region r=r.bin --region t=t.log --region z=z.bin
    expect_stderr_contains "f.snap"
    if [[ $kind == enospc ]]; then expect_stderr_contains "no space left on device"; fi
    assert_no_file f.snap
    assert_no_temp_files .
  done
done
expect_exit 4 env VRAMSNAP_FAULT=write-enospc:3 "$VRAMSNAP" capture -o f.snap --force --region r=r.bin
assert_no_file f.snap
assert_no_temp_files .

step "write faults during restore --extract -> exit 4, nothing left in DIR"
for n in 1 2 4; do
  expect_exit 4 env VRAMSNAP_FAULT="write-enospc:$n" "$VRAMSNAP" restore s.snap --key-file k.key --extract "x$n"
  [[ ! -e "x$n" ]] || assert_empty_dir "x$n"
done

step "read-eio -> exit 4 (I/O, not corruption) in verify, inspect, restore, capture"
for n in 1 2 3 4 5 6 7 9; do
  expect_exit 4 env VRAMSNAP_FAULT="read-eio:$n" "$VRAMSNAP" verify s.snap --key-file k.key
  expect_stderr_contains "Input/output error"
  expect_stderr_not_contains "mismatch"
  expect_stderr_not_contains "corrupt"
  expect_exit 4 env VRAMSNAP_FAULT="read-eio:$n" "$VRAMSNAP" restore s.snap --key-file k.key --extract "e$n"
  [[ ! -e "e$n" ]] || assert_empty_dir "e$n"
done
expect_exit 4 env VRAMSNAP_FAULT=read-eio:5 "$VRAMSNAP" verify s.snap --key-file k.key
expect_exit 4 env VRAMSNAP_FAULT=read-eio:2 "$VRAMSNAP" inspect s.snap
expect_exit 4 env VRAMSNAP_FAULT=read-eio:1 "$VRAMSNAP" capture -o c.snap --region r=r.bin
expect_stderr_contains "r.bin"
assert_no_file c.snap
assert_no_temp_files .

step "read-short -> retried, success"
for n in 1 2 3 4 5 6 7 8 9 12; do
  expect_exit 0 env VRAMSNAP_FAULT="read-short:$n" "$VRAMSNAP" verify s.snap --key-file k.key
  expect_exit 0 env VRAMSNAP_FAULT="read-short:$n" "$VRAMSNAP" restore s.snap --key-file k.key --extract "s$n"
  assert_same_bytes r.bin "s$n/r"
  assert_same_bytes t.log "s$n/t"
  assert_same_bytes z.bin "s$n/z"
done
expect_exit 0 env VRAMSNAP_FAULT=read-short:1 "$VRAMSNAP" capture -o short.snap --region r=r.bin --region t=t.log
expect_exit 0 "$VRAMSNAP" restore short.snap --allow-unsealed --extract short.out
assert_same_bytes r.bin short.out/r
assert_same_bytes t.log short.out/t
echo "PASS: $TEST_NAME"
