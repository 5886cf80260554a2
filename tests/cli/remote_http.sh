#!/usr/bin/env bash
# Snapshots read over HTTP from a misbehaving server (fault_server.py):
# range reads, retries of 5xx, resets and stalls (resumed where they
# stopped), wrong bytes (caught by the hash), a server that ignores Range
# (refused after one request), an object that changes mid-restore, 401/403/
# 404, a bearer token that never follows a redirect to another host, and
# the scheme rules. Reliability cases 30-32.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x /usr/bin/python3 ]] || skip "needs /usr/bin/python3"
need python3

make_key k.key
gen_random r.bin 600000
gen_zeros z.bin 200000
expect_exit 0 "$VRAMSNAP" capture -o s.snap --chunk-size 64KiB --key-file k.key --region r=r.bin --region z=z.bin

TOKEN=tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >token
chmod 600 token
SECRETS+=("$TOKEN")

/usr/bin/python3 "$(dirname "$0")/fault_server.py" "$T" "$T/port" "$T/log" "$TOKEN" 2>"$T/server.err" &
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.05; done
[[ -s port ]] || fail "the test server did not start"
P=$(cat port)
U=http://127.0.0.1:$P
reqs() { grep -c "\"mode\": \"$1\"" log || true; }

step "inspect, verify and restore over HTTP match the local file"
expect_exit 0 "$VRAMSNAP" inspect s.snap --json
cp "$OUT" local.json
expect_exit 0 "$VRAMSNAP" inspect "$U/ok/s.snap" --json
assert_same_report local.json "inspect --json over HTTP differs from the local file's (besides the path)"
expect_exit 0 "$VRAMSNAP" verify "$U/ok/s.snap" --key-file k.key
expect_stdout_contains "seal valid"
expect_exit 0 "$VRAMSNAP" restore "$U/ok/s.snap" --key-file k.key --extract out --json
assert_json 'j["ok"] is True and j["raw_bytes"] == 800000'
assert_same_bytes out/r r.bin
assert_same_bytes out/z z.bin
rm -rf out

step "5xx answers are retried, with backoff, and the restore succeeds"
expect_exit 0 "$VRAMSNAP" restore "$U/flaky/s.snap" --key-file k.key --extract out -q
assert_same_bytes out/r r.bin
[[ $(grep '"mode": "flaky"' log | sort | uniq -d | wc -l) -gt 0 ]] || fail "no request was retried"
rm -rf out

step "a reset mid-body resumes from the last byte received"
expect_exit 0 "$VRAMSNAP" restore "$U/reset/s.snap" --key-file k.key --extract out -q
assert_same_bytes out/r r.bin
"${PYTHON[@]}" - log <<'PY' || fail "no resumed range request in the log"
import json, sys
rs = [json.loads(l)["range"] for l in open(sys.argv[1]) if '"reset"' in l]
ends = {}
for r in rs:
    if r:
        a, b = r[6:].split("-")
        ends.setdefault(b, []).append(int(a))
sys.exit(0 if any(len(v) > 1 and v[1] > v[0] for v in ends.values()) else 1)
PY
rm -rf out

step "a stalled transfer times out and is resumed"
expect_exit 0 "$VRAMSNAP" restore "$U/stall/s.snap" --key-file k.key --extract out -q --timeout 1
assert_same_bytes out/r r.bin
rm -rf out

step "a server that trickles a byte at a time is abandoned at the timeout and resumed"
t0=$(date +%s)
expect_exit 0 "$VRAMSNAP" restore "$U/trickle/s.snap" --key-file k.key --extract out -q --timeout 1
assert_same_bytes out/r r.bin
(( $(date +%s) - t0 < 20 )) || fail "the trickling transfer was not abandoned at the timeout"
rm -rf out

step "a 503 with a large error page is retried like a small one"
expect_exit 0 "$VRAMSNAP" restore "$U/bigerror/s.snap" --key-file k.key --extract out -q
assert_same_bytes out/r r.bin
rm -rf out

step "wrong bytes from the server are caught by the chunk hash (exit 1), nothing left"
expect_exit 1 "$VRAMSNAP" restore "$U/wrong/s.snap" --key-file k.key --extract out
expect_stderr_contains "SHA-256 mismatch"
assert_no_file out
expect_exit 1 "$VRAMSNAP" verify "$U/wrong/s.snap" --key-file k.key

step "a server that ignores Range is refused after one request, not read whole per chunk"
expect_exit 4 "$VRAMSNAP" restore "$U/noranges/s.snap" --key-file k.key --extract out
expect_stderr_contains "ignores Range requests"
assert_eq "$(reqs noranges)" 1 "requests to the server that ignores Range"
assert_no_file out

step "an object that changes during the restore is a clear error (If-Range / ETag)"
expect_exit 4 "$VRAMSNAP" restore "$U/changing/s.snap" --key-file k.key --extract out
expect_stderr_contains "changed on the server"
assert_no_file out

step "401, 403 and 404 are I/O errors (exit 4) that say what happened"
expect_exit 4 "$VRAMSNAP" inspect "$U/auth/s.snap"
expect_stderr_contains "HTTP 401"
expect_stderr_contains "--auth-file"
expect_exit 4 "$VRAMSNAP" verify "$U/forbidden/s.snap" --key-file k.key
expect_stderr_contains "HTTP 403"
expect_exit 4 "$VRAMSNAP" restore "$U/ok/missing.snap?sig=SIGNATURE-SECRET" --key-file k.key --extract out
expect_stderr_contains "HTTP 404"
expect_stderr_not_contains "SIGNATURE-SECRET"

step "a bearer token from --auth-file or \$VRAMSNAP_AUTH_FILE; never printed"
expect_exit 0 "$VRAMSNAP" verify "$U/auth/s.snap" --key-file k.key --auth-file token
expect_exit 0 env VRAMSNAP_AUTH_FILE="$T/token" "$VRAMSNAP" inspect "$U/auth/s.snap"
chmod 644 token
expect_exit 2 "$VRAMSNAP" inspect "$U/auth/s.snap" --auth-file token
chmod 600 token

step "the token is not sent to another host after a redirect"
: >log
expect_exit 0 "$VRAMSNAP" restore "$U/authredir/s.snap" --key-file k.key --auth-file token --extract out -q
assert_same_bytes out/r r.bin
[[ $(reqs authredir) -gt 0 && $(reqs ok) -gt 0 ]] || fail "the redirect was not followed"
if grep '"mode": "ok"' log | grep -q '"auth": true'; then fail "the token followed the redirect to localhost"; fi
if grep '"mode": "authredir"' log | grep -q '"auth": false'; then fail "a request to the token's host lacked it"; fi
rm -rf out

step "redirects: never to plain HTTP elsewhere, never to file://, never in a loop"
: >log
expect_exit 4 "$VRAMSNAP" inspect "$U/redirplain/s.snap"
expect_stderr_contains "redirected to plain HTTP"
expect_stderr_not_contains "REDIRECT-SECRET"
expect_exit 4 "$VRAMSNAP" inspect "$U/redirfile/s.snap"
expect_stderr_contains "not an http(s) URL"
expect_exit 4 "$VRAMSNAP" inspect "$U/redirloop/s.snap"
expect_stderr_contains "more than 5 redirects"
assert_eq "$(reqs redirloop)" 6 "requests of a redirect loop"

step "a presigned URL from --url-file: kept out of argv, its query never printed"
printf '%s\n' "$U/ok/s.snap?X-Amz-Signature=SIGNATURE-SECRET" >url
expect_exit 0 "$VRAMSNAP" restore --url-file url --key-file k.key --extract out --json
assert_json 'j["path"] == "'"$U"'/ok/s.snap?..."'
expect_stdout_not_contains "SIGNATURE-SECRET"
assert_same_bytes out/r r.bin
rm -rf out
expect_exit 0 "$VRAMSNAP" verify --url-file url --key-file k.key
expect_stdout_not_contains "SIGNATURE-SECRET"
expect_exit 2 "$VRAMSNAP" verify "$U/ok/s.snap" --url-file url --key-file k.key
expect_exit 2 "$VRAMSNAP" inspect
expect_stderr_contains "SNAP or --url-file"

step "connection refused: retried within the bound, then exit 4 naming the URL"
expect_exit 4 "$VRAMSNAP" inspect "http://127.0.0.1:1/x.snap" --retries 2
expect_stderr_contains "http://127.0.0.1:1/x.snap"
expect_stderr_contains "after 2 tries"

step "a --ca-file that cannot be read is a usage error before any request"
expect_exit 2 "$VRAMSNAP" inspect "https://127.0.0.1:1/x.snap" --ca-file "$T/no-such-ca.pem"
expect_stderr_contains "--ca-file"

step "plain HTTP only to loopback unless --insecure; no credentials in URLs"
expect_exit 2 "$VRAMSNAP" inspect "http://example.invalid/s.snap"
expect_stderr_contains "--insecure"
expect_exit 2 "$VRAMSNAP" inspect "http://user:pw-SECRET@127.0.0.1:$P/ok/s.snap"
expect_stderr_not_contains "pw-SECRET"

step "nothing left behind"
assert_no_temp_files .
echo "PASS: $TEST_NAME"
