//! Production: a seal's key (non-extractable, in the seal key store), its certificate from the
//! seal CA (`seal-signing`), and its GB/T 38540 v4 structure signed by the platform's maker key,
//! listing that certificate. A production that fails midway undoes what it made: the certificate
//! is revoked (cessationOfOperation) and the key destroyed and forgotten, so nothing half-made
//! remains usable.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sealpki_pki::ses::{self, CertList, Picture, Seal, SealInfo, Version};
use sealpki_pki::{CertRequest, KeyAlgorithm, KeyRef};

use super::picture::SealPicture;
use crate::access::Actor;
use crate::accounts::orgs::Organisation;
use crate::app::App;
use crate::error::AppError;
use crate::store::{KeyPurpose, KeyRow, Store};

/// What production makes for one seal period.
pub struct Material {
    /// The `seal_productions` row, ended in the transaction that registers the key.
    pub production: String,
    pub key_ref: KeyRef,
    pub key_row: KeyRow,
    pub serial: String,
    pub cert: Vec<u8>,
    pub ses: Vec<u8>,
    pub valid_from: i64,
    pub valid_until: i64,
}

/// A certificate and the seal structure listing it, for a key wherever it lives.
pub struct Certified {
    pub serial: String,
    pub cert: Vec<u8>,
    /// The issuing CA's chain, DER, issuing CA first.
    pub chain: Vec<Vec<u8>>,
    pub ses: Vec<u8>,
    pub valid_from: i64,
    pub valid_until: i64,
}

/// What the certificate and structure say.
pub struct Spec<'a> {
    /// The application the seal comes from (its first production, a reissue or a renewal).
    pub application_id: &'a str,
    pub code: &'a str,
    pub seal_name: &'a str,
    pub seal_type: super::SealType,
    pub years: u32,
    pub org: &'a Organisation,
    pub picture: &'a SealPicture,
}

/// An RFC 4514 attribute value with its special characters escaped.
pub(crate) fn dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') || (i == 0 && c == '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// The reference a key named `name` gets in the store `backend` (`[seals] key_store`) names.
fn key_ref_in(backend: &str, name: &str) -> Result<KeyRef, AppError> {
    match backend.strip_prefix("pkcs11:") {
        Some(token) => Ok(KeyRef::Pkcs11 {
            token: token.to_string(),
            object: name.to_string(),
        }),
        None if backend == "software" || backend == "soft" => Ok(KeyRef::Software {
            name: name.to_string(),
        }),
        None => Err(AppError::Internal(format!(
            "[seals] key_store {backend:?}: software or pkcs11:TOKEN_LABEL"
        ))),
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl App {
    /// Make a key, certificate and seal structure for `spec`. On failure nothing it made stays.
    pub async fn make_material(
        self: &Arc<Self>,
        actor: &Actor,
        spec: &Spec<'_>,
    ) -> Result<Material, AppError> {
        let alg: KeyAlgorithm = self
            .config
            .seals
            .algorithm
            .parse()
            .map_err(|e| AppError::Internal(format!("[seals] algorithm: {e}")))?;
        let mut rnd = [0u8; 6];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
        let name = format!("seal-{}-{}", spec.code, hex::encode(rnd));
        let key_ref = key_ref_in(&self.config.seals.key_store, &name)?;
        let production = self
            .production_begin(spec.code, Some(&key_ref), spec.application_id)
            .await?;
        let app = self.clone();
        let key_name = name.clone();
        let generated = tokio::task::spawn_blocking(move || {
            app.keyring
                .store(&app.config.seals.key_store)?
                .generate(&key_name, alg)
        })
        .await
        .map_err(|e| AppError::Internal(format!("key generation task: {e}")));
        let signer = match generated {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.undo_material(&key_ref, None, &production, "key generation failed")
                    .await;
                return Err(e.into());
            }
            Err(e) => {
                self.undo_material(&key_ref, None, &production, "key generation failed")
                    .await;
                return Err(e);
            }
        };
        match self.certify(actor, spec, signer, alg, &production).await {
            Ok(m) => {
                crate::failpoint::hit("seal-production-certified");
                Ok(m)
            }
            Err((e, serial)) => {
                self.undo_material(
                    &key_ref,
                    serial.as_deref(),
                    &production,
                    "production failed",
                )
                .await;
                Err(e)
            }
        }
    }

    /// Record a production before anything exists, so a crash leaves a trail
    /// (`recover_productions`).
    pub(crate) async fn production_begin(
        &self,
        code: &str,
        key_ref: Option<&KeyRef>,
        application_id: &str,
    ) -> Result<String, AppError> {
        let id = crate::jobs::new_id();
        self.store
            .production_insert(&crate::store::ProductionRow {
                id: id.clone(),
                seal_code: code.to_string(),
                key_ref: key_ref.map(|k| k.to_string()),
                application_id: application_id.to_string(),
                started_at: crate::store::now(),
            })
            .await?;
        Ok(id)
    }

    /// Undo what productions that started more than `[seals] production_grace_seconds` before
    /// `now` and never finished left behind — a process killed between the key and the seal record: certificates
    /// made for their seal codes and used by no seal are revoked (cessationOfOperation), their
    /// keys destroyed. Returns how many were recovered.
    pub async fn recover_productions(&self, now: i64) -> Result<usize, AppError> {
        let rows = self
            .store
            .productions_started_before(now.saturating_sub(
                i64::try_from(self.config.seals.production_grace_seconds).unwrap_or(i64::MAX),
            ))
            .await?;
        for r in &rows {
            let serials = self.store.seal_certs_unattached(&r.seal_code).await?;
            for serial in &serials {
                self.revoke_unused(serial, "seal production interrupted")
                    .await?;
            }
            if let Some(k) = &r.key_ref {
                let key: KeyRef = k.parse().map_err(|e| {
                    crate::store::StoreError::Corrupt(format!("production {}: {e}", r.id))
                })?;
                match self.keyring.destroy(&key) {
                    Ok(()) | Err(sealpki_pki::KeyError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                self.store.key_delete(k).await?;
            }
            let mut tx = self.store.begin().await?;
            Store::production_end(&mut tx, &r.id).await?;
            self.audit
                .append(
                    &mut tx,
                    "system",
                    "seal.production-recovered",
                    serde_json::json!({"application": r.application_id, "code": r.seal_code,
                                       "key": r.key_ref, "certificates": serials,
                                       "started_at": r.started_at}),
                )
                .await?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
            tracing::warn!(application = %r.application_id, code = %r.seal_code,
                           "an interrupted seal production was undone");
        }
        Ok(rows.len())
    }

    async fn certify(
        self: &Arc<Self>,
        actor: &Actor,
        spec: &Spec<'_>,
        signer: Arc<dyn sealpki_pki::Signer>,
        alg: KeyAlgorithm,
        production: &str,
    ) -> Result<Material, (AppError, Option<String>)> {
        let c = self
            .certify_key(actor, spec, |name, days| {
                CertRequest::for_own_key(signer.as_ref(), name).with_validity_days(days)
            })
            .await?;
        let spki = sealpki_pki::der::Encode::to_der(signer.public_key())
            .map_err(|e| (AppError::Internal(e.to_string()), Some(c.serial.clone())))?;
        let backend = match signer.key_ref() {
            KeyRef::Software { .. } => "software",
            KeyRef::Pkcs11 { .. } => "pkcs11",
        };
        Ok(Material {
            production: production.to_string(),
            key_ref: signer.key_ref().clone(),
            key_row: KeyRow {
                key_ref: signer.key_ref().to_string(),
                algorithm: alg.name().into(),
                backend: backend.into(),
                purpose: KeyPurpose::Seal,
                public_key: spki,
                cert_serial: Some(c.serial.clone()),
                created_at: crate::store::now(),
            },
            serial: c.serial,
            cert: c.cert,
            ses: c.ses,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
        })
    }

    /// The part of production shared by cloud and UKey seals: the `seal-signing` certificate for
    /// the key `request` names, under the subject we choose for `spec` (CN seal name, O, C,
    /// organizationIdentifier NTRCN-credit code, serialNumber = seal code), then the GB/T 38540
    /// structure listing it, made by the platform maker. On failure after issuance, the serial
    /// comes back with the error so the caller can revoke it.
    pub(crate) async fn certify_key(
        self: &Arc<Self>,
        actor: &Actor,
        spec: &Spec<'_>,
        request: impl FnOnce(sealpki_pki::x509_cert::name::Name, u32) -> CertRequest,
    ) -> Result<Certified, (AppError, Option<String>)> {
        let subject = format!(
            "CN={},O={},C=CN,organizationIdentifier=NTRCN-{},serialNumber={}",
            dn_value(spec.seal_name),
            dn_value(&spec.org.name),
            spec.org.credit_code,
            spec.code
        );
        let name = sealpki_pki::name::parse_dn(&subject)
            .map_err(|e| (AppError::BadRequest(format!("seal subject: {e}")), None))?;
        let days = spec.years.saturating_mul(365) + spec.years / 2;
        let issued = self
            .issue(&actor.name, "seal-signing", request(name, days), None)
            .await
            .map_err(|e| (e, None))?;
        let serial = issued.serial.clone();
        let fail = |e: AppError| (e, Some(serial.clone()));
        let cert = sealpki_pki::der::Decode::from_der(&issued.der)
            .map_err(|e: sealpki_pki::der::Error| fail(AppError::Internal(e.to_string())))?;
        let cert: sealpki_pki::x509_cert::Certificate = cert;
        let v = &cert.tbs_certificate.validity;
        let (from, until) = (v.not_before.to_system_time(), v.not_after.to_system_time());
        let maker = self.platform_maker().await.map_err(fail)?;
        let info = SealInfo {
            header_version: 4,
            vendor_id: ses::VENDOR_ID.into(),
            es_id: spec.code.to_string(),
            seal_type: spec.seal_type.ses_type(),
            name: spec.seal_name.to_string(),
            certs: CertList::Certs(vec![issued.der.clone()]),
            create_date: SystemTime::now(),
            valid_start: from,
            valid_end: until.min(from + Duration::from_secs(u64::from(days) * 86_400)),
            picture: Picture {
                kind: "PNG".into(),
                data: spec.picture.png.clone(),
                width_mm: spec.picture.width_mm,
                height_mm: spec.picture.height_mm,
            },
            ext_datas: None,
        };
        let seal = Seal::make(Version::V4, info, &maker.cert, &maker.signer)
            .map_err(|e| fail(AppError::Internal(format!("seal structure: {e}"))))?;
        Ok(Certified {
            serial: issued.serial,
            cert: issued.der,
            chain: issued.chain,
            ses: seal.der,
            valid_from: unix(from),
            valid_until: unix(until),
        })
    }

    /// Undo a production: revoke the certificate if one was made, destroy and forget the key.
    /// Best effort — each step is logged when it fails; an operator sees the revoked certificate.
    pub async fn undo_material(
        &self,
        key: &KeyRef,
        serial: Option<&str>,
        production: &str,
        why: &str,
    ) {
        if let Some(serial) = serial {
            if let Err(e) = self.revoke_unused(serial, why).await {
                tracing::error!(serial, error = %e, "undoing a seal production: revoke");
            }
        }
        if let Err(e) = self.keyring.destroy(key) {
            tracing::error!(key = %key, error = %e, "undoing a seal production: destroy key");
        }
        if let Err(e) = self.store.key_delete(&key.to_string()).await {
            tracing::error!(key = %key, error = %e, "undoing a seal production: forget key");
        }
        // Left in place on failure: the sweep then finds it and tries again.
        if let Err(e) = self.store.production_forget(production).await {
            tracing::error!(production, error = %e, "undoing a seal production: forget it");
        }
    }

    /// Revoke a certificate that was made but never put to use (cessationOfOperation).
    pub(crate) async fn revoke_unused(&self, serial: &str, why: &str) -> Result<(), AppError> {
        let row = self
            .store
            .cert_get(serial)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no certificate {serial}")))?;
        let mut tx = self.store.begin().await?;
        self.write_status(
            &mut tx,
            "system",
            &row,
            Some(sealpki_pki::revocation::Reason::CessationOfOperation),
            Some(why),
        )
        .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        self.after_status_change(&row.ca_key, row.crl_part).await
    }

    /// Register a produced key in `tx` (with the seal row that uses it).
    pub(crate) async fn register_material(
        tx: &mut crate::store::Tx<'_>,
        m: &Material,
    ) -> Result<(), AppError> {
        Store::key_insert(tx, &m.key_row).await?;
        Store::production_end(tx, &m.production).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::dn_value;

    #[test]
    fn dn_values_are_escaped() {
        assert_eq!(dn_value("A,B+C"), "A\\,B\\+C");
        assert_eq!(dn_value("#x"), "\\#x");
        assert_eq!(
            dn_value("杭州示例（集团）有限公司"),
            "杭州示例（集团）有限公司"
        );
    }
}
