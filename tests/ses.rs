//! GB/T 38540 seals end to end with SM2 keys made by `openssl`: our seals' maker signatures verify
//! with `openssl dgst -sm3`, an independent asn1crypto encoder (tests/ses_ref.py) reads our v4 output
//! and writes v1 and v4 seals and signatures that `sealpki ses verify` accepts, tampering is caught with
//! the right reason, and garbage gets exit code 3.

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

fn python() -> PathBuf {
    tool("python3")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ses_ref.py")
}

/// An SM2 key and a certificate for it from our CA under `profile`; returns (key, cert PEM, cert DER).
fn party(env: &Env, name: &str, profile: &str, subj: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (key, pem) = sm2_party(env, name, profile, subj);
    let der = env.path(&format!("{name}.der"));
    ok(
        &run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(&der)),
        "x509 -outform DER",
    );
    (key, pem, der)
}

fn verify(
    env: &Env,
    file: &Path,
    data: Option<&Path>,
    trust: &[&Path],
) -> (i32, serde_json::Value) {
    let mut args: Vec<String> = vec!["--json".into(), "ses".into(), "verify".into()];
    args.push(file.display().to_string());
    if let Some(d) = data {
        args.push("--data".into());
        args.push(d.display().to_string());
    }
    for t in trust {
        args.push("--trust".into());
        args.push(t.display().to_string());
    }
    let out = run(env.cmd().args(&args));
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    assert!(v.is_object() || code == 3, "ses verify: {}", text(&out));
    (code, v)
}

fn reasons(v: &serde_json::Value) -> String {
    v["reasons"].to_string()
}

/// `sealpki ses make` with the maker's key file and certificate, one holder certificate and `extra`.
#[allow(clippy::too_many_arguments)]
fn ses_make(
    env: &Env,
    maker_key: &Path,
    maker_cert: &Path,
    holder: &Path,
    picture: &Path,
    name: &str,
    es_id: &str,
    extra: &[&str],
    out: &Path,
) -> std::process::Output {
    let mut args = vec![
        "ses",
        "make",
        "--maker-key-file",
        maker_key.to_str().unwrap(),
        "--maker-cert",
        maker_cert.to_str().unwrap(),
        "--name",
        name,
        "--es-id",
        es_id,
        "--image",
        picture.to_str().unwrap(),
        "--signer-cert",
        holder.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    env.sealpki(&args)
}

/// `sealpki ses sign` of `data` with a key file and certificate, plus `extra`.
fn ses_sign(
    env: &Env,
    seal: &Path,
    key: &Path,
    cert: &Path,
    data: &Path,
    extra: &[&str],
    out: &Path,
) -> std::process::Output {
    let mut args = vec![
        "ses",
        "sign",
        "--seal",
        seal.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    env.sealpki(&args)
}

#[test]
fn seals_made_signed_verified_and_cross_checked() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let (maker_key, maker_pem, maker_der) = party(
        &env,
        "maker",
        "maker-production",
        "/C=CN/O=示例制章厂/CN=示例制章厂 制章",
    );
    let org = "/C=CN/O=示例有限公司/CN=示例有限公司合同专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q";
    let (holder_key, holder_pem, holder_der) = party(&env, "holder", "seal-signing", org);
    let (other_key, other_pem, _) = party(&env, "other", "seal-signing", org);
    let (chain_maker, root) = env.chain("maker");
    let (chain_seal, _) = env.chain("seal");
    let (chain_service, _) = env.chain("service");
    let picture = env.path("seal.png");
    std::fs::write(&picture, b"\x89PNG\r\n\x1a\n-not-really-a-picture-").unwrap();
    let data = env.path("contract.txt");
    std::fs::write(&data, "合同正文 v1").unwrap();
    let trust: Vec<&Path> = vec![&root, &chain_maker, &chain_seal, &chain_service];

    // Make (v4) and sign with our CLI.
    let seal = env.path("seal.ses");
    ok(
        &ses_make(
            &env,
            &maker_key,
            &maker_pem,
            &holder_pem,
            &picture,
            "示例有限公司合同专用章",
            "3301060000001",
            &[],
            &seal,
        ),
        "ses make",
    );
    let sig = env.path("contract.sig");
    ok(
        &ses_sign(
            &env,
            &seal,
            &holder_key,
            &holder_pem,
            &data,
            &["--timestamp"],
            &sig,
        ),
        "ses sign",
    );
    let (code, v) = verify(&env, &seal, None, &trust);
    assert_eq!(code, 0, "{v}");
    let (code, v) = verify(&env, &sig, Some(&data), &trust);
    assert_eq!(code, 0, "{v}");
    assert!(v["checks"].to_string().contains("timestamp"), "{v}");
    // No trust anchors: indeterminate. No data: indeterminate.
    assert_eq!(verify(&env, &sig, Some(&data), &[]).0, 2);
    assert_eq!(verify(&env, &sig, None, &trust).0, 2);

    // The independent decoder reads our v4 seal, and openssl verifies the maker's signature.
    let dir = env.path("ref");
    std::fs::create_dir_all(&dir).unwrap();
    let out = ok(
        &run(Command::new(python())
            .arg(script())
            .arg("decode")
            .arg(&seal)
            .arg(&dir)),
        "ses_ref.py decode",
    );
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["name"], "示例有限公司合同专用章");
    assert_eq!(r["es_id"], "3301060000001");
    assert_eq!(r["header"][1], 4);
    assert_eq!(r["certs"], 1);
    assert_eq!(r["alg"], "1.2.156.10197.1.501");
    let maker_pub = env.path("maker.pub");
    ok(
        &run(Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&maker_key)
            .arg("-out")
            .arg(&maker_pub)),
        "pkey -pubout",
    );
    let dgst = run(Command::new("openssl")
        .args(["dgst", "-sm3", "-verify"])
        .arg(&maker_pub)
        .args(["-sigopt", "distid:1234567812345678", "-signature"])
        .arg(dir.join("maker.sig"))
        .arg(dir.join("sealinfo.der")));
    assert!(
        dgst.status.success() && text(&dgst).contains("Verified OK"),
        "openssl dgst -sm3 -verify: {}",
        text(&dgst)
    );

    // Seals and signatures written by the independent encoder (v1 and v4) verify in ours.
    for v in ["v4", "v1"] {
        let s = env.path(&format!("ref-{v}.ses"));
        ok(
            &run(Command::new(python())
                .arg(script())
                .arg(format!("make-{v}"))
                .args([&maker_key, &maker_der, &holder_der, &picture, &s])),
            "ses_ref.py make",
        );
        let (code, out) = verify(&env, &s, None, &trust);
        assert_eq!(code, 0, "{v} seal: {out}");
        assert!(out["version"].as_str().unwrap().contains(v), "{out}");
        let g = env.path(&format!("ref-{v}.sig"));
        ok(
            &run(Command::new(python())
                .arg(script())
                .arg(format!("sign-{v}"))
                .args([&s, &holder_key, &holder_der, &data, &g])),
            "ses_ref.py sign",
        );
        let (code, out) = verify(&env, &g, Some(&data), &trust);
        assert_eq!(code, 0, "{v} signature: {out}");
        let insp = ok(
            &env.sealpki(&["--json", "ses", "inspect", g.to_str().unwrap()]),
            "inspect",
        );
        assert!(insp.contains("独立编码测试章"), "{insp}");
    }

    // Tampering, each with its reason.
    let bytes = std::fs::read(&sig).unwrap();
    let flip = |needle: &[u8], name: &str| -> PathBuf {
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("{name}: pattern not found"));
        let mut b = bytes.clone();
        b[at + needle.len() - 1] ^= 0x01;
        let p = env.path(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let pic = flip(b"-not-really", "picture.sig");
    let (code, v) = verify(&env, &pic, Some(&data), &trust);
    assert!(
        code == 1 && reasons(&v).contains("maker signature does not verify"),
        "{v}"
    );
    let changed = env.path("changed.txt");
    std::fs::write(&changed, "合同正文 v2").unwrap();
    let (code, v) = verify(&env, &sig, Some(&changed), &trust);
    assert!(code == 1 && reasons(&v).contains("changed data"), "{v}");
    // A signer the seal does not list.
    let unlisted = env.path("unlisted.sig");
    ok(
        &ses_sign(&env, &seal, &other_key, &other_pem, &data, &[], &unlisted),
        "ses sign (unlisted)",
    );
    let (code, v) = verify(&env, &unlisted, Some(&data), &trust);
    assert!(
        code == 1 && reasons(&v).contains("not in the seal's certificate list"),
        "{v}"
    );
    // Wrong maker: another key signs a seal naming our maker's certificate (the independent
    // encoder writes it: our `ses make` refuses a key that does not match the certificate).
    let wrong = env.path("wrong-maker.ses");
    ok(
        &run(Command::new(python()).arg(script()).arg("make-v4").args([
            &other_key,
            &maker_der,
            &holder_der,
            &picture,
            &wrong,
        ])),
        "ses_ref.py make (wrong maker)",
    );
    let (code, v) = verify(&env, &wrong, None, &trust);
    assert!(
        code == 1 && reasons(&v).contains("maker signature does not verify"),
        "{v}"
    );
    let out = ses_make(
        &env,
        &other_key,
        &maker_pem,
        &holder_pem,
        &picture,
        "x",
        "1",
        &[],
        &env.path("refused.ses"),
    );
    assert!(
        !out.status.success() && text(&out).contains("does not match"),
        "{}",
        text(&out)
    );
    assert!(!env.path("refused.ses").exists(), "no output on refusal");
    // A broken timestamp.
    let ts_at = bytes.len() - 40;
    let mut b = bytes.clone();
    b[ts_at] ^= 0x01;
    let broken = env.path("broken-ts.sig");
    std::fs::write(&broken, b).unwrap();
    let (code, v) = verify(&env, &broken, Some(&data), &trust);
    assert!(code == 1 && reasons(&v).contains("timestamp"), "{v}");
    // Expired: a seal valid for 0 days, checked after its end.
    let short = env.path("short.ses");
    ok(
        &ses_make(
            &env,
            &maker_key,
            &maker_pem,
            &holder_pem,
            &picture,
            "x",
            "2",
            &["--valid-days", "0"],
            &short,
        ),
        "ses make (0 days)",
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, v) = verify(&env, &short, None, &trust);
    assert!(code == 1 && reasons(&v).contains("expired"), "{v}");

    // Not yet valid: a seal whose validity starts in two days.
    let later = env.path("later.ses");
    ok(
        &ses_make(
            &env,
            &maker_key,
            &maker_pem,
            &holder_pem,
            &picture,
            "x",
            "3",
            &["--start-days", "2"],
            &later,
        ),
        "ses make (starts later)",
    );
    let (code, v) = verify(&env, &later, None, &trust);
    assert!(code == 1 && reasons(&v).contains("not yet valid"), "{v}");

    // The seal on a PDF: the signature is GB/T 35275 SM2 CMS (its signedData OID, read back by
    // `openssl asn1parse`), the picture comes from the seal, and our verifier accepts it.
    {
        ok(
            &run(Command::new(tool("python3"))
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pdf_fixtures.py"))
                .arg(env.dir.path())),
            "pdf_fixtures.py",
        );
        let png = env.path("seal.png");
        let pdf_seal = env.path("pdf.ses");
        ok(
            &ses_make(
                &env,
                &maker_key,
                &maker_pem,
                &holder_pem,
                &png,
                "示例有限公司合同专用章",
                "4",
                &["--width-mm", "40", "--height-mm", "40"],
                &pdf_seal,
            ),
            "ses make (PNG)",
        );
        let pdf = env.path("contract.pdf");
        let out = env.path("sealed.pdf");
        let sign = |key: &Path, cert: &Path, out: &Path| {
            let mut c = env.cmd();
            c.args(["pdf", "sign", "--in"])
                .arg(&pdf)
                .arg("--out")
                .arg(out)
                .arg("--key-file")
                .arg(key)
                .arg("--cert")
                .arg(cert)
                .arg("--chain")
                .arg(&chain_seal)
                .arg("--seal")
                .arg(&pdf_seal)
                .args(["--keyword", "盖章处"]);
            run(&mut c)
        };
        ok(
            &sign(&holder_key, &holder_pem, &out),
            "pdf sign --seal (SM2)",
        );
        let v = run(env
            .cmd()
            .args(["--json", "pdf", "verify", "--trust"])
            .arg(&root)
            .arg(&out));
        let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert_eq!(v.status.code(), Some(0), "{report}");
        assert!(
            report["signatures"][0]["checks"]
                .to_string()
                .contains("sm2-sm3"),
            "{report}"
        );
        assert_eq!(
            report["signatures"][0]["seal_images"][0]["page"], 2,
            "{report}"
        );
        // The CMS as written: GB/T 35275's signedData and data OIDs, SM2-1 signature, SM3.
        let bytes = std::fs::read(&out).unwrap();
        let at = bytes
            .windows(11)
            .rposition(|w| w == b"/Contents <")
            .unwrap()
            + 11;
        let end = at + bytes[at..].iter().position(|b| *b == b'>').unwrap();
        let der = hex::decode(&bytes[at..end]).unwrap();
        let cms = env.path("sealed.cms");
        std::fs::write(&cms, der).unwrap();
        let parsed = ok(
            &run(Command::new("openssl")
                .args(["asn1parse", "-inform", "DER", "-in"])
                .arg(&cms)),
            "openssl asn1parse",
        );
        for (oid, name) in [
            ("1.2.156.10197.6.1.4.2.2", ""),
            ("1.2.156.10197.6.1.4.2.1", ""),
            ("1.2.156.10197.1.301.1", ""),
            ("1.2.156.10197.1.401", "sm3"),
        ] {
            assert!(
                parsed.contains(oid) || (!name.is_empty() && parsed.contains(name)),
                "{oid} in\n{parsed}"
            );
        }
        // A holder the seal does not list may not use it; nothing is written.
        let refused = sign(&other_key, &other_pem, &env.path("refused.pdf"));
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(
            text(&refused).contains("does not list"),
            "{}",
            text(&refused)
        );
        assert!(!env.path("refused.pdf").exists());
    }

    // Over HTTP (public): inspect and verify, against the deployment's own CA certificates.
    {
        use base64::Engine;
        let server = env.serve();
        let b64 = base64::engine::general_purpose::STANDARD;
        let seal_der = std::fs::read(&later).unwrap();
        let resp = ureq::post(&format!("{}/api/v1/ses/inspect", server.url))
            .set("Content-Type", "application/octet-stream")
            .send_bytes(&seal_der)
            .unwrap();
        let v: serde_json::Value = resp.into_json().unwrap();
        assert!(v.to_string().contains("3"), "inspect: {v}");
        let sig_der = std::fs::read(&sig).unwrap();
        let body = serde_json::json!({"structure": b64.encode(&sig_der), "data": b64.encode(std::fs::read(&data).unwrap())});
        let (status, v, _) = post(
            &format!("{}/api/v1/ses/verify", server.url),
            None,
            &body.to_string(),
        );
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["verdict"], "valid", "{v}");
        let body = serde_json::json!({"structure": b64.encode(&sig_der), "data": b64.encode(b"other data")});
        let (_, v, _) = post(
            &format!("{}/api/v1/ses/verify", server.url),
            None,
            &body.to_string(),
        );
        assert_eq!(v["verdict"], "invalid", "{v}");
        let (status, v, ctype) = post(
            &format!("{}/api/v1/ses/inspect", server.url),
            None,
            "garbage",
        );
        assert!(
            status == 400 && ctype.contains("problem+json"),
            "{status} {v}"
        );
    }

    // Garbage, truncated, deeply nested: exit 3 with a message, never a crash.
    let garbage = env.path("garbage.ses");
    std::fs::write(&garbage, b"not a seal at all").unwrap();
    let truncated = env.path("truncated.ses");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut deep = vec![0x05u8, 0x00];
    for _ in 0..5000 {
        let mut n = vec![0x30u8];
        let len = deep.len();
        if len < 0x80 {
            n.push(len as u8);
        } else {
            let b = (len as u32).to_be_bytes();
            n.push(0x84);
            n.extend(b);
        }
        n.extend(deep);
        deep = n;
    }
    let nested = env.path("nested.ses");
    std::fs::write(&nested, deep).unwrap();
    for f in [&garbage, &truncated, &nested] {
        let out = env.sealpki(&["ses", "verify", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(text(&out).contains("malformed"), "{}", text(&out));
    }
    let out = env.sealpki(&["ses", "verify", "--no-such-flag", "x"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "usage errors are 3: {}",
        text(&out)
    );
}

/// `ses verify --online`: the maker's and signer's certificates are checked against our OCSP
/// responders; a revoked signer makes the signature invalid, an unreachable responder indeterminate.
#[test]
fn online_revocation_of_maker_and_signer() {
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..EnvOptions::default()
    });
    env.init_dev();
    let (maker_key, maker_pem, _) = party(
        &env,
        "maker",
        "maker-production",
        "/C=CN/O=示例制章厂/CN=示例制章厂 制章",
    );
    let org = "/C=CN/O=示例有限公司/CN=示例有限公司合同专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q";
    let (holder_key, holder_pem, _) = party(&env, "holder", "seal-signing", org);
    let (chain_maker, root) = env.chain("maker");
    let (chain_seal, _) = env.chain("seal");
    let trust: Vec<&Path> = vec![&root, &chain_maker, &chain_seal];
    let picture = env.path("seal.png");
    std::fs::write(&picture, b"\x89PNG\r\n\x1a\n-not-really-a-picture-").unwrap();
    let data = env.path("contract.txt");
    std::fs::write(&data, "合同正文").unwrap();
    let seal = env.path("seal.ses");
    ok(
        &ses_make(
            &env,
            &maker_key,
            &maker_pem,
            &holder_pem,
            &picture,
            "示例有限公司合同专用章",
            "3301060000002",
            &[],
            &seal,
        ),
        "ses make",
    );
    let sig = env.path("contract.sig");
    ok(
        &ses_sign(&env, &seal, &holder_key, &holder_pem, &data, &[], &sig),
        "ses sign",
    );
    let online = |file: &Path| {
        let mut args: Vec<String> = vec![
            "--json".into(),
            "ses".into(),
            "verify".into(),
            file.display().to_string(),
            "--data".into(),
            data.display().to_string(),
            "--online".into(),
        ];
        for t in &trust {
            args.push("--trust".into());
            args.push(t.display().to_string());
        }
        let out = run(env.cmd().args(&args));
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code().unwrap_or(-1), v)
    };
    let mut server = env.serve();
    let (code, v) = online(&sig);
    assert_eq!(code, 0, "{v}");
    let checks = v["checks"].to_string();
    assert!(
        checks.contains("signer-revocation") && checks.contains("maker-revocation"),
        "{checks}"
    );
    // Revoke the signer: the same signature is now invalid when checked online, valid offline.
    let serial = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&holder_pem)),
        "serial",
    );
    let serial = serial.trim().trim_start_matches("serial=").to_string();
    ok(
        &env.sealpki(&["cert", "revoke", &serial, "--reason", "keyCompromise"]),
        "cert revoke",
    );
    let (code, v) = online(&sig);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("was revoked"), "{v}");
    // The public endpoint, asked to check online, agrees.
    {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = serde_json::json!({"structure": b64.encode(std::fs::read(&sig).unwrap()),
            "data": b64.encode(std::fs::read(&data).unwrap()), "online": true});
        let (status, v, _) = post(
            &format!("{}/api/v1/ses/verify", server.url),
            None,
            &body.to_string(),
        );
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["verdict"], "invalid", "{v}");
        assert!(v["reasons"].to_string().contains("was revoked"), "{v}");
        let body = serde_json::json!({"structure": b64.encode(std::fs::read(&sig).unwrap()),
            "data": b64.encode(std::fs::read(&data).unwrap())});
        let (_, v, _) = post(
            &format!("{}/api/v1/ses/verify", server.url),
            None,
            &body.to_string(),
        );
        assert_eq!(v["verdict"], "valid", "offline over HTTP: {v}");
    }
    let (code, v) = verify(&env, &sig, Some(&data), &trust);
    assert_eq!(code, 0, "offline, revocation is not checked: {v}");
    // Responders unreachable: not established, so indeterminate.
    server.kill();
    let (code, v) = online(&sig);
    assert_eq!(code, 2, "{v}");
    assert!(reasons(&v).contains("revocation"), "{v}");
}
