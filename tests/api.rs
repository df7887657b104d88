//! The HTTP API over a real socket, on SQLite and on PostgreSQL: login, issuance, lookup, listing,
//! downloads, health, metrics, OpenAPI — and every kind of bad input refused precisely, storing nothing.

mod common;
use common::*;
use std::process::Command;

fn csr_json(profile: &str, csr_pem: &str) -> String {
    serde_json::json!({"profile": profile, "csr": csr_pem}).to_string()
}

fn count_all(srv: &Server, tok: &str) -> usize {
    let (s, body) = get(
        &format!("{}/api/v1/certificates?state=all&limit=1000", srv.url),
        Some(tok),
    );
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["items"].as_array().unwrap().len()
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The (method, path) pairs of the OpenAPI document.
fn documented(spec: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m.to_lowercase()).is_some() {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// The router and the document agree, route by route. Every `#[utoipa::path]` in `src/http` is in
/// the document (an annotated handler left out of the route table is caught here); on every
/// documented path, the server answers exactly the documented methods: any other method gets 405,
/// and no documented one gets 405 or the router's "no such endpoint". (A route registered outside
/// the table on a path of its own is caught by `tidy.rs`.)
fn served_routes_are_documented(srv: &Server, spec: &serde_json::Value) {
    let doc = documented(spec);
    let mut missing = Vec::new();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let attr = annotated_routes(&src);
    for (m, p) in &attr {
        if !doc.contains(&(m.clone(), p.clone())) {
            missing.push(format!(
                "{m} {p}: annotated in src/http, not in the document"
            ));
        }
    }
    let paths: std::collections::BTreeSet<&String> = doc.iter().map(|(_, p)| p).collect();
    for path in paths {
        // Any value will do for a parameter: the router matches the shape, handlers refuse later.
        let mut url = String::new();
        for part in path.split('/') {
            url.push_str(if part.starts_with('{') { "x" } else { part });
            url.push('/');
        }
        url.pop();
        for m in METHODS {
            let resp = ureq::request(m, &format!("{}{url}", srv.url))
                .set("Content-Type", "application/json")
                .send_bytes(b"");
            let (status, body) = match resp {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                Err(e) => panic!("{m} {url}: {e}"),
            };
            let served = status != 405 && !(status == 404 && body.contains("no such endpoint"));
            let listed = doc.contains(&(m.to_string(), path.clone()));
            if served && !listed {
                missing.push(format!(
                    "{m} {path}: served ({status}), not in the document"
                ));
            } else if listed && !served {
                missing.push(format!(
                    "{m} {path}: in the document, not served ({status})"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "router and OpenAPI document differ:\n{}",
        missing.join("\n")
    );
}

/// (METHOD, path) of every `#[utoipa::path(method, path = "…")]` under `dir`, with axum's
/// catch-all `{*name}` written `{name}` as the document does.
fn annotated_routes(dir: &std::path::Path) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let f = e.unwrap().path();
        if f.is_dir() {
            out.extend(annotated_routes(&f));
            continue;
        }
        if f.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for chunk in text.split("#[utoipa::path(").skip(1) {
            let method = chunk.split(',').next().unwrap().trim().to_uppercase();
            let path = chunk
                .split_once("path = \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(p, _)| p.replace("{*", "{"))
                .unwrap_or_else(|| panic!("{}: a utoipa::path without path", f.display()));
            out.insert((method, path));
        }
    }
    out
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let api = format!("{}/api/v1", srv.url);

    // Health, readiness, metrics, OpenAPI.
    assert_eq!(get(&format!("{}/healthz", srv.url), None).0, 200);
    let (s, body) = get(&format!("{}/readyz", srv.url), None);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let (s, body) = get(&format!("{}/api/openapi.json", srv.url), None);
    assert_eq!(s, 200);
    let spec: serde_json::Value = serde_json::from_slice(&body).expect("OpenAPI is JSON");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        spec["info"]["description"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/login"),
        "{}",
        spec["info"]
    );
    served_routes_are_documented(&srv, &spec);

    // Authentication.
    let (s, v, ctype) = post(
        &format!("{api}/login"),
        None,
        r#"{"username":"admin","password":"wrong-password"}"#,
    );
    assert_eq!(
        (s, ctype.as_str()),
        (401, "application/problem+json"),
        "{v}"
    );
    let tok = srv.login();
    let seal = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=Example Co Seal/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
        &[],
    ))
    .unwrap();
    let (s, _, _) = post(
        &format!("{api}/certificates"),
        None,
        &csr_json("seal-signing", &seal),
    );
    assert_eq!(s, 401, "issuing needs a session");

    // Issue, then read back in every form.
    let (s, v, _) = post(
        &format!("{api}/certificates"),
        Some(&tok),
        &csr_json("seal-signing", &seal),
    );
    assert_eq!(s, 201, "{v}");
    let serial = v["serial"].as_str().unwrap().to_string();
    let leaf = env.path("api-leaf.pem");
    std::fs::write(&leaf, v["certificate"].as_str().unwrap()).unwrap();
    let chain = env.path("api-chain.pem");
    std::fs::write(&chain, v["chain"].as_str().unwrap()).unwrap();
    let (_, root) = env.chain("seal");
    ok(
        &openssl_verify(&root, &chain, &leaf, false),
        "openssl verify of an API-issued certificate",
    );
    let printed = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&leaf)),
        "x509 -serial",
    );
    assert_eq!(
        printed.trim(),
        format!("serial={serial}"),
        "serials are shown as openssl prints them"
    );
    let (s, body) = get(
        &format!("{api}/certificates/{}", serial.to_lowercase()),
        Some(&tok),
    );
    assert_eq!(s, 200);
    let one: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(one["state"], "issued");
    let (s, der) = get(&format!("{api}/certificates/{serial}/der"), Some(&tok));
    assert_eq!(s, 200);
    let der_file = env.path("leaf.der");
    std::fs::write(&der_file, der).unwrap();
    ok(
        &run(Command::new("openssl")
            .args(["x509", "-inform", "DER", "-noout", "-in"])
            .arg(&der_file)),
        "DER download parses",
    );
    let (s, p7) = get(&format!("{api}/cas/seal/chain?format=der"), None);
    assert_eq!(s, 200);
    let p7_file = env.path("chain.p7c");
    std::fs::write(&p7_file, p7).unwrap();
    let certs = ok(
        &run(Command::new("openssl")
            .args(["pkcs7", "-inform", "DER", "-print_certs", "-noout", "-in"])
            .arg(&p7_file)),
        "pkcs7 chain",
    );
    assert!(
        certs.contains("Seal CA") && certs.contains("Root CA"),
        "{certs}"
    );
    let (s, _) = get(&format!("{}/ca/seal.der", srv.url), None);
    assert_eq!(s, 200, "the CA-issuers URL in certificates answers");

    // Pagination.
    for i in 0..4 {
        let c = std::fs::read_to_string(openssl_csr(
            env.dir.path(),
            "p256",
            &format!("/O=Example Co/CN=app {i}"),
            &[],
        ))
        .unwrap();
        let (s, v, _) = post(
            &format!("{api}/certificates"),
            Some(&tok),
            &csr_json("app-client", &c),
        );
        assert_eq!(s, 201, "{v}");
    }
    let (s, body) = get(
        &format!("{api}/certificates?profile=app-client&limit=3"),
        Some(&tok),
    );
    assert_eq!(s, 200);
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, body) = get(
        &format!("{api}/certificates?profile=app-client&limit=3&cursor={cursor}"),
        Some(&tok),
    );
    let page2: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);

    // Bad input: each refused with a precise problem+json, and nothing stored.
    let before = count_all(&srv, &tok);
    // Flip one base64 character in the signature (the last line before the footer).
    let bad_sig = {
        let mut lines: Vec<String> = seal.lines().map(str::to_string).collect();
        let target = lines.len() - 2;
        let c = lines[target].remove(3);
        lines[target].insert(3, if c == 'A' { 'B' } else { 'A' });
        lines.join("\n") + "\n"
    };
    let rsa2048 = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "rsa2048",
        "/C=CN/O=Example Co/CN=Weak Seal/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
        &[],
    ))
    .unwrap();
    let p384 = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p384",
        "/O=Example Co/CN=app p384",
        &[],
    ))
    .unwrap();
    let forbidden = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=tls.example.com/UID=someone",
        &["tls.example.com"],
    ))
    .unwrap();
    let missing = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=no org id",
        &[],
    ))
    .unwrap();
    let no_san = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=tls.example.com",
        &[],
    ))
    .unwrap();
    let cases: Vec<(String, u16, &str)> =
        vec![
        ("this is not json".into(), 400, "not valid JSON"),
        (r#"{"profile":"seal-signing"}"#.into(), 400, "give either csr, or key and subject"),
        (r#"{"csr":"x"}"#.into(), 400, "missing field `profile`"),
        (
            r#"{"profile":"seal-signing","csr":"x","bogus":1}"#.into(),
            400,
            "unknown field",
        ),
        (
            csr_json(
                "seal-signing",
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            ),
            400,
            "bad CSR",
        ),
        (
            csr_json("seal-signing", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"),
            400,
            "bad CSR",
        ),
        (
            csr_json("seal-signing", &bad_sig),
            400,
            "self-signature does not verify",
        ),
        (
            csr_json("seal-signing", &rsa2048),
            422,
            "unsupported RSA key size 2048",
        ),
        (
            csr_json("app-client", &p384),
            422,
            "unsupported elliptic curve",
        ),
        (
            csr_json("tls-server", &forbidden),
            422,
            "attribute UID is not allowed",
        ),
        (
            csr_json("seal-signing", &missing),
            422,
            "organizationIdentifier is required",
        ),
        (
            csr_json("tls-server", &no_san),
            422,
            "requires a subjectAltName",
        ),
        (csr_json("no-such-profile", &seal), 404, "unknown profile"),
        (
            serde_json::json!({"profile": "seal-signing", "csr": seal, "validity_days": 5000})
                .to_string(),
            422,
            "exceeds the profile",
        ),
    ];
    for (body, status, needle) in &cases {
        let (s, v, ctype) = post(&format!("{api}/certificates"), Some(&tok), body);
        assert_eq!(s, *status, "{needle}: {v}");
        assert_eq!(ctype, "application/problem+json");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "expected {needle:?} in {detail:?}");
        assert_eq!(v["status"], *status);
    }
    let (s, _) = get(&format!("{api}/certificates/not-hex"), Some(&tok));
    assert_eq!(s, 400);
    let (s, _) = get(&format!("{api}/certificates/ABCDEF"), Some(&tok));
    assert_eq!(s, 404);
    let (s, _) = get(&format!("{api}/certificates?limit=0"), Some(&tok));
    assert_eq!(s, 400);
    let (s, _) = get(&format!("{api}/cas/nope/chain"), None);
    assert_eq!(s, 404);
    assert_eq!(
        count_all(&srv, &tok),
        before,
        "refused requests store nothing"
    );

    // Metrics are for staff on the public listener.
    assert_eq!(get(&format!("{}/metrics", srv.url), None).0, 401);
    let (s, body) = get(&format!("{}/metrics", srv.url), Some(&tok));
    assert_eq!(s, 200);
    let m = String::from_utf8(body).unwrap();
    assert!(m.contains("sealpki_certificates_issued_total 5"), "{m}");
    assert!(m.contains("sealpki_logins_failed_total 1"), "{m}");

    // Roles: an auditor reads but may not issue or manage operators.
    let new_op = |u: &str, p: &str, r: &str| {
        serde_json::json!({"username": u, "password": p, "role": r}).to_string()
    };
    let (s, v, _) = post(
        &format!("{api}/operators"),
        Some(&tok),
        &new_op("carol", "auditor-password-1", "auditor"),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _, _) = post(
        &format!("{api}/operators"),
        Some(&tok),
        &new_op("carol", "auditor-password-1", "auditor"),
    );
    assert_eq!(s, 409, "duplicate operator");
    let (s, v, _) = post(
        &format!("{api}/operators"),
        Some(&tok),
        &new_op("dave", "short", "operator"),
    );
    assert_eq!(s, 422, "{v}");
    let (s, _, _) = post(
        &format!("{api}/operators"),
        Some(&tok),
        &new_op("Bad Name", "long-enough-password", "operator"),
    );
    assert_eq!(s, 400);
    let carol = srv.staff_login("carol", "auditor-password-1");
    let (s, v, _) = post(
        &format!("{api}/certificates"),
        Some(&carol),
        &csr_json("seal-signing", &seal),
    );
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("auditor may not issue"));
    let (s, _, _) = post(
        &format!("{api}/operators"),
        Some(&carol),
        &new_op("eve", "long-enough-password", "admin"),
    );
    assert_eq!(s, 403);
    assert_eq!(
        get(&format!("{api}/certificates/{serial}"), Some(&carol)).0,
        200
    );
    assert_eq!(
        get(&format!("{api}/certificates"), Some("not-a-token")).0,
        401
    );
    // Rollover over HTTP: admins only; the root is refused; the new key issues at once.
    let (s, _, _) = post(&format!("{api}/cas/maker/rollover"), Some(&carol), "");
    assert_eq!(s, 403);
    let (s, v, _) = post(&format!("{api}/cas/root/rollover"), Some(&tok), "");
    assert_eq!(s, 422, "{v}");
    let (s, v, _) = post(&format!("{api}/cas/maker/rollover"), Some(&tok), "");
    assert_eq!(s, 201, "{v}");
    let label = v["label"].as_str().unwrap();
    let (_, body) = get(&format!("{api}/cas"), None);
    let cas: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        cas["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["label"] == label && c["issuing"] == true),
        "{cas}"
    );

    // The CLI works on the same data while the server runs.
    let out = ok(
        &env.sealpki(&["cert", "show", &serial, "--json"]),
        "cert show",
    );
    assert!(out.contains("\"issued\""));
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn api_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn api_on_postgres() {
    let Some(url) = pg_database("api") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}

#[test]
fn cli_reports_bad_input_with_exit_codes() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    // A second init is refused unless forced.
    let f = env.path("ceremony.toml");
    let out = env.sealpki(&["init", "--ceremony", f.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let garbage = env.path("garbage.csr");
    std::fs::write(&garbage, b"\x30\x82\x01\x00garbage").unwrap();
    let out = env.sealpki(&[
        "cert",
        "issue",
        "--profile",
        "app-client",
        "--csr",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad CSR"));
    let out = env.sealpki(&["cert", "show", "zz"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.sealpki(&["ca", "chain", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no CA named"));
    // Operators from the CLI; the password comes from the environment, never from arguments.
    let out = run(env
        .cmd()
        .args(["operator", "add", "bob", "--role", "operator"])
        .env("SEALPKI_OPERATOR_PASSWORD", "bob-password-123"));
    ok(&out, "operator add");
    let out = run(env
        .cmd()
        .args(["operator", "add", "bob2", "--role", "root"])
        .env("SEALPKI_OPERATOR_PASSWORD", "bob-password-123"));
    assert_eq!(out.status.code(), Some(2), "unknown role is a usage error");
    // A wrong passphrase is named, not a crash.
    std::fs::write(env.path("passphrase"), "wrong").unwrap();
    let out = env.sealpki(&["ca", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(env.path("passphrase"), PASSPHRASE).unwrap();
    // --force makes a new generation; the old CA keys stay on disk, the new ones are active.
    ok(
        &env.sealpki(&["init", "--ceremony", f.to_str().unwrap(), "--force"]),
        "forced init",
    );
    let list = ok(&env.sealpki(&["ca", "list"]), "ca list");
    assert!(list.contains("root-ca-g2"), "{list}");
    ok(
        &env.sealpki(&["audit", "verify"]),
        "audit verify after a second ceremony",
    );
}
