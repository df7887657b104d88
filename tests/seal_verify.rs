//! The PDF verifiers asked to check online (国办发〔2025〕33号): a PDF sealed with a cloud seal is
//! checked against the seal status of the platform that issued the seal — `sealpki pdf verify
//! --online`, `POST /api/v1/pdf/verify?online=true` and the public portal's "check the seal's
//! status online" box — as active, then, the seal reported lost, as lost and the signature invalid,
//! then, restored, active again; without the box nothing is asked. Headless Chromium screenshots
//! of the portal's report (phone and desktop, zh-CN and English).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(120))
        .build()
}

fn body_of(r: Result<ureq::Response, ureq::Error>, what: &str) -> (u16, Option<String>, String) {
    let resp = match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{what}: {e}"),
    };
    let location = resp.header("location").map(str::to_string);
    (
        resp.status(),
        location,
        resp.into_string().unwrap_or_default(),
    )
}

/// Upload `pdf` to the portal (with the online box ticked or not); the report's id.
fn portal_upload(base: &str, pdf: &[u8], online: bool) -> String {
    let boundary = "----sealpki-seal-verify-5c1e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sealed.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(pdf);
    body.extend_from_slice(b"\r\n");
    if online {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"online\"\r\n\r\non\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let (s, loc, b) = body_of(
        agent()
            .post(&format!("{base}/verify/upload"))
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send_bytes(&body),
        "POST /verify/upload",
    );
    assert_eq!(s, 303, "{b}");
    loc.unwrap()
        .strip_prefix("/verify/report/")
        .unwrap()
        .to_string()
}

fn portal_report(base: &str, id: &str, lang: &str) -> String {
    let (s, _, b) = body_of(
        agent()
            .get(&format!("{base}/verify/report/{id}"))
            .set("Accept-Language", lang)
            .call(),
        "GET report",
    );
    assert_eq!(s, 200, "{b}");
    b
}

use common::chromium::{screenshots_dir, shot as chromium_shot};

fn journey(env: &Env, prefix: &str, screenshots: bool) {
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(env, &srv, prefix);
    w.unified_payment();
    let api = &w.api;
    let (app_tok, rev_tok) = (&w.applicant_tok, &w.reviewer_tok);
    let p = |path: &str, tok: &str, body: Value| {
        let (s, v, _) = post(&format!("{api}{path}"), Some(tok), &body.to_string());
        (s, v)
    };

    // A cloud contract seal, through review.
    let (s, a) = p(
        "/seal-applications",
        app_tok,
        json!({"org_id": w.unit, "seal_name": "杭州示例科技有限公司合同专用章",
               "seal_type": "contract", "mode": "cloud", "years": 1, "authority_id": w.bureau}),
    );
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (_, o) = p(
        &format!("/seal-applications/{id}/order"),
        app_tok,
        json!({}),
    );
    let first = o["state"].as_str().map_or(1, |_| 2);
    let scan = upload_scan(api, app_tok);
    for (step, (tok, ev, extra)) in [
        (app_tok, "attach-scan", json!({"attachments": [scan]})),
        (app_tok, "submit", json!({})),
        (rev_tok, "approve", json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let version = first + step as i64;
        let mut body = json!({"event": ev, "version": version});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                body[k] = v.clone();
            }
        }
        let (s, v) = p(&format!("/seal-applications/{id}/events"), tok, body);
        assert_eq!(s, 200, "{ev}: {v}");
    }
    let (_, seals) = get(&format!("{api}/seals?scope=applied"), Some(app_tok));
    let seals: Value = serde_json::from_slice(&seals).unwrap();
    let seal = &seals["items"][0];
    assert_eq!(seal["state"], "active", "{seals}");
    let sid = seal["id"].as_str().unwrap().to_string();
    let code = seal["code"].as_str().unwrap().to_string();

    // Seal a PDF with it.
    let resp = ureq::post(&format!("{api}/seals/{sid}/sign?page=1&x_mm=100&y_mm=120"))
        .set("Authorization", &format!("Bearer {app_tok}"))
        .set("Content-Type", "application/pdf")
        .send_bytes(&minimal_pdf())
        .expect("sign");
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut pdf).unwrap();
    let signed = env.path("sealed.pdf");
    std::fs::write(&signed, &pdf).unwrap();
    let (_, root) = env.chain("seal");

    let cli = |online: bool, expect: i32| {
        let mut c = env.cmd();
        c.args(["pdf", "verify", "--trust"]).arg(&root).arg(&signed);
        if online {
            c.arg("--online");
        }
        let out = run(&mut c);
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(expect), "{t}");
        t
    };
    let api_verify = |online: bool| -> Value {
        let q = if online { "?online=true" } else { "" };
        let (s, _, b) = body_of(
            agent()
                .post(&format!("{api}/pdf/verify{q}"))
                .set("Content-Type", "application/pdf")
                .send_bytes(&pdf),
            "POST /pdf/verify",
        );
        assert_eq!(s, 200, "{b}");
        serde_json::from_str(&b).unwrap()
    };
    let seal_check = |r: &Value| -> Option<Value> {
        r["signatures"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "seal-status")
            .cloned()
    };

    // Active: valid online, and the answer is in every report.
    let t = cli(true, 0);
    assert!(
        t.contains("seal-status") && t.contains(&format!("seal {code} is active")),
        "{t}"
    );
    let t = cli(false, 0);
    assert!(!t.contains("seal-status"), "not asked offline: {t}");
    let r = api_verify(true);
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(seal_check(&r).unwrap()["state"], "pass", "{r}");
    assert!(seal_check(&api_verify(false)).is_none());
    let (s, _, b) = body_of(
        agent()
            .post(&format!("{api}/pdf/verify?online=maybe"))
            .set("Content-Type", "application/pdf")
            .send_bytes(&pdf),
        "POST /pdf/verify?online=maybe",
    );
    assert_eq!(s, 400, "a bad flag is refused: {b}");
    let rid = portal_upload(&srv.url, &pdf, true);
    let page = portal_report(&srv.url, &rid, "zh-CN");
    assert!(
        page.contains("印章状态（在线查询）") && page.contains("正常"),
        "{page}"
    );
    let page = portal_report(&srv.url, &portal_upload(&srv.url, &pdf, false), "zh-CN");
    assert!(!page.contains("印章状态（在线查询）"), "not asked: {page}");
    let (s, _, form) = body_of(
        agent()
            .get(&format!("{}/verify", srv.url))
            .set("Accept-Language", "zh-CN")
            .call(),
        "GET /verify",
    );
    assert_eq!(s, 200);
    assert!(
        form.contains("name=\"online\"") && form.contains("在线查询印章状态"),
        "{form}"
    );
    if screenshots {
        let dir = screenshots_dir();
        chromium_shot(
            &srv.url,
            "/verify",
            "zh-CN",
            (390, 844),
            &dir.join("seal-verify-form-phone-zh-CN.png"),
        );
        chromium_shot(
            &srv.url,
            &format!("/verify/report/{rid}"),
            "zh-CN",
            (390, 1600),
            &dir.join("seal-verify-active-phone-zh-CN.png"),
        );
    }

    // Reported lost: the online check says lost, the signature is invalid.
    let (s, lost) = p(
        "/seal-operations",
        app_tok,
        json!({"seal_id": sid, "operation": "report-loss", "reason": "遗失"}),
    );
    assert_eq!(s, 201, "{lost}");
    let t = cli(true, 1);
    assert!(t.contains(&format!("seal {code} is lost")), "{t}");
    assert!(t.contains("INVALID"), "{t}");
    let r = api_verify(true);
    assert_eq!(r["verdict"], "invalid", "{r}");
    assert_eq!(r["signatures"][0]["verdict"], "invalid", "{r}");
    assert_eq!(seal_check(&r).unwrap()["state"], "fail", "{r}");
    assert!(
        r["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("is lost")),
        "{r}"
    );
    let rid = portal_upload(&srv.url, &pdf, true);
    let page = portal_report(&srv.url, &rid, "en");
    assert!(
        page.contains("Seal status (online)") && page.contains("Reported lost"),
        "{page}"
    );
    assert!(page.contains("verdict-invalid"), "{page}");
    let page = portal_report(&srv.url, &rid, "zh-CN");
    assert!(page.contains("已挂失"), "{page}");
    if screenshots {
        let dir = screenshots_dir();
        let path = format!("/verify/report/{rid}");
        chromium_shot(
            &srv.url,
            &path,
            "zh-CN",
            (390, 1600),
            &dir.join("seal-verify-lost-phone-zh-CN.png"),
        );
        chromium_shot(
            &srv.url,
            &path,
            "zh-CN",
            (1280, 1400),
            &dir.join("seal-verify-lost-desktop-zh-CN.png"),
        );
        chromium_shot(
            &srv.url,
            &path,
            "en",
            (1280, 1400),
            &dir.join("seal-verify-lost-desktop-en.png"),
        );
    }
    let (s, v) = p(
        &format!("/seal-operations/{}/events", lost["id"].as_str().unwrap()),
        rev_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(s, 200, "{v}");

    // Restored: active again.
    let (s, r) = p(
        "/seal-operations",
        app_tok,
        json!({"seal_id": sid, "operation": "restore", "reason": "已找回"}),
    );
    assert_eq!(s, 201, "{r}");
    let (s, v) = p(
        &format!("/seal-operations/{}/events", r["id"].as_str().unwrap()),
        rev_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(s, 200, "{v}");
    let t = cli(true, 0);
    assert!(t.contains(&format!("seal {code} is active")), "{t}");
    assert_eq!(api_verify(true)["verdict"], "valid");
    let page = portal_report(&srv.url, &portal_upload(&srv.url, &pdf, true), "en");
    assert!(
        page.contains("Seal status (online)") && page.contains(">Active<"),
        "{page}"
    );
}

#[test]
fn pdf_verifiers_check_the_seal_status_online_on_sqlite() {
    let chromium = chromium::installed();
    if !chromium {
        eprintln!("chromium is not installed (scripts/test.sh installs it): no screenshots");
    }
    journey(
        &Env::new(EnvOptions {
            self_urls: true,
            ..Default::default()
        }),
        "1390000005",
        chromium,
    );
}

#[test]
fn pdf_verifiers_check_the_seal_status_online_on_postgres() {
    let Some(url) = pg_database("sealverify") else {
        return;
    };
    journey(
        &Env::new(EnvOptions {
            db: Db::Postgres(url),
            self_urls: true,
            ..Default::default()
        }),
        "1390000006",
        false,
    );
}
