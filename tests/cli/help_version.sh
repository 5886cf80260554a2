#!/usr/bin/env bash
# --help of the tool and of every subcommand, --version, and usage errors (exit 2).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

step "vramsnap --help"
expect_exit 0 "$VRAMSNAP" --help
expect_stdout_contains "Usage: vramsnap"
expect_stdout_contains "Subcommands:"
expect_stdout_contains "Exit codes:"
# The subcommands vramsnap(1) (man/vramsnap.1) names; bench is listed once it exists.
subcommands=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' "$OUT")
for c in keygen capture inspect seal verify restore; do
  grep -qx "$c" <<<"$subcommands" || fail "--help does not list subcommand $c"
done
if [[ -s "$ERR" ]]; then fail "--help wrote to stderr"; fi
expect_exit 0 "$VRAMSNAP" -h
expect_stdout_contains "Subcommands:"

step "every subcommand's --help exits 0 and shows an example"
for c in $subcommands; do
  expect_exit 0 "$VRAMSNAP" "$c" --help
  expect_stdout_contains "Usage: vramsnap $c"
  grep -qE '^Examples?:' "$OUT" || fail "'vramsnap $c --help' has no Example line"
  # The example line that follows runs this very subcommand.
  grep -qE "^  vramsnap $c( |$)" "$OUT" || fail "'vramsnap $c --help' example does not show 'vramsnap $c ...'"
  expect_exit 0 "$VRAMSNAP" "$c" -h
done

step "--version"
expect_exit 0 "$VRAMSNAP" --version
expect_stdout_matches '^vramsnap [0-9]+\.[0-9]+\.[0-9]+'
expect_stdout_matches '^format 1\.0 to 1\.[0-9]+$'
expect_stdout_matches '^zstd [0-9]+\.[0-9]+\.[0-9]+'
expect_stdout_matches '^OpenSSL [0-9]+\.[0-9]+'
expect_stdout_matches '^CUDA '
# What the tool links in statically is named: a fix to it needs a rebuild.
if ! readelf -d "$VRAMSNAP" 2>/dev/null | grep -q 'NEEDED.*libcrypto'; then
  expect_stdout_matches '^linked in: .*libcrypto, libzstd'
fi

step "usage errors exit 2"
expect_exit 2 "$VRAMSNAP"
expect_stderr_contains "subcommand is required"
expect_exit 2 "$VRAMSNAP" --no-such-flag
expect_exit 2 "$VRAMSNAP" no-such-command
expect_exit 2 "$VRAMSNAP" inspect --no-such-flag x.snap
expect_stderr_contains "--no-such-flag"
expect_exit 2 "$VRAMSNAP" capture --region a=/dev/null            # missing -o
expect_stderr_contains "--output is required"
expect_exit 2 "$VRAMSNAP" keygen                                 # missing -o
expect_exit 2 "$VRAMSNAP" keygen -o                              # -o without its value
expect_exit 2 "$VRAMSNAP" inspect                                # missing SNAP
expect_exit 2 "$VRAMSNAP" verify                                 # missing SNAP
expect_exit 2 "$VRAMSNAP" restore                                # missing SNAP
expect_exit 2 "$VRAMSNAP" seal                                   # missing SNAP
expect_exit 2 "$VRAMSNAP" capture -o out.snap --level abc --region a=/dev/null
expect_exit 2 "$VRAMSNAP" capture -o out.snap --level 99 --region a=/dev/null
expect_exit 2 "$VRAMSNAP" capture -o out.snap --codec lz4 --region a=/dev/null
expect_exit 2 "$VRAMSNAP" capture -o out.snap --threads 0 --region a=/dev/null
expect_exit 2 "$VRAMSNAP" capture -o out.snap --generation -1 --region a=/dev/null
expect_exit 2 "$VRAMSNAP" inspect --format xml x.snap
expect_exit 2 "$VRAMSNAP" verify x.snap --threads many
expect_exit 2 "$VRAMSNAP" restore x.snap --allow-unsealed --target tpu
expect_stderr_contains "--target"
expect_exit 2 "$VRAMSNAP" restore x.snap --allow-unsealed --target cuda:x
# Ordinals past int are usage errors, not an internal error from the parser.
for t in cuda:99999999999 cuda:2147483648 cuda:184467440737095516160 cuda:-1 cuda: cuda:+1 'cuda:1 '; do
  expect_exit 2 "$VRAMSNAP" restore x.snap --allow-unsealed --target "$t"
  expect_stderr_contains "--target"
done
expect_exit 2 "$VRAMSNAP" bench --synthetic 1MiB --target cuda:99999999999 -q
expect_stderr_contains "--target"
expect_exit 2 "$VRAMSNAP" restore x.snap --allow-unsealed --target cuda --extract dir
assert_no_file out.snap
assert_no_file dir

step "the binary loads no library from the current directory (no empty RPATH/RUNPATH entry)"
if command -v readelf >/dev/null; then
  paths=$(readelf -d "$VRAMSNAP" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
  case ":$paths:" in
    "::") ;;  # none at all
    *::*) fail "empty entry in the library search path [$paths]: the loader would search the current directory" ;;
  esac
else
  echo "    (readelf not installed: not checked)"
fi
echo "PASS: $TEST_NAME"
