//! Key purposes and roles on SQLite and PostgreSQL, over real HTTP and the real binary: the signing
//! service refuses the authority's keys (root, TSA, OCSP, audit) and general keys, naming the
//! purpose; ceremony-only profiles are never issued on request; authority certificates need an
//! admin and a reason to revoke or hold; `GET /api/v1/cas` hides key references from the public;
//! operators can be disabled and sessions ended; `bench` runs on development data only.

mod common;
use common::*;

use base64::Engine;

fn json_out(out: &std::process::Output, what: &str) -> serde_json::Value {
    serde_json::from_str(&ok(out, what)).unwrap()
}

/// (serial, issuing CA) of the stored certificates of a profile.
fn certs_of(env: &Env, profile: &str) -> Vec<(String, String)> {
    let v = json_out(
        &env.sealpki(&["--json", "cert", "list", "--profile", profile]),
        "cert list",
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["serial"].as_str().unwrap().to_string(),
                r["ca"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pem_of(env: &Env, serial: &str, name: &str) -> std::path::PathBuf {
    let pem = ok(
        &env.sealpki(&["cert", "show", serial, "--pem"]),
        "cert show",
    );
    let p = env.path(name);
    std::fs::write(&p, pem).unwrap();
    p
}

fn login(srv: &Server, user: &str, password: &str) -> (u16, serde_json::Value) {
    let (s, v, _) = post(
        &format!("{}/api/v1/login", srv.url),
        None,
        &serde_json::json!({"username": user, "password": password}).to_string(),
    );
    (s, v)
}

fn detail(v: &serde_json::Value) -> String {
    v["detail"].as_str().unwrap_or_default().to_string()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let api = format!("{}/api/v1", srv.url);
    let admin = srv.login();
    let b64 = base64::engine::general_purpose::STANDARD;

    // An operator account.
    let (s, v, _) = post(
        &format!("{api}/operators"),
        Some(&admin),
        &serde_json::json!({"username": "olga", "password": "operator-password-1", "role": "operator"})
            .to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let olga = srv.staff_login("olga", "operator-password-1");

    // Keys by purpose: `keys generate` makes seal keys unless told otherwise; the authority's
    // purposes are not for the asking.
    let seal_key = json_out(
        &env.sealpki(&["--json", "keys", "generate", "--name", "doc-seal"]),
        "keys generate",
    );
    assert_eq!(seal_key["purpose"], "seal");
    let seal_ref = seal_key["key"].as_str().unwrap().to_string();
    let general = json_out(
        &env.sealpki(&[
            "--json",
            "keys",
            "generate",
            "--name",
            "tls-key",
            "--purpose",
            "general",
        ]),
        "keys generate general",
    );
    let general_ref = general["key"].as_str().unwrap().to_string();
    let maker = json_out(
        &env.sealpki(&[
            "--json",
            "keys",
            "generate",
            "--name",
            "maker-key",
            "--purpose",
            "maker",
        ]),
        "keys generate maker",
    );
    let maker_ref = maker["key"].as_str().unwrap().to_string();
    let out = env.sealpki(&["keys", "generate", "--name", "fake-tsa", "--purpose", "tsa"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("come from the ceremony"),
        "{}",
        text(&out)
    );
    let listing = ok(&env.sealpki(&["keys", "list"]), "keys list");
    assert!(
        listing.contains("ca:root") && listing.contains("ocsp:seal") && listing.contains("seal"),
        "{listing}"
    );

    let issue_for = |key: &str, profile: &str, subject: &str, file: &str| -> String {
        let v = json_out(
            &env.sealpki(&[
                "--json",
                "cert",
                "issue",
                "--profile",
                profile,
                "--key",
                key,
                "--subject",
                subject,
                "--out",
                env.path(file).to_str().unwrap(),
            ]),
            "cert issue --key",
        );
        v["serial"].as_str().unwrap().to_string()
    };
    let seal_serial = issue_for(
        &seal_ref,
        "seal-signing",
        "CN=Example Contract Seal,O=Example Co,C=CN,organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
        "seal.pem",
    );
    let general_serial = issue_for(&general_ref, "app-client", "CN=app,O=Example Co", "app.pem");
    issue_for(
        &maker_ref,
        "maker-production",
        "CN=Example Maker,O=Example Maker Co,C=CN",
        "maker.pem",
    );

    // The authority's keys and their certificates (made by the dev ceremony, generation 1).
    let root = certs_of(env, "root-ca")[0].0.clone();
    let tsa = certs_of(env, "tsa")[0].0.clone();
    let ocsp = certs_of(env, "ocsp-responder")
        .into_iter()
        .find(|(_, ca)| ca == "seal")
        .unwrap()
        .0;
    let audit_cert = certs_of(env, "audit-signer")[0].0.clone();
    let authority = [
        ("soft:root-ca-g1", root.clone(), "a CA key (ca:root)"),
        ("soft:tsa-g1", tsa.clone(), "the time-stamping key (tsa)"),
        (
            "soft:ocsp-seal-g1",
            ocsp.clone(),
            "an OCSP responder key (ocsp:seal)",
        ),
        ("soft:audit-g1", audit_cert.clone(), "the audit key (audit)"),
    ];

    // The signing service over HTTP: the seal key signs (audited); every other purpose is refused
    // with 403 naming it, for an operator and an admin alike, and nothing is signed or audited.
    let pdf = minimal_pdf();
    std::fs::write(env.path("in.pdf"), &pdf).unwrap();
    let sign_body = |key: &str, serial: &str| {
        serde_json::json!({"pdf": b64.encode(&pdf), "key": key, "cert_serial": serial, "level": "b-t"})
            .to_string()
    };
    let (s, v, ctype) = post(
        &format!("{api}/pdf/sign"),
        Some(&olga),
        &sign_body(&seal_ref, &seal_serial),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(ctype, "application/pdf");
    let signed_before = audit_log(env)
        .iter()
        .filter(|(_, a, _)| a == "pdf.sign")
        .count();
    assert_eq!(signed_before, 1, "the HTTP signature is audited");
    let entry = audit_log(env)
        .into_iter()
        .find(|(_, a, _)| a == "pdf.sign")
        .unwrap();
    assert_eq!(entry.0, "olga");
    assert_eq!(entry.2["certificate"], seal_serial.as_str());
    assert_eq!(entry.2["purpose"], "seal");
    assert_eq!(entry.2["level"], "b-t");
    let mut refused = authority.to_vec();
    refused.push((
        general_ref.as_str(),
        general_serial.clone(),
        "a general-purpose key (general)",
    ));
    for (key, serial, needle) in &refused {
        for tok in [&olga, &admin] {
            let (s, v, ctype) = post(
                &format!("{api}/pdf/sign"),
                Some(tok),
                &sign_body(key, serial),
            );
            assert_eq!(s, 403, "{key}: {v}");
            assert_eq!(ctype, "application/problem+json");
            assert!(detail(&v).contains(needle), "{key}: {v}");
        }
    }
    // The same refusals on the command line (pdf sign --key, ses sign --key), no output written.
    let seal_pem = env.path("seal.pem");
    for (key, serial, needle) in &authority {
        let cert = pem_of(env, serial, &format!("{serial}.pem"));
        let target = env.path("refused.pdf");
        let out = env.sealpki(&[
            "pdf",
            "sign",
            "--in",
            env.path("in.pdf").to_str().unwrap(),
            "--out",
            target.to_str().unwrap(),
            "--key",
            key,
            "--cert",
            cert.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains(needle), "{key}: {}", text(&out));
        assert!(!target.exists() && !env.path("refused.pdf.partial").exists());
        let out = env.sealpki(&[
            "ses",
            "sign",
            "--seal",
            env.path("none.ses").to_str().unwrap(),
            "--key",
            key,
            "--cert",
            cert.to_str().unwrap(),
            "--data",
            env.path("in.pdf").to_str().unwrap(),
            "--out",
            env.path("refused.sig").to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains(needle), "{key}: {}", text(&out));
        assert!(!env.path("refused.sig").exists());
    }
    assert_eq!(
        audit_log(env)
            .iter()
            .filter(|(_, a, _)| a == "pdf.sign")
            .count(),
        signed_before,
        "refusals sign and audit nothing"
    );
    // The CLI with the seal key: signed and audited like HTTP.
    ok(
        &env.sealpki(&[
            "pdf",
            "sign",
            "--in",
            env.path("in.pdf").to_str().unwrap(),
            "--out",
            env.path("cli.pdf").to_str().unwrap(),
            "--key",
            &seal_ref,
            "--cert",
            seal_pem.to_str().unwrap(),
        ]),
        "pdf sign --key",
    );
    let (_, root_pem) = env.chain("seal");
    let v = run(env
        .cmd()
        .args(["--json", "pdf", "verify"])
        .arg(env.path("cli.pdf"))
        .arg("--trust")
        .arg(&root_pem));
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    let cli_entry = audit_log(env)
        .into_iter()
        .filter(|(_, a, _)| a == "pdf.sign")
        .nth(1)
        .expect("the CLI signature is audited");
    assert!(cli_entry.0.starts_with("cli:"), "{cli_entry:?}");
    assert_eq!(cli_entry.2["certificate"], seal_serial.as_str());
    // A certificate file that is not the stored one for the key is refused.
    let out = env.sealpki(&[
        "pdf",
        "sign",
        "--in",
        env.path("in.pdf").to_str().unwrap(),
        "--out",
        env.path("other.pdf").to_str().unwrap(),
        "--key",
        &seal_ref,
        "--cert",
        env.path("app.pem").to_str().unwrap(),
    ]);
    assert!(!out.status.success() && !env.path("other.pdf").exists());
    assert!(text(&out).contains("not for key"), "{}", text(&out));

    // GB/T 38540 with stored keys: the maker key makes the seal, the seal key signs with it; the
    // seal key may not make seals; both acts are audited.
    std::fs::write(
        env.path("pic.png"),
        b"\x89PNG\r\n\x1a\nnot really a picture",
    )
    .unwrap();
    let make = |key: &str, out: &str| {
        env.sealpki(&[
            "ses",
            "make",
            "--maker-key",
            key,
            "--maker-cert",
            env.path("maker.pem").to_str().unwrap(),
            "--name",
            "示例合同专用章",
            "--es-id",
            "3301060000001",
            "--image",
            env.path("pic.png").to_str().unwrap(),
            "--signer-cert",
            seal_pem.to_str().unwrap(),
            "--out",
            env.path(out).to_str().unwrap(),
        ])
    };
    let out = make(&seal_ref, "wrong.ses");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("a seal key (seal)") && text(&out).contains("only with maker keys"),
        "{}",
        text(&out)
    );
    ok(&make(&maker_ref, "seal.ses"), "ses make --maker-key");
    ok(
        &env.sealpki(&[
            "ses",
            "sign",
            "--seal",
            env.path("seal.ses").to_str().unwrap(),
            "--key",
            &seal_ref,
            "--cert",
            seal_pem.to_str().unwrap(),
            "--data",
            env.path("in.pdf").to_str().unwrap(),
            "--out",
            env.path("doc.sig").to_str().unwrap(),
        ]),
        "ses sign --key",
    );
    let log = audit_log(env);
    assert!(log
        .iter()
        .any(|(_, a, d)| a == "ses.make" && d["purpose"] == "maker"));
    assert!(log
        .iter()
        .any(|(_, a, d)| a == "ses.sign" && d["certificate"] == seal_serial.as_str()));

    // Ceremony-only profiles: refused on request for the operator's own CSR (and the admin's),
    // 422 naming the way they are made; nothing stored, nothing audited.
    let count = |tok: &str| {
        let (s, body) = get(
            &format!("{api}/certificates?state=all&limit=1000"),
            Some(tok),
        );
        assert_eq!(s, 200);
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count(&admin);
    let audit_before = audit_log(env).len();
    let csr = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        "/C=CN/O=Example Co/CN=Totally a CA",
        &[],
    ))
    .unwrap();
    for (profile, ca) in [
        ("sub-ca", Some("root")),
        ("tsa", None),
        ("ocsp-responder", Some("seal")),
        ("root-ca", Some("root")),
        ("audit-signer", None),
    ] {
        for tok in [&olga, &admin] {
            let mut body = serde_json::json!({"profile": profile, "csr": csr});
            if let Some(ca) = ca {
                body["ca"] = serde_json::json!(ca);
            }
            let (s, v, ctype) = post(&format!("{api}/certificates"), Some(tok), &body.to_string());
            assert_eq!(s, 422, "{profile}: {v}");
            assert_eq!(ctype, "application/problem+json");
            assert!(
                detail(&v).contains(&format!(
                    "profile {profile} is issued only by the key ceremony"
                )),
                "{v}"
            );
        }
    }
    assert_eq!(count(&admin), before, "nothing stored");
    assert_eq!(audit_log(env).len(), audit_before, "nothing audited");

    // Authority certificates: an operator may not revoke or hold them (403 naming the permission);
    // an admin needs a reason (revoke) or a comment (hold); all audited.
    let seal_ca = certs_of(env, "sub-ca")
        .into_iter()
        .find(|(s, _)| ok(&env.sealpki(&["cert", "show", s]), "cert show").contains("Seal CA"))
        .unwrap()
        .0;
    let maker_ocsp = certs_of(env, "ocsp-responder")
        .into_iter()
        .find(|(_, ca)| ca == "maker")
        .unwrap()
        .0;
    let act = |tok: &str, serial: &str, action: &str, body: &str| {
        post(
            &format!("{api}/certificates/{serial}/{action}"),
            Some(tok),
            body,
        )
    };
    for (serial, action, body) in [
        (&tsa, "revoke", r#"{"reason":"keyCompromise"}"#),
        (&seal_ca, "hold", r#"{"comment":"audit finding"}"#),
        (&maker_ocsp, "revoke", r#"{"reason":"superseded"}"#),
        (&root, "revoke", r#"{"reason":"cACompromise"}"#),
        (&audit_cert, "hold", r#"{"comment":"x"}"#),
    ] {
        let (s, v, _) = act(&olga, serial, action, body);
        assert_eq!(s, 403, "{v}");
        assert!(
            detail(&v).contains("role operator may not revoke, hold or release a CA")
                && detail(&v).contains("certificates.authority-status"),
            "{v}"
        );
    }
    let (s, v, _) = act(&admin, &maker_ocsp, "revoke", "");
    assert_eq!(s, 400, "{v}");
    assert!(detail(&v).contains("needs a reason"), "{v}");
    let (s, v, _) = act(&admin, &maker_ocsp, "revoke", r#"{"reason":"unspecified"}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v, _) = act(&admin, &seal_ca, "hold", "");
    assert_eq!(s, 400, "{v}");
    assert!(detail(&v).contains("needs a comment"), "{v}");
    let out = env.sealpki(&["cert", "revoke", &maker_ocsp]);
    assert_eq!(out.status.code(), Some(2), "CLI too: {}", text(&out));
    assert!(text(&out).contains("needs a reason"));
    let (s, v, _) = act(
        &admin,
        &seal_ca,
        "hold",
        r#"{"comment":"suspected compromise, under investigation"}"#,
    );
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = act(&olga, &seal_ca, "release", "");
    assert_eq!(s, 403, "{v}");
    let (s, v, _) = act(&admin, &seal_ca, "release", r#"{"comment":"cleared"}"#);
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = act(
        &admin,
        &maker_ocsp,
        "revoke",
        r#"{"reason":"superseded","comment":"new responder"}"#,
    );
    assert_eq!(s, 200, "{v}");
    let log = audit_log(env);
    let find = |action: &str, serial: &str| {
        log.iter()
            .find(|(_, a, d)| a == action && d["serial"] == serial)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} of {serial}"))
    };
    let held = find("certificate.hold", &seal_ca);
    assert_eq!(held.0, "admin");
    assert_eq!(held.2["authority"], true);
    assert_eq!(
        held.2["comment"],
        "suspected compromise, under investigation"
    );
    find("certificate.release", &seal_ca);
    let revoked = find("certificate.revoke", &maker_ocsp);
    assert_eq!(revoked.2["reason"], "superseded");
    // End-entity certificates stay within an operator's reach, without a reason.
    let (s, v, _) = act(&olga, &general_serial, "hold", "");
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = act(&olga, &general_serial, "revoke", "");
    assert_eq!(s, 200, "{v}");

    // CA summaries: public without key references; staff see them; a bad token is refused.
    let (s, body) = get(&format!("{api}/cas"), None);
    assert_eq!(s, 200);
    let public: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let items = public["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i.get("key").is_none()), "{public}");
    assert!(!String::from_utf8_lossy(&body).contains("soft:"));
    let (_, body) = get(&format!("{api}/cas"), Some(&olga));
    let staff: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["key"].as_str().is_some_and(|k| k.starts_with("soft:"))));
    assert_eq!(get(&format!("{api}/cas"), Some("forged")).0, 401);

    // Disabling: the operator's live session stops at once, it cannot log in (403 after the
    // right password), an operator may not disable anyone, an admin not itself; enable again.
    let (s, v, _) = post(&format!("{api}/operators/admin/disable"), Some(&olga), "");
    assert_eq!(s, 403, "{v}");
    assert!(detail(&v).contains("operators.manage"), "{v}");
    let (s, v, _) = post(&format!("{api}/operators/admin/disable"), Some(&admin), "");
    assert_eq!(s, 422, "{v}");
    let (s, v, _) = post(&format!("{api}/operators/nobody/disable"), Some(&admin), "");
    assert_eq!(s, 404, "{v}");
    assert_eq!(get(&format!("{api}/certificates"), Some(&olga)).0, 200);
    let (s, v, _) = post(&format!("{api}/operators/olga/disable"), Some(&admin), "");
    assert_eq!(s, 200, "{v}");
    assert_eq!(get(&format!("{api}/certificates"), Some(&olga)).0, 401);
    let (s, v, _) = post(
        &format!("{api}/pdf/sign"),
        Some(&olga),
        &sign_body(&seal_ref, &seal_serial),
    );
    assert_eq!(s, 401, "{v}");
    let (s, v) = login(&srv, "olga", "operator-password-1");
    assert_eq!(s, 403, "{v}");
    assert!(detail(&v).contains("olga is disabled"), "{v}");
    let (s, _) = login(&srv, "olga", "wrong-password-1");
    assert_eq!(s, 401, "a wrong password learns nothing about the account");
    ok(
        &env.sealpki(&["operator", "enable", "olga"]),
        "operator enable",
    );
    let olga2 = srv.staff_login("olga", "operator-password-1");
    ok(
        &env.sealpki(&["operator", "disable", "olga"]),
        "operator disable",
    );
    assert_eq!(get(&format!("{api}/certificates"), Some(&olga2)).0, 401);
    let out = env.sealpki(&["operator", "disable", "ghost"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Logout ends the bearer's session, and only it.
    let second = srv.new_staff_session("admin", ADMIN_PASSWORD);
    let (s, _, _) = post(&format!("{api}/logout"), Some(&second), "");
    assert_eq!(s, 204);
    assert_eq!(get(&format!("{api}/certificates"), Some(&second)).0, 401);
    assert_eq!(get(&format!("{api}/certificates"), Some(&admin)).0, 200);
    let (s, _, _) = post(&format!("{api}/logout"), None, "");
    assert_eq!(s, 401);
    let log = audit_log(env);
    for action in [
        "operator.disable",
        "operator.enable",
        "login.refused",
        "logout",
    ] {
        assert!(log.iter().any(|(_, a, _)| a == action), "{action} audited");
    }

    // The development data lets benchmarks run (audited).
    let out = env.sealpki(&[
        "--json",
        "bench",
        "issue",
        "--count",
        "3",
        "--concurrency",
        "1",
    ]);
    ok(&out, "bench issue on development data");
    assert!(audit_log(env).iter().any(|(_, a, _)| a == "bench.run"));
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn purposes_and_roles_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn purposes_and_roles_on_postgres() {
    let Some(url) = pg_database("trust") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}

#[test]
fn bench_refuses_data_that_is_not_development() {
    let env = Env::new(EnvOptions::default());
    // A production ceremony: the development file without its development line.
    let production =
        include_str!("../fixtures/ceremony-dev.toml").replace("development = true", "");
    assert!(!production.contains("development = true"));
    env.init(&production);
    for args in [
        &["bench", "issue", "--count", "2"][..],
        &["bench", "crl", "--entries", "10"][..],
    ] {
        let out = env.sealpki(args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("runs only on development data"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(
        certs_of(&env, "app-client").len(),
        0,
        "nothing was issued by the refused benchmark"
    );
    // A development ceremony on top makes it development data again; a production one after
    // that ends it.
    let f = env.path("dev.toml");
    std::fs::write(&f, include_str!("../fixtures/ceremony-dev.toml")).unwrap();
    ok(
        &env.sealpki(&["init", "--ceremony", f.to_str().unwrap(), "--force"]),
        "dev init",
    );
    ok(
        &env.sealpki(&["bench", "crl", "--entries", "10"]),
        "bench crl on development data",
    );
}
