# Shared helpers for the end-to-end CLI tests (tests/cli/*.sh), sourced after
# `set -euo pipefail`. Each test runs as
#   bash tests/cli/NAME.sh VRAMSNAP_BINARY SOURCE_DIR
# (or with $VRAMSNAP / $VRAMSNAP_SOURCE_DIR set) and exits 0 (pass), 1 (fail)
# or 77 (skipped: a prerequisite is missing; ctest SKIP_RETURN_CODE).
# Set VRAMSNAP_KEEP_TMP=1 to keep the temp dir of a failing test.
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

_cleanup() {
  local rc=$?
  local p
  # Background commands of this test that are still running (by pid).
  for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null || true; done
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
cd "$T" || exit 1

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
# `need python3` also sets $PYTHON: the interpreter itself (not a pyenv-style
# shim, which costs ~0.5 s a call), run without site packages: the JSON
# checks use only the standard library.
PYTHON=()
need() {
  local c exe
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "needs '$c' on PATH"
    if [[ $c == python3 ]]; then
      exe=$(python3 -S -c 'import sys; print(sys.executable)') || skip "python3 does not run"
      PYTHON=("$exe" -S -E)
    fi
  done
}

_set_last_cmd() {
  printf -v LAST_CMD '%q ' "$@"
  LAST_CMD=${LAST_CMD% }
}

# ---- running commands ------------------------------------------------------------
# Secrets (hex of key bytes) that must never appear in any output.
SECRETS=()
SECRETS_B64=()

# register_secret KEYFILE: from now on every expect_exit checks that the key's
# bytes appear in neither stdout nor stderr: as hex (either case), base64, or raw.
register_secret() {
  local b64
  b64=$(base64 -w0 <"$1")
  SECRETS+=("$(od -An -v -tx1 "$1" | tr -d ' \n')")
  SECRETS_B64+=("${b64%%=*}")
}

check_no_secrets() {
  local f s dump pats=()
  [[ ${#SECRETS[@]} -gt 0 ]] || return 0
  for s in "${SECRETS[@]}" "${SECRETS_B64[@]}"; do pats+=(-e "$s"); done
  # Separators removed first, so "ab cd ef" or a wrapped base64 line count too.
  if grep -qiF "${pats[@]}" < <(cat "$OUT" "$ERR" | tr -d ' \t\r\n:'); then
    fail "key material (hex or base64) printed"
  fi
  # Raw key bytes: only possible in output that is not plain text.
  LC_ALL=C grep -q '[^[:print:][:space:]]' "$OUT" "$ERR" || return 0
  for f in "$OUT" "$ERR"; do
    dump=$(od -An -v -tx1 "$f" | tr -d ' \n')
    for s in "${SECRETS[@]}"; do
      # A byte-aligned match in the hex dump.
      if [[ "$dump" =~ ^(..)*$s ]]; then fail "key material (raw bytes) printed on $(basename "$f" | tr -d .)"; fi
    done
  done
}

# _run CMD...: runs CMD with stdout in $OUT and stderr in $ERR, its exit code
# in $LAST_RC; a sanitizer report or "internal error" on stderr fails the test.
_run() {
  _set_last_cmd "$@"
  LAST_RC=0
  "$@" >"$OUT" 2>"$ERR" </dev/null || LAST_RC=$?
  if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|internal error' "$ERR"; then
    fail "crash or internal error reported on stderr"
  fi
}

# expect_exit CODE CMD...: runs CMD (as _run) and fails the test unless it
# exits with CODE. Whatever CODE is, a crash (signal, sanitizer report,
# "internal error") fails the test.
expect_exit() {
  local want=$1
  shift
  _run "$@"
  local rc=$LAST_RC
  if [[ $rc -ge 128 && $rc -ne 130 && $rc -ne 143 ]]; then
    fail "killed by signal $((rc - 128)) (expected exit $want)"
  fi
  [[ "$rc" == "$want" ]] || fail "expected exit $want, got $rc"
  check_no_secrets
}

# expect_fail CMD...: any exit in 1..127 (not a crash); the code is in $LAST_RC.
expect_fail() {
  _run "$@"
  local rc=$LAST_RC
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
# assert_json PYTHON_EXPR...: $OUT parses as JSON (bound to `j`) and every
# expression is true; a trailing "# comment" in one says what it checks.
# Needs python3 (tests that use it call `need python3`).
assert_json() {
  "${PYTHON[@]}" - "$OUT" "$@" <<'PY' || fail "JSON check failed"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    j = json.load(f)
for expr in sys.argv[2:]:
    if not eval(expr, {"j": j}):
        print("    JSON check is false: " + expr, file=sys.stderr)
        sys.exit(1)
PY
}

# assert_same_report FILE MESSAGE: $OUT holds the JSON report FILE holds,
# but for its "path": what one source of a snapshot prints, another prints
# too. Needs python3.
assert_same_report() {
  "${PYTHON[@]}" - "$1" "$OUT" <<'PY' || fail "$2"
import json, sys
a, b = (json.load(open(f, encoding="utf-8")) for f in sys.argv[1:3])
for j in (a, b):
    j.pop("path", None)
sys.exit(0 if a == b else 1)
PY
}

# json_value PYTHON_EXPR: prints the value of the expression over $OUT.
json_value() {
  "${PYTHON[@]}" -c 'import json,sys; j=json.load(open(sys.argv[1], encoding="utf-8")); v=eval(sys.argv[2], {"j": j}); print(v if not isinstance(v, bool) else str(v).lower())' "$OUT" "$1"
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
  left=$(find "$dir" -maxdepth 1 \( -name '.*.vramsnap-*' -o -name '.vramsnap-*' \) -print | sort)
  [[ -z "$left" ]] || fail "$(wc -l <<<"$left") temp file(s) left in $dir: $(head -n 5 <<<"$left" | tr '\n' ' ')"
}

assert_no_file() {
  [[ ! -e "$1" && ! -L "$1" ]] || fail "$1 should not exist"
}

assert_empty_dir() {
  local left
  left=$(find "$1" -mindepth 1 -print 2>/dev/null | head -n 5)
  [[ -z "$left" ]] || fail "$1 should be empty, has: $left"
}

# ---- interrupts ---------------------------------------------------------------------
# wait_for_glob PID PATTERN [SECONDS]: waits (up to SECONDS, 20 by default)
# until a path matches PATTERN while PID still runs. Returns 0 when one does,
# 1 when PID ended first, 2 when the time ran out.
wait_for_glob() {
  local pid=$1 pattern=$2 i n=$((${3:-20} * 100))
  for ((i = 0; i < n; i++)); do
    compgen -G "$pattern" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.01
  done
  return 2
}

# signal_and_wait PID SIGNAL: sends SIGNAL to PID (gone already is fine) and
# waits for it; its exit status goes to SIGNAL_RC.
signal_and_wait() {
  kill "-$2" "$1" 2>/dev/null || true
  SIGNAL_RC=0
  wait "$1" || SIGNAL_RC=$?
}

# expect_signal_exit DESC WANT PREFIX: after signal_and_wait, the command
# (DESC; its output in PREFIX.stdout and PREFIX.stderr, which the expect_*
# checks read from here on) exited WANT.
expect_signal_exit() {
  LAST_CMD=$1 LAST_RC=$SIGNAL_RC
  OUT=$3.stdout ERR=$3.stderr
  [[ $SIGNAL_RC -eq $2 ]] || fail "$1: expected exit $2, got $SIGNAL_RC"
}

# count_glob DIR GLOB: how many entries of DIR match GLOB.
count_glob() {
  local -a m
  mapfile -t m < <(compgen -G "$1/$2" || true)
  echo "${#m[@]}"
}

# ---- data -------------------------------------------------------------------------
gen_random() { head -c "$2" /dev/urandom >"$1"; }
gen_zeros() { head -c "$2" /dev/zero >"$1"; }
# gen_text FILE BYTES: log-like text (compresses well with zstd).
gen_text() {
  awk -v size="$2" 'BEGIN { for (i = 0; n < size; i++) {
    line = sprintf("step %06d loss=0.%04d lr=3e-4 tokens=%d ok\n", i, (i * 7919) % 10000, i * 4096)
    printf "%s", line; n += length(line) } }' >"$1"
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
  # shellcheck disable=SC2059  # the format is an octal escape made just above
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
