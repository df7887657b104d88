//! The platform's own keys for seals, made on first use in the seal key store and registered with
//! their certificates: the maker key (GB/T 38540 seals made by this platform are signed by it, under
//! a `maker-production` certificate from the maker CA), the seal-status signer (signed seal
//! status assertions, a `seal-status-signer` certificate from the service CA) and the grant
//! signer (signed app authorizations, a `credential-signer` certificate from the service CA with
//! EKU sealpkiGrant) and the evidence signer (the platform's own PDF documents — the apps'
//! evidence reports —, a `platform-document-signer` certificate from the service CA; a document
//! key, so it signs only through the signing service, whose purpose checks apply).

use std::sync::Arc;

use sealpki_pki::{CertRequest, KeyAlgorithm, KeyRef, Signer};
use serde_json::json;

use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::store::{CertStatusRow, KeyPurpose, KeyRow, Store};

/// One of the platform's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformKey {
    Maker,
    StatusSigner,
    /// Signs grants of authority (app authorizations): kept apart from the status signer, which
    /// answers every verifier online.
    GrantSigner,
    /// Signs the platform's own PDF documents (evidence reports) at PAdES B-T.
    EvidenceSigner,
}

impl PlatformKey {
    pub const ALL: [PlatformKey; 4] = [
        PlatformKey::Maker,
        PlatformKey::StatusSigner,
        PlatformKey::GrantSigner,
        PlatformKey::EvidenceSigner,
    ];
}

impl PlatformKey {
    fn name(self) -> &'static str {
        match self {
            PlatformKey::Maker => "platform-maker",
            PlatformKey::StatusSigner => "platform-seal-status",
            PlatformKey::GrantSigner => "platform-grant-signer",
            PlatformKey::EvidenceSigner => "platform-evidence-signer",
        }
    }

    fn profile(self) -> &'static str {
        match self {
            PlatformKey::Maker => "maker-production",
            PlatformKey::StatusSigner => "seal-status-signer",
            PlatformKey::GrantSigner => "credential-signer",
            PlatformKey::EvidenceSigner => "platform-document-signer",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            PlatformKey::Maker => "CN=sealpki electronic seal platform,O=sealpki,C=CN",
            PlatformKey::StatusSigner => "CN=sealpki seal status,O=sealpki,C=CN",
            PlatformKey::GrantSigner => "CN=sealpki grants,O=sealpki,C=CN",
            PlatformKey::EvidenceSigner => "CN=sealpki evidence reports,O=sealpki,C=CN",
        }
    }

    fn purpose(self) -> KeyPurpose {
        match self {
            PlatformKey::Maker => KeyPurpose::Maker,
            // A document key: it signs PDFs, through the signing service only.
            PlatformKey::EvidenceSigner => KeyPurpose::Seal,
            // Not a document or seal key: the signing service refuses it for both.
            PlatformKey::StatusSigner | PlatformKey::GrantSigner => KeyPurpose::General,
        }
    }
}

/// One key made at a time in this process (another instance racing us loses at the key
/// registration's primary key and opens the winner's).
static MAKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A platform key's signer, certificate (DER) and the issuing CA's chain (issuer first).
pub struct Keyed {
    pub signer: Arc<dyn Signer>,
    pub cert: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

impl App {
    fn platform_ref(&self, k: PlatformKey) -> Result<KeyRef, AppError> {
        let store = &self.config.seals.key_store;
        let s = match store.strip_prefix("pkcs11:") {
            Some(label) => format!("pkcs11:token={label};object={}", k.name()),
            None => format!("soft:{}", k.name()),
        };
        Ok(s.parse()?)
    }

    /// The platform's maker key and certificate, made on first use.
    pub async fn platform_maker(self: &Arc<Self>) -> Result<Keyed, AppError> {
        self.platform_key(PlatformKey::Maker).await
    }

    /// The platform's key `k`, made and certified on first use.
    pub async fn platform_key(self: &Arc<Self>, k: PlatformKey) -> Result<Keyed, AppError> {
        let key_ref = self.platform_ref(k)?;
        if let Some(m) = self.registered(&key_ref).await? {
            return Ok(m);
        }
        let _one = MAKING.lock().await;
        if let Some(m) = self.registered(&key_ref).await? {
            return Ok(m);
        }
        let store = self.keyring.store(&self.config.seals.key_store)?;
        let signer = match store.generate(k.name(), KeyAlgorithm::P256) {
            Ok(s) => s,
            // Made by an earlier attempt that did not get as far as registering it.
            Err(sealpki_pki::KeyError::Exists(_)) => self.keyring.open(&key_ref)?,
            Err(e) => return Err(e.into()),
        };
        let name = sealpki_pki::name::parse_dn(k.subject())
            .map_err(|e| AppError::Internal(format!("{} subject: {e}", k.name())))?;
        let req = CertRequest::for_own_key(signer.as_ref(), name);
        let actor = Actor::system();
        let issued = self.issue(&actor.name, k.profile(), req, None).await?;
        let spki = sealpki_pki::der::Encode::to_der(signer.public_key())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        Store::key_insert(
            &mut tx,
            &KeyRow {
                key_ref: key_ref.to_string(),
                algorithm: KeyAlgorithm::P256.name().into(),
                backend: store.backend().into(),
                purpose: k.purpose(),
                public_key: spki.clone(),
                cert_serial: Some(issued.serial.clone()),
                created_at: crate::store::now(),
            },
        )
        .await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "key.generate",
                json!({"key": key_ref.to_string(), "algorithm": "p256",
                       "purpose": k.purpose().to_string(), "profile": k.profile(),
                       "certificate": issued.serial,
                       "spki_sha256": sealpki_pki::alg::sha256_hex(&spki)}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(Keyed {
            signer,
            cert: issued.der,
            chain: issued.chain,
        })
    }

    /// Platform key `k` opened by the signing service for `use_` — its purpose, certificate
    /// (issued, not revoked or held, within its validity) and chain checked there —, made on
    /// first use.
    pub async fn platform_signing_key(
        self: &Arc<Self>,
        k: PlatformKey,
        use_: crate::signing::Use,
    ) -> Result<crate::signing::SigningKey, AppError> {
        use sealpki_pki::der::Decode;
        let keyed = self.platform_key(k).await?;
        let cert = sealpki_pki::x509_cert::Certificate::from_der(&keyed.cert)
            .map_err(|e| AppError::Internal(format!("{} certificate: {e}", k.name())))?;
        let serial = sealpki_pki::issue::serial_hex(&cert.tbs_certificate.serial_number);
        if cert.tbs_certificate.validity.not_after.to_system_time() < std::time::SystemTime::now() {
            return Err(AppError::Unavailable(format!(
                "the platform's certificate {serial} for {} has expired: an administrator must \
                 replace the key",
                k.name()
            )));
        }
        self.open_signing_key(
            &self.platform_ref(k)?.to_string(),
            crate::signing::CertChoice::Serial(serial),
            use_,
        )
        .await
    }

    async fn registered(&self, key_ref: &KeyRef) -> Result<Option<Keyed>, AppError> {
        let Some(row) = self.store.key_get(&key_ref.to_string()).await? else {
            return Ok(None);
        };
        let serial = row.cert_serial.ok_or_else(|| {
            AppError::Internal(format!("platform key {key_ref} has no certificate"))
        })?;
        let cert = self
            .store
            .cert_get(&serial)
            .await?
            .and_then(|c| c.der.map(|d| (c.ca_key, d)))
            .ok_or_else(|| AppError::Internal(format!("platform certificate {serial} missing")))?;
        if !matches!(
            self.store.cert_status(&cert.0, &serial).await?,
            CertStatusRow::Good
        ) {
            return Err(AppError::Unavailable(format!(
                "the platform's certificate {serial} for {key_ref} is revoked or on hold: an \
                 administrator must replace the key"
            )));
        }
        Ok(Some(Keyed {
            signer: self.keyring.open(key_ref)?,
            chain: self.key_chain(&cert.0)?,
            cert: cert.1,
        }))
    }
}

/// A platform key as the operators' pages and `GET /api/v1/platform-keys` show it (never made:
/// no reference, no certificate, status `not-made`).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlatformKeyView {
    /// platform-maker, platform-seal-status, platform-grant-signer or platform-evidence-signer.
    pub name: &'static str,
    /// The certificate profile it is certified under.
    pub profile: &'static str,
    pub key_ref: Option<String>,
    pub cert_serial: Option<String>,
    /// Unix seconds.
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// not-made, good, held, revoked, expired or unknown.
    pub status: &'static str,
    /// The revocation reason, when revoked or held.
    pub reason: Option<String>,
}

impl App {
    /// The platform's keys and their certificates' status, for platform staff (`seals.produce`);
    /// read only: nothing is made here.
    pub async fn platform_keys(&self, actor: &Actor) -> Result<Vec<PlatformKeyView>, AppError> {
        let p = self.principal(actor).await?;
        crate::accounts::policy::may(
            &p,
            crate::accounts::policy::Action::ProduceSeal,
            crate::accounts::policy::Resource::Platform,
        )?;
        let mut out = Vec::new();
        for k in PlatformKey::ALL {
            let key_ref = self.platform_ref(k)?.to_string();
            let mut v = PlatformKeyView {
                name: k.name(),
                profile: k.profile(),
                key_ref: None,
                cert_serial: None,
                not_before: None,
                not_after: None,
                status: "not-made",
                reason: None,
            };
            if let Some(row) = self.store.key_get(&key_ref).await? {
                v.key_ref = Some(key_ref);
                if let Some(serial) = row.cert_serial {
                    if let Some(c) = self.store.cert_get(&serial).await? {
                        v.not_before = Some(c.not_before);
                        v.not_after = Some(c.not_after);
                        v.status = match self.store.cert_status(&c.ca_key, &serial).await? {
                            CertStatusRow::Revoked { reason, .. } => {
                                let held = reason
                                    == sealpki_pki::revocation::Reason::CertificateHold.name();
                                v.reason = Some(reason);
                                if held {
                                    "held"
                                } else {
                                    "revoked"
                                }
                            }
                            CertStatusRow::Unknown => "unknown",
                            _ if c.not_after < crate::store::now() => "expired",
                            _ => "good",
                        };
                    }
                    v.cert_serial = Some(serial);
                }
            }
            out.push(v);
        }
        Ok(out)
    }
}
