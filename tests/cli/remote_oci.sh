#!/usr/bin/env bash
# OCI registries: push to a real registry (Debian's docker-registry, started
# here on a loopback port with storage in the temp dir), then inspect,
# verify and restore by tag, by manifest digest and by the file's SHA-256;
# a digest reference binds the snapshot (another one served under it fails);
# pushes are idempotent and a failed push leaves no tag. The registry token
# flow (Bearer challenge, token from a login in a docker config.json, tokens
# that expire during a restore) runs against the tiny registry of
# fault_server.py. Reliability cases 32-33.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x /usr/bin/docker-registry ]] || skip "needs /usr/bin/docker-registry (Debian package docker-registry)"
[[ -x /usr/bin/python3 ]] || skip "needs /usr/bin/python3"
need python3

make_key k.key
gen_random r.bin 300000
gen_zeros z.bin 100000
expect_exit 0 "$VRAMSNAP" capture -o s.snap --chunk-size 64KiB --key-file k.key --region r=r.bin --region z=z.bin \
  --label team=ml --generation 7
file_digest=sha256:$(sha256sum s.snap | cut -d' ' -f1)

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RP=$(free_port)
mkdir storage
cat >registry.yml <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/storage
http:
  addr: 127.0.0.1:$RP
YML
/usr/bin/docker-registry serve registry.yml >registry.log 2>&1 &
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $RP), 0.2)" 2>/dev/null && break
  sleep 0.1
done
R=oci://127.0.0.1:$RP

step "push prints the file's SHA-256, the manifest digest and the index digest"
index_digest=sha256:$( (head -c 4096 s.snap; tail -c 288 s.snap) | sha256sum | cut -d' ' -f1)
expect_exit 0 "$VRAMSNAP" push s.snap "$R/models/s:v1" --json
assert_json "j['ok'] is True and j['digest'] == '$file_digest' and j['blob_existed'] is False" \
  "j['index_digest'] == '$index_digest'" \
  'j["manifest_digest"].startswith("sha256:") and j["reference"].endswith(j["manifest_digest"])'
manifest_digest=$(json_value 'j["manifest_digest"]')
expect_exit 0 "$VRAMSNAP" push s.snap "$R/models/s:v1"
expect_stdout_contains "blob already in the registry"
expect_stdout_contains "digest $file_digest"
expect_stdout_contains "manifest $manifest_digest"
expect_stdout_contains "index digest $index_digest"

step "the artifact: what push printed is the registry's manifest; artifactType, empty config, one layer, annotations"
/usr/bin/python3 - "$RP" "$file_digest" "$manifest_digest" "$index_digest" <<'PY' \
  || fail "the pushed manifest is not the expected artifact, or not what push printed"
import hashlib, json, sys, urllib.request
port, digest, manifest_digest, index_digest = sys.argv[1:5]
req = urllib.request.Request("http://127.0.0.1:%s/v2/models/s/manifests/v1" % port,
                             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
r = urllib.request.urlopen(req)
body = r.read()
m = json.loads(body)
a = m["annotations"]
ok = ("sha256:" + hashlib.sha256(body).hexdigest() == manifest_digest
      and r.headers["Docker-Content-Digest"] == manifest_digest
      and m["layers"][0]["annotations"]["org.vramsnap.index.digest"] == index_digest
      and m["artifactType"] == "application/vnd.vramsnap.snapshot.v1"
      and m["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
      and len(m["layers"]) == 1 and m["layers"][0]["digest"] == digest
      and a["org.vramsnap.generation"] == "7" and a["org.vramsnap.label.team"] == "ml"
      and len(a["org.vramsnap.snapshot.id"]) == 32 and len(a["org.vramsnap.key-id"]) == 16)
sys.exit(0 if ok else 1)
PY

step "inspect oci:// prints the same report as for the file"
expect_exit 0 "$VRAMSNAP" inspect s.snap --json
cp "$OUT" local.json
for ref in "$R/models/s:v1" "$R/models/s@$manifest_digest" "$R/models/s@$file_digest"; do
  expect_exit 0 "$VRAMSNAP" inspect "$ref" --json
  assert_same_report local.json "inspect --json of $ref differs from the file's"
done

step "verify and restore by tag, manifest digest and file digest"
expect_exit 0 "$VRAMSNAP" verify "$R/models/s:v1" --key-file k.key
expect_exit 0 "$VRAMSNAP" verify "$R/models/s@$manifest_digest" --key-file k.key
expect_exit 0 "$VRAMSNAP" restore "$R/models/s@$file_digest" --key-file k.key --extract out -q
assert_same_bytes out/r r.bin
assert_same_bytes out/z z.bin

step "a pinned reference binds the snapshot, sealed or not"
# Two unsealed snapshots of one size: each is self-consistent, so only the
# pin tells them apart.
gen_random ra.bin 200000
gen_random rb.bin 200000
expect_exit 0 "$VRAMSNAP" capture -o a.snap --chunk-size 64KiB --region r=ra.bin --region z=z.bin
expect_exit 0 "$VRAMSNAP" capture -o b.snap --chunk-size 64KiB --region r=rb.bin --region z=z.bin
[[ $(file_size a.snap) == "$(file_size b.snap)" ]] || fail "a.snap and b.snap differ in size"
expect_exit 0 "$VRAMSNAP" push a.snap "$R/models/u:a" --json
a_manifest=$(json_value 'j["manifest_digest"]')
a_blob=$(json_value 'j["digest"]')
expect_exit 0 "$VRAMSNAP" push b.snap "$R/models/u:b" --json
b_blob=$(json_value 'j["digest"]')
# A's manifest as another tool writes it: no index digest on the layer.
plain_manifest=$(/usr/bin/python3 - "$RP" <<'PY'
import hashlib, json, sys, urllib.request
base = "http://127.0.0.1:%s/v2/models/u/manifests/" % sys.argv[1]
media = "application/vnd.oci.image.manifest.v1+json"
m = json.load(urllib.request.urlopen(urllib.request.Request(base + "a", headers={"Accept": media})))
del m["layers"][0]["annotations"]["org.vramsnap.index.digest"]
body = json.dumps(m).encode()
urllib.request.urlopen(urllib.request.Request(base + "plain", data=body, method="PUT", headers={"Content-Type": media}))
print("sha256:" + hashlib.sha256(body).hexdigest())
PY
) || fail "could not write the manifest without an index digest"
for ref in "@$a_manifest" ":a" "@$plain_manifest" "@$a_blob"; do
  expect_exit 0 "$VRAMSNAP" verify "$R/models/u$ref" --allow-unsealed
  [[ ! -s $ERR ]] || fail "stderr not empty: a progress bar drawn without a terminal"
done

step "the registry serves B's bytes as A's blob: every pinned read of A fails (exit 1), nothing is written"
# Editing the registry's storage is what a hostile registry or mirror does.
data=storage/docker/registry/v2/blobs/sha256/${a_blob:7:2}/${a_blob#sha256:}/data
[[ -f $data ]] || fail "no blob file at $data"
cp b.snap "$data"
for ref in "@$a_manifest" ":a"; do
  expect_exit 1 "$VRAMSNAP" inspect "$R/models/u$ref"
  expect_stderr_contains "org.vramsnap.index.digest"
  expect_exit 1 "$VRAMSNAP" verify "$R/models/u$ref" --allow-unsealed --json
  assert_json "j['ok'] is False and j['failure']['kind'] == 'integrity error' and 'org.vramsnap.index.digest' in j['failure']['message']"
  expect_exit 1 "$VRAMSNAP" restore "$R/models/u$ref" --allow-unsealed --extract swapped -q
  assert_no_file swapped
done
# No index digest to check: the pinned blob digest is checked over the whole blob.
for ref in "@$plain_manifest" "@$a_blob"; do
  expect_exit 1 "$VRAMSNAP" inspect "$R/models/u$ref"
  expect_stderr_contains "hash to $b_blob, not $a_blob"
  expect_exit 1 "$VRAMSNAP" restore "$R/models/u$ref" --allow-unsealed --extract swapped -q
  assert_no_file swapped
done
# A tag whose manifest names no index digest pins nothing: what is read is
# whatever self-consistent snapshot the registry serves (a seal and a key,
# or a digest reference, are what bind it).
expect_exit 0 "$VRAMSNAP" verify "$R/models/u:plain" --allow-unsealed

step "missing tags and digests are I/O errors (exit 4)"
expect_exit 4 "$VRAMSNAP" inspect "$R/models/s:nope"
expect_stderr_contains "HTTP 404"
expect_exit 4 "$VRAMSNAP" inspect "$R/models/s@sha256:$(printf '%064d' 0)"
expect_exit 2 "$VRAMSNAP" inspect "$R/Models/s:v1"

step "a push that fails leaves no tag"
head -c 5000 /dev/urandom >not-a-snapshot
expect_exit 3 "$VRAMSNAP" push not-a-snapshot "$R/models/bad:v1"
expect_exit 4 "$VRAMSNAP" inspect "$R/models/bad:v1"
expect_exit 2 "$VRAMSNAP" push s.snap "$R/models/s@$file_digest"

step "registry token flow: Bearer challenge, token from a docker config.json login"
TOKEN=tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRETS+=("$TOKEN")
/usr/bin/python3 "$(dirname "$0")/fault_server.py" "$T" "$T/port" "$T/log" "$TOKEN" 2>"$T/server.err" &
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.05; done
P=$(cat port)
login=$(printf 'ci:%s' "$TOKEN" | base64 -w0)
SECRETS_B64+=("${login%%=*}")
mkdir -m 700 dockercfg
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$P" "$login" >dockercfg/config.json
chmod 600 dockercfg/config.json
expect_exit 0 "$VRAMSNAP" verify "oci://127.0.0.1:$P/models/s:latest" --key-file k.key --registry-config dockercfg/config.json
expect_exit 0 env DOCKER_CONFIG="$T/dockercfg" "$VRAMSNAP" restore "oci://127.0.0.1:$P/models/s:latest" --key-file k.key \
  --extract out2 -q
assert_same_bytes out2/r r.bin
[[ $(grep -c '"mode": "token"' log) -ge 3 ]] || fail "expired registry tokens were not renewed"
expect_exit 4 env HOME="$T" "$VRAMSNAP" inspect "oci://127.0.0.1:$P/models/s:latest"
expect_stderr_contains "token endpoint"
chmod 644 dockercfg/config.json
expect_exit 2 "$VRAMSNAP" inspect "oci://127.0.0.1:$P/models/s:latest" --registry-config dockercfg/config.json

step "--insecure keeps TLS with a registry that speaks it (a host name that is not loopback by name)"
H=$(hostname)
if command -v openssl >/dev/null && [[ $H =~ ^[a-z0-9][a-z0-9.-]*$ ]] && getent hosts "$H" | grep -q '^127\.'; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$H" \
    -addext "subjectAltName=DNS:$H" -keyout tls.key -out tls.crt >/dev/null 2>&1 || fail "openssl req failed"
  TP=$(free_port)
  mkdir tstorage
  sed -e "s|$T/storage|$T/tstorage|" -e "s|addr: 127.0.0.1:$RP|addr: 127.0.0.1:$TP\n  tls:\n    certificate: $T/tls.crt\n    key: $T/tls.key|" \
    registry.yml >tregistry.yml
  /usr/bin/docker-registry serve tregistry.yml >tregistry.log 2>&1 &
  for _ in $(seq 100); do
    /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $TP), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  expect_exit 0 "$VRAMSNAP" push s.snap "oci://$H:$TP/models/s:v1" --insecure --ca-file tls.crt
  expect_exit 0 "$VRAMSNAP" verify "oci://$H:$TP/models/s:v1" --insecure --ca-file tls.crt --key-file k.key
else
  echo "  (skipped: needs openssl and a host name that resolves to loopback)"
fi

assert_no_temp_files .
echo "PASS: $TEST_NAME"
