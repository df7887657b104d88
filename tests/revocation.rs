//! Revocation and status, checked by tools we did not write: `openssl ocsp` against our responder
//! (good, revoked with reason and time, unknown, unauthorized), `openssl crl -verify` and pkilint
//! `lint_crl` on full and delta CRLs, `openssl verify -crl_check` refusing a revoked certificate, hold
//! and release (removeFromCRL), and malformed OCSP requests.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Ctx<'a> {
    env: &'a Env,
    srv: Server,
    tok: String,
    chain: PathBuf,
    root: PathBuf,
    issuing: PathBuf,
}

impl Ctx<'_> {
    fn issue(&self, cn: &str) -> (String, PathBuf) {
        self.srv.issue_app_client(self.env, &self.tok, cn)
    }

    fn act(&self, serial: &str, action: &str, body: &str) -> (u16, serde_json::Value) {
        let (s, v, _) = post(
            &format!("{}/api/v1/certificates/{serial}/{action}", self.srv.url),
            Some(&self.tok),
            body,
        );
        (s, v)
    }

    /// `openssl ocsp` against our responder; returns its whole output.
    fn ocsp(&self, ca: &str, target: &[&str]) -> String {
        let out = run(Command::new("openssl")
            .args(["ocsp", "-issuer"])
            .arg(&self.issuing)
            .args(target)
            .args(["-url", &format!("{}/ocsp/{ca}", self.srv.url), "-CAfile"])
            .arg(&self.chain)
            .arg("-resp_text"));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn crl(&self, file: &str) -> PathBuf {
        let (s, der) = get(&format!("{}/crl/{file}", self.srv.url), None);
        assert_eq!(s, 200, "GET /crl/{file}");
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.env.path(&format!("{file}.{n}.pem"));
        let pem = ok(
            &run(Command::new("openssl")
                .args(["crl", "-inform", "DER", "-outform", "PEM", "-in"])
                .arg(write(self.env, file, &der))),
            "openssl crl",
        );
        std::fs::write(&path, pem).unwrap();
        path
    }
}

fn write(env: &Env, name: &str, data: &[u8]) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn crl_text(crl: &Path) -> String {
    ok(
        &run(Command::new("openssl")
            .args(["crl", "-noout", "-text", "-in"])
            .arg(crl)),
        "openssl crl -text",
    )
}

fn verify_crl(crl: &Path, chain: &Path) {
    let out = run(Command::new("openssl")
        .args(["crl", "-noout", "-verify", "-in"])
        .arg(crl)
        .arg("-CAfile")
        .arg(chain));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && all.contains("verify OK"),
        "openssl crl -verify: {all}"
    );
}

fn check_crl(root: &Path, chain: &Path, crls: &[&Path], leaf: &Path) -> (bool, String) {
    let mut c = Command::new("openssl");
    // `-extended_crl` too: without it OpenSSL 3.0 may take a newer delta CRL for the full one.
    c.args([
        "verify",
        "-crl_check",
        "-use_deltas",
        "-extended_crl",
        "-CAfile",
    ])
    .arg(root)
    .arg("-untrusted")
    .arg(chain);
    for crl in crls {
        c.arg("-CRLfile").arg(crl);
    }
    let out = run(c.arg(leaf));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let tok = srv.login();
    let (chain, root) = env.chain("service");
    let issuing = first_cert(&chain);
    let cx = Ctx {
        env,
        srv,
        tok,
        chain,
        root,
        issuing,
    };

    let (a, a_pem) = cx.issue("revoked-app");
    let (b, b_pem) = cx.issue("held-app");
    let (c, c_pem) = cx.issue("good-app");
    let (d, _) = cx.issue("held-then-revoked");

    let out = cx.ocsp("service", &["-cert", a_pem.to_str().unwrap()]);
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let cert_text = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&a_pem)),
        "x509",
    );
    assert!(
        cert_text.contains("/crl/service-delta.crl"),
        "certificates carry freshestCRL:\n{cert_text}"
    );

    // Revoke, hold.
    assert_eq!(cx.act(&a, "revoke", r#"{"reason":"keyCompromise"}"#).0, 200);
    ok(&env.sealpki(&["cert", "hold", &b]), "cert hold (CLI)");
    assert_eq!(cx.act(&d, "hold", "").0, 200);

    let out = cx.ocsp("service", &["-cert", a_pem.to_str().unwrap()]);
    assert!(
        out.contains(": revoked")
            && out.contains("Reason: keyCompromise")
            && out.contains("Revocation Time"),
        "{out}"
    );
    let out = cx.ocsp("service", &["-cert", b_pem.to_str().unwrap()]);
    assert!(
        out.contains(": revoked") && out.contains("certificateHold"),
        "{out}"
    );
    let out = cx.ocsp(
        "service",
        &["-serial", "0x0123456789ABCDEF0123456789ABCDEF"],
    );
    assert!(
        out.contains(": unknown") && out.contains("Response verify OK"),
        "{out}"
    );
    let out = cx.ocsp("seal", &["-cert", c_pem.to_str().unwrap()]);
    assert!(
        out.contains("unauthorized"),
        "another CA's responder does not answer for the service CA: {out}"
    );

    // CRLs: the delta already lists them; both verify and lint clean.
    let full = cx.crl("service.crl");
    let delta = cx.crl("service-delta.crl");
    for crl in [&full, &delta] {
        verify_crl(crl, &cx.chain);
        ok(
            &pkilint("lint_crl", &["-t", "CRL", "-p", "PKIX"], crl),
            "pkilint lint_crl",
        );
    }
    let dt = crl_text(&delta);
    assert!(
        dt.contains("Delta CRL Indicator")
            && dt.contains(&a)
            && dt.contains("Key Compromise")
            && dt.contains("Certificate Hold"),
        "{dt}"
    );
    let (ok_a, why) = check_crl(&cx.root, &cx.chain, &[&full, &delta], &a_pem);
    assert!(!ok_a && why.contains("revoked"), "{why}");
    let (ok_c, why) = check_crl(&cx.root, &cx.chain, &[&full, &delta], &c_pem);
    assert!(ok_c, "{why}");

    // Release the hold: good again at once, and the delta says removeFromCRL.
    assert_eq!(cx.act(&b, "release", "").0, 200);
    let out = cx.ocsp("service", &["-cert", b_pem.to_str().unwrap()]);
    assert!(out.contains(": good"), "{out}");
    let delta2 = cx.crl("service-delta.crl");
    let dt = crl_text(&delta2);
    assert!(dt.contains("Remove From CRL"), "{dt}");
    ok(
        &pkilint("lint_crl", &["-t", "CRL", "-p", "PKIX"], &delta2),
        "pkilint lint_crl (removeFromCRL)",
    );

    // A held certificate may be revoked for good; a revoked one may not change.
    assert_eq!(
        cx.act(&d, "revoke", r#"{"reason":"cessationOfOperation"}"#)
            .0,
        200
    );
    assert_eq!(cx.act(&a, "revoke", r#"{"reason":"superseded"}"#).0, 409);
    assert_eq!(cx.act(&c, "release", "").0, 409);
    let (s, v) = cx.act(&c, "revoke", r#"{"reason":"boredom"}"#);
    assert!(
        s == 400 && v["detail"].as_str().unwrap().contains("keyCompromise"),
        "{v}"
    );
    assert_eq!(cx.act("ABCDEF0123", "revoke", "").0, 404);

    // A new full CRL (CLI) carries every revocation; numbers only grow.
    ok(
        &env.sealpki(&["crl", "publish", "service", "--full"]),
        "crl publish --full",
    );
    let full2 = cx.crl("service.crl");
    let ft = crl_text(&full2);
    assert!(
        ft.contains(&a) && ft.contains(&d) && !ft.contains(&b),
        "{ft}"
    );
    let num = |t: &str| {
        t.split("X509v3 CRL Number:")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(num(&ft) > num(&crl_text(&full)));
    let (ok_a, _) = check_crl(&cx.root, &cx.chain, &[&full2], &a_pem);
    assert!(
        !ok_a,
        "openssl verify -crl_check refuses the revoked certificate with the full CRL alone"
    );
    assert!(check_crl(&cx.root, &cx.chain, &[&full2], &c_pem).0);

    // The root publishes an ARL for its CAs.
    let arl = cx.crl("root.crl");
    verify_crl(&arl, &cx.root);
    ok(
        &pkilint("lint_crl", &["-t", "ARL", "-p", "PKIX"], &arl),
        "pkilint lint_crl ARL",
    );

    // Malformed, oversized and GET-form requests.
    let garbage = ureq::post(&format!("{}/ocsp/service", cx.srv.url))
        .set("Content-Type", "application/ocsp-request")
        .send_bytes(b"\x30\x03garbage");
    match garbage {
        Err(ureq::Error::Status(400, r)) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
            assert_eq!(
                body,
                vec![0x30, 0x03, 0x0a, 0x01, 0x01],
                "OCSPResponse {{ malformedRequest }}"
            );
        }
        other => panic!("garbage OCSP request: {other:?}"),
    }
    let big = vec![0x30u8; 100_000];
    assert!(matches!(
        ureq::post(&format!("{}/ocsp/service", cx.srv.url)).send_bytes(&big),
        Err(ureq::Error::Status(400, _))
    ));
    let reqout = env.path("req.der");
    ok(
        &run(Command::new("openssl")
            .args(["ocsp", "-issuer"])
            .arg(&cx.issuing)
            .arg("-cert")
            .arg(&c_pem)
            .arg("-no_nonce")
            .arg("-reqout")
            .arg(&reqout)),
        "openssl ocsp -reqout",
    );
    let b64 = base64_encode(&std::fs::read(&reqout).unwrap());
    let (s, resp) = get(
        &format!(
            "{}/ocsp/service/{}",
            cx.srv.url,
            b64.replace('/', "%2F").replace('+', "%2B")
        ),
        None,
    );
    assert_eq!(s, 200);
    let respfile = write(env, "resp.der", &resp);
    let out = ok(
        &run(Command::new("openssl")
            .args(["ocsp", "-respin"])
            .arg(&respfile)
            .arg("-CAfile")
            .arg(&cx.chain)
            .arg("-resp_text")),
        "openssl ocsp -respin",
    );
    assert!(out.contains("Cert Status: good"), "{out}");

    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn status_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn status_on_postgres() {
    let Some(url) = pg_database("status") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}
