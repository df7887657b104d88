//! Certificate status: revocation (revoke, hold, release), CRL publication (full and delta, one number
//! sequence per CA) and OCSP answers with a cache of pre-signed responses that revocations invalidate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sealpki_pki::revocation::{build_crl, parse_ocsp_request, CrlKind, Entry, Reason, Status};
use serde_json::json;

use crate::app::{unix, App};
use crate::error::AppError;
use crate::store::{CertStatusRow, CrlRow, Store};

fn from_unix(t: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.max(0) as u64)
}

/// A signed OCSP response and when it was signed.
type Cached = (Arc<Vec<u8>>, Instant);

/// Pre-signed OCSP responses for nonce-less single requests, by (CA, serial).
#[derive(Default)]
pub struct OcspCache {
    entries: Mutex<HashMap<(String, String), Cached>>,
    /// The revocation-log head the cache reflects; another instance's revocation moves it.
    seen_log_head: Mutex<i64>,
}

impl OcspCache {
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// What an OCSP request got, for the HTTP layer.
pub enum OcspAnswer {
    Ok(Arc<Vec<u8>>),
    Malformed(String),
    Unauthorized,
}

impl App {
    /// Revoke an issued certificate (or put it on hold with `CertificateHold`). A held certificate may
    /// be revoked for good; a revoked one may not change.
    pub async fn revoke(&self, actor: &str, serial: &str, reason: Reason) -> Result<(), AppError> {
        if reason == Reason::RemoveFromCrl {
            return Err(AppError::BadRequest(
                "removeFromCRL is not a revocation reason; use release".into(),
            ));
        }
        let row =
            self.store.cert_get(serial).await?.ok_or_else(|| {
                AppError::NotFound(format!("no certificate with serial {serial}"))
            })?;
        if row.state != crate::store::CertState::Issued {
            return Err(AppError::Conflict(format!(
                "certificate {serial} was never issued"
            )));
        }
        match self.store.cert_status(&row.ca, serial).await? {
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
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        Store::cert_set_revocation(&mut tx, serial, Some((now, reason.name()))).await?;
        Store::revocation_log_insert(&mut tx, serial, &row.ca, "revoke", Some(reason.name()), now)
            .await?;
        let action = if reason == Reason::CertificateHold {
            "certificate.hold"
        } else {
            "certificate.revoke"
        };
        self.audit
            .append(
                &mut tx,
                actor,
                action,
                json!({"serial": serial, "ca": row.ca, "reason": reason.name()}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.after_status_change(&row.ca).await
    }

    /// Lift a hold (挂失 → 恢复): the certificate is good again and the next delta says removeFromCRL.
    pub async fn release(&self, actor: &str, serial: &str) -> Result<(), AppError> {
        let row =
            self.store.cert_get(serial).await?.ok_or_else(|| {
                AppError::NotFound(format!("no certificate with serial {serial}"))
            })?;
        match self.store.cert_status(&row.ca, serial).await? {
            CertStatusRow::Revoked { reason, .. } if reason == Reason::CertificateHold.name() => {}
            _ => {
                return Err(AppError::Conflict(format!(
                    "certificate {serial} is not on hold"
                )))
            }
        }
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        Store::cert_set_revocation(&mut tx, serial, None).await?;
        Store::revocation_log_insert(&mut tx, serial, &row.ca, "release", None, now).await?;
        self.audit
            .append(
                &mut tx,
                actor,
                "certificate.release",
                json!({"serial": serial, "ca": row.ca}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.after_status_change(&row.ca).await
    }

    /// A revocation shows in OCSP at once (cache dropped) and in the delta CRL at once (republished).
    async fn after_status_change(&self, ca: &str) -> Result<(), AppError> {
        self.ocsp_cache.clear();
        self.publish_crl(ca, false).await.map(|_| ())
    }

    /// Publish a CRL for `ca`: a full one when `full` or when none exists yet, else a delta against the
    /// newest full CRL. Returns the stored row.
    pub async fn publish_crl(&self, ca: &str, full: bool) -> Result<CrlRow, AppError> {
        let issuer = self.issuer(ca)?;
        let base = self.store.crl_latest(ca, "full").await?;
        let full = full || base.is_none();
        let now = SystemTime::now();
        let log_seq = self.store.revocation_log_head(Some(ca)).await?;
        let cfg = &self.config.crl;
        let (kind, next, entries) = if full {
            let entries = self
                .store
                .revoked_list(ca, unix(now))
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
                .revocation_changed_since(ca, base.log_seq)
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
            )
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        let row = CrlRow {
            ca: ca.into(),
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
            .append(&mut tx, "system", "crl.publish", json!({"ca": ca, "number": number, "kind": kind_name, "entries": entry_count, "base": base_number}))
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(row)
    }

    /// The newest CRL of a kind, publishing one first if there is none or it has expired.
    pub async fn current_crl(&self, ca: &str, delta: bool) -> Result<Vec<u8>, AppError> {
        let kind = if delta { "delta" } else { "full" };
        match self.store.crl_latest(ca, kind).await? {
            Some(row) if row.next_update > crate::store::now() => Ok(row.der),
            _ => {
                if delta && self.store.crl_latest(ca, "full").await?.is_none() {
                    self.publish_crl(ca, true).await?;
                }
                Ok(self.publish_crl(ca, !delta).await?.der)
            }
        }
    }

    /// Refresh CRLs that pass half their lifetime; run periodically by the server.
    pub async fn refresh_crls(&self) -> Result<(), AppError> {
        let now = crate::store::now();
        for ca in crate::app::CA_NAMES {
            if self.issuer(ca).is_err() {
                continue;
            }
            for (kind, full) in [("full", true), ("delta", false)] {
                let stale = match self.store.crl_latest(ca, kind).await? {
                    Some(r) => now >= r.this_update + (r.next_update - r.this_update) / 2,
                    None => true,
                };
                if stale {
                    self.publish_crl(ca, full).await?;
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

    /// Answer an OCSP request (DER) for CA `ca`.
    pub async fn ocsp(&self, ca: &str, request: &[u8]) -> Result<OcspAnswer, AppError> {
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
                .get(&key)
            {
                if at.elapsed() < ttl {
                    return Ok(OcspAnswer::Ok(der.clone()));
                }
            }
        }
        let mut answers = Vec::with_capacity(parsed.ids.len());
        for (id, serial) in parsed.ids.into_iter().zip(&serials) {
            let status = match self.store.cert_status(ca, serial).await? {
                CertStatusRow::Unknown => Status::Unknown,
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
        if cacheable {
            self.ocsp_cache
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (der.clone(), Instant::now()));
        }
        Ok(OcspAnswer::Ok(der))
    }
}
