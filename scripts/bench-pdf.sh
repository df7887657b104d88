#!/usr/bin/env bash
# PDF sealing benchmarks beside pyHanko and pdfsig, same run, same machine:
#   1. one-page PDF (ReportLab), P-256 key: signatures/s with a visible seal and invisible,
#      `sealpki bench pdf` in-process vs pyHanko's API in-process (scripts/bench_pdf_pyhanko.py);
#   2. verification: in-process vs pyHanko's validate_pdf_signature, and per file as a command
#      (`sealpki pdf verify` vs `pdfsig`), same signed file;
#   3. a 100 MB PDF: `sealpki pdf sign` wall time and peak RSS vs `sha256sum` of the same file.
# Installs pyhanko and reportlab into the venv the tests use (.venv or $SEALPKI_VENV) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-2000}
PYN=${PYN:-50}
VENV="${SEALPKI_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/pyhanko" ] || ! "$VENV/bin/python" -c "import reportlab, PIL" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pyhanko pyhanko-cli reportlab pillow
fi
PY="$VENV/bin/python"
cargo build --release -q
BIN=$ROOT/target/release/sealpki
W=$(mktemp -d /tmp/sealpki-bench-pdf.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
"$PY" "$ROOT/tests/pdf_fixtures.py" "$W"
qpdf --empty --pages contract.pdf 1 -- one.pdf
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -subj "/CN=Bench Root" \
  -days 30 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out root.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/O=Bench/CN=Bench Seal" -out leaf.csr 2>/dev/null
printf "keyUsage=critical,nonRepudiation,digitalSignature\n" > leaf.ext
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile leaf.ext -out leaf.pem 2>/dev/null

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo
echo "== 1+2. one-page PDF, P-256 (in-process, one thread each)"
"$BIN" bench pdf --in one.pdf --key-file leaf.key --cert leaf.pem --image seal.png --trust root.pem --count "$N"
"$BIN" bench pdf --in one.pdf --key-file leaf.key --cert leaf.pem --trust root.pem --count "$N"
"$PY" "$ROOT/scripts/bench_pdf_pyhanko.py" sign one.pdf leaf.key leaf.pem root.pem seal.png "$PYN" 2>/dev/null
"$PY" "$ROOT/scripts/bench_pdf_pyhanko.py" validate one.pdf leaf.key leaf.pem root.pem seal.png "$PYN" 2>/dev/null

echo
echo "== 2. verification per file, as commands (process start included), same signed file"
"$BIN" pdf sign --in one.pdf --out signed.pdf --key-file leaf.key --cert leaf.pem --image seal.png >/dev/null
mkdir nss && certutil -N -d sql:nss --empty-password && certutil -A -d sql:nss -n root -t "CT,C,C" -i root.pem
R=30
t0=$(date +%s.%N); for _ in $(seq $R); do "$BIN" pdf verify --trust root.pem signed.pdf >/dev/null; done; t1=$(date +%s.%N)
for _ in $(seq $R); do pdfsig -nssdir sql:nss signed.pdf >/dev/null; done; t2=$(date +%s.%N)
for _ in $(seq 5); do "$VENV/bin/pyhanko" sign validate --trust root.pem --trust-replace signed.pdf >/dev/null 2>&1; done; t3=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$t3" "$R" <<'PY'
import sys
t0, t1, t2, t3, r = map(float, sys.argv[1:])
ours, pdfsig, ph = (t1 - t0) / r * 1000, (t2 - t1) / r * 1000, (t3 - t2) / 5 * 1000
print(f"sealpki pdf verify {ours:.1f} ms/file, pdfsig {pdfsig:.1f} ms/file ({pdfsig/ours:.1f}x), pyhanko sign validate {ph:.0f} ms/file ({ph/ours:.0f}x)")
PY

# A folder of signed copies: one `sealpki pdf verify DIR` against pdfsig once per file.
mkdir many && for i in $(seq 100); do cp signed.pdf "many/f$i.pdf"; done
t0=$(date +%s.%N); "$BIN" pdf verify --trust root.pem many >/dev/null 2>&1; t1=$(date +%s.%N)
for f in many/*.pdf; do pdfsig -nssdir sql:nss "$f" >/dev/null; done; t2=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:])
ours, ps = (t1 - t0) * 10, (t2 - t1) * 10
print(f"100 files: sealpki pdf verify DIR {ours:.2f} ms/file, pdfsig per file {ps:.1f} ms/file ({ps/ours:.0f}x)")
PY

echo
echo "== 2b. a folder of 2,000 one-page PDFs: \`pdf sign --in DIR\` on one core and on all cores"
mkdir inbox && for i in $(seq 2000); do cp one.pdf "inbox/f$i.pdf"; done
for jobs in 1 "$(nproc)"; do
  rm -rf outbox
  t0=$(date +%s.%N)
  "$BIN" pdf sign --in inbox --out outbox --key-file leaf.key --cert leaf.pem --image seal.png --jobs "$jobs" >/dev/null 2>&1
  t1=$(date +%s.%N)
  python3 -c "import sys; print(f'--jobs {sys.argv[3]}: {2000/(float(sys.argv[2])-float(sys.argv[1])):.0f} files/s')" "$t0" "$t1" "$jobs"
done
rm -rf inbox outbox

echo
echo "== 3. 100 MB PDF: signing streams the file (hash while copying)"
python3 - <<'PY'
import os
# One page showing one 5800x5800 RGB image stored raw: ~100 MB.
w = h = 5800
img = os.urandom(w * h * 3)
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"]
content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
with open("big.pdf", "wb") as f:
    f.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(f.tell()); f.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    offs.append(f.tell())
    f.write(b"4 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n" % (w, h, len(img)))
    f.write(img); f.write(b"\nendstream\nendobj\n")
    offs.append(f.tell())
    f.write(b"5 0 obj\n<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream\nendobj\n")
    x = f.tell()
    f.write(b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offs))
    f.write(b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % x)
PY
ls -l big.pdf | awk '{print "input: " $5 " bytes"}'
cat big.pdf > /dev/null  # warm the page cache for both
/usr/bin/time -f "%e %M" -o sha.t sha256sum big.pdf >/dev/null
/usr/bin/time -f "%e %M" -o ours.t "$BIN" pdf sign --in big.pdf --out big-signed.pdf --key-file leaf.key --cert leaf.pem --image seal.png >/dev/null
/usr/bin/time -f "%e %M" -o ver.t "$BIN" pdf verify --trust root.pem big-signed.pdf >/dev/null
/usr/bin/time -f "%e %M" -o pdfsig.t pdfsig -nssdir sql:nss big-signed.pdf >/dev/null
python3 - <<'PY'
sha = open("sha.t").read().split(); ours = open("ours.t").read().split()
ver = open("ver.t").read().split(); ps = open("pdfsig.t").read().split()
print(f"sha256sum {sha[0]} s; sealpki pdf sign {ours[0]} s ({float(ours[0])/max(float(sha[0]),0.01):.2f}x sha256sum), peak RSS {int(ours[1])/1024:.1f} MB")
print(f"sealpki pdf verify {ver[0]} s (peak {int(ver[1])/1024:.1f} MB); pdfsig {ps[0]} s (peak {int(ps[1])/1024:.1f} MB)")
PY
