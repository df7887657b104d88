//! The agencies' journey over HTTP, against the real server on both databases: register → apply →
//! upload the stamped scan → submit → returned → resubmit → approve → a cloud seal produced (key,
//! seal-CA certificate, GB/T 38540 structure) → seal a PDF (pdfsig and pyHanko accept it; `sealpki
//! ses verify` accepts the structure) → report loss (openssl ocsp: on hold; the delta and full CRLs
//! list it; signing refused) → restore (signing works) → reissue (the old certificate revoked as
//! superseded) → revoke (openssl ocsp: revoked); the public seal status at each step; and the
//! refusals on the way: duplicate names, bad codes, outsiders, self-approval, stale versions.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

struct J<'a> {
    env: &'a Env,
    srv: &'a Server,
    api: String,
}

impl J<'_> {
    fn post(&self, path: &str, tok: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = post(&format!("{}{path}", self.api), Some(tok), &body.to_string());
        (s, v)
    }

    fn get(&self, path: &str, tok: Option<&str>) -> (u16, Value) {
        let (s, b) = get(&format!("{}{path}", self.api), tok);
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    fn event(&self, id: &str, tok: &str, event: &str, version: i64, extra: Value) -> (u16, Value) {
        let mut body = json!({"event": event, "version": version});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                body[k] = v.clone();
            }
        }
        self.post(&format!("/seal-applications/{id}/events"), tok, body)
    }

    fn op_event(&self, id: &str, tok: &str, event: &str, version: i64) -> (u16, Value) {
        self.post(
            &format!("/seal-operations/{id}/events"),
            tok,
            json!({"event": event, "version": version, "comment": "核实无误"}),
        )
    }

    fn upload_scan(&self, tok: &str) -> String {
        upload_scan(&self.api, tok)
    }

    fn sign(&self, seal: &str, tok: &str) -> (u16, Vec<u8>) {
        let r = ureq::post(&format!(
            "{}/seals/{seal}/sign?page=1&x_mm=100&y_mm=120",
            self.api
        ))
        .set("Authorization", &format!("Bearer {tok}"))
        .set("Content-Type", "application/pdf")
        .send_bytes(&minimal_pdf());
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("sign: {e}"),
        };
        let s = resp.status();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut b).unwrap();
        (s, b)
    }

    fn cert_pem(&self, serial: &str, admin: &str) -> std::path::PathBuf {
        let (s, b) = get(
            &format!("{}/certificates/{serial}/pem", self.api),
            Some(admin),
        );
        assert_eq!(s, 200, "certificate {serial}");
        let p = self.env.path(&format!("{serial}.pem"));
        std::fs::write(&p, b).unwrap();
        p
    }

    /// `openssl ocsp` about `cert`: its whole output.
    fn ocsp(&self, cert: &Path, issuer: &Path, chain: &Path) -> String {
        let out = run(Command::new("openssl")
            .args(["ocsp", "-issuer"])
            .arg(issuer)
            .arg("-cert")
            .arg(cert)
            .args(["-url", &format!("{}/ocsp/seal", self.srv.url), "-CAfile"])
            .arg(chain)
            .arg("-resp_text"));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Whether the CRL at /crl/{file} lists `serial` (openssl's text form).
    fn crl_lists(&self, file: &str, serial: &str) -> bool {
        let (s, der) = get(&format!("{}/crl/{file}", self.srv.url), None);
        assert_eq!(s, 200, "GET /crl/{file}");
        let p = self.env.path(file);
        std::fs::write(&p, der).unwrap();
        let t = ok(
            &run(Command::new("openssl")
                .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
                .arg(&p)),
            "openssl crl",
        );
        t.to_ascii_uppercase()
            .contains(&format!("SERIAL NUMBER: {}", serial.to_ascii_uppercase()))
    }
}

fn org(j: &J<'_>, admin: &str, code: &str, name: &str, kind: &str, region: &str) -> String {
    let (s, v) = j.post(
        "/organisations",
        admin,
        json!({"credit_code": code, "name": name, "kind": kind, "region": region}),
    );
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn member(j: &J<'_>, admin: &str, org: &str, user: &str, role: &str) {
    let (s, v) = j.post(
        &format!("/organisations/{org}/members"),
        admin,
        json!({"username": user, "role": role}),
    );
    assert_eq!(s, 201, "{v}");
}

fn journey(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let j = J {
        env,
        srv: &srv,
        api: format!("{}/api/v1", srv.url),
    };
    let admin = srv.login();
    let (applicant, app_tok) = register_person(env, &srv, "13900000001", "33010619800101001");
    let (reviewer, rev_tok) = register_person(env, &srv, "13900000002", "33010619800101002");
    let (_, outsider_tok) = register_person(env, &srv, "13900000003", "33010619800101003");
    let bureau = org(
        &j,
        &admin,
        "11330100002482154U",
        "杭州市数据资源管理局",
        "government",
        "330100",
    );
    let unit = org(
        &j,
        &admin,
        "913301061234567887",
        "杭州示例科技有限公司",
        "enterprise",
        "330106",
    );
    member(&j, &admin, &unit, &applicant, "applicant");
    member(&j, &admin, &bureau, &reviewer, "reviewer");
    // The bureau pays for its city's applications (unified payment): no checkout in this journey
    // (tests/payments.rs covers paying).
    let (s, v) = j.post(
        "/unified-payers",
        &admin,
        json!({"payer_org_id": bureau, "region": "330100"}),
    );
    assert_eq!(s, 201, "{v}");
    let seal_name = "杭州示例科技有限公司合同专用章";
    let form = json!({"org_id": unit, "seal_name": seal_name, "seal_type": "contract",
                      "mode": "cloud", "years": 2, "authority_id": bureau});

    // Refusals before anything exists: an outsider, a bad taxpayer number.
    let (s, v) = j.post("/seal-applications", &outsider_tok, form.clone());
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("seals.apply"), "{v}");
    let mut bad = form.clone();
    bad["seal_type"] = json!("invoice");
    bad["taxpayer"] = json!("91330106MA2H2XXX10");
    let (s, v) = j.post("/seal-applications", &app_tok, bad);
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("taxpayer"), "{v}");

    // Apply; the same name again, with full-width letters and spaces, is taken.
    let (s, a) = j.post("/seal-applications", &app_tok, form.clone());
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["state"], "draft");
    let id = a["id"].as_str().unwrap().to_string();
    let mut dup = form.clone();
    dup["seal_name"] = json!("杭州示例科技有限公司　合同专用章 ");
    let (s, v) = j.post("/seal-applications", &app_tok, dup);
    assert_eq!(s, 409, "{v}");

    // The printed form: pdftotext finds the seal name and the application number, zbarimg
    // reads the number from the QR code (both tools we did not write).
    let (s, form_pdf) = get(
        &format!("{}/seal-applications/{id}/form", j.api),
        Some(&app_tok),
    );
    assert_eq!(s, 200);
    let fp = env.path("form.pdf");
    std::fs::write(&fp, &form_pdf).unwrap();
    let text = ok(
        &run(Command::new("pdftotext").arg(&fp).arg("-")),
        "pdftotext",
    );
    assert!(text.contains(seal_name) && text.contains(&id), "{text}");
    ok(
        &run(Command::new("pdftoppm")
            .args(["-r", "200", "-png", "-singlefile"])
            .arg(&fp)
            .arg(env.path("form"))),
        "pdftoppm",
    );
    let qr = ok(
        &run(Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(env.path("form.png"))),
        "zbarimg",
    );
    assert_eq!(qr.trim(), id, "the QR code holds the application number");

    // Submitting without the stamped scan is refused; attach it, then submit.
    let (s, v) = j.event(&id, &app_tok, "submit", 1, json!({}));
    assert_eq!(s, 422, "{v}");
    let scan = j.upload_scan(&app_tok);
    let (s, v) = j.event(
        &id,
        &app_tok,
        "attach-scan",
        1,
        json!({"attachments": [scan]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["scan_file"], json!(scan));
    let (s, v) = j.event(&id, &app_tok, "submit", 2, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "pending-review");

    // The applicant cannot decide; an outsider cannot; the reviewer returns it with comments.
    let (s, v) = j.event(&id, &app_tok, "approve", 3, json!({}));
    assert_eq!(s, 403, "{v}");
    let (s, v) = j.event(&id, &outsider_tok, "approve", 3, json!({}));
    assert_eq!(s, 403, "{v}");
    let (s, v) = j.get("/seal-applications?scope=review", Some(&rev_tok));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = j.event(
        &id,
        &rev_tok,
        "return",
        3,
        json!({"comment": "有效期请改为一年"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "returned");
    let mut edited = form.clone();
    edited["years"] = json!(1);
    let (s, v) = j.event(&id, &app_tok, "resubmit", 4, json!({"data": edited}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["years"], 1);
    assert_eq!(
        v["data"]["scan_file"],
        json!(scan),
        "the scan stays with the edit"
    );

    // Approve: the cloud seal is made at once. A second approve (the same version) is stale.
    let (s, v) = j.event(&id, &rev_tok, "approve", 5, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "complete", "{v}");
    let (s, v) = j.event(&id, &rev_tok, "approve", 5, json!({}));
    assert_eq!(s, 409, "{v}");
    let (s, h) = j.get(&format!("/seal-applications/{id}/history"), Some(&app_tok));
    assert_eq!(s, 200, "{h}");
    let events: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "create",
            "attach-scan",
            "submit",
            "return",
            "resubmit",
            "approve",
            "produce"
        ]
    );
    assert_eq!(h["items"][3]["comment"], "有效期请改为一年");

    let (s, csv) = get(
        &format!("{}/seals?scope=applied&format=csv", j.api),
        Some(&app_tok),
    );
    assert_eq!(s, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.starts_with("\u{feff}code,name,") && csv.contains(seal_name),
        "{csv}"
    );
    let (s, csv) = get(
        &format!("{}/seal-applications?format=csv", j.api),
        Some(&app_tok),
    );
    assert_eq!(s, 200);
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        2,
        "a header and one application"
    );
    let (s, seals) = j.get("/seals?scope=applied", Some(&app_tok));
    assert_eq!(s, 200, "{seals}");
    let seal = seals["items"][0].clone();
    assert_eq!(seal["state"], "active", "{seal}");
    assert_eq!(seal["name"], seal_name);
    let sid = seal["id"].as_str().unwrap().to_string();
    let code = seal["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("330106") && code.len() == 13, "{code}");
    let serial = seal["cert_serial"].as_str().unwrap().to_string();
    let (s, v) = j.get(&format!("/seals/{sid}"), Some(&outsider_tok));
    assert_eq!(s, 403, "{v}");

    // The GB/T 38540 structure verifies with our own verifier against the root.
    let (chain, root) = env.chain("seal");
    let (s, der) = get(
        &format!("{}/seals/{sid}/file?part=seal.der", j.api),
        Some(&app_tok),
    );
    assert_eq!(s, 200);
    let ses = env.path("seal.der");
    std::fs::write(&ses, der).unwrap();
    let (maker_chain, _) = env.chain("maker");
    let t = ok(
        &run(env
            .cmd()
            .args(["ses", "verify", "--trust"])
            .arg(&root)
            .arg("--trust")
            .arg(&maker_chain)
            .arg(&ses)),
        "ses verify",
    );
    assert!(t.contains("VALID") && t.contains(&code), "{t}");
    // Online: the platform's signed seal status (its credential checked against the anchors).
    let online = |expect: i32| {
        let out = run(env
            .cmd()
            .args(["ses", "verify", "--online", "--trust"])
            .arg(&root)
            .arg("--trust")
            .arg(&maker_chain)
            .arg(&ses));
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(expect), "{t}");
        t
    };
    let t = online(0);
    assert!(t.contains("seal-status") && t.contains("is active"), "{t}");

    // Seal a PDF: pyHanko accepts it against our root.
    let (s, pdf) = j.sign(&sid, &app_tok);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&pdf));
    let signed = env.path("signed.pdf");
    std::fs::write(&signed, &pdf).unwrap();
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&signed));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("INTACT:TRUSTED"),
        "pyhanko: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // pdfsig (poppler with NSS) trusts it too, with our root in its database.
    let nss = env.path("nss");
    std::fs::create_dir_all(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
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
    let t = String::from_utf8_lossy(
        &run(Command::new("pdfsig").arg("-nssdir").arg(&db).arg(&signed)).stdout,
    )
    .to_string();
    assert!(
        t.contains("Signature is Valid.") && t.contains("Certificate is Trusted."),
        "pdfsig: {t}"
    );
    let (s, v) = j.sign(&sid, &outsider_tok);
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&v));

    // Public status.
    let (s, st) = j.get(&format!("/seal-status?code={code}"), None);
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["state"], "active");
    assert_eq!(st["signs"], true);

    // Report loss: at once on hold in OCSP, in the delta CRL, and in the full CRL within a
    // refresh; signing refused.
    let cert = j.cert_pem(&serial, &admin);
    let issuer = first_cert(&chain);
    let (s, lost) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "report-loss", "reason": "UKey 遗失"}),
    );
    assert_eq!(s, 201, "{lost}");
    let t = j.ocsp(&cert, &issuer, &chain);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("certificateHold"),
        "{t}"
    );
    assert!(j.crl_lists("seal-delta.crl", &serial));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !j.crl_lists("seal.crl", &serial) {
        assert!(
            Instant::now() < deadline,
            "the full CRL did not list the held seal"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (s, v) = j.sign(&sid, &app_tok);
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&v));
    let (_, st) = j.get(&format!("/seal-status?serial={serial}"), None);
    assert_eq!(st["state"], "lost", "{st}");
    // A second loss report does not apply.
    let (s, v) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "report-loss", "reason": "again"}),
    );
    assert_eq!(s, 409, "{v}");
    let lost_id = lost["id"].as_str().unwrap();
    let (s, v) = j.op_event(lost_id, &rev_tok, "approve", 1);
    assert_eq!(s, 200, "{v}");

    // Restore (reviewed): good again, signing works.
    let (s, r) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "restore", "reason": "已找回"}),
    );
    assert_eq!(s, 201, "{r}");
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), &app_tok, "approve", 1);
    assert_eq!(s, 403, "the applicant does not approve their own: {v}");
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), &rev_tok, "approve", 1);
    assert_eq!(s, 200, "{v}");
    let t = j.ocsp(&cert, &issuer, &chain);
    assert!(t.contains("Cert Status: good"), "{t}");
    let (s, _) = j.sign(&sid, &app_tok);
    assert_eq!(s, 200);

    // Reissue: a new certificate under the same code; the old one revoked as superseded.
    let (s, r) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "reissue", "reason": "密钥更换"}),
    );
    assert_eq!(s, 201, "{r}");
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), &rev_tok, "approve", 1);
    assert_eq!(s, 200, "{v}");
    let (_, seal2) = j.get(&format!("/seals/{sid}"), Some(&app_tok));
    let serial2 = seal2["cert_serial"].as_str().unwrap().to_string();
    assert_ne!(serial2, serial);
    assert_eq!(seal2["code"], json!(code));
    let t = j.ocsp(&cert, &issuer, &chain);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("superseded"),
        "{t}"
    );
    let (s, _) = j.sign(&sid, &app_tok);
    assert_eq!(s, 200, "the reissued seal signs");

    // Revoke: dead for good.
    let (s, r) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "revoke", "reason": "单位注销"}),
    );
    assert_eq!(s, 201, "{r}");
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), &rev_tok, "approve", 1);
    assert_eq!(s, 200, "{v}");
    let cert2 = j.cert_pem(&serial2, &admin);
    let t = j.ocsp(&cert2, &issuer, &chain);
    assert!(t.contains("Cert Status: revoked"), "{t}");
    let (s, _) = j.sign(&sid, &app_tok);
    assert_eq!(s, 422);
    let (s, v) = j.post(
        "/seal-operations",
        &app_tok,
        json!({"seal_id": sid, "operation": "report-loss", "reason": "x"}),
    );
    assert_eq!(s, 409, "a revoked seal cannot be reported lost: {v}");
    let (_, st) = j.get(&format!("/seal-status?code={code}"), None);
    assert_eq!(st["state"], "revoked", "{st}");
    assert!(
        st["credential"].as_str().is_some_and(|c| !c.is_empty()),
        "{st}"
    );
    assert!(
        st["qr"].as_str().is_some_and(|q| q.starts_with("SP1:")),
        "{st}"
    );
    let t = online(1);
    assert!(t.contains("is revoked"), "{t}");
    let events: Vec<&str> = st["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["produce", "report-loss", "restore", "reissue", "revoke"]
    );

    // Withdrawing an application gives its name back.
    let mut other = form.clone();
    other["seal_name"] = json!("杭州示例科技有限公司业务专用章");
    other["seal_type"] = json!("business");
    let (s, w) = j.post("/seal-applications", &app_tok, other.clone());
    assert_eq!(s, 201, "{w}");
    let (s, v) = j.event(
        w["id"].as_str().unwrap(),
        &app_tok,
        "withdraw",
        1,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = j.event(w["id"].as_str().unwrap(), &rev_tok, "approve", 2, json!({}));
    assert_eq!(s, 409, "approving a withdrawn application: {v}");
    let (s, v) = j.post("/seal-applications", &app_tok, other);
    assert_eq!(s, 201, "the name is free again: {v}");

    // Expiry: reminders once per threshold, then expired (the sweep run as of later dates).
    let id2 = v["id"].as_str().unwrap().to_string();
    let scan = j.upload_scan(&app_tok);
    for (tok, ev, ver, extra) in [
        (&app_tok, "attach-scan", 1, json!({"attachments": [scan]})),
        (&app_tok, "submit", 2, json!({})),
        (&rev_tok, "approve", 3, json!({})),
    ] {
        let (s, v) = j.event(&id2, tok, ev, ver, extra);
        assert_eq!(s, 200, "{ev}: {v}");
    }
    let (_, seals) = j.get("/seals?scope=applied&state=active", Some(&app_tok));
    let s2 = seals["items"][0].clone();
    let until = s2["valid_until"].as_i64().unwrap();
    let at = |t: i64| rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(t as u64));
    let sweep = |t: i64| {
        let out = ok(
            &run(env.cmd().args(["--json", "seals", "sweep", "--at", &at(t)])),
            "seals sweep",
        );
        serde_json::from_str::<Value>(&out).unwrap()
    };
    assert_eq!(sweep(until - 40 * 86_400)["reminders"], 0);
    assert_eq!(
        sweep(until - 20 * 86_400)["reminders"],
        1,
        "the applicant hears once"
    );
    assert_eq!(sweep(until - 19 * 86_400)["reminders"], 0, "not twice");
    assert_eq!(
        sweep(until - 3 * 86_400)["reminders"],
        1,
        "the 7-day reminder"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, n) = j.get("/notifications", Some(&app_tok));
        let kinds: Vec<&str> = n["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["kind"].as_str()).collect())
            .unwrap_or_default();
        if kinds.iter().filter(|k| **k == "seal.expiring").count() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "reminders not delivered: {n}");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(sweep(until + 60)["expired"], 1);
    assert_eq!(sweep(until + 120)["expired"], 0);
    let (s, _) = j.sign(s2["id"].as_str().unwrap(), &app_tok);
    assert_eq!(s, 422, "an expired seal does not sign");
    let (_, st) = j.get(
        &format!("/seal-status?code={}", s2["code"].as_str().unwrap()),
        None,
    );
    assert_eq!(st["state"], "expired", "{st}");
}

#[test]
fn agency_journey_on_sqlite() {
    journey(&Env::new(EnvOptions {
        self_urls: true,
        extra: "[crl]\nrefresh_seconds = 1\n",
        ..Default::default()
    }));
}

#[test]
fn agency_journey_on_postgres() {
    let Some(url) = pg_database("seals") else {
        return;
    };
    journey(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        self_urls: true,
        extra: "[crl]\nrefresh_seconds = 1\n",
        ..Default::default()
    }));
}

/// The same journey's main path in headless Chromium through the console
/// (`tests/seal_console.py`), with screenshots of each page under the test run.
#[test]
fn chromium_seal_journey() {
    if !chromium::installed() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(&env, &srv, "1390000001");
    w.unified_payment();
    let scan = env.path("scan.png");
    let mut png = Vec::new();
    {
        let mut e = png::Encoder::new(&mut png, 16, 16);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        e.write_header()
            .unwrap()
            .write_image_data(&[220u8; 768])
            .unwrap();
    }
    std::fs::write(&scan, png).unwrap();
    let pdf = env.path("contract.pdf");
    std::fs::write(&pdf, minimal_pdf()).unwrap();
    let sealed = env.path("sealed.pdf");
    let shots = std::env::var_os("SEALPKI_TEST_RUN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-web-test"))
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seal_console.py"))
        .env("BASE", &srv.url)
        .env("SCREENSHOTS", &shots)
        .env("APPLICANT", "13900000011")
        .env("REVIEWER", "13900000012")
        .env("PASSWORD", "a long enough passphrase")
        .env("SCAN", &scan)
        .env("PDF", &pdf)
        .env("OUT", &sealed));
    assert!(
        out.status.success(),
        "seal console flow:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The PDF sealed through the page is intact for pyHanko against our root, and — the seal
    // reported lost after it — its certificate is on hold in our OCSP answer.
    let (_, root) = env.chain("seal");
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&sealed));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("INTACT:REVOKED") && said.contains("certificate hold"),
        "pyhanko: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A production that fails midway — here the platform's maker certificate revoked, so the seal
/// structure cannot be made after the seal's key and certificate exist — leaves nothing usable:
/// the application stays pending-production, no seal row, the key destroyed and unregistered, the
/// certificate revoked (cessationOfOperation, as `openssl ocsp` tells).
#[test]
fn a_failed_production_leaves_nothing_half_made() {
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(&env, &srv, "1390000002");
    w.unified_payment();
    let j = J {
        env: &env,
        srv: &srv,
        api: w.api.clone(),
    };
    let (admin, app_tok, rev_tok) = (&w.admin, &w.applicant_tok, &w.reviewer_tok);
    let (unit, bureau) = (&w.unit, &w.bureau);
    let apply = |name: &str| {
        let (s, a) = j.post(
            "/seal-applications",
            app_tok,
            json!({"org_id": unit, "seal_name": name, "seal_type": "contract", "mode": "cloud",
                   "years": 1, "authority_id": bureau}),
        );
        assert_eq!(s, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        let (_, o) = j.post(
            &format!("/seal-applications/{id}/order"),
            app_tok,
            json!({}),
        );
        let mut version = o["state"].as_str().map_or(1, |_| 2);
        let scan = j.upload_scan(app_tok);
        for (tok, ev, extra) in [
            (&app_tok, "attach-scan", json!({"attachments": [scan]})),
            (&app_tok, "submit", json!({})),
        ] {
            let (s, v) = j.event(&id, tok, ev, version, extra);
            assert_eq!(s, 200, "{ev}: {v}");
            version += 1;
        }
        (id, version)
    };
    // A first seal makes the platform's maker key; then its certificate is revoked.
    let (first, version) = apply("杭州示例科技有限公司合同专用章");
    let (s, v) = j.event(&first, rev_tok, "approve", version, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "complete", "{v}");
    let seal_keys = || {
        let out = ok(&env.sealpki(&["--json", "keys", "list"]), "keys list");
        out.matches("soft:seal-").count()
    };
    let keys_before = seal_keys();
    let (_, makers) = j.get("/certificates?profile=maker-production", Some(admin));
    let maker = makers["items"][0]["serial"].as_str().unwrap().to_string();
    let (s, v) = j.post(
        &format!("/certificates/{maker}/revoke"),
        admin,
        json!({"reason": "keyCompromise"}),
    );
    assert_eq!(s, 200, "{v}");

    let name = "杭州示例科技有限公司业务专用章";
    let (second, version) = apply(name);
    let (s, v) = j.event(&second, rev_tok, "approve", version, json!({}));
    assert_eq!(s, 200, "the approval itself stands: {v}");
    assert_eq!(v["state"], "pending-production", "{v}");
    let (_, seals) = j.get("/seals?scope=applied", Some(app_tok));
    assert_eq!(
        seals["items"].as_array().unwrap().len(),
        1,
        "no second seal: {seals}"
    );
    assert_eq!(
        seal_keys(),
        keys_before,
        "the new key is destroyed and forgotten"
    );
    let (_, certs) = j.get(
        &format!(
            "/certificates?profile=seal-signing&subject={}",
            name.bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        ),
        Some(admin),
    );
    let orphan = certs["items"][0]["serial"].as_str().unwrap().to_string();
    let (chain, _) = env.chain("seal");
    let t = j.ocsp(&j.cert_pem(&orphan, admin), &first_cert(&chain), &chain);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("cessationOfOperation"),
        "{t}"
    );

    // The operators' production page lists it with a button that runs the production again;
    // the platform keys show the maker's certificate revoked.
    let (s, keys) = j.get("/platform-keys", Some(admin));
    assert_eq!(s, 200, "{keys}");
    let maker_key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "platform-maker")
        .unwrap();
    assert_eq!(maker_key["status"], "revoked", "{keys}");
    assert_eq!(maker_key["cert_serial"], json!(maker), "{keys}");
    assert_eq!(maker_key["reason"], "keyCompromise", "{keys}");
    let (s, v) = j.get("/platform-keys", Some(app_tok));
    assert_eq!(s, 403, "applicants do not see the platform keys: {v}");
    let operator = srv.new_staff(admin, "producer", "operator");
    let page = |tok: &str, lang: &str| {
        let r = ureq::get(&format!("{}/seals/production", srv.url))
            .set("Cookie", &format!("sealpki_session={tok}"))
            .set("Accept", "text/html")
            .set("Accept-Language", lang)
            .call();
        match r {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
            Err(e) => panic!("GET /seals/production: {e}"),
        }
    };
    let (s, html) = page(&operator, "zh-CN");
    assert_eq!(s, 200, "{html}");
    assert!(html.contains(name) && html.contains("制作"), "{html}");
    assert!(
        html.contains(&format!("/seal-applications/{second}/event")),
        "a produce button: {html}"
    );
    assert!(html.contains(&maker) && html.contains("已吊销"), "{html}");
    let (s, html) = page(&operator, "en");
    assert_eq!(s, 200);
    assert!(
        html.contains("Platform keys") && html.contains("Revoked"),
        "{html}"
    );
    let (s, _) = page(app_tok, "en");
    assert_eq!(s, 403, "not for applicants");
    let (_, a) = j.get(&format!("/seal-applications/{second}"), Some(admin));
    let r = ureq::post(&format!("{}/seal-applications/{second}/event", srv.url))
        .set("Cookie", &format!("sealpki_session={operator}"))
        .set("Origin", &srv.url)
        .send_form(&[
            ("event", "produce"),
            ("version", &a["version"].to_string()),
            ("next", "/seals/production"),
        ]);
    let (s, body) = match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("produce: {e}"),
    };
    assert!(s >= 400, "producing again fails the same way: {s} {body}");
    let (_, a) = j.get(&format!("/seal-applications/{second}"), Some(admin));
    assert_eq!(a["state"], "pending-production", "{a}");
    let (_, html) = page(&operator, "en");
    assert!(html.contains(name), "still waiting: {html}");
    chromium::session_shots(
        &srv.url,
        &operator,
        &[(
            "seal-production",
            "/seals/production",
            "印章制作",
            "Seal production",
        )],
    );
}

/// A cloud seal of the world's company, applied for, paid by the bureau and approved: its JSON.
fn cloud_seal(j: &J<'_>, w: &SealWorld, name: &str) -> Value {
    let (app_tok, rev_tok) = (&w.applicant_tok, &w.reviewer_tok);
    let (s, a) = j.post(
        "/seal-applications",
        app_tok,
        json!({"org_id": w.unit, "seal_name": name, "seal_type": "contract", "mode": "cloud",
               "years": 1, "authority_id": w.bureau}),
    );
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (_, o) = j.post(
        &format!("/seal-applications/{id}/order"),
        app_tok,
        json!({}),
    );
    let first = o["state"].as_str().map_or(1, |_| 2);
    let scan = j.upload_scan(app_tok);
    for (step, (tok, ev, extra)) in [
        (app_tok, "attach-scan", json!({"attachments": [scan]})),
        (app_tok, "submit", json!({})),
        (rev_tok, "approve", json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let version = first + step as i64;
        let (s, v) = j.event(&id, tok, ev, version, extra);
        assert_eq!(s, 200, "{ev}: {v}");
    }
    let (_, seals) = j.get("/seals?scope=applied", Some(app_tok));
    let seal = seals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no seal {name}: {seals}"));
    assert_eq!(seal["state"], "active", "{seal}");
    seal
}

/// "Seals I manage" for a government body's seal administrator covers the organisations of its
/// region, not only its own subtree (the company of district 330106 lies in the city bureau's
/// region 330100, outside its tree); one of another city's body sees none of them; a company's
/// own seal administrator sees its seals. The API and the console page alike.
#[test]
fn regional_seal_admins_manage_the_seals_of_their_region() {
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(&env, &srv, "1390000007");
    w.unified_payment();
    let j = J {
        env: &env,
        srv: &srv,
        api: w.api.clone(),
    };
    let seal = cloud_seal(&j, &w, "杭州示例科技有限公司合同专用章");
    let code = seal["code"].as_str().unwrap();
    let ningbo = org(
        &j,
        &w.admin,
        "113302000024821541",
        "宁波市数据管理中心",
        "government",
        "330200",
    );
    let (city, city_tok) = register_person(&env, &srv, "13900000073", "33010619800101073");
    let (other, other_tok) = register_person(&env, &srv, "13900000074", "33010619800101074");
    let (own, own_tok) = register_person(&env, &srv, "13900000075", "33010619800101075");
    member(&j, &w.admin, &w.bureau, &city, "seal-admin");
    member(&j, &w.admin, &ningbo, &other, "seal-admin");
    member(&j, &w.admin, &w.unit, &own, "seal-admin");
    let managed = |tok: &str| -> Vec<String> {
        let (s, v) = j.get("/seals?scope=managed", Some(tok));
        assert_eq!(s, 200, "{v}");
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(managed(&city_tok), [code], "the city's seal administrator");
    assert!(managed(&other_tok).is_empty(), "another city's");
    assert_eq!(managed(&own_tok), [code], "the company's own");
    let page = |tok: &str| {
        let r = ureq::get(&format!("{}/seals?scope=managed", srv.url))
            .set("Cookie", &format!("sealpki_session={tok}"))
            .set("Accept", "text/html")
            .call()
            .expect("GET /seals?scope=managed");
        r.into_string().unwrap()
    };
    let html = page(&city_tok);
    assert!(
        html.contains(code) && html.contains("杭州示例科技有限公司合同专用章"),
        "{html}"
    );
    assert!(!page(&other_tok).contains(code));
    // And the policy agrees: the regional administrator reads the seal itself.
    let sid = seal["id"].as_str().unwrap();
    let (s, v) = j.get(&format!("/seals/{sid}"), Some(&city_tok));
    assert_eq!(s, 200, "{v}");
    let (s, v) = j.get(&format!("/seals/{sid}"), Some(&other_tok));
    assert_eq!(s, 403, "{v}");
}

/// Renewal before expiry (seal operation `renew`, reviewed): a new certificate with a new
/// validity, the old one revoked as superseded (`openssl ocsp`), the seal code and picture kept,
/// pyHanko accepts a PDF sealed with the new certificate, and the history lists the renewal.
#[test]
fn renewal_makes_a_new_certificate_and_keeps_the_seal() {
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(&env, &srv, "1390000004");
    w.unified_payment();
    let j = J {
        env: &env,
        srv: &srv,
        api: w.api.clone(),
    };
    let (admin, app_tok, rev_tok) = (&w.admin, &w.applicant_tok, &w.reviewer_tok);
    let old = cloud_seal(&j, &w, "杭州示例科技有限公司合同专用章");
    assert_eq!(old["state"], "active", "{old}");
    let sid = old["id"].as_str().unwrap().to_string();
    let old_serial = old["cert_serial"].as_str().unwrap().to_string();
    let picture = |tok: &str| {
        let (s, b) = get(
            &format!("{}/seals/{sid}/file?part=picture.png", j.api),
            Some(tok),
        );
        assert_eq!(s, 200);
        b
    };
    let old_picture = picture(app_tok);
    let old_cert = j.cert_pem(&old_serial, admin);
    // The certificate's own dates, as openssl reads them.
    let dates = |p: &Path| {
        ok(
            &run(Command::new("openssl")
                .args(["x509", "-noout", "-startdate", "-enddate", "-in"])
                .arg(p)),
            "openssl x509",
        )
    };
    let old_dates = dates(&old_cert);
    // The validity's start moves on with the renewal; a second apart at least.
    std::thread::sleep(Duration::from_millis(1100));

    let (s, r) = j.post(
        "/seal-operations",
        app_tok,
        json!({"seal_id": sid, "operation": "renew", "reason": "有效期将满"}),
    );
    assert_eq!(s, 201, "{r}");
    let (_, still) = j.get(&format!("/seals/{sid}"), Some(app_tok));
    assert_eq!(
        still["cert_serial"],
        json!(old_serial),
        "nothing changes before the review"
    );
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), app_tok, "approve", 1);
    assert_eq!(s, 403, "the applicant does not approve their own: {v}");
    let (s, v) = j.op_event(r["id"].as_str().unwrap(), rev_tok, "approve", 1);
    assert_eq!(s, 200, "{v}");

    let (_, new) = j.get(&format!("/seals/{sid}"), Some(app_tok));
    assert_eq!(new["state"], "active", "{new}");
    assert_eq!(new["code"], old["code"], "the seal code is kept");
    assert_eq!(new["name"], old["name"]);
    let new_serial = new["cert_serial"].as_str().unwrap().to_string();
    assert_ne!(new_serial, old_serial, "a new certificate");
    assert!(
        new["valid_from"].as_i64().unwrap() > old["valid_from"].as_i64().unwrap()
            && new["valid_until"].as_i64().unwrap() > old["valid_until"].as_i64().unwrap(),
        "a new validity: {old} → {new}"
    );
    assert_eq!(picture(app_tok), old_picture, "the picture is kept");
    let new_cert = j.cert_pem(&new_serial, admin);
    assert_ne!(
        dates(&new_cert),
        old_dates,
        "the certificate's dates are new"
    );

    // The old certificate superseded, the new one good.
    let (chain, root) = env.chain("seal");
    let issuer = first_cert(&chain);
    let t = j.ocsp(&old_cert, &issuer, &chain);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("superseded"),
        "{t}"
    );
    let t = j.ocsp(&new_cert, &issuer, &chain);
    assert!(t.contains("Cert Status: good"), "{t}");

    // A PDF sealed now carries the new certificate, and pyHanko trusts it.
    let (s, pdf) = j.sign(&sid, app_tok);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&pdf));
    let signed = env.path("renewed.pdf");
    std::fs::write(&signed, &pdf).unwrap();
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&signed));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("INTACT:TRUSTED"), "pyhanko: {said}");
    // The signature's CMS carries the renewed certificate (openssl reads it from /Contents).
    let text = String::from_utf8_lossy(&pdf).to_string();
    let at = text.rfind("/Contents <").expect("a signature's /Contents") + "/Contents <".len();
    let hex_end = at + text[at..].find('>').unwrap();
    let padded = hex::decode(&text[at..hex_end]).unwrap();
    // The DER's own length (the gap is padded with zeros after it).
    let len = match padded[1] {
        n if n < 0x80 => 2 + n as usize,
        n => {
            let k = (n & 0x7f) as usize;
            2 + k
                + padded[2..2 + k]
                    .iter()
                    .fold(0usize, |a, b| a * 256 + *b as usize)
        }
    };
    let cms = &padded[..len];
    let cms_file = env.path("renewed.p7s");
    std::fs::write(&cms_file, cms).unwrap();
    let certs = ok(
        &run(Command::new("openssl")
            .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
            .arg(&cms_file)),
        "openssl pkcs7",
    );
    let body = |pem: &str| -> String {
        pem.lines()
            .filter(|l| !l.starts_with("-----") && !l.contains(':') && !l.trim().is_empty())
            .collect()
    };
    let new_pem = std::fs::read_to_string(&new_cert).unwrap();
    let old_pem = std::fs::read_to_string(&old_cert).unwrap();
    assert!(body(&certs).contains(&body(&new_pem)), "{certs}");
    assert!(!body(&certs).contains(&body(&old_pem)), "{certs}");

    // The history lists it.
    let (_, h) = j.get(&format!("/seals/{sid}/history"), Some(app_tok));
    let events: Vec<&str> = h
        .as_array()
        .expect("history entries")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(events, ["produce", "renew"], "{h}");
    assert_eq!(h[1]["cert_serial"], json!(new_serial), "{h}");
}

/// A hand-drawn personal name seal through the console (`tests/seal_drawing.py`: the drawing pad
/// drawn on with synthetic touches on a phone and the mouse on a desktop, screenshots of both),
/// approved here; the produced seal's picture has seal-red ink where the stroke crossed the pad —
/// a horizontal line through the middle — and none above or below it.
#[test]
fn chromium_hand_drawn_name_seal() {
    if !chromium::installed() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let env = Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(&env, &srv, "1390000008");
    w.unified_payment();
    let j = J {
        env: &env,
        srv: &srv,
        api: w.api.clone(),
    };
    let scan = env.path("scan.png");
    let mut png_bytes = Vec::new();
    {
        let mut e = png::Encoder::new(&mut png_bytes, 16, 16);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        e.write_header()
            .unwrap()
            .write_image_data(&[220u8; 768])
            .unwrap();
    }
    std::fs::write(&scan, png_bytes).unwrap();
    let shots = std::env::var_os("SEALPKI_TEST_RUN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-web-test"))
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seal_drawing.py"))
        .env("BASE", &srv.url)
        .env("SCREENSHOTS", &shots)
        .env("APPLICANT", "13900000081")
        .env("PASSWORD", "a long enough passphrase")
        .env("SCAN", &scan));
    assert!(
        out.status.success(),
        "drawing flow:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (s, a) = j.get(&format!("/seal-applications/{id}"), Some(&w.applicant_tok));
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["seal_type"], "personal", "{a}");
    let drawing = a["data"]["picture_file"].as_str().unwrap().to_string();
    let (s, f) = j.get(&format!("/files/{drawing}"), Some(&w.applicant_tok));
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["purpose"], "signature-drawing", "{f}");
    let (s, v) = j.event(
        &id,
        &w.reviewer_tok,
        "approve",
        a["version"].as_i64().unwrap(),
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "complete", "{v}");
    let (_, seals) = j.get("/seals?scope=applied", Some(&w.applicant_tok));
    let seal = &seals["items"][0];
    assert_eq!(seal["seal_type"], "personal", "{seal}");
    let (s, pic) = get(
        &format!(
            "{}/seals/{}/file?part=picture.png",
            j.api,
            seal["id"].as_str().unwrap()
        ),
        Some(&w.applicant_tok),
    );
    assert_eq!(s, 200);
    let dec = png::Decoder::new(std::io::Cursor::new(pic));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "a transparent picture"
    );
    let (wd, ht) = (info.width as usize, info.height as usize);
    let px = |x: usize, y: usize| {
        let i = (y * wd + x) * 4;
        [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
    };
    // Seal red (more red than green or blue) and opaque along the stroke …
    for fx in [0.3, 0.5, 0.7] {
        let p = px((wd as f64 * fx) as usize, ht / 2);
        assert!(
            p[3] > 128 && p[0] > 150 && p[1] < 80 && p[2] < 80,
            "ink at {fx} of the width: {p:?}"
        );
    }
    // … and nothing above, below or beside it.
    for (fx, fy) in [(0.5, 0.2), (0.5, 0.8), (0.05, 0.5), (0.95, 0.5), (0.1, 0.1)] {
        let p = px((wd as f64 * fx) as usize, (ht as f64 * fy) as usize);
        assert!(p[3] < 16, "no ink at ({fx}, {fy}): {p:?}");
    }
}

/// A process killed between a seal's key and its record (a crash point right after the
/// certificate is issued) leaves a trail: at the next start the sweep revokes the certificate
/// (openssl ocsp: cessationOfOperation), destroys the key and forgets the production; the
/// application is still pending production, and producing it again makes the seal.
#[test]
fn a_crash_mid_production_is_undone_at_the_next_start() {
    let env = Env::new(EnvOptions {
        self_urls: true,
        extra: "[seals]\nproduction_grace_seconds = 1\n",
        ..Default::default()
    });
    env.init_dev();
    let mut srv = env.serve_with(&[("SEALPKI_FAILPOINT", "seal-production-certified")]);
    let w = seal_world(&env, &srv, "1390000003");
    w.unified_payment();
    let api = w.api.clone();
    let (admin, app_tok, rev_tok) = (
        w.admin.clone(),
        w.applicant_tok.clone(),
        w.reviewer_tok.clone(),
    );
    let name = "杭州示例科技有限公司合同专用章";
    let (id, version) = {
        let j = J {
            env: &env,
            srv: &srv,
            api: api.clone(),
        };
        let (s, a) = j.post(
            "/seal-applications",
            &app_tok,
            json!({"org_id": w.unit, "seal_name": name, "seal_type": "contract", "mode": "cloud",
                   "years": 1, "authority_id": w.bureau}),
        );
        assert_eq!(s, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        let (_, o) = j.post(
            &format!("/seal-applications/{id}/order"),
            &app_tok,
            json!({}),
        );
        let mut version = o["state"].as_str().map_or(1, |_| 2);
        let scan = j.upload_scan(&app_tok);
        for (ev, extra) in [
            ("attach-scan", json!({"attachments": [scan]})),
            ("submit", json!({})),
        ] {
            let (s, v) = j.event(&id, &app_tok, ev, version, extra);
            assert_eq!(s, 200, "{ev}: {v}");
            version += 1;
        }
        (id, version)
    };
    let keys_dir = env.path("keys");
    let seal_key_files = || {
        std::fs::read_dir(&keys_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("seal-"))
            .count()
    };
    // The approval produces the seal at once; the process dies right after the certificate.
    let before = seal_key_files();
    let r = ureq::post(&format!("{api}/seal-applications/{id}/events"))
        .set("Authorization", &format!("Bearer {rev_tok}"))
        .set("Content-Type", "application/json")
        .send_string(&json!({"event": "approve", "version": version}).to_string());
    assert!(
        matches!(r, Err(ureq::Error::Transport(_))),
        "the server died mid-production"
    );
    let status = srv.child.wait().unwrap();
    assert!(!status.success(), "aborted: {status:?}");
    assert_eq!(
        seal_key_files(),
        before + 1,
        "the crash left the new key behind"
    );
    // Past production_grace_seconds, in whole seconds as stored.
    std::thread::sleep(Duration::from_millis(2100));

    let srv = env.serve();
    let j = J {
        env: &env,
        srv: &srv,
        api: api.clone(),
    };
    // The sweep runs at start (and then every expiry_check_seconds).
    let (_, a) = j.get(&format!("/seal-applications/{id}"), Some(&app_tok));
    assert_eq!(a["state"], "pending-production", "{a}");
    let (_, seals) = j.get("/seals?scope=applied", Some(&app_tok));
    assert_eq!(
        seals["items"].as_array().unwrap().len(),
        0,
        "no seal: {seals}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while seal_key_files() != before {
        assert!(
            Instant::now() < deadline,
            "the orphan key was not destroyed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, certs) = j.get(
        &format!(
            "/certificates?profile=seal-signing&subject={}",
            name.bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        ),
        Some(&admin),
    );
    let orphan = certs["items"][0]["serial"].as_str().unwrap().to_string();
    let (chain, _) = env.chain("seal");
    let t = j.ocsp(&j.cert_pem(&orphan, &admin), &first_cert(&chain), &chain);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("cessationOfOperation"),
        "{t}"
    );
    let out = ok(&env.sealpki(&["audit", "verify"]), "audit verify");
    assert!(!out.is_empty());

    // Production again, by platform staff: a new key and certificate, the seal made.
    let version = a["version"].as_i64().unwrap();
    let (s, v) = j.event(&id, &admin, "produce", version, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "complete", "{v}");
    let (_, seals) = j.get("/seals?scope=applied", Some(&app_tok));
    assert_eq!(seals["items"][0]["state"], "active", "{seals}");
    assert_eq!(seal_key_files(), before + 1);
    let (s, pdf) = j.sign(seals["items"][0]["id"].as_str().unwrap(), &app_tok);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&pdf));
}
