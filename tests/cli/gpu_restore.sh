#!/usr/bin/env bash
# Restores onto a CUDA GPU. Skipped (77) where 'restore --target cuda' reports
# exit 6: no GPU or no driver.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need python3

make_key k.key
gen_bf16 w.bf16 $((1 << 20))
gen_random host.bin 300000
gen_zeros kv.bin $((256 << 10))
expect_exit 0 "$VRAMSNAP" capture -o s.snap --key-file k.key --chunk-size 256KiB \
  --region w=w.bf16,kind=device,dtype=bf16,shape=512x1024 --region h=host.bin,kind=host

rc=0
"$VRAMSNAP" restore s.snap --key-file k.key --target cuda -q >"$OUT" 2>"$ERR" || rc=$?
if [[ $rc -eq 6 ]]; then
  skip "no usable GPU: $(head -n1 "$ERR")"
fi
LAST_CMD="restore s.snap --target cuda" LAST_RC=$rc
[[ $rc -eq 0 ]] || fail "restore --target cuda: expected exit 0 (or 6 without a GPU), got $rc"

step "restore --target cuda --json: device region on the GPU, host region in memory"
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --json
assert_json \
  'j["ok"] is True and j["target"] == "cuda"' \
  '[(r["name"], r["kind"], r["size"]) for r in j["regions"]] == [("w", "device", 1048576), ("h", "host", 300000)]' \
  'isinstance(j["regions"][0]["device_ptr"], str) and int(j["regions"][0]["device_ptr"], 16) != 0  # device_ptr of the device region' \
  'j["regions"][1]["device_ptr"] is None  # host region has no device_ptr' \
  'j["raw_bytes"] == 1048576 + 300000 and j["chunks"] == 4 + 2' \
  'all(v >= 0 for v in j["phases"].values()) and j["phases"]["copy"] >= 0'
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda:0 --json --region w --threads 1
assert_json '[r["name"] for r in j["regions"]] == ["w"]'
expect_exit 0 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda
expect_stdout_contains "host-to-device"

step "read-mostly (managed) and zero-filled device regions"
expect_exit 0 "$VRAMSNAP" capture -o rm.snap --key-file k.key \
  --region w=w.bf16,kind=device,dtype=bf16,flags=read_mostly --region kv=kv.bin,kind=device,dtype=f16
expect_exit 0 "$VRAMSNAP" restore rm.snap --key-file k.key --target cuda --json
assert_json 'all(isinstance(r["device_ptr"], str) for r in j["regions"])'

step "a damaged or unsealed snapshot never reaches the GPU"
cp s.snap bad.snap
expect_exit 0 "$VRAMSNAP" inspect s.snap --json --chunks
off=$(json_value 'j["chunks"][1]["stored_offset"] + 100')
flip_bit bad.snap "$off"
expect_exit 1 "$VRAMSNAP" restore bad.snap --key-file k.key --target cuda
expect_stderr_contains 'region "w", chunk 1'
expect_exit 0 "$VRAMSNAP" capture -o u.snap --region w=w.bf16,kind=device
expect_exit 1 "$VRAMSNAP" restore u.snap --key-file k.key --target cuda
expect_exit 6 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda:99
expect_stderr_contains "does not exist"

step "--fixed-va: mapped at the recorded address, or exit 5 'taken'"
expect_exit 0 "$VRAMSNAP" capture -o va.snap --key-file k.key \
  --region w=w.bf16,kind=device,dtype=bf16,va=0x7f0000000000 --region h=host.bin
rc=0
"$VRAMSNAP" restore va.snap --key-file k.key --target cuda --fixed-va --json >"$OUT" 2>"$ERR" || rc=$?
LAST_CMD="restore va.snap --target cuda --fixed-va --json" LAST_RC=$rc
case $rc in
  0) assert_json 'j["regions"][0]["device_ptr"] == "0x7f0000000000"  # device_ptr at the recorded va' ;;
  5) expect_stderr_contains "taken" ;;
  *) fail "--fixed-va: expected exit 0, or 5 with 'taken'" ;;
esac
# A device region without a recorded address cannot be placed with --fixed-va.
expect_exit 2 "$VRAMSNAP" restore s.snap --key-file k.key --target cuda --fixed-va
expect_stderr_contains "no recorded address"
expect_stderr_contains "vramsnap restore: hint: restore without --fixed-va"
step "--device-map: recorded ordinals onto this machine's GPUs, one read of the file"
gpus=$(nvidia-smi -L 2>/dev/null | grep -cE '^GPU [0-9]+:' || true)
gpus=${gpus:-1}
expect_exit 0 "$VRAMSNAP" capture -o tp.snap --key-file k.key --chunk-size 64KiB \
  --region rank0=host.bin,kind=device,device=3 --region rank1=w.bf16,kind=device,dtype=bf16,device=4
expect_exit 6 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0
expect_stderr_contains "captured on GPU 4"
expect_exit 6 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:$gpus
expect_exit 2 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:x
expect_stderr_contains '"4:x"'
expect_exit 0 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:0 --staging 2x64KiB --json
assert_json '[(r["name"], r["device"]) for r in j["regions"]] == [("rank0", 0), ("rank1", 0)]' \
  'j["devices"] == [{"device": 0, "bytes": 300000 + 1048576}]'
if (( gpus > 1 )); then
  expect_exit 0 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:1 --json
  assert_json '[r["device"] for r in j["regions"]] == [0, 1]' \
    'j["devices"] == [{"device": 0, "bytes": 300000}, {"device": 1, "bytes": 1048576}]'
fi

step "--verify-on: leaf-hashed raw chunks are checked on the GPU; a flipped bit is still refused"
expect_exit 0 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:0 --verify-on device --json
assert_json 'j["device_verified_bytes"] == 300000  # the raw chunks of rank0 (random bytes)'
expect_exit 0 "$VRAMSNAP" restore tp.snap --key-file k.key --target cuda --device-map 3:0,4:0 --verify-on host --json
assert_json 'j["device_verified_bytes"] == 0'
cp tp.snap tpbad.snap
expect_exit 0 "$VRAMSNAP" inspect tp.snap --json --chunks
off=$(json_value 'j["chunks"][2]["stored_offset"] + 7')
flip_bit tpbad.snap "$off"
expect_exit 1 "$VRAMSNAP" restore tpbad.snap --key-file k.key --target cuda --device-map 3:0,4:0 --verify-on device
expect_stderr_contains 'region "rank0", chunk 2'
expect_stderr_contains "checked on GPU 0"

step "--verify-on: planes chunks are hashed and decoded on the GPU; a flipped bit is refused there"
expect_exit 0 "$VRAMSNAP" capture -o pl.snap --key-file k.key --chunk-size 64KiB --codec planes \
  --region w=w.bf16,kind=device,dtype=bf16,shape=512x1024
expect_exit 0 "$VRAMSNAP" inspect pl.snap --json --chunks
planes_raw=$(json_value 'sum(c["raw_size"] for c in j["chunks"] if c["codec"] == "planes")')
off=$(json_value '[c for c in j["chunks"] if c["codec"] == "planes"][-1]["stored_offset"] + 9')
(( planes_raw > 0 )) || fail "pl.snap has no planes chunk"
expect_exit 0 "$VRAMSNAP" restore pl.snap --key-file k.key --target cuda --verify-on device --threads 2 --json
assert_json "j[\"device_decoded_bytes\"] == $planes_raw"
expect_exit 0 "$VRAMSNAP" restore pl.snap --key-file k.key --target cuda --verify-on host --json
assert_json 'j["device_decoded_bytes"] == 0'
cp pl.snap plbad.snap
flip_bit plbad.snap "$off"
expect_exit 1 "$VRAMSNAP" restore plbad.snap --key-file k.key --target cuda --verify-on device
expect_stderr_contains "checked on GPU 0"
echo "PASS: $TEST_NAME"
