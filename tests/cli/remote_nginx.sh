#!/usr/bin/env bash
# Snapshots served by nginx on loopback (a temporary config, pid and logs in
# the temp dir, stopped by PID): plain HTTP and HTTPS (HTTP/2) with a
# self-signed certificate made here, refused until --ca-file names it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$NGINX" ]] || skip "needs nginx"
need openssl python3

make_key k.key
gen_random r.bin 400000
gen_bf16 w.bf16 $((512 * 1024))
mkdir www ngx-tmp
expect_exit 0 "$VRAMSNAP" capture -o www/s.snap --chunk-size 64KiB --key-file k.key --region r=r.bin --region w=w.bf16

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.crt >/dev/null 2>&1 || skip "openssl req failed"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HP=$(free_port)
SP=$(free_port)
cat >nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log error;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T/ngx-tmp/body;
  proxy_temp_path $T/ngx-tmp/proxy;
  fastcgi_temp_path $T/ngx-tmp/fastcgi;
  uwsgi_temp_path $T/ngx-tmp/uwsgi;
  scgi_temp_path $T/ngx-tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$HP; root $T/www; }
  server {
    listen 127.0.0.1:$SP ssl http2;
    ssl_certificate $T/tls.crt;
    ssl_certificate_key $T/tls.key;
    root $T/www;
  }
}
CONF
"$NGINX" -p "$T" -c "$T/nginx.conf" -e "$T/nginx-error.log" &
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $SP), 0.2)" 2>/dev/null && break
  sleep 0.1
done

step "nginx over HTTP: verify and restore --extract, byte-identical"
expect_exit 0 "$VRAMSNAP" verify "http://127.0.0.1:$HP/s.snap" --key-file k.key
expect_exit 0 "$VRAMSNAP" restore "http://127.0.0.1:$HP/s.snap" --key-file k.key --extract out --json
assert_json 'j["ok"] is True and j["gb_per_s"] > 0'
assert_same_bytes out/r r.bin
assert_same_bytes out/w w.bf16
rm -rf out

step "HTTPS with a self-signed certificate: refused (exit 4), then accepted with --ca-file"
expect_exit 4 "$VRAMSNAP" inspect "https://127.0.0.1:$SP/s.snap"
expect_stderr_contains "certificate"
expect_stderr_contains "--ca-file"
expect_exit 0 "$VRAMSNAP" restore "https://127.0.0.1:$SP/s.snap" --key-file k.key --ca-file tls.crt --extract out -q
assert_same_bytes out/r r.bin
assert_same_bytes out/w w.bf16
expect_exit 4 "$VRAMSNAP" inspect "https://127.0.0.1:$SP/missing.snap" --ca-file tls.crt
expect_stderr_contains "HTTP 404"

step "bench reads over HTTP too"
expect_exit 0 "$VRAMSNAP" bench "http://127.0.0.1:$HP/s.snap" --key-file k.key --iterations 2 --warmup 0
echo "PASS: $TEST_NAME"
