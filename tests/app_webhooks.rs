//! Apps' webhooks, batches, asynchronous jobs and limits (issue 13) over HTTP on SQLite and
//! PostgreSQL. A real HTTPS receiver (tests/webhook_receiver.py, its certificate from the
//! service CA) answers the first delivery with 500: the worker retries with the same event id,
//! and this test checks every signature with its own HMAC. A rotated secret signs beside the new
//! one. A batch seals what it can and reports the rest; an oversized batch seals nothing; an
//! asynchronous job seals on the job queue and ends with a `job.finished` webhook; sealed
//! documents verify in pdfsig and pyHanko. A per-app request rate and a daily quota refuse with
//! 429 and Retry-After, and what they refuse is not sealed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// Fast retries for the test; the default schedule spans more than a day.
const JOBS: &str = "[jobs]\npoll_millis = 100\nlease_seconds = 5\nbackoff_base_seconds = 1\n\
     backoff_max_seconds = 2\nwebhook_max_attempts = 6\nwebhook_backoff_base_seconds = 1\n\
     webhook_backoff_max_seconds = 2\nallow_short_webhook_retries = true\n";

struct Receiver {
    child: Child,
    log: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(env: &Env, port: u16) -> Receiver {
        let key = openssl_key("p256");
        let csr = openssl_csr(
            env.dir.path(),
            "p256",
            "/C=CN/O=Example Co/CN=localhost",
            &["localhost"],
        );
        let cert = env.path("hook-tls.pem");
        env.issue_to("tls-server", &csr, &cert, &[]);
        let (chain, _root) = env.chain("service");
        let full = env.path("hook-tls-full.pem");
        std::fs::write(
            &full,
            std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&chain).unwrap(),
        )
        .unwrap();
        let log = env.path("hooks.jsonl");
        let mut child = Command::new(tool("python3"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhook_receiver.py"))
            .args(["--port", &port.to_string(), "--fail-first", "1"])
            .arg("--cert")
            .arg(&full)
            .arg("--key")
            .arg(&key)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the webhook receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "receiver: {line}");
        Receiver { child, log }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Wait until a request satisfies `want`; all requests so far.
    fn wait_for(&self, what: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.requests();
            if want(&r) {
                return r;
            }
            assert!(Instant::now() < until, "no {what} within 60 s: {r:#?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn header<'a>(req: &'a Value, name: &str) -> &'a str {
    req["headers"]
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
        })
        .unwrap_or("")
}

fn mac(secret: &str, ts: &str, body: &str) -> String {
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{ts}.{body}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// The `v1=` values of a delivery.
fn signatures(req: &Value) -> Vec<String> {
    header(req, "x-sealpki-signature")
        .split(',')
        .filter_map(|p| p.trim().strip_prefix("v1=").map(str::to_string))
        .collect()
}

fn signed_by(req: &Value, secret: &str) -> bool {
    let want = mac(
        secret,
        header(req, "x-sealpki-timestamp"),
        req["body"].as_str().unwrap_or(""),
    );
    signatures(req).contains(&want)
}

fn get_json(url: &str, tok: &str) -> (u16, Value) {
    let (s, body) = get(url, Some(tok));
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn journey(env: &Env, prefix: &str) {
    env.init_dev();
    // The receiver's certificate comes from the service CA; the webhook client trusts its root.
    let hook_port = free_port();
    let roots = env.path("root.pem");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&env.config)
            .unwrap();
        writeln!(
            f,
            "{JOBS}[apps]\nwebhook_roots = {:?}",
            roots.display().to_string()
        )
        .unwrap();
    }
    let rx = Receiver::start(env, hook_port);
    assert!(roots.exists());
    let srv = env.serve();
    let callback = format!("https://localhost:{hook_port}/hooks/sealpki");
    let aw = app_world(env, &srv, prefix, json!({"callback_url": callback}));
    let AppWorld {
        w,
        api,
        seal,
        app,
        c,
        ..
    } = &aw;

    // The owner makes the webhook secret (shown once); another account may not.
    let (s, v) = api_post(
        api,
        &format!("/apps/{app}/webhook-secret"),
        &w.reviewer_tok,
        json!({}),
    );
    assert!(s == 403 || s == 404, "{s} {v}");
    let (s, v) = api_post(
        api,
        &format!("/apps/{app}/webhook-secret"),
        &w.applicant_tok,
        json!({}),
    );
    assert_eq!(s, 201, "{v}");
    let first_secret = v["secret"].as_str().unwrap().to_string();
    assert!(first_secret.starts_with("whsec_"), "{v}");
    assert!(v["previous_valid_until"].is_null(), "{v}");

    // Authorizing the seal makes a `granted` event: the receiver answers 500 first, the worker
    // retries with the same event id, and both carry our signature.
    grant(&aw);
    let reqs = rx.wait_for("an event delivered after a 500", |r| {
        r.iter().find(|q| q["answered"] == 500).is_some_and(|f| {
            let id = header(f, "x-sealpki-event-id");
            r.iter()
                .any(|q| header(q, "x-sealpki-event-id") == id && q["answered"] == 204)
        })
    });
    let failed = reqs.iter().find(|q| q["answered"] == 500).unwrap();
    let event_id = header(failed, "x-sealpki-event-id").to_string();
    let retried: Vec<&Value> = reqs
        .iter()
        .filter(|q| header(q, "x-sealpki-event-id") == event_id)
        .collect();
    assert!(
        retried.len() >= 2,
        "the same event id on the retry: {reqs:#?}"
    );
    assert_eq!(retried.last().unwrap()["answered"], 204);
    for q in &retried {
        assert!(signed_by(q, &first_secret), "signature: {q}");
        assert!(!signed_by(q, "whsec_wrong"), "{q}");
        let body: Value = serde_json::from_str(q["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["id"], event_id.as_str());
        assert_eq!(body["app_id"], app.as_str());
        assert_eq!(body["data"]["seal_id"], seal.as_str());
        assert_eq!(q["path"], "/hooks/sealpki");
    }
    // A changed body does not verify.
    let mut tampered = retried[0].clone();
    tampered["body"] = json!(retried[0]["body"]
        .as_str()
        .unwrap()
        .replace(app.as_str(), "other"));
    assert!(!signed_by(&tampered, &first_secret));

    // The delivery log, to the owner and to the app itself: the failed attempt and the retry.
    let (s, log) = get_json(
        &format!("{api}/apps/{app}/webhook-deliveries"),
        &w.applicant_tok,
    );
    assert_eq!(s, 200, "{log}");
    let of_event: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event_id"] == event_id.as_str())
        .collect();
    assert!(
        of_event
            .iter()
            .any(|d| d["outcome"] == "failed" && d["status"] == 500 && d["attempt"] == 1),
        "{log}"
    );
    assert!(
        of_event
            .iter()
            .any(|d| d["outcome"] == "delivered" && d["status"] == 204 && d["attempt"] == 2),
        "{log}"
    );
    let mine = c.call("GET", "/app/webhook-deliveries?limit=100", b"", &[]);
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert!(mine.text().contains(&event_id), "{}", mine.text());
    let bad = c.call("GET", "/app/webhook-deliveries?limit=0", b"", &[]);
    assert_eq!(bad.status, 400, "{}", bad.text());
    // The owner's page shows the log in the reader's language.
    for (lang, says) in [
        ("zh-CN", ["回调投递记录", "已送达", "失败（将重试）"]),
        ("en", ["Delivery log", "Delivered", "Failed (retrying)"]),
    ] {
        let html = ureq::get(&format!("{}/apps/{app}", srv.url))
            .set(
                "Cookie",
                &format!("sealpki_session={}; lang={lang}", w.applicant_tok),
            )
            .set("Accept", "text/html")
            .call()
            .expect("the app's page")
            .into_string()
            .unwrap();
        for s in says {
            assert!(html.contains(s), "{lang} {s}: {html}");
        }
        assert!(
            html.contains("HTTP 500") && html.contains(&event_id[..12]),
            "{html}"
        );
        assert!(
            !html.contains(&first_secret),
            "the secret is shown once only"
        );
    }
    if matches!(env.db, Db::Sqlite) {
        chromium::session_shots(
            &srv.url,
            &w.applicant_tok,
            &[(
                "app-webhooks",
                &format!("/apps/{app}#webhooks"),
                "合同管理系统",
                "合同管理系统",
            )],
        );
    }

    // Rotation: the new secret signs at once, the old one beside it for a day.
    let (s, v) = api_post(
        api,
        &format!("/apps/{app}/webhook-secret"),
        &w.applicant_tok,
        json!({}),
    );
    assert_eq!(s, 201, "{v}");
    let second_secret = v["secret"].as_str().unwrap().to_string();
    assert!(
        v["previous_valid_until"].as_i64().unwrap() > now() + 86_000,
        "{v}"
    );
    let (s, v) = api_post(
        api,
        &format!("/apps/{app}/webhook-test"),
        &w.applicant_tok,
        json!({}),
    );
    assert_eq!(s, 202, "{v}");
    let ping = v["event_id"].as_str().unwrap().to_string();
    let reqs = rx.wait_for("ping", |r| {
        r.iter()
            .any(|q| header(q, "x-sealpki-event-id") == ping && q["answered"] == 204)
    });
    let p = reqs
        .iter()
        .find(|q| header(q, "x-sealpki-event-id") == ping)
        .unwrap();
    assert_eq!(header(p, "x-sealpki-event-type"), "ping");
    assert_eq!(signatures(p).len(), 2, "{p}");
    assert!(
        signed_by(p, &second_secret) && signed_by(p, &first_secret),
        "{p}"
    );

    // A batch: one document sealed, one whose keyword is not there reported beside it.
    let doc = text_pdf(&[vec![(72.0, 760.0, "Contract"), (300.0, 300.0, "Seal here")]]);
    let request = json!({"documents": [
        {"name": "a.pdf", "seal_id": seal, "placements": [{"kind": "keyword", "text": "Seal here"}]},
        {"name": "b.pdf", "seal_id": seal, "placements": [{"kind": "keyword", "text": "Nowhere"}]}]});
    let req_bytes = request.to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", req_bytes.as_bytes()),
        ("a.pdf", "application/pdf", &doc),
        ("b.pdf", "application/pdf", &doc),
    ]);
    let usage = |c: &Caller| -> i64 {
        let u = c.call("GET", "/app/usage?days=1", b"", &[]);
        assert_eq!(u.status, 200, "{}", u.text());
        u.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["count"].as_i64().unwrap())
            .sum()
    };
    let before = usage(c);
    let a = c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 200, "{}", a.text());
    let r = a.json();
    assert_eq!(
        (r["sealed"].as_i64(), r["failed"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["results"][0]["status"], 200, "{r}");
    assert_eq!(r["results"][1]["status"], 400, "{r}");
    assert!(
        r["results"][1]["error"]
            .as_str()
            .unwrap()
            .contains("found 0"),
        "{r}"
    );
    let sha = r["results"][0]["sha256"].as_str().unwrap().to_string();
    let got = c.call("GET", &format!("/app/documents/{sha}"), b"", &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(sealpki_pki::alg::sha256_hex(&got.body), sha);
    let file = env.path("batch-a.pdf");
    std::fs::write(&file, &got.body).unwrap();
    pdfsig_ok(env, &file, 1);
    assert_eq!(usage(c), before + 1);

    // Bad batches seal nothing: too many documents, a part the request does not name, a
    // document named twice, a seal not authorized.
    let many: Vec<Value> = (0..21)
        .map(|i| {
            json!({"name": format!("d{i}"), "seal_id": seal,
                        "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]})
        })
        .collect();
    let many_req = json!({"documents": many}).to_string();
    let names: Vec<String> = (0..21).map(|i| format!("d{i}")).collect();
    let mut parts: Vec<(&str, &str, &[u8])> =
        vec![("request", "application/json", many_req.as_bytes())];
    for n in &names {
        parts.push((n.as_str(), "application/pdf", &doc));
    }
    let (ct, body) = multipart_parts(&parts);
    let a = c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.text().contains("at most 20"), "{}", a.text());
    let one = json!({"documents": [{"name": "a.pdf", "seal_id": seal,
        "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]}]})
    .to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", one.as_bytes()),
        ("a.pdf", "application/pdf", &doc),
        ("stray.pdf", "application/pdf", &doc),
    ]);
    let a = c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.text().contains("stray.pdf"), "{}", a.text());
    let twice = json!({"documents": [
        {"name": "a.pdf", "seal_id": seal, "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]},
        {"name": "a.pdf", "seal_id": seal, "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]}]})
    .to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", twice.as_bytes()),
        ("a.pdf", "application/pdf", &doc),
    ]);
    let a = c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 400, "{}", a.text());
    let (other_seal, _) = w.cloud_seal(&w.applicant_tok, &w.unit, "杭州示例科技有限公司财务专用章");
    let mixed = json!({"documents": [
        {"name": "a.pdf", "seal_id": seal, "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]},
        {"name": "b.pdf", "seal_id": other_seal, "placements": [{"kind": "at", "page": 1, "x_mm": 50, "y_mm": 50}]}]})
    .to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", mixed.as_bytes()),
        ("a.pdf", "application/pdf", &doc),
        ("b.pdf", "application/pdf", &doc),
    ]);
    let a = c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("no-grant"), "{}", a.text());
    assert_eq!(usage(c), before + 1, "the bad batches sealed nothing");

    // An asynchronous job: 202, sealed on the job queue, then `job.finished` to the webhook.
    let job_req = json!({"documents": [
        {"name": "j1.pdf", "seal_id": seal, "placements": [{"kind": "keyword", "text": "Seal here"}]},
        {"name": "j2.pdf", "seal_id": seal, "level": "b-t",
         "placements": [{"kind": "at", "page": 1, "x_mm": 60, "y_mm": 60}]},
        {"name": "j3.pdf", "seal_id": seal, "placements": [{"kind": "cross-page", "pages": "all"}]}]})
    .to_string();
    let two_pages = text_pdf(&[vec![(72.0, 760.0, "Page 1")], vec![(72.0, 760.0, "Page 2")]]);
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", job_req.as_bytes()),
        ("j1.pdf", "application/pdf", &doc),
        ("j2.pdf", "application/pdf", &doc),
        ("j3.pdf", "application/pdf", &two_pages),
    ]);
    let a = c.call("POST", "/app/jobs", &body, &[("Content-Type", &ct)]);
    assert_eq!(a.status, 202, "{}", a.text());
    let job_id = a.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/app/jobs/{job_id}").as_str())
    );
    let until = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let j = c.call("GET", &format!("/app/jobs/{job_id}"), b"", &[]);
        assert_eq!(j.status, 200, "{}", j.text());
        if j.json()["state"] == "done" {
            break j.json();
        }
        assert!(Instant::now() < until, "job not done: {}", j.text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(done["sealed"], 3, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    for (i, r) in done["results"].as_array().unwrap().iter().enumerate() {
        let sha = r["sha256"].as_str().unwrap();
        let got = c.call("GET", &format!("/app/documents/{sha}"), b"", &[]);
        assert_eq!(got.status, 200, "{}", got.text());
        let f = env.path(&format!("job-{i}.pdf"));
        std::fs::write(&f, &got.body).unwrap();
        // The cross-page seal is one signature with a widget per page (pdfsig lists each).
        pdfsig_ok(env, &f, if i == 2 { 2 } else { 1 });
    }
    let reqs = rx.wait_for("job.finished", |r| {
        r.iter()
            .any(|q| header(q, "x-sealpki-event-type") == "job.finished" && q["answered"] == 204)
    });
    let fin = reqs
        .iter()
        .find(|q| header(q, "x-sealpki-event-type") == "job.finished")
        .unwrap();
    assert!(signed_by(fin, &second_secret), "{fin}");
    let body: Value = serde_json::from_str(fin["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["data"]["job_id"], job_id.as_str(), "{body}");
    let list = c.call("GET", "/app/jobs", b"", &[]);
    assert!(list.text().contains(&job_id), "{}", list.text());
    // Another app's job id is not found; nor is a document this app did not seal.
    let j = c.call("GET", "/app/jobs/nosuchjob", b"", &[]);
    assert_eq!(j.status, 404, "{}", j.text());
    let d = c.call(
        "GET",
        &format!("/app/documents/{}", "0".repeat(64)),
        b"",
        &[],
    );
    assert_eq!(d.status, 404, "{}", d.text());

    // Limits: an app of 2 requests per second and a quota of 1 sealing a day.
    let (s, v) = api_post(
        api,
        "/apps",
        &w.admin,
        json!({"name": "限额测试系统", "kind": "cloud-signing", "supervising_org_id": w.bureau,
               "developer_org_id": w.unit, "owner": w.applicant, "rate_per_second": 2,
               "daily_quota": 1}),
    );
    assert_eq!(s, 201, "{v}");
    let limited = v["id"].as_str().unwrap().to_string();
    let (s, v) = api_post(
        api,
        &format!("/apps/{limited}/credentials"),
        &w.applicant_tok,
        json!({"kind": "hmac-sha256"}),
    );
    assert_eq!(s, 201, "{v}");
    let secret = env.path("limited.secret");
    std::fs::write(&secret, v["secret"].as_str().unwrap()).unwrap();
    let lc = Caller {
        app: limited.clone(),
        key: v["key_id"].as_str().unwrap().to_string(),
        secret,
        base: api.clone(),
    };
    let (s, v) = api_post(
        api,
        "/app-grants",
        &aw.sa_tok,
        json!({"app_id": limited, "seal_ids": [seal], "valid_until": now() + 86_400}),
    );
    assert!(s == 200 || s == 201, "{v}");
    let raw = [("Content-Type", "application/pdf")];
    let at = format!("/app/seal?seal_id={seal}&x_mm=50&y_mm=50");
    std::thread::sleep(Duration::from_millis(1100));
    let a = lc.call("POST", &at, &doc, &raw);
    assert_eq!(a.status, 200, "{}", a.text());
    std::thread::sleep(Duration::from_millis(1100));
    let a = lc.call("POST", &at, &doc, &raw);
    assert_eq!(a.status, 429, "over the quota: {}", a.text());
    assert!(a.text().contains("daily quota"), "{}", a.text());
    let wait: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    // The request rate: of a quick run of requests some are refused, each saying when to retry.
    std::thread::sleep(Duration::from_millis(1100));
    let answers: Vec<Answer> = (0..6)
        .map(|_| lc.call("GET", "/app/whoami", b"", &[]))
        .collect();
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(!refused.is_empty(), "no 429 in 6 quick requests at 2/s");
    assert!(answers.iter().any(|a| a.status == 200));
    for a in refused {
        assert_eq!(a.header("retry-after"), Some("1"), "{}", a.text());
        assert_eq!(a.header("content-type"), Some("application/problem+json"));
    }
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(usage(&lc), 1, "the refused sealing was not counted");

    // Staff change the limits; the owner may not; a stale version or a bad figure changes
    // nothing. The next request is held to the new figures.
    let put = |tok: &str, body: Value| -> (u16, Value) {
        let r = ureq::put(&format!("{api}/apps/{limited}/limits"))
            .set("Authorization", &format!("Bearer {tok}"))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        let r = match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("PUT limits: {e}"),
        };
        (r.status(), r.into_json().unwrap_or(Value::Null))
    };
    let (_, before) = get_app(api, &w.admin, &limited);
    let version = before["version"].as_i64().unwrap();
    let (s, v) = put(
        &w.applicant_tok,
        json!({"version": version, "rate_per_second": 1000, "daily_quota": 3}),
    );
    assert_eq!(s, 403, "the owner raises no limits: {v}");
    assert!(v["detail"].as_str().unwrap().contains("apps.manage"), "{v}");
    let (s, v) = put(
        &w.admin,
        json!({"version": version, "rate_per_second": 0, "daily_quota": 3}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "rate_per_second");
    let (s, v) = put(
        &w.admin,
        json!({"version": version - 1, "rate_per_second": 1000, "daily_quota": 3}),
    );
    assert_eq!(s, 409, "stale: {v}");
    let (s, v) = put(
        &w.admin,
        json!({"version": version, "rate_per_second": 1000, "daily_quota": 3, "extra": 1}),
    );
    // Like every JSON body of the API: a body that does not parse as the endpoint's is a 400.
    assert_eq!(s, 400, "unknown fields are refused: {v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("extra")),
        "{v}"
    );
    let (_, same) = get_app(api, &w.admin, &limited);
    assert_eq!(same["version"], version, "refusals changed nothing: {same}");
    assert_eq!(same["daily_quota"], 1);
    let (s, v) = put(
        &w.admin,
        json!({"version": version, "rate_per_second": 1000, "daily_quota": 3}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rate_per_second"], 1000);
    assert_eq!(v["daily_quota"], 3);
    assert_eq!(v["version"], version + 1);
    let a = lc.call("POST", &at, &doc, &raw);
    assert_eq!(a.status, 200, "the raised quota: {}", a.text());
    let answers: Vec<Answer> = (0..6)
        .map(|_| lc.call("GET", "/app/whoami", b"", &[]))
        .collect();
    assert!(
        answers.iter().all(|a| a.status == 200),
        "6 quick requests at 1000/s: {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let (s, v) = put(
        &w.admin,
        json!({"version": version + 1, "rate_per_second": 1000, "daily_quota": null}),
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["daily_quota"].is_null(), "no quota: {v}");
    let changes: Vec<Value> = audit_log(env)
        .into_iter()
        .filter(|(_, action, d)| action == "app.limits" && d["id"] == limited.as_str())
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["from"]["daily_quota"], 1);
    assert_eq!(changes[0]["to"]["daily_quota"], 3);
    assert!(changes[1]["to"]["daily_quota"].is_null());
}

fn get_app(api: &str, tok: &str, id: &str) -> (u16, Value) {
    let r = ureq::get(&format!("{api}/apps/{id}"))
        .set("Authorization", &format!("Bearer {tok}"))
        .call();
    let r = match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET app: {e}"),
    };
    (r.status(), r.into_json().unwrap_or(Value::Null))
}

#[test]
fn webhooks_batches_jobs_and_limits_on_sqlite() {
    journey(
        &Env::new(EnvOptions {
            self_urls: true,
            ..Default::default()
        }),
        "1393000001",
    );
}

#[test]
fn webhooks_batches_jobs_and_limits_on_postgres() {
    let Some(url) = pg_database("apphooks") else {
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
