# Shared helpers for the end-to-end CLI tests (tests/cli/*.sh), sourced after
# `set -euo pipefail`. Each test runs as
#   bash tests/cli/NAME.sh VRAMSNAP_BINARY SOURCE_DIR
# (or with $VRAMSNAP / $VRAMSNAP_SOURCE_DIR set) and exits 0 (pass), 1 (fail)
# or 77 (skipped: a prerequisite is missing; ctest SKIP_RETURN_CODE).
# shellcheck shell=bash

VRAMSNAP=${1:-${VRAMSNAP:-}}
SRCDIR=${2:-${VRAMSNAP_SOURCE_DIR:-}}
TEST_NAME=$(basename "$0" .sh)

if [[ -z "$VRAMSNAP" || ! -x "$VRAMSNAP" ]]; then
  echo "$TEST_NAME: usage: $0 PATH/TO/vramsnap SOURCE_DIR (binary '${VRAMSNAP}' is not executable)" >&2
  exit 1
fi
VRAMSNAP=$(cd "$(dirname "$VRAMSNAP")" && pwd)/$(basename "$VRAMSNAP")
if [[ -n "$SRCDIR" ]]; then SRCDIR=$(cd "$SRCDIR" && pwd); fi

# Keys and progress bars must not depend on the caller's environment.
unset VRAMSNAP_KEY_FILE CREDENTIALS_DIRECTORY VRAMSNAP_FAULT
export NO_COLOR=1 LC_ALL=C

# ---- temp dir per test, removed on exit ---------------------------------------
_tmp_parent=${VRAMSNAP_TEST_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$_tmp_parent"
T=$(mktemp -d "$_tmp_parent/vramsnap-$TEST_NAME.XXXXXX")
OUT=$T/.stdout
ERR=$T/.stderr
BG_PIDS=()

_cleanup() {
  local rc=$?
  local p
  for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 && $rc -ne 77 && -n "${VRAMSNAP_KEEP_TMP:-}" ]]; then
    echo "$TEST_NAME: kept $T" >&2
  else
    chmod -R u+rwX "$T" 2>/dev/null || true
    rm -rf "$T"
  fi
  exit "$rc"
}
trap _cleanup EXIT
cd "$T"

# ---- reporting ---------------------------------------------------------------
LAST_CMD=""
LAST_RC=""

step() { echo "--- $TEST_NAME: $*"; }

_show() {
  local what=$1 file=$2
  if [[ -s "$file" ]]; then
    echo "    $what (last 20 lines):"
    tail -n 20 "$file" | sed 's/^/      | /'
  else
    echo "    $what: (empty)"
  fi
}

fail() {
  {
    echo "FAIL: $TEST_NAME: $*"
    if [[ -n "$LAST_CMD" ]]; then
      echo "    last command: $LAST_CMD"
      echo "    exit code: $LAST_RC"
      _show stdout "$OUT"
      _show stderr "$ERR"
    fi
  } >&2
  exit 1
}

skip() {
  echo "SKIP: $TEST_NAME: $*"
  exit 77
}

# need CMD...: skip the test when a tool it relies on is missing.
need() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs '$c' on PATH"; done
}

_quote() {
  local out="" a
  for a in "$@"; do out+=$(printf '%q ' "$a"); done
  echo "${out% }"
}

# ---- running commands ------------------------------------------------------------
# Secrets (hex of key bytes) that must never appear in any output.
SECRETS=()
SECRETS_B64=()

# register_secret KEYFILE: from now on every expect_exit checks that the key's
# bytes appear in neither stdout nor stderr: as hex (either case), base64, or raw.
register_secret() {
  local hex b64
  hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
  b64=$(base64 -w0 <"$1")
  SECRETS+=("$hex")
  SECRETS_B64+=("${b64%%=*}")
}

_hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }

check_no_secrets() {
  local i s f dump
  [[ ${#SECRETS[@]} -gt 0 ]] || return 0
  for f in "$OUT" "$ERR"; do
    [[ -s "$f" ]] || continue
    dump=$(_hex_of "$f")
    for i in "${!SECRETS[@]}"; do
      s=${SECRETS[$i]}
      if grep -qiF -- "$s" "$f"; then fail "key material (hex) printed on $(basename "$f" | tr -d .)"; fi
      if grep -qF -- "${SECRETS_B64[$i]}" "$f"; then fail "key material (base64) printed on $(basename "$f" | tr -d .)"; fi
      # Raw key bytes anywhere in the output: a byte-aligned match in its hex dump.
      if [[ "$dump" =~ ^(..)*$s ]]; then fail "key material (raw bytes) printed on $(basename "$f" | tr -d .)"; fi
    done
  done
}

# expect_exit CODE CMD...: runs CMD with stdout in $OUT and stderr in $ERR and
# fails the test unless it exits with CODE. Whatever CODE is, a crash (signal,
# sanitizer report, "internal error") fails the test.
expect_exit() {
  local want=$1
  shift
  LAST_CMD=$(_quote "$@")
  local rc=0
  "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
  LAST_RC=$rc
  if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|internal error' "$ERR"; then
    fail "crash or internal error reported on stderr"
  fi
  if [[ $rc -ge 128 && $rc -ne 130 && $rc -ne 143 ]]; then
    fail "killed by signal $((rc - 128)) (expected exit $want)"
  fi
  [[ "$rc" == "$want" ]] || fail "expected exit $want, got $rc"
  check_no_secrets
}

# expect_fail CMD...: any exit in 1..127 (not a crash); the code is in $LAST_RC.
expect_fail() {
  LAST_CMD=$(_quote "$@")
  local rc=0
  "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
  LAST_RC=$rc
  if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|internal error' "$ERR"; then
    fail "crash or internal error reported on stderr"
  fi
  [[ $rc -ne 0 ]] || fail "expected a failure, got exit 0"
  [[ $rc -lt 128 ]] || fail "killed by signal $((rc - 128))"
  check_no_secrets
}

expect_stderr_contains() {
  grep -qF -- "$1" "$ERR" || fail "stderr lacks: $1"
}
expect_stderr_not_contains() {
  if grep -qF -- "$1" "$ERR"; then fail "stderr unexpectedly contains: $1"; fi
}
expect_stdout_contains() {
  grep -qF -- "$1" "$OUT" || fail "stdout lacks: $1"
}
expect_stdout_matches() {
  grep -qE -- "$1" "$OUT" || fail "stdout does not match /$1/"
}
expect_stdout_not_contains() {
  if grep -qF -- "$1" "$OUT"; then fail "stdout unexpectedly contains: $1"; fi
}
expect_stdout_empty() {
  [[ ! -s "$OUT" ]] || fail "stdout should be empty"
}
# An error message names the file it is about (cli.md: every message names the file).
expect_stderr_names() {
  expect_stderr_contains "$1"
}

# assert_json PYTHON_EXPR [what]: $OUT parses as JSON (bound to `j`) and the
# expression is true. Needs python3 (tests that use it call `need python3`).
assert_json() {
  local expr=$1 what=${2:-$1}
  python3 - "$OUT" "$expr" <<'PY' || fail "JSON check failed: $what"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    j = json.load(f)
ok = eval(sys.argv[2], {"j": j})
if not ok:
    print("    JSON check is false: " + sys.argv[2], file=sys.stderr)
    sys.exit(1)
PY
}

# json_value PYTHON_EXPR: prints the value of the expression over $OUT.
json_value() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1], encoding="utf-8")); v=eval(sys.argv[2], {"j": j}); print(v if not isinstance(v, bool) else str(v).lower())' "$OUT" "$1"
}

assert_eq() {
  [[ "$1" == "$2" ]] || fail "${3:-values differ}: got '$1', expected '$2'"
}

file_mode() { stat -c %a "$1"; }
file_size() { stat -c %s "$1"; }

assert_same_bytes() {
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# No temp files of an atomic write or an extract left in DIR.
assert_no_temp_files() {
  local dir=$1 left
  left=$(find "$dir" -maxdepth 1 -name '.*.vramsnap-*' -print)
  [[ -z "$left" ]] || fail "temp files left in $dir: $left"
}

assert_no_file() {
  [[ ! -e "$1" && ! -L "$1" ]] || fail "$1 should not exist"
}

assert_empty_dir() {
  local left
  left=$(find "$1" -mindepth 1 -print 2>/dev/null | head -n 5)
  [[ -z "$left" ]] || fail "$1 should be empty, has: $left"
}

# ---- data -------------------------------------------------------------------------
gen_random() { head -c "$2" /dev/urandom >"$1"; }
gen_zeros() { head -c "$2" /dev/zero >"$1"; }
gen_text() {
  local i=0
  : >"$1"
  while [[ $(file_size "$1") -lt $2 ]]; do
    printf 'step %06d loss=0.%04d lr=3e-4 tokens=%d ok\n' "$i" "$((i * 7919 % 10000))" "$((i * 4096))" >>"$1"
    i=$((i + 1))
  done
  truncate -s "$2" "$1"
}

# gen_bf16 FILE BYTES: bf16-like weights (a narrow band of exponents, random
# mantissas), which byte-shuffling compresses. Uses `vramsnap bench
# --write-data` when the binary has it, else xxd, else half random, half zeros.
gen_bf16() {
  local file=$1 size=$2
  if "$VRAMSNAP" bench --help 2>/dev/null | grep -q -- '--write-data'; then
    if "$VRAMSNAP" bench --synthetic "$size" --pattern bf16 --write-data "$file" >/dev/null 2>&1 &&
      [[ $(file_size "$file") -eq $size ]]; then
      return 0
    fi
    rm -f "$file"
  fi
  if command -v xxd >/dev/null 2>&1; then
    # Little-endian pairs: random low byte; high byte 0x3c..0x3f or 0xbc..0xbf
    # (sign, then exponents near 1.0), so one byte plane is nearly constant.
    head -c "$size" /dev/urandom | xxd -p -c 2 |
      sed -E 's/^(..)[0-7](.)$/\13\2/;t;s/^(..)[89a-f](.)$/\1b\2/' |
      sed -E 's/^(...)[0-3]$/\1c/;t;s/^(...)[4-7]$/\1d/;t;s/^(...)[89ab]$/\1e/;t;s/^(...)[c-f]$/\1f/' |
      xxd -r -p >"$file"
    truncate -s "$size" "$file"
    return 0
  fi
  head -c "$((size / 2))" /dev/urandom >"$file"
  head -c "$((size - size / 2))" /dev/zero >>"$file"
}

# ---- bytes in files ---------------------------------------------------------------
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }

# put_byte FILE OFFSET VALUE(0..255)
put_byte() {
  printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# flip_bit FILE OFFSET [BIT]
flip_bit() {
  local b
  b=$(byte_at "$1" "$2")
  put_byte "$1" "$2" "$((b ^ (1 << ${3:-0})))"
}

# ---- keys -------------------------------------------------------------------------
# make_key FILE: a fresh key via keygen; registered as a secret.
make_key() {
  "$VRAMSNAP" keygen -o "$1" >/dev/null || fail "keygen -o $1 failed"
  register_secret "$1"
}

has_gpu_cli() {
  # exit 6 from a cuda restore means: no GPU or driver here.
  local snap=$1 key=$2 rc=0
  "$VRAMSNAP" restore "$snap" --key-file "$key" --target cuda -q >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 6 ]]
}
