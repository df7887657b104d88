//! `schemathesis` (PyPI) against the OpenAPI document the server serves: generated requests to every
//! documented operation, as the public and as an administrator, must get no 5xx and only responses
//! that conform to the document.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::json;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let server = env.serve();
    // The token first: schemathesis's own login attempts get this address throttled.
    let token = server.login();
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let out = run(Command::new(tool("schemathesis"))
        // It keeps a cache in its working directory: the test's, not the checkout.
        .current_dir(env.dir.path())
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &hooks)
        .args(["run", &format!("{}/api/openapi.json", server.url)])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "30", "--seed", "20261201"])
        // Logging out would end the session every other operation is tested with (api.rs and
        // trust.rs test logout).
        .args(["--exclude-name", "POST /api/v1/logout"])
        .args(["-H", &format!("Authorization: Bearer {token}")]));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis:\n{text}");
    assert!(text.contains("passed"), "{text}");
}

/// The apps' API (`/api/v1/app/…`) with every generated request HMAC-signed by the hook (the docs'
/// script's scheme) as an app holding an authorized seal: no 5xx, answers as documented.
#[test]
fn schemathesis_on_the_signed_app_api() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let server = env.serve();
    let aw = app_world(
        &env,
        &server,
        "1395000001",
        json!({"rate_per_second": 100_000}),
    );
    grant(&aw);
    let secret = std::fs::read_to_string(&aw.c.secret).unwrap();
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let out = run(Command::new(tool("schemathesis"))
        .current_dir(env.dir.path())
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &hooks)
        .env("SEALPKI_SCHEMA_APP", &aw.app)
        .env("SEALPKI_SCHEMA_KEY", &aw.c.key)
        .env("SEALPKI_SCHEMA_SECRET", secret.trim())
        .args(["run", &format!("{}/api/openapi.json", server.url)])
        .args(["--include-path-regex", "^/api/v1/app/"])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "30", "--seed", "20261202"]));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // The summary stays in the test log (operations, examples, status codes seen).
    println!("{text}");
    assert!(out.status.success(), "schemathesis:\n{text}");
    assert!(text.contains("passed"), "{text}");
    // The hook signed: the app's requests were authenticated (its key was used).
    let (s, v) = get(
        &format!("{}/apps/{}/credentials", aw.api, aw.app),
        Some(&aw.w.applicant_tok),
    );
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_slice(&v).unwrap();
    assert!(v["items"][0]["last_used_at"].is_i64(), "{v}");
}
