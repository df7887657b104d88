//! The apps' signing API (issue 13) over HTTP on SQLite and PostgreSQL, every request signed by
//! the docs' script (`scripts/app_request.py --dry-run` makes the headers; the test sends them):
//! keyword look-up; a raw PDF sealed at a position; several placements in one signature
//! (coordinates, a keyword's second occurrence, a cross-page seal over the odd pages) through
//! multipart — pdfsig, pyHanko and qpdf read the results; evidence by document hash; an
//! Idempotency-Key retry gets the same bytes and seals once; bad input (no placement, a keyword
//! not found, a page out of range, a broken PDF) seals nothing; a lost seal and a withdrawn
//! grant refuse with their reason; usage per day counts what was sealed.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Annotations per page, from qpdf's JSON (its pages in order, each page object's /Annots).
fn widgets_per_page(file: &Path) -> Vec<usize> {
    let out = run(Command::new("qpdf")
        .args(["--json=2", "--json-key=pages", "--json-key=qpdf"])
        .arg(file));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let objects = &v["qpdf"][1];
    let get = |r: &str| &objects[format!("obj:{r}")]["value"];
    v["pages"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| {
            let page = get(p["object"].as_str().unwrap_or(""));
            let annots = match &page["/Annots"] {
                Value::String(r) => get(r),
                other => other,
            };
            annots.as_array().map_or(0, Vec::len)
        })
        .collect()
}

fn journey(env: &Env, prefix: &str) {
    env.init_dev();
    let srv = env.serve();
    let aw = app_world(env, &srv, prefix, json!({}));
    let AppWorld {
        w,
        api,
        sa_tok,
        seal,
        app,
        c,
        ..
    } = &aw;
    let pdf = text_pdf(&[
        vec![(72.0, 760.0, "Contract page 1")],
        vec![
            (72.0, 760.0, "Contract page 2"),
            (100.0, 300.0, "Seal here"),
            (350.0, 200.0, "Seal here"),
        ],
        vec![
            (72.0, 760.0, "Contract page 3"),
            (300.0, 150.0, "Seal here"),
        ],
    ]);
    let raw = [("Content-Type", "application/pdf")];

    // Not authorized yet: refused with the reason.
    let a = c.call(
        "POST",
        &format!("/app/seal?seal_id={seal}&x_mm=150&y_mm=250"),
        &pdf,
        &raw,
    );
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("no-grant"), "{}", a.text());
    let (s, v) = api_post(
        api,
        "/app-grants",
        sa_tok,
        json!({"app_id": app, "seal_ids": [seal], "valid_until": now() + 30 * 86_400}),
    );
    assert!(s == 200 || s == 201, "{v}");

    // Keywords: every occurrence, or one page's.
    let a = c.call("POST", "/app/keywords?keyword=Seal%20here", &pdf, &raw);
    assert_eq!(a.status, 200, "{}", a.text());
    let pages: Vec<i64> = a.json()["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["page"].as_i64().unwrap())
        .collect();
    assert_eq!(pages, [2, 2, 3], "{}", a.text());
    let a = c.call(
        "POST",
        "/app/keywords?keyword=Seal%20here&page=3",
        &pdf,
        &raw,
    );
    assert_eq!(a.json()["occurrences"].as_array().unwrap().len(), 1);
    let a = c.call("POST", "/app/keywords?keyword=Nowhere", &pdf, &raw);
    assert_eq!(a.status, 200);
    assert!(a.json()["occurrences"].as_array().unwrap().is_empty());
    let a = c.call("POST", "/app/keywords?keyword=x&page=9", &pdf, &raw);
    assert_eq!(a.status, 400, "{}", a.text());

    // A raw PDF sealed at a position.
    let a = c.call(
        "POST",
        &format!("/app/seal?seal_id={seal}&x_mm=150&y_mm=250"),
        &pdf,
        &raw,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("application/pdf"));
    let one = env.path("one.pdf");
    std::fs::write(&one, &a.body).unwrap();
    pdfsig_ok(env, &one, 1);
    assert_eq!(widgets_per_page(&one), [1, 0, 0]);
    let sha = a.header("x-sealpki-sha256").unwrap().to_string();
    assert_eq!(sha, sealpki_pki::alg::sha256_hex(&a.body));
    let e = c.call("GET", &format!("/app/evidence/{sha}"), b"", &[]);
    assert_eq!(e.status, 200, "{}", e.text());
    let ev = &e.json()[0];
    assert_eq!(ev["app_id"], app.as_str());
    assert_eq!(ev["seal_id"], seal.as_str());
    assert_eq!(ev["input_sha256"], sealpki_pki::alg::sha256_hex(&pdf));
    assert_eq!(ev["id"], a.header("x-sealpki-evidence").unwrap());
    assert!(
        ev["client"].as_str().unwrap().starts_with("127.0.0.1"),
        "{ev}"
    );
    // The original's hash finds it too; an unknown hash is a 404, a bad one a 400.
    let e = c.call(
        "GET",
        &format!("/app/evidence/{}", sealpki_pki::alg::sha256_hex(&pdf)),
        b"",
        &[],
    );
    assert_eq!(e.status, 200);
    let e = c.call(
        "GET",
        &format!("/app/evidence/{}", "0".repeat(64)),
        b"",
        &[],
    );
    assert_eq!(e.status, 404, "{}", e.text());
    let e = c.call("GET", "/app/evidence/xyz", b"", &[]);
    assert_eq!(e.status, 400, "{}", e.text());

    // Several placements in one signature (multipart): a position on page 1, the second
    // "Seal here" (page 2), a cross-page seal over the odd pages (1 and 3).
    let request = json!({"seal_id": seal, "placements": [
        {"kind": "at", "page": 1, "x_mm": 60, "y_mm": 200},
        {"kind": "keyword", "text": "Seal here", "occurrence": 2},
        {"kind": "cross-page", "pages": "odd", "y_mm": 150}]});
    let (ct, body) = multipart(&pdf, &request);
    let a = c.call("POST", "/app/seal", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 200, "{}", a.text());
    let many = env.path("many.pdf");
    std::fs::write(&many, &a.body).unwrap();
    // One signature; each further widget is a field of its own sharing its value (pdfsig
    // lists each).
    pdfsig_ok(env, &many, 4);
    assert_eq!(widgets_per_page(&many), [2, 1, 1]);

    // Idempotency-Key: the retry gets the same bytes and nothing is sealed again.
    let key = [
        ("Content-Type", "application/pdf"),
        ("Idempotency-Key", "order-2026-0001"),
    ];
    let path = format!("/app/seal?seal_id={seal}&keyword=Seal%20here&occurrence=3&level=b-t");
    let first = c.call("POST", &path, &pdf, &key);
    assert_eq!(first.status, 200, "{}", first.text());
    let again = c.call("POST", &path, &pdf, &key);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.body, first.body, "the same bytes");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("x-sealpki-evidence"),
        first.header("x-sealpki-evidence")
    );
    let timestamped = env.path("timestamped.pdf");
    std::fs::write(&timestamped, &first.body).unwrap();
    pdfsig_ok(env, &timestamped, 1);
    assert_eq!(widgets_per_page(&timestamped), [0, 0, 1]);
    let other = c.call("POST", &format!("{path}&size_mm=30"), &pdf, &key);
    assert_eq!(
        other.status,
        422,
        "the key with another request: {}",
        other.text()
    );

    // Replays of sealings. A sealing's nonce is taken by its own record, and on any other
    // outcome by the handler: a sealed request, a refused one and an idempotent one, each sent
    // again with the same signed headers, are refused as replays and seal nothing.
    let raw = [("Content-Type", "application/pdf")];
    let replay = |path: &str, extra: &[(&str, &str)], want: u16| {
        let signed = c.sign("POST", path, &pdf);
        let first = c.send("POST", path, &signed, &pdf, extra);
        assert_eq!(first.status, want, "{path}: {}", first.text());
        let again = c.send("POST", path, &signed, &pdf, extra);
        assert_eq!(again.status, 401, "{path} replayed: {}", again.text());
        assert!(again.text().contains("replay"), "{}", again.text());
        assert!(again.text().contains("bad-signature"), "{}", again.text());
    };
    replay(
        &format!("/app/seal?seal_id={seal}&x_mm=100&y_mm=100"),
        &raw,
        200,
    );
    replay(&format!("/app/seal?seal_id={seal}"), &raw, 400);
    replay(&path, &key, 200);

    // Bad input seals nothing and says what is wrong.
    let u = c.call("GET", "/app/usage?days=1", b"", &[]);
    assert_eq!(u.status, 200, "{}", u.text());
    let count = |u: &Answer| -> i64 {
        u.json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["seal_id"] == seal.as_str())
            .map(|r| r["count"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        count(&u),
        4,
        "four sealings (none by a replay): {}",
        u.text()
    );
    for (path, body, want, says) in [
        (
            format!("/app/seal?seal_id={seal}"),
            pdf.clone(),
            400,
            "placement",
        ),
        (
            format!("/app/seal?seal_id={seal}&keyword=Nowhere"),
            pdf.clone(),
            400,
            "found 0",
        ),
        (
            format!("/app/seal?seal_id={seal}&page=7&x_mm=10&y_mm=10"),
            pdf.clone(),
            400,
            "3 page",
        ),
        (
            format!("/app/seal?seal_id={seal}&x_mm=900&y_mm=10"),
            pdf.clone(),
            400,
            "outside",
        ),
        (
            format!("/app/seal?seal_id={seal}&cross_page=2"),
            pdf.clone(),
            400,
            "two pages",
        ),
        (
            format!("/app/seal?seal_id={seal}&x_mm=10&y_mm=10"),
            b"%PDF-1.7 broken".to_vec(),
            400,
            "",
        ),
        (
            format!("/app/seal?seal_id={seal}&x_mm=10&y_mm=10&level=b-z"),
            pdf.clone(),
            400,
            "level",
        ),
        (
            "/app/seal?seal_id=nosuchseal&x_mm=10&y_mm=10".to_string(),
            pdf.clone(),
            404,
            "nosuchseal",
        ),
    ] {
        let a = c.call("POST", &path, &body, &raw);
        assert_eq!(a.status, want, "{path}: {}", a.text());
        assert!(a.text().contains(says), "{path}: {}", a.text());
        assert_eq!(
            a.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let (ct, body) = multipart(&pdf, &json!({"seal_id": seal, "placements": []}));
    let a = c.call("POST", "/app/seal", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 400, "{}", a.text());
    let u = c.call("GET", "/app/usage?days=1", b"", &[]);
    assert_eq!(count(&u), 4, "nothing sealed by bad requests: {}", u.text());

    // A lost seal refuses every sealing at once; restored, it works again. The sealing just
    // before the loss leaves its in-force answer kept (`apps/in_force.rs`), so the refusal
    // comes from the commit's own check, with the reason read fresh and nothing recorded.
    let a = c.call(
        "POST",
        &format!("/app/seal?seal_id={seal}&x_mm=100&y_mm=100"),
        &pdf,
        &raw,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let (s, lost) = api_post(
        api,
        "/seal-operations",
        &w.applicant_tok,
        json!({"seal_id": seal, "operation": "report-loss", "reason": "遗失"}),
    );
    assert_eq!(s, 201, "{lost}");
    let at = format!("/app/seal?seal_id={seal}&x_mm=100&y_mm=100");
    let a = c.call("POST", &at, &pdf, &raw);
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("seal-lost"), "{}", a.text());
    let u = c.call("GET", "/app/usage?days=1", b"", &[]);
    assert_eq!(
        count(&u),
        5,
        "the refused sealing counted nothing: {}",
        u.text()
    );
    let lost_id = lost["id"].as_str().unwrap();
    let (s, v) = api_post(
        api,
        &format!("/seal-operations/{lost_id}/events"),
        &w.reviewer_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, r) = api_post(
        api,
        "/seal-operations",
        &w.applicant_tok,
        json!({"seal_id": seal, "operation": "restore", "reason": "已找回"}),
    );
    assert_eq!(s, 201, "{r}");
    let (s, v) = api_post(
        api,
        &format!("/seal-operations/{}/events", r["id"].as_str().unwrap()),
        &w.reviewer_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(s, 200, "{v}");
    let a = c.call("POST", &at, &pdf, &raw);
    assert_eq!(a.status, 200, "restored: {}", a.text());

    // Withdrawn: refused with the reason.
    let (s, v) = api_post(
        api,
        "/app-grants/withdraw",
        sa_tok,
        json!({"app_id": app, "seal_ids": [seal], "reason": "合同到期"}),
    );
    assert!(s == 200 || s == 201, "{v}");
    let a = c.call("POST", &at, &pdf, &raw);
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("grant"), "{}", a.text());

    // The owner's page: the day's sealings by seal name, the latest sealings with evidence ids.
    let r = ureq::get(&format!("{}/apps/{app}", srv.url))
        .set(
            "Cookie",
            &format!("sealpki_session={}; lang=zh-CN", w.applicant_tok),
        )
        .set("Accept", "text/html")
        .call()
        .expect("the app's page");
    let html = r.into_string().unwrap();
    assert!(
        html.contains("盖章用量") && html.contains("杭州示例科技有限公司合同专用章"),
        "{html}"
    );
    assert!(
        html.contains(first.header("x-sealpki-evidence").unwrap()),
        "{html}"
    );
    if matches!(env.db, Db::Sqlite) {
        chromium::session_shots(
            &srv.url,
            &w.applicant_tok,
            &[(
                "app-usage",
                &format!("/apps/{app}"),
                "合同管理系统",
                "合同管理系统",
            )],
        );
    }

    // The audit chain has every sealing with the app, the seal and the hashes.
    let log = audit_log(env);
    let sealings: Vec<_> = log
        .iter()
        .filter(|(_, action, d)| action == "pdf.sign" && d["app"] == app.as_str())
        .collect();
    assert_eq!(sealings.len(), 6, "six sealings audited, none refused");
    assert!(sealings
        .iter()
        .all(|(_, _, d)| d["seal"] == seal.as_str() && d["output_sha256"].is_string()));
}

#[test]
fn app_signing_on_sqlite() {
    journey(
        &Env::new(EnvOptions {
            self_urls: true,
            ..Default::default()
        }),
        "1391000001",
    );
}

#[test]
fn app_signing_on_postgres() {
    let Some(url) = pg_database("appsign") else {
        return;
    };
    journey(
        &Env::new(EnvOptions {
            db: Db::Postgres(url),
            self_urls: true,
            ..Default::default()
        }),
        "1392000001",
    );
}
