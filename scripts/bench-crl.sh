#!/usr/bin/env bash
# CRL benchmark: sealpki builds and signs a CRL of N entries (default 1,000,000) with a P-256 CA key,
# beside `openssl ca -gencrl` making the same-sized CRL in the same run. Prints wall time and peak RSS
# of both (GNU time) and checks our CRL with `openssl crl -verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
command -v /usr/bin/time >/dev/null || { sudo apt-get install -y -qq time >/dev/null; }
cargo build --release -q
W=$(mktemp -d /tmp/sealpki-bench-crl.XXXXXX)
trap 'rm -rf "$W"' EXIT
BIN=$PWD/target/release/sealpki
export SEALPKI_KEYS_PASSPHRASE=bench SEALPKI_PUBLIC_BASE_URL=http://pki.example.com
"$BIN" --data "$W/data" init --ceremony fixtures/ceremony-dev.toml >/dev/null

echo "== sealpki bench crl --entries $N"
/usr/bin/time -f "sealpki: %e s wall, %M KB peak RSS (whole process, including start-up)" \
  "$BIN" --data "$W/data" bench crl --entries "$N" --out "$W/ours.crl" --keep
"$BIN" --data "$W/data" ca chain seal > "$W/seal-chain.pem"
openssl crl -inform DER -in "$W/ours.crl" -noout -verify -CAfile "$W/seal-chain.pem"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SEALPKI_LOG=error "$BIN" --data "$W/data" serve --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SRV=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.1; done
curl -s -o "$W/served.crl" -w "served over HTTP: %{size_download} bytes in %{time_total} s (read from the database)\n" "http://127.0.0.1:$PORT/crl/seal.crl"
curl -s -o "$W/served2.crl" -w "served again: %{size_download} bytes in %{time_total} s (from memory)\n" "http://127.0.0.1:$PORT/crl/seal.crl"
grep VmHWM /proc/$SRV/status | sed 's/^/server peak RSS after serving: /'
kill $SRV
cmp -s "$W/ours.crl" "$W/served.crl" && echo "served CRL is the one built"

echo "== openssl ca -gencrl with $N revoked entries (peer, same machine, same run)"
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=peer -days 30 2>/dev/null
python3 - "$N" <<'PY'
import os, sys
n = int(sys.argv[1])
with open("index.txt", "w") as f:
    for i in range(n):
        f.write("R\t301231235959Z\t261101000000Z,keyCompromise\t%032X\tunknown\t/CN=c%d\n" % (int.from_bytes(os.urandom(16), "big") | 1 << 120, i))
PY
printf 'unique_subject = no\n' > index.txt.attr
cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = index.txt
crlnumber = crlnumber
private_key = ca.key
certificate = ca.pem
default_md = sha256
default_crl_days = 1
CNF
echo 01 > crlnumber
/usr/bin/time -f "openssl ca -gencrl: %e s wall, %M KB peak RSS" openssl ca -config ca.cnf -gencrl -out peer.crl 2>&1 | grep -v "^Using configuration"
ls -l ours.crl peer.crl | awk '{print $5, $9}'
