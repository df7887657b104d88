#!/usr/bin/env bash
# Platform figures on SQLite and on PostgreSQL (a throw-away cluster, as scripts/test.sh starts one),
# same run, same machine: logins per second beside bare Argon2id verifications (`bench login`),
# console page render times under 100 concurrent browser sessions beside /healthz (`bench pages`),
# workflow transitions per second (`bench workflow`), seal applications taken to produced cloud
# seals beside bare certificate issuance and seal-status answers beside credential signing
# (`bench seals`), and the apps' signing API over HTTP with HMAC beside the same sealing in-process
# (`bench apps`). Prints one JSON document per figure. ONLY="seals workflow" runs just those;
# DBS=postgres (or sqlite) runs one database.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SESSIONS=${SESSIONS:-100}
SECONDS_EACH=${SECONDS_EACH:-10}
ONLY=${ONLY:-"login pages workflow seals apps"}
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# BIN=path runs an already built binary (no build).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=$ROOT/target/release/sealpki
fi
W=$(mktemp -d /tmp/sealpki-bench-platform.XXXXXX)
# The cluster gets a directory of its own: as root, the server runs as `postgres`.
PGDIR=$(mktemp -d /tmp/sealpki-bench-pg.XXXXXX)
PGBIN="${PGBIN:-$(dirname "$(readlink -f "$(command -v initdb || echo /usr/lib/postgresql/15/bin/initdb)")")}"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$W" "$PGDIR"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U sealpki --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null

for db in ${DBS:-sqlite postgres}; do
  D="$W/$db"
  mkdir -p "$D"
  if [ "$db" = postgres ]; then
    export SEALPKI_DATABASE_URL="postgres://sealpki@127.0.0.1:$PGPORT/postgres"
  else
    unset SEALPKI_DATABASE_URL
  fi
  "$BIN" --data "$D" init --ceremony fixtures/ceremony-dev.toml >/dev/null
  if want login; then "$BIN" --data "$D" --json bench login --count 200 --concurrency 4; fi
  if want pages; then "$BIN" --data "$D" --json bench pages --sessions "$SESSIONS" --seconds "$SECONDS_EACH" --path /home; fi
  if want workflow; then "$BIN" --data "$D" --json bench workflow --count 2000 --concurrency 8; fi
  if want seals; then "$BIN" --data "$D" --json bench seals --count 300 --concurrency 8; fi
  if want apps; then "$BIN" --data "$D" --json bench apps --connections "${APP_CONNECTIONS:-32}" --seconds "${APP_SECONDS:-60}"; fi
done
