//! The platform's own maker key: GB/T 38540 seals made by this platform are signed by it, under a
//! `maker-production` certificate from the maker CA. Made on first use in the seal key store and
//! registered (purpose maker) with its certificate; later uses open it.

use std::sync::Arc;

use sealpki_pki::{CertRequest, KeyAlgorithm, KeyRef, Signer};
use serde_json::json;

use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::store::{CertStatusRow, KeyPurpose, KeyRow, Store};

/// The maker key's name in the seal key store.
pub const MAKER_KEY: &str = "platform-maker";

/// One maker made at a time in this process (another instance racing us loses at the key
/// registration's primary key and opens the winner's).
static MAKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The maker's signer and certificate (DER).
pub struct Maker {
    pub signer: Arc<dyn Signer>,
    pub cert: Vec<u8>,
}

impl App {
    fn maker_ref(&self) -> Result<KeyRef, AppError> {
        let store = &self.config.seals.key_store;
        let s = match store.strip_prefix("pkcs11:") {
            Some(label) => format!("pkcs11:token={label};object={MAKER_KEY}"),
            None => format!("soft:{MAKER_KEY}"),
        };
        Ok(s.parse()?)
    }

    /// The platform's maker key and certificate, made on first use.
    pub async fn platform_maker(self: &Arc<Self>) -> Result<Maker, AppError> {
        let key_ref = self.maker_ref()?;
        if let Some(m) = self.registered_maker(&key_ref).await? {
            return Ok(m);
        }
        let _one = MAKING.lock().await;
        if let Some(m) = self.registered_maker(&key_ref).await? {
            return Ok(m);
        }
        let store = self.keyring.store(&self.config.seals.key_store)?;
        let signer = match store.generate(MAKER_KEY, KeyAlgorithm::P256) {
            Ok(s) => s,
            // Made by an earlier attempt that did not get as far as registering it.
            Err(sealpki_pki::KeyError::Exists(_)) => self.keyring.open(&key_ref)?,
            Err(e) => return Err(e.into()),
        };
        let name =
            sealpki_pki::name::parse_dn("CN=sealpki electronic seal platform,O=sealpki,C=CN")
                .map_err(|e| AppError::Internal(format!("maker subject: {e}")))?;
        let req = CertRequest::for_own_key(signer.as_ref(), name);
        let actor = Actor::system();
        let issued = self
            .issue(&actor.name, "maker-production", req, None)
            .await?;
        let spki = sealpki_pki::der::Encode::to_der(signer.public_key())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        Store::key_insert(
            &mut tx,
            &KeyRow {
                key_ref: key_ref.to_string(),
                algorithm: KeyAlgorithm::P256.name().into(),
                backend: store.backend().into(),
                purpose: KeyPurpose::Maker,
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
                json!({"key": key_ref.to_string(), "algorithm": "p256", "purpose": "maker",
                       "certificate": issued.serial,
                       "spki_sha256": sealpki_pki::alg::sha256_hex(&spki)}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(Maker {
            signer,
            cert: issued.der,
        })
    }

    async fn registered_maker(&self, key_ref: &KeyRef) -> Result<Option<Maker>, AppError> {
        let Some(row) = self.store.key_get(&key_ref.to_string()).await? else {
            return Ok(None);
        };
        let serial = row
            .cert_serial
            .ok_or_else(|| AppError::Internal(format!("maker key {key_ref} has no certificate")))?;
        let cert = self
            .store
            .cert_get(&serial)
            .await?
            .and_then(|c| c.der.map(|d| (c.ca_key, d)))
            .ok_or_else(|| AppError::Internal(format!("maker certificate {serial} missing")))?;
        if !matches!(
            self.store.cert_status(&cert.0, &serial).await?,
            CertStatusRow::Good
        ) {
            return Err(AppError::Unavailable(format!(
                "the platform's maker certificate {serial} is revoked or on hold: no seal can \
                 be made until an administrator replaces the maker key"
            )));
        }
        Ok(Some(Maker {
            signer: self.keyring.open(key_ref)?,
            cert: cert.1,
        }))
    }
}
