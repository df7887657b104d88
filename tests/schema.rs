//! `schemathesis` (PyPI) against the OpenAPI document the server serves: generated requests to every
//! documented operation, as the public and as an administrator, must get no 5xx and only responses
//! that conform to the document.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

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
