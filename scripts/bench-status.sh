#!/usr/bin/env bash
# Status-service benchmarks, each beside a peer in the same run, same machine, same load generator
# (`sealpki bench http`: raw keep-alive HTTP/1.1; it reconnects when a server closes, as openssl does):
#   OCSP from the pre-signed cache (request without nonce) and freshly signed (request with nonce),
#   against `openssl ocsp -index … -port …` as a responder; RFC 3161 tokens over HTTP against
#   `openssl ts -reply` in a loop. Keys: P-256 in the software store for ours, P-256 files for OpenSSL.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
CONN=${CONN:-4}
cargo build --release -q
W=$(mktemp -d /tmp/sealpki-bench-status.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$W"' EXIT
BIN=$PWD/target/release/sealpki
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export SEALPKI_KEYS_PASSPHRASE=bench SEALPKI_PUBLIC_BASE_URL=http://pki.example.com SEALPKI_LOG=error
"$BIN" --data "$W/data" init --ceremony fixtures/ceremony-dev.toml >/dev/null
P1=$(free_port)
"$BIN" --data "$W/data" serve --listen "127.0.0.1:$P1" >/dev/null 2>&1 &
PIDS+=($!)
cd "$W"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/O=Bench/CN=bench app" -out leaf.csr 2>/dev/null
"$BIN" --data data cert issue --profile app-client --csr leaf.csr --out leaf.pem
"$BIN" --data data ca chain service | awk '/BEGIN/{n++} n==1' > service.pem
openssl ocsp -issuer service.pem -cert leaf.pem -no_nonce -reqout ours-nonce-less.der >/dev/null
openssl ocsp -issuer service.pem -cert leaf.pem -reqout ours-nonce.der >/dev/null
until curl -sf "http://127.0.0.1:$P1/healthz" >/dev/null; do sleep 0.1; done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); client and servers share them"
echo "== sealpki OCSP, pre-signed cache (no nonce)"
"$BIN" bench http "http://127.0.0.1:$P1/ocsp/service" --body ours-nonce-less.der --content-type application/ocsp-request --connections "$CONN" --seconds "$SECS"
echo "== sealpki OCSP, freshly signed (nonce)"
"$BIN" bench http "http://127.0.0.1:$P1/ocsp/service" --body ours-nonce.der --content-type application/ocsp-request --connections "$CONN" --seconds "$SECS"

# Peer: an OpenSSL CA, delegated responder and index with the same shape of answer.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=peer-ca -days 30 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rsp.key -subj /CN=peer-ocsp -out rsp.csr 2>/dev/null
printf 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n' > rsp.ext
openssl x509 -req -in rsp.csr -CA ca.pem -CAkey ca.key -days 30 -extfile rsp.ext -out rsp.pem 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 30 -out peer-leaf.pem 2>/dev/null
SERIAL=$(openssl x509 -in peer-leaf.pem -noout -serial | cut -d= -f2)
printf 'V\t301231235959Z\t\t%s\tunknown\t/CN=bench app\n' "$SERIAL" > index.txt
P2=$(free_port)
openssl ocsp -index index.txt -port "$P2" -rsigner rsp.pem -rkey rsp.key -CA ca.pem >/dev/null 2>&1 &
PIDS+=($!)
openssl ocsp -issuer ca.pem -cert peer-leaf.pem -no_nonce -reqout peer-nonce-less.der >/dev/null
openssl ocsp -issuer ca.pem -cert peer-leaf.pem -reqout peer-nonce.der >/dev/null
until openssl ocsp -issuer ca.pem -cert peer-leaf.pem -url "http://127.0.0.1:$P2" -CAfile ca.pem >/dev/null 2>&1; do sleep 0.2; done
echo "== peer: openssl ocsp -index … -port … (no nonce)"
"$BIN" bench http "http://127.0.0.1:$P2/" --body peer-nonce-less.der --content-type application/ocsp-request --connections "$CONN" --seconds "$SECS"
echo "== peer: openssl ocsp -index … -port … (nonce)"
"$BIN" bench http "http://127.0.0.1:$P2/" --body peer-nonce.der --content-type application/ocsp-request --connections "$CONN" --seconds "$SECS"

echo "== sealpki TSA over HTTP"
echo "bench data" > data.txt
openssl ts -query -data data.txt -sha256 -cert -out q.tsq 2>/dev/null
"$BIN" bench http "http://127.0.0.1:$P1/tsa" --body q.tsq --content-type application/timestamp-query --connections "$CONN" --seconds "$SECS"
echo "== peer: openssl ts -reply, 200 tokens (one process each: OpenSSL has no TSA server)"
printf '[tsa]\ndefault_tsa = t\n[t]\nserial = ./tsaserial\nsigner_cert = ./tsa.pem\nsigner_key = ./rsp.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n' > tsa.cnf
printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' > tsa.ext
openssl x509 -req -in rsp.csr -CA ca.pem -CAkey ca.key -days 30 -extfile tsa.ext -out tsa.pem 2>/dev/null
echo 01 > tsaserial
start=$(date +%s.%N)
for i in $(seq 200); do openssl ts -reply -config tsa.cnf -queryfile q.tsq -out r.tsr 2>/dev/null; done
end=$(date +%s.%N)
python3 -c "print('openssl ts -reply: %.0f tokens/s' % (200/($end-$start)))"
