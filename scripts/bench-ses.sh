#!/usr/bin/env bash
# GB/T 38540 seal signatures with a software SM2 key beside `openssl speed sm2`, same run, same machine.
# The maker and holder certificates come from a throw-away development deployment (P-256 CAs); the SM2
# keys and CSRs from openssl. Env: N (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
cargo build --release -q
BIN=$PWD/target/release/sealpki
W=$(mktemp -d /tmp/sealpki-bench-ses.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SEALPKI_KEYS_PASSPHRASE=bench SEALPKI_LOG=error SEALPKI_ADMIN_PASSWORD=bench-admin-password
"$BIN" --data "$W/data" init --ceremony fixtures/ceremony-dev.toml >/dev/null
cd "$W"
party() { # name profile subject
  openssl genpkey -algorithm SM2 -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "$3" -utf8 -sm3 -sigopt distid:1234567812345678 -out "$1.csr"
  "$BIN" --data data cert issue --profile "$2" --csr "$1.csr" --out "$1.pem" >/dev/null
}
party maker maker-production "/C=CN/O=Bench Seal Maker/CN=Bench Seal Maker production"
party holder seal-signing "/C=CN/O=Bench Co/CN=Bench Co contract seal/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q"
"$BIN" --data data ca chain maker > maker-chain.pem
"$BIN" --data data ca chain seal > seal-chain.pem
python3 - <<'PY'
import zlib, struct
w = h = 200
def px(x, y):
    ring = 70 < ((x - 100) ** 2 + (y - 100) ** 2) ** 0.5 < 95
    return bytes((220, 30, 30, 255 if ring else 0))
rows = b"".join(b"\x00" + b"".join(px(x, y) for x in range(w)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open("seal.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
"$BIN" --data data ses make --maker-key-file maker.key --maker-cert maker.pem --name "Bench Co contract seal" \
  --es-id 3301000000001 --image seal.png --signer-cert holder.pem --out seal.der >/dev/null

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BIN" bench ses --seal seal.der --key-file holder.key --cert holder.pem --trust maker-chain.pem --trust seal-chain.pem --count "$N"
echo "openssl speed sm2 (one core; a SES signature costs one SM2 signature, its verification two SM2 verifications):"
openssl speed -seconds 3 sm2 2>/dev/null | grep -E "^ *[0-9]+ bits SM2|sign/s|SM2" | tail -3
