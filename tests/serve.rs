//! `sealpki serve` as a newcomer meets it: development mode on first start (the README's first command),
//! environment overrides, and TLS with a certificate from our own service CA, checked by curl.

mod common;
use common::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !probe() {
        assert!(Instant::now() < deadline, "service did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn clean_cmd() -> Command {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALPKI_")) {
        c.env_remove(k);
    }
    c
}

#[test]
fn development_mode_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let start = |log: &str| {
        let log = std::fs::File::create(dir.path().join(log)).unwrap();
        clean_cmd()
            .args([
                "--data",
                data.to_str().unwrap(),
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut child = start("first.log");
    wait_for(|| ureq::get(&format!("{url}/readyz")).call().is_ok());
    let log = std::fs::read_to_string(dir.path().join("first.log")).unwrap();
    assert!(log.contains("DEVELOPMENT MODE"), "{log}");
    let password = log
        .lines()
        .find_map(|l| l.strip_prefix("first administrator: admin / "))
        .and_then(|l| l.split_whitespace().next())
        .expect("admin password printed once")
        .to_string();
    let (s, v, _) = post(
        &format!("{url}/api/v1/login"),
        None,
        &serde_json::json!({"username": "admin", "password": password}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    use std::os::unix::fs::PermissionsExt;
    for f in ["dev-passphrase", "keys/root-ca-g1.key"] {
        let mode = std::fs::metadata(data.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let (_, root1) = get(&format!("{url}/ca/root.der"), None);
    child.kill().unwrap();
    child.wait().unwrap();
    // Second start: same hierarchy, no new password.
    let mut child = start("second.log");
    wait_for(|| ureq::get(&format!("{url}/readyz")).call().is_ok());
    let (_, root2) = get(&format!("{url}/ca/root.der"), None);
    assert_eq!(root1, root2, "the development CA is made once");
    let log = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert!(
        !log.contains("first administrator") && !log.contains("creating a development CA"),
        "{log}"
    );
    assert!(log.contains("development mode"), "warned on every start");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A TLS server certificate for `localhost` from the service CA: (certificate + chain PEM, root PEM).
/// Its key is `openssl_key("p256")`.
fn tls_server_files(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
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

#[test]
fn tls_with_a_certificate_from_the_service_ca() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let (full, root) = tls_server_files(&env);
    // TLS and the listen address come from environment overrides of the config file.
    let port = free_port();
    let mut child = env
        .cmd()
        .arg("serve")
        .env("SEALPKI_TLS_CERT", &full)
        .env("SEALPKI_TLS_KEY", openssl_key("p256"))
        .env("SEALPKI_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |url: &str, ca: Option<&std::path::Path>| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "5"]);
        if let Some(ca) = ca {
            c.arg("--cacert").arg(ca);
        }
        run(c.arg(url))
    };
    let url = format!("https://localhost:{port}/healthz");
    wait_for(|| curl(&url, Some(&root)).status.success());
    assert_eq!(
        String::from_utf8_lossy(&curl(&url, Some(&root)).stdout),
        "ok\n"
    );
    // Without our root, curl must refuse the server.
    assert!(!curl(&url, None).status.success());
    // Plain HTTP on the TLS port gets no answer.
    assert!(!curl(&format!("http://localhost:{port}/healthz"), None)
        .status
        .success());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn mtls_refuses_a_revoked_client_at_the_handshake_without_restart() {
    let env = Env::new(EnvOptions {
        extra: "[crl]\nrefresh_seconds = 1\n",
        ..Default::default()
    });
    env.init_dev();
    // The client: an application certificate from the service CA, with its own key.
    let client_key = env.path("client.key");
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
            .arg(&client_key)),
        "client key",
    );
    let client_csr = env.path("client.csr");
    ok(
        &run(Command::new("openssl")
            .args(["req", "-new", "-key"])
            .arg(&client_key)
            .args(["-subj", "/O=Example Co/CN=contract-app", "-out"])
            .arg(&client_csr)),
        "client csr",
    );
    let client_cert = env.path("client.pem");
    let issued = ok(
        &env.sealpki(&[
            "--json",
            "cert",
            "issue",
            "--profile",
            "app-client",
            "--csr",
            client_csr.to_str().unwrap(),
        ]),
        "client cert",
    );
    let v: serde_json::Value = serde_json::from_str(&issued).unwrap();
    std::fs::write(&client_cert, v["certificate"].as_str().unwrap()).unwrap();
    let serial = v["serial"].as_str().unwrap().to_string();
    let (full, root) = tls_server_files(&env);
    let port = free_port();
    let mut child = env
        .cmd()
        .arg("serve")
        .env("SEALPKI_TLS_CERT", &full)
        .env("SEALPKI_TLS_KEY", openssl_key("p256"))
        .env("SEALPKI_LISTEN", format!("127.0.0.1:{port}"))
        .env("SEALPKI_CLIENT_AUTH", "required")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let curl = |with_cert: bool| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "5", "--cacert"]).arg(&root);
        if with_cert {
            c.arg("--cert")
                .arg(&client_cert)
                .arg("--key")
                .arg(&client_key);
        }
        run(c.arg(&url))
    };
    wait_for(|| curl(true).status.success());
    assert_eq!(String::from_utf8_lossy(&curl(true).stdout), "ok\n");
    assert!(
        !curl(false).status.success(),
        "a client without a certificate is refused"
    );
    // Revoke from the CLI (another process); the running server refuses the client within a refresh.
    ok(
        &env.sealpki(&["cert", "revoke", &serial, "--reason", "keyCompromise"]),
        "revoke client",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = curl(true);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
            eprintln!("after revocation: {err}");
            assert!(err.contains("revoked"), "{err}");
            break;
        }
        assert!(Instant::now() < deadline, "revoked client still accepted");
        std::thread::sleep(Duration::from_millis(300));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
