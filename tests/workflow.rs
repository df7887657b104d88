//! Workflows end to end on SQLite and PostgreSQL, over real HTTP: an authority-certificate request
//! from draft to a decision with its history and audit entries, an out-of-order event (409 naming
//! the state, nothing changed), two administrators deciding at once (one wins, the other gets a
//! stale version), Idempotency-Key replays and reuse with another body (422), and roles (403).

mod common;
use common::*;

use serde_json::{json, Value};

/// POST JSON with a bearer token and an optional Idempotency-Key; (status, body, Idempotent-Replayed).
fn send(url: &str, token: &str, body: &Value, key: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = ureq::post(url)
        .set("Content-Type", "application/json")
        .set("Authorization", &format!("Bearer {token}"));
    if let Some(k) = key {
        req = req.set("Idempotency-Key", k);
    }
    let resp = match req.send_string(&body.to_string()) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = resp.status();
    let replayed = resp.header("idempotent-replayed").map(str::to_string);
    let text = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        replayed,
    )
}

fn get_json(url: &str, token: &str) -> (u16, Value) {
    let (s, b) = get(url, Some(token));
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// Run one statement on the environment's database (to age or corrupt rows as time or damage would).
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

fn detail(v: &Value) -> String {
    v["detail"].as_str().unwrap_or_default().to_string()
}

fn actions(env: &Env, action: &str) -> Vec<(String, Value)> {
    audit_log(env)
        .into_iter()
        .filter(|(_, a, _)| a == action)
        .map(|(who, _, d)| (who, d))
        .collect()
}

fn event(kind_url: &str, id: &str, token: &str, ev: &str, version: i64) -> (u16, Value) {
    let (s, v, _) = send(
        &format!("{kind_url}/{id}/events"),
        token,
        &json!({"event": ev, "version": version, "comment": format!("{ev} it")}),
        None,
    );
    (s, v)
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let admin = srv.login();
    let olga = srv.new_staff(&admin, "olga", "operator");
    let adam = srv.new_staff(&admin, "adam", "admin");
    let audrey = srv.new_staff(&admin, "audrey", "auditor");
    let kind_url = format!("{}/api/v1/workflows/authority-certificate", srv.url);
    let request = json!({"profile": "tsa", "subject": "CN=Second TSA,O=Example", "reason": "a second TSA for the branch office"});

    // Roles: an auditor may not ask; bad content is refused before anything is stored.
    let (s, v, _) = send(&kind_url, &audrey, &request, None);
    assert_eq!(s, 403, "{v}");
    assert!(detail(&v).contains("authority-requests.request"), "{v}");
    let (s, v, _) = send(
        &kind_url,
        &olga,
        &json!({"profile": "seal-signing", "subject": "CN=x", "reason": "r"}),
        None,
    );
    assert_eq!(s, 422, "{v}");
    let (s, v, _) = send(
        &format!("{}/api/v1/workflows/no-such-kind", srv.url),
        &olga,
        &request,
        None,
    );
    assert_eq!(s, 404, "{v}");
    assert!(actions(env, "workflow.create").is_empty());

    // Create, retried with the same key: one record, the same answer replayed.
    let (s, first, replayed) = send(&kind_url, &olga, &request, Some("create-1"));
    assert_eq!(s, 201, "{first}");
    assert_eq!(replayed.as_deref(), Some("false"));
    assert_eq!(first["state"], "draft");
    assert_eq!(first["version"], 1);
    assert_eq!(first["allowed_events"], json!(["submit", "withdraw"]));
    let id = first["id"].as_str().unwrap().to_string();
    let (s, again, replayed) = send(&kind_url, &olga, &request, Some("create-1"));
    assert_eq!(s, 201, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first);
    assert_eq!(actions(env, "workflow.create").len(), 1, "one record");
    // The same key with another body: 422, nothing created.
    let mut other = request.clone();
    other["reason"] = json!("another reason");
    let (s, v, _) = send(&kind_url, &olga, &other, Some("create-1"));
    assert_eq!(s, 422, "{v}");
    assert!(detail(&v).contains("Idempotency-Key"), "{v}");
    assert_eq!(actions(env, "workflow.create").len(), 1);
    // The same key from another actor is another key.
    let (s, v, replayed) = send(&kind_url, &adam, &request, Some("create-1"));
    assert_eq!(s, 201, "{v}");
    assert_eq!(replayed.as_deref(), Some("false"));
    let adams = v["id"].as_str().unwrap().to_string();
    assert_ne!(adams, id);

    // Submit (idempotent too: the retry gets the first answer, not a stale-version error).
    let submit = json!({"event": "submit", "version": 1, "comment": "please"});
    let (s, v, _) = send(
        &format!("{kind_url}/{id}/events"),
        &olga,
        &submit,
        Some("submit-1"),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["version"].as_i64()),
        (Some("submitted"), Some(2))
    );
    let (s, v2, replayed) = send(
        &format!("{kind_url}/{id}/events"),
        &olga,
        &submit,
        Some("submit-1"),
    );
    assert_eq!((s, replayed.as_deref()), (200, Some("true")));
    assert_eq!(v2, v);

    // Roles on events: an operator may not decide; the requester may not decide their own.
    let (s, v) = event(&kind_url, &id, &olga, "approve", 2);
    assert_eq!(s, 403, "{v}");
    assert!(detail(&v).contains("authority-requests.decide"), "{v}");
    let (s, v) = event(&kind_url, &adams, &adam, "submit", 1);
    assert_eq!(s, 200, "{v}");
    let (s, v) = event(&kind_url, &adams, &adam, "approve", 2);
    assert_eq!(s, 403, "{v}");
    assert!(detail(&v).contains("may not decide their own"), "{v}");

    // Out of order: submitting a submitted request is a 409 naming the state; nothing changes.
    let audit_before = audit_log(env).len();
    let (s, v) = event(&kind_url, &id, &olga, "submit", 2);
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://sealpki.dev/problems/out-of-order");
    assert_eq!(v["state"], "submitted");
    assert_eq!(v["version"], 2);
    assert_eq!(
        v["allowed_events"],
        json!(["withdraw", "approve", "reject"])
    );
    assert!(detail(&v).contains("is submitted"), "{v}");
    let (s, now) = get_json(&format!("{kind_url}/{id}"), &audrey);
    assert_eq!(s, 200, "{now}");
    assert_eq!(
        (now["state"].as_str(), now["version"].as_i64()),
        (Some("submitted"), Some(2))
    );
    assert_eq!(audit_log(env).len(), audit_before, "no audit entry");
    // A stale version is refused before the table is consulted.
    let (s, v) = event(&kind_url, &id, &admin, "approve", 1);
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://sealpki.dev/problems/stale-version");

    // Two administrators decide at once with the same version: exactly one wins.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = [(admin.clone(), "approve"), (adam.clone(), "reject")]
        .into_iter()
        .map(|(tok, ev)| {
            let (url, id, barrier) = (kind_url.clone(), id.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (s, v) = event(&url, &id, &tok, ev, 2);
                (ev, s, v)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter(|r| r.1 == 200).collect();
    let losers: Vec<_> = results.iter().filter(|r| r.1 == 409).collect();
    assert_eq!((winners.len(), losers.len()), (1, 1), "{results:?}");
    let (won, _, wv) = winners[0];
    let (_, _, lv) = losers[0];
    let decided = if *won == "approve" {
        "approved"
    } else {
        "rejected"
    };
    assert_eq!(wv["state"], decided);
    assert_eq!(
        lv["type"], "https://sealpki.dev/problems/stale-version",
        "{lv}"
    );
    assert!(detail(lv).contains("stale version"), "{lv}");
    assert_eq!(lv["state"], decided);
    assert_eq!(lv["version"], 3);
    let (_, now) = get_json(&format!("{kind_url}/{id}"), &olga);
    assert_eq!(
        (now["state"].as_str(), now["version"].as_i64()),
        (Some(decided), Some(3))
    );
    assert_eq!(now["allowed_events"], json!([]));

    // History, oldest first, in pages.
    let (s, h) = get_json(&format!("{kind_url}/{id}/history"), &audrey);
    assert_eq!(s, 200, "{h}");
    let items = h["items"].as_array().unwrap();
    let steps: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i["event"].as_str().unwrap().to_string(),
                i["from"].as_str().map(str::to_string),
                i["to"].as_str().unwrap().to_string(),
                i["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let winner = if *won == "approve" { "admin" } else { "adam" };
    assert_eq!(
        steps,
        [
            ("create".into(), None, "draft".into(), "olga".into()),
            (
                "submit".into(),
                Some("draft".into()),
                "submitted".into(),
                "olga".into()
            ),
            (
                won.to_string(),
                Some("submitted".into()),
                decided.into(),
                winner.into()
            ),
        ]
    );
    assert_eq!(items[1]["comment"], "please");
    assert_eq!(h["next_cursor"], Value::Null);
    let (_, p1) = get_json(&format!("{kind_url}/{id}/history?limit=2"), &audrey);
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    let (_, p2) = get_json(
        &format!("{kind_url}/{id}/history?limit=2&cursor={cursor}"),
        &audrey,
    );
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["items"][0]["to"], decided);
    assert_eq!(p2["next_cursor"], Value::Null);

    // Audit: each change once, by its actor, in the transaction that made it (the history row
    // names the audit entry).
    let transitions: Vec<_> = actions(env, "workflow.transition")
        .into_iter()
        .filter(|(_, d)| d["id"] == id.as_str())
        .collect();
    assert_eq!(transitions.len(), 2, "{transitions:?}");
    assert_eq!(transitions[0].0, "olga");
    assert_eq!(transitions[0].1["from"], "draft");
    assert_eq!(transitions[0].1["to"], "submitted");
    assert_eq!(transitions[1].0, winner);
    assert_eq!(transitions[1].1["to"], decided);
    let log = audit_log(env);
    for i in items {
        let seq = i["audit_seq"].as_u64().unwrap() as usize;
        let (who, _, d) = &log[seq - 1];
        assert_eq!(who, i["actor"].as_str().unwrap());
        assert_eq!(d["id"], id.as_str());
    }

    // Lists: a work queue by state, and every record in pages, oldest first.
    let (s, q) = get_json(&format!("{kind_url}?state=submitted"), &adam);
    assert_eq!(s, 200, "{q}");
    let queue: Vec<_> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(queue, [json!(adams)]);
    // Pages of one: each record once, ordered by creation time (then id, within a second).
    let (mut cursor, mut seen) = (String::new(), Vec::new());
    loop {
        let (s, p) = get_json(&format!("{kind_url}?limit=1&cursor={cursor}"), &audrey);
        assert_eq!(s, 200, "{p}");
        seen.extend(p["items"].as_array().unwrap().iter().cloned());
        match p["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let mut ids: Vec<_> = seen
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let times: Vec<_> = seen
        .iter()
        .map(|r| r["created_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    ids.sort();
    let mut want = vec![id.clone(), adams.clone()];
    want.sort();
    assert_eq!(ids, want);
    let (s, v) = get_json(&format!("{kind_url}?state=Submitted"), &audrey);
    assert_eq!(s, 400, "{v}");
    assert!(detail(&v).contains("no state"), "{v}");

    // Concurrent duplicates of one create: one record; the other is a replay or "in progress".
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let dups: Vec<_> = (0..2)
        .map(|_| {
            let (url, tok, body, barrier) = (
                kind_url.clone(),
                olga.clone(),
                request.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                send(&url, &tok, &body, Some("create-dup"))
            })
        })
        .collect();
    let dups: Vec<_> = dups.into_iter().map(|h| h.join().unwrap()).collect();
    let created: Vec<_> = dups
        .iter()
        .filter(|d| d.2.as_deref() == Some("false"))
        .collect();
    assert_eq!(created.len(), 1, "{dups:?}");
    for d in &dups {
        assert!(
            d.0 == 201 || (d.0 == 409 && detail(&d.1).contains("request in progress")),
            "{dups:?}"
        );
    }
    assert_eq!(actions(env, "workflow.create").len(), 3);

    // Attachment references travel with the history entry.
    let (s, v, _) = send(&kind_url, &olga, &request, None);
    assert_eq!(s, 201, "{v}");
    let third = v["id"].as_str().unwrap().to_string();
    let (s, v, _) = send(
        &format!("{kind_url}/{third}/events"),
        &olga,
        &json!({"event": "withdraw", "version": 1, "attachments": ["sha256:ab12", "memo.pdf"]}),
        None,
    );
    assert_eq!((s, v["state"].as_str()), (200, Some("withdrawn")), "{v}");
    let (_, h) = get_json(&format!("{kind_url}/{third}/history"), &olga);
    assert_eq!(
        h["items"][1]["attachments"],
        json!(["sha256:ab12", "memo.pdf"])
    );

    // A key expires after 24 hours: aged by a day, the same key and body make a new record.
    sql(
        env,
        "UPDATE idempotency_keys SET created_at = created_at - 86401 WHERE idem_key = 'create-1'",
    );
    let (s, v, replayed) = send(&kind_url, &olga, &request, Some("create-1"));
    assert_eq!((s, replayed.as_deref()), (201, Some("false")), "{v}");
    assert_ne!(v["id"], first["id"]);

    // A claim without an answer: still running (recent) is "in progress"; abandoned (its request
    // would have timed out long ago: a crash, whose change rolled back with its answer) is taken
    // over by the retry, which does the work once.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(request.to_string().as_bytes()))
    };
    for (key, at) in [("running", now), ("crashed", now - 3600)] {
        sql(
            env,
            &format!(
                "INSERT INTO idempotency_keys (actor, idem_key, method_path, body_sha256, status, \
                 created_at) VALUES ('olga', '{key}', 'POST /api/v1/workflows/authority-certificate', \
                 '{hash}', 0, {at})"
            ),
        );
    }
    let creates = actions(env, "workflow.create").len();
    let (s, v, _) = send(&kind_url, &olga, &request, Some("running"));
    assert_eq!(s, 409, "{v}");
    assert!(detail(&v).contains("request in progress"), "{v}");
    let (s, v, replayed) = send(&kind_url, &olga, &request, Some("crashed"));
    assert_eq!((s, replayed.as_deref()), (201, Some("false")), "{v}");
    let (s, again, replayed) = send(&kind_url, &olga, &request, Some("crashed"));
    assert_eq!((s, replayed.as_deref()), (201, Some("true")), "{again}");
    assert_eq!(again, v);
    assert_eq!(actions(env, "workflow.create").len(), creates + 1);

    // A state the kind does not have is a corrupt store: a 500, and no event applies.
    sql(
        env,
        &format!("UPDATE workflows SET state = 'Approved' WHERE id = '{third}'"),
    );
    let (s, v) = get_json(&format!("{kind_url}/{third}"), &olga);
    assert_eq!(s, 500, "{v}");
    let (s, v) = event(&kind_url, &third, &olga, "submit", 2);
    assert_eq!(s, 500, "{v}");
    assert_eq!(actions(env, "workflow.transition").len(), 4);

    // The audit chain still verifies.
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn workflows_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn workflows_on_postgres() {
    let Some(url) = pg_database("workflow") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}

#[test]
fn bench_workflow_runs_on_development_data_only() {
    let env = Env::new(EnvOptions::default());
    env.init(&include_str!("../fixtures/ceremony-dev.toml").replace("development = true", ""));
    let out = env.sealpki(&["bench", "workflow", "--count", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs only on development data"));
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let out = ok(
        &env.sealpki(&[
            "--json",
            "bench",
            "workflow",
            "--count",
            "5",
            "--concurrency",
            "2",
        ]),
        "bench workflow",
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["transitions"], 10);
    assert_eq!(actions(&env, "workflow.transition").len(), 10);
}
