#!/usr/bin/env python3
"""Send a request signed with a sealpki app's API key (docs/apps.md), standard library only.

    scripts/app_request.py --url https://pki.example.cn/api/v1/app/whoami \\
        --app APP_ID --key KEY_ID --secret-file key.secret [--scheme hmac-sha256|hmac-sm3] \\
        [-X POST] [--data '{"a":1}' | --data-file doc.pdf] [-H 'Content-Type: application/json']

The canonical text is seven lines joined by "\\n": METHOD, PATH (as sent), the sorted query
(pairs percent-decoded, sorted by key then value, re-encoded with RFC 3986 unreserved characters
kept, joined by &), X-Sealpki-Timestamp, X-Sealpki-Nonce, Content-Digest, X-Sealpki-App.
X-Sealpki-Signature = base64(HMAC(secret, canonical)): HMAC-SHA256 with a sha-256 digest, or
HMAC-SM3 with an sm3 digest. The secret is the base64url text the key was created with.

SM3 comes from hashlib when Python's OpenSSL has it (OpenSSL 3 does), else from the openssl
command (`openssl dgst -sm3`, `openssl mac -digest SM3 HMAC`).

--dry-run prints the headers instead of sending (for curl: `-H "$line"` each). --nonce and
--timestamp fix those values (to show a replay or a stale request); --send-data sends another
body than the one signed (to show a changed body is refused).
Exit status: 0 for a 2xx answer, 1 for another answer, 2 for a usage or connection error.
"""

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _sm3_available():
    try:
        hashlib.new("sm3", b"")
        return True
    except ValueError:
        return False


def _openssl(args, data):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True, check=True).stdout


def digest(scheme, body):
    if scheme == "hmac-sha256":
        return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    if _sm3_available():
        d = hashlib.new("sm3", body).digest()
    else:
        d = _openssl(["dgst", "-sm3", "-binary"], body)
    return "sm3=:" + base64.b64encode(d).decode() + ":"


def mac(scheme, secret, message):
    if scheme == "hmac-sha256":
        return hmac.new(secret, message, hashlib.sha256).digest()
    if _sm3_available():
        return hmac.new(secret, message, "sm3").digest()
    return _openssl(["mac", "-digest", "SM3", "-macopt", "hexkey:" + secret.hex(), "-binary", "HMAC"], message)


def _decode(s):
    # Percent-escapes only: "+" is a plus sign.
    return urllib.parse.unquote_to_bytes(s)


def _encode(b):
    return "".join(chr(c) if c in UNRESERVED else "%%%02X" % c for c in b)


def canonical_query(raw):
    pairs = []
    for piece in raw.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        pairs.append((_decode(k), _decode(v)))
    pairs.sort()
    return "&".join(_encode(k) + "=" + _encode(v) for k, v in pairs)


def canonical(method, path, query, timestamp, nonce, content_digest, app_id):
    return "\n".join([method.upper(), path, canonical_query(query), timestamp, nonce, content_digest, app_id])


def signed_headers(scheme, app_id, key_id, secret, method, url, body, timestamp=None, nonce=None):
    parts = urllib.parse.urlsplit(url)
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_urlsafe(24)
    cd = digest(scheme, body)
    text = canonical(method, parts.path or "/", parts.query, timestamp, nonce, cd, app_id)
    sig = base64.b64encode(mac(scheme, secret, text.encode())).decode()
    return {
        "X-Sealpki-App": app_id,
        "X-Sealpki-Key": key_id,
        "X-Sealpki-Timestamp": timestamp,
        "X-Sealpki-Nonce": nonce,
        "Content-Digest": cd,
        "X-Sealpki-Signature": sig,
    }


def _secret(args):
    text = args.secret
    if args.secret_file:
        with open(args.secret_file) as f:
            text = f.read()
    text = (text or os.environ.get("SEALPKI_APP_SECRET", "")).strip()
    if not text:
        sys.exit("give the key's secret: --secret, --secret-file or SEALPKI_APP_SECRET")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--app", required=True, help="the app id (X-Sealpki-App)")
    p.add_argument("--key", required=True, help="the API key's credential id (X-Sealpki-Key)")
    p.add_argument("--secret", help="the key's secret, base64url (prefer --secret-file)")
    p.add_argument("--secret-file")
    p.add_argument("--scheme", default="hmac-sha256", choices=["hmac-sha256", "hmac-sm3"])
    p.add_argument("-X", "--method", default=None)
    p.add_argument("--data", help="the body (text)")
    p.add_argument("--data-file", help="the body (a file's bytes)")
    p.add_argument("--send-data", help="send this body instead of the signed one (tests)")
    p.add_argument("-H", "--header", action="append", default=[], help="another header, 'Name: value'")
    p.add_argument("--cacert", help="trust this CA (PEM) for https://")
    p.add_argument("--timestamp", help="unix seconds (default: now)")
    p.add_argument("--nonce", help="default: 32 random base64url characters")
    p.add_argument("--dry-run", action="store_true", help="print the headers, send nothing")
    p.add_argument("--include", "-i", action="store_true", help="print the status line to stderr")
    args = p.parse_args()

    body = b""
    if args.data is not None:
        body = args.data.encode()
    if args.data_file:
        with open(args.data_file, "rb") as f:
            body = f.read()
    method = (args.method or ("POST" if body else "GET")).upper()
    headers = signed_headers(args.scheme, args.app, args.key, _secret(args), method, args.url, body,
                             args.timestamp, args.nonce)
    for h in args.header:
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    if args.dry_run:
        for k, v in headers.items():
            print(f"{k}: {v}")
        return 0
    sent = args.send_data.encode() if args.send_data is not None else body
    req = urllib.request.Request(args.url, data=sent if (sent or method not in ("GET", "HEAD")) else None,
                                 method=method, headers=headers)
    ctx = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            status, out = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, out = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        print(f"app_request: {e}", file=sys.stderr)
        return 2
    if args.include:
        print(f"HTTP {status}", file=sys.stderr)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
