//! Test harness: data directories with config files, the real `sealpki` binary, openssl-made keys and
//! CSRs, SoftHSM2 tokens, throw-away PostgreSQL databases, and a running server.
#![allow(dead_code)]

pub mod apps;
#[allow(unused_imports)]
pub use apps::*;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PASSPHRASE: &str = "test passphrase, not secret";
pub const PIN: &str = "1234";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const BASE_URL: &str = "http://pki.example.com";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sealpki"))
}

pub fn tool(name: &str) -> PathBuf {
    // The test script puts the venv first on PATH; fall back to the repository's .venv.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// How long any one command a test runs may take before it is killed (`SEALPKI_TEST_CMD_TIMEOUT`
/// seconds, default 600): a hung tool fails its test with its name instead of stalling the suite.
fn command_deadline() -> Duration {
    let secs = std::env::var("SEALPKI_TEST_CMD_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// Run a command and return its output, panicking with context if it cannot start or outlives the
/// harness's deadline.
pub fn run(cmd: &mut Command) -> Output {
    let limit = command_deadline();
    run_within(cmd, limit).unwrap_or_else(|| panic!("{cmd:?} ran for more than {limit:?}: killed"))
}

/// Run a command with stdin closed (as `Command::output` does), killing its whole process group
/// when it runs past `limit`; `None` means it was killed.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Option<Output> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    // Readers drain the pipes so a chatty child cannot block on a full pipe while we wait.
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break None,
        }
    };
    let Some(status) = status else {
        // The group goes too: Chromium's renderers and zygote would otherwise hold the pipes open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    Some(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Headless Chromium, as the tests run it: one place for its flags, a fresh profile per run, and a
/// retry when a run hangs (headless Chromium now and then never finishes a screenshot).
pub mod chromium {
    use super::*;

    pub fn installed() -> bool {
        Command::new("chromium").arg("--version").output().is_ok()
    }

    /// One Chromium run with `args` after the common flags; retried twice if it hangs.
    pub fn run(args: &[String]) -> Output {
        for _ in 0..3 {
            let profile = tempfile::tempdir().unwrap();
            let mut c = Command::new("chromium");
            c.args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--no-first-run",
                // Let the page settle (style sheet, fonts) before the screenshot or the DOM is taken.
                "--run-all-compositor-stages-before-draw",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args);
            if let Some(out) = run_within(&mut c, Duration::from_secs(60)) {
                return out;
            }
            eprintln!("chromium {args:?} hung for 60 s: killed, trying again");
        }
        panic!("chromium {args:?} hung three times");
    }

    /// `path` on `base` through the language switch, as a reader would choose the language.
    pub fn url(base: &str, path: &str, lang: &str) -> String {
        let next = path
            .replace('%', "%25")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('=', "%3D")
            .replace('&', "%26");
        format!("{base}/lang/{lang}?next={next}")
    }

    /// A screenshot of `path` in `lang` at `size` into `file`, which must come out a real PNG.
    pub fn shot(base: &str, path: &str, lang: &str, size: (u32, u32), file: &Path) {
        let out = run(&[
            format!("--screenshot={}", file.display()),
            format!("--window-size={},{}", size.0, size.1),
            url(base, path, lang),
        ]);
        let png = std::fs::read(file).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5000,
            "no screenshot of {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The page as Chromium built it (after loading its CSS and script).
    pub fn dom(base: &str, path: &str, lang: &str) -> String {
        let out = run(&["--dump-dom".into(), url(base, path, lang)]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Screenshots of console pages as the holder of session `token` sees them
    /// (`tests/session_shots.py`): each of `pages` — (file name, path, a zh-CN title fragment, an
    /// English one) — in both languages on a phone and a desktop, checked to be a 200 with that
    /// title and no wider than the phone. Skipped when Chromium is not installed.
    pub fn session_shots(base: &str, token: &str, pages: &[(&str, &str, &str, &str)]) {
        if !installed() {
            eprintln!("chromium is not installed (scripts/test.sh installs it): no screenshots");
            return;
        }
        let list: Vec<[&str; 4]> = pages.iter().map(|p| [p.0, p.1, p.2, p.3]).collect();
        let out = super::run(
            Command::new(tool("python3"))
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/session_shots.py"))
                .env("BASE", base)
                .env("SCREENSHOTS", screenshots_dir())
                .env("TOKEN", token)
                .env("PAGES", serde_json::to_string(&list).unwrap()),
        );
        assert!(
            out.status.success(),
            "console screenshots:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Where screenshots go: under the test run, kept after it.
    pub fn screenshots_dir() -> PathBuf {
        let d = std::env::var_os("SEALPKI_TEST_RUN")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("sealpki-web-test"))
            .join("screenshots");
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A fresh P-256 key (PKCS#8 PEM) at `path`, made by openssl.
pub fn openssl_p256_key(path: &Path) {
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
            .arg(path)),
        "openssl genpkey",
    );
}

/// A time as RFC 3339 UTC (`2026-12-01T10:00:00Z`).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let out =
        run(Command::new("date").args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Which database a test environment uses.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite,
    Postgres(String),
}

/// A fresh PostgreSQL database on the harness cluster, or None (skip) when none is configured.
/// With SEALPKI_REQUIRE_PG=1 (as in CI) a missing cluster is a failure, not a skip.
pub fn pg_database(name_hint: &str) -> Option<String> {
    let base = match std::env::var("SEALPKI_TEST_PG_URL") {
        Ok(u) => u,
        Err(_) => {
            assert!(
                std::env::var("SEALPKI_REQUIRE_PG").is_err(),
                "SEALPKI_REQUIRE_PG is set but SEALPKI_TEST_PG_URL is not"
            );
            eprintln!("SKIP: no PostgreSQL (run through scripts/test.sh)");
            return None;
        }
    };
    let db = format!("t_{}_{}_{}", name_hint, std::process::id(), rand_suffix());
    let out = run(Command::new("psql")
        .arg(&base)
        .arg("-qc")
        .arg(format!("CREATE DATABASE {db}")));
    ok(&out, "CREATE DATABASE");
    Some(format!("{}/{db}", base.rsplit_once('/').unwrap().0))
}

pub fn rand_suffix() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{n:x}")
}

/// SoftHSM2 module, or None (skip) when the harness did not set one up.
pub fn softhsm_module() -> Option<PathBuf> {
    match std::env::var("SEALPKI_TEST_PKCS11_MODULE") {
        Ok(m) if std::env::var("SOFTHSM2_CONF").is_ok() => Some(m.into()),
        _ => {
            assert!(
                std::env::var("SEALPKI_REQUIRE_SOFTHSM").is_err(),
                "SEALPKI_REQUIRE_SOFTHSM set without a token directory"
            );
            eprintln!("SKIP: no SoftHSM2 (run through scripts/test.sh)");
            None
        }
    }
}

/// Initialise a new SoftHSM2 token with a unique label; returns the label.
pub fn softhsm_token(hint: &str) -> String {
    let label = format!("{hint}-{}-{}", std::process::id(), rand_suffix());
    let out = run(Command::new("softhsm2-util").args([
        "--init-token",
        "--free",
        "--label",
        &label,
        "--pin",
        PIN,
        "--so-pin",
        "87654321",
    ]));
    ok(&out, "softhsm2-util --init-token");
    label
}

/// A data directory with its config file.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
    pub db: Db,
}

pub struct EnvOptions<'a> {
    pub db: Db,
    pub tokens: &'a [&'a str],
    pub pin: &'a str,
    pub extra: &'a str,
    /// Certificates name this instance's own listener in their CRL, OCSP and CA-issuer URLs (so
    /// relying parties such as pdfsig can reach them while the server runs).
    pub self_urls: bool,
}

impl Default for EnvOptions<'_> {
    fn default() -> Self {
        EnvOptions {
            db: Db::Sqlite,
            tokens: &[],
            pin: PIN,
            extra: "",
            self_urls: false,
        }
    }
}

impl Env {
    pub fn new(opts: EnvOptions<'_>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let pass = dir.path().join("passphrase");
        std::fs::write(&pass, PASSPHRASE).unwrap();
        let url = match &opts.db {
            Db::Sqlite => format!("sqlite://{}/sealpki.db", dir.path().display()),
            Db::Postgres(u) => u.clone(),
        };
        let base_url = if opts.self_urls {
            format!("http://127.0.0.1:{port}")
        } else {
            BASE_URL.to_string()
        };
        let mut cfg = format!(
            "data_dir = {:?}\n[database]\nurl = {url:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\npublic_base_url = {base_url:?}\n[keys]\npassphrase_file = {:?}\n[audit]\ncheckpoint_every = 50\n",
            dir.path().display().to_string(),
            pass.display().to_string()
        );
        if !opts.tokens.is_empty() {
            let module = softhsm_module().expect("tokens need SoftHSM");
            let pin = dir.path().join("pin");
            std::fs::write(&pin, opts.pin).unwrap();
            cfg += &format!(
                "[pkcs11]\nmodule = {:?}\nsessions = 4\n",
                module.display().to_string()
            );
            for t in opts.tokens {
                cfg += &format!(
                    "[[pkcs11.token]]\nlabel = {t:?}\npin_file = {:?}\n",
                    pin.display().to_string()
                );
            }
        }
        cfg += opts.extra;
        let config = dir.path().join("sealpki.toml");
        std::fs::write(&config, cfg).unwrap();
        Env {
            dir,
            config,
            port,
            db: opts.db,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config")
            .arg(&self.config)
            .env("SEALPKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("SEALPKI_KEYS_PASSPHRASE");
        c
    }

    pub fn sealpki(&self, args: &[&str]) -> Output {
        run(self.cmd().args(args))
    }

    /// Run a ceremony given as TOML text.
    pub fn init(&self, ceremony: &str) {
        let f = self.path("ceremony.toml");
        std::fs::write(&f, ceremony).unwrap();
        ok(
            &self.sealpki(&["init", "--ceremony", f.to_str().unwrap()]),
            "sealpki init",
        );
    }

    pub fn init_dev(&self) {
        self.init(include_str!("../../fixtures/ceremony-dev.toml"));
    }

    /// PEM chain of a CA (its certificate first), and the root alone.
    pub fn chain(&self, ca: &str) -> (PathBuf, PathBuf) {
        let chain = ok(&self.sealpki(&["ca", "chain", ca]), "ca chain");
        let root = ok(&self.sealpki(&["ca", "chain", "root"]), "ca chain root");
        let (c, r) = (self.path(&format!("{ca}-chain.pem")), self.path("root.pem"));
        std::fs::write(&c, chain).unwrap();
        std::fs::write(&r, root).unwrap();
        (c, r)
    }

    /// `sealpki cert issue --profile P --csr CSR --out OUT [extra…]`, which must succeed.
    pub fn issue_to(&self, profile: &str, csr: &Path, out: &Path, extra: &[&str]) {
        let mut args = vec![
            "cert",
            "issue",
            "--profile",
            profile,
            "--csr",
            csr.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        ok(&self.sealpki(&args), &format!("issue {profile}"));
    }

    pub fn serve(&self) -> Server {
        Server::start(self)
    }

    /// `serve` with extra environment variables (e.g. `SEALPKI_FAILPOINT`).
    pub fn serve_with(&self, vars: &[(&str, &str)]) -> Server {
        Server::start_with(self, vars)
    }
}

/// A running `sealpki serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// The environment's directory: staff TOTP secrets and tokens are kept there across restarts.
    pub dir: PathBuf,
}

impl Server {
    pub fn start(env: &Env) -> Server {
        Server::start_with(env, &[])
    }

    pub fn start_with(env: &Env, vars: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(env.path(&format!("serve-{}.log", rand_suffix()))).unwrap();
        let child = env
            .cmd()
            .envs(vars.iter().copied())
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sealpki serve");
        let url = format!("http://127.0.0.1:{}", env.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ureq::get(&format!("{url}/healthz")).call().is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            url,
            dir: env.config.parent().unwrap().to_path_buf(),
        }
    }

    /// A full bearer token of the first administrator (see `staff_login`).
    pub fn login(&self) -> String {
        self.staff_login("admin", ADMIN_PASSWORD)
    }

    /// A full bearer token of a staff account, as a program gets one: log in; at the first login
    /// set up the second factor (the secret is kept in the test directory); later logins send the
    /// current code. A token from an earlier call that still works is reused, since a code is good
    /// once per 30-second step.
    pub fn staff_login(&self, user: &str, password: &str) -> String {
        self.staff_login_with(user, password, true)
    }

    /// Create a staff account (password `NAME-password-1`) with an administrator's token, and log it
    /// in (its second factor set up as a program would).
    pub fn new_staff(&self, admin: &str, name: &str, role: &str) -> String {
        let password = format!("{name}-password-1");
        let (s, v, _) = post(
            &format!("{}/api/v1/operators", self.url),
            Some(admin),
            &serde_json::json!({"username": name, "password": password, "role": role}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
        self.staff_login(name, &password)
    }

    /// A new session of a staff account (never a cached one), e.g. to log it out.
    pub fn new_staff_session(&self, user: &str, password: &str) -> String {
        self.staff_login_with(user, password, false)
    }

    fn staff_login_with(&self, user: &str, password: &str, reuse: bool) -> String {
        let cached = self.dir.join(format!("token-{user}"));
        if let Some(t) = reuse
            .then(|| std::fs::read_to_string(&cached).ok())
            .flatten()
        {
            let (s, body) = get(&format!("{}/api/v1/account", self.url), Some(&t));
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if s == 200 && v["stage"] == "full" {
                return t;
            }
        }
        let secret_file = self.dir.join(format!("totp-{user}"));
        let login = |code: Option<String>| {
            let mut body = serde_json::json!({"username": user, "password": password});
            if let Some(c) = code {
                body["totp"] = c.into();
            }
            post(
                &format!("{}/api/v1/login", self.url),
                None,
                &body.to_string(),
            )
        };
        let token = match std::fs::read_to_string(&secret_file) {
            Ok(secret) => {
                let secret = sealpki::accounts::totp::Secret::from_base32(&secret).unwrap();
                let mut tries = 0;
                loop {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    let (s, v, _) = login(Some(secret.code_at(now)));
                    if s == 200 {
                        break v["token"].as_str().unwrap().to_string();
                    }
                    // This step's code was spent by an earlier login: wait for the next step.
                    assert!(s == 401 && tries < 2, "staff login {user}: {s} {v}");
                    tries += 1;
                    std::thread::sleep(Duration::from_secs(30 - now % 30 + 1));
                }
            }
            Err(_) => {
                let (s, v, _) = login(None);
                assert_eq!(s, 200, "staff login {user}: {v}");
                let token = v["token"].as_str().unwrap().to_string();
                assert_eq!(v["stage"], "totp-enrolment", "{v}");
                let (s, setup, _) = post(
                    &format!("{}/api/v1/account/totp", self.url),
                    Some(&token),
                    "",
                );
                assert_eq!(s, 201, "{setup}");
                let b32 = setup["secret"].as_str().unwrap().to_string();
                let secret = sealpki::accounts::totp::Secret::from_base32(&b32).unwrap();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let (s, v, _) = post(
                    &format!("{}/api/v1/account/totp/confirm", self.url),
                    Some(&token),
                    &serde_json::json!({"code": secret.code_at(now)}).to_string(),
                );
                assert_eq!(s, 204, "{v}");
                std::fs::write(&secret_file, b32).unwrap();
                token
            }
        };
        if reuse {
            std::fs::write(&cached, &token).unwrap();
        }
        token
    }

    /// An app-client certificate for a fresh P-256 CSR, issued over HTTP; returns (serial, PEM file).
    pub fn issue_app_client(&self, env: &Env, tok: &str, cn: &str) -> (String, PathBuf) {
        let csr = std::fs::read_to_string(openssl_csr(
            env.dir.path(),
            "p256",
            &format!("/O=Example Co/CN={cn}"),
            &[],
        ))
        .unwrap();
        let (s, v, _) = post(
            &format!("{}/api/v1/certificates", self.url),
            Some(tok),
            &serde_json::json!({"profile": "app-client", "csr": csr}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
        let leaf = env.path(&format!("{cn}.pem"));
        std::fs::write(&leaf, v["certificate"].as_str().unwrap()).unwrap();
        (v["serial"].as_str().unwrap().to_string(), leaf)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// POST JSON with a bearer token; returns (status, body).
pub fn post(url: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value, String) {
    let mut req = ureq::post(url).set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let (status, resp) = match req.send_string(body) {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(s, r)) => (s, r),
        Err(e) => panic!("POST {url}: {e}"),
    };
    let ctype = resp.content_type().to_string();
    let text = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        ctype,
    )
}

pub fn get(url: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = ureq::get(url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = resp.status();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
    (status, body)
}

// ---- keys and CSRs made by openssl (an independent implementation) ------------------------------

/// One key per algorithm per test process, generated by openssl.
pub fn openssl_key(alg: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join(format!("{alg}.pem"));
    // One generation per kind even when tests run in parallel threads: without the lock two threads
    // could each make a key and the second rename replace the first after a CSR was made from it.
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = GENERATING.lock().unwrap_or_else(|p| p.into_inner());
    if !path.exists() {
        let tmp = dir.path().join(format!("{alg}.{}.tmp", rand_suffix()));
        let mut c = Command::new("openssl");
        match alg {
            "p256" => c.args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]),
            "sm2" => c.args(["genpkey", "-algorithm", "SM2"]),
            "rsa2048" => c.args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ]),
            "rsa3072" => c.args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:3072",
            ]),
            "p384" => c.args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ]),
            other => panic!("no key type {other}"),
        };
        ok(&run(c.arg("-out").arg(&tmp)), "openssl genpkey");
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// A CSR made by `openssl req` for `subj` (OpenSSL's /-separated form), optionally with DNS SANs.
pub fn openssl_csr(out_dir: &Path, alg: &str, subj: &str, dns: &[&str]) -> PathBuf {
    let key = openssl_key(alg);
    let out = out_dir.join(format!("{}.csr", rand_suffix()));
    let mut c = Command::new("openssl");
    c.args(["req", "-new", "-key"])
        .arg(&key)
        .args(["-subj", subj, "-utf8", "-out"])
        .arg(&out);
    if alg == "sm2" {
        c.args(["-sm3", "-sigopt", "distid:1234567812345678"]);
    }
    if !dns.is_empty() {
        let san = dns
            .iter()
            .map(|d| format!("DNS:{d}"))
            .collect::<Vec<_>>()
            .join(",");
        c.args(["-addext", &format!("subjectAltName={san}")]);
    }
    ok(&run(&mut c), "openssl req");
    out
}

/// `openssl verify` of `leaf` against `root`, with `chain` (issuing CA first) as intermediates.
///
/// OpenSSL 3.0 applies `-vfyopt distid:…` only to the target certificate and checks intermediates with
/// an empty SM2 ID (its own three-level SM2 chains fail the same way), so for SM2 every link is
/// verified as a target: the issuing CA against the root, then the leaf against the issuing CA.
pub fn openssl_verify(root: &Path, chain: &Path, leaf: &Path, sm2: bool) -> Output {
    if !sm2 {
        return run(Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(root)
            .arg("-untrusted")
            .arg(chain)
            .arg(leaf));
    }
    let issuing = first_cert(chain);
    let vfy = ["-vfyopt", "distid:1234567812345678"];
    let first = run(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(root)
        .args(vfy)
        .arg(&issuing));
    if !first.status.success() {
        return first;
    }
    run(Command::new("openssl")
        .args(["verify", "-partial_chain", "-CAfile"])
        .arg(&issuing)
        .args(vfy)
        .arg(leaf))
}

/// The first certificate of a PEM file (e.g. the issuing CA of a chain), written beside it.
pub fn first_cert(pem: &Path) -> PathBuf {
    let text = std::fs::read_to_string(pem).unwrap();
    let marker = "-----END CERTIFICATE-----";
    let end = text.find(marker).expect("a certificate") + marker.len();
    let out = pem.with_extension("first.pem");
    std::fs::write(&out, format!("{}\n", &text[..end])).unwrap();
    out
}

pub fn pkilint(linter: &str, extra: &[&str], cert: &Path) -> Output {
    run(Command::new(tool(linter))
        .arg("lint")
        .args(extra)
        .args(["-s", "WARNING"])
        .arg(cert))
}

/// A one-page PDF written by hand (an independent writer: offsets counted here).
pub fn minimal_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 72 720 Td (Contract) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{}\nendstream",
            content.len(),
            String::from_utf8_lossy(content)
        ),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub fn db_url(env: &Env) -> String {
    match &env.db {
        Db::Sqlite => format!("sqlite://{}/sealpki.db", env.dir.path().display()),
        Db::Postgres(u) => u.clone(),
    }
}

/// Every audit entry as (actor, action, detail).
pub fn audit_log(env: &Env) -> Vec<(String, String, serde_json::Value)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = sealpki::store::Store::open(&db_url(env), None, None)
            .await
            .unwrap();
        let rows = store.audit_page(0, 100_000).await.unwrap();
        store.close().await;
        rows.into_iter()
            .map(|r| {
                (
                    r.actor,
                    r.action,
                    serde_json::from_str(&r.detail).unwrap_or_default(),
                )
            })
            .collect()
    })
}

/// An SM2 key (openssl) and our certificate for it under `profile`, for GB/T 38540 parties;
/// returns (key, cert PEM).
pub fn sm2_party(env: &Env, name: &str, profile: &str, subj: &str) -> (PathBuf, PathBuf) {
    let key = env.path(&format!("{name}.key"));
    ok(
        &run(Command::new("openssl")
            .args(["genpkey", "-algorithm", "SM2", "-out"])
            .arg(&key)),
        "genpkey SM2",
    );
    let csr = env.path(&format!("{name}.csr"));
    ok(
        &run(Command::new("openssl")
            .args(["req", "-new", "-key"])
            .arg(&key)
            .args([
                "-subj",
                subj,
                "-utf8",
                "-sm3",
                "-sigopt",
                "distid:1234567812345678",
                "-out",
            ])
            .arg(&csr)),
        "openssl req",
    );
    let pem = env.path(&format!("{name}.pem"));
    env.issue_to(profile, &csr, &pem, &[]);
    (key, pem)
}

/// A resident ID number (GB 11643) from its first 17 digits, with the ISO 7064 MOD 11-2 check
/// character.
pub fn resident_id(first17: &str) -> String {
    let sum: u32 = first17
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * ((1u32 << (17 - i)) % 11))
        .sum();
    let c = (12 - sum % 11) % 11;
    format!(
        "{first17}{}",
        if c == 10 {
            'X'
        } else {
            char::from(b'0' + c as u8)
        }
    )
}

/// The newest text the development SMS provider wrote for `mobile` (DATA/dev-sms.jsonl).
pub fn newest_sms(env: &Env, mobile: &str) -> String {
    let text = std::fs::read_to_string(env.path("dev-sms.jsonl")).unwrap_or_default();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["to"] == mobile)
        .map(|v| v["text"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no SMS to {mobile} in {text}"))
}

/// The six-digit code in an SMS text.
pub fn sms_code(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

/// Register a person with an SMS code from the development provider's file: (username, bearer token).
pub fn register_person(env: &Env, srv: &Server, mobile: &str, rid17: &str) -> (String, String) {
    let api = format!("{}/api/v1", srv.url);
    let (s, v, _) = post(
        &format!("{api}/register/code"),
        None,
        &serde_json::json!({"mobile": mobile, "purpose": "register"}).to_string(),
    );
    assert_eq!(s, 202, "{v}");
    let code = sms_code(&newest_sms(env, mobile));
    let (s, v, _) = post(
        &format!("{api}/register"),
        None,
        &serde_json::json!({"real_name": "测试", "resident_id": resident_id(rid17), "mobile": mobile,
                "code": code, "password": "a long enough passphrase"})
        .to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let username = v["username"].as_str().unwrap().to_string();
    let (s, v, _) = post(
        &format!("{api}/login"),
        None,
        &serde_json::json!({"username": mobile, "password": "a long enough passphrase"})
            .to_string(),
    );
    assert_eq!(s, 200, "{v}");
    (username, v["token"].as_str().unwrap().to_string())
}

/// The parties of a seal application: an approving bureau with a reviewer, a company with an
/// applicant, an administrator's token (tests/seals.rs, tests/ukey.rs).
pub struct SealWorld {
    pub api: String,
    pub admin: String,
    pub applicant: String,
    pub applicant_tok: String,
    pub reviewer_tok: String,
    pub bureau: String,
    pub unit: String,
}

impl SealWorld {
    /// The bureau pays for its city's applications (unified payment): no checkout.
    pub fn unified_payment(&self) {
        let (s, v, _) = post(
            &format!("{}/unified-payers", self.api),
            Some(&self.admin),
            &serde_json::json!({"payer_org_id": self.bureau, "region": "330100"}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
    }
}

impl SealWorld {
    /// A cloud seal of `org` named `name` (a contract seal), applied for by `tok` (paid by the
    /// bureau: call `unified_payment` first), the scan attached, submitted and approved by the
    /// reviewer, so produced: (seal id, seal code).
    pub fn cloud_seal(&self, tok: &str, org: &str, name: &str) -> (String, String) {
        let api = &self.api;
        let call = |path: &str, t: &str, body: serde_json::Value| {
            let (s, v, _) = post(&format!("{api}{path}"), Some(t), &body.to_string());
            (s, v)
        };
        let (s, a) = call(
            "/seal-applications",
            tok,
            serde_json::json!({"org_id": org, "seal_name": name, "seal_type": "contract",
                               "mode": "cloud", "years": 1, "authority_id": self.bureau}),
        );
        assert_eq!(s, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        let scan = upload_scan(api, tok);
        let mut version = a["version"].as_i64().unwrap_or(1);
        for (t, ev, extra) in [
            (
                tok,
                "attach-scan",
                serde_json::json!({"attachments": [scan]}),
            ),
            (tok, "submit", serde_json::json!({})),
            (self.reviewer_tok.as_str(), "approve", serde_json::json!({})),
        ] {
            let mut body = serde_json::json!({"event": ev, "version": version});
            if let Some(m) = extra.as_object() {
                for (k, v) in m {
                    body[k] = v.clone();
                }
            }
            let (s, v) = call(&format!("/seal-applications/{id}/events"), t, body);
            assert_eq!(s, 200, "{ev}: {v}");
            version = v["version"].as_i64().unwrap_or(version + 1);
        }
        let (_, b) = get(
            &format!("{api}/seals?scope=managed&limit=500"),
            Some(&self.admin),
        );
        let seals: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
        let seal = seals["items"]
            .as_array()
            .and_then(|v| v.iter().find(|s| s["application_id"] == id.as_str()))
            .unwrap_or_else(|| panic!("no seal for {id}: {seals}"))
            .clone();
        (
            seal["id"].as_str().unwrap().to_string(),
            seal["code"].as_str().unwrap().to_string(),
        )
    }
}

/// A PDF of A4 pages showing Helvetica text: each page a list of (x, y, text) in points from
/// the lower-left corner.
pub fn text_pdf(pages: &[Vec<(f64, f64, &str)>]) -> Vec<u8> {
    let n = pages.len();
    // 1 catalog, 2 pages, 3 font, then a page and its content per page.
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    for (i, texts) in pages.iter().enumerate() {
        let content: String = texts
            .iter()
            .map(|(x, y, t)| format!("BT /F1 12 Tf {x} {y} Td ({t}) Tj ET\n"))
            .collect();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
             /Resources << /Font << /F1 3 0 R >> >> >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Register the bureau (杭州市数据资源管理局) and the company (杭州示例科技有限公司), a reviewer
/// of the one and an applicant of the other, from mobile numbers `{prefix}1` and `{prefix}2`.
pub fn seal_world(env: &Env, srv: &Server, prefix: &str) -> SealWorld {
    let api = format!("{}/api/v1", srv.url);
    let admin = srv.login();
    let (applicant, applicant_tok) =
        register_person(env, srv, &format!("{prefix}1"), "33010619800101011");
    let (reviewer, reviewer_tok) =
        register_person(env, srv, &format!("{prefix}2"), "33010619800101012");
    let org = |code: &str, name: &str, kind: &str, region: &str| {
        let (s, v, _) = post(
            &format!("{api}/organisations"),
            Some(&admin),
            &serde_json::json!({"credit_code": code, "name": name, "kind": kind, "region": region})
                .to_string(),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let bureau = org(
        "11330100002482154U",
        "杭州市数据资源管理局",
        "government",
        "330100",
    );
    let unit = org(
        "913301061234567887",
        "杭州示例科技有限公司",
        "enterprise",
        "330106",
    );
    for (o, user, role) in [
        (&unit, &applicant, "applicant"),
        (&bureau, &reviewer, "reviewer"),
    ] {
        let (s, v, _) = post(
            &format!("{api}/organisations/{o}/members"),
            Some(&admin),
            &serde_json::json!({"username": user, "role": role}).to_string(),
        );
        assert_eq!(s, 201, "{v}");
    }
    SealWorld {
        api,
        admin,
        applicant,
        applicant_tok,
        reviewer_tok,
        bureau,
        unit,
    }
}

/// Upload a small PNG standing in for the stamped scan of the printed form; its file id.
pub fn upload_scan(api: &str, tok: &str) -> String {
    let mut png = Vec::new();
    {
        let mut e = png::Encoder::new(&mut png, 8, 8);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        e.write_header()
            .unwrap()
            .write_image_data(&[200u8; 192])
            .unwrap();
    }
    let r = ureq::post(&format!("{api}/files?purpose=application-scan"))
        .set("Authorization", &format!("Bearer {tok}"))
        .set("Content-Type", "image/png")
        .set("X-File-Name", "scan.png")
        .send_bytes(&png)
        .expect("upload");
    let v: serde_json::Value = r.into_json().unwrap();
    v["id"].as_str().unwrap().to_string()
}
