//! CA rollover and partitioned CRLs, checked by `openssl` and pkilint: certificates of a CA key spread
//! over CRL partitions whose CRLs carry a matching issuingDistributionPoint; after `sealpki ca rollover`
//! certificates of the old and the new key both verify, and a revocation of an old-key certificate
//! shows in the old key's CRL and OCSP while the new key answers for its own.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn x509_text(pem: &Path) -> String {
    ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(pem)),
        "openssl x509 -text",
    )
}

/// The full-CRL file name (`service-p1.crl`) a certificate's distribution point names.
fn crl_file(pem: &Path) -> String {
    let t = x509_text(pem);
    t.split("/crl/")
        .skip(1)
        .map(|s| s.split(".crl").next().unwrap().to_string() + ".crl")
        .find(|f| !f.ends_with("-delta.crl"))
        .unwrap_or_else(|| panic!("no CRL distribution point:\n{t}"))
}

fn aki(pem: &Path) -> String {
    let t = x509_text(pem);
    let after = t.split("Authority Key Identifier:").nth(1).expect("AKI");
    after.lines().nth(1).unwrap().trim().to_string()
}

struct Ctx<'a> {
    env: &'a Env,
    srv: Server,
    tok: String,
}

impl Ctx<'_> {
    fn issue(&self, cn: &str) -> (String, PathBuf) {
        self.srv.issue_app_client(self.env, &self.tok, cn)
    }

    fn revoke(&self, serial: &str) {
        let (s, v, _) = post(
            &format!("{}/api/v1/certificates/{serial}/revoke", self.srv.url),
            Some(&self.tok),
            r#"{"reason":"keyCompromise"}"#,
        );
        assert_eq!(s, 200, "{v}");
    }

    /// A CRL over HTTP, as PEM, with its `openssl crl -text`.
    fn crl(&self, file: &str) -> (PathBuf, String) {
        let (s, der) = get(&format!("{}/crl/{file}", self.srv.url), None);
        assert_eq!(s, 200, "GET /crl/{file}");
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let der_path = self.env.path(&format!("{file}.{n}.der"));
        std::fs::write(&der_path, der).unwrap();
        let pem = self.env.path(&format!("{file}.{n}.pem"));
        ok(
            &run(Command::new("openssl")
                .args(["crl", "-inform", "DER", "-in"])
                .arg(&der_path)
                .arg("-out")
                .arg(&pem)),
            "openssl crl",
        );
        let t = ok(
            &run(Command::new("openssl")
                .args(["crl", "-noout", "-text", "-in"])
                .arg(&pem)),
            "openssl crl -text",
        );
        (pem, t)
    }

    fn ocsp(&self, label: &str, issuer: &Path, trust: &Path, leaf: &Path) -> String {
        text(&run(Command::new("openssl")
            .args(["ocsp", "-issuer"])
            .arg(issuer)
            .arg("-cert")
            .arg(leaf)
            .args(["-url", &format!("{}/ocsp/{label}", self.srv.url), "-CAfile"])
            .arg(trust)
            .arg("-resp_text")))
    }
}

fn verify_crl(crl: &Path, ca_and_root: &Path) {
    let out = run(Command::new("openssl")
        .args(["crl", "-noout", "-verify", "-in"])
        .arg(crl)
        .arg("-CAfile")
        .arg(ca_and_root));
    assert!(
        out.status.success() && text(&out).contains("verify OK"),
        "openssl crl -verify: {}",
        text(&out)
    );
    ok(
        &pkilint("lint_crl", &["-t", "CRL", "-p", "PKIX"], crl),
        "pkilint lint_crl",
    );
}

fn crl_check(root: &Path, untrusted: &Path, crls: &[&Path], leaf: &Path) -> (bool, String) {
    let mut c = Command::new("openssl");
    // `-extended_crl` too: without it OpenSSL 3.0 scores a delta CRL like a full one and, when the
    // delta is a second newer than its base, uses the delta alone (so a revocation listed only in the
    // full CRL passes). That is OpenSSL's quirk, not ours; the test failed on it about one run in ten.
    c.args([
        "verify",
        "-crl_check",
        "-use_deltas",
        "-extended_crl",
        "-CAfile",
    ])
    .arg(root)
    .arg("-untrusted")
    .arg(untrusted);
    for crl in crls {
        c.arg("-CRLfile").arg(crl);
    }
    let out = run(c.arg(leaf));
    (out.status.success(), text(&out))
}

fn cat(env: &Env, name: &str, parts: &[&Path]) -> PathBuf {
    let mut all = String::new();
    for p in parts {
        all += &std::fs::read_to_string(p).unwrap();
    }
    let out = env.path(name);
    std::fs::write(&out, all).unwrap();
    out
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let tok = srv.login();
    let cx = Ctx { env, srv, tok };
    let (chain, root) = env.chain("service");
    // Kept under its own name: `env.chain` rewrites the chain files after the rollover.
    let old_ca = env.path("old-service-ca.pem");
    std::fs::copy(first_cert(&chain), &old_ca).unwrap();
    let chain = cat(env, "old-service-chain.pem", &[&chain]);

    // ---- Partitions: three certificates per partition (see the config below).
    let certs: Vec<(String, PathBuf)> = (0..9).map(|i| cx.issue(&format!("app-{i}"))).collect();
    let files: Vec<String> = certs.iter().map(|(_, p)| crl_file(p)).collect();
    let mut distinct = files.clone();
    distinct.dedup();
    assert!(
        distinct.len() >= 2 && distinct.iter().any(|f| f.contains("-p")),
        "certificates spread over partitions: {files:?}"
    );
    // One revocation in the first partition used and one in the last.
    let (first, last) = (0, certs.len() - 1);
    assert_ne!(files[first], files[last]);
    cx.revoke(&certs[first].0);
    cx.revoke(&certs[last].0);
    // Revocations republish deltas at once; full CRLs follow their schedule, or this (every partition).
    let published = ok(
        &env.sealpki(&["crl", "publish", "service", "--full"]),
        "crl publish",
    );
    assert!(published.contains("partition 1"), "{published}");
    let old_pair = cat(env, "old-ca-root.pem", &[&old_ca, &root]);
    for (i, file) in [(first, &files[first]), (last, &files[last])] {
        let (full, t) = cx.crl(file);
        let other = if i == first { last } else { first };
        assert!(
            t.contains("Issuing Distribution Point")
                && t.contains(&format!("/crl/{file}"))
                && t.contains(&certs[i].0)
                && !t.contains(&certs[other].0),
            "partition CRL {file} names itself and lists only its own revocations:\n{t}"
        );
        verify_crl(&full, &old_pair);
        let delta_file = file.replace(".crl", "-delta.crl");
        let (delta, dt) = cx.crl(&delta_file);
        assert!(
            dt.contains("Delta CRL Indicator") && dt.contains(&format!("/crl/{file}")),
            "delta of {file} carries its base's scope:\n{dt}"
        );
        verify_crl(&delta, &old_pair);
        let (good, why) = crl_check(&root, &chain, &[&full, &delta], &certs[i].1);
        assert!(
            !good && why.contains("revoked"),
            "{why}\nfull CRL:\n{t}\ndelta CRL:\n{dt}"
        );
        // A good certificate of the same partition passes with that partition's CRLs.
        let sibling = (0..certs.len())
            .find(|&j| j != first && j != last && files[j] == *file)
            .expect("a good sibling in the partition");
        let (good, why) = crl_check(&root, &chain, &[&full, &delta], &certs[sibling].1);
        assert!(good, "{why}");
    }
    // A partition no certificate names does not exist (no CRL made on request).
    assert_eq!(
        get(&format!("{}/crl/service-p999.crl", cx.srv.url), None).0,
        404
    );

    // ---- Rollover (CLI, while the server runs: the server picks the new key up on its refresh).
    let r = env.sealpki(&["--json", "ca", "rollover", "service"]);
    let report: serde_json::Value = serde_json::from_str(&ok(&r, "ca rollover")).unwrap();
    let label = report["label"].as_str().unwrap().to_string();
    assert!(label.starts_with("service-g"), "{report}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, body) = get(&format!("{}/api/v1/cas", cx.srv.url), None);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let items = v["items"].as_array().unwrap();
        if items
            .iter()
            .any(|i| i["label"] == label.as_str() && i["issuing"] == true)
        {
            assert!(
                items
                    .iter()
                    .any(|i| i["label"] == "service" && i["issuing"] == false),
                "the old key still serves status: {v}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server never loaded the new key: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (new_chain, _) = env.chain("service");
    let new_ca = first_cert(&new_chain);
    assert_ne!(
        std::fs::read(&new_ca).unwrap(),
        std::fs::read(&old_ca).unwrap()
    );
    let (_, new_leaf) = cx.issue("after-rollover");
    let (_, other_new) = cx.issue("after-rollover-2");
    assert_ne!(aki(&new_leaf), aki(&certs[1].1), "signed by the new key");
    assert!(
        crl_file(&new_leaf).starts_with(&label),
        "{}",
        crl_file(&new_leaf)
    );

    // Both chains verify, from one bundle of intermediates (openssl picks the key by AKI).
    let both = cat(env, "both-cas.pem", &[&old_ca, &new_ca]);
    for leaf in [&certs[1].1, &new_leaf] {
        let out = openssl_verify(&root, &both, leaf, false);
        assert!(out.status.success(), "{}", text(&out));
    }
    // The GET /ca/{label}.der of each key is that key's certificate.
    let (s, der) = get(&format!("{}/ca/{label}.der", cx.srv.url), None);
    assert_eq!(s, 200);
    let pem = ok(
        &run(Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(write(env, "new-ca.der", &der))),
        "x509",
    );
    assert_eq!(pem, std::fs::read_to_string(&new_ca).unwrap());

    // Revoking a certificate of the old key shows in the old key's OCSP and CRL.
    let victim = 1;
    cx.revoke(&certs[victim].0);
    let trust = cat(env, "trust.pem", &[&old_ca, &new_ca, &root]);
    let out = cx.ocsp("service", &old_ca, &trust, &certs[victim].1);
    assert!(
        out.contains("Response verify OK") && out.contains(": revoked"),
        "{out}"
    );
    let (old_crl, t) = cx.crl(&files[victim].replace(".crl", "-delta.crl"));
    assert!(t.contains(&certs[victim].0), "{t}");
    verify_crl(&old_crl, &old_pair);
    // The new key answers for its own certificates, with its own responder and CRLs.
    let out = cx.ocsp(&label, &new_ca, &trust, &new_leaf);
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let out = cx.ocsp("service", &new_ca, &trust, &new_leaf);
    assert!(
        out.contains("unauthorized"),
        "the old key's responder does not answer for the new key: {out}"
    );
    cx.revoke(&serial_of(&new_leaf));
    ok(
        &env.sealpki(&["crl", "publish", &label, "--full"]),
        "crl publish (new key)",
    );
    let new_pair = cat(env, "new-ca-root.pem", &[&new_ca, &root]);
    let (new_full, t) = cx.crl(&format!("{label}.crl"));
    assert!(
        t.contains(&serial_of(&new_leaf)) && !t.contains(&certs[victim].0),
        "{t}"
    );
    verify_crl(&new_full, &new_pair);
    let (new_delta, _) = cx.crl(&format!("{label}-delta.crl"));
    let (good, why) = crl_check(&root, &both, &[&new_full, &new_delta], &new_leaf);
    assert!(!good && why.contains("revoked"), "{why}");
    let (good, why) = crl_check(&root, &both, &[&new_full, &new_delta], &other_new);
    assert!(good, "{why}");

    // Bad input: the root does not roll over; unknown CAs are named.
    let out = env.sealpki(&["ca", "rollover", "root"]);
    assert!(
        !out.status.success() && text(&out).contains("ceremony"),
        "{}",
        text(&out)
    );
    let out = env.sealpki(&["ca", "rollover", "nosuch"]);
    assert!(
        !out.status.success() && text(&out).contains("no CA named"),
        "{}",
        text(&out)
    );
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

fn serial_of(pem: &Path) -> String {
    ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(pem)),
        "serial",
    )
    .trim()
    .trim_start_matches("serial=")
    .to_string()
}

fn write(env: &Env, name: &str, data: &[u8]) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, data).unwrap();
    p
}

const EXTRA: &str = "[crl]\npartition_size = 3\nrefresh_seconds = 1\n";

#[test]
fn rollover_and_partitions_on_sqlite() {
    suite(&Env::new(EnvOptions {
        extra: EXTRA,
        ..Default::default()
    }));
}

#[test]
fn rollover_and_partitions_on_postgres() {
    let Some(url) = pg_database("rollover") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        extra: EXTRA,
        ..Default::default()
    }));
}
