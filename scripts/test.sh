#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust: installs what the tests need
# (softhsm2, opensc, poppler-utils, qpdf, NSS tools, Chromium to print PDFs and screenshot the console,
# Noto CJK and DejaVu fonts, zbar-tools to read QR codes; a Python venv with
# pyhanko, pkilint, ReportLab for PDF fixtures, schemathesis for the API document, aiosmtpd as the
# SMTP server, Playwright to drive the system Chromium through the console's flows, pycose to check
# our COSE credentials),
# starts a throw-away PostgreSQL cluster and a SoftHSM2 token directory, runs every test, and
# cleans up. Extra arguments go to `cargo test` (e.g. `bash scripts/test.sh --test pkcs11`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n==> %s\n' "$*"; }

# --- system packages -------------------------------------------------------------------------
need=()
for pair in softhsm2-util:softhsm2 pkcs11-tool:opensc pdfsig:poppler-utils qpdf:qpdf certutil:libnss3-tools openssl:openssl chromium:chromium curl:curl zbarimg:zbar-tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# CJK glyphs for the console's screenshots in headless Chromium (tests/web.rs) and the Noto CJK
# collections the seal pictures are drawn with (pki/tests/faces.rs).
if ! fc-list :lang=zh 2>/dev/null | grep -q . || ! ls /usr/share/fonts/opentype/noto/NotoS*CJK*.ttc >/dev/null 2>&1; then need+=(fonts-noto-cjk); fi
# A TrueType (glyf) font for the PDF composer's second font path (pki/tests/form_pdf.rs).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- Python tools (independent checkers) -----------------------------------------------------
VENV="${SEALPKI_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/lint_pkix_cert" ] || [ ! -x "$VENV/bin/pyhanko" ] || [ ! -x "$VENV/bin/schemathesis" ] || [ ! -x "$VENV/bin/aiosmtpd" ] || [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import reportlab, PIL, playwright, pycose" 2>/dev/null; then
  say "creating Python venv with pkilint, pyhanko, asn1crypto, reportlab (PDF fixtures) in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pkilint pyhanko pyhanko-cli asn1crypto reportlab pillow schemathesis aiosmtpd playwright 'moto[server]' pycose 'cbor2<6'
fi
export PATH="$VENV/bin:$PATH"

# --- scratch area ------------------------------------------------------------------------------
RUN="$ROOT/.test-run"
rm -rf "$RUN"; mkdir -p "$RUN"
PGBIN="${PGBIN:-$(dirname "$(readlink -f "$(command -v initdb || echo /usr/lib/postgresql/15/bin/initdb)")")}"
# The cluster lives under /tmp: as root, the server runs as `postgres`, which may not be able to reach a
# checkout in a private home directory.
PGDIR=$(mktemp -d /tmp/sealpki-pg.XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT

# --- throw-away PostgreSQL ----------------------------------------------------------------------
say "starting a throw-away PostgreSQL cluster ($PGBIN)"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U sealpki --auth=trust -E UTF8 >/dev/null
# fsync=off: this cluster is thrown away; crash tests kill sealpki, not PostgreSQL.
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
export SEALPKI_TEST_PG_URL="postgres://sealpki@127.0.0.1:$PGPORT/postgres"
export SEALPKI_REQUIRE_PG=1

# --- SoftHSM2 token directory ----------------------------------------------------------------------
mkdir -p "$RUN/softhsm/tokens"
cat > "$RUN/softhsm/softhsm2.conf" <<CONF
directories.tokendir = $RUN/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$RUN/softhsm/softhsm2.conf"
export SEALPKI_TEST_PKCS11_MODULE="${SEALPKI_TEST_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
export SEALPKI_REQUIRE_SOFTHSM=1
# Seal pictures (pki/tests/faces.rs) need the Noto CJK fonts installed above.
export SEALPKI_REQUIRE_FONTS=1
# Tools that checks by others need (zbarimg, pycose) fail the run when missing rather than skip.
export SEALPKI_REQUIRE_TOOLS=1
export SEALPKI_TEST_RUN="$RUN"

say "cargo test"
cargo test --workspace "$@"
say "all tests passed"
