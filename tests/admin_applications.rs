//! Seal-administrator applications and organisation updates over HTTP, against the real server on
//! both databases: a member of unit A (a child of B) applies with the signed form uploaded → they
//! cannot decide it, nor can an outsider (403 naming the permission) → a reviewer of B returns it →
//! resubmitted → approved → the applicant holds seal-admin of A and manages A's members. Then
//! organisation updates by that new seal administrator: a rename to a full-width variant of
//! another organisation's name is a 409 at approval with nothing changed; a rename with a new
//! credit code approved by an operator shows; a parent inside A's own subtree is refused.

mod common;

use common::*;
use serde_json::{json, Value};

struct J {
    api: String,
    site: String,
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

    fn event(&self, what: &str, id: &str, tok: &str, event: &str, version: i64) -> (u16, Value) {
        self.post(
            &format!("/{what}/{id}/events"),
            tok,
            json!({"event": event, "version": version, "comment": "已核实"}),
        )
    }

    fn upload(&self, tok: &str, purpose: &str) -> String {
        let mut png = Vec::new();
        {
            let mut e = png::Encoder::new(&mut png, 8, 8);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            e.write_header()
                .unwrap()
                .write_image_data(&[180u8; 192])
                .unwrap();
        }
        let r = ureq::post(&format!("{}/files?purpose={purpose}", self.api))
            .set("Authorization", &format!("Bearer {tok}"))
            .set("Content-Type", "image/png")
            .set("X-File-Name", "form.png")
            .send_bytes(&png)
            .expect("upload");
        let v: Value = r.into_json().unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    fn org(&self, admin: &str, code: &str, name: &str, parent: Option<&str>) -> String {
        let (s, v) = self.post(
            "/organisations",
            admin,
            json!({"credit_code": code, "name": name, "kind": "enterprise", "region": "330106",
                   "parent_id": parent}),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    fn member(&self, tok: &str, org: &str, user: &str, role: &str) -> (u16, Value) {
        self.post(
            &format!("/organisations/{org}/members"),
            tok,
            json!({"username": user, "role": role}),
        )
    }
}

/// A console page as the holder of `tok` sees it (the session cookie carries the token).
fn page(j: &J, path: &str, tok: &str) -> (u16, String) {
    let r = ureq::get(&format!("{}{path}", j.site))
        .set("Cookie", &format!("sealpki_session={tok}; lang=zh-CN"))
        .set("Accept", "text/html")
        .call();
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// A console form post (same origin), answered by a redirect when it worked.
fn post_form(j: &J, path: &str, tok: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{}{path}", j.site))
        .set("Cookie", &format!("sealpki_session={tok}; lang=zh-CN"))
        .set("Origin", &j.site)
        .set("Accept", "text/html")
        .send_form(fields);
    match r {
        Ok(r) => (
            r.status(),
            r.header("location").unwrap_or_default().to_string(),
        ),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

fn denied(s: u16, v: &Value, permission: &str) {
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"].as_str().unwrap_or("").contains(permission),
        "expected a refusal naming {permission}: {v}"
    );
}

fn journey(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let j = J {
        api: format!("{}/api/v1", srv.url),
        site: srv.url.clone(),
    };
    let admin = srv.login();
    let operator = srv.new_staff(&admin, "olga", "operator");
    let (person, person_tok) = register_person(env, &srv, "13700000001", "33010619800101001");
    let (reviewer, reviewer_tok) = register_person(env, &srv, "13700000002", "33010619800101002");
    let (outsider, outsider_tok) = register_person(env, &srv, "13700000003", "33010619800101003");
    let b = j.org(&admin, "91110000802100433B", "上级集团有限公司", None);
    let a = j.org(&admin, "91110108551385082Q", "单位甲有限公司", Some(&b));
    let d = j.org(&admin, "11330100002482154U", "单位甲下属分公司", Some(&a));
    j.org(&admin, "913301061234567887", "ABC科技有限公司", None);
    assert_eq!(j.member(&admin, &a, &person, "applicant").0, 201);
    assert_eq!(j.member(&admin, &b, &reviewer, "reviewer").0, 201);

    // Apply to be A's seal administrator, with the signed form.
    let form = j.upload(&person_tok, "application-scan");
    let body = json!({"org_id": a, "form_file": form, "reason": "原印章管理员调离"});
    let (s, v) = j.post("/seal-admin-applications", &outsider_tok, body.clone());
    denied(s, &v, "seal-admins.apply");
    let (s, v) = j.post("/seal-admin-applications", &person_tok, body.clone());
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "pending-review", "{v}");
    assert_eq!(v["data"]["applicant"], person.as_str(), "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    // Naming someone else is for A's seal administrators.
    let mut other = body.clone();
    other["applicant"] = json!(outsider);
    let (s, v) = j.post("/seal-admin-applications", &person_tok, other);
    denied(s, &v, "seal-admins.nominate");

    // Nobody decides their own; an outsider decides nothing.
    let (s, v) = j.event("seal-admin-applications", &id, &person_tok, "approve", 1);
    denied(s, &v, "seal-admins.decide");
    let (s, v) = j.event("seal-admin-applications", &id, &outsider_tok, "approve", 1);
    denied(s, &v, "seal-admins.decide");
    let (s, v) = j.get(&format!("/seal-admin-applications/{id}"), &outsider_tok);
    assert_eq!(s, 403, "{v}");

    // The reviewer of B finds it in the queue, returns it; resubmitted; approved.
    let (s, v) = j.get(
        "/seal-admin-applications?scope=review&state=pending-review",
        &reviewer_tok,
    );
    assert_eq!(s, 200, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "{v}"
    );
    let (s, home) = page(&j, "/home", &reviewer_tok);
    assert_eq!(s, 200, "{home}");
    assert!(
        home.contains("待审核的印章管理员申请"),
        "the reviewer's work queue: {home}"
    );
    let (s, v) = j.get("/seal-admin-applications?scope=review", &outsider_tok);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    let (s, v) = j.event("seal-admin-applications", &id, &reviewer_tok, "return", 1);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "returned");
    let (s, v) = j.event("seal-admin-applications", &id, &reviewer_tok, "approve", 2);
    assert_eq!(s, 409, "approve a returned application: {v}");
    let (s, v) = j.event("seal-admin-applications", &id, &person_tok, "resubmit", 2);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "pending-review");
    let (s, v) = j.event("seal-admin-applications", &id, &reviewer_tok, "approve", 3);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "approved");
    let (s, v) = j.get(&format!("/organisations/{a}/members"), &admin);
    assert_eq!(s, 200, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["username"] == person.as_str() && m["role"] == "seal-admin"),
        "{v}"
    );
    let (s, v) = j.get(
        &format!("/seal-admin-applications/{id}/history"),
        &person_tok,
    );
    assert_eq!(s, 200, "{v}");
    let events: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["create", "return", "resubmit", "approve"]);
    let (s, v) = j.post("/seal-admin-applications", &person_tok, body.clone());
    assert_eq!(s, 409, "already a seal administrator: {v}");
    // The new seal administrator manages A's members.
    let (s, v) = j.member(&person_tok, &a, &outsider, "applicant");
    assert_eq!(s, 201, "{v}");

    // A seal administrator names someone; the named person never decides their own, even as
    // a reviewer above; the one who named them withdraws it.
    let mut named = body.clone();
    named["applicant"] = json!(reviewer);
    let (s, v) = j.post("/seal-admin-applications", &person_tok, named);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["data"]["applicant"], reviewer.as_str(), "{v}");
    let nid = v["id"].as_str().unwrap().to_string();
    let (s, v) = j.event("seal-admin-applications", &nid, &reviewer_tok, "approve", 1);
    denied(s, &v, "seal-admins.decide");
    let (s, v) = j.get(&format!("/seal-admin-applications/{nid}"), &reviewer_tok);
    assert_eq!(s, 200, "the named applicant reads it: {v}");
    let (s, v) = j.event("seal-admin-applications", &nid, &person_tok, "withdraw", 1);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "withdrawn");

    // Organisation updates, by A's seal administrator.
    let licence = j.upload(&person_tok, "attachment");
    let (s, v) = j.post(
        "/org-updates",
        &outsider_tok,
        json!({"org_id": a, "name": "新名称有限公司", "licence_file": licence, "reason": "更名"}),
    );
    denied(s, &v, "organisations.update.apply");
    let (s, v) = j.post(
        "/org-updates",
        &person_tok,
        json!({"org_id": a, "name": "ＡＢＣ科技 有限公司", "licence_file": licence, "reason": "更名"}),
    );
    assert_eq!(s, 201, "{v}");
    let clash = v["id"].as_str().unwrap().to_string();
    let (s, v) = j.event("org-updates", &clash, &person_tok, "approve", 1);
    denied(s, &v, "organisations.update.decide");
    let (s, v) = j.event("org-updates", &clash, &reviewer_tok, "approve", 1);
    denied(s, &v, "organisations.update.decide");
    let (s, v) = j.event("org-updates", &clash, &operator, "approve", 1);
    assert_eq!(s, 409, "a folded name clash: {v}");
    let (_, org) = j.get(&format!("/organisations/{a}"), &person_tok);
    assert_eq!(org["name"], "单位甲有限公司", "nothing changed: {org}");
    let (_, v) = j.get(&format!("/org-updates/{clash}"), &person_tok);
    assert_eq!(v["state"], "pending-review", "{v}");
    assert_eq!(v["version"], 1, "{v}");
    // Withdrawn from the console's detail page.
    let (s, body) = page(&j, &format!("/org-updates/{clash}"), &person_tok);
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("待审核") && body.contains("撤回"), "{body}");
    let (s, to) = post_form(
        &j,
        &format!("/org-updates/{clash}/event"),
        &person_tok,
        &[("event", "withdraw"), ("version", "1"), ("comment", "")],
    );
    assert_eq!(s, 303, "{to}");
    let (_, v) = j.get(&format!("/org-updates/{clash}"), &person_tok);
    assert_eq!(v["state"], "withdrawn", "{v}");

    let (s, v) = j.post(
        "/org-updates",
        &person_tok,
        json!({"org_id": a, "name": "单位甲科技有限公司", "credit_code": "914403001922038216",
               "licence_file": licence, "reason": "更名并换发营业执照"}),
    );
    assert_eq!(s, 201, "{v}");
    let good = v["id"].as_str().unwrap().to_string();
    let (s, v) = j.get("/org-updates?scope=review&state=pending-review", &operator);
    assert_eq!(s, 200, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == good.as_str()),
        "{v}"
    );
    let (s, v) = j.event("org-updates", &good, &operator, "approve", 1);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "approved");
    let (_, org) = j.get(&format!("/organisations/{a}"), &person_tok);
    assert_eq!(org["name"], "单位甲科技有限公司", "{org}");
    assert_eq!(org["credit_code"], "914403001922038216", "{org}");
    assert_eq!(org["parent_id"], b.as_str(), "{org}");
    let (s, v) = j.get(&format!("/org-updates/{good}/history"), &person_tok);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");

    // The console: the queue, the detail with its history, the organisation's link to a change.
    let (s, body) = page(&j, "/seal-admin-applications", &person_tok);
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&id), "my application is listed: {body}");
    let (s, body) = page(&j, &format!("/seal-admin-applications/{id}"), &reviewer_tok);
    assert_eq!(s, 200, "{body}");
    assert!(
        body.contains("已通过") && body.contains("办理记录"),
        "{body}"
    );
    // The decider reads the signed form through the record (not by file id: not the uploader).
    let (s, _) = j.get(&format!("/files/{form}/content"), &reviewer_tok);
    assert_eq!(s, 403);
    let r = ureq::get(&format!("{}/seal-admin-applications/{id}/file", j.site))
        .set("Cookie", &format!("sealpki_session={reviewer_tok}"))
        .call()
        .expect("the form through the record");
    assert_eq!(r.content_type(), "image/png");
    assert!(r
        .header("content-disposition")
        .unwrap_or("")
        .starts_with("attachment"));
    let (s, body) = page(&j, &format!("/orgs/{a}"), &person_tok);
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&format!("/orgs/{a}/update")), "{body}");
    let (s, body) = page(&j, &format!("/orgs/{a}/update"), &person_tok);
    assert_eq!(s, 200, "{body}");
    let (s, body) = page(&j, "/seal-admin-applications/new", &person_tok);
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&a), "A among my organisations: {body}");
    let (s, _) = page(&j, &format!("/org-updates/{good}"), &outsider_tok);
    assert_eq!(s, 200, "a member of A reads A's updates");
    if matches!(env.db, Db::Sqlite) {
        let (zh_admins, en_admins) = ("印章管理员申请", "Seal administrator applications");
        let (zh_updates, en_updates) = ("单位信息变更申请", "Organisation update applications");
        chromium::session_shots(
            &srv.url,
            &person_tok,
            &[
                (
                    "admin-apps",
                    "/seal-admin-applications",
                    zh_admins,
                    en_admins,
                ),
                (
                    "admin-apply",
                    "/seal-admin-applications/new",
                    "申请",
                    "Apply",
                ),
                (
                    "org-update-apply",
                    &format!("/orgs/{a}/update"),
                    "变更",
                    "change",
                ),
                (
                    "org-update",
                    &format!("/org-updates/{good}"),
                    zh_updates,
                    en_updates,
                ),
                ("org-updates", "/org-updates", zh_updates, en_updates),
            ],
        );
        chromium::session_shots(
            &srv.url,
            &reviewer_tok,
            &[(
                "admin-app",
                &format!("/seal-admin-applications/{id}"),
                zh_admins,
                en_admins,
            )],
        );
    }

    // A parent inside A's own subtree, or A itself, is refused; so is a bad code.
    for parent in [&d, &a] {
        let (s, v) = j.post(
            "/org-updates",
            &person_tok,
            json!({"org_id": a, "parent_id": parent, "licence_file": licence, "reason": "调整"}),
        );
        assert_eq!(s, 422, "parent {parent}: {v}");
        assert!(v.to_string().contains("parent_id"), "{v}");
    }
    let (s, v) = j.post(
        "/org-updates",
        &person_tok,
        json!({"org_id": a, "credit_code": "91110108551385082X", "licence_file": licence, "reason": "x"}),
    );
    assert_eq!(s, 422, "{v}");
    let (_, org) = j.get(&format!("/organisations/{a}"), &person_tok);
    assert_eq!(org["parent_id"], b.as_str(), "{org}");

    // The audit log has the role granted and the organisation changed.
    let log = audit_log(env);
    assert!(
        log.iter()
            .any(|(_, action, d)| action == "membership.add" && d["application"] == id.as_str()),
        "membership.add with the application"
    );
    assert!(
        log.iter()
            .any(|(_, action, d)| action == "organisation.update"
                && d["application"] == good.as_str()),
        "organisation.update"
    );
}

#[test]
fn admin_applications_on_sqlite() {
    journey(&Env::new(EnvOptions::default()));
}

#[test]
fn admin_applications_on_postgres() {
    let Some(url) = pg_database("admins") else {
        return;
    };
    journey(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}
