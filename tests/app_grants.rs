//! Seal administrators authorize apps (issue 13), on SQLite and PostgreSQL over HTTP: one seal, a
//! batch and an organisation subtree; lists both ways with names; sync to other apps (adding, and
//! exact); withdrawal by id, by seals and by subtree; the signed credential verified by our API and
//! by pycose with the grant signer's certificate, and refused once withdrawn; wrong roles 403,
//! out-of-order 409, bad input (an unknown seal in a batch, a UKey app, four years) with nothing
//! changed. The signing API's check (`App::app_grant_in_force`, `count_grant_use`) is asked
//! in-process beside the server: a lost seal refuses every app and restore makes it work again,
//! expiry, the use limit under concurrency; the sweep's effective / expiring / expired events and
//! notices. A Chromium journey through the two-step console screens, with screenshots.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

use sealpki::error::AppError;

const PASSWORD: &str = "a long enough passphrase";

struct World {
    w: SealWorld,
    admin_tok: String,
    /// The seal administrator of the company (and so of its branch).
    sa: String,
    sa_tok: String,
    other_sa_tok: String,
    branch: String,
    /// Seals of the company (three) and of its branch (one): (id, code).
    seals: Vec<(String, String)>,
    /// Cloud-signing apps A, B, C and a UKey app U.
    apps: [String; 4],
}

fn api_get(api: &str, path: &str, tok: &str) -> (u16, Value) {
    let (s, b) = get(&format!("{api}{path}"), Some(tok));
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn api_post(api: &str, path: &str, tok: &str, body: Value) -> (u16, Value) {
    let (s, v, _) = post(&format!("{api}{path}"), Some(tok), &body.to_string());
    (s, v)
}

/// A cloud seal of `org` named `name`, applied for by `tok` and approved by the reviewer.
fn cloud_seal(w: &SealWorld, tok: &str, org: &str, name: &str) -> (String, String) {
    let api = &w.api;
    let (s, a) = api_post(
        api,
        "/seal-applications",
        tok,
        json!({"org_id": org, "seal_name": name, "seal_type": "contract", "mode": "cloud",
               "years": 1, "authority_id": w.bureau}),
    );
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (_, o) = api_post(
        api,
        &format!("/seal-applications/{id}/order"),
        tok,
        json!({}),
    );
    let first = o["state"].as_str().map_or(1, |_| 2);
    let scan = upload_scan(api, tok);
    for (step, (t, ev, extra)) in [
        (tok, "attach-scan", json!({"attachments": [scan]})),
        (tok, "submit", json!({})),
        (w.reviewer_tok.as_str(), "approve", json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({"event": ev, "version": first + step as i64});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                body[k] = v.clone();
            }
        }
        let (s, v) = api_post(api, &format!("/seal-applications/{id}/events"), t, body);
        assert_eq!(s, 200, "{ev}: {v}");
    }
    let (s, v) = api_get(api, &format!("/seal-applications/{id}"), tok);
    assert_eq!(s, 200, "{v}");
    let (_, seals) = api_get(api, "/seals?scope=managed&limit=500", &w.admin);
    let seal = seals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["application_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no seal for {id}: {seals}"))
        .clone();
    (
        seal["id"].as_str().unwrap().to_string(),
        seal["code"].as_str().unwrap().to_string(),
    )
}

fn world(env: &Env, srv: &Server, prefix: &str) -> World {
    let w = seal_world(env, srv, prefix);
    w.unified_payment();
    let api = w.api.clone();
    let admin_tok = w.admin.clone();
    let (sa, sa_tok) = register_person(env, srv, &format!("{prefix}3"), "33010619800101013");
    let (other, other_sa_tok) =
        register_person(env, srv, &format!("{prefix}4"), "33010619800101014");
    let (s, v) = api_post(
        &api,
        "/organisations",
        &admin_tok,
        json!({"credit_code": "91330106MA2H2XY11T", "name": "杭州示例科技有限公司滨江分公司",
               "kind": "enterprise", "region": "330106", "parent_id": w.unit}),
    );
    assert_eq!(s, 201, "{v}");
    let branch = v["id"].as_str().unwrap().to_string();
    let (s, v) = api_post(
        &api,
        "/organisations",
        &admin_tok,
        json!({"credit_code": "91330106MA2H2XY2XJ", "name": "另一家公司",
               "kind": "enterprise", "region": "330106"}),
    );
    assert_eq!(s, 201, "{v}");
    let elsewhere = v["id"].as_str().unwrap().to_string();
    for (o, user) in [(&w.unit, &sa), (&elsewhere, &other)] {
        let (s, v) = api_post(
            &api,
            &format!("/organisations/{o}/members"),
            &admin_tok,
            json!({"username": user, "role": "seal-admin"}),
        );
        assert_eq!(s, 201, "{v}");
    }
    let mut seals = Vec::new();
    for n in ["合同专用章甲", "合同专用章乙", "合同专用章丙"] {
        seals.push(cloud_seal(
            &w,
            &w.applicant_tok,
            &w.unit,
            &format!("杭州示例科技有限公司{n}"),
        ));
    }
    seals.push(cloud_seal(
        &w,
        &sa_tok,
        &branch,
        "杭州示例科技有限公司滨江分公司合同专用章",
    ));
    let mut apps = Vec::new();
    for (name, kind) in [
        ("合同管理系统", "cloud-signing"),
        ("电子发票平台", "cloud-signing"),
        ("办公自动化系统", "cloud-signing"),
        ("UKEY 签章客户端", "ukey"),
    ] {
        let (s, v) = api_post(
            &api,
            "/apps",
            &admin_tok,
            json!({"name": name, "kind": kind, "supervising_org_id": w.bureau,
                   "developer_org_id": w.unit, "owner": w.applicant}),
        );
        assert_eq!(s, 201, "{v}");
        apps.push(v["id"].as_str().unwrap().to_string());
    }
    World {
        w,
        admin_tok,
        sa,
        sa_tok,
        other_sa_tok,
        branch,
        seals,
        apps: apps.try_into().unwrap(),
    }
}

fn until(days: i64) -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + days * 86_400
}

/// The live grants of `app` as the seal administrator sees them: seal ids.
fn live(x: &World, app: &str) -> Vec<String> {
    let (s, v) = api_get(&x.w.api, &format!("/apps/{app}/grants"), &x.sa_tok);
    assert_eq!(s, 200, "{v}");
    let mut ids: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["seal_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The server's own App beside it (the signing API's view), on the same database.
fn in_process(env: &Env) -> (tokio::runtime::Runtime, Arc<sealpki::app::App>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = sealpki::config::Config::load(Some(&env.config), None).unwrap();
    let app = rt.block_on(sealpki::app::App::open(config)).unwrap();
    (rt, app)
}

fn refused(r: Result<sealpki::apps::grant_service::GrantInForce, AppError>) -> &'static str {
    match r {
        Err(AppError::GrantRefused { reason, .. }) => reason,
        Err(e) => panic!("refused otherwise: {e}"),
        Ok(g) => panic!("in force: {g:?}"),
    }
}

fn journey(env: &Env, prefix: &str) {
    env.init_dev();
    let srv = env.serve();
    let x = world(env, &srv, prefix);
    let api = x.w.api.clone();
    let [a, b, c, u] = x.apps.clone();
    let s: Vec<String> = x.seals.iter().map(|s| s.0.clone()).collect();
    let sa = x.sa_tok.as_str();

    // ---- Wrong roles: 403 naming the permission; nobody 401.
    let one = json!({"app_id": a, "seal_ids": [s[0]], "valid_until": until(30)});
    for tok in [
        &x.w.applicant_tok,
        &x.other_sa_tok,
        &x.admin_tok,
        &x.w.reviewer_tok,
    ] {
        let (st, v) = api_post(&api, "/app-grants", tok, one.clone());
        assert_eq!(st, 403, "{v}");
        assert!(
            v["detail"].as_str().unwrap().contains("apps.authorize"),
            "{v}"
        );
    }
    let (st, _, _) = post(&format!("{api}/app-grants"), None, &one.to_string());
    assert_eq!(st, 401);
    let (st, v) = api_get(&api, &format!("/apps/{a}/grants"), &x.w.applicant_tok);
    assert_eq!(st, 403, "a person who administers nothing: {v}");

    // ---- Bad input changes nothing and says which.
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[0], "nosuchseal"], "valid_until": until(30)}),
    );
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["field"], "seal_ids", "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nosuchseal"), "{v}");
    assert!(live(&x, &a).is_empty(), "nothing granted");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": u, "seal_ids": [s[0]], "valid_until": until(30)}),
    );
    assert_eq!(st, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("UKey"), "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[0]], "valid_until": until(4 * 365)}),
    );
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["field"], "valid_until", "{v}");
    for bad in [
        json!({"app_id": a, "seal_ids": [s[0]], "valid_until": until(30), "use_limit": 0}),
        json!({"app_id": a, "valid_until": until(30)}),
        json!({"app_id": a, "seal_ids": [], "valid_until": until(30)}),
        json!({"app_id": a, "seal_ids": [s[0]], "valid_until": "soon"}),
        json!({"app_id": a, "seal_ids": [s[0]], "valid_until": until(30), "extra": 1}),
    ] {
        let (st, v) = api_post(&api, "/app-grants", sa, bad.clone());
        assert!(st == 400 || st == 422, "{bad}: {st} {v}");
    }
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": "nosuchapp", "seal_ids": [s[0]], "valid_until": until(30)}),
    );
    assert_eq!(st, 404, "{v}");
    assert!(live(&x, &a).is_empty(), "still nothing granted");

    // ---- One seal, then a batch; a batch naming a granted seal is a 409 with nothing changed.
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[0]], "valid_until": until(30), "use_limit": 2}),
    );
    assert_eq!(st, 201, "{v}");
    let g0 = v["granted"][0].clone();
    assert_eq!(g0["state"], "effective", "{v}");
    assert_eq!(g0["in_force"], true, "{v}");
    assert_eq!(g0["seal_name"], "杭州示例科技有限公司合同专用章甲", "{v}");
    assert_eq!(g0["app_name"], "合同管理系统", "{v}");
    assert_eq!(g0["org_name"], "杭州示例科技有限公司", "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[1], s[2]], "valid_until": until(90)}),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["granted"].as_array().unwrap().len(), 2, "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[3], s[0]], "valid_until": until(90)}),
    );
    assert_eq!(st, 409, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("合同专用章甲"),
        "{v}"
    );
    assert_eq!(
        live(&x, &a),
        sorted(vec![s[0].clone(), s[1].clone(), s[2].clone()]),
        "the branch's seal was not granted by the refused batch"
    );

    // ---- All seals of an organisation subtree: the branch, then the company (the branch's seal,
    // granted already, skipped).
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": b, "org_id": x.branch, "valid_until": until(60)}),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["granted"][0]["seal_id"], s[3].as_str(), "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": b, "org_id": x.w.unit, "valid_until": until(60)}),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["granted"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["skipped"][0]["seal_id"], s[3].as_str(), "{v}");
    assert_eq!(v["skipped"][0]["reason"], "already-granted", "{v}");
    assert_eq!(live(&x, &b), sorted(s.clone()));
    // Another company's seal administrator sees none of it; a subtree outside theirs is refused.
    let (st, v) = api_get(&api, &format!("/apps/{b}/grants"), &x.other_sa_tok);
    assert_eq!(st, 200, "{v}");
    assert!(v["items"].as_array().unwrap().is_empty(), "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants",
        &x.other_sa_tok,
        json!({"app_id": c, "org_id": x.w.unit, "valid_until": until(60)}),
    );
    assert_eq!(st, 403, "{v}");

    // ---- Lists both ways, with names.
    let (st, v) = api_get(&api, &format!("/seals/{}/grants", s[0]), sa);
    assert_eq!(st, 200, "{v}");
    let mut names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["app_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["合同管理系统", "电子发票平台"], "{v}");
    let (st, v) = api_get(&api, &format!("/seals/{}/grants", s[0]), &x.w.applicant_tok);
    assert_eq!(st, 200, "the seal's holder sees its apps: {v}");
    let (st, v) = api_get(&api, &format!("/apps/{a}/grants"), sa);
    assert_eq!(st, 200);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| !g["seal_name"].as_str().unwrap().is_empty()
            && g["org_name"] == "杭州示例科技有限公司"));
    let (st, v) = api_get(&api, &format!("/apps/{b}/grants?org={}", x.branch), sa);
    assert_eq!(st, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (st, v) = api_get(&api, "/app-grants/apps", sa);
    assert_eq!(st, 200, "{v}");
    let counts: Vec<(String, i64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["app"]["name"].as_str().unwrap().to_string(),
                g["seals"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("合同管理系统".into(), 3)), "{v}");
    assert!(counts.contains(&("电子发票平台".into(), 4)), "{v}");
    // The UKey app lists its seals read only (none are UKey seals here) and takes no grants.
    let (st, v) = api_get(&api, &format!("/apps/{u}/grants"), sa);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["read_only"], true, "{v}");

    // ---- Sync A's seals to C (adding), then B's to C exactly, then A's to C exactly.
    let (st, v) = api_post(
        &api,
        "/app-grants/sync",
        sa,
        json!({"from_app_id": a, "to_app_ids": [c]}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["targets"][0]["granted"].as_array().unwrap().len(),
        3,
        "{v}"
    );
    assert_eq!(live(&x, &c), live(&x, &a));
    let (st, v) = api_post(
        &api,
        "/app-grants/sync",
        sa,
        json!({"from_app_id": b, "to_app_ids": [c], "exact": true}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(live(&x, &c), live(&x, &b));
    let (st, v) = api_post(
        &api,
        "/app-grants/sync",
        sa,
        json!({"from_app_id": a, "to_app_ids": [c], "exact": true}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["targets"][0]["withdrawn"][0]["seal_id"],
        s[3].as_str(),
        "{v}"
    );
    assert_eq!(live(&x, &c), live(&x, &a));
    let (st, v) = api_post(
        &api,
        "/app-grants/sync",
        sa,
        json!({"from_app_id": a, "to_app_ids": [u]}),
    );
    assert_eq!(st, 422, "not to a UKey app: {v}");

    // ---- The credential: our verifier, then pycose with the grant signer's certificate.
    let gid = g0["id"].as_str().unwrap().to_string();
    let (st, cose) = get(&format!("{api}/app-grants/{gid}/credential"), Some(sa));
    assert_eq!(st, 200);
    let verify = |bytes: &[u8]| -> Value {
        let r = ureq::post(&format!("{api}/app-grants/verify"))
            .set("Content-Type", "application/cose")
            .send_bytes(bytes);
        let r = match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("verify: {e}"),
        };
        assert_eq!(r.status(), 200);
        r.into_json().unwrap()
    };
    let v = verify(&cose);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["grant"]["id"], gid.as_str(), "{v}");
    let mut bad = cose.clone();
    let n = bad.len() - 3;
    bad[n] ^= 1;
    assert_eq!(verify(&bad)["verdict"], "invalid");
    assert_eq!(verify(b"not cose")["verdict"], "invalid");
    let (_, keys) = api_get(&api, "/platform-keys", &x.admin_tok);
    let serial = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "platform-grant-signer")
        .and_then(|k| k["cert_serial"].as_str())
        .unwrap_or_else(|| panic!("no grant signer: {keys}"))
        .to_string();
    let (st, pem) = get(
        &format!("{api}/certificates/{serial}/pem"),
        Some(&x.admin_tok),
    );
    assert_eq!(st, 200);
    let (cose_f, pem_f) = (env.path("grant.cose"), env.path("grant-signer.pem"));
    std::fs::write(&cose_f, &cose).unwrap();
    std::fs::write(&pem_f, &pem).unwrap();
    let out = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grant_cose.py"))
        .arg(&cose_f)
        .arg(&pem_f)
        .arg(&a)
        .arg(&x.seals[0].1));
    let said = ok(&out, "pycose");
    let claims: Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(
        claims["claims"]["5"], 2,
        "the use limit is in the credential: {claims}"
    );
    assert_eq!(claims["claims"]["6"], gid.as_str(), "{claims}");
    // openssl agrees the signer's certificate chains to our root.
    let (chain, root) = env.chain("service");
    let out = run(Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .arg(&chain)
        .arg(&pem_f));
    ok(&out, "openssl verify of the grant signer");

    // ---- The signing API's check, in-process beside the server.
    let (rt, app) = in_process(env);
    let g = rt.block_on(app.app_grant_in_force(&a, &s[0])).unwrap();
    assert_eq!(g.grant_id, gid);
    assert_eq!(
        refused(rt.block_on(app.app_grant_in_force(&u, &s[0]))),
        "ukey-app"
    );
    // The use limit: two sealings, then refused.
    assert_eq!(rt.block_on(app.count_grant_use(&g)).unwrap(), 1);
    assert_eq!(rt.block_on(app.count_grant_use(&g)).unwrap(), 2);
    assert!(matches!(
        rt.block_on(app.count_grant_use(&g)),
        Err(AppError::GrantRefused {
            reason: "use-limit-reached",
            ..
        })
    ));
    assert_eq!(
        refused(rt.block_on(app.app_grant_in_force(&a, &s[0]))),
        "use-limit-reached"
    );
    // Counted atomically: 12 sealings at once against a limit of 5 → exactly 5.
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": c, "seal_ids": [s[3]], "valid_until": until(30), "use_limit": 5}),
    );
    assert_eq!(st, 201, "{v}");
    let g5 = rt.block_on(app.app_grant_in_force(&c, &s[3])).unwrap();
    let counted = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (app, g) = (app.clone(), g5.clone());
            tasks.push(tokio::spawn(async move { app.count_grant_use(&g).await }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(counted, 5, "never past the limit");
    let (_, v) = api_get(&api, &format!("/app-grants/{}", g5.grant_id), sa);
    assert_eq!(v["uses"], 5, "{v}");
    assert_eq!(v["in_force"], false, "{v}");

    // A lost seal stops every app at once; restored, it works again.
    assert!(rt.block_on(app.app_grant_in_force(&b, &s[1])).is_ok());
    let (st, lost) = api_post(
        &api,
        "/seal-operations",
        &x.w.applicant_tok,
        json!({"seal_id": s[1], "operation": "report-loss", "reason": "遗失"}),
    );
    assert_eq!(st, 201, "{lost}");
    for app_id in [&a, &b, &c] {
        assert_eq!(
            refused(rt.block_on(app.app_grant_in_force(app_id, &s[1]))),
            "seal-lost"
        );
    }
    let (st, v) = api_get(&api, &format!("/seals/{}/grants", s[1]), sa);
    assert_eq!(st, 200);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["in_force"] == false && g["seal_state"] == "lost"));
    let (st, v) = api_post(
        &api,
        &format!("/seal-operations/{}/events", lost["id"].as_str().unwrap()),
        &x.w.reviewer_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, r) = api_post(
        &api,
        "/seal-operations",
        &x.w.applicant_tok,
        json!({"seal_id": s[1], "operation": "restore", "reason": "已找回"}),
    );
    assert_eq!(st, 201, "{r}");
    let (st, v) = api_post(
        &api,
        &format!("/seal-operations/{}/events", r["id"].as_str().unwrap()),
        &x.w.reviewer_tok,
        json!({"event": "approve", "version": 1, "comment": "核实无误"}),
    );
    assert_eq!(st, 200, "{v}");
    for app_id in [&a, &b, &c] {
        assert!(
            rt.block_on(app.app_grant_in_force(app_id, &s[1])).is_ok(),
            "restored: {app_id}"
        );
    }

    // ---- Withdraw: by seals, by id, by subtree; out of order is a 409 with nothing changed.
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        sa,
        json!({"app_id": a, "seal_ids": [s[1]], "reason": "系统停用"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["withdrawn"][0]["state"], "withdrawn", "{v}");
    assert_eq!(
        refused(rt.block_on(app.app_grant_in_force(&a, &s[1]))),
        "grant-withdrawn"
    );
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        sa,
        json!({"app_id": a, "seal_ids": [s[1], s[2]]}),
    );
    assert_eq!(st, 409, "{v}");
    assert_eq!(
        v["type"], "https://sealpki.dev/problems/out-of-order",
        "{v}"
    );
    assert!(
        live(&x, &a).contains(&s[2]),
        "the refused batch left s[2] granted"
    );
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        sa,
        json!({"grant_ids": [gid]}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        sa,
        json!({"grant_ids": [gid]}),
    );
    assert_eq!(st, 409, "twice: {v}");
    assert_eq!(v["state"], "withdrawn", "{v}");
    let v = verify(&cose);
    assert_eq!(v["verdict"], "invalid", "withdrawn: {v}");
    assert!(v["revoked_at"].is_i64(), "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        &x.other_sa_tok,
        json!({"app_id": b, "org_id": x.w.unit}),
    );
    assert_eq!(st, 403, "{v}");
    let (st, v) = api_post(
        &api,
        "/app-grants/withdraw",
        sa,
        json!({"app_id": b, "org_id": x.branch}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["withdrawn"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        live(&x, &b),
        sorted(vec![s[0].clone(), s[1].clone(), s[2].clone()])
    );
    let (st, v) = api_get(&api, &format!("/apps/{b}/grants?state=withdrawn"), sa);
    assert_eq!(st, 200);
    assert_eq!(v["items"][0]["ended_by"], x.sa.as_str(), "{v}");

    // ---- Expiry: a grant that ends in three seconds stops, and the sweep records it.
    let soon = until(0) + 3;
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[3]], "valid_until": soon}),
    );
    assert_eq!(st, 201, "{v}");
    let short = v["granted"][0]["id"].as_str().unwrap().to_string();
    assert!(rt.block_on(app.app_grant_in_force(&a, &s[3])).is_ok());
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        refused(rt.block_on(app.app_grant_in_force(&a, &s[3]))),
        "grant-expired"
    );
    // Reminders 15 / 7 / 1 days before the end, each once; then expiry.
    let (st, v) = api_post(
        &api,
        "/app-grants",
        sa,
        json!({"app_id": a, "seal_ids": [s[2]], "valid_until": until(10)}),
    );
    assert_eq!(st, 409, "s[2] is granted to A already: {v}");
    let sweep = |at: Option<i64>| -> Value {
        let mut c = env.cmd();
        c.args(["--json", "seals", "sweep"]);
        if let Some(t) = at {
            c.args([
                "--at",
                &rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(t as u64)),
            ]);
        }
        let out = ok(&run(&mut c), "seals sweep");
        serde_json::from_str::<Value>(&out).unwrap()["app_grants"].clone()
    };
    let first = sweep(None);
    assert!(first["expired"].as_i64().unwrap() >= 1, "{first}");
    let (_, v) = api_get(&api, &format!("/app-grants/{short}"), sa);
    assert_eq!(v["state"], "expired", "{v}");
    assert_eq!(v["ended_by"], "system", "{v}");
    // s[0] with B ends in 60 days: 15-day reminder at day 46, once; the 7-day one at day 54.
    let r = sweep(Some(until(46)));
    assert!(r["reminders"].as_i64().unwrap() >= 1, "{r}");
    let again = sweep(Some(until(46) + 3600));
    assert_eq!(again["reminders"], 0, "not twice: {again}");
    let r = sweep(Some(until(54)));
    assert!(r["reminders"].as_i64().unwrap() >= 1, "{r}");
    // The app's events, for its owner.
    let (st, ev) = api_get(
        &api,
        &format!("/apps/{b}/grant-events?limit=500"),
        &x.w.applicant_tok,
    );
    assert_eq!(st, 200, "{ev}");
    let kinds: Vec<String> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let d = e["payload"]["days"]
                .as_i64()
                .map(|d| format!(":{d}"))
                .unwrap_or_default();
            format!("{}{d}", e["kind"].as_str().unwrap())
        })
        .collect();
    for want in [
        "grant.granted",
        "grant.effective",
        "grant.withdrawn",
        "grant.expiring:15",
        "grant.expiring:7",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} in {kinds:?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "grant.expiring:15").count(),
        3,
        "once per live grant of B: {kinds:?}"
    );
    let (st, _) = api_get(&api, &format!("/apps/{b}/grant-events"), sa);
    assert_eq!(st, 403, "not the app's owner");
    let (_, ev) = api_get(
        &api,
        &format!("/apps/{a}/grant-events?limit=500"),
        &x.admin_tok,
    );
    assert!(ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "grant.expired"));
    // The administrator heard (in-app), in their language.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, n) = api_get(&api, "/notifications?limit=100", sa);
        let kinds: Vec<&str> = n["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["kind"].as_str()).collect())
            .unwrap_or_default();
        if [
            "app-grant.granted",
            "app-grant.withdrawn",
            "app-grant.expired",
            "app-grant.expiring",
        ]
        .iter()
        .all(|k| kinds.contains(k))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "notifications: {kinds:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Every change is in the audit log.
    let audit = audit_log(env);
    for action in ["app-grant.grant", "app-grant.withdraw", "app-grant.expire"] {
        assert!(
            audit.iter().any(|(_, a, _)| a == action),
            "{action} audited"
        );
    }
    drop(app);
    drop(rt);
}

#[test]
fn app_grants_on_sqlite() {
    journey(&Env::new(EnvOptions::default()), "1370000001");
}

#[test]
fn app_grants_on_postgres() {
    let Some(url) = pg_database("app_grants") else {
        return;
    };
    journey(
        &Env::new(EnvOptions {
            db: Db::Postgres(url),
            ..Default::default()
        }),
        "1370000002",
    );
}

/// The two-step authorization in headless Chromium (`tests/app_grant_console.py`): a seal
/// administrator on a phone in Chinese authorizes an app for a ticked seal, then on a desktop in
/// English authorizes another app for all seals of an organisation, syncs, and withdraws;
/// screenshots of every screen.
#[test]
fn chromium_app_grant_journey() {
    if Command::new("chromium").arg("--version").output().is_err() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let srv = env.serve();
    let x = world(&env, &srv, "1370000003");
    let shots = std::env::var_os("SEALPKI_TEST_RUN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-web-test"))
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/app_grant_console.py"))
        .env("BASE", &srv.url)
        .env("SCREENSHOTS", &shots)
        .env("ADMIN", "13700000033")
        .env("PASSWORD", PASSWORD)
        .env("SEAL", "杭州示例科技有限公司合同专用章甲")
        .env("BRANCH", "杭州示例科技有限公司滨江分公司")
        .env("UNIT", "杭州示例科技有限公司"));
    assert!(
        out.status.success(),
        "app grant console flow:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the browser did is what the API says.
    let [a, b, c, _] = x.apps.clone();
    assert_eq!(live(&x, &a), vec![x.seals[0].0.clone()]);
    assert_eq!(live(&x, &b).len(), 3, "all four, less the one withdrawn");
    assert_eq!(live(&x, &c), vec![x.seals[0].0.clone()], "synced");
}
