//! Group commit of issuance records (and of signed app requests' nonces and apps' sealings). One writer task per process takes the intents ("about to sign")
//! and results ("signed") of all concurrent issuances and commits them together: one transaction and
//! one fsync for many records, each record in its own savepoint so one failure (a repeated serial)
//! refuses that record alone. A caller is answered only after the commit that holds its record, so
//! the intent is durable before the key signs and the result before the client hears of it.

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
    /// An app's sealing (the apps' signing API): the grant's use counted (`Conflict("grant-use")`
    /// when it is used up or no longer in force: nothing of the record stays), the evidence and
    /// the day's usage, the Idempotency-Key's answer, and the `pdf.sign` audit entry.
    AppSealed {
        grant_id: String,
        evidence: Box<crate::store::EvidenceRow>,
        idempotency_key: Option<String>,
        actor: String,
        detail: Value,
    },
    /// A signed app request's nonce, taken until `expires_at`: `Conflict` when the app used it
    /// already (a replay).
    Nonce {
        app_id: String,
        nonce: String,
        expires_at: i64,
        now: i64,
    },
}

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
            Record::Nonce { .. } | Record::AppSealed { .. } | Record::Audit { .. }
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
        tokio::spawn(run(store, audit, rx));
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

async fn apply(
    tx: &mut Tx<'_>,
    audit: &Audit,
    run: &mut Option<AppendRun>,
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
            grant_id,
            evidence,
            idempotency_key,
            actor,
            detail,
        } => {
            if !Store::grant_use(tx, grant_id, now).await? {
                return Err(StoreError::Conflict("grant-use".into()));
            }
            // The audit entry first: the evidence row names it, in the same transaction.
            let r = run_of(run)?;
            let place = audit
                .append_in(tx, r, actor, "pdf.sign", detail.clone())
                .await?;
            let mut row = (**evidence).clone();
            row.audit_seq = Some(place.0);
            row.audit_hash = Some(place.1.clone());
            Store::app_evidence_insert(tx, &row).await?;
            if let Some(k) = idempotency_key {
                Store::app_idempotency_done(tx, &row.app_id, k, &row.id).await?;
            }
            Some(place)
        }
        Record::Nonce {
            app_id,
            nonce,
            expires_at,
            now,
        } => {
            if !Store::nonce_insert(tx, app_id, nonce, *expires_at, *now).await? {
                return Err(StoreError::Conflict("app_nonces".into()));
            }
            None
        }
    })
}

async fn run(store: Store, audit: Arc<Audit>, mut rx: mpsc::Receiver<Job>) {
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
            let mut tx = store.begin().await?;
            // A batch of nonces alone never locks the chain head.
            let mut run = if jobs
                .iter()
                .any(|j| !matches!(j.record, Record::Nonce { .. }))
            {
                Some(audit.begin_run(&mut tx).await?)
            } else {
                None
            };
            for job in &jobs {
                if job.record.refused_before_writing() {
                    let r = apply(&mut tx, &audit, &mut run, &job.record).await;
                    match r {
                        Ok(_) | Err(StoreError::Conflict(_)) => outcomes.push(r),
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                let mut sp = Store::savepoint(&mut tx).await?;
                let r = apply(&mut sp, &audit, &mut run, &job.record).await;
                match r {
                    Ok(_) => sp.commit().await?,
                    Err(_) => sp.rollback().await?,
                }
                outcomes.push(r);
            }
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
