//! Crash safety and scale-out: SIGKILL of `sealpki serve` during a burst of issuance (no repeated
//! serial, every certificate a client received is stored, the audit chain verifies), and two
//! instances on one PostgreSQL issuing concurrently (unique serials, one linear audit chain).

mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn csr_body(env: &Env, cn: &str) -> String {
    let csr = std::fs::read_to_string(openssl_csr(
        env.dir.path(),
        "p256",
        &format!("/O=Example Co/CN={cn}"),
        &[],
    ))
    .unwrap();
    serde_json::json!({"profile": "app-client", "csr": csr}).to_string()
}

/// Issue from `threads` threads until `stop`; returns (serial, PEM) of every 201 received.
fn hammer(
    urls: Vec<(String, String)>,
    body: String,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<(String, String)>>> {
    (0..threads)
        .map(|i| {
            let (url, tok) = urls[i % urls.len()].clone();
            let (body, stop) = (body.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let r = agent
                        .post(&format!("{url}/api/v1/certificates"))
                        .set("Authorization", &format!("Bearer {tok}"))
                        .set("Content-Type", "application/json")
                        .send_string(&body);
                    match r {
                        Ok(resp) if resp.status() == 201 => {
                            let v: serde_json::Value = resp.into_json().unwrap();
                            got.push((
                                v["serial"].as_str().unwrap().to_string(),
                                v["certificate"].as_str().unwrap().to_string(),
                            ));
                        }
                        Ok(resp) => panic!("unexpected status {}", resp.status()),
                        Err(ureq::Error::Status(s, r)) => {
                            panic!("status {s}: {}", r.into_string().unwrap_or_default())
                        }
                        Err(_) => break, // the server is gone
                    }
                }
                got
            })
        })
        .collect()
}

/// Everything the hammer threads received.
fn join_all(workers: Vec<std::thread::JoinHandle<Vec<(String, String)>>>) -> Vec<(String, String)> {
    workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect()
}

fn all_serials(srv: &Server, tok: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/certificates?state=all&limit=1000", srv.url);
        if let Some(c) = &cursor {
            url += &format!("&cursor={c}");
        }
        let (s, body) = get(&url, Some(tok));
        assert_eq!(s, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for i in v["items"].as_array().unwrap() {
            out.push((
                i["serial"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
            ));
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    out
}

fn sigkill_during_burst(env: Env) {
    env.init_dev();
    let mut srv = env.serve();
    let tok = srv.login();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = hammer(
        vec![(srv.url.clone(), tok.clone())],
        csr_body(&env, "burst"),
        8,
        stop.clone(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    srv.kill(); // SIGKILL: no shutdown path runs
    stop.store(true, Ordering::Relaxed);
    let received = join_all(workers);
    assert!(
        received.len() > 10,
        "the burst issued something before the kill ({})",
        received.len()
    );

    let srv = env.serve();
    let tok = srv.login();
    for (serial, pem) in &received {
        let (s, body) = get(
            &format!("{}/api/v1/certificates/{serial}", srv.url),
            Some(&tok),
        );
        assert_eq!(
            s, 200,
            "certificate {serial} that a client received is stored"
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["state"], "issued");
        assert_eq!(
            v["certificate"].as_str().unwrap(),
            pem,
            "stored certificate is the one the client got"
        );
    }
    let serials = all_serials(&srv, &tok);
    let mut unique: Vec<_> = serials.iter().map(|s| &s.0).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), serials.len(), "no serial repeats");
    ok(
        &env.sealpki(&["audit", "verify"]),
        "audit verify after SIGKILL",
    );
    // And the service carries on.
    let (s, v, _) = post(
        &format!("{}/api/v1/certificates", srv.url),
        Some(&tok),
        &csr_body(&env, "after"),
    );
    assert_eq!(s, 201, "{v}");
}

#[test]
fn sigkill_during_issuance_sqlite() {
    sigkill_during_burst(Env::new(EnvOptions::default()));
}

#[test]
fn sigkill_during_issuance_postgres() {
    let Some(url) = pg_database("crash") else {
        return;
    };
    sigkill_during_burst(Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}

#[test]
fn two_instances_on_one_postgres() {
    let Some(url) = pg_database("two") else {
        return;
    };
    let env = Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    });
    env.init_dev();
    // A second instance: same database and key store, its own port.
    let port2 = free_port();
    let cfg2 = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("127.0.0.1:{}", env.port),
        &format!("127.0.0.1:{port2}"),
    );
    let env2 = Env {
        dir: tempfile::tempdir().unwrap(),
        config: env.path("second.toml"),
        port: port2,
        db: env.db.clone(),
    };
    std::fs::write(&env2.config, cfg2).unwrap();
    let a = env.serve();
    let b = env2.serve();
    let (ta, tb) = (a.login(), b.login());
    let stop = Arc::new(AtomicBool::new(false));
    let workers = hammer(
        vec![(a.url.clone(), ta.clone()), (b.url.clone(), tb)],
        csr_body(&env, "two"),
        8,
        stop.clone(),
    );
    std::thread::sleep(Duration::from_millis(2000));
    stop.store(true, Ordering::Relaxed);
    let received = join_all(workers);
    assert!(
        received.len() > 20,
        "both instances issued ({})",
        received.len()
    );
    let mut serials: Vec<_> = received.iter().map(|r| r.0.clone()).collect();
    serials.sort();
    serials.dedup();
    assert_eq!(
        serials.len(),
        received.len(),
        "unique serials across instances"
    );
    let stored = all_serials(&a, &ta);
    assert!(stored.iter().all(|(_, state)| state == "issued"));
    let report = ok(&env.sealpki(&["--json", "audit", "verify"]), "audit verify");
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["first_broken"].is_null(), "{report}");
    // Every issuance wrote two entries into the one chain.
    assert!(
        v["entries"].as_i64().unwrap() >= 2 * received.len() as i64,
        "{report}"
    );
    // A certificate from each instance verifies.
    let (chain, root) = env.chain("service");
    for (i, (_, pem)) in received.iter().enumerate().take(2) {
        let leaf = env.path(&format!("two-{i}.pem"));
        std::fs::write(&leaf, pem).unwrap();
        ok(
            &openssl_verify(&root, &chain, &leaf, false),
            "openssl verify",
        );
    }
    drop(a);
    drop(b);
}
