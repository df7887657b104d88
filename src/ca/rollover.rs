//! CA key rollover: a new key for an issuing CA, certified by its parent under the same subject, takes
//! over issuing; the old key stops issuing but keeps publishing CRLs and answering OCSP (through its
//! own delegated responder) for what it signed, so both chains verify while their certificates live.

use std::sync::Arc;
use std::time::SystemTime;

use sealpki_pki::der::{Decode, Encode};
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::{CertRequest, Issuer};
use serde_json::json;

use crate::app::App;
use crate::ca::ceremony::record_cert;
use crate::error::AppError;
use crate::store::{CaRow, KeyPurpose, KeyRow, Store};

/// What a rollover made.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RolloverReport {
    pub ca: String,
    pub old_label: String,
    pub label: String,
    pub generation: i64,
    pub serial: String,
    pub sha256: String,
    pub key: String,
    pub ocsp_serial: String,
}

/// A key made for the rollover, with where it lives and what it is for.
struct NewKey {
    signer: Arc<dyn sealpki_pki::Signer>,
    backend: String,
    purpose: KeyPurpose,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    /// Roll CA `name` over to a new key of the same algorithm, in the same key store.
    pub async fn rollover(
        self: &Arc<Self>,
        actor: &str,
        name: &str,
    ) -> Result<RolloverReport, AppError> {
        if name == "root" {
            return Err(AppError::Policy(
                "the root is a trust anchor: a new root comes from a new key ceremony (`sealpki init --force`), not a rollover".into(),
            ));
        }
        let old = self.issuing_key(name)?;
        let parent_name = self
            .parent_of(name)
            .ok_or_else(|| AppError::Internal(format!("CA {name} has no parent")))?;
        let parent = self.issuing_key(&parent_name)?;
        let profiles = self.profiles()?;
        let recorded = self.store.key_list().await?;
        let backend_of = |key_ref: &str| {
            recorded
                .iter()
                .find(|k| k.key_ref == key_ref)
                .map(|k| k.backend.clone())
                .ok_or_else(|| AppError::Internal(format!("key {key_ref} is not recorded")))
        };
        let old_key_ref = old.issuer.signer().key_ref().to_string();
        let ca_backend = backend_of(&old_key_ref)?;
        // The old key's OCSP responder sets the new one's algorithm, store and subject.
        let (responder_backend, responder_alg, responder_subject) = match self.responder(&old.label)
        {
            Some(r) => (
                backend_of(&r.responder.signer.key_ref().to_string())?,
                r.responder.signer.algorithm(),
                r.responder.cert.tbs_certificate.subject.clone(),
            ),
            None => (
                ca_backend.clone(),
                old.issuer.signer().algorithm(),
                sealpki_pki::name::parse_dn(&format!("CN=sealpki {name} CA OCSP Responder"))
                    .map_err(internal)?,
            ),
        };
        let generation = self.store.ca_next_generation().await?;
        let label = format!("{name}-g{generation}");

        // Key generation and signing off the async executor (RSA and tokens are slow).
        let app = self.clone();
        let (old2, parent2, label2) = (old.clone(), parent.clone(), label.clone());
        let ca_backend2 = ca_backend.clone();
        let name2 = name.to_string();
        let (ca_key, ca_cert, ocsp_key, ocsp_issued, new_issuer) =
            tokio::task::spawn_blocking(move || -> Result<_, AppError> {
                let now = SystemTime::now();
                let alg = old2.issuer.signer().algorithm();
                let signer = app
                    .keyring
                    .store(&ca_backend2)?
                    .generate(&format!("{name2}-ca-g{generation}"), alg)?;
                let old_cert = old2.issuer.certificate();
                let mut req = CertRequest::for_own_key(
                    signer.as_ref(),
                    old_cert.tbs_certificate.subject.clone(),
                );
                // The same lifetime as the old key's certificate, unless the parent ends sooner
                // (then the profile default, cut to the parent's end).
                let v = &old_cert.tbs_certificate.validity;
                let days = v
                    .not_after
                    .to_system_time()
                    .duration_since(v.not_before.to_system_time())
                    .map(|d| (d.as_secs() / 86_400) as u32)
                    .unwrap_or(0);
                let fits = now + std::time::Duration::from_secs(u64::from(days) * 86_400)
                    < parent2.issuer.not_after();
                if days > 0 && fits {
                    req = req.with_validity_days(days);
                }
                let issued = parent2.issuer.issue(parent2.issuer.prepare(
                    profiles.get("sub-ca")?,
                    &req,
                    now,
                )?)?;
                let new_issuer = Issuer::new(
                    &name2,
                    issued.der.clone(),
                    signer.clone(),
                    old2.issuer.scheme(),
                    app.urls(&label2, 0),
                )?;
                let ocsp_signer = app
                    .keyring
                    .store(&responder_backend)?
                    .generate(&format!("ocsp-{name2}-g{generation}"), responder_alg)?;
                let req = CertRequest::for_own_key(ocsp_signer.as_ref(), responder_subject);
                let ocsp_issued = new_issuer.issue(new_issuer.prepare(
                    profiles.get("ocsp-responder")?,
                    &req,
                    now,
                )?)?;
                Ok((
                    NewKey {
                        signer,
                        backend: ca_backend2,
                        purpose: KeyPurpose::Ca(name2.clone()),
                    },
                    issued,
                    NewKey {
                        signer: ocsp_signer,
                        backend: responder_backend,
                        purpose: KeyPurpose::Ocsp(label2.clone()),
                    },
                    ocsp_issued,
                    new_issuer,
                ))
            })
            .await
            .map_err(|e| AppError::Internal(format!("rollover task: {e}")))??;

        // One transaction: a crash leaves the old key issuing, or the new one with its responder.
        let ts = crate::store::now();
        let mut tx = self.store.begin().await?;
        let tbs = &new_issuer.certificate().tbs_certificate;
        let serial = sealpki_pki::issue::serial_hex(&tbs.serial_number);
        for k in [&ca_key, &ocsp_key] {
            let spki = k.signer.public_key().to_der().map_err(internal)?;
            self.audit
                .append(&mut tx, actor, "key.generate", json!({"key": k.signer.key_ref().to_string(),
                    "algorithm": k.signer.algorithm().name(), "backend": k.backend, "purpose": k.purpose.to_string(),
                    "spki_sha256": sealpki_pki::alg::sha256_hex(&spki)}))
                .await?;
        }
        Store::ca_rollover(
            &mut tx,
            &CaRow {
                name: name.into(),
                label: label.clone(),
                generation,
                parent: Some(parent_name.clone()),
                key_ref: ca_key.signer.key_ref().to_string(),
                scheme: new_issuer.scheme().name().into(),
                cert_der: ca_cert.der.clone(),
                serial: serial.clone(),
                active: true,
                serving: true,
                created_at: ts,
            },
        )
        .await?;
        record_cert(
            &mut tx,
            tbs,
            &ca_cert.der,
            &serial,
            &ca_cert.fingerprint,
            &parent_name,
            &parent.label,
            "sub-ca",
            actor,
        )
        .await?;
        let ocsp_cert = Certificate::from_der(&ocsp_issued.der).map_err(internal)?;
        record_cert(
            &mut tx,
            &ocsp_cert.tbs_certificate,
            &ocsp_issued.der,
            &ocsp_issued.serial_hex,
            &ocsp_issued.fingerprint,
            name,
            &label,
            "ocsp-responder",
            actor,
        )
        .await?;
        for (k, cert_serial) in [(&ca_key, &serial), (&ocsp_key, &ocsp_issued.serial_hex)] {
            Store::key_insert(
                &mut tx,
                &KeyRow {
                    key_ref: k.signer.key_ref().to_string(),
                    algorithm: k.signer.algorithm().name().into(),
                    backend: k.backend.clone(),
                    purpose: k.purpose.clone(),
                    public_key: k.signer.public_key().to_der().map_err(internal)?,
                    cert_serial: Some(cert_serial.clone()),
                    created_at: ts,
                },
            )
            .await?;
        }
        self.audit
            .append(
                &mut tx,
                actor,
                "certificate.issue",
                json!({"serial": ocsp_issued.serial_hex, "ca": name, "ca_key": label,
                       "profile": "ocsp-responder", "sha256": ocsp_issued.fingerprint}),
            )
            .await?;
        self.audit
            .append(
                &mut tx,
                actor,
                "ca.rollover",
                json!({"ca": name, "generation": generation, "old_label": old.label, "label": label,
                       "serial": serial, "sha256": ca_cert.fingerprint,
                       "subject": tbs.subject.to_string()}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.reload().await?;
        self.ocsp_cache.clear();
        // The new key's first CRLs, so its distribution points answer at once.
        self.publish_crl(&label, 0, true).await?;
        self.publish_crl(&label, 0, false).await?;
        Ok(RolloverReport {
            ca: name.into(),
            old_label: old.label.clone(),
            label,
            generation,
            serial,
            sha256: ca_cert.fingerprint,
            key: ca_key.signer.key_ref().to_string(),
            ocsp_serial: ocsp_issued.serial_hex,
        })
    }
}
