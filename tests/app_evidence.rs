//! The evidence report (存证报告) of the apps' signing API (issue 13) over HTTP on SQLite and
//! PostgreSQL, every request signed by the docs' script: an app seals a document twice; the JSON
//! report's facts are checked against the evidence, the seal's certificate (openssl) and the
//! audit chain read from the database (each entry's hash recomputed here, its link to the one
//! before, the checkpoint covering it); the PDF report in Chinese and in English passes
//! `qpdf --check`, pdfsig (valid, trusted), `pyhanko sign validate` (intact, trusted, with its
//! time stamp) and our own verifier, and pdftotext finds the title and the hash in full; a hash
//! with no sealing is a 404, a malformed one a 400, another app's request a 404; the owner's
//! console form downloads the same report; every report made is audited and the chain still
//! verifies (`sealpki audit verify`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};
use sha2::Digest;

/// An app registered by the administrator, owned by `owner`, with an HMAC key: its caller.
fn new_app(env: &Env, w: &SealWorld, name: &str, owner: &str, owner_tok: &str) -> Caller {
    let (s, v) = api_post(
        &w.api,
        "/apps",
        &w.admin,
        json!({"name": name, "kind": "cloud-signing", "supervising_org_id": w.bureau,
               "developer_org_id": w.unit, "owner": owner}),
    );
    assert_eq!(s, 201, "{v}");
    let app = v["id"].as_str().unwrap().to_string();
    let (s, v) = api_post(
        &w.api,
        &format!("/apps/{app}/credentials"),
        owner_tok,
        json!({"kind": "hmac-sha256", "label": "production"}),
    );
    assert_eq!(s, 201, "{v}");
    let secret = env.path(&format!("{app}.secret"));
    std::fs::write(&secret, v["secret"].as_str().unwrap()).unwrap();
    Caller {
        app,
        key: v["key_id"].as_str().unwrap().to_string(),
        secret,
        base: w.api.clone(),
    }
}

/// The audit chain as stored: seq → (at, actor, action, detail, prev_hash, hash).
type Entry = (i64, String, String, String, String, String);

fn chain(env: &Env) -> std::collections::BTreeMap<i64, Entry> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = sealpki::store::Store::open(&db_url(env), None, None)
            .await
            .unwrap();
        let rows = store.audit_page(0, 100_000).await.unwrap();
        store.close().await;
        rows.into_iter()
            .map(|r| {
                (
                    r.seq,
                    (r.at, r.actor, r.action, r.detail, r.prev_hash, r.hash),
                )
            })
            .collect()
    })
}

/// An entry's hash as docs/ARCHITECTURE.md defines it, computed here: SHA-256 over
/// `sealpki-audit-v1\n` and each field (previous hash, seq, time, actor, action, detail) with
/// its length as eight big-endian bytes before it.
fn entry_hash(prev: &str, seq: i64, e: &Entry) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"sealpki-audit-v1\n");
    for f in [prev, &seq.to_string(), &e.0.to_string(), &e.1, &e.2, &e.3] {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// An NSS database trusting our root, for pdfsig.
fn nss(env: &Env) -> String {
    let (_, root) = env.chain("seal");
    let dir = env.path(&format!("nss-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sql:{}", dir.display());
    ok(
        &run(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"])),
        "certutil -N",
    );
    ok(
        &run(Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "root", "-t", "CT,C,C", "-i"])
            .arg(&root)),
        "certutil -A",
    );
    db
}

/// A report PDF checked by tools we did not write, and by ours; its text (pdftotext).
fn report_pdf_ok(env: &Env, file: &Path) -> String {
    let (_, root) = env.chain("seal");
    let out = run(Command::new("qpdf").arg("--check").arg(file));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && t.contains("No syntax or stream encoding errors"),
        "qpdf --check: {t}"
    );
    let out = run(Command::new("pdfsig")
        .args(["-nssdir", &nss(env)])
        .arg(file));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        t.matches("Signature Validation: Signature is Valid.")
            .count(),
        1,
        "pdfsig: {t}"
    );
    assert!(
        t.contains("Certificate Validation: Certificate is Trusted.")
            && t.contains("sealpki evidence reports"),
        "pdfsig: {t}"
    );
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(file));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success()
            && said.contains("INTACT:TRUSTED")
            && said.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "pyhanko: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // poppler 22.12 does not report signature time stamps: openssl reads the CMS signature
    // (the /Contents between the two signed ranges) and finds the time-stamp token attribute.
    let bytes = std::fs::read(file).unwrap();
    let ranges: Vec<usize> = t
        .split("Signed Ranges: [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .map(|r| {
            r.split(" - ")
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let gap_end = t
        .split("], [")
        .nth(1)
        .and_then(|r| r.split(" - ").next())
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap();
    let hex_sig = String::from_utf8_lossy(&bytes[ranges[1] + 1..gap_end - 1]).to_string();
    // The placeholder is zero-padded: the DER's own length says where it ends.
    let padded = hex::decode(hex_sig.trim()).unwrap();
    let len = match padded[1] {
        n if n < 0x80 => 2 + usize::from(n),
        n => {
            let k = usize::from(n & 0x7f);
            2 + k
                + padded[2..2 + k]
                    .iter()
                    .fold(0usize, |a, b| (a << 8) | usize::from(*b))
        }
    };
    let der = &padded[..len];
    let sig = file.with_extension("p7s");
    std::fs::write(&sig, der).unwrap();
    let printed = ok(
        &run(Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&sig)),
        "openssl cms -print",
    );
    assert!(
        printed.contains("id-smime-aa-timeStampToken"),
        "no signature time stamp: {printed}"
    );
    let out = run(env
        .cmd()
        .args(["--json", "pdf", "verify", "--trust"])
        .arg(&root)
        .arg(file));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "pdf verify: {v}");
    assert!(v["signatures"][0]["timestamp"].is_string(), "{v}");
    let out = run(Command::new("pdftotext").arg(file).arg("-"));
    assert!(out.status.success(), "pdftotext");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A report's pages as PNGs beside the console's screenshots (for people to look at).
fn keep_page_image(file: &Path, name: &str) {
    let dir = chromium::screenshots_dir();
    let out = run(Command::new("pdftoppm")
        .args(["-png", "-r", "90"])
        .arg(file)
        .arg(dir.join(name)));
    assert!(out.status.success(), "pdftoppm");
}

fn journey(env: &Env, prefix: &str) {
    env.init_dev();
    // A checkpoint every other entry: the sealing's entry is soon covered by a signed head.
    let srv = env.serve_with(&[("SEALPKI_CHECKPOINT_EVERY", "2")]);
    let w = seal_world(env, &srv, prefix);
    w.unified_payment();
    let api = w.api.clone();
    let (sa, sa_tok) = register_person(env, &srv, &format!("{prefix}3"), "33010619800101013");
    let (s, v) = api_post(
        &api,
        &format!("/organisations/{}/members", w.unit),
        &w.admin,
        json!({"username": sa, "role": "seal-admin"}),
    );
    assert_eq!(s, 201, "{v}");
    let seal_name = "杭州示例科技有限公司合同专用章";
    let (seal, code) = w.cloud_seal(&w.applicant_tok, &w.unit, seal_name);
    let c = new_app(env, &w, "合同管理系统", &w.applicant, &w.applicant_tok);
    let other = new_app(env, &w, "档案管理系统", &w.applicant, &w.applicant_tok);
    let (s, v) = api_post(
        &api,
        "/app-grants",
        &sa_tok,
        json!({"app_id": c.app, "seal_ids": [seal], "valid_until": now() + 30 * 86_400}),
    );
    assert!(s == 200 || s == 201, "{v}");

    // Two sealings of one original: at a position (B-T), and on a keyword.
    let pdf = text_pdf(&[
        vec![(72.0, 760.0, "Contract page 1")],
        vec![
            (72.0, 760.0, "Contract page 2"),
            (300.0, 150.0, "Seal here"),
        ],
    ]);
    let original = sealpki_pki::alg::sha256_hex(&pdf);
    let raw = [("Content-Type", "application/pdf")];
    let first = c.call(
        "POST",
        &format!("/app/seal?seal_id={seal}&page=1&x_mm=150&y_mm=250&level=b-t"),
        &pdf,
        &raw,
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let sealed = sealpki_pki::alg::sha256_hex(&first.body);
    let evidence_id = first.header("x-sealpki-evidence").unwrap().to_string();
    let second = c.call(
        "POST",
        &format!("/app/seal?seal_id={seal}&keyword=Seal%20here"),
        &pdf,
        &raw,
    );
    assert_eq!(second.status, 200, "{}", second.text());

    // The evidence rows name their audit entries now.
    let e = c.call("GET", &format!("/app/evidence/{sealed}"), b"", &[]);
    assert_eq!(e.status, 200, "{}", e.text());
    let row = e.json()[0].clone();
    assert!(row["audit_seq"].is_i64(), "{row}");

    // The JSON report (the default) of the sealed document: one sealing.
    let r = c.call("GET", &format!("/app/evidence/{sealed}/report"), b"", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let rep = r.json();
    assert_eq!(rep["document_sha256"], sealed.as_str(), "{rep}");
    assert_eq!(rep["app"]["id"], c.app.as_str());
    assert_eq!(rep["app"]["name"], "合同管理系统");
    assert_eq!(rep["verification_url"], format!("{}/verify", srv.url));
    let made = rep["generated_at_unix"].as_i64().unwrap();
    assert!((now() - made).abs() < 120, "{rep}");
    assert_eq!(
        rep["generated_at"],
        rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(made as u64))
    );
    let sealings = rep["sealings"].as_array().unwrap();
    assert_eq!(sealings.len(), 1, "{rep}");
    let s0 = &sealings[0];
    assert_eq!(s0["evidence_id"], evidence_id.as_str());
    assert_eq!(s0["evidence_id"], row["id"]);
    assert_eq!(s0["seal"]["id"], seal.as_str());
    assert_eq!(s0["seal"]["code"], code.as_str());
    assert_eq!(s0["seal"]["name"], seal_name);
    assert_eq!(s0["seal"]["organisation"]["id"], w.unit.as_str());
    assert_eq!(s0["seal"]["organisation"]["name"], "杭州示例科技有限公司");
    assert_eq!(
        s0["seal"]["organisation"]["credit_code"],
        "913301061234567887"
    );
    assert_eq!(s0["input_sha256"], original.as_str());
    assert_eq!(s0["output_sha256"], sealed.as_str());
    assert_eq!(s0["output_bytes"], first.body.len());
    assert_eq!(s0["level"], "b-t");
    assert_eq!(s0["field"], row["field"]);
    assert_eq!(s0["grant_id"], row["grant_id"]);
    assert_eq!(
        s0["placements"],
        json!([{"kind": "at", "page": 1, "x_mm": 150.0, "y_mm": 250.0}])
    );
    assert!(
        s0["client"].as_str().unwrap().starts_with("127.0.0.1"),
        "{s0}"
    );
    assert_eq!(s0["sealed_at_unix"], row["created_at"]);
    assert_eq!(
        s0["sealed_at"],
        rfc3339(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(row["created_at"].as_u64().unwrap())
        )
    );

    // The certificate, as openssl reads the one the CA issued.
    let serial = s0["certificate"]["serial"].as_str().unwrap();
    assert_eq!(serial, row["cert_serial"].as_str().unwrap());
    let (st, pem) = get(&format!("{api}/certificates/{serial}/pem"), Some(&w.admin));
    assert_eq!(st, 200);
    let pem_file = env.path("seal-cert.pem");
    std::fs::write(&pem_file, pem).unwrap();
    let out = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-subject", "-issuer"])
            .args(["-nameopt", "RFC2253,-esc_msb", "-in"])
            .arg(&pem_file)),
        "openssl x509",
    );
    let theirs = out
        .lines()
        .find_map(|l| l.strip_prefix("serial="))
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert_eq!(
        theirs.trim_start_matches('0'),
        serial.to_ascii_lowercase().trim_start_matches('0'),
        "{out}"
    );
    assert!(out.contains(seal_name), "{out}");
    let subject = s0["certificate"]["subject"].as_str().unwrap();
    assert!(
        subject.contains(seal_name) && subject.contains("C=CN"),
        "{subject}"
    );
    let issuer = s0["certificate"]["issuer"].as_str().unwrap();
    let issuer_cn = issuer
        .split("CN=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    assert!(out.contains(issuer_cn), "{out} vs {issuer}");
    let nb = s0["certificate"]["not_before_unix"].as_i64().unwrap();
    let na = s0["certificate"]["not_after_unix"].as_i64().unwrap();
    assert!(nb <= row["created_at"].as_i64().unwrap() && row["created_at"].as_i64().unwrap() < na);

    // The audit entry: where the evidence says, hashing to what it says (recomputed here),
    // linked to the entry before, recording this sealing; a signed checkpoint covers it.
    let log = chain(env);
    let a = &s0["audit"];
    assert_eq!(a["verified"], true, "{a}");
    let seq = a["seq"].as_i64().unwrap();
    assert_eq!(a["seq"], row["audit_seq"]);
    assert_eq!(a["hash"], row["audit_hash"]);
    let entry = log.get(&seq).expect("the entry is in the chain");
    assert_eq!(a["hash"], entry.5.as_str());
    assert_eq!(a["prev_hash"], entry.4.as_str());
    assert_eq!(
        entry_hash(&entry.4, seq, entry),
        entry.5,
        "the entry's hash"
    );
    assert_eq!(log[&(seq - 1)].5, entry.4, "linked to the entry before");
    assert_eq!(a["at_unix"], entry.0);
    assert_eq!(a["actor"], format!("app:{}", c.app));
    assert_eq!(entry.2, "pdf.sign");
    let detail: Value = serde_json::from_str(&entry.3).unwrap();
    assert_eq!(detail["output_sha256"], sealed.as_str(), "{detail}");
    assert_eq!(detail["input_sha256"], original.as_str());
    assert_eq!(detail["seal"], seal.as_str());
    assert_eq!(detail["app"], c.app.as_str());
    assert_eq!(detail["certificate"], serial);
    assert_eq!(detail["client"], s0["client"]);
    let cp = &a["checkpoint"];
    let cp_seq = cp["seq"].as_i64().expect("a checkpoint covers the entry");
    assert!(cp_seq >= seq, "{cp}");
    assert_eq!(cp["head_hash"], log[&cp_seq].5.as_str(), "{cp}");

    // The original's hash finds both sealings, oldest first; Accept: application/json too.
    let r = c.call(
        "GET",
        &format!("/app/evidence/{}/report", original.to_uppercase()),
        b"",
        &[("Accept", "application/json")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let both = r.json();
    assert_eq!(both["document_sha256"], original.as_str());
    let s = both["sealings"].as_array().unwrap();
    assert_eq!(s.len(), 2, "{both}");
    assert_eq!(s[0]["evidence_id"], evidence_id.as_str());
    assert_eq!(
        s[1]["evidence_id"],
        second.header("x-sealpki-evidence").unwrap()
    );
    assert_eq!(s[1]["placements"][0]["kind"], "keyword");
    assert_eq!(s[1]["level"], "b-b");
    assert!(s.iter().all(|x| x["audit"]["verified"] == true), "{both}");

    // Bad requests: no sealing (404), a malformed hash (400), another app (404), bad options.
    for (who, path, want) in [
        (&c, format!("/app/evidence/{}/report", "0".repeat(64)), 404),
        (&c, "/app/evidence/xyz/report".to_string(), 400),
        (&c, format!("/app/evidence/{}/report", "a".repeat(65)), 400),
        (&other, format!("/app/evidence/{sealed}/report"), 404),
        (
            &other,
            format!("/app/evidence/{sealed}/report?format=pdf"),
            404,
        ),
        (&c, format!("/app/evidence/{sealed}/report?format=xml"), 400),
        (
            &c,
            format!("/app/evidence/{sealed}/report?format=pdf&lang=de"),
            400,
        ),
    ] {
        let r = who.call("GET", &path, b"", &[]);
        assert_eq!(r.status, want, "{path}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
    // Unsigned: 401.
    let r = answer(
        match ureq::get(&format!("{api}/app/evidence/{sealed}/report")).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        },
    );
    assert_eq!(r.status, 401, "{}", r.text());

    // The PDF: Chinese by default (Accept), English on request (format and lang).
    let zh = c.call(
        "GET",
        &format!("/app/evidence/{original}/report"),
        b"",
        &[("Accept", "application/pdf")],
    );
    assert_eq!(zh.status, 200, "{}", zh.text());
    assert_eq!(zh.header("content-type"), Some("application/pdf"));
    assert_eq!(
        zh.header("content-disposition"),
        Some(
            format!(
                "attachment; filename=\"evidence-{}-zh.pdf\"",
                &original[..16]
            )
            .as_str()
        )
    );
    let zh_file = env.path("report-zh.pdf");
    std::fs::write(&zh_file, &zh.body).unwrap();
    let t = report_pdf_ok(env, &zh_file);
    for needle in [
        "电子印章使用存证报告",
        original.as_str(),
        sealed.as_str(),
        seal_name,
        code.as_str(),
        "913301061234567887",
        "合同管理系统",
        evidence_id.as_str(),
        serial,
        a["hash"].as_str().unwrap(),
        "PAdES B-T",
        "北京时间",
        "关键字“Seal here”第 1 处",
    ] {
        assert!(t.contains(needle), "zh report lacks {needle:?}:\n{t}");
    }
    assert!(!t.contains("Electronic seal evidence report"), "{t}");
    keep_page_image(&zh_file, "evidence-report-zh");

    let en = c.call(
        "GET",
        &format!("/app/evidence/{sealed}/report?format=pdf&lang=en"),
        b"",
        &[],
    );
    assert_eq!(en.status, 200, "{}", en.text());
    let en_file = env.path("report-en.pdf");
    std::fs::write(&en_file, &en.body).unwrap();
    let t = report_pdf_ok(env, &en_file);
    for needle in [
        "Electronic seal evidence report",
        sealed.as_str(),
        original.as_str(),
        "page 1, 150 mm from the left, 250 mm from the top",
        "Page 1 of",
    ] {
        assert!(t.contains(needle), "en report lacks {needle:?}:\n{t}");
    }
    assert!(!t.contains("电子印章使用存证报告"), "{t}");
    keep_page_image(&en_file, "evidence-report-en");

    // The owner's console: the form on the app's page, and its download.
    let cookie = format!("sealpki_session={}; lang=zh-CN", w.applicant_tok);
    let console = |path: &str, cookie: &str| {
        answer(
            match ureq::get(&format!("{}{path}", srv.url))
                .set("Cookie", cookie)
                .set("Accept", "text/html")
                .call()
            {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(e) => panic!("{path}: {e}"),
            },
        )
    };
    let page = console(&format!("/apps/{}", c.app), &cookie);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("存证报告")
            && html.contains(&format!("action=\"/apps/{}/evidence-report\"", c.app))
            && html.contains(&format!("/apps/{}/evidence-report?sha256={sealed}", c.app)),
        "{html}"
    );
    let d = console(
        &format!("/apps/{}/evidence-report?sha256={sealed}&lang=en", c.app),
        &cookie,
    );
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.header("content-type"), Some("application/pdf"));
    let console_file = env.path("report-console.pdf");
    std::fs::write(&console_file, &d.body).unwrap();
    let t = report_pdf_ok(env, &console_file);
    assert!(
        t.contains("Electronic seal evidence report") && t.contains(&sealed),
        "{t}"
    );
    let d = console(
        &format!("/apps/{}/evidence-report?sha256={sealed}", c.app),
        &cookie,
    );
    assert_eq!(d.status, 200);
    let t = {
        let f = env.path("report-console-zh.pdf");
        std::fs::write(&f, &d.body).unwrap();
        String::from_utf8_lossy(&run(Command::new("pdftotext").arg(&f).arg("-")).stdout).to_string()
    };
    assert!(
        t.contains("电子印章使用存证报告"),
        "the reader's language: {t}"
    );
    let bad = console(
        &format!("/apps/{}/evidence-report?sha256=xyz", c.app),
        &cookie,
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("64 位十六进制"), "{}", bad.text());
    let none = console(
        &format!("/apps/{}/evidence-report?sha256={}", c.app, "0".repeat(64)),
        &cookie,
    );
    assert_eq!(none.status, 404);
    assert!(none.text().contains("本应用没有盖过"), "{}", none.text());
    // The other app's page has no sealing of it; a stranger cannot read the app at all.
    let d = console(
        &format!("/apps/{}/evidence-report?sha256={sealed}", other.app),
        &cookie,
    );
    assert_eq!(d.status, 404, "{}", d.text());
    let stranger = format!("sealpki_session={}", w.reviewer_tok);
    let d = console(
        &format!("/apps/{}/evidence-report?sha256={sealed}", c.app),
        &stranger,
    );
    assert!(d.status == 403 || d.status == 404, "{}", d.status);
    assert_ne!(d.header("content-type"), Some("application/pdf"));
    if matches!(env.db, Db::Sqlite) {
        chromium::session_shots(
            &srv.url,
            &w.applicant_tok,
            &[(
                "app-evidence-form",
                &format!("/apps/{}#evidence-report", c.app),
                "合同管理系统",
                "合同管理系统",
            )],
        );
    }

    // Every report made is audited (by the app, or by the owner in the console); the chain
    // verifies.
    let log = chain(env);
    let reports: Vec<_> = log
        .values()
        .filter(|e| e.2 == "pdf.sign")
        .filter_map(|e| {
            let d: Value = serde_json::from_str(&e.3).ok()?;
            d.get("evidence_report").map(|r| (e.1.clone(), r.clone()))
        })
        .collect();
    assert_eq!(reports.len(), 4, "{reports:?}");
    assert!(reports[0].0 == format!("app:{}", c.app), "{reports:?}");
    assert_eq!(reports[0].1["document_sha256"], original.as_str());
    assert_eq!(reports[0].1["lang"], "zh");
    assert_eq!(reports[1].1["lang"], "en");
    assert_eq!(reports[2].0, w.applicant, "{reports:?}");
    let out = env.sealpki(&["--json", "audit", "verify"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "audit verify: {v}");
    assert!(v["first_broken"].is_null(), "{v}");
}

#[test]
fn evidence_report_on_sqlite() {
    journey(
        &Env::new(EnvOptions {
            self_urls: true,
            ..Default::default()
        }),
        "1393000001",
    );
}

#[test]
fn evidence_report_on_postgres() {
    let Some(url) = pg_database("appevidence") else {
        return;
    };
    journey(
        &Env::new(EnvOptions {
            db: Db::Postgres(url),
            self_urls: true,
            ..Default::default()
        }),
        "1394000001",
    );
}
