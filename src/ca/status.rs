//! Certificate status: revocation (revoke, hold, release), CRL publication (full and delta, one number
//! sequence per CA key, optionally partitioned) and OCSP answers with a cache of pre-signed responses
//! that revocations invalidate. Status is kept per CA key (its label), so a key retired by rollover
//! keeps answering for what it signed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sealpki_pki::revocation::{build_crl, parse_ocsp_request, CrlKind, Entry, Reason, Status};
use serde_json::json;

use crate::access::{Actor, Permission};
use crate::app::{unix, App};
use crate::error::AppError;
use crate::limits::{retry_secs, Lru};
use crate::store::{CertStatusRow, CrlRow, Store};

fn from_unix(t: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.max(0) as u64)
}

/// A signed OCSP response and when it was signed.
type Cached = (Arc<Vec<u8>>, Instant);

/// Pre-signed OCSP responses for nonce-less single requests about certificates we issued, by (CA,
/// serial); at most `[ocsp] cache_entries` of them, the least recently used dropped first.
pub struct OcspCache {
    entries: Mutex<Lru<(String, String), Cached>>,
    /// The revocation-log head the cache reflects; another instance's revocation moves it.
    seen_log_head: Mutex<i64>,
}

/// The newest CRL of each (CA key, partition, kind) in memory, so serving a large CRL costs one small
/// query (is this still the newest number?) instead of reading its body from the database.
#[derive(Default)]
pub struct CrlCache {
    entries: Mutex<HashMap<CrlKey, (i64, axum::body::Bytes)>>,
}

/// (CA key label, partition, "full" or "delta").
type CrlKey = (String, i64, &'static str);

impl OcspCache {
    pub fn new(max_entries: usize) -> Self {
        OcspCache {
            entries: Mutex::new(Lru::new(max_entries)),
            seen_log_head: Mutex::new(0),
        }
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Answers held now (a gauge in /metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an OCSP request got, for the HTTP layer.
pub enum OcspAnswer {
    Ok(Arc<Vec<u8>>),
    Malformed(String),
    Unauthorized,
}

impl CrlCache {
    fn get(&self, key: &CrlKey) -> Option<(i64, axum::body::Bytes)> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn put(
        &self,
        key: (String, i64, &'static str),
        number: i64,
        der: Vec<u8>,
    ) -> axum::body::Bytes {
        let der = axum::body::Bytes::from(der);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (number, der.clone()));
        der
    }
}

impl App {
    /// Whether a stored certificate carries the authority's own powers (CA, TSA, OCSP responder,
    /// audit): its profile is ceremony-only. A profile no longer stored counts as one.
    pub fn is_authority_cert(&self, profile: &str) -> bool {
        let requestable = self
            .profiles()
            .ok()
            .and_then(|p| p.get(profile).ok().map(|p| p.requestable));
        !matches!(
            requestable,
            Some(sealpki_pki::profile::Requestable::OnRequest)
        )
    }

    /// Revoke an issued certificate (or put it on hold with `CertificateHold`). A held certificate may
    /// be revoked for good; a revoked one may not change. `reason` None means unspecified — refused
    /// for authority certificates, which also need an administrator; holding one needs a comment.
    pub async fn revoke(
        &self,
        actor: &Actor,
        serial: &str,
        reason: Option<Reason>,
        comment: Option<&str>,
    ) -> Result<(), AppError> {
        actor.require(Permission::ChangeStatus)?;
        let comment = check_comment(comment)?;
        if reason == Some(Reason::RemoveFromCrl) {
            return Err(AppError::BadRequest(
                "removeFromCRL is not a revocation reason; use release".into(),
            ));
        }
        let row =
            self.store.cert_get(serial).await?.ok_or_else(|| {
                AppError::NotFound(format!("no certificate with serial {serial}"))
            })?;
        let authority = self.is_authority_cert(&row.profile);
        if authority {
            actor.require(Permission::ChangeAuthorityStatus)?;
            match reason {
                None | Some(Reason::Unspecified) => {
                    return Err(AppError::BadRequest(format!(
                        "certificate {serial} is a {} certificate: revoking it needs a reason \
                         (keyCompromise, cACompromise, affiliationChanged, superseded, \
                         cessationOfOperation, privilegeWithdrawn), not unspecified",
                        row.profile
                    )))
                }
                Some(Reason::CertificateHold) if comment.is_none() => {
                    return Err(AppError::BadRequest(format!(
                        "certificate {serial} is a {} certificate: holding it needs a comment \
                         saying why",
                        row.profile
                    )))
                }
                _ => {}
            }
        }
        let reason = reason.unwrap_or(Reason::Unspecified);
        if row.state != crate::store::CertState::Issued {
            return Err(AppError::Conflict(format!(
                "certificate {serial} was never issued"
            )));
        }
        match self.store.cert_status(&row.ca_key, serial).await? {
            CertStatusRow::Revoked { reason: r, .. } if r != Reason::CertificateHold.name() => {
                return Err(AppError::Conflict(format!(
                    "certificate {serial} is already revoked ({r})"
                )))
            }
            CertStatusRow::Revoked { .. } if reason == Reason::CertificateHold => {
                return Err(AppError::Conflict(format!(
                    "certificate {serial} is already on hold"
                )))
            }
            _ => {}
        }
        let mut tx = self.store.begin().await?;
        self.write_status(&mut tx, &actor.name, &row, Some(reason), comment.as_deref())
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.after_status_change(&row.ca_key, row.crl_part).await
    }

    /// Write a status change of certificate `row` in `tx`: the state, the revocation log and the
    /// audit entry (`Some(reason)` revokes or holds, `None` releases a hold). The caller has
    /// checked that the change applies, commits, then calls [`App::after_status_change`].
    pub(crate) async fn write_status(
        &self,
        tx: &mut crate::store::Tx<'_>,
        actor: &str,
        row: &crate::store::CertRow,
        reason: Option<Reason>,
        comment: Option<&str>,
    ) -> Result<(), AppError> {
        let now = crate::store::now();
        let serial = row.serial.as_str();
        Store::cert_set_revocation(tx, serial, reason.map(|r| (now, r.name()))).await?;
        Store::revocation_log_insert(
            tx,
            serial,
            &row.ca_key,
            row.crl_part,
            if reason.is_some() {
                "revoke"
            } else {
                "release"
            },
            reason.map(|r| r.name()),
            now,
        )
        .await?;
        let action = match reason {
            Some(Reason::CertificateHold) => "certificate.hold",
            Some(_) => "certificate.revoke",
            None => "certificate.release",
        };
        let authority = self.is_authority_cert(&row.profile);
        self.audit
            .append(
                tx,
                actor,
                action,
                json!({"serial": serial, "ca": row.ca, "ca_key": row.ca_key,
                       "reason": reason.map(|r| r.name()),
                       "profile": row.profile, "authority": authority, "comment": comment}),
            )
            .await?;
        Ok(())
    }

    /// Lift a hold (挂失 → 恢复): the certificate is good again and the next delta says removeFromCRL.
    /// Authority certificates need an administrator.
    pub async fn release(
        &self,
        actor: &Actor,
        serial: &str,
        comment: Option<&str>,
    ) -> Result<(), AppError> {
        actor.require(Permission::ChangeStatus)?;
        let comment = check_comment(comment)?;
        let row =
            self.store.cert_get(serial).await?.ok_or_else(|| {
                AppError::NotFound(format!("no certificate with serial {serial}"))
            })?;
        let authority = self.is_authority_cert(&row.profile);
        if authority {
            actor.require(Permission::ChangeAuthorityStatus)?;
        }
        match self.store.cert_status(&row.ca_key, serial).await? {
            CertStatusRow::Revoked { reason, .. } if reason == Reason::CertificateHold.name() => {}
            _ => {
                return Err(AppError::Conflict(format!(
                    "certificate {serial} is not on hold"
                )))
            }
        }
        let mut tx = self.store.begin().await?;
        self.write_status(&mut tx, &actor.name, &row, None, comment.as_deref())
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.after_status_change(&row.ca_key, row.crl_part).await
    }

    /// A revocation shows in OCSP at once (cache dropped) and in the delta CRL at once
    /// (republished); the full CRL follows within one refresh (`refresh_crls`).
    pub(crate) async fn after_status_change(&self, ca: &str, part: i64) -> Result<(), AppError> {
        self.ocsp_cache.clear();
        self.publish_crl(ca, part, false).await.map(|_| ())
    }

    /// The issuingDistributionPoint URL of a CRL partition: partitions past 0 always carry one;
    /// partition 0 once its key has certificates in later partitions (it then no longer covers all).
    async fn partition_url(&self, ca: &str, part: i64) -> Result<Option<String>, AppError> {
        if part == 0 && self.store.crl_part_max(ca).await? == 0 {
            return Ok(None);
        }
        Ok(self.urls(ca, part).crl)
    }

    /// Partitions a CA key's certificates name (0 alone for an unpartitioned key).
    pub async fn crl_parts(&self, ca: &str) -> Result<std::ops::RangeInclusive<i64>, AppError> {
        Ok(0..=self.store.crl_part_max(ca).await?)
    }

    /// Publish a CRL for CA key `ca`, partition `part`: a full one when `full` or when none exists
    /// yet, else a delta against the newest full CRL. Returns the stored row.
    pub async fn publish_crl(&self, ca: &str, part: i64, full: bool) -> Result<CrlRow, AppError> {
        let issuer = self.ca_key(ca)?.issuer.clone();
        let base = self.store.crl_latest(ca, part, "full").await?;
        let full = full || base.is_none();
        let now = SystemTime::now();
        let log_seq = self.store.revocation_log_head(Some(ca)).await?;
        let partition = self.partition_url(ca, part).await?;
        let cfg = &self.config.crl;
        let (kind, next, entries) = if full {
            let entries = self
                .store
                .revoked_list(ca, part, unix(now))
                .await?
                .into_iter()
                .map(|r| {
                    let reason = r.reason.parse().map_err(AppError::Internal)?;
                    Ok(Entry::new(&r.serial, from_unix(r.revoked_at), reason)?)
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            (
                CrlKind::Full,
                Duration::from_secs(u64::from(cfg.full_hours) * 3600),
                entries,
            )
        } else {
            let base = base.as_ref().expect("checked above");
            let mut entries = Vec::new();
            for serial in self
                .store
                .revocation_changed_since(ca, part, base.log_seq)
                .await?
            {
                match self.store.cert_status(ca, &serial).await? {
                    CertStatusRow::Revoked { at, reason } => entries.push(Entry::new(
                        &serial,
                        from_unix(at),
                        reason.parse().map_err(AppError::Internal)?,
                    )?),
                    // Released since the base: tell holders of the base to drop it.
                    CertStatusRow::Good => {
                        entries.push(Entry::new(&serial, now, Reason::RemoveFromCrl)?)
                    }
                    CertStatusRow::Unknown => {}
                }
            }
            (
                CrlKind::Delta {
                    base: base.number as u64,
                },
                Duration::from_secs(u64::from(cfg.delta_hours) * 3600),
                entries,
            )
        };
        let mut tx = self.store.begin().await?;
        let number = Store::crl_next_number(&mut tx, ca).await?;
        let (kind_name, base_number) = match kind {
            CrlKind::Full => ("full", None),
            CrlKind::Delta { base } => ("delta", Some(base as i64)),
        };
        let entry_count = entries.len();
        let signer_issuer = issuer.clone();
        let der = tokio::task::spawn_blocking(move || {
            build_crl(
                &signer_issuer,
                kind,
                number as u64,
                now,
                now + next,
                &entries,
                partition.as_deref(),
            )
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        let row = CrlRow {
            ca: ca.into(),
            part,
            number,
            kind: kind_name.into(),
            base: base_number,
            log_seq,
            this_update: unix(now),
            next_update: unix(now + next),
            der,
        };
        Store::crl_insert(&mut tx, &row).await?;
        self.audit
            .append(&mut tx, "system", "crl.publish", json!({"ca": ca, "part": part, "number": number, "kind": kind_name, "entries": entry_count, "base": base_number}))
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(row)
    }

    /// The newest CRL of a kind for a CA key's partition, publishing one first if there is none or it
    /// has expired. Served from memory while it is still the newest.
    pub async fn current_crl(
        &self,
        ca: &str,
        part: i64,
        delta: bool,
    ) -> Result<axum::body::Bytes, AppError> {
        let kind = if delta { "delta" } else { "full" };
        let key = (ca.to_string(), part, kind);
        match self.store.crl_latest_number(ca, part, kind).await? {
            Some((number, _, next_update)) if next_update > crate::store::now() => {
                if let Some((n, der)) = self.crl_cache.get(&key) {
                    if n == number {
                        return Ok(der);
                    }
                }
                let row = self
                    .store
                    .crl_latest(ca, part, kind)
                    .await?
                    .ok_or_else(|| AppError::Internal(format!("CRL {ca}/{part} vanished")))?;
                Ok(self.crl_cache.put(key, row.number, row.der))
            }
            _ => {
                if delta && self.store.crl_latest(ca, part, "full").await?.is_none() {
                    self.publish_crl(ca, part, true).await?;
                }
                let row = self.publish_crl(ca, part, !delta).await?;
                Ok(self.crl_cache.put(key, row.number, row.der))
            }
        }
    }

    /// Refresh CRLs that pass half their lifetime; run periodically by the server. Also picks up
    /// CA keys and certificate counts that another instance changed.
    pub async fn refresh_crls(&self) -> Result<(), AppError> {
        if self.ca_keys_changed().await? {
            self.reload().await?;
        }
        self.sync_key_counts().await?;
        let now = crate::store::now();
        for key in self.ca_keys() {
            let ca = key.label.as_str();
            for part in self.crl_parts(ca).await? {
                let changed = self.store.revocation_log_latest_at(ca, part).await?;
                for (kind, full) in [("full", true), ("delta", false)] {
                    let stale = match self.store.crl_latest_number(ca, part, kind).await? {
                        // Most relying parties read full CRLs only: a full CRL older than the
                        // newest status change is republished at the next refresh.
                        Some((_, this, _)) if full && changed.is_some_and(|at| at >= this) => true,
                        Some((_, this, next)) => now >= this + (next - this) / 2,
                        None => true,
                    };
                    if stale {
                        self.publish_crl(ca, part, full).await?;
                    }
                }
            }
        }
        // Another instance may have revoked something: drop cached OCSP answers if so.
        let head = self.store.revocation_log_head(None).await?;
        let mut seen = self
            .ocsp_cache
            .seen_log_head
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *seen != head {
            *seen = head;
            self.ocsp_cache.clear();
        }
        Ok(())
    }

    /// Answer an OCSP request (DER) for CA `ca` from client `client`. Answers not in the pre-signed
    /// cache are signed now, within the client's `ocsp_fresh` rate limit; only answers about
    /// certificates we issued enter the cache, so unknown serials cannot grow it.
    pub async fn ocsp(
        &self,
        ca: &str,
        request: &[u8],
        client: Option<std::net::IpAddr>,
    ) -> Result<OcspAnswer, AppError> {
        let parsed = match parse_ocsp_request(request) {
            Ok(p) => p,
            Err(e) => return Ok(OcspAnswer::Malformed(e.to_string())),
        };
        let Some(ocsp) = self.responder(ca) else {
            return Ok(OcspAnswer::Unauthorized);
        };
        if !parsed.ids.iter().all(|id| ocsp.hashes.matches(id)) {
            return Ok(OcspAnswer::Unauthorized);
        }
        let cacheable = parsed.nonce.is_none() && parsed.ids.len() == 1;
        let serials: Vec<String> = parsed
            .ids
            .iter()
            .map(|id| sealpki_pki::issue::serial_hex(&id.serial_number))
            .collect();
        let key = (ca.to_string(), serials[0].clone());
        let ttl = Duration::from_secs(self.config.ocsp.cache_seconds);
        if cacheable {
            if let Some((der, at)) = self
                .ocsp_cache
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&key)
            {
                if at.elapsed() < ttl {
                    return Ok(OcspAnswer::Ok(der.clone()));
                }
            }
        }
        if let Err(wait) = self.limits.ocsp_fresh.check(client) {
            return Err(AppError::RateLimited {
                what: "OCSP answers signed on request".into(),
                retry_after: retry_secs(wait),
            });
        }
        let mut answers = Vec::with_capacity(parsed.ids.len());
        let mut all_known = true;
        for (id, serial) in parsed.ids.into_iter().zip(&serials) {
            let status = match self.store.cert_status(ca, serial).await? {
                CertStatusRow::Unknown => {
                    all_known = false;
                    Status::Unknown
                }
                CertStatusRow::Good => Status::Good,
                CertStatusRow::Revoked { at, reason } => Status::Revoked {
                    at: from_unix(at),
                    reason: reason.parse().map_err(AppError::Internal)?,
                },
            };
            answers.push((id, status));
        }
        let now = SystemTime::now();
        let next = now + Duration::from_secs(u64::from(self.config.ocsp.next_update_hours) * 3600);
        let nonce = parsed.nonce;
        let responder = ocsp.responder.clone();
        let der =
            tokio::task::spawn_blocking(move || responder.respond(&answers, nonce, now, next))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
        let der = Arc::new(der);
        if cacheable && all_known {
            self.ocsp_cache
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (der.clone(), Instant::now()));
        }
        Ok(OcspAnswer::Ok(der))
    }
}

/// A status-change comment: optional, at most 500 characters, no control characters.
fn check_comment(c: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(c) = c.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if c.chars().count() > 500 || c.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "comment: at most 500 characters, on one line".into(),
        ));
    }
    Ok(Some(c.to_string()))
}
