//! The public endpoints under load and abuse, over real sockets against the real binary: per-address
//! rate limits (429 + Retry-After; other addresses of 127.0.0.0/8 as other clients), the bounded OCSP
//! cache, the failed-login throttle and its bounded audit rows (SQLite and PostgreSQL), metrics and
//! readiness detail only for staff or on the internal listener, the concurrency limit with load
//! shedding and request timeouts, and the TLS accept loop against idle handshakes and EMFILE.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server started with extra environment variables (the harness's `serve` takes none).
fn start(env: &Env, vars: &[(&str, String)]) -> Server {
    let log = std::fs::File::create(env.path("serve.log")).unwrap();
    let child = env
        .cmd()
        .arg("serve")
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn sealpki serve");
    let url = format!("http://127.0.0.1:{}", env.port);
    wait_until(|| ureq::get(&format!("{url}/healthz")).call().is_ok());
    Server {
        child,
        url,
        dir: env.dir.path().to_path_buf(),
    }
}

fn wait_until(mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Resp {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    /// A 429 problem+json with a Retry-After of at least a second.
    fn assert_throttled(&self, what: &str) {
        assert_eq!(self.status, 429, "{what}: {}", self.text());
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}"
        );
        let after: u64 = self
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: Retry-After\n{}", self.headers));
        assert!(after >= 1, "{what}: Retry-After {after}");
        assert_eq!(self.json()["status"], 429, "{what}");
    }
}

/// One request by curl from local address `from` (127.0.0.0/8 is all ours on Linux).
fn curl(
    from: &str,
    method: &str,
    url: &str,
    body: Option<(&[u8], &str)>,
    token: Option<&str>,
    extra: &[&str],
) -> Resp {
    let dir = tempfile::tempdir().unwrap();
    let (h, b, req) = (
        dir.path().join("h"),
        dir.path().join("b"),
        dir.path().join("req"),
    );
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "30", "--interface", from, "-X", method])
        .arg("-D")
        .arg(&h)
        .arg("-o")
        .arg(&b)
        .args(["-w", "%{http_code}"])
        .args(extra);
    if let Some((data, ctype)) = body {
        std::fs::write(&req, data).unwrap();
        c.arg("--data-binary")
            .arg(format!("@{}", req.display()))
            .args(["-H", &format!("Content-Type: {ctype}")]);
    }
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    // Not `ok`: a server that answers before reading a large body may make curl's upload fail.
    let out = run(c.arg(url));
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Resp {
        status: code.parse().unwrap_or_else(|_| {
            panic!(
                "curl {method} {url}: {code:?} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }),
        headers: std::fs::read_to_string(&h).unwrap_or_default(),
        body: std::fs::read(&b).unwrap_or_default(),
    }
}

/// The value of an unlabelled or labelled sample, e.g. `sealpki_ocsp_cache_entries` or
/// `sealpki_rate_limit_addresses{limit="tsa"}`.
fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn openssl_ocsp_request(issuer: &Path, target: &str, nonce: bool, out: &Path) {
    let mut c = Command::new("openssl");
    c.args(["ocsp", "-issuer"]).arg(issuer);
    if target.starts_with("0x") {
        c.args(["-serial", target]);
    } else {
        c.arg("-cert").arg(target);
    }
    if !nonce {
        c.arg("-no_nonce");
    }
    ok(&run(c.arg("-reqout").arg(out)), "openssl ocsp -reqout");
}

const SUITE_LIMITS: &str = "[limits]
rate_table_entries = 8
pdf_verify = { per_second = 0.1, burst = 2 }
ses_verify = { per_second = 0.1, burst = 2 }
cert_verify = { per_second = 0.1, burst = 3 }
tsa = { per_second = 0.1, burst = 2 }
ocsp_fresh = { per_second = 0.1, burst = 60 }
login_failures = 3
login_window_seconds = 600
[ocsp]
cache_entries = 3
";

fn suite(env: &Env) {
    env.init_dev();
    let internal = free_port();
    let srv = start(
        env,
        &[("SEALPKI_INTERNAL_LISTEN", format!("127.0.0.1:{internal}"))],
    );
    let internal = format!("http://127.0.0.1:{internal}");
    let url = srv.url.clone();
    let tok = srv.login();

    // Metrics and the detail of readiness: staff or the internal listener only.
    assert_eq!(get(&format!("{url}/healthz"), None).0, 200);
    let (s, v, ctype) = {
        let r = curl(
            "127.0.0.1",
            "GET",
            &format!("{url}/metrics"),
            None,
            None,
            &[],
        );
        (
            r.status,
            r.json(),
            r.header("content-type").unwrap_or_default(),
        )
    };
    assert_eq!(
        (s, ctype.as_str()),
        (401, "application/problem+json"),
        "{v}"
    );
    let (s, body) = get(&format!("{url}/metrics"), Some(&tok));
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&body).contains("sealpki_http_requests_total"));
    let (s, body) = get(&format!("{internal}/metrics"), None);
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&body).contains("sealpki_ocsp_cache_entries 0"));
    let (s, body) = get(&format!("{url}/readyz"), None);
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"ready": true}),
        "public readiness says ready, nothing more"
    );
    for (u, t) in [(&url, Some(tok.as_str())), (&internal, None)] {
        let (s, body) = get(&format!("{u}/readyz"), t);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (s, &v["checks"]["database"]),
            (200, &serde_json::json!("ok")),
            "{v}"
        );
    }
    let internal_metrics = || {
        let (s, body) = get(&format!("{internal}/metrics"), None);
        assert_eq!(s, 200);
        String::from_utf8(body).unwrap()
    };

    // Per-address rate limits on the expensive public endpoints: the burst passes (whatever the
    // answer), the next is 429 with Retry-After, and another address is not affected.
    let pdf = &b"%PDF-1.7 not really"[..];
    let tsq = &b"not a time-stamp query"[..];
    let cases: [(&str, &[u8], &str, usize); 4] = [
        ("/api/v1/pdf/verify", pdf, "application/pdf", 2),
        ("/api/v1/ses/verify", b"{}", "application/json", 2),
        ("/api/v1/certificates/verify", b"{}", "application/json", 3),
        ("/tsa", tsq, "application/timestamp-query", 2),
    ];
    for (path, body, ctype, burst) in cases {
        let ask = |from: &str| {
            curl(
                from,
                "POST",
                &format!("{url}{path}"),
                Some((body, ctype)),
                None,
                &[],
            )
        };
        for i in 0..burst {
            let r = ask("127.0.0.1");
            assert_eq!(r.status, 400, "{path} #{i} within the burst: {}", r.text());
        }
        ask("127.0.0.1").assert_throttled(path);
        assert_eq!(ask("127.0.0.2").status, 400, "{path}: another address");
        ask("127.0.0.1").assert_throttled(path);
    }
    // The table of addresses is bounded: twelve more addresses, eight remembered.
    for i in 10..22 {
        let from = format!("127.0.0.{i}");
        curl(
            &from,
            "POST",
            &format!("{url}/tsa"),
            Some((tsq, "application/timestamp-query")),
            None,
            &[],
        );
    }
    let m = internal_metrics();
    assert_eq!(
        metric(&m, "sealpki_rate_limit_addresses{limit=\"tsa\"}"),
        8.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "sealpki_rate_limit_addresses{limit=\"pdf_verify\"}"),
        2.0
    );
    assert!(metric(&m, "sealpki_http_throttled_total") >= 8.0, "{m}");

    // OCSP: unknown serials are answered (status unknown) and never cached; answers for our
    // certificates are, up to cache_entries; fresh signatures are rate limited, cached ones not.
    let (chain, _) = env.chain("service");
    let issuer = first_cert(&chain);
    let mut leaves = Vec::new();
    for i in 0..4 {
        leaves.push(srv.issue_app_client(env, &tok, &format!("ocsp-{i}")).1);
    }
    let ocsp = |req: &Path, from: &str| {
        curl(
            from,
            "POST",
            &format!("{url}/ocsp/service"),
            Some((&std::fs::read(req).unwrap(), "application/ocsp-request")),
            None,
            &[],
        )
    };
    let unknown_req = env.path("unknown.req");
    for i in 0..40u32 {
        let serial = format!("0x{:x}{:08x}", 0x5eed_0000u32 + i, rand_u32());
        openssl_ocsp_request(&issuer, &serial, false, &unknown_req);
        let r = ocsp(&unknown_req, "127.0.0.1");
        assert_eq!(r.status, 200);
        if i == 0 {
            let resp = env.path("unknown.der");
            std::fs::write(&resp, &r.body).unwrap();
            let out = ok(
                &run(Command::new("openssl")
                    .args(["ocsp", "-noverify", "-resp_text", "-respin"])
                    .arg(&resp)),
                "openssl ocsp -respin",
            );
            assert!(out.contains("Cert Status: unknown"), "{out}");
        }
    }
    let m = internal_metrics();
    assert_eq!(
        metric(&m, "sealpki_ocsp_cache_entries"),
        0.0,
        "unknown serials cached: {m}"
    );
    let mut known = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        let req = env.path(&format!("known-{i}.req"));
        openssl_ocsp_request(&issuer, leaf.to_str().unwrap(), false, &req);
        assert_eq!(ocsp(&req, "127.0.0.1").status, 200);
        known.push(req);
    }
    let m = internal_metrics();
    assert_eq!(
        metric(&m, "sealpki_ocsp_cache_entries"),
        3.0,
        "bounded at 3: {m}"
    );
    // Fresh answers (nonce) until the bucket is empty: 60 in all, 44 used above.
    let nonce_req = env.path("nonce.req");
    openssl_ocsp_request(&issuer, leaves[0].to_str().unwrap(), true, &nonce_req);
    let mut fresh = 44;
    let limited = loop {
        let r = ocsp(&nonce_req, "127.0.0.1");
        if r.status != 200 {
            break r;
        }
        fresh += 1;
        assert!(fresh <= 60, "fresh OCSP signatures are not limited");
    };
    assert_eq!(fresh, 60);
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.header("content-type").as_deref(),
        Some("application/ocsp-response")
    );
    assert!(
        limited.header("retry-after").is_some(),
        "{}",
        limited.headers
    );
    let resp = env.path("trylater.der");
    std::fs::write(&resp, &limited.body).unwrap();
    let out = run(Command::new("openssl")
        .args(["ocsp", "-noverify", "-resp_text", "-respin"])
        .arg(&resp));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.to_lowercase().contains("trylater"), "{said}");
    // The pre-signed answer is still served to the limited address; another address signs afresh.
    assert_eq!(ocsp(&known[3], "127.0.0.1").status, 200);
    assert_eq!(ocsp(&nonce_req, "127.0.0.2").status, 200);

    // Failed logins: bounded audit rows, a bounded body, then the throttle before any hash.
    let login = |from: &str, user: &str, password: &str| {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        curl(
            from,
            "POST",
            &format!("{url}/api/v1/login"),
            Some((body.as_bytes(), "application/json")),
            None,
            &[],
        )
    };
    let (s, v, _) = post(
        &format!("{url}/api/v1/operators"),
        Some(&tok),
        &serde_json::json!({"username": "clerk", "password": "clerk-password-1234", "role": "operator"})
            .to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let audit_before = audit_log(env).len();
    let long = "x".repeat(3000);
    assert_eq!(login("127.0.0.5", &long, "wrong").status, 401);
    let huge = "y".repeat(1024 * 1024);
    let r = login("127.0.0.5", &huge, "wrong");
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let log = audit_log(env);
    assert_eq!(
        log.len(),
        audit_before + 1,
        "one entry, for the 3000-character name"
    );
    let (actor, action, detail) = log.last().unwrap();
    assert_eq!(action, "login.failed");
    assert_eq!(actor, &"x".repeat(64));
    assert_eq!(detail["username_chars"], 3000, "{detail}");
    let row_size: usize = log
        .iter()
        .map(|(a, b, d)| a.len() + b.len() + d.to_string().len())
        .max()
        .unwrap();
    assert!(
        row_size < 2048,
        "no audit row carries the long names ({row_size} bytes)"
    );

    for _ in 0..3 {
        assert_eq!(login("127.0.0.1", "admin", "wrong-password").status, 401);
    }
    let throttled_before = metric(&internal_metrics(), "sealpki_logins_throttled_total");
    // Per username (from any address, right password or not) and per address (for any name).
    login("127.0.0.1", "admin", ADMIN_PASSWORD).assert_throttled("admin from .1");
    login("127.0.0.2", "admin", ADMIN_PASSWORD).assert_throttled("admin from .2");
    login("127.0.0.1", "clerk", "clerk-password-1234").assert_throttled("clerk from .1");
    let r = login("127.0.0.3", "clerk", "clerk-password-1234");
    assert_eq!(r.status, 200, "{}", r.text());
    let m = internal_metrics();
    assert_eq!(
        metric(&m, "sealpki_logins_throttled_total") - throttled_before,
        3.0
    );
    assert_eq!(
        metric(&m, "sealpki_logins_failed_total"),
        4.0,
        "throttled logins hash nothing: {m}"
    );
    let failed = audit_log(env)
        .iter()
        .filter(|(_, a, _)| a == "login.failed")
        .count();
    assert_eq!(failed, 4, "throttled logins are not audited");
    drop(srv);
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

#[test]
fn abuse_of_public_endpoints_on_sqlite() {
    suite(&Env::new(EnvOptions {
        extra: SUITE_LIMITS,
        ..Default::default()
    }));
}

#[test]
fn abuse_of_public_endpoints_on_postgres() {
    let Some(url) = pg_database("limits") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        extra: SUITE_LIMITS,
        ..Default::default()
    }));
}

/// Send the head of a request whose body never arrives; returns the stream.
fn slow_request(url: &str, path: &str) -> TcpStream {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n%PDF-1.7\n"
    )
    .unwrap();
    s.flush().unwrap();
    s
}

/// Read an HTTP/1.1 response until the server closes the connection or `limit` passes.
fn read_response(s: &mut TcpStream, limit: Duration) -> String {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).to_string()
}

#[test]
fn the_concurrency_limit_sheds_load_and_timeouts_end_slow_uploads() {
    let env = Env::new(EnvOptions {
        extra: "[limits]\nconcurrency = 1\nrequest_timeout_seconds = 1\npdf_timeout_seconds = 4\n",
        ..Default::default()
    });
    env.init_dev();
    let internal = free_port();
    let srv = start(
        &env,
        &[("SEALPKI_INTERNAL_LISTEN", format!("127.0.0.1:{internal}"))],
    );
    let cas = format!("{}/api/v1/cas", srv.url);
    assert_eq!(get(&cas, None).0, 200);

    // A PDF upload that stalls holds the only slot: others are refused at once, /healthz is not.
    let t0 = Instant::now();
    let mut slow = slow_request(&srv.url, "/api/v1/pdf/verify");
    std::thread::sleep(Duration::from_millis(300));
    let r = curl("127.0.0.1", "GET", &cas, None, None, &[]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(r.json()["type"].as_str().unwrap().ends_with("/overloaded"));
    assert_eq!(get(&format!("{}/healthz", srv.url), None).0, 200);
    // The PDF route's timeout (4 s) ends it with 408: its body never came.
    let answer = read_response(&mut slow, Duration::from_secs(15));
    let took = t0.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        took >= Duration::from_millis(3500) && took < Duration::from_secs(10),
        "PDF timeout after {took:?}"
    );
    assert_eq!(get(&cas, None).0, 200, "the slot is free again");

    // Other routes have the shorter default timeout (1 s).
    let t0 = Instant::now();
    let mut slow = slow_request(&srv.url, "/api/v1/ses/verify");
    let answer = read_response(&mut slow, Duration::from_secs(15));
    let took = t0.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        took < Duration::from_millis(3500),
        "default timeout after {took:?}"
    );

    let (_, body) = get(&format!("http://127.0.0.1:{internal}/metrics"), None);
    let m = String::from_utf8(body).unwrap();
    assert_eq!(metric(&m, "sealpki_http_timeouts_total"), 2.0, "{m}");
    assert!(metric(&m, "sealpki_http_shed_total") >= 1.0, "{m}");
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

/// `GET https://localhost:PORT/PATH` by curl, from `from`; (success, elapsed).
fn curl_tls(port: u16, root: &Path, from: &str, path: &str) -> (bool, Duration, Resp) {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "15", "--interface", from, "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg("--cacert")
        .arg(root)
        .arg("-o")
        .arg(&b)
        .args(["-w", "%{http_code}"])
        .args(if path.starts_with("/api/v1/") {
            &[
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "{}",
            ][..]
        } else {
            &[]
        })
        .arg(format!("https://localhost:{port}{path}")));
    let resp = Resp {
        status: String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        headers: String::new(),
        body: std::fs::read(&b).unwrap_or_default(),
    };
    (out.status.success(), t0.elapsed(), resp)
}

const TLS_LIMITS: &str = "[limits]\ntls_handshakes = 4\ntls_handshake_timeout_seconds = 2\ncert_verify = { per_second = 0.1, burst = 2 }\n";

#[test]
fn the_tls_accept_loop_bounds_handshakes_and_survives_emfile() {
    let env = Env::new(EnvOptions {
        extra: TLS_LIMITS,
        ..Default::default()
    });
    env.init_dev();
    let (full, root) = tls_server_files(&env);
    let port = free_port();
    let tls_vars = |c: &mut Command| {
        c.env("SEALPKI_TLS_CERT", &full)
            .env("SEALPKI_TLS_KEY", openssl_key("p256"))
            .env("SEALPKI_LISTEN", format!("127.0.0.1:{port}"));
    };
    let mut cmd = env.cmd();
    tls_vars(&mut cmd);
    let log = std::fs::File::create(env.path("tls.log")).unwrap();
    let mut child = cmd
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_until(|| curl_tls(port, &root, "127.0.0.1", "/healthz").0);

    // Idle connections that never send a ClientHello do not hold up a real client…
    let idle = || -> Vec<TcpStream> {
        (0..3)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect()
    };
    let t0 = Instant::now();
    let mut conns = idle();
    std::thread::sleep(Duration::from_millis(200));
    let (served, took, _) = curl_tls(port, &root, "127.0.0.1", "/healthz");
    assert!(
        served && took < Duration::from_millis(1500),
        "served after {took:?}"
    );
    // …and the handshake timeout (2 s) closes them.
    for c in &mut conns {
        let mut buf = [0u8; 16];
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        match c.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("idle connection not closed: {other:?}"),
        }
    }
    let closed = t0.elapsed();
    assert!(
        closed >= Duration::from_millis(1500) && closed < Duration::from_secs(6),
        "idle handshakes closed after {closed:?}"
    );
    // Four idle handshakes use every slot: a real client is served once the timeout frees one.
    let t0 = Instant::now();
    let mut conns = idle();
    conns.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    std::thread::sleep(Duration::from_millis(200));
    let (served, _, _) = curl_tls(port, &root, "127.0.0.1", "/healthz");
    let took = t0.elapsed();
    assert!(served, "served once a handshake slot is free");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
        "a fifth handshake waited for a slot: {took:?}"
    );
    drop(conns);

    // The client address reaches the rate limits over TLS as well.
    for _ in 0..2 {
        let (_, _, r) = curl_tls(port, &root, "127.0.0.1", "/api/v1/certificates/verify");
        assert_eq!(r.status, 400, "{}", r.text());
    }
    let (_, _, r) = curl_tls(port, &root, "127.0.0.1", "/api/v1/certificates/verify");
    assert_eq!(r.status, 429, "{}", r.text());
    let (_, _, r) = curl_tls(port, &root, "127.0.0.2", "/api/v1/certificates/verify");
    assert_eq!(r.status, 400, "another address: {}", r.text());
    child.kill().unwrap();
    child.wait().unwrap();

    // Out of file descriptors: the accept loop logs, pauses and carries on.
    let cfg = env.path("emfile.toml");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&env.config)
            .unwrap()
            .replace("tls_handshakes = 4", "tls_handshakes = 1000"),
    )
    .unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -n 96 && exec \"$0\" \"$@\""])
        .arg(bin())
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .env("SEALPKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("SEALPKI_KEYS_PASSPHRASE");
    tls_vars(&mut cmd);
    let log_path = env.path("emfile.log");
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    wait_until(|| curl_tls(port, &root, "127.0.0.3", "/healthz").0);
    let flood: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    wait_until(|| {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .contains("accept failed")
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server kept running"
    );
    drop(flood);
    std::thread::sleep(Duration::from_millis(500));
    wait_until(|| curl_tls(port, &root, "127.0.0.3", "/healthz").0);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server kept running"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.to_lowercase().contains("too many open files"), "{log}");
    child.kill().unwrap();
    child.wait().unwrap();
}
