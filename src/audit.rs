//! The audit log: an append-only hash chain (each entry hashes the one before) with periodic
//! checkpoints where the audit key signs the chain head; and the walk that verifies both.

use std::sync::{Arc, RwLock};

use sealpki_pki::{SignatureScheme, Signer};
use sha2::{Digest, Sha256};

use crate::store::{AuditRow, CheckpointRow, Store, StoreError, Tx};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hash of one entry: length-prefixed fields so no two entries can share an encoding.
pub fn entry_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"sealpki-audit-v1\n");
    for field in [
        prev,
        &seq.to_string(),
        &at.to_string(),
        actor,
        action,
        detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The bytes an audit checkpoint signature covers.
pub fn checkpoint_message(seq: i64, head_hash: &str) -> Vec<u8> {
    format!("sealpki-audit-checkpoint-v1\n{seq}\n{head_hash}\n").into_bytes()
}

/// The key that signs checkpoints, with its certificate.
#[derive(Clone)]
pub struct CheckpointKey {
    pub signer: Arc<dyn Signer>,
    pub scheme: SignatureScheme,
    pub cert_der: Vec<u8>,
}

/// The chain head as a run of appends in one transaction has left it.
pub struct AppendRun {
    seq: i64,
    hash: String,
    start: i64,
    /// Entries placed in the chain by [`Audit::stage_in`], written by [`Audit::finish_run`].
    staged: Vec<AuditRow>,
}

pub struct Audit {
    every: u64,
    key: RwLock<Option<CheckpointKey>>,
}

/// The entry that follows the run's head.
fn next_row(run: &AppendRun, actor: &str, action: &str, detail: serde_json::Value) -> AuditRow {
    let seq = run.seq + 1;
    let at = crate::store::now();
    let detail = detail.to_string();
    let hash = entry_hash(&run.hash, seq, at, actor, action, &detail);
    AuditRow {
        seq,
        at,
        actor: actor.into(),
        action: action.into(),
        detail,
        prev_hash: run.hash.clone(),
        hash,
    }
}

impl Audit {
    pub fn new(every: u64) -> Self {
        Audit {
            every: every.max(1),
            key: RwLock::new(None),
        }
    }

    pub fn set_checkpoint_key(&self, key: Option<CheckpointKey>) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = key;
    }

    /// Append an entry inside the caller's transaction, so the entry commits with the change it records.
    pub async fn append(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(i64, String), StoreError> {
        let (seq, prev) = Store::audit_claim(tx).await?;
        let at = crate::store::now();
        let detail = detail.to_string();
        let hash = entry_hash(&prev, seq, at, actor, action, &detail);
        let row = AuditRow {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            detail,
            prev_hash: prev,
            hash,
        };
        Store::audit_insert(tx, &row).await?;
        if (seq as u64).is_multiple_of(self.every) {
            self.checkpoint(tx, seq, &row.hash).await?;
        }
        Ok((seq, row.hash))
    }

    /// Begin a run of appends in one transaction (the committer's batch): the head is claimed
    /// once — its row locked until commit, so other appenders queue behind the batch — each
    /// entry is then one INSERT, and [`Audit::finish_run`] writes the head back once.
    pub async fn begin_run(&self, tx: &mut Tx<'_>) -> Result<AppendRun, StoreError> {
        let (seq, hash) = Store::audit_lock_head(tx).await?;
        Ok(AppendRun {
            seq,
            hash,
            start: seq,
            staged: Vec::new(),
        })
    }

    /// Place an entry in the run's chain now and write it with the run's others at
    /// [`Audit::finish_run`]: for records that can no longer be refused once placed, so one
    /// statement writes many entries.
    pub fn stage_in(
        &self,
        run: &mut AppendRun,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> (i64, String) {
        let row = next_row(run, actor, action, detail);
        let place = (row.seq, row.hash.clone());
        run.seq = row.seq;
        run.hash = row.hash.clone();
        run.staged.push(row);
        place
    }

    /// [`Audit::append`] within a run.
    pub async fn append_in(
        &self,
        tx: &mut Tx<'_>,
        run: &mut AppendRun,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(i64, String), StoreError> {
        let row = next_row(run, actor, action, detail);
        let seq = row.seq;
        let written = Store::audit_insert_entry(tx, &row).await;
        let written = match written {
            Ok(()) if (seq as u64).is_multiple_of(self.every) => {
                self.checkpoint(tx, seq, &row.hash).await
            }
            other => other,
        };
        // On failure the run stays at the entry before: what failed is rolled back with it.
        written?;
        run.seq = seq;
        run.hash = row.hash.clone();
        Ok((seq, row.hash))
    }

    /// Write the run's staged entries (and their checkpoints) and its head (nothing when it
    /// appended nothing).
    pub async fn finish_run(&self, tx: &mut Tx<'_>, run: AppendRun) -> Result<(), StoreError> {
        if run.seq == run.start {
            return Ok(());
        }
        Store::audit_insert_entries(tx, &run.staged).await?;
        for r in &run.staged {
            if (r.seq as u64).is_multiple_of(self.every) {
                self.checkpoint(tx, r.seq, &r.hash).await?;
            }
        }
        Store::audit_set_head(tx, run.seq, &run.hash).await
    }

    /// Sign the chain head at `seq`. Runs inside the append transaction; a software or token signature
    /// takes well under a millisecond, and it happens once every `every` entries.
    pub async fn checkpoint(
        &self,
        tx: &mut Tx<'_>,
        seq: i64,
        head: &str,
    ) -> Result<(), StoreError> {
        let key = self.key.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(key) = key else { return Ok(()) };
        let sig = match key.signer.sign(key.scheme, &checkpoint_message(seq, head)) {
            Ok(s) => s,
            Err(e) => {
                // A missed checkpoint weakens nothing already written; the chain itself still links.
                tracing::error!(error = %e, seq, "audit checkpoint signature failed");
                return Ok(());
            }
        };
        let row = CheckpointRow {
            seq,
            head_hash: head.to_string(),
            key_ref: key.signer.key_ref().to_string(),
            cert_der: key.cert_der.clone(),
            scheme: key.scheme.name().to_string(),
            signature: sig,
            at: crate::store::now(),
        };
        Store::audit_checkpoint_insert(tx, &row).await
    }
}

/// What `sealpki audit verify` found.
#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
    pub entries: i64,
    pub checkpoints: usize,
    pub head_seq: i64,
    pub head_hash: String,
    /// The first entry that does not link or hash correctly, with the reason.
    pub first_broken: Option<(i64, String)>,
    pub checkpoint_failures: Vec<(i64, String)>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_broken.is_none() && self.checkpoint_failures.is_empty()
    }
}

/// Walk the whole chain in pages, then check each checkpoint against it.
/// `trusted_audit_certs` are the audit certificates the CA hierarchy vouches for.
pub async fn verify(
    store: &Store,
    trusted_audit_certs: &[Vec<u8>],
) -> Result<VerifyReport, StoreError> {
    let mut prev = GENESIS.to_string();
    let mut expect_seq = 1;
    let mut entries = 0;
    let mut first_broken = None;
    let mut hashes = std::collections::HashMap::new();
    let checkpoints = store.audit_checkpoints().await?;
    let wanted: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.seq).collect();
    'walk: loop {
        let page = store.audit_page(expect_seq - 1, 5000).await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            entries += 1;
            let problem = if r.seq != expect_seq {
                Some(format!("expected entry {expect_seq}, found {}", r.seq))
            } else if r.prev_hash != prev {
                Some("prev_hash does not match the hash of the entry before".to_string())
            } else if entry_hash(&r.prev_hash, r.seq, r.at, &r.actor, &r.action, &r.detail)
                != r.hash
            {
                Some("content does not match its hash (entry altered)".to_string())
            } else {
                None
            };
            if let Some(p) = problem {
                first_broken = Some((expect_seq.min(r.seq), p));
                break 'walk;
            }
            if wanted.contains(&r.seq) {
                hashes.insert(r.seq, r.hash.clone());
            }
            prev = r.hash;
            expect_seq += 1;
        }
    }
    let (head_seq, head_hash) = store.audit_head().await?;
    if first_broken.is_none() && (head_seq != expect_seq - 1 || head_hash != prev) {
        first_broken = Some((
            expect_seq,
            format!(
                "chain ends at {} but the head says {head_seq}",
                expect_seq - 1
            ),
        ));
    }
    let mut checkpoint_failures = Vec::new();
    for c in &checkpoints {
        let fail = |why: &str| (c.seq, why.to_string());
        if hashes.get(&c.seq) != Some(&c.head_hash) {
            checkpoint_failures.push(fail("signed head does not match the chain"));
            continue;
        }
        if !trusted_audit_certs.contains(&c.cert_der) {
            checkpoint_failures.push(fail(
                "signed by a certificate that is not a known audit certificate",
            ));
            continue;
        }
        let ok = (|| {
            use sealpki_pki::der::Decode;
            let cert = sealpki_pki::x509_cert::Certificate::from_der(&c.cert_der).ok()?;
            let scheme: SignatureScheme = c.scheme.parse().ok()?;
            sealpki_pki::alg::verify(
                &cert.tbs_certificate.subject_public_key_info,
                scheme,
                &checkpoint_message(c.seq, &c.head_hash),
                &c.signature,
            )
            .ok()
        })();
        if ok.is_none() {
            checkpoint_failures.push(fail("checkpoint signature does not verify"));
        }
    }
    Ok(VerifyReport {
        entries,
        checkpoints: checkpoints.len(),
        head_seq,
        head_hash,
        first_broken,
        checkpoint_failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_unambiguous() {
        let a = entry_hash(GENESIS, 1, 2, "ab", "c", "{}");
        let b = entry_hash(GENESIS, 1, 2, "a", "bc", "{}");
        assert_ne!(a, b);
        assert_eq!(a, entry_hash(GENESIS, 1, 2, "ab", "c", "{}"));
    }
}
