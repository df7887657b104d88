//! Issuance: prepare and lint, record the intent, sign with the CA key (off the executor), record the
//! result, with the CRL partition's URLs; requests for stored keys (never the authority's own).

use std::sync::Arc;
use std::time::SystemTime;

use sealpki_pki::{CertRequest, KeyRef};
use serde_json::json;

use crate::app::{unix, App};
use crate::ca::committer::Record;
use crate::error::AppError;
use crate::store::PendingCert;

use super::hierarchy::CaKey;

/// A freshly issued certificate and its chain (issuing CA first, root last).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedCert {
    pub serial: String,
    pub ca: String,
    pub profile: String,
    pub fingerprint: String,
    #[serde(skip)]
    pub der: Vec<u8>,
    #[serde(skip)]
    pub chain: Vec<Vec<u8>>,
}

impl App {
    /// Issue a certificate: prepare and lint, record the intent, sign, record the result.
    pub async fn issue(
        self: &Arc<Self>,
        actor: &str,
        profile_name: &str,
        req: CertRequest,
        ca_override: Option<&str>,
    ) -> Result<IssuedCert, AppError> {
        let started = std::time::Instant::now();
        let profile = self.profiles()?.get(profile_name)?.clone();
        // The one door for requests (CLI and HTTP): certificates carrying the authority's powers
        // come only from the ceremony and rollover, which do not pass here.
        if profile.requestable == sealpki_pki::profile::Requestable::CeremonyOnly {
            self.metrics.refused.inc();
            return Err(AppError::Policy(format!(
                "profile {profile_name} is issued only by the key ceremony (`sealpki init`) and CA \
                 rollover (`sealpki ca rollover`), never on request"
            )));
        }
        let ca = match (&profile.issuer, ca_override) {
            (Some(p), Some(o)) if p != o => {
                return Err(AppError::Policy(format!(
                    "profile {profile_name} is issued by the {p} CA, not {o}"
                )))
            }
            (Some(p), _) => p.clone(),
            (None, Some(o)) => o.to_string(),
            (None, None) => {
                return Err(AppError::BadRequest(format!(
                    "profile {profile_name} needs the issuing CA to be named"
                )))
            }
        };
        let key = self.issuing_key(&ca)?;
        let issuer = key.issuer.clone();
        let part = self.crl_partition_for_next(&key);
        let part_urls = (part > 0).then(|| self.urls(&key.label, part));
        let mut attempts = 0;
        let token = loop {
            attempts += 1;
            let token = issuer
                .prepare_with_urls(
                    &profile,
                    &req,
                    SystemTime::now(),
                    part_urls.as_ref().unwrap_or(issuer.urls()),
                )
                .map_err(|e| {
                    self.metrics.refused.inc();
                    AppError::from(e)
                })?;
            let tbs_hash = sealpki_pki::alg::sha256_hex(token.tbs_der());
            let detail = json!({"serial": token.serial_hex(), "ca": ca, "profile": profile_name,
                                "subject": token.subject(), "tbs_sha256": tbs_hash});
            let cert = PendingCert {
                serial: token.serial_hex().into(),
                ca: ca.clone(),
                ca_key: key.label.clone(),
                crl_part: part,
                profile: profile_name.into(),
                subject: token.subject(),
                not_before: unix(token.not_before()),
                not_after: unix(token.not_after()),
                tbs: token.tbs_der().to_vec(),
                requested_by: actor.into(),
            };
            match self
                .committer
                .commit(Record::Intent {
                    cert,
                    actor: actor.into(),
                    detail,
                })
                .await
            {
                Err(crate::store::StoreError::Conflict(_)) if attempts < 3 => continue, // serial collision: new serial
                other => other?,
            }
            break token;
        };
        let serial = token.serial_hex().to_string();
        let signer_issuer = issuer.clone();
        let signed = tokio::task::spawn_blocking(move || signer_issuer.issue(token))
            .await
            .map_err(|e| AppError::Internal(format!("signing task: {e}")))?;
        let issued = match signed {
            Ok(i) => i,
            Err(e) => {
                let detail = json!({"serial": serial, "error": e.to_string()});
                self.committer
                    .commit(Record::Audit {
                        actor: actor.into(),
                        action: "certificate.sign_failed",
                        detail,
                    })
                    .await?;
                return Err(e.into());
            }
        };
        let detail = json!({"serial": serial, "sha256": issued.fingerprint});
        self.committer
            .commit(Record::Issued {
                serial: serial.clone(),
                der: issued.der.clone(),
                fingerprint: issued.fingerprint.clone(),
                actor: actor.into(),
                detail,
            })
            .await?;
        self.metrics.issued.inc();
        self.metrics.issue_latency.observe(started.elapsed());
        Ok(IssuedCert {
            serial,
            ca: ca.clone(),
            profile: profile_name.to_string(),
            fingerprint: issued.fingerprint,
            der: issued.der,
            chain: self.key_chain(&key.label)?,
        })
    }

    /// The CRL partition the next certificate of `key` goes into: partition N holds certificates
    /// N·size … (N+1)·size−1 in recording order, so no CRL grows past about `crl.partition_size`
    /// entries. Counts are per instance between reloads; partitions bound size, they need not be exact.
    fn crl_partition_for_next(&self, key: &CaKey) -> i64 {
        let size = self.config.crl.partition_size as i64;
        let n = key
            .recorded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if size == 0 {
            0
        } else {
            n / size
        }
    }

    /// Bring the per-key certificate counts up to what other instances recorded.
    pub async fn sync_key_counts(&self) -> Result<(), AppError> {
        for k in self.ca_keys() {
            let stored = self.store.cert_count_by_key(&k.label).await?;
            k.recorded
                .fetch_max(stored, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// A certificate request for a key held in one of our key stores. Only keys made with
    /// `keys generate` (purposes seal, maker, general) qualify: CA, TSA, OCSP and audit keys are
    /// never re-certified.
    pub async fn request_for_stored_key(
        &self,
        key: &str,
        subject: &str,
        dns: &[String],
    ) -> Result<CertRequest, AppError> {
        let key_ref: KeyRef = key.parse()?;
        let recorded = self.store.key_get(&key_ref.to_string()).await?;
        match recorded {
            None => {
                return Err(AppError::NotFound(format!(
                    "key {key_ref} is not registered (make it with `sealpki keys generate`)"
                )))
            }
            Some(k) if k.purpose.is_authority() => {
                return Err(AppError::Policy(format!(
                    "key {key_ref} is reserved for {}",
                    k.purpose
                )))
            }
            Some(_) => {}
        }
        let signer = self.keyring.open(&key_ref)?;
        let name = sealpki_pki::name::parse_dn(subject)
            .map_err(|e| AppError::BadRequest(format!("subject: {e}")))?;
        let req = CertRequest::for_own_key(signer.as_ref(), name);
        if dns.is_empty() {
            return Ok(req);
        }
        let names: Vec<&str> = dns.iter().map(String::as_str).collect();
        Ok(req.with_dns_names(&names)?)
    }
}
