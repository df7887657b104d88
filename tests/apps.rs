//! Apps end to end on both databases (issue 13, first part): platform staff register an app and
//! search the registry; its owner makes API keys (HMAC-SHA256 and HMAC-SM3) and a client
//! certificate from a CSR; `GET /api/v1/app/whoami` answers requests signed by
//! `scripts/app_request.py` (the docs' script, an independent signer) and, over TLS, `curl` with
//! the client certificate. Refused: a replayed nonce, a stale timestamp, a changed body, a wrong
//! secret, an unknown key (401); a suspended app (403) until resumed; a revoked credential (403,
//! then the TLS handshake) and a revoked app (403 for its keys, the handshake for its
//! certificates); callers without the role (403 naming the permission). A Chromium run of the
//! console's registry and the owner's credentials page (`tests/apps_console.py`) with
//! screenshots in zh-CN and English, phone and desktop.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/app_request.py")
}

/// A signed request through the docs' script: (exit code, stdout, stderr).
fn signed(
    url: &str,
    app: &str,
    key: &str,
    secret: &Path,
    scheme: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let out = run(Command::new("python3")
        .arg(script())
        .args(["--url", url, "--app", app, "--key", key, "--scheme", scheme])
        .arg("--secret-file")
        .arg(secret)
        .arg("--include")
        .args(extra));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// curl over TLS with our root: (curl's exit status, HTTP status or 0, body, stderr).
fn curl(root: &Path, args: &[&str], cert: Option<(&Path, &Path)>) -> (bool, u16, String, String) {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "10", "--cacert"]).arg(root);
    if let Some((cert, key)) = cert {
        c.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    c.args(["-w", "\n%{http_code}"]).args(args);
    let out = run(&mut c);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.success(),
        code.trim().parse().unwrap_or(0),
        body.to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn https_json(root: &Path, method: &str, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Authorization: Bearer {token}");
    let body = body.to_string();
    let (_, code, text, err) = curl(
        root,
        &[
            "-X",
            method,
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "--data",
            &body,
            url,
        ],
        None,
    );
    assert!(code != 0, "curl {url}: {err}");
    (code, json_of(&text))
}

fn patch(url: &str, token: &str, body: &Value) -> (u16, Value) {
    match ureq::request("PATCH", url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("PATCH {url}: {e}"),
    }
}

fn get_json(url: &str, token: &str) -> (u16, Value) {
    let (s, body) = get(url, Some(token));
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A TLS server certificate for `localhost` from the service CA: (certificate + chain, root).
fn tls_server_files(env: &Env) -> (PathBuf, PathBuf) {
    let csr = openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=localhost",
        &["localhost"],
    );
    let cert = env.path("tls.pem");
    env.issue_to("tls-server", &csr, &cert, &[]);
    let (chain, root) = env.chain("service");
    let full = env.path("tls-full.pem");
    std::fs::write(
        &full,
        std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&chain).unwrap(),
    )
    .unwrap();
    (full, root)
}

/// A P-256 key of the app's own (openssl) and a CSR for it.
fn app_key_and_csr(env: &Env, name: &str) -> (PathBuf, String) {
    let key = env.path(&format!("{name}.key"));
    ok(
        &run(Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&key)),
        "app key",
    );
    let csr = env.path(&format!("{name}.csr"));
    ok(
        &run(Command::new("openssl")
            .args(["req", "-new", "-key"])
            .arg(&key)
            .args(["-subj", "/CN=whatever the app asks/O=ignored", "-out"])
            .arg(&csr)),
        "app csr",
    );
    (key, std::fs::read_to_string(csr).unwrap())
}

struct World {
    api: String,
    admin: String,
    operator: String,
    auditor: String,
    owner: String,
    owner_tok: String,
    other_tok: String,
    supervising: String,
    developer: String,
}

fn world(env: &Env, srv: &Server, prefix: &str) -> World {
    let api = format!("{}/api/v1", srv.url);
    let admin = srv.login();
    let operator = srv.new_staff(&admin, "olga", "operator");
    let auditor = srv.new_staff(&admin, "arthur", "auditor");
    let (owner, owner_tok) = register_person(env, srv, &format!("{prefix}1"), "11010519800101001");
    let (_, other_tok) = register_person(env, srv, &format!("{prefix}2"), "11010519800101002");
    let org = |code: &str, name: &str, kind: &str, region: &str| {
        let (s, v, _) = post(
            &format!("{api}/organisations"),
            Some(&admin),
            &json!({"credit_code": code, "name": name, "kind": kind, "region": region}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let supervising = org(
        "11330100002482154U",
        "杭州市数据资源管理局",
        "government",
        "330100",
    );
    let developer = org(
        "91110108551385082Q",
        "北京示例软件有限公司",
        "enterprise",
        "110108",
    );
    World {
        api,
        admin,
        operator,
        auditor,
        owner,
        owner_tok,
        other_tok,
        supervising,
        developer,
    }
}

fn register(w: &World, token: &str, name: &str) -> (u16, Value) {
    let (s, v, _) = post(
        &format!("{}/apps", w.api),
        Some(token),
        &json!({"name": name, "kind": "cloud-signing", "supervising_org_id": w.supervising,
                "developer_org_id": w.developer, "owner": w.owner,
                "contacts": [{"name": "张三", "mobile": "13800138000", "email": "zs@example.cn"}],
                "callback_url": "https://oa.example.cn/hooks/sealpki"})
        .to_string(),
    );
    (s, v)
}

fn new_key(w: &World, app: &str, kind: &str, env: &Env) -> (String, PathBuf) {
    let (s, v, _) = post(
        &format!("{}/apps/{app}/credentials", w.api),
        Some(&w.owner_tok),
        &json!({"kind": kind, "label": kind}).to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "32 bytes, base64url without padding");
    let file = env.path(&format!("{}.secret", v["key_id"].as_str().unwrap()));
    std::fs::write(&file, secret).unwrap();
    (v["key_id"].as_str().unwrap().to_string(), file)
}

fn app_event(w: &World, token: &str, app: &str, event: &str) -> (u16, Value) {
    let (_, v) = get_json(&format!("{}/apps/{app}", w.api), &w.operator);
    let (s, v, _) = post(
        &format!("{}/apps/{app}/events", w.api),
        Some(token),
        &json!({"event": event, "version": v["version"], "comment": "test"}).to_string(),
    );
    (s, v)
}

fn wait_until(what: &str, secs: u64, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn suite(env: &Env) {
    env.init_dev();
    let mut srv = env.serve();
    let w = world(env, &srv, "1390000010");
    let api = w.api.clone();

    // ---- The registry: staff register and search; nobody else registers.
    for tok in [&w.owner_tok, &w.auditor] {
        let (s, v) = register(&w, tok, "不该登记的应用");
        assert_eq!(s, 403, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("apps.manage"), "{v}");
    }
    let (s, a) = register(&w, &w.operator, "合同管理系统");
    assert_eq!(s, 201, "{a}");
    let app = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["state"], "active");
    assert_eq!(a["contacts"][0]["mobile"], "138****8000", "masked: {a}");
    assert_eq!(a["supervising_org_name"], "杭州市数据资源管理局");
    let (s, v) = register(&w, &w.admin, "合同管理系统");
    assert_eq!(s, 409, "the name is taken: {v}");
    let (s, v) = register(&w, &w.admin, "ＯＡ 系统");
    assert_eq!(s, 201, "{v}");
    let (s, v, _) = post(
        &format!("{api}/apps"),
        Some(&w.admin),
        &json!({"name": "HTTP 回调", "kind": "cloud-signing", "supervising_org_id": w.supervising,
                "developer_org_id": w.developer, "owner": w.owner,
                "callback_url": "http://oa.example.cn/h"})
        .to_string(),
    );
    assert_eq!(s, 422, "http:// callbacks are refused: {v}");
    assert_eq!(v["field"], "callback_url");
    let (s, v) = register(&w, &w.admin, "税务申报系统");
    assert_eq!(s, 201, "{v}");
    let (s, v) = get_json(&format!("{api}/apps?name=oa系统"), &w.auditor);
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = get_json(
        &format!("{api}/apps?developer_org_id={}&limit=2", w.developer),
        &w.operator,
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
    let cursor = v["next_cursor"].as_str().expect("a next page").to_string();
    let (_, v2) = get_json(
        &format!(
            "{api}/apps?developer_org_id={}&limit=2&cursor={cursor}",
            w.developer
        ),
        &w.operator,
    );
    assert_eq!(v2["items"].as_array().unwrap().len(), 1, "{v2}");
    assert_ne!(v2["items"][0]["id"], v["items"][0]["id"]);
    let (_, v) = get_json(
        &format!("{api}/apps?supervising_org_id={}", w.developer),
        &w.operator,
    );
    assert!(v["items"].as_array().unwrap().is_empty(), "{v}");
    // The owner sees their apps; another person sees none and is refused one.
    let (_, v) = get_json(&format!("{api}/apps"), &w.owner_tok);
    assert_eq!(v["items"].as_array().unwrap().len(), 3, "{v}");
    let (_, v) = get_json(&format!("{api}/apps"), &w.other_tok);
    assert!(v["items"].as_array().unwrap().is_empty(), "{v}");
    let (s, v) = get_json(&format!("{api}/apps/{app}"), &w.other_tok);
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("apps.read"), "{v}");
    // The owner changes the callback URL; a stale version is a 409.
    let (s, v) = patch(
        &format!("{api}/apps/{app}"),
        &w.owner_tok,
        &json!({"version": 1, "callback_url": "https://oa.example.cn/hooks/v2"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["callback_url"], "https://oa.example.cn/hooks/v2");
    let (s, v) = patch(
        &format!("{api}/apps/{app}"),
        &w.owner_tok,
        &json!({"version": 1, "callback_url": ""}),
    );
    assert_eq!(s, 409, "{v}");
    let (s, _) = patch(
        &format!("{api}/apps/{app}"),
        &w.other_tok,
        &json!({"version": 2, "callback_url": ""}),
    );
    assert_eq!(s, 403);

    // ---- Credentials: only the owner makes them.
    for tok in [&w.operator, &w.other_tok, &w.admin] {
        let (s, v, _) = post(
            &format!("{api}/apps/{app}/credentials"),
            Some(tok),
            &json!({"kind": "hmac-sha256"}).to_string(),
        );
        assert_eq!(s, 403, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("apps.credentials.create"),
            "{v}"
        );
    }
    let (sha_key, sha_secret) = new_key(&w, &app, "hmac-sha256", env);
    let (sm3_key, sm3_secret) = new_key(&w, &app, "hmac-sm3", env);
    let (_, list) = get_json(&format!("{api}/apps/{app}/credentials"), &w.owner_tok);
    let text = list.to_string();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    assert!(
        !text.contains(std::fs::read_to_string(&sha_secret).unwrap().trim()),
        "never shown again"
    );

    // ---- Signed requests through the script.
    let whoami = format!("{}/api/v1/app/whoami", srv.url);
    let (code, out, err) = signed(&whoami, &app, &sha_key, &sha_secret, "hmac-sha256", &[]);
    assert_eq!(code, 0, "{out} {err}");
    let v = json_of(&out);
    assert_eq!(v["app_id"], app.as_str());
    assert_eq!(v["name"], "合同管理系统");
    assert_eq!(v["proof"], "hmac-sha256");
    assert_eq!(v["credential_id"], sha_key.as_str());
    let (code, out, err) = signed(
        &format!("{whoami}?b=2&a=%E4%B8%AD+x&a=1"),
        &app,
        &sm3_key,
        &sm3_secret,
        "hmac-sm3",
        &["-X", "GET", "--data", "{\"a\":1}"],
    );
    assert_eq!(code, 0, "SM3 with a query and a body: {out} {err}");
    assert_eq!(json_of(&out)["proof"], "hmac-sm3");
    // A key of one scheme with the other's digest.
    let (code, out, _) = signed(&whoami, &app, &sm3_key, &sm3_secret, "hmac-sha256", &[]);
    assert_eq!(code, 1);
    assert!(out.contains("sm3"), "{out}");
    // Replay: the same nonce twice.
    let ts = sealpki::store::now().to_string();
    let fixed = ["--nonce", "replay-nonce-0123456789", "--timestamp", &ts];
    let (code, out, _) = signed(&whoami, &app, &sha_key, &sha_secret, "hmac-sha256", &fixed);
    assert_eq!(code, 0, "{out}");
    let (code, out, err) = signed(&whoami, &app, &sha_key, &sha_secret, "hmac-sha256", &fixed);
    assert_eq!(code, 1, "a replay is refused");
    assert!(err.contains("401") && out.contains("nonce"), "{out} {err}");
    assert!(out.contains("bad-signature"), "problem+json: {out}");
    // A stale timestamp, a changed body, a wrong secret, an unknown key.
    let stale = (sealpki::store::now() - 400).to_string();
    let (code, out, err) = signed(
        &whoami,
        &app,
        &sha_key,
        &sha_secret,
        "hmac-sha256",
        &["--timestamp", &stale],
    );
    assert!(
        code == 1 && err.contains("401") && out.contains("timestamp"),
        "{out}"
    );
    let (code, out, err) = signed(
        &whoami,
        &app,
        &sha_key,
        &sha_secret,
        "hmac-sha256",
        &[
            "-X",
            "GET",
            "--data",
            "{\"n\":1}",
            "--send-data",
            "{\"n\":2}",
        ],
    );
    assert!(
        code == 1 && err.contains("401") && out.contains("Content-Digest"),
        "{out}"
    );
    let wrong = env.path("wrong.secret");
    std::fs::write(&wrong, "A".repeat(43)).unwrap();
    let (code, out, err) = signed(&whoami, &app, &sha_key, &wrong, "hmac-sha256", &[]);
    assert!(
        code == 1 && err.contains("401") && out.contains("signature"),
        "{out}"
    );
    let (code, out, err) = signed(&whoami, &app, "nosuchkey", &sha_secret, "hmac-sha256", &[]);
    assert!(
        code == 1 && err.contains("401") && out.contains("unknown"),
        "{out}"
    );
    // Another app's id with this key.
    let (code, _, err) = signed(
        &whoami,
        "someotherapp",
        &sha_key,
        &sha_secret,
        "hmac-sha256",
        &[],
    );
    assert!(code == 1 && err.contains("401"), "{err}");
    // No proof at all, or a bearer token: 401.
    let (s, body) = get(&whoami, Some(&w.admin));
    assert_eq!(s, 401, "{}", String::from_utf8_lossy(&body));

    // ---- Suspended: 403 at once; resumed: works; out of order: 409; roles.
    let (s, v) = app_event(&w, &w.auditor, &app, "suspend");
    assert_eq!(s, 403, "{v}");
    let (s, v) = app_event(&w, &w.owner_tok, &app, "suspend");
    assert_eq!(s, 403, "{v}");
    let (s, v) = app_event(&w, &w.operator, &app, "suspend");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "suspended");
    for (key, secret, scheme) in [
        (&sha_key, &sha_secret, "hmac-sha256"),
        (&sm3_key, &sm3_secret, "hmac-sm3"),
    ] {
        let (code, out, err) = signed(&whoami, &app, key, secret, scheme, &[]);
        assert!(
            code == 1 && err.contains("403") && out.contains("suspended"),
            "{out} {err}"
        );
    }
    let (s, v) = app_event(&w, &w.operator, &app, "suspend");
    assert_eq!(s, 409, "out of order: {v}");
    assert_eq!(v["allowed_events"], json!(["resume", "revoke"]));
    let (s, v) = app_event(&w, &w.admin, &app, "resume");
    assert_eq!(s, 200, "{v}");
    let (code, out, _) = signed(&whoami, &app, &sha_key, &sha_secret, "hmac-sha256", &[]);
    assert_eq!(code, 0, "resumed: {out}");

    // ---- A client certificate from the owner's CSR.
    let (app_key, csr) = app_key_and_csr(env, "gateway");
    let (s, v, _) = post(
        &format!("{api}/apps/{app}/certificates"),
        Some(&w.other_tok),
        &json!({"csr": csr}).to_string(),
    );
    assert_eq!(s, 403, "{v}");
    let (s, v, _) = post(
        &format!("{api}/apps/{app}/certificates"),
        Some(&w.owner_tok),
        &json!({"csr": "not a csr"}).to_string(),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v, _) = post(
        &format!("{api}/apps/{app}/certificates"),
        Some(&w.owner_tok),
        &json!({"csr": csr, "label": "gateway"}).to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let cert_cred = v["credential"]["id"].as_str().unwrap().to_string();
    let serial = v["serial"].as_str().unwrap().to_string();
    let cert = env.path("gateway.pem");
    std::fs::write(&cert, v["certificate"].as_str().unwrap()).unwrap();
    let subject = ok(
        &run(Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253,-esc_msb",
                "-in",
            ])
            .arg(&cert)),
        "subject",
    );
    assert!(
        subject.contains(&format!("OU=app:{app}")) && subject.contains("CN=合同管理系统"),
        "the subject names the app: {subject}"
    );
    let (s, body) = get(
        &format!("{api}/apps/{app}/credentials/{cert_cred}/certificate"),
        Some(&w.owner_tok),
    );
    assert_eq!(s, 200);
    assert!(
        String::from_utf8_lossy(&body)
            .matches("BEGIN CERTIFICATE")
            .count()
            >= 2
    );
    // A second certificate, for the app's revocation later.
    let (app_key2, csr2) = app_key_and_csr(env, "gateway2");
    let (s, v, _) = post(
        &format!("{api}/apps/{app}/certificates"),
        Some(&w.owner_tok),
        &json!({"csr": csr2}).to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let cert2 = env.path("gateway2.pem");
    std::fs::write(&cert2, v["certificate"].as_str().unwrap()).unwrap();

    // ---- The same data directory served over TLS, client certificates optional.
    srv.kill();
    let (full, root) = tls_server_files(env);
    let port = env.port;
    let log = std::fs::File::create(env.path("serve-tls.log")).unwrap();
    let mut child = env
        .cmd()
        .arg("serve")
        .env("SEALPKI_TLS_CERT", &full)
        .env("SEALPKI_TLS_KEY", openssl_key("p256"))
        .env("SEALPKI_CLIENT_AUTH", "optional")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("https://localhost:{port}");
    wait_until("the TLS server", 60, || {
        curl(&root, &[&format!("{base}/healthz")], None).1 == 200
    });
    let whoami = format!("{base}/api/v1/app/whoami");
    let (ok1, code, body, err) = curl(&root, &[&whoami], Some((&cert, &app_key)));
    assert!(ok1 && code == 200, "mTLS whoami: {code} {body} {err}");
    let v = json_of(&body);
    assert_eq!(v["proof"], "client-certificate", "{v}");
    assert_eq!(v["app_id"], app.as_str());
    assert_eq!(v["cert_serial"], serial.as_str());
    let (_, code, body, _) = curl(&root, &[&whoami], None);
    assert_eq!(code, 401, "no certificate, no signature: {body}");
    // HMAC over TLS too.
    let root_s = root.to_str().unwrap().to_string();
    let (code, out, err) = signed(
        &whoami,
        &app,
        &sha_key,
        &sha_secret,
        "hmac-sha256",
        &["--cacert", &root_s],
    );
    assert_eq!(code, 0, "{out} {err}");

    // ---- Revoke the certificate credential: 403 at once, then refused at the handshake.
    let (s, v) = https_json(
        &root,
        "POST",
        &format!("{base}/api/v1/apps/{app}/credentials/{cert_cred}/revoke"),
        &w.other_tok,
        &json!({}),
    );
    assert_eq!(s, 403, "{v}");
    let (s, v) = https_json(
        &root,
        "POST",
        &format!("{base}/api/v1/apps/{app}/credentials/{cert_cred}/revoke"),
        &w.owner_tok,
        &json!({"reason": "keyCompromise"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "revoked");
    let mut refused_at_handshake = String::new();
    wait_until(
        "the revoked certificate refused at the handshake",
        20,
        || {
            let (ok1, code, body, err) = curl(&root, &[&whoami], Some((&cert, &app_key)));
            if ok1 {
                assert_eq!(code, 403, "before the verifier is rebuilt: 403, {body}");
                return false;
            }
            refused_at_handshake = err;
            true
        },
    );
    assert!(
        refused_at_handshake.to_lowercase().contains("revoked"),
        "{refused_at_handshake}"
    );
    let (s, v) = https_json(
        &root,
        "POST",
        &format!("{base}/api/v1/apps/{app}/credentials/{cert_cred}/revoke"),
        &w.owner_tok,
        &json!({}),
    );
    assert_eq!(s, 409, "revoked already: {v}");
    let (ok1, code, _, _) = curl(&root, &[&whoami], Some((&cert2, &app_key2)));
    assert!(ok1 && code == 200, "the second certificate still works");

    // ---- Revoke the app: its keys 403, its other certificate refused at the handshake.
    let (_, a) = {
        let (_, code, body, _) = curl(
            &root,
            &[
                "-H",
                &format!("Authorization: Bearer {}", w.operator),
                &format!("{base}/api/v1/apps/{app}"),
            ],
            None,
        );
        (code, json_of(&body))
    };
    let (s, v) = https_json(
        &root,
        "POST",
        &format!("{base}/api/v1/apps/{app}/events"),
        &w.operator,
        &json!({"event": "revoke", "version": a["version"], "comment": "contract ended"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "revoked");
    assert!(v["allowed_events"].as_array().unwrap().is_empty());
    let (code, out, err) = signed(
        &whoami,
        &app,
        &sha_key,
        &sha_secret,
        "hmac-sha256",
        &["--cacert", &root_s],
    );
    assert!(code == 1 && err.contains("403"), "{out} {err}");
    wait_until(
        "the revoked app's certificate refused at the handshake",
        20,
        || !curl(&root, &[&whoami], Some((&cert2, &app_key2))).0,
    );
    let (s, v) = https_json(
        &root,
        "GET",
        &format!("{base}/api/v1/apps/{app}/credentials"),
        &w.owner_tok,
        &json!(null),
    );
    // curl sends --data with GET as a body; the list ignores it.
    assert_eq!(s, 200, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "revoked"),
        "every credential revoked: {v}"
    );
    let (s, v) = https_json(
        &root,
        "POST",
        &format!("{base}/api/v1/apps/{app}/credentials"),
        &w.owner_tok,
        &json!({"kind": "hmac-sha256"}),
    );
    assert_eq!(s, 409, "a revoked app gets no credentials: {v}");
    // The CA's full CRL, as openssl reads it, lists both certificates: revoked at the CA.
    let crl = env.path("service.crl");
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(&root)
        .arg("-o")
        .arg(&crl)
        .arg(format!("{base}/crl/service.crl")));
    ok(&out, "fetch the CRL");
    let text = ok(
        &run(Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(&crl)),
        "openssl crl",
    );
    let serial2 = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&cert2)),
        "serial",
    );
    let serial2 = serial2.trim().trim_start_matches("serial=").to_string();
    for s in [&serial, &serial2] {
        assert!(text.contains(s.as_str()), "{s} on the CRL: {text}");
    }
    assert!(
        text.contains("Key Compromise") && text.contains("Privilege Withdrawn"),
        "{text}"
    );
    let _ = child.kill();
    let _ = child.wait();

    // ---- Everything audited.
    let log = audit_log(env);
    for action in [
        "app.register",
        "app.update",
        "app.suspend",
        "app.resume",
        "app.revoke",
        "app.credential.create",
        "app.credential.revoke",
        "certificate.revoke",
    ] {
        assert!(
            log.iter().any(|(_, a, _)| a == action),
            "audit has {action}"
        );
    }
    assert!(
        !log.iter().any(|(_, _, d)| d
            .to_string()
            .contains(std::fs::read_to_string(&sha_secret).unwrap().trim())),
        "no secret in the audit log"
    );
    let _ = w.owner;
}

#[test]
fn apps_on_sqlite() {
    suite(&Env::new(EnvOptions {
        extra: "[crl]\nrefresh_seconds = 1\n",
        ..Default::default()
    }));
}

#[test]
fn apps_on_postgres() {
    let Some(url) = pg_database("apps") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        extra: "[crl]\nrefresh_seconds = 1\n",
        ..Default::default()
    }));
}

/// The console: the operator's registry (register, search, suspend and resume) and the owner's
/// page (an API key's secret shown once, a certificate from an uploaded CSR and its download,
/// revocation, the callback URL) in headless Chromium, zh-CN and English, phone and desktop.
#[test]
fn apps_console_in_chromium() {
    if Command::new("chromium").arg("--version").output().is_err() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let srv = env.serve();
    let w = world(&env, &srv, "1390000020");
    let (_, csr) = app_key_and_csr(&env, "console");
    let csr_file = env.path("console.csr");
    std::fs::write(&csr_file, csr).unwrap();
    let shots = std::env::var_os("SEALPKI_TEST_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-web-test"))
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let totp = std::fs::read_to_string(srv.dir.join("totp-olga")).unwrap();
    let out: Output = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps_console.py"))
        .env("BASE", &srv.url)
        .env("SCREENSHOTS", &shots)
        .env("OPERATOR", "olga")
        .env("OPERATOR_PASSWORD", "olga-password-1")
        .env("OPERATOR_TOTP", totp.trim())
        .env("OWNER", &w.owner)
        .env("OWNER_MOBILE", "13900000201")
        .env("PASSWORD", "a long enough passphrase")
        .env("SUPERVISING", &w.supervising)
        .env("DEVELOPER", &w.developer)
        .env("CSR", &csr_file)
        .env("DOWNLOADS", env.path("downloads")));
    assert!(
        out.status.success(),
        "apps console flow:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the page did is what the API says.
    let (_, v) = get_json(&format!("{}/apps?name=公文", w.api), &w.operator);
    let a = &v["items"][0];
    assert_eq!(a["state"], "active", "{v}");
    assert_eq!(a["callback_url"], "https://oa.example.cn/cb");
    let (_, c) = get_json(
        &format!("{}/apps/{}/credentials", w.api, a["id"].as_str().unwrap()),
        &w.operator,
    );
    let items = c["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{c}");
    assert!(items
        .iter()
        .any(|c| c["kind"] == "hmac-sm3" && c["state"] == "revoked"));
    assert!(items
        .iter()
        .any(|c| c["kind"] == "certificate" && c["state"] == "active"));
    let _ = (&w.admin, &w.auditor, &w.owner_tok, &w.other_tok);
}
