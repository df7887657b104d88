//! The storage layer: one suite, run against SQLite and against PostgreSQL.

mod common;

use sealpki::audit::{self, Audit};
use sealpki::store::{
    AccountRow, CertFilter, CertState, KeyPurpose, KeyRow, PendingCert, Role, SessionKind,
    SessionRow, SessionStage, Store, StoreError,
};
use serde_json::json;

fn pending(serial: &str, tbs: &[u8]) -> PendingCert {
    PendingCert {
        serial: serial.into(),
        ca: "seal".into(),
        ca_key: "seal".into(),
        crl_part: 0,
        profile: "seal-signing".into(),
        subject: "CN=x,O=y,C=CN".into(),
        not_before: 1,
        not_after: 2,
        tbs: tbs.to_vec(),
        requested_by: "test".into(),
    }
}

async fn suite(url: &str) {
    let store = Store::open(url, None, None).await.expect("open store");
    let audit = Audit::new(1000);

    // Intent, then result; a repeated serial is refused by the named constraint.
    let mut tx = store.begin().await.unwrap();
    Store::cert_insert_pending(&mut tx, &pending("0A01", b"tbs1"), 100)
        .await
        .unwrap();
    audit
        .append(
            &mut tx,
            "test",
            "certificate.prepare",
            json!({"serial": "0A01"}),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let dup = Store::cert_insert_pending(&mut tx, &pending("0A01", b"other"), 101).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref c)) if c.contains("serial") || c.contains("certificates")),
        "{dup:?}"
    );
    drop(tx); // rolled back: nothing of it stays
    let row = store.cert_get("0A01").await.unwrap().unwrap();
    assert_eq!(row.state, CertState::Pending);
    let mut tx = store.begin().await.unwrap();
    assert!(Store::cert_mark_issued(&mut tx, "0A01", b"der", "fp", 102)
        .await
        .unwrap());
    assert!(
        !Store::cert_mark_issued(&mut tx, "0A01", b"der2", "fp2", 103)
            .await
            .unwrap(),
        "only a pending row changes"
    );
    tx.commit().await.unwrap();
    let row = store.cert_get("0A01").await.unwrap().unwrap();
    assert_eq!(
        (row.state, row.der.as_deref()),
        (CertState::Issued, Some(&b"der"[..]))
    );

    // Pagination is keyset-based and stable: pages neither overlap nor skip.
    let mut tx = store.begin().await.unwrap();
    for i in 0..25 {
        let s = format!("0B{i:02X}");
        Store::cert_insert_pending(&mut tx, &pending(&s, b"t"), 200 + i / 5)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .cert_list(&CertFilter {
                state: Some(CertState::Pending),
                after: after.clone(),
                limit: 7,
                ..Default::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| (r.created_at, r.serial.clone()));
        seen.extend(page.into_iter().map(|r| r.serial));
    }
    assert_eq!(seen.len(), 25);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 25);
    let by_subject = store
        .cert_list(&CertFilter {
            subject: Some("CN=x".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_subject.len(), 26);

    // Accounts and sessions.
    let mut tx = store.begin().await.unwrap();
    let op = AccountRow::staff("alice", "h".into(), Role::Auditor, 1);
    Store::account_insert(&mut tx, &op).await.unwrap();
    Store::session_insert(&mut tx, "th", &session("s1", i64::MAX / 2))
        .await
        .unwrap();
    Store::session_insert(&mut tx, "old", &session("s2", 5))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .session_account("th", 10)
            .await
            .unwrap()
            .unwrap()
            .0
            .role,
        Role::Auditor
    );
    assert!(
        store.session_account("old", 10).await.unwrap().is_none(),
        "expired sessions are refused"
    );
    // Disabling ends every session at once; enabling does not bring them back; logout ends one.
    let mut tx = store.begin().await.unwrap();
    assert!(Store::account_set_disabled(&mut tx, "alice", Some(20))
        .await
        .unwrap());
    assert!(!Store::account_set_disabled(&mut tx, "nobody", Some(20))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert!(store.session_account("th", 10).await.unwrap().is_none());
    assert_eq!(
        store
            .account_get("alice")
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        Some(20)
    );
    let mut tx = store.begin().await.unwrap();
    Store::session_insert(&mut tx, "while-disabled", &session("s3", i64::MAX / 2))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .session_account("while-disabled", 10)
            .await
            .unwrap()
            .is_none(),
        "a disabled operator's session is refused"
    );
    let mut tx = store.begin().await.unwrap();
    Store::account_set_disabled(&mut tx, "alice", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(store
        .session_account("while-disabled", 10)
        .await
        .unwrap()
        .is_some());
    let mut tx = store.begin().await.unwrap();
    assert!(Store::session_delete(&mut tx, "while-disabled")
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert!(store
        .session_account("while-disabled", 10)
        .await
        .unwrap()
        .is_none());

    // Key purposes round-trip as the closed set; ceremonies record development or not.
    let mut tx = store.begin().await.unwrap();
    for (i, p) in [
        "ca:root",
        "tsa",
        "ocsp:seal-g3",
        "audit",
        "seal",
        "maker",
        "general",
    ]
    .iter()
    .enumerate()
    {
        Store::key_insert(
            &mut tx,
            &KeyRow {
                key_ref: format!("soft:k{i}"),
                algorithm: "p256".into(),
                backend: "software".into(),
                purpose: KeyPurpose::parse(p).unwrap(),
                public_key: vec![1],
                cert_serial: None,
                created_at: i as i64,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let keys = store.key_list().await.unwrap();
    assert_eq!(keys[0].purpose, KeyPurpose::Ca("root".into()));
    assert_eq!(keys[2].purpose, KeyPurpose::Ocsp("seal-g3".into()));
    assert_eq!(keys[6].purpose, KeyPurpose::General);
    assert!(!store.ceremony_latest_is_development().await.unwrap());
    let mut tx = store.begin().await.unwrap();
    Store::ceremony_insert(&mut tx, 1, true, "test", 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(store.ceremony_latest_is_development().await.unwrap());
    let mut tx = store.begin().await.unwrap();
    Store::ceremony_insert(&mut tx, 2, false, "test", 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        !store.ceremony_latest_is_development().await.unwrap(),
        "a production ceremony over development data ends the development status"
    );

    // Concurrent appenders on two separate pools (as two instances would be) keep one linear chain.
    let second = Store::open(url, None, None).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let a = Audit::new(1000);
            let mut tx = s.begin().await.unwrap();
            a.append(&mut tx, "test", "concurrent", json!({"i": i}))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = audit::verify(&store, &[]).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, 41);

    // Tampering with one entry is caught, and the report names it.
    sqlx::query("UPDATE audit_log SET detail = '{\"i\":999}' WHERE seq = 17")
        .execute(store.pool())
        .await
        .unwrap();
    let report = audit::verify(&store, &[]).await.unwrap();
    assert_eq!(
        report.first_broken.as_ref().map(|b| b.0),
        Some(17),
        "{report:?}"
    );
    // So is a deleted entry.
    sqlx::query("UPDATE audit_log SET detail = (SELECT detail FROM audit_log WHERE seq = 16) WHERE seq = 17")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 30")
        .execute(store.pool())
        .await
        .unwrap();
    let report = audit::verify(&store, &[]).await.unwrap();
    assert!(report.first_broken.is_some());
    store.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    suite(&format!("sqlite://{}/s.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store() {
    let Some(url) = common::pg_database("storage") else {
        return;
    };
    suite(&url).await;
}

#[tokio::test]
async fn unknown_database_url_is_refused() {
    assert!(matches!(
        Store::open("mysql://x", None, None).await,
        Err(StoreError::BadUrl(_))
    ));
}

/// A bearer session of alice's.
fn session(id: &str, expires_at: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        username: "alice".into(),
        kind: SessionKind::Bearer,
        stage: SessionStage::Full,
        created_at: 1,
        last_seen_at: 1,
        expires_at,
        client_ip: None,
        user_agent: None,
    }
}

/// The operators of a database made before accounts existed become staff accounts, and their live
/// sessions keep working, when the store opens it (migration 0006).
async fn operators_become_staff_accounts(url: &str, backend: &str) {
    sqlx::any::install_default_drivers();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let all = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version <= 5)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    let mut opts: sqlx::any::AnyConnectOptions = url.parse().unwrap();
    if backend == "sqlite" {
        opts = format!("{url}?mode=rwc").parse().unwrap();
    }
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    before.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO operators (username, password_hash, role, created_at) VALUES ('olga', 'h', 'operator', 7)",
        "INSERT INTO sessions (token_hash, username, expires_at) VALUES ('live', 'olga', 4000000000)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = Store::open(url, None, None)
        .await
        .expect("migrate to accounts");
    let olga = store
        .account_get("olga")
        .await
        .unwrap()
        .expect("olga is an account");
    assert_eq!((olga.role, olga.created_at), (Role::Operator, 7));
    assert!(olga.totp_secret.is_none() && olga.mobile.is_none());
    let (a, s) = store
        .session_account("live", 10)
        .await
        .unwrap()
        .expect("the session survives");
    assert_eq!(
        (a.username.as_str(), s.kind, s.stage),
        ("olga", SessionKind::Bearer, SessionStage::Full)
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_operators_become_staff_accounts() {
    let dir = tempfile::tempdir().unwrap();
    operators_become_staff_accounts(&format!("sqlite://{}/m.db", dir.path().display()), "sqlite")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_operators_become_staff_accounts() {
    let Some(url) = common::pg_database("migrate") else {
        return;
    };
    operators_become_staff_accounts(&url, "postgres").await;
}
