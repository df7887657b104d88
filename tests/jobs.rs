//! The job outbox and deliveries end to end, against the real binary: e-mail to a real SMTP server
//! (aiosmtpd, saving each message it receives), retries with backoff to a stopped one until the job
//! is dead, the operators' retry, two instances on one PostgreSQL database (a killed instance's job
//! delivered by the other after its lease, every job delivered once), the in-app inbox scoped to
//! its owner, and the development SMS provider's file.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A real SMTP server: aiosmtpd with a handler that writes each message to `dir` as one file.
struct Smtp {
    child: Child,
    dir: PathBuf,
}

const HANDLER: &str = r#"
import os
class Save:
    def __init__(self):
        self.dir = os.environ["SMTP_OUT"]
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.dir, "%d-%d.eml" % (os.getpid(), self.n))
        with open(path + ".tmp", "wb") as f:
            f.write(("X-Rcpt: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"
"#;

impl Smtp {
    fn start(env: &Env, port: u16) -> Smtp {
        let dir = env.path("mail");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(env.path("smtp_save.py"), HANDLER).unwrap();
        let log = std::fs::File::create(env.path(&format!("aiosmtpd-{port}.log"))).unwrap();
        let child = Command::new(tool("aiosmtpd"))
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "smtp_save.Save",
            ])
            .env("PYTHONPATH", env.dir.path())
            .env("SMTP_OUT", &dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start aiosmtpd (installed by scripts/test.sh)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp { child, dir }
    }

    /// Every message received so far: (Message-ID, whole text).
    fn messages(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let id = text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("Message-ID: ")
                            .or_else(|| l.strip_prefix("Message-Id: "))
                    })
                    .unwrap_or("")
                    .trim()
                    .to_string();
                out.push((id, text));
            }
        }
        out
    }

    /// How often the message of job `job` arrived.
    fn count_of(&self, job: &str) -> usize {
        let want = format!("<{job}@example.com>");
        self.messages().iter().filter(|(id, _)| *id == want).count()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `[jobs]` for fast tests: retries after 1-2 s, dead after 3 attempts, 3 s leases.
const JOBS: &str = "[jobs]\npoll_millis = 100\nlease_seconds = 3\nmax_attempts = 3\n\
     backoff_base_seconds = 1\nbackoff_max_seconds = 2\nconcurrency = 2\n";

/// `[jobs]` and an `[smtp]` section for a server on `smtp_port`.
fn jobs_config(smtp_port: u16) -> String {
    format!(
        "{JOBS}[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nfrom = \"sealpki <pki@example.com>\"\n\
         tls = \"none\"\ntimeout_seconds = 30\n"
    )
}

fn get_json(url: &str, token: &str) -> (u16, Value) {
    let (s, b) = get(url, Some(token));
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// Poll `f` every 100 ms until it gives a value, for at most `secs`.
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The job `id` as `GET /api/v1/jobs` lists it (newest first: it is on the first page here).
fn job(url: &str, token: &str, id: &str) -> Value {
    let (s, v) = get_json(&format!("{url}/api/v1/jobs?limit=1000"), token);
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("job {id} not listed: {v}"))
}

fn wait_state(url: &str, token: &str, id: &str, state: &str, secs: u64) -> Value {
    wait_for(secs, &format!("job {id} {state}"), || {
        let j = job(url, token, id);
        (j["state"] == state).then_some(j)
    })
}

/// Queue the test message; returns the job ids.
fn send_test(url: &str, token: &str, body: Value) -> Vec<String> {
    let (s, v, _) = post(
        &format!("{url}/api/v1/notifications/test"),
        Some(token),
        &body.to_string(),
    );
    assert_eq!(s, 202, "{v}");
    v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j.as_str().unwrap().to_string())
        .collect()
}

fn email_test(url: &str, token: &str, to: &str, lang: &str) -> String {
    let ids = send_test(
        url,
        token,
        json!({"username": "admin", "email": to, "lang": lang, "channels": ["email"]}),
    );
    assert_eq!(ids.len(), 1);
    ids[0].clone()
}

/// E-mail: delivered; retried with backoff while the server is down, dead after 3 attempts and
/// listed as such; re-queued by an operator and delivered once the server is up.
fn email_suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let tok = srv.login();
    let url = &srv.url;

    // The SMTP server is down: three attempts, 1-2 s apart, then dead.
    let id = email_test(url, &tok, "alice@example.com", "en");
    let dead = wait_state(url, &tok, &id, "dead", 30);
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(dead["max_attempts"], 3);
    assert_eq!(dead["kind"], "email");
    assert_eq!(dead["recipient"], "a***@example.com", "{dead}");
    let err = dead["last_error"].as_str().unwrap();
    assert!(err.contains("connection"), "{err}");
    assert!(!err.contains("alice"), "{err}");
    // Two waits of at least one second each (backoff 1 s, then 1-2 s).
    let took = dead["finished_at"].as_i64().unwrap() - dead["created_at"].as_i64().unwrap();
    assert!(took >= 2, "retried too fast: {took} s");
    // Shown to operators by state, and not among the pending ones.
    let (s, v) = get_json(&format!("{url}/api/v1/jobs?state=dead"), &tok);
    assert_eq!(s, 200);
    assert!(
        v["items"].as_array().unwrap().iter().any(|j| j["id"] == id),
        "{v}"
    );
    let (_, v) = get_json(&format!("{url}/api/v1/jobs?state=pending"), &tok);
    assert!(!v["items"].as_array().unwrap().iter().any(|j| j["id"] == id));
    let (s, _) = get_json(&format!("{url}/api/v1/jobs?state=lost"), &tok);
    assert_eq!(s, 400);

    // Only admins see and retry jobs, or send tests.
    let op = srv.new_staff(&tok, "olga", "operator");
    let (s, v) = get_json(&format!("{url}/api/v1/jobs?state=dead"), &op);
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("jobs.manage"), "{v}");
    let (s, _, _) = post(&format!("{url}/api/v1/jobs/{id}/retry"), Some(&op), "");
    assert_eq!(s, 403);
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/test"),
        Some(&op),
        &json!({"username": "olga", "channels": ["in-app"]}).to_string(),
    );
    assert_eq!(s, 403);

    // The server comes up; the operator's retry delivers the message once.
    let smtp = Smtp::start(env, smtp_port_of(env));
    let (s, v, _) = post(&format!("{url}/api/v1/jobs/{id}/retry"), Some(&tok), "");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "pending");
    assert_eq!(v["attempts"], 0);
    let done = wait_state(url, &tok, &id, "done", 20);
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(smtp.count_of(&id), 1);
    let (_, text) = smtp
        .messages()
        .into_iter()
        .find(|(m, _)| *m == format!("<{id}@example.com>"))
        .unwrap();
    assert!(text.contains("X-Rcpt: alice@example.com"), "{text}");
    assert!(text.contains("Subject: Test notification"), "{text}");
    assert!(text.contains("delivery configuration"), "{text}");
    // A done job is not retried; an unknown one is not found.
    let (s, _, _) = post(&format!("{url}/api/v1/jobs/{id}/retry"), Some(&tok), "");
    assert_eq!(s, 409);
    let (s, _, _) = post(&format!("{url}/api/v1/jobs/nope/retry"), Some(&tok), "");
    assert_eq!(s, 404);

    // zh-CN by default: the subject is encoded (RFC 2047), the body is UTF-8.
    let zh = email_test(url, &tok, "bob@example.com", "zh-CN");
    wait_state(url, &tok, &zh, "done", 20);
    assert_eq!(smtp.count_of(&zh), 1);
    // A missing or bad address is refused at once (422), nothing queued.
    let (s, v, _) = post(
        &format!("{url}/api/v1/notifications/test"),
        Some(&tok),
        &json!({"username": "admin", "channels": ["email"]}).to_string(),
    );
    assert_eq!(s, 422, "{v}");
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/test"),
        Some(&tok),
        &json!({"username": "admin", "email": "not-an-address", "channels": ["email"]}).to_string(),
    );
    assert_eq!(s, 422);
    // The retry is audited.
    let retries: Vec<_> = audit_log(env)
        .into_iter()
        .filter(|(_, action, _)| action == "job.retry")
        .collect();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].2["job"], id.as_str());
    // Nothing personal in the server's log.
    for e in std::fs::read_dir(env.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("serve-")
        {
            let log = std::fs::read_to_string(&p).unwrap();
            assert!(
                !log.contains("alice@example.com"),
                "address in {}",
                p.display()
            );
        }
    }
    drop(srv);
}

/// The SMTP port the environment's config names (the `[smtp]` section written at `Env::new`).
fn smtp_port_of(env: &Env) -> u16 {
    let cfg = std::fs::read_to_string(&env.config).unwrap();
    cfg.lines()
        .skip_while(|l| l.trim() != "[smtp]")
        .find_map(|l| l.strip_prefix("port = ")?.trim().parse().ok())
        .expect("an [smtp] port")
}

#[test]
fn email_on_sqlite() {
    let port = free_port();
    email_suite(&Env::new(EnvOptions {
        extra: &jobs_config(port),
        ..Default::default()
    }));
}

#[test]
fn email_on_postgres() {
    let Some(db) = pg_database("jobs") else {
        return;
    };
    let port = free_port();
    email_suite(&Env::new(EnvOptions {
        db: Db::Postgres(db),
        extra: &jobs_config(port),
        ..Default::default()
    }));
}

/// Another `sealpki serve` on the same data directory and database, with its own config file
/// (listener and SMTP port); killed on drop. Sessions live in the database, so the first
/// instance's token works here too.
struct Instance {
    child: Child,
    url: String,
}

impl Instance {
    fn start(env: &Env, name: &str, smtp_port: u16) -> Instance {
        let port = free_port();
        let base = std::fs::read_to_string(&env.config).unwrap();
        let head = base.split("[jobs]").next().unwrap();
        let cfg = head.replace(
            &format!("listen = \"127.0.0.1:{}\"", env.port),
            &format!("listen = \"127.0.0.1:{port}\""),
        ) + &jobs_config(smtp_port);
        let file = env.path(&format!("{name}.toml"));
        std::fs::write(&file, cfg).unwrap();
        let log = std::fs::File::create(env.path(&format!("serve-{name}.log"))).unwrap();
        let child = Command::new(bin())
            .arg("--config")
            .arg(&file)
            .arg("serve")
            .env("SEALPKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("SEALPKI_KEYS_PASSPHRASE")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let inst = Instance { child, url };
        wait_for(60, "instance up", || {
            ureq::get(&format!("{}/healthz", inst.url))
                .call()
                .ok()
                .map(|_| ())
        });
        inst
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two instances on one PostgreSQL database: a job claimed by an instance that hangs in delivery
/// keeps its lease (renewed) while that instance lives, is delivered by the other after the lease
/// once it is killed, and a burst of jobs sent to both is delivered exactly once each.
#[test]
fn two_instances_on_postgres() {
    let Some(db) = pg_database("jobs2") else {
        return;
    };
    // A hanging SMTP server: accepts connections and never says a word. The first instance (the
    // environment's own config) sends there; the others to aiosmtpd.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_port = hang.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hang.incoming() {
            held.push(c);
        }
    });
    let smtp_port = free_port();
    let env = Env::new(EnvOptions {
        db: Db::Postgres(db),
        extra: &jobs_config(hang_port),
        ..Default::default()
    });
    env.init_dev();
    let smtp = Smtp::start(&env, smtp_port);

    let mut a = env.serve();
    let tok = a.login();
    let id = email_test(&a.url, &tok, "carol@example.com", "en");
    let running = wait_state(&a.url, &tok, &id, "running", 20);
    let owner = running["locked_by"].as_str().unwrap().to_string();
    let b = Instance::start(&env, "b", smtp_port);
    // Two leases later A still holds it (it renews while it delivers); B has not taken it.
    std::thread::sleep(Duration::from_secs(6));
    let j = job(&b.url, &tok, &id);
    assert_eq!(j["state"], "running", "{j}");
    assert_eq!(j["locked_by"], owner.as_str(), "{j}");
    assert_eq!(j["attempts"], 1);
    assert_eq!(smtp.count_of(&id), 0);
    // A dies mid-delivery: B delivers after the lease, as attempt 2, once.
    let killed = Instant::now();
    a.kill();
    let done = wait_state(&b.url, &tok, &id, "done", 20);
    assert!(killed.elapsed() <= Duration::from_secs(10));
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(smtp.count_of(&id), 1);

    // Both instances on the real server: 24 jobs queued through either, each delivered once.
    let a2 = Instance::start(&env, "a2", smtp_port);
    let mut ids = Vec::new();
    for i in 0..24 {
        let url = if i % 2 == 0 { &a2.url } else { &b.url };
        ids.push(email_test(url, &tok, &format!("user{i}@example.com"), "en"));
    }
    for id in &ids {
        wait_state(&b.url, &tok, id, "done", 60);
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (m, _) in smtp.messages() {
        *seen.entry(m).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            seen.get(&format!("<{id}@example.com>")),
            Some(&1),
            "job {id}"
        );
    }
    assert_eq!(seen.values().sum::<usize>(), 25);
}

/// In-app notifications: the owner lists them newest first, counts and marks them read; someone
/// else's are invisible (404 for their ids). Also the development SMS provider's file, and
/// e-mail with no SMTP server configured.
#[test]
fn inbox_and_development_sms() {
    let env = Env::new(EnvOptions {
        extra: JOBS,
        ..Default::default()
    });
    env.init_dev();
    let srv = env.serve();
    let tok = srv.login();
    let url = &srv.url;
    let alice = srv.new_staff(&tok, "alice", "auditor");
    let mine: Vec<String> = (0..3)
        .flat_map(|_| {
            send_test(
                url,
                &tok,
                json!({"username": "alice", "channels": ["in-app"]}),
            )
        })
        .collect();
    let admins = send_test(
        url,
        &tok,
        json!({"username": "admin", "lang": "en", "channels": ["in-app"]}),
    );
    for id in mine.iter().chain(&admins) {
        wait_state(url, &tok, id, "done", 20);
    }
    let (s, v) = get_json(&format!("{url}/api/v1/notifications/unread-count"), &alice);
    assert_eq!(s, 200);
    assert_eq!(v["unread"], 3, "{v}");
    // Pages of two, newest first, in the recipient's language (zh-CN by default).
    let (s, p1) = get_json(&format!("{url}/api/v1/notifications?limit=2"), &alice);
    assert_eq!(s, 200, "{p1}");
    let items = p1["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["title"], "测试通知");
    assert!(items[0]["read_at"].is_null());
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = get_json(
        &format!("{url}/api/v1/notifications?limit=2&cursor={cursor}"),
        &alice,
    );
    let rest = p2["items"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    let all: Vec<&Value> = items.iter().chain(rest).collect();
    for w in all.windows(2) {
        assert!(w[0]["created_at"].as_i64() >= w[1]["created_at"].as_i64());
    }
    // The admin's notification is invisible to alice: not listed, 404 to mark.
    let (_, v) = get_json(&format!("{url}/api/v1/notifications"), &tok);
    let admin_items = v["items"].as_array().unwrap();
    assert_eq!(admin_items.len(), 1);
    assert_eq!(admin_items[0]["title"], "Test notification");
    let admin_note = admin_items[0]["id"].as_str().unwrap();
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/{admin_note}/read"),
        Some(&alice),
        "",
    );
    assert_eq!(s, 404);
    let (_, v) = get_json(&format!("{url}/api/v1/notifications/unread-count"), &tok);
    assert_eq!(v["unread"], 1);
    // Mark one, then the rest.
    let first = items[0]["id"].as_str().unwrap();
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/{first}/read"),
        Some(&alice),
        "",
    );
    assert_eq!(s, 204);
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/{first}/read"),
        Some(&alice),
        "",
    );
    assert_eq!(s, 204, "marking again is fine");
    let (_, v) = get_json(&format!("{url}/api/v1/notifications?unread=true"), &alice);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (s, v, _) = post(
        &format!("{url}/api/v1/notifications/read-all"),
        Some(&alice),
        "",
    );
    assert_eq!(s, 200);
    assert_eq!(v["marked"], 2);
    let (_, v) = get_json(&format!("{url}/api/v1/notifications/unread-count"), &alice);
    assert_eq!(v["unread"], 0);
    let (_, v) = get_json(&format!("{url}/api/v1/notifications/unread-count"), &tok);
    assert_eq!(v["unread"], 1, "alice's read-all leaves the admin's alone");
    let (s, _) = get(&format!("{url}/api/v1/notifications"), None);
    assert_eq!(s, 401);

    // SMS through the development provider: one JSON line per message in DATA/dev-sms.jsonl.
    let file = env.path("dev-sms.jsonl");
    let sms = |lang: &str| {
        let ids = send_test(
            url,
            &tok,
            json!({"username": "alice", "mobile": "13812345678", "lang": lang, "channels": ["sms"]}),
        );
        ids[0].clone()
    };
    let id = sms("zh-CN");
    wait_state(url, &tok, &id, "done", 20);
    let lines = read_sms(&file);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["to"], "13812345678");
    assert!(
        lines[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("【sealpki】测试通知"),
        "{}",
        lines[0]
    );
    assert!(lines[0]["at"].as_i64().unwrap() > 0);
    // The provider fails while it is marked down: retried, then delivered once it is back.
    std::fs::write(env.path("dev-sms.jsonl.down"), "").unwrap();
    let id = sms("en");
    let failed = wait_for(20, "a failed SMS attempt", || {
        let j = job(url, &tok, &id);
        (j["attempts"].as_i64() >= Some(1) && !j["last_error"].is_null()).then_some(j)
    });
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("development"),
        "{failed}"
    );
    assert_eq!(failed["recipient"], "138****5678");
    std::fs::remove_file(env.path("dev-sms.jsonl.down")).unwrap();
    wait_state(url, &tok, &id, "done", 20);
    let lines = read_sms(&file);
    assert_eq!(lines.len(), 2);
    assert!(lines[1]["text"]
        .as_str()
        .unwrap()
        .starts_with("[sealpki] Test notification"));
    // A bad number is refused at once.
    let (s, _, _) = post(
        &format!("{url}/api/v1/notifications/test"),
        Some(&tok),
        &json!({"username": "alice", "mobile": "12345", "channels": ["sms"]}).to_string(),
    );
    assert_eq!(s, 422);
    // No [smtp] here: e-mail jobs are queued, fail saying so, and end dead.
    let id = email_test(url, &tok, "dave@example.com", "en");
    let dead = wait_state(url, &tok, &id, "dead", 30);
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("no SMTP server configured"),
        "{dead}"
    );
    // A job whose payload this build cannot read (damage, or a newer build's kind) goes dead at
    // once and still lists, with its recipient unknown.
    sql(
        &env,
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, next_attempt_at, \
         created_at) VALUES ('broken', 'email', '{\"bogus\": 1}', 'pending', 0, 3, 0, 0)",
    );
    let broken = wait_state(url, &tok, "broken", "dead", 20);
    assert_eq!(broken["attempts"], 1, "{broken}");
    assert_eq!(broken["recipient"], "(unreadable payload)");
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("unreadable"),
        "{broken}"
    );
    // The number never reaches the log.
    for e in std::fs::read_dir(env.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("serve-")
        {
            let log = std::fs::read_to_string(&p).unwrap();
            assert!(!log.contains("13812345678"), "number in {}", p.display());
        }
    }
}

/// Run one statement on the environment's database (to damage a row as a bug or a newer build would).
fn sql(env: &Env, stmt: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = sealpki::store::Store::open(&db_url(env), None, None)
            .await
            .unwrap();
        sqlx::query(stmt).execute(store.pool()).await.unwrap();
        store.close().await;
    })
}

fn read_sms(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
