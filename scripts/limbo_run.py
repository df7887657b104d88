#!/usr/bin/env python3
"""Score certificate path validators against an x509-limbo test suite (limbo.json).

Usage: limbo_run.py LIMBO_JSON [--sealpki BIN] [--only-openssl | --only-sealpki]
                    [--workers 2] [--timeout 30] [--out /tmp/limbo] [--match SUBSTRING] [--keep]

Standard library only (Python 3.11). The suite itself is not part of this repository: it is
generated with x509-limbo's own `limbo compile -o limbo.json`. Each testcase is run through
  openssl: `openssl verify -x509_strict ...`          (the peer)
  sealpki: `sealpki cert verify LEAF ... --json`      (ours)
and the tool's valid/invalid answer is compared with the case's expected_result.

How limbo's fields map onto the two command lines
-------------------------------------------------
trusted_certs            -> trusted.pem (all certs, one file): openssl -CAfile (with -no-CApath
                            -no-CAstore so the system store is never consulted); sealpki --trust.
untrusted_intermediates  -> inter.pem: openssl -untrusted, sealpki --untrusted (both omitted when
                            the list is empty).
peer_certificate         -> leaf.pem, the certificate verified.
validation_time          -> openssl -attime <integer epoch> (fractional seconds truncated: openssl
                            cannot say more); sealpki --at <RFC 3339, fraction kept, "Z">. When
                            limbo gives no time (its certificates then run from 1970 to ~2970) the
                            harness's start time is used for every case.
extended_key_usage       -> sealpki: one --eku <dotted OID> per entry (anyExtendedKeyUsage =
                            2.5.29.37.0). openssl: one -purpose (serverAuth -> sslserver,
                            clientAuth -> sslclient, anyExtendedKeyUsage -> any, timeStamping ->
                            timestampsign, OCSPSigning -> ocsphelper); more than one entry, or
                            codeSigning/emailProtection (no matching purpose in openssl 3.0),
                            is a skip for openssl.
                            An empty list means "no EKU constraint" for both tools, as in limbo's
                            own OpenSSL harness: validation_kind alone adds no -purpose and no
                            --eku. With --purpose-from-kind an empty list gives openssl -purpose
                            sslserver/sslclient and sealpki --purpose server-auth/client-auth
                            from validation_kind.
key_usage                -> sealpki: one --key-usage per entry (limbo's contentCommitment is
                            RFC 5280's nonRepudiation). openssl verify cannot require a key
                            usage: skip for openssl.
expected_peer_name       -> (SERVER cases) DNS: openssl -verify_hostname, sealpki --hostname;
                            IP: openssl -verify_ip, sealpki --ip when its help lists that option,
                            else --hostname with the IP literal; RFC822: openssl -verify_email,
                            sealpki --email if listed, else skip (with --email-without-name-check:
                            run without naming the peer; the name constraints are still checked).
expected_peer_names      -> (CLIENT cases) a single name maps like expected_peer_name; several
                            names are a skip for openssl (one -verify_* value only) and for
                            sealpki (one --hostname/--email) - both must match in limbo.
max_chain_depth          -> openssl -verify_depth N, sealpki --max-depth N. Same meaning in both:
                            N = most intermediates between leaf and trust anchor (limbo's
                            max-chain-depth-0 = root -> leaf).
trust anchors            -> openssl -partial_chain when any trusted cert is not self-issued
                            (issuer DN bytes != subject DN bytes), so an intermediate in the trust
                            file may terminate the chain as it does for every other validator.
signature_algorithms     -> neither tool can be restricted: a non-empty list is a skip for both.
crls                     -> openssl -CRLfile crls.pem (all CRLs) -crl_check_all; sealpki one --crl
                            crl-N.pem per CRL (a skip if `cert verify --help` lists no --crl).
features, importance     -> not used to skip (they are shown next to disagreeing cases).

Results
-------
openssl: exit 0 = valid, 2 = invalid (this includes a leaf it cannot load), anything else = error.
sealpki: exit 0 = valid, 1 = invalid, 2 = indeterminate (counted as not valid, i.e. agreeing with
FAILURE; counted separately as "indet"), 3 = unreadable input / usage = error, other = error.
A timeout (--timeout, per tool per case) is an error. Each case is exactly one of agree, disagree,
skipped, error. "agree% all" = agree / total, "agree% run" = agree / (total - skipped).
Files written to --out: <tool>-disagree.txt (disagreeing and erroring case ids with limbo's
description condensed to one line and the tool's first failed check / error line) and <tool>-results.json.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

EKU_OIDS = {
    "anyExtendedKeyUsage": "2.5.29.37.0",
    "serverAuth": "1.3.6.1.5.5.7.3.1",
    "clientAuth": "1.3.6.1.5.5.7.3.2",
    "codeSigning": "1.3.6.1.5.5.7.3.3",
    "emailProtection": "1.3.6.1.5.5.7.3.4",
    "timeStamping": "1.3.6.1.5.5.7.3.8",
    "OCSPSigning": "1.3.6.1.5.5.7.3.9",
}
OPENSSL_PURPOSE = {
    "anyExtendedKeyUsage": "any",
    "serverAuth": "sslserver",
    "clientAuth": "sslclient",
    "timeStamping": "timestampsign",
    "OCSPSigning": "ocsphelper",
}
KEY_USAGE = {
    "digitalSignature": "digitalSignature",
    "contentCommitment": "nonRepudiation",
    "nonRepudiation": "nonRepudiation",
    "keyEncipherment": "keyEncipherment",
    "dataEncipherment": "dataEncipherment",
    "keyAgreement": "keyAgreement",
    "keyCertSign": "keyCertSign",
    "cRLSign": "cRLSign",
    "encipherOnly": "encipherOnly",
    "decipherOnly": "decipherOnly",
}
GROUPS = ["rfc5280", "pkits", "webpki"]


class Skip(Exception):
    pass


# --- minimal DER reading: enough to compare a certificate's issuer and subject -------------------


def _tlv(b: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at i."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i : i + k], "big")
        i += k
    return tag, i, i + n


def self_issued(pem: str) -> bool:
    try:
        der = base64.b64decode("".join(l for l in pem.splitlines() if l and not l.startswith("-----")))
        _, c, _ = _tlv(der, 0)  # Certificate
        _, i, _ = _tlv(der, c)  # tbsCertificate
        fields = []
        while len(fields) < 6:
            tag, s, e = _tlv(der, i)
            fields.append((tag, i, e))
            i = e
        if fields[0][0] == 0xA0:  # explicit version
            fields = fields[1:]
        issuer, subject = fields[2], fields[4]
        return der[issuer[1] : issuer[2]] == der[subject[1] : subject[2]]
    except Exception:
        return False  # unparsable: let -partial_chain on, it only widens the anchors


# --- building the command lines -------------------------------------------------------------------


def peer_names(tc: dict) -> list[dict]:
    if tc.get("expected_peer_name"):
        return [tc["expected_peer_name"]]
    return list(tc.get("expected_peer_names") or [])


def common_checks(tc: dict, names: list[dict], several_emails: bool = False) -> None:
    if tc.get("signature_algorithms"):
        raise Skip("signature_algorithms constraint not expressible")
    if len(names) > 1 and not (several_emails and all(n["kind"] == "RFC822" for n in names)):
        raise Skip(f"{len(peer_names(tc))} expected peer names; one name per run only")


def openssl_argv(tc: dict, files: dict, at: datetime, args) -> list[str]:
    common_checks(tc, peer_names(tc))
    if tc.get("key_usage"):
        raise Skip("key_usage constraint: openssl verify has no option for it")
    argv = ["openssl", "verify", "-x509_strict", "-no-CApath", "-no-CAstore"]
    argv += ["-CAfile", files["trusted"]] if files.get("trusted") else ["-no-CAfile"]
    if files.get("inter"):
        argv += ["-untrusted", files["inter"]]
    argv += ["-attime", str(int(at.timestamp()))]
    ekus = tc.get("extended_key_usage") or []
    if len(ekus) > 1:
        raise Skip("several EKUs required: openssl verify takes one -purpose")
    if ekus:
        if ekus[0] not in OPENSSL_PURPOSE:
            raise Skip(f"EKU {ekus[0]} has no openssl -purpose")
        argv += ["-purpose", OPENSSL_PURPOSE[ekus[0]]]
    elif args.purpose_from_kind:
        argv += ["-purpose", "sslserver" if tc["validation_kind"] == "SERVER" else "sslclient"]
    for pn in peer_names(tc):
        opt = {"DNS": "-verify_hostname", "IP": "-verify_ip", "RFC822": "-verify_email"}[pn["kind"]]
        argv += [opt, pn["value"]]
    if tc.get("max_chain_depth") is not None:
        argv += ["-verify_depth", str(tc["max_chain_depth"])]
    if any(not self_issued(c) for c in tc["trusted_certs"]):
        argv += ["-partial_chain"]
    if tc.get("crls"):
        argv += ["-CRLfile", files["crls"], "-crl_check_all"]
    return argv + [files["leaf"]]


def rfc3339(at: datetime) -> str:
    s = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        s += f".{at.microsecond:06d}".rstrip("0")
    return s + "Z"


def sealpki_argv(tc: dict, files: dict, at: datetime, args) -> list[str]:
    opts = args.sealpki_opts
    names = peer_names(tc)
    if args.email_without_name_check and "--email" not in opts:
        names = [pn for pn in names if pn["kind"] != "RFC822"]
    # `--email` is repeatable (every mailbox must be named); `--hostname` is not.
    common_checks(tc, names, several_emails="--email" in opts)
    argv = [args.sealpki, "cert", "verify", files["leaf"]]
    if files.get("trusted"):
        argv += ["--trust", files["trusted"]]
    else:
        raise Skip("no trusted certificates (--trust needs a file)")
    if files.get("inter"):
        argv += ["--untrusted", files["inter"]]
    argv += ["--at", rfc3339(at)]
    for e in tc.get("extended_key_usage") or []:
        argv += ["--eku", EKU_OIDS.get(e, e)]
    if not tc.get("extended_key_usage") and args.purpose_from_kind and "--purpose" in opts:
        argv += ["--purpose", "server-auth" if tc["validation_kind"] == "SERVER" else "client-auth"]
    for k in tc.get("key_usage") or []:
        if k not in KEY_USAGE:
            raise Skip(f"key usage {k} unknown")
        argv += ["--key-usage", KEY_USAGE[k]]
    if tc.get("max_chain_depth") is not None:
        argv += ["--max-depth", str(tc["max_chain_depth"])]
    for pn in names:
        if pn["kind"] == "DNS":
            argv += ["--hostname", pn["value"]]
        elif pn["kind"] == "IP":
            argv += ["--ip" if "--ip" in opts else "--hostname", pn["value"]]
        elif "--email" in opts:
            argv += ["--email", pn["value"]]
        else:
            raise Skip("RFC822 peer name: cert verify has no --email")
    if tc.get("crls"):
        if "--crl" not in opts:
            raise Skip("CRLs given: cert verify takes none")
        for f in files["crl_each"]:  # one CRL per file: cert verify reads one PEM block per --crl
            argv += ["--crl", f]
    return argv + ["--json"]


# --- reading the answers --------------------------------------------------------------------------


def first_failed_check(j) -> str | None:
    """The first check whose state is fail (else unknown) in sealpki's --json, as 'name: detail'."""
    found: dict[str, str] = {}

    def walk(v):
        if isinstance(v, dict):
            st = str(v.get("state", v.get("status", ""))).lower()
            if st in ("fail", "unknown") and st not in found:
                found[st] = f"{v.get('name', '?')}: {v.get('detail', v.get('message', ''))}"
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(j)
    if "fail" in found or "unknown" in found:
        return found.get("fail") or found.get("unknown")
    if isinstance(j, dict):
        for k in ("error", "reason", "message"):
            if j.get(k):
                return str(j[k])
    return None


def first_line(s: str) -> str:
    for l in s.splitlines():
        if l.strip():
            return l.strip()
    return ""


def classify(tool: str, rc: int, out: str, err: str) -> tuple[str, str]:
    """(outcome, detail); outcome is valid | invalid | indet | error."""
    if tool == "openssl":
        if rc == 0:
            return "valid", ""
        m = re.search(r"^error \d+ at \d+ depth lookup: .*$", err + out, re.M)
        detail = m.group(0) if m else first_line(err) or first_line(out)
        return ("invalid" if rc == 2 else "error"), detail
    detail, parsed = None, False
    try:
        if out.strip():
            detail, parsed = first_failed_check(json.loads(out)), True
    except ValueError:
        pass
    if not parsed:
        detail = first_line(err) or first_line(out)
    outcome = {0: "valid", 1: "invalid", 2: "indet"}.get(rc, "error")
    if rc not in (0, 1, 2, 3):
        detail = f"exit {rc}: {detail}"
    return outcome, detail


def run_case(tc: dict, tools: list[str], at_default: datetime, args) -> dict:
    res = {"id": tc["id"], "expected": tc["expected_result"]}
    at = datetime.fromisoformat(tc["validation_time"]) if tc.get("validation_time") else at_default
    with tempfile.TemporaryDirectory(prefix="limbo-case-", dir=args.work) as d:
        files = {"leaf": os.path.join(d, "leaf.pem")}
        Path(files["leaf"]).write_text(tc["peer_certificate"].strip() + "\n")
        for key, items in (
            ("trusted", tc["trusted_certs"]),
            ("inter", tc["untrusted_intermediates"]),
            ("crls", tc.get("crls") or []),
        ):
            if items:
                files[key] = os.path.join(d, key + ".pem")
                Path(files[key]).write_text("".join(x.strip() + "\n" for x in items))
        files["crl_each"] = []
        for n, crl in enumerate(tc.get("crls") or []):
            files["crl_each"].append(os.path.join(d, f"crl-{n}.pem"))
            Path(files["crl_each"][-1]).write_text(crl.strip() + "\n")
        for tool in tools:
            r: dict = {}
            try:
                argv = (openssl_argv if tool == "openssl" else sealpki_argv)(tc, files, at, args)
            except Skip as e:
                r = {"outcome": "skipped", "detail": str(e)}
            else:
                r["argv"] = argv
                t0 = time.monotonic()
                try:
                    p = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout,
                                       errors="replace")
                    r["rc"] = p.returncode
                    r["outcome"], r["detail"] = classify(tool, p.returncode, p.stdout, p.stderr)
                    if args.keep_output:
                        r["stdout"], r["stderr"] = p.stdout, p.stderr
                except subprocess.TimeoutExpired:
                    r["outcome"], r["detail"] = "error", f"timeout after {args.timeout}s"
                r["secs"] = round(time.monotonic() - t0, 3)
            res[tool] = r
        if args.keep:
            keep = Path(args.out) / "cases" / tc["id"].replace("::", "__")
            keep.mkdir(parents=True, exist_ok=True)
            for f in Path(d).iterdir():
                (keep / f.name).write_bytes(f.read_bytes())
    return res


def summary(desc: str, width: int = 180) -> str:
    """limbo's description as one line: its first paragraph outside code blocks, skipping a lead-in
    such as "Produces the following **invalid** chain:" (that word, valid/invalid, is kept)."""
    text = re.sub(r"```.*?```", "", desc, flags=re.S)
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    lead = ""
    if paras and re.match(r"^Produces the following .*:$", paras[0]) and len(paras) > 1:
        m = re.search(r"\*\*(\w+)\*\*", paras[0])
        lead = f"[{m.group(1)}] " if m else ""
        paras = paras[1:]
    s = lead + (paras[0] if paras else "")
    return s if len(s) <= width else s[: width - 3] + "..."


def verdict(expected: str, r: dict) -> str:
    o = r["outcome"]
    if o in ("skipped", "error"):
        return o
    valid = o == "valid"
    return "agree" if valid == (expected == "SUCCESS") else "disagree"


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("limbo_json")
    ap.add_argument("--sealpki", default="target/release/sealpki")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--only-openssl", action="store_true")
    g.add_argument("--only-sealpki", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per tool per case")
    ap.add_argument("--out", default="/tmp/limbo")
    ap.add_argument("--match", default="", help="only cases whose id contains this")
    ap.add_argument("--purpose-from-kind", action="store_true",
                    help="-purpose / --purpose from validation_kind when the case lists no EKU")
    ap.add_argument("--email-without-name-check", action="store_true",
                    help="sealpki: run RFC822-peer-name cases without the name check (name "
                         "constraints still apply) instead of skipping them")
    ap.add_argument("--keep", action="store_true", help="keep each case's PEM files under OUT/cases")
    ap.add_argument("--keep-output", action="store_true", help="store stdout/stderr in results.json")
    args = ap.parse_args()

    suite = json.loads(Path(args.limbo_json).read_text())
    cases = [tc for tc in suite["testcases"] if args.match in tc["id"]]
    tools = ["openssl"] if args.only_openssl else ["sealpki"] if args.only_sealpki else ["openssl", "sealpki"]
    args.sealpki_opts = set()
    if "sealpki" in tools:
        args.sealpki = os.path.abspath(args.sealpki)
        try:
            h = subprocess.run([args.sealpki, "cert", "verify", "--help"], capture_output=True,
                               text=True, timeout=30)
        except OSError as e:
            print(f"cannot run {args.sealpki}: {e} (use --only-openssl)", file=sys.stderr)
            return 3
        if h.returncode != 0:
            print(f"`{args.sealpki} cert verify --help` failed (exit {h.returncode}): "
                  f"{first_line(h.stderr)} (use --only-openssl)", file=sys.stderr)
            return 3
        args.sealpki_opts = set(re.findall(r"--[a-z][a-z0-9-]*", h.stdout))
    os.makedirs(args.out, exist_ok=True)
    args.work = tempfile.mkdtemp(prefix="limbo-run-")
    at_default = datetime.now(timezone.utc).replace(microsecond=0)

    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(max_workers=args.workers) as ex:
        results = list(ex.map(lambda tc: run_case(tc, tools, at_default, args), cases))
    os.rmdir(args.work)
    elapsed = time.monotonic() - t0
    by_id = {tc["id"]: tc for tc in cases}

    groups = [("all", lambda i: True)] + [
        (g, lambda i, g=g: i.startswith(g + "::")) for g in GROUPS
        if any(r["id"].startswith(g + "::") for r in results)
    ]
    print(f"{len(cases)} cases from {args.limbo_json}, {elapsed:.1f}s, default time {rfc3339(at_default)}")
    hdr = f"{'tool':<8} {'group':<8} {'total':>5} {'agree':>5} {'disagr':>6} {'skip':>4} {'error':>5} " \
          f"{'indet':>5} {'agree% all':>10} {'agree% run':>10}"
    print(hdr)
    print("-" * len(hdr))
    for tool in tools:
        for gname, pred in groups:
            rs = [r for r in results if pred(r["id"])]
            c = {k: 0 for k in ("agree", "disagree", "skipped", "error")}
            for r in rs:
                c[verdict(r["expected"], r[tool])] += 1
            indet = sum(1 for r in rs if r[tool]["outcome"] == "indet")
            n, run = len(rs), len(rs) - c["skipped"]
            pa = f"{100 * c['agree'] / n:.1f}" if n else "-"
            pr = f"{100 * c['agree'] / run:.1f}" if run else "-"
            print(f"{tool:<8} {gname:<8} {n:>5} {c['agree']:>5} {c['disagree']:>6} {c['skipped']:>4} "
                  f"{c['error']:>5} {indet:>5} {pa:>10} {pr:>10}")
        write_reports(tool, results, by_id, args.out)
    for tool in tools:
        print(f"{tool}: disagreements in {args.out}/{tool}-disagree.txt, all results in "
              f"{args.out}/{tool}-results.json")
    return 0


def write_reports(tool: str, results: list[dict], by_id: dict, out: str) -> None:
    lines = [f"# {tool}: cases where the tool's answer differs from limbo's expected_result "
             "(then errors, then skips)", ""]
    for kind in ("disagree", "error", "skipped"):
        sel = [r for r in results if verdict(r["expected"], r[tool]) == kind]
        lines.append(f"## {kind}: {len(sel)}")
        for r in sel:
            tc, t = by_id[r["id"]], r[tool]
            feats = ",".join(tc.get("features") or [])
            lines.append(f"{r['id']}  expected={r['expected']} got={t['outcome']}"
                         + (f" (exit {t['rc']})" if "rc" in t else "")
                         + (f"  features={feats}" if feats else ""))
            lines.append(f"    limbo: {summary(tc['description'])}")
            if t.get("detail"):
                lines.append(f"    {tool}: {t['detail']}")
        lines.append("")
    Path(out, f"{tool}-disagree.txt").write_text("\n".join(lines))
    Path(out, f"{tool}-results.json").write_text(json.dumps(
        [{"id": r["id"], "expected": r["expected"], "verdict": verdict(r["expected"], r[tool]), **r[tool]}
         for r in results], indent=1))


if __name__ == "__main__":
    sys.exit(main())
