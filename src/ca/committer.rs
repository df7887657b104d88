//! Group commit of issuance records (and of signed app requests' nonces and apps' sealings). One
//! writer per process (a thread of its own) takes the intents ("about to sign") and results
//! ("signed") of all concurrent issuances and commits them together: one transaction and one
//! fsync for many records. A record that may be refused either decides that by its first
//! statements, before it writes anything, or runs in its own savepoint, so one failure (a
//! repeated serial) refuses that record alone. What a sealing writes past its guards (its audit entry, evidence and usage) is
//! staged and written at the batch's end, a statement for many rows. A caller is answered only
//! after the commit that holds its record, so the intent is durable before the key signs and the
//! result before the client hears of it.

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AppendRun, Audit};
use crate::store::{PendingCert, Store, StoreError, Tx};
use std::sync::Arc;

/// Most records in one transaction; beyond this the batch is committed and a new one begun.
const MAX_BATCH: usize = 256;

pub enum Record {
    Intent {
        cert: PendingCert,
        actor: String,
        detail: Value,
    },
    Issued {
        serial: String,
        der: Vec<u8>,
        fingerprint: String,
        actor: String,
        detail: Value,
    },
    /// An audit entry alone (e.g. a signing failure).
    Audit {
        actor: String,
        action: &'static str,
        detail: Value,
    },
    /// An app's sealing (the apps' signing API): the request's nonce taken when it was not yet
    /// (`Conflict(NONCE_USED)` for a replay; once the batch commits, the nonce is decided
    /// whatever happens to the sealing), the grant's use counted (`Conflict(GRANT_USE)` when it
    /// is used up or no longer in force), then the evidence and the day's usage, the
    /// Idempotency-Key's answer, and the `pdf.sign` audit entry.
    AppSealed {
        grant_id: String,
        evidence: Box<crate::store::EvidenceRow>,
        idempotency_key: Option<String>,
        nonce: Option<NonceUse>,
        actor: String,
        detail: Value,
    },
    /// A signed app request's nonce, taken: `Conflict(NONCE_USED)` when the app used it already
    /// (a replay).
    Nonce(NonceUse),
}

/// A signed app request's nonce to take: single use until `expires_at`.
#[derive(Clone, Debug)]
pub struct NonceUse {
    pub app_id: String,
    pub nonce: String,
    pub expires_at: i64,
}

/// The `Conflict` of a record whose nonce was used already.
pub const NONCE_USED: &str = "app_nonces";
/// The `Conflict` of an app sealing whose grant may not be used (used up, no longer in force).
pub const GRANT_USE: &str = "grant-use";

/// Where an audit entry landed in the chain: its sequence number and hash.
pub type ChainPlace = (i64, String);

impl Record {
    /// Whether a refusal of this record (`StoreError::Conflict`) is decided by its first
    /// statement, before it writes anything (a guarded UPDATE, an insert that does nothing on a
    /// conflict): such records need no savepoint, two statements fewer each. Any other error in
    /// one fails the whole batch, whose callers are all told so.
    fn refused_before_writing(&self) -> bool {
        matches!(
            self,
            Record::Nonce(_) | Record::AppSealed { .. } | Record::Audit { .. }
        )
    }
}

struct Job {
    record: Record,
    reply: oneshot::Sender<Result<Option<ChainPlace>, StoreError>>,
}

#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    pub fn start(store: Store, audit: Arc<Audit>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        // The writer runs on a thread and runtime of its own, with its own connection: on the
        // shared workers each of a batch's round trips waited behind the sealings' signing
        // (and the I/O driver is polled less often while the workers are busy), about a
        // millisecond a round trip under load; a mostly sleeping thread is woken at once.
        let spawned = std::thread::Builder::new()
            .name("sealpki-commit".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(run(store, audit, rx)),
                    Err(e) => tracing::error!(error = %e, "the commit writer could not start"),
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the commit writer could not start");
        }
        Committer { tx }
    }

    /// Commit `record` (with others waiting at the same time) and return when it is durable.
    pub async fn commit(&self, record: Record) -> Result<(), StoreError> {
        self.commit_placed(record).await.map(|_| ())
    }

    /// [`Committer::commit`], answering where the record's audit entry is in the chain (none for
    /// a nonce).
    pub async fn commit_placed(&self, record: Record) -> Result<Option<ChainPlace>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { record, reply })
            .await
            .map_err(|_| StoreError::Corrupt("the commit writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Corrupt("the commit writer dropped a record".into()))?
    }
}

/// The batch's run of audit appends (begun in the batch's transaction, outside any savepoint,
/// when the batch has a record with an entry).
fn run_of(run: &mut Option<AppendRun>) -> Result<&mut AppendRun, StoreError> {
    run.as_mut()
        .ok_or_else(|| StoreError::Corrupt("an audit entry in a batch without a run".into()))
}

/// What a batch's records leave to be written at its end.
#[derive(Default)]
struct Staged {
    evidence: Vec<crate::store::EvidenceRow>,
    /// Idempotency-Keys' answers: app, key, evidence id.
    answers: Vec<(String, String, String)>,
}

impl Staged {
    async fn write(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        Store::app_evidence_insert_many(tx, &self.evidence).await?;
        for (app_id, key, evidence_id) in &self.answers {
            Store::app_idempotency_done(tx, app_id, key, evidence_id).await?;
        }
        Ok(())
    }
}

/// The batch's nonces and grant uses, decided up front in a few statements instead of one or
/// two per record: which records' nonces were used already (replays), and which sealings may
/// count a use of their grant (counted in one statement per grant, one by one only when the
/// batch would pass a use limit).
struct Guards {
    replayed: Vec<bool>,
    used: Vec<bool>,
}

impl Guards {
    async fn decide(tx: &mut Tx<'_>, jobs: &[Job], now: i64) -> Result<Self, StoreError> {
        let nonce_of = |r: &Record| match r {
            Record::Nonce(n) => Some(n.clone()),
            Record::AppSealed { nonce, .. } => nonce.clone(),
            _ => None,
        };
        let nonces: Vec<Option<NonceUse>> = jobs.iter().map(|j| nonce_of(&j.record)).collect();
        let wanted: Vec<(&str, &str, i64)> = nonces
            .iter()
            .flatten()
            .map(|n| (n.app_id.as_str(), n.nonce.as_str(), n.expires_at))
            .collect();
        let mut taken = if wanted.is_empty() {
            Default::default()
        } else {
            Store::nonces_take(tx, &wanted, now).await?
        };
        // A nonce twice in one batch: the first record takes it, the second is the replay.
        let replayed: Vec<bool> = nonces
            .iter()
            .map(|n| {
                n.as_ref()
                    .is_some_and(|n| !taken.remove(&(n.app_id.clone(), n.nonce.clone())))
            })
            .collect();
        let mut by_grant: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, j) in jobs.iter().enumerate() {
            if let Record::AppSealed { grant_id, .. } = &j.record {
                if !replayed[i] {
                    by_grant.entry(grant_id.as_str()).or_default().push(i);
                }
            }
        }
        let mut used = vec![false; jobs.len()];
        for (grant_id, at) in by_grant {
            let n = i64::try_from(at.len()).unwrap_or(i64::MAX);
            if Store::grant_use_many(tx, grant_id, n, now).await? {
                for i in at {
                    used[i] = true;
                }
            } else {
                for i in at {
                    used[i] = Store::grant_use(tx, grant_id, now).await?;
                }
            }
        }
        Ok(Guards { replayed, used })
    }

    fn nonce_refused(&self, at: usize) -> bool {
        self.replayed.get(at).copied().unwrap_or(true)
    }

    fn grant_used(&self, at: usize) -> bool {
        self.used.get(at).copied().unwrap_or(false)
    }
}

async fn apply(
    tx: &mut Tx<'_>,
    audit: &Audit,
    run: &mut Option<AppendRun>,
    staged: &mut Staged,
    guards: &Guards,
    at: usize,
    record: &Record,
) -> Result<Option<ChainPlace>, StoreError> {
    let now = crate::store::now();
    Ok(match record {
        Record::Intent {
            cert,
            actor,
            detail,
        } => {
            Store::cert_insert_pending(tx, cert, now).await?;
            let r = run_of(run)?;
            Some(
                audit
                    .append_in(tx, r, actor, "certificate.prepare", detail.clone())
                    .await?,
            )
        }
        Record::Issued {
            serial,
            der,
            fingerprint,
            actor,
            detail,
        } => {
            if !Store::cert_mark_issued(tx, serial, der, fingerprint, now).await? {
                return Err(StoreError::Corrupt(format!(
                    "certificate {serial} was not pending"
                )));
            }
            let r = run_of(run)?;
            Some(
                audit
                    .append_in(tx, r, actor, "certificate.issue", detail.clone())
                    .await?,
            )
        }
        Record::Audit {
            actor,
            action,
            detail,
        } => {
            let r = run_of(run)?;
            Some(
                audit
                    .append_in(tx, r, actor, action, detail.clone())
                    .await?,
            )
        }
        Record::AppSealed {
            evidence,
            idempotency_key,
            actor,
            detail,
            ..
        } => {
            // The guards were decided for the whole batch (`Guards`): the nonce first, then
            // the grant's use; a refusal writes nothing more.
            if guards.nonce_refused(at) {
                return Err(StoreError::Conflict(NONCE_USED.into()));
            }
            if !guards.grant_used(at) {
                return Err(StoreError::Conflict(GRANT_USE.into()));
            }
            // Past its guards nothing refuses the sealing: its audit entry is placed in the
            // chain (the evidence row names it) and its rows are written with the batch's
            // others at the end, a statement for many.
            let place = audit.stage_in(run_of(run)?, actor, "pdf.sign", detail.clone());
            let mut row = (**evidence).clone();
            row.audit_seq = Some(place.0);
            row.audit_hash = Some(place.1.clone());
            if let Some(k) = idempotency_key {
                staged
                    .answers
                    .push((row.app_id.clone(), k.clone(), row.id.clone()));
            }
            staged.evidence.push(row);
            Some(place)
        }
        Record::Nonce(_) => {
            if guards.nonce_refused(at) {
                return Err(StoreError::Conflict(NONCE_USED.into()));
            }
            None
        }
    })
}

/// The writer's own connection and when it was last used. Under load the pool's queue and its
/// liveness checks (a round trip before and after every use) were a third of a batch's time on
/// PostgreSQL; a failed batch lets the connection go and the next makes a fresh one.
struct Kept {
    conn: crate::store::Conn,
    used: std::time::Instant,
}

/// After this long unused, the kept connection is tested before a batch (the database may have
/// restarted meanwhile); under load it never is.
const IDLE_TEST: std::time::Duration = std::time::Duration::from_secs(1);

async fn kept_connection<'k>(
    store: &Store,
    kept: &'k mut Option<Kept>,
) -> Result<&'k mut crate::store::Conn, StoreError> {
    if let Some(k) = kept.as_mut() {
        if k.used.elapsed() > IDLE_TEST && Store::ping_on(&mut k.conn).await.is_err() {
            *kept = None;
        }
    }
    let k = match kept {
        Some(k) => k,
        None => kept.insert(Kept {
            conn: store.connect().await?,
            used: std::time::Instant::now(),
        }),
    };
    k.used = std::time::Instant::now();
    Ok(&mut k.conn)
}

async fn run(store: Store, audit: Arc<Audit>, mut rx: mpsc::Receiver<Job>) {
    let mut kept: Option<Kept> = None;
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut outcomes: Vec<Result<Option<ChainPlace>, StoreError>> =
            Vec::with_capacity(jobs.len());
        let committed = async {
            let conn = kept_connection(&store, &mut kept).await?;
            let mut tx = Store::begin_on(conn).await?;
            let mut staged = Staged::default();
            // A batch of nonces alone never locks the chain head.
            let mut run = if jobs.iter().any(|j| !matches!(j.record, Record::Nonce(_))) {
                Some(audit.begin_run(&mut tx).await?)
            } else {
                None
            };
            let guards = Guards::decide(&mut tx, &jobs, crate::store::now()).await?;
            for (at, job) in jobs.iter().enumerate() {
                if job.record.refused_before_writing() {
                    let r = apply(
                        &mut tx,
                        &audit,
                        &mut run,
                        &mut staged,
                        &guards,
                        at,
                        &job.record,
                    )
                    .await;
                    match r {
                        Ok(_) | Err(StoreError::Conflict(_)) => outcomes.push(r),
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                let mut sp = Store::savepoint(&mut tx).await?;
                let r = apply(
                    &mut sp,
                    &audit,
                    &mut run,
                    &mut staged,
                    &guards,
                    at,
                    &job.record,
                )
                .await;
                match r {
                    Ok(_) => sp.commit().await?,
                    Err(_) => sp.rollback().await?,
                }
                outcomes.push(r);
            }
            staged.write(&mut tx).await?;
            if let Some(run) = run {
                audit.finish_run(&mut tx, run).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        match committed {
            Ok(()) => {
                for (job, r) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                kept = None;
                tracing::error!(error = %e, records = jobs.len(), "group commit failed");
                let msg = e.to_string();
                for job in jobs {
                    let _ = job
                        .reply
                        .send(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
                }
            }
        }
    }
}
