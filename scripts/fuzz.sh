#!/usr/bin/env bash
# Fuzz the parsers and verifiers with cargo fuzz (libFuzzer + AddressSanitizer) — not part of CI.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 300 s, every target)
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is used with RUSTC_BOOTSTRAP=1
# for the sanitizer flags. Corpora grow under .fuzz/ (not committed), seeded from fixtures/fuzz/TARGET.
# Prints executions per target; a crash stops that target and its input is left under
# pki/fuzz/artifacts/TARGET/ — copy it to fixtures/fuzz/TARGET/ and add a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS="${1:-300}"; shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(pdf_verify ses_decode csr ocsp_request tsa_request cms cert_path)
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 3; }
export RUSTC_BOOTSTRAP=1

# Seeds made here (real structures from openssl and from sealpki itself), beside fixtures/fuzz/*.
SEEDS="$ROOT/.fuzz/seeds"
if [ ! -d "$SEEDS" ]; then
  mkdir -p "$SEEDS"/{pdf_verify,cms,csr,ocsp_request,tsa_request,cert_path}
  T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.pem" 2>/dev/null
  openssl req -new -x509 -key "$T/k.pem" -subj "/CN=Fuzz Seal/O=t/C=CN" -days 30 \
    -addext "keyUsage=critical,digitalSignature,nonRepudiation" -out "$T/c.pem" 2>/dev/null
  openssl x509 -in "$T/c.pem" -outform DER -out "$SEEDS/cert_path/self-signed.der"
  openssl req -new -key "$T/k.pem" -subj "/CN=Fuzz/O=t/C=CN" -outform DER -out "$SEEDS/csr/p256.der"
  openssl ocsp -issuer "$T/c.pem" -cert "$T/c.pem" -reqout "$SEEDS/ocsp_request/nonce.der" -no_nonce >/dev/null 2>&1 || true
  openssl ocsp -issuer "$T/c.pem" -cert "$T/c.pem" -reqout "$SEEDS/ocsp_request/plain.der" >/dev/null 2>&1 || true
  echo data > "$T/data"
  openssl ts -query -data "$T/data" -sha256 -cert -out "$SEEDS/tsa_request/query.der" 2>/dev/null
  printf '%%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>endobj\n4 0 obj<</Length 44>>stream\nBT /F1 12 Tf 20 100 Td (Seal here 盖章处) Tj ET\nendstream endobj\n' > "$T/tiny.pdf"
  python3 - "$T/tiny.pdf" <<'PY'
import sys, re
p = sys.argv[1]; b = open(p, 'rb').read()
offs = [m.start() for m in re.finditer(rb'\d+ 0 obj', b)]
x = len(b)
xref = b'xref\n0 5\n0000000000 65535 f \n' + b''.join(b'%010d 00000 n \n' % o for o in offs)
open(p, 'wb').write(b + xref + b'trailer<</Size 5/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n' % x)
PY
  cp "$T/tiny.pdf" "$SEEDS/pdf_verify/tiny.pdf"
  BIN="$ROOT/target/release/sealpki"; [ -x "$BIN" ] || BIN="$ROOT/target/debug/sealpki"
  if [ -x "$BIN" ]; then
    "$BIN" --data "$T/data-dir" pdf sign --in "$T/tiny.pdf" --out "$SEEDS/pdf_verify/signed.pdf" \
      --key-file "$T/k.pem" --cert "$T/c.pem" >/dev/null 2>&1 || true
    python3 - "$SEEDS/pdf_verify/signed.pdf" "$SEEDS/cms/signature.der" <<'PY' || true
import sys, re
b = open(sys.argv[1], 'rb').read()
m = re.search(rb'/Contents\s*<([0-9A-Fa-f]+)>', b)
open(sys.argv[2], 'wb').write(bytes.fromhex(m.group(1).decode()).rstrip(b'\0'))
PY
  fi
fi

cd pki/fuzz
cargo fuzz build -O
printf '%-14s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in "${TARGETS[@]}"; do
  corpus="$ROOT/.fuzz/corpus/$t"; mkdir -p "$corpus"
  seeds="$ROOT/fixtures/fuzz/$t"
  log="$ROOT/.fuzz/$t.log"
  args=("$corpus")
  [ -d "$SEEDS/$t" ] && args+=("$SEEDS/$t")
  [ -d "$seeds" ] && args+=("$seeds")
  [ "$t" = ses_decode ] && args+=("$ROOT/fixtures/fuzz/ses")
  set +e
  cargo fuzz run -O "$t" "${args[@]}" -- -max_total_time="$SECS" -rss_limit_mb=4096 -max_len=1048576 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  n=$(find "$corpus" -type f | wc -l)
  result=ok; [ $rc -ne 0 ] && result="CRASH (exit $rc, see $log and pki/fuzz/artifacts/$t/)"
  printf '%-14s %12s %10s %8s %s\n' "$t" "${runs:-?}" "${rate:-?}" "$n" "$result"
done
