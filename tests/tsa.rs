//! The RFC 3161 time-stamping authority at `/tsa`: P-256 and RSA tokens verified by `openssl ts -verify`
//! (nonce and imprint checked against the query), SM2 tokens (which OpenSSL cannot make or check) and an
//! `openssl ts -reply` token verified by `sealpki tsa verify`, unique serials, and rejections.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn query(env: &Env, data: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let q = env.path(&format!("{name}.tsq"));
    ok(
        &run(Command::new("openssl")
            .args(["ts", "-query", "-data"])
            .arg(data)
            .args(["-sha256", "-cert"])
            .args(extra)
            .arg("-out")
            .arg(&q)),
        "openssl ts -query",
    );
    q
}

fn stamp(srv: &Server, q: &Path, out: &Path) -> u16 {
    let body = std::fs::read(q).unwrap();
    let (status, resp) = match ureq::post(&format!("{}/tsa", srv.url))
        .set("Content-Type", "application/timestamp-query")
        .send_bytes(&body)
    {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(s, r)) => (s, r),
        Err(e) => panic!("POST /tsa: {e}"),
    };
    assert_eq!(resp.content_type(), "application/timestamp-reply");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
    std::fs::write(out, bytes).unwrap();
    status
}

/// `openssl ts -verify` of reply `tsr` with `how` (-data F or -queryfile F), trusting `root`.
fn ts_verify(how: &[String], tsr: &Path, root: &Path, chain: &Path) -> std::process::Output {
    run(Command::new("openssl")
        .args(["ts", "-verify"])
        .args(how)
        .arg("-in")
        .arg(tsr)
        .arg("-CAfile")
        .arg(root)
        .arg("-untrusted")
        .arg(chain))
}

fn reply_text(tsr: &Path) -> String {
    ok(
        &run(Command::new("openssl")
            .args(["ts", "-reply", "-in"])
            .arg(tsr)
            .arg("-text")),
        "openssl ts -reply -text",
    )
}

fn serial_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("Serial number: "))
        .expect("serial")
        .to_string()
}

/// A hierarchy whose TSA key has `alg`; returns the running server and the service chain.
fn setup(env: &Env, alg: &str) -> (Server, PathBuf, PathBuf) {
    env.init(
        &include_str!("../fixtures/ceremony-dev.toml")
            .replace("[tsa]\n", &format!("[tsa]\nalgorithm = \"{alg}\"\n")),
    );
    let srv = env.serve();
    let (chain, root) = env.chain("service");
    (srv, chain, root)
}

fn openssl_checks(alg: &str) {
    let env = Env::new(EnvOptions::default());
    let (srv, chain, root) = setup(&env, alg);
    let data = env.path("contract.txt");
    std::fs::write(&data, "盖章处 — contract text to be time-stamped\n").unwrap();
    let q = query(&env, &data, "q1", &[]);
    let r1 = env.path("r1.tsr");
    assert_eq!(stamp(&srv, &q, &r1), 200);
    let text = reply_text(&r1);
    assert!(
        text.contains("Status: Granted") && text.contains("Accuracy:") && text.contains("Nonce:"),
        "{text}"
    );
    // Imprint, nonce, signature, signing certificate and chain, all checked by OpenSSL.
    for how in [
        vec!["-queryfile".to_string(), q.display().to_string()],
        vec!["-data".to_string(), data.display().to_string()],
    ] {
        let out = ts_verify(&how, &r1, &root, &chain);
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{out:?}"
        );
    }
    let other = env.path("other.txt");
    std::fs::write(&other, "something else").unwrap();
    let out = ts_verify(
        &["-data".to_string(), other.display().to_string()],
        &r1,
        &root,
        &chain,
    );
    assert!(
        !out.status.success(),
        "a token does not verify for other data"
    );
    // Our verifier agrees.
    ok(
        &env.sealpki(&[
            "tsa",
            "verify",
            r1.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--cert",
            chain.to_str().unwrap(),
            "--trust",
            root.to_str().unwrap(),
        ]),
        "sealpki tsa verify",
    );
    // Unique serials.
    let r2 = env.path("r2.tsr");
    assert_eq!(stamp(&srv, &q, &r2), 200);
    assert_ne!(serial_of(&text), serial_of(&reply_text(&r2)));
}

#[test]
fn p256_tokens_verify_with_openssl() {
    openssl_checks("p256");
}

#[test]
fn rsa_tokens_verify_with_openssl() {
    openssl_checks("rsa3072");
}

#[test]
fn sm2_tokens_verify_with_our_verifier() {
    let env = Env::new(EnvOptions::default());
    let (srv, chain, root) = setup(&env, "sm2");
    let data = env.path("doc.bin");
    std::fs::write(&data, b"document bytes").unwrap();
    let q = query(&env, &data, "q", &[]);
    let r = env.path("r.tsr");
    assert_eq!(stamp(&srv, &q, &r), 200);
    let args = |d: &Path, trust: bool| {
        let mut a = vec![
            "--json".to_string(),
            "tsa".into(),
            "verify".into(),
            r.display().to_string(),
            "--data".into(),
            d.display().to_string(),
            "--cert".into(),
            chain.display().to_string(),
        ];
        if trust {
            a.extend(["--trust".into(), root.display().to_string()]);
        }
        a
    };
    let out = run(env.cmd().args(args(&data, true)));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["algorithm"], "sm2-sm3");
    // Without trust anchors: indeterminate. Other data: invalid, with the reason.
    assert_eq!(
        run(env.cmd().args(args(&data, false))).status.code(),
        Some(2)
    );
    let other = env.path("other.bin");
    std::fs::write(&other, b"other bytes").unwrap();
    let out = run(env.cmd().args(args(&other, true)));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imprint"));
    // A flipped byte in the token breaks it.
    let mut bytes = std::fs::read(&r).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x01;
    std::fs::write(&r, &bytes).unwrap();
    assert_ne!(
        run(env.cmd().args(args(&data, true))).status.code(),
        Some(0)
    );
}

#[test]
fn openssl_made_tokens_verify_with_our_verifier_and_bad_requests_are_rejected() {
    let env = Env::new(EnvOptions::default());
    let d = env.dir.path();
    let sh = |script: &str| {
        ok(
            &run(Command::new("sh").arg("-ec").arg(script).current_dir(d)),
            script,
        )
    };
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=osl-ca -days 10 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null");
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -subj /CN=osl-tsa -out tsa.csr 2>/dev/null");
    sh("printf 'extendedKeyUsage=critical,timeStamping\\nkeyUsage=critical,digitalSignature\\n' > ext.cnf && \
        openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -days 5 -extfile ext.cnf -out tsa.pem 2>/dev/null");
    sh("printf '[tsa]\\ndefault_tsa = t\\n[t]\\nserial = ./serial\\nsigner_cert = ./tsa.pem\\nsigner_key = ./tsa.key\\n\
signer_digest = sha256\\ndefault_policy = 1.2.3.4.1\\ndigests = sha256\\naccuracy = secs:1\\ness_cert_id_alg = sha256\\n' > tsa.cnf && echo 01 > serial");
    std::fs::write(env.path("data.txt"), "data").unwrap();
    let q = query(&env, &env.path("data.txt"), "q", &[]);
    ok(
        &run(Command::new("openssl")
            .args(["ts", "-reply", "-config", "tsa.cnf", "-queryfile"])
            .arg(&q)
            .args(["-out", "osl.tsr"])
            .current_dir(d)),
        "openssl ts -reply",
    );
    ok(
        &env.sealpki(&[
            "tsa",
            "verify",
            env.path("osl.tsr").to_str().unwrap(),
            "--data",
            env.path("data.txt").to_str().unwrap(),
            "--trust",
            env.path("ca.pem").to_str().unwrap(),
        ]),
        "sealpki tsa verify (OpenSSL token)",
    );
    // Trusting someone else is indeterminate, not valid.
    env.init_dev();
    let (_, root) = env.chain("root");
    let out = env.sealpki(&[
        "tsa",
        "verify",
        env.path("osl.tsr").to_str().unwrap(),
        "--trust",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));

    // Bad requests: HTTP 400 with a rejection reply naming the failure.
    let srv = env.serve();
    for (name, body, failure) in [
        (
            "garbage",
            b"\x30\x05hello".to_vec(),
            "the data submitted has the wrong format",
        ),
        (
            "oversized",
            vec![0x30u8; 100_000],
            "transaction not permitted or supported",
        ),
    ] {
        let f = env.path(&format!("{name}.tsq"));
        std::fs::write(&f, body).unwrap();
        let r = env.path(&format!("{name}.tsr"));
        assert_eq!(stamp(&srv, &f, &r), 400, "{name}");
        let text = reply_text(&r);
        assert!(text.contains("Status: Rejected"), "{name}: {text}");
        assert!(text.to_lowercase().contains(failure), "{name}: {text}");
    }
    let md5 = env.path("md5.tsq");
    ok(
        &run(Command::new("openssl")
            .args(["ts", "-query", "-data"])
            .arg(env.path("data.txt"))
            .args(["-md5", "-out"])
            .arg(&md5)),
        "md5 query",
    );
    let r = env.path("md5.tsr");
    assert_eq!(stamp(&srv, &md5, &r), 400);
    assert!(reply_text(&r)
        .to_lowercase()
        .contains("unrecognized or unsupported algorithm"));
}
