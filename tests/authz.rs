//! Authorization of every route, generated from the server's own route table (the OpenAPI document
//! is built from it, and `tests/api.rs` checks the two agree): each (method, path) is called by
//! every kind of caller — nobody, a person without an organisation, an applicant of organisation A,
//! the seal administrator of A's parent, the seal administrator of an unrelated organisation B,
//! an operator, an auditor, an administrator — and the answer must be a refusal (401 for nobody,
//! 403 naming the permission for the others) exactly where the table below says so. A route the
//! table does not list fails the test, so a new route cannot be left out.
//!
//! Path parameters name things that do not exist where the route would change something
//! (`nobody`, `00`), so an allowed call ends in 404 or 400 and changes nothing; organisation routes
//! name A itself, so the policy sees the real tree.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Nobody,
    Person,
    Applicant,
    SealAdmin,
    OtherSealAdmin,
    Operator,
    Auditor,
    Admin,
}

const EVERYONE: &[Who] = &[
    Who::Nobody,
    Who::Person,
    Who::Applicant,
    Who::SealAdmin,
    Who::OtherSealAdmin,
    Who::Operator,
    Who::Auditor,
    Who::Admin,
];
const LOGGED_IN: &[Who] = &[
    Who::Person,
    Who::Applicant,
    Who::SealAdmin,
    Who::OtherSealAdmin,
    Who::Operator,
    Who::Auditor,
    Who::Admin,
];
const STAFF: &[Who] = &[Who::Operator, Who::Auditor, Who::Admin];
const OPERATORS: &[Who] = &[Who::Operator, Who::Admin];
const ADMIN: &[Who] = &[Who::Admin];
/// Members of A, the seal administrators above it, platform staff.
const ORG_READERS: &[Who] = &[
    Who::Applicant,
    Who::SealAdmin,
    Who::Operator,
    Who::Auditor,
    Who::Admin,
];
/// The seal administrators of A or above it, platform operators and administrators.
const ORG_MANAGERS: &[Who] = &[Who::SealAdmin, Who::Operator, Who::Admin];
/// Routes an app calls with a signed request or its client certificate: no session is enough.
const APP_PROOF: &[Who] = &[];
/// Who holds A's seals: its applicants and the seal administrators of A or above it.
const SEAL_HOLDERS: &[Who] = &[Who::Applicant, Who::SealAdmin];
/// Who sees app authorizations: seal administrators (of their own subtrees) and platform staff.
const GRANT_READERS: &[Who] = &[
    Who::SealAdmin,
    Who::OtherSealAdmin,
    Who::Operator,
    Who::Auditor,
    Who::Admin,
];

/// Who may call each route (others are refused). Every route of the document must be here.
fn expected() -> BTreeMap<(&'static str, &'static str), &'static [Who]> {
    BTreeMap::from([
        (("get", "/healthz"), EVERYONE),
        (("get", "/readyz"), EVERYONE),
        (("get", "/metrics"), STAFF),
        (("get", "/api/openapi.json"), EVERYONE),
        (("post", "/api/v1/login"), EVERYONE),
        (("post", "/api/v1/logout"), LOGGED_IN),
        (("post", "/api/v1/operators"), ADMIN),
        (("post", "/api/v1/operators/{name}/{action}"), ADMIN),
        (("post", "/api/v1/register/code"), EVERYONE),
        (("post", "/api/v1/register"), EVERYONE),
        (("post", "/api/v1/password-reset"), EVERYONE),
        (("get", "/api/v1/account"), LOGGED_IN),
        (("post", "/api/v1/account/password"), LOGGED_IN),
        (("get", "/api/v1/account/sessions"), LOGGED_IN),
        (("delete", "/api/v1/account/sessions/{id}"), LOGGED_IN),
        (("post", "/api/v1/account/totp"), LOGGED_IN),
        (("post", "/api/v1/account/totp/confirm"), LOGGED_IN),
        (("post", "/api/v1/organisations"), OPERATORS),
        (("get", "/api/v1/organisations"), LOGGED_IN),
        (("get", "/api/v1/organisations/{id}"), LOGGED_IN),
        (("get", "/api/v1/organisations/{id}/members"), ORG_READERS),
        (("post", "/api/v1/organisations/{id}/members"), ORG_MANAGERS),
        (
            (
                "delete",
                "/api/v1/organisations/{id}/members/{username}/{role}",
            ),
            ORG_MANAGERS,
        ),
        (("post", "/api/v1/certificates"), OPERATORS),
        (("get", "/api/v1/certificates"), STAFF),
        (("get", "/api/v1/certificates/{serial}"), STAFF),
        (("get", "/api/v1/certificates/{serial}/{format}"), STAFF),
        (
            ("post", "/api/v1/certificates/{serial}/{format}"),
            OPERATORS,
        ),
        (("post", "/api/v1/certificates/verify"), EVERYONE),
        (("get", "/api/v1/cas"), EVERYONE),
        (("get", "/api/v1/cas/{name}/chain"), EVERYONE),
        (("post", "/api/v1/cas/{name}/rollover"), ADMIN),
        (("post", "/api/v1/ses/inspect"), EVERYONE),
        (("post", "/api/v1/ses/verify"), EVERYONE),
        (("get", "/ca/{file}"), EVERYONE),
        (("get", "/crl/{file}"), EVERYONE),
        (("post", "/tsa"), EVERYONE),
        (("post", "/ocsp/{ca}"), EVERYONE),
        (("get", "/ocsp/{ca}/{request}"), EVERYONE),
        (("post", "/api/v1/workflows/{kind}"), OPERATORS),
        (("get", "/api/v1/workflows/{kind}"), STAFF),
        (("get", "/api/v1/workflows/{kind}/{id}"), STAFF),
        (("post", "/api/v1/workflows/{kind}/{id}/events"), OPERATORS),
        (("get", "/api/v1/workflows/{kind}/{id}/history"), STAFF),
        (("post", "/api/v1/pdf/sign"), OPERATORS),
        (("post", "/api/v1/seal-applications"), LOGGED_IN),
        (("get", "/api/v1/seal-applications"), LOGGED_IN),
        (("get", "/api/v1/seal-applications/{id}"), ORG_READERS),
        (("get", "/api/v1/seal-applications/{id}/form"), ORG_READERS),
        (("post", "/api/v1/seal-applications/{id}/events"), LOGGED_IN),
        (
            ("get", "/api/v1/seal-applications/{id}/history"),
            ORG_READERS,
        ),
        (("post", "/api/v1/seal-operations"), LOGGED_IN),
        (("get", "/api/v1/seal-operations/{id}"), LOGGED_IN),
        (("post", "/api/v1/seal-operations/{id}/events"), LOGGED_IN),
        (("get", "/api/v1/seals"), LOGGED_IN),
        (("get", "/api/v1/seals/{id}"), ORG_READERS),
        (("get", "/api/v1/seals/{id}/history"), ORG_READERS),
        (("get", "/api/v1/seals/{id}/file"), ORG_READERS),
        (("post", "/api/v1/seals/{id}/sign"), SEAL_HOLDERS),
        (("get", "/api/v1/seal-status"), EVERYONE),
        (("post", "/api/v1/pdf/verify"), EVERYONE),
        (("post", "/api/v1/files"), LOGGED_IN),
        (("get", "/api/v1/files/{id}"), LOGGED_IN),
        (("get", "/api/v1/files/{id}/content"), LOGGED_IN),
        (("get", "/api/v1/jobs"), ADMIN),
        (("post", "/api/v1/jobs/{id}/retry"), ADMIN),
        (("get", "/api/v1/notifications"), LOGGED_IN),
        (("get", "/api/v1/notifications/unread-count"), LOGGED_IN),
        (("post", "/api/v1/notifications/{id}/read"), LOGGED_IN),
        (("post", "/api/v1/notifications/read-all"), LOGGED_IN),
        (("post", "/api/v1/notifications/test"), ADMIN),
        (
            ("post", "/api/v1/seal-applications/{id}/order"),
            SEAL_HOLDERS,
        ),
        (("get", "/api/v1/orders"), LOGGED_IN),
        (("get", "/api/v1/orders/{id}"), LOGGED_IN),
        (("post", "/api/v1/orders/{id}/logistics"), OPERATORS),
        (("get", "/api/v1/platform-keys"), OPERATORS),
        (("post", "/api/v1/payments/dev/callback"), EVERYONE),
        (("get", "/api/v1/addresses"), LOGGED_IN),
        (("post", "/api/v1/addresses"), LOGGED_IN),
        (("delete", "/api/v1/addresses/{id}"), LOGGED_IN),
        (("post", "/api/v1/addresses/{id}/default"), LOGGED_IN),
        (("get", "/api/v1/unified-payers"), OPERATORS),
        (("post", "/api/v1/unified-payers"), OPERATORS),
        // The holder's side of A's application (seals.apply); here a cloud one, so those let in
        // are told there is no token to enrol (422).
        (
            ("post", "/api/v1/seal-applications/{id}/ukey/csr"),
            SEAL_HOLDERS,
        ),
        (
            ("post", "/api/v1/seal-applications/{id}/ukey/receipt"),
            SEAL_HOLDERS,
        ),
        // Bodies of `{}` and ids that do not exist: refused as bad input or not found, whoever asks.
        (("post", "/api/v1/seal-admin-applications"), LOGGED_IN),
        (("get", "/api/v1/seal-admin-applications"), LOGGED_IN),
        (("get", "/api/v1/seal-admin-applications/{id}"), LOGGED_IN),
        (
            ("post", "/api/v1/seal-admin-applications/{id}/events"),
            LOGGED_IN,
        ),
        (
            ("get", "/api/v1/seal-admin-applications/{id}/history"),
            LOGGED_IN,
        ),
        (("post", "/api/v1/org-updates"), LOGGED_IN),
        (("get", "/api/v1/org-updates"), LOGGED_IN),
        (("get", "/api/v1/org-updates/{id}"), LOGGED_IN),
        (("post", "/api/v1/org-updates/{id}/events"), LOGGED_IN),
        (("get", "/api/v1/org-updates/{id}/history"), LOGGED_IN),
        // App authorizations: bodies of `{}` are refused as bad input whoever asks; the lists are
        // a seal administrator's (or staff's); the verifier is public.
        (("post", "/api/v1/app-grants"), LOGGED_IN),
        (("post", "/api/v1/app-grants/withdraw"), LOGGED_IN),
        (("post", "/api/v1/app-grants/sync"), LOGGED_IN),
        (("post", "/api/v1/app-grants/verify"), EVERYONE),
        (("get", "/api/v1/app-grants/apps"), GRANT_READERS),
        (("get", "/api/v1/app-grants/{id}"), LOGGED_IN),
        (("get", "/api/v1/app-grants/{id}/credential"), LOGGED_IN),
        (("get", "/api/v1/apps/{id}/grants"), GRANT_READERS),
        (("get", "/api/v1/apps/{id}/grant-events"), LOGGED_IN),
        (("get", "/api/v1/seals/{id}/grants"), ORG_READERS),
        // Apps: the registry is platform staff's (apps.manage, asked before the body); the
        // rest decide per app, and the app `nosuch` does not exist (404, or 400 for a body).
        (("post", "/api/v1/apps"), OPERATORS),
        (("get", "/api/v1/apps"), LOGGED_IN),
        (("get", "/api/v1/apps/{id}"), LOGGED_IN),
        (("patch", "/api/v1/apps/{id}"), LOGGED_IN),
        (("post", "/api/v1/apps/{id}/events"), OPERATORS),
        (("put", "/api/v1/apps/{id}/limits"), OPERATORS),
        (("get", "/api/v1/apps/{id}/credentials"), LOGGED_IN),
        (("post", "/api/v1/apps/{id}/credentials"), LOGGED_IN),
        (("post", "/api/v1/apps/{id}/webhook-secret"), LOGGED_IN),
        (("post", "/api/v1/apps/{id}/webhook-test"), LOGGED_IN),
        (("get", "/api/v1/apps/{id}/webhook-deliveries"), LOGGED_IN),
        (("post", "/api/v1/apps/{id}/certificates"), LOGGED_IN),
        (
            (
                "get",
                "/api/v1/apps/{id}/credentials/{credential}/certificate",
            ),
            LOGGED_IN,
        ),
        (
            ("post", "/api/v1/apps/{id}/credentials/{credential}/revoke"),
            LOGGED_IN,
        ),
        // Called by apps with their own proof: every person's caller is refused with 401.
        (("get", "/api/v1/app/whoami"), APP_PROOF),
        (("post", "/api/v1/app/seal"), APP_PROOF),
        (("post", "/api/v1/app/keywords"), APP_PROOF),
        (("get", "/api/v1/app/evidence/{sha256}"), APP_PROOF),
        (("get", "/api/v1/app/evidence/{sha256}/report"), APP_PROOF),
        (("get", "/api/v1/app/usage"), APP_PROOF),
        (("post", "/api/v1/app/seal-batch"), APP_PROOF),
        (("post", "/api/v1/app/jobs"), APP_PROOF),
        (("get", "/api/v1/app/jobs"), APP_PROOF),
        (("get", "/api/v1/app/jobs/{id}"), APP_PROOF),
        (("get", "/api/v1/app/documents/{sha256}"), APP_PROOF),
        (("get", "/api/v1/app/webhook-deliveries"), APP_PROOF),
    ])
}

/// An application of `org` (approving authority `authority`) taken to a produced cloud seal:
/// (application id, seal id).
fn seal_of(
    api: &str,
    applicant: &str,
    admin: &str,
    org: &str,
    authority: &str,
) -> (String, String) {
    let (s, v, _) = post(
        &format!("{api}/seal-applications"),
        Some(applicant),
        &json!({"org_id": org, "seal_name": "单位甲合同专用章", "seal_type": "contract",
                "mode": "cloud", "years": 1, "authority_id": authority})
        .to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let scan = ureq::post(&format!("{api}/files?purpose=application-scan"))
        .set("Authorization", &format!("Bearer {applicant}"))
        .set("Content-Type", "application/pdf")
        .set("X-File-Name", "scan.pdf")
        .send_bytes(&minimal_pdf())
        .expect("upload")
        .into_json::<Value>()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (who, event, version, extra) in [
        (applicant, "attach-scan", 1, json!({"attachments": [scan]})),
        (applicant, "submit", 2, json!({})),
        (admin, "approve", 3, json!({})),
    ] {
        let mut body = json!({"event": event, "version": version});
        if let Some(m) = extra.as_object() {
            for (k, x) in m {
                body[k] = x.clone();
            }
        }
        let (s, v, _) = post(
            &format!("{api}/seal-applications/{id}/events"),
            Some(who),
            &body.to_string(),
        );
        assert_eq!(s, 200, "{event}: {v}");
    }
    let (s, body) = get(&format!("{api}/seals?scope=applied"), Some(applicant));
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    (id, v["items"][0]["id"].as_str().unwrap().to_string())
}

fn call(method: &str, url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = ureq::request(&method.to_ascii_uppercase(), url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let r = if method == "get" || method == "delete" {
        req.call()
    } else {
        req.set("Content-Type", "application/json")
            .send_string("{}")
    };
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let api = format!("{}/api/v1", srv.url);
    let admin = srv.login();
    let operator = srv.new_staff(&admin, "olga", "operator");
    let auditor = srv.new_staff(&admin, "arthur", "auditor");
    let (_, person_tok) = register_person(env, &srv, "13800000001", "11010519800101001");
    let (applicant, applicant_tok) = register_person(env, &srv, "13800000002", "11010519800101002");
    let (seal_admin, seal_admin_tok) =
        register_person(env, &srv, "13800000003", "11010519800101003");
    let (other_admin, other_admin_tok) =
        register_person(env, &srv, "13800000004", "11010519800101004");
    let org = |code: &str, name: &str, parent: Option<&str>| {
        let (s, v, _) = post(
            &format!("{api}/organisations"),
            Some(&admin),
            &json!({"credit_code": code, "name": name, "kind": "enterprise", "region": "110108",
                    "parent_id": parent})
            .to_string(),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let parent = org("91110000802100433B", "上级单位", None);
    let a = org("91110108551385082Q", "单位甲", Some(&parent));
    let b = org("914403001922038216", "单位乙", None);
    for (o, user, role) in [
        (&a, &applicant, "applicant"),
        (&parent, &seal_admin, "seal-admin"),
        (&b, &other_admin, "seal-admin"),
    ] {
        let (s, v, _) = post(
            &format!("{api}/organisations/{o}/members"),
            Some(&admin),
            &json!({"username": user, "role": role}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
    }
    // A seal of A (an application approved by the platform's staff, who may review when nobody
    // else does): its routes are called with real ids, so the organisation's policy decides.
    // Beijing pays for its region's applications (unified payment), so A's may be submitted.
    let bureau = {
        let (s, v, _) = post(
            &format!("{api}/organisations"),
            Some(&admin),
            &json!({"credit_code": "11330100002482154U", "name": "北京市某局",
                    "kind": "government", "region": "110000"})
            .to_string(),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let (s, v, _) = post(
        &format!("{api}/unified-payers"),
        Some(&admin),
        &json!({"payer_org_id": bureau, "region": "110000"}).to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let (application, seal) = seal_of(&api, &applicant_tok, &admin, &a, &b);
    let tokens: BTreeMap<Who, Option<String>> = BTreeMap::from([
        (Who::Nobody, None),
        (Who::Person, Some(person_tok)),
        (Who::Applicant, Some(applicant_tok)),
        (Who::SealAdmin, Some(seal_admin_tok)),
        (Who::OtherSealAdmin, Some(other_admin_tok)),
        (Who::Operator, Some(operator)),
        (Who::Auditor, Some(auditor)),
        (Who::Admin, Some(admin)),
    ]);

    // The routes, from the document the route table makes.
    let (_, body) = get(&format!("{}/api/openapi.json", srv.url), None);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                routes.push((method.to_string(), path.clone()));
            }
        }
    }
    let table = expected();
    let missing: Vec<_> = routes
        .iter()
        .filter(|(m, p)| !table.contains_key(&(m.as_str(), p.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an expected authorization (add them to the table): {missing:?}"
    );
    let gone: Vec<_> = table
        .keys()
        .filter(|(m, p)| !routes.iter().any(|(rm, rp)| rm == m && rp == p))
        .collect();
    assert!(
        gone.is_empty(),
        "table rows for routes that no longer exist: {gone:?}"
    );

    // Logging out ends the session the other calls need: last.
    routes.sort_by_key(|(_, p)| p == "/api/v1/logout");
    let mut wrong = Vec::new();
    for (method, path) in &routes {
        let url = format!("{}{}", srv.url, path)
            .replace("/organisations/{id}", &format!("/organisations/{a}"))
            .replace(
                "/seal-applications/{id}",
                &format!("/seal-applications/{application}"),
            )
            .replace("/seals/{id}", &format!("/seals/{seal}"))
            .replace("{name}/{action}", "nobody/disable")
            .replace("{name}", "nosuch")
            .replace("{username}/{role}", "nobody/applicant")
            .replace("{serial}/{format}", "00/revoke")
            .replace("{serial}", "00")
            .replace("{kind}", "authority-certificate")
            .replace("{file}", "root.crt")
            .replace("{ca}", "root")
            .replace("{request}", "MAo")
            .replace("{credential}", "nosuch")
            .replace("{id}", "nosuch");
        let allowed = table[&(method.as_str(), path.as_str())];
        for (who, token) in &tokens {
            let (status, body) = call(method, &url, token.as_deref());
            let refused = status == 401 || status == 403;
            let should = !allowed.contains(who);
            let why_ok = match (should, who) {
                (true, _) if path.starts_with("/api/v1/app/") => status == 401,
                (true, Who::Nobody) => status == 401,
                (true, _) => status == 403 && body.contains("permission"),
                (false, _) => !refused,
            };
            if !why_ok {
                wrong.push(format!(
                    "{} {path} as {who:?}: {status} (expected {}) {}",
                    method.to_ascii_uppercase(),
                    if should { "a refusal" } else { "no refusal" },
                    body.chars().take(160).collect::<String>()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "authorization differs from the table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_route_by_every_role_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn every_route_by_every_role_on_postgres() {
    let Some(url) = pg_database("authz") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}
