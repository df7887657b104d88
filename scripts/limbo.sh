#!/usr/bin/env bash
# Agreement of certificate path validation with x509-limbo's testcases: `openssl verify -x509_strict`
# (the peer) and `sealpki cert verify` (ours), scored per group (whole suite, rfc5280::, pkits::,
# webpki::). Builds nothing: the suite comes from x509-limbo's `limbo compile -o limbo.json`, the
# binary from `cargo build --release`. Field mapping and scoring: see scripts/limbo_run.py.
#   scripts/limbo.sh [LIMBO_JSON [SEALPKI_BIN]] [--only-openssl] [--match rfc5280::] [--workers N]
#                    [--timeout S] [--email-without-name-check] [--purpose-from-kind] [--keep] ...
# Defaults: /tmp/limbo/limbo.json, target/release/sealpki; reports go to /tmp/limbo (--out DIR).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
POS=()
OPTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers|--timeout|--out|--match|--sealpki) OPTS+=("$1" "$2"); shift 2 ;;
    -*) OPTS+=("$1"); shift ;;
    *) POS+=("$1"); shift ;;
  esac
done
LIMBO=${POS[0]:-/tmp/limbo/limbo.json}
BIN=${POS[1]:-$HERE/../target/release/sealpki}
[ -f "$LIMBO" ] || { echo "no limbo.json at $LIMBO (generate it with x509-limbo: limbo compile -o limbo.json)" >&2; exit 3; }
exec python3 "$HERE/limbo_run.py" "$LIMBO" --sealpki "$BIN" "${OPTS[@]}"
