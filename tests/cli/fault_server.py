#!/usr/bin/python3
"""A small misbehaving HTTP server for vramsnap's remote-source tests.

Serves the files of a directory with range support; the first path
component picks a behaviour (/MODE/FILE):
  ok        plain, correct range server (strong ETag, If-Range honoured)
  noranges  ignores Range: always 200 with the whole file
  flaky     the first request for each range answers 503, then correct
  reset     the first request for each range end sends half the body and closes
  stall     the first chunk request sends half its body, then stalls for 4 s
  trickle   the first chunk request sends half its body, then a byte every 0.2 s for 60 s
  bigerror  the first request for each range answers 503 with a 64 KiB error page
  wrong     flips one byte in every range of chunk data (past 4 KiB, before the last 8 KiB)
  changing  the object's ETag changes after the first 4 requests in this mode (an open)
  auth      requires "Authorization: Bearer <TOKEN>", else 401
  forbidden 403 always
  authredir requires the token, then redirects to http://localhost:PORT/ok/FILE
  redirplain  redirects to plain HTTP on another host (http://example.invalid/...)
  redirfile   redirects to file:///etc/passwd
  redirloop   redirects to itself
and a tiny registry with the token flow: /v2/REPO/manifests/TAG (an
artifact manifest for FILE = REPO's last component + ".snap") and
/v2/REPO/blobs/DIGEST answer 401 with a Bearer challenge unless they carry
a registry token, which /token hands out for Basic "ci:TOKEN"; each token
expires after 8 requests, so a restore must fetch fresh ones.
Every request is logged as one JSON line (mode, range, whether it carried
Authorization, the Host) to LOG. Standard library only.
Usage: fault_server.py DIR PORTFILE LOG TOKEN
"""
import base64
import hashlib
import http.server
import json
import os
import socketserver
import sys
import threading
import time

ROOT, PORTFILE, LOG, TOKEN = sys.argv[1:5]
lock = threading.Lock()
seen = {}
counts = {}


def first_time(key):
    with lock:
        n = seen.get(key, 0)
        seen[key] = n + 1
        return n == 0


def count(mode):
    with lock:
        counts[mode] = counts.get(mode, 0) + 1
        return counts[mode]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log_request_line(self, mode, rng):
        with lock, open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"mode": mode, "path": self.path, "range": rng,
                                "auth": self.headers.get("Authorization") is not None,
                                "host": self.headers.get("Host", "")}) + "\n")

    def plain(self, status, body=b"", extra=None):
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def registry(self, mode, rest):
        port = self.server.server_address[1]
        if mode == "token":
            want = "Basic " + base64.b64encode(("ci:" + TOKEN).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.plain(401, b"login required")
            return self.plain(200, json.dumps({"token": "reg-%s-%d" % (TOKEN, count("tokens"))}).encode())
        given = self.headers.get("Authorization", "")
        if not given.startswith("Bearer reg-" + TOKEN + "-") or count(given) > 8:
            return self.plain(401, b"", {"WWW-Authenticate":
                              'Bearer realm="http://127.0.0.1:%d/token/",service="fault",scope="repository:x:pull"' % port})
        repo, kind, ref = rest.rsplit("/", 2)
        path = os.path.join(ROOT, repo.rsplit("/", 1)[-1] + ".snap")
        if not os.path.isfile(path):
            return self.plain(404)
        with open(path, "rb") as f:
            data = f.read()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if kind == "manifests":
            m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "artifactType": "application/vnd.vramsnap.snapshot.v1",
                 "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
                 "layers": [{"mediaType": "application/vnd.vramsnap.snapshot.v1", "digest": digest,
                             "size": len(data)}]}
            return self.plain(200, json.dumps(m).encode(),
                              {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        if ref != digest:
            return self.plain(404)
        rng = self.headers.get("Range")
        if rng is None:
            return self.plain(200, data, {"ETag": '"%s"' % digest})
        first, last = rng[len("bytes="):].split("-")
        first, last = int(first), min(int(last), len(data) - 1)
        return self.plain(206, data[first:last + 1], {"ETag": '"%s"' % digest,
                                                      "Content-Range": "bytes %d-%d/%d" % (first, last, len(data))})

    def do_GET(self):
        parts = self.path.split("/", 2)
        if len(parts) < 3:
            return self.plain(404)
        mode, name = parts[1], parts[2].split("?")[0]
        rng = self.headers.get("Range")
        self.log_request_line(mode, rng)
        if mode in ("v2", "token"):
            return self.registry(mode, name)
        path = os.path.join(ROOT, os.path.basename(name))
        if mode == "forbidden":
            return self.plain(403, b"forbidden")
        if mode in ("auth", "authredir") and self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.plain(401, b"no", {"WWW-Authenticate": 'Bearer realm="files"'})
        if mode == "redirplain":
            return self.plain(302, b"", {"Location": "http://example.invalid/ok/%s?sig=REDIRECT-SECRET" % name})
        if mode == "redirfile":
            return self.plain(302, b"", {"Location": "file:///etc/passwd"})
        if mode == "redirloop":
            return self.plain(307, b"", {"Location": self.path})
        if mode == "authredir":
            port = self.server.server_address[1]
            return self.plain(302, b"", {"Location": "http://localhost:%d/ok/%s" % (port, name)})
        if not os.path.isfile(path):
            return self.plain(404, b"not found")
        with open(path, "rb") as f:
            data = f.read()
        etag = '"v1-%d"' % len(data)
        if mode == "changing" and count("changing") > 4:
            etag = '"v2-%d"' % len(data)
        if mode == "noranges" or rng is None:
            return self.plain(200, data, {"ETag": etag})
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range != etag:
            return self.plain(200, data, {"ETag": etag})
        first, last = rng[len("bytes="):].split("-")
        first, last = int(first), min(int(last), len(data) - 1)
        body = bytearray(data[first:last + 1])
        key = (mode, last)
        if mode == "flaky" and first_time(key):
            return self.plain(503, b"busy", {"Retry-After": "0"})
        if mode == "bigerror" and first_time(key):
            return self.plain(503, b"<html>busy</html>" + b" " * 65536, {"Content-Type": "text/html"})
        if mode == "wrong" and first >= 4096 and last < len(data) - 8192 and body:
            body[len(body) // 2] ^= 0x01
        self.send_response(206)
        self.send_header("ETag", etag)
        self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        stall = mode == "stall" and first >= 4096 and first_time(("stall",))
        if mode == "trickle" and first >= 4096 and len(body) > 1 and first_time(("trickle",)):
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            try:
                for i in range(300):
                    time.sleep(0.2)
                    self.wfile.write(body[half + i:half + i + 1])
                    self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True
            return
        if (mode == "reset" and len(body) > 1 and first_time(key)) or stall:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(4)
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
