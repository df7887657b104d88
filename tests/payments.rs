//! Payment for seal applications over HTTP, against the real server on both databases: submit
//! is refused until the order is paid → an order with invoice title and shipping address → the
//! development checkout's "pay" → the provider's signed callback arrives over HTTP → the order
//! is paid, the application's history shows record-payment → submit works. Forged callbacks (bad
//! signature, stale timestamp, changed body) are 401 and change nothing; a repeated one changes
//! nothing; unified payment by a regional body needs no checkout; addresses are the owner's
//! own and their mobile numbers are shown masked in the API and the console.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

struct J {
    api: String,
    url: String,
}

impl J {
    fn post(&self, path: &str, tok: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = post(&format!("{}{path}", self.api), Some(tok), &body.to_string());
        (s, v)
    }

    fn get(&self, path: &str, tok: &str) -> (u16, Value) {
        let (s, b) = get(&format!("{}{path}", self.api), Some(tok));
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    fn delete(&self, path: &str, tok: &str) -> u16 {
        match ureq::delete(&format!("{}{path}", self.api))
            .set("Authorization", &format!("Bearer {tok}"))
            .call()
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("DELETE {path}: {e}"),
        }
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

    fn upload_scan(&self, tok: &str) -> String {
        let mut png = Vec::new();
        {
            let mut e = png::Encoder::new(&mut png, 8, 8);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            e.write_header()
                .unwrap()
                .write_image_data(&[200u8; 192])
                .unwrap();
        }
        let r = ureq::post(&format!("{}/files?purpose=application-scan", self.api))
            .set("Authorization", &format!("Bearer {tok}"))
            .set("Content-Type", "image/png")
            .set("X-File-Name", "scan.png")
            .send_bytes(&png)
            .expect("upload");
        let v: Value = r.into_json().unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// A console page with the session as its cookie: (status, HTML).
    fn page(&self, path: &str, tok: &str) -> (u16, String) {
        let r = ureq::get(&format!("{}{path}", self.url))
            .set("Cookie", &format!("sealpki_session={tok}"))
            .set("Accept", "text/html")
            .call();
        match r {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// POST a callback as the provider would, with the given timestamp, signature and body.
    fn callback(&self, ts: i64, sig: &str, body: &str) -> (u16, Value) {
        let r = ureq::post(&format!("{}/payments/dev/callback", self.api))
            .set("Content-Type", "application/json")
            .set("X-Dev-Pay-Timestamp", &ts.to_string())
            .set("X-Dev-Pay-Signature", sig)
            .send_string(body);
        let (s, r) = match r {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(s, r)) => (s, r),
            Err(e) => panic!("callback: {e}"),
        };
        (s, r.into_json().unwrap_or(Value::Null))
    }

    fn history(&self, id: &str, tok: &str) -> Vec<String> {
        let (s, h) = self.get(&format!("/seal-applications/{id}/history"), tok);
        assert_eq!(s, 200, "{h}");
        h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect()
    }
}

fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{ts}.{body}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn org(j: &J, admin: &str, code: &str, name: &str, kind: &str, region: &str) -> String {
    let (s, v) = j.post(
        "/organisations",
        admin,
        json!({"credit_code": code, "name": name, "kind": kind, "region": region}),
    );
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn member(j: &J, admin: &str, org: &str, user: &str, role: &str) {
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
        api: format!("{}/api/v1", srv.url),
        url: srv.url.clone(),
    };
    let admin = srv.login();
    let operator = srv.new_staff(&admin, "olga", "operator");
    let (applicant, app_tok) = register_person(env, &srv, "13900000011", "33010619800101011");
    let (_, other_tok) = register_person(env, &srv, "13900000012", "33010619800101012");
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
    let form = json!({"org_id": unit, "seal_name": "杭州示例科技有限公司合同专用章",
                      "seal_type": "contract", "mode": "cloud", "years": 1,
                      "authority_id": bureau});
    let (s, a) = j.post("/seal-applications", &app_tok, form.clone());
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let scan = j.upload_scan(&app_tok);
    let (s, v) = j.event(
        &id,
        &app_tok,
        "attach-scan",
        1,
        json!({"attachments": [scan]}),
    );
    assert_eq!(s, 200, "{v}");

    // No payment yet: submit is refused, naming what is missing.
    let (s, v) = j.event(&id, &app_tok, "submit", 2, json!({}));
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("payment"), "{v}");
    // Nobody sends record-payment by hand.
    let (s, v) = j.event(&id, &operator, "record-payment", 2, json!({}));
    assert_eq!(s, 403, "{v}");

    // A shipping address: the number masked in the API, another user sees nothing of it.
    let (s, addr) = j.post(
        "/addresses",
        &app_tok,
        json!({"recipient": "张三", "mobile": "139-0000-0021", "region": "330106",
               "detail": "文三路 1 号"}),
    );
    assert_eq!(s, 201, "{addr}");
    assert_eq!(addr["mobile"], "139****0021", "{addr}");
    assert_eq!(addr["is_default"], true, "the first address is the default");
    let aid = addr["id"].as_str().unwrap().to_string();
    let (s, list) = j.get("/addresses", &app_tok);
    assert_eq!(s, 200);
    assert!(!list.to_string().contains("13900000021"), "{list}");
    let (s, v) = j.post(
        "/addresses",
        &app_tok,
        json!({"recipient": "李四", "mobile": "12345", "region": "330106", "detail": "x"}),
    );
    assert_eq!(s, 422, "{v}");
    let (_, theirs) = j.get("/addresses", &other_tok);
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    assert_eq!(j.delete(&format!("/addresses/{aid}"), &other_tok), 404);
    let (s, v) = j.post(&format!("/addresses/{aid}/default"), &other_tok, json!({}));
    assert_eq!(s, 404, "{v}");
    let (s, v) = j.post(
        &format!("/seal-applications/{id}/order"),
        &other_tok,
        json!({"invoice_title": "x", "taxpayer": "913301061234567887"}),
    );
    assert_eq!(s, 403, "an outsider makes no order: {v}");

    // The order: invoice title and taxpayer number required, checked; then made.
    let (s, v) = j.post(
        &format!("/seal-applications/{id}/order"),
        &app_tok,
        json!({}),
    );
    assert_eq!(s, 422, "{v}");
    let (s, v) = j.post(
        &format!("/seal-applications/{id}/order"),
        &app_tok,
        json!({"invoice_title": "杭州示例科技有限公司", "taxpayer": "913301061234567880"}),
    );
    assert_eq!(s, 422, "bad check character: {v}");
    let (s, order) = j.post(
        &format!("/seal-applications/{id}/order"),
        &app_tok,
        json!({"invoice_title": "杭州示例科技有限公司", "taxpayer": "913301061234567887",
               "address_id": aid}),
    );
    assert_eq!(s, 201, "{order}");
    assert_eq!(order["state"], "created");
    assert_eq!(order["payer"], "self");
    assert_eq!(order["amount_fen"], 20000, "a contract seal, one year");
    assert_eq!(order["amount_yuan"], "200.00");
    assert_eq!(order["ship_to"]["mobile"], "139****0021");
    let oid = order["id"].as_str().unwrap().to_string();
    let checkout = order["checkout_url"].as_str().unwrap().to_string();
    let prefix = format!("{}/pay/dev/", srv.url);
    assert!(checkout.starts_with(&prefix), "{checkout}");
    let reference = checkout[prefix.len()..].to_string();
    let (s, v) = j.post(
        &format!("/seal-applications/{id}/order"),
        &app_tok,
        json!({"invoice_title": "杭州示例科技有限公司", "taxpayer": "913301061234567887"}),
    );
    assert_eq!(s, 409, "one order per application: {v}");
    let (s, v) = j.event(&id, &app_tok, "submit", 2, json!({}));
    assert_eq!(s, 422, "not paid yet: {v}");
    let (s, v) = j.get(&format!("/orders/{oid}"), &other_tok);
    assert_eq!(s, 403, "{v}");

    // Forged callbacks: 401, nothing changes.
    let secret = std::fs::read_to_string(env.path("dev-payment-secret")).unwrap();
    let secret = secret.trim();
    let body = json!({"reference": reference, "amount_fen": 20000}).to_string();
    let cheap = json!({"reference": reference, "amount_fen": 1}).to_string();
    let t = now();
    for (what, ts, sig, b) in [
        (
            "bad signature",
            t,
            sign("not the secret at all", t, &body),
            &body,
        ),
        (
            "stale timestamp",
            t - 600,
            sign(secret, t - 600, &body),
            &body,
        ),
        ("changed body", t, sign(secret, t, &body), &cheap),
        ("not hex", t, "zz".to_string(), &body),
    ] {
        let (s, v) = j.callback(ts, &sig, b);
        assert_eq!(s, 401, "{what}: {v}");
        assert!(
            v["type"].as_str().unwrap().ends_with("bad-signature"),
            "{v}"
        );
    }
    let (s, v) = j.get(&format!("/orders/{oid}"), &app_tok);
    assert_eq!(s, 200);
    assert_eq!(v["state"], "created", "forgeries changed nothing: {v}");
    assert_eq!(v["version"], 1);
    assert_eq!(j.history(&id, &app_tok), ["create", "attach-scan"]);

    // The checkout page, then its "pay": the provider's callback comes back over HTTP.
    let (s, html) = j.page(&format!("/pay/dev/{reference}"), &app_tok);
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("200.00") && html.contains("id=\"pay\""),
        "{html}"
    );
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{}/pay/dev/{reference}", srv.url))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string("")
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, paid) = j.get(&format!("/orders/{oid}"), &app_tok);
    assert_eq!(s, 200);
    assert_eq!(paid["state"], "paid", "{paid}");
    assert!(
        paid["paid_at"].is_i64() && paid["checkout_url"].is_null(),
        "{paid}"
    );
    assert_eq!(
        j.history(&id, &app_tok),
        ["create", "attach-scan", "record-payment"]
    );
    let audit = audit_log(env);
    assert!(
        audit
            .iter()
            .any(|(who, what, d)| who == "system" && what == "order.paid" && d["order"] == oid),
        "audited"
    );
    let (_, html) = j.page(&format!("/pay/dev/{reference}"), &app_tok);
    assert!(!html.contains("id=\"pay\""), "paid: no button");

    // A repeated (correctly signed) callback is 200 and changes nothing.
    let t = now();
    let (s, v) = j.callback(t, &sign(secret, t, &body), &body);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "paid");
    let (_, again) = j.get(&format!("/orders/{oid}"), &app_tok);
    assert_eq!(again["version"], paid["version"], "{again}");
    assert_eq!(j.history(&id, &app_tok).len(), 3);
    let n_paid = audit_log(env)
        .iter()
        .filter(|(_, what, _)| what == "order.paid")
        .count();
    assert_eq!(n_paid, 1);

    // Paid: submit works (the record's version moved with record-payment).
    let (s, v) = j.event(&id, &app_tok, "submit", 3, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "pending-review");

    // The applicant was told, in-app.
    // (In-app notifications are jobs: the worker delivers them shortly.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, notes) = j.get("/notifications", &app_tok);
        assert_eq!(s, 200);
        if notes.to_string().contains(&format!("/orders/{oid}")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notification: {notes}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Logistics: operators only; the order shows it, the applicant is told.
    let (s, v) = j.post(
        &format!("/orders/{oid}/logistics"),
        &app_tok,
        json!({"logistics_no": "SF1234567890"}),
    );
    assert_eq!(s, 403, "{v}");
    let (s, v) = j.post(
        &format!("/orders/{oid}/logistics"),
        &operator,
        json!({"logistics_no": "SF1234567890"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["logistics_no"], "SF1234567890");

    // Lists: mine, by state, the organisation's for an outsider refused, all for staff.
    let (s, v) = j.get("/orders?state=paid", &app_tok);
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = j.get("/orders?state=created", &app_tok);
    assert_eq!(v["items"], json!([]));
    let (s, _) = j.get(&format!("/orders?scope=org&org={unit}"), &other_tok);
    assert_eq!(s, 403);
    let (s, v) = j.get("/orders?scope=all", &operator);
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = j.get("/orders?scope=all", &app_tok);
    assert_eq!(s, 403);

    // The console: the order and the address book, the number masked.
    let (s, html) = j.page(&format!("/orders/{oid}"), &app_tok);
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("139****0021") && !html.contains("13900000021"),
        "{html}"
    );
    assert!(
        html.contains("SF1234567890") && html.contains("200.00"),
        "{html}"
    );
    let (s, html) = j.page("/orders", &app_tok);
    assert_eq!(s, 200);
    assert!(html.contains(&oid), "{html}");
    let (s, html) = j.page("/addresses", &app_tok);
    assert_eq!(s, 200);
    assert!(
        html.contains("139****0021") && !html.contains("13900000021"),
        "{html}"
    );
    let (s, html) = j.page(&format!("/orders/{oid}"), &other_tok);
    assert_eq!(s, 403, "{html}");
    if matches!(env.db, Db::Sqlite) {
        chromium::session_shots(
            &srv.url,
            &app_tok,
            &[
                ("orders", "/orders", "我的订单", "My orders"),
                ("order", &format!("/orders/{oid}"), "订单详情", "Order"),
                ("addresses", "/addresses", "收货地址", "Shipping addresses"),
            ],
        );
    }

    // Unified payment: the bureau pays for its city; an application of a district there needs
    // no checkout.
    let (s, v) = j.post(
        "/unified-payers",
        &app_tok,
        json!({"payer_org_id": bureau, "region": "330100"}),
    );
    assert_eq!(s, 403, "{v}");
    let (s, v) = j.post(
        "/unified-payers",
        &admin,
        json!({"payer_org_id": unit, "region": "330100"}),
    );
    assert_eq!(s, 422, "an enterprise does not pay for a region: {v}");
    let (s, v) = j.post(
        "/unified-payers",
        &admin,
        json!({"payer_org_id": bureau, "region": "330100"}),
    );
    assert_eq!(s, 201, "{v}");
    let mut form2 = form.clone();
    form2["seal_name"] = json!("杭州示例科技有限公司业务专用章");
    form2["seal_type"] = json!("business");
    let (s, a2) = j.post("/seal-applications", &app_tok, form2);
    assert_eq!(s, 201, "{a2}");
    let id2 = a2["id"].as_str().unwrap().to_string();
    let (s, o2) = j.post(
        &format!("/seal-applications/{id2}/order"),
        &app_tok,
        json!({}),
    );
    assert_eq!(s, 201, "{o2}");
    assert_eq!(o2["payer"], "unified");
    assert_eq!(o2["payer_org_id"], json!(bureau));
    assert_eq!(o2["state"], "paid");
    assert!(o2["checkout_url"].is_null(), "{o2}");
    assert_eq!(j.history(&id2, &app_tok), ["create", "record-payment"]);
    let scan = j.upload_scan(&app_tok);
    let (s, v) = j.event(
        &id2,
        &app_tok,
        "attach-scan",
        2,
        json!({"attachments": [scan]}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = j.event(&id2, &app_tok, "submit", 3, json!({}));
    assert_eq!(s, 200, "{v}");

    // Withdrawing an application cancels its unpaid order; a late callback is refused. (An
    // organisation outside the bureau's city: self-paid.)
    let (s, v) = j.post(
        "/unified-payers",
        &admin,
        json!({"payer_org_id": bureau, "region": "330100"}),
    );
    assert_eq!(s, 409, "registered once: {v}");
    let sz = org(
        &j,
        &admin,
        "914403001922038216",
        "深圳示例有限公司",
        "enterprise",
        "440300",
    );
    member(&j, &admin, &sz, &applicant, "applicant");
    let mut form3 = form.clone();
    form3["org_id"] = json!(sz);
    form3["seal_name"] = json!("深圳示例有限公司财务专用章");
    form3["seal_type"] = json!("finance");
    let (s, a3) = j.post("/seal-applications", &app_tok, form3);
    assert_eq!(s, 201, "{a3}");
    let id3 = a3["id"].as_str().unwrap().to_string();
    let (s, o3) = j.post(
        &format!("/seal-applications/{id3}/order"),
        &app_tok,
        json!({"invoice_title": "深圳示例有限公司", "taxpayer": "914403001922038216"}),
    );
    assert_eq!(s, 201, "{o3}");
    assert_eq!(o3["payer"], "self", "{o3}");
    let url3 = o3["checkout_url"].as_str().unwrap();
    let ref3 = &url3[prefix.len()..];
    let (s, v) = j.event(&id3, &app_tok, "withdraw", 1, json!({}));
    assert_eq!(s, 200, "{v}");
    let (_, v) = j.get(&format!("/orders/{}", o3["id"].as_str().unwrap()), &app_tok);
    assert_eq!(v["state"], "cancelled", "{v}");
    let body3 = json!({"reference": ref3, "amount_fen": o3["amount_fen"]}).to_string();
    let t = now();
    let (s, v) = j.callback(t, &sign(secret, t, &body3), &body3);
    assert_eq!(s, 409, "a cancelled order is not paid: {v}");

    // Deleting an address: the owner's own; the order keeps where it was sent.
    assert_eq!(j.delete(&format!("/addresses/{aid}"), &app_tok), 204);
    assert_eq!(j.delete(&format!("/addresses/{aid}"), &app_tok), 404);
    let (_, v) = j.get(&format!("/orders/{oid}"), &app_tok);
    assert_eq!(v["ship_to"]["recipient"], "张三", "{v}");
    let audit = audit_log(env);
    assert!(
        !audit
            .iter()
            .any(|(_, _, d)| d.to_string().contains("13900000021")),
        "the number is never in the audit log"
    );
}

#[test]
fn payment_journey_on_sqlite() {
    journey(&Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    }));
}

#[test]
fn payment_journey_on_postgres() {
    let Some(url) = pg_database("payments") else {
        return;
    };
    journey(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        self_urls: true,
        ..Default::default()
    }));
}
