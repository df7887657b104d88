//! A seal holder's own token (the UKey): opened by label with the PIN its holder gives, a P-256 key
//! generated there (sensitive, non-extractable), a PKCS#10 request made with it, and the seal's
//! certificate, chain and GB/T 38540 structure written back as token objects. The token code itself
//! stays in `pkcs11` (the only cryptoki user); this is the holder's view of it.

use std::path::Path;
use std::sync::Arc;

use der::{Decode, Encode};
use x509_cert::Certificate;

use super::pkcs11::{ObjectKind, StoredObject, TokenConfig, TokenStore};
use super::{KeyError, KeyInfo, KeyStore, Secret, Signer};
use crate::alg::KeyAlgorithm;

/// CKA_APPLICATION of the data objects sealpki writes.
pub const APPLICATION: &str = "sealpki";

/// The label of a seal's certificate and structure on the token.
pub fn seal_label(code: &str) -> String {
    format!("seal:{code}")
}

/// The label of the data object holding a seal's chain (PEM, issuing CA first).
pub fn chain_label(code: &str) -> String {
    format!("chain:{code}")
}

fn receipt_label(application_id: &str) -> String {
    format!("receipt:{application_id}")
}

/// What the holder signs to confirm receipt: a fixed prefix, the application and the server's
/// challenge. The prefix keeps the message from ever being a document's signed attributes (those
/// are DER and start with 0x31), so a receipt cannot be turned into a document signature.
pub fn receipt_message(application_id: &str, challenge: &str) -> Vec<u8> {
    format!("sealpki-ukey-receipt/v1\n{application_id}\n{challenge}").into_bytes()
}

/// One seal found on a token: its key, certificate, chain and structure.
pub struct HolderSeal {
    pub code: String,
    pub signer: Arc<dyn Signer>,
    pub cert: Certificate,
    pub chain: Vec<Certificate>,
    pub ses: Vec<u8>,
}

/// A holder's token.
pub struct HolderToken {
    store: TokenStore,
}

impl HolderToken {
    /// Open token `label` of `module` and log in with `pin` (a wrong PIN is `KeyError::WrongPin`).
    pub fn open(module: &Path, label: &str, pin: Secret) -> Result<Self, KeyError> {
        let store = TokenStore::open(TokenConfig {
            module: module.to_path_buf(),
            label: label.to_string(),
            pin: Some(pin),
            sessions: 1,
        })?;
        Ok(HolderToken { store })
    }

    pub fn label(&self) -> &str {
        self.store.label()
    }

    /// A new P-256 key pair called `name` (sensitive, non-extractable).
    pub fn generate(&self, name: &str) -> Result<Arc<dyn Signer>, KeyError> {
        self.store.generate(name, KeyAlgorithm::P256)
    }

    /// Remove a key made by `generate` (an enrolment the server refused).
    pub fn destroy(&self, signer: &dyn Signer) -> Result<(), KeyError> {
        self.store.destroy(signer.key_ref())
    }

    /// A PKCS#10 request signed by the token key (proof of possession). The server chooses the
    /// certificate's subject, so the request's is a placeholder naming the key.
    pub fn csr(&self, signer: &dyn Signer) -> Result<Vec<u8>, KeyError> {
        let subject = crate::name::parse_dn(&format!("CN={}", signer.key_ref().name()))
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        crate::csr::build(signer, subject, &[])
    }

    /// Write a seal's certificate (paired with key `signer`), chain and structure onto the token.
    pub fn store_seal(
        &self,
        signer: &dyn Signer,
        code: &str,
        cert_der: &[u8],
        chain_pem: &str,
        ses_der: &[u8],
    ) -> Result<(), KeyError> {
        let cert = Certificate::from_der(cert_der)
            .map_err(|e| KeyError::Crypto(format!("seal certificate: {e}")))?;
        if cert.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(KeyError::Crypto(
                "the certificate is not for the token's key".into(),
            ));
        }
        let subject = cert
            .tbs_certificate
            .subject
            .to_der()
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let label = seal_label(code);
        self.store
            .put_certificate(signer.key_ref().name(), &label, cert_der, &subject)?;
        self.store
            .put_data(APPLICATION, &chain_label(code), chain_pem.as_bytes())?;
        self.store.put_data(APPLICATION, &label, ses_der)
    }

    /// Keep the receipt challenge of application `application_id` on the token until receipt
    /// is confirmed (`take_receipt`), so enrolment and confirmation may run apart.
    pub fn put_receipt(
        &self,
        application_id: &str,
        code: &str,
        challenge: &str,
    ) -> Result<(), KeyError> {
        let value = format!("{code}\n{challenge}");
        self.store.put_data(
            APPLICATION,
            &receipt_label(application_id),
            value.as_bytes(),
        )
    }

    /// The (seal code, challenge) kept for `application_id`.
    pub fn receipt(&self, application_id: &str) -> Result<Option<(String, String)>, KeyError> {
        let label = receipt_label(application_id);
        Ok(self
            .objects()?
            .into_iter()
            .find(|o| o.kind == ObjectKind::Data && o.label == label)
            .and_then(|o| {
                let text = String::from_utf8(o.value).ok()?;
                let (code, challenge) = text.split_once('\n')?;
                Some((code.to_string(), challenge.to_string()))
            }))
    }

    /// Forget the challenge of a confirmed receipt.
    pub fn drop_receipt(&self, application_id: &str) -> Result<(), KeyError> {
        self.store.remove_data(&receipt_label(application_id))
    }

    /// The private keys on the token.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.store.list()
    }

    /// The certificates and data objects on the token.
    pub fn objects(&self) -> Result<Vec<StoredObject>, KeyError> {
        self.store.objects()
    }

    /// The seals on the token (a certificate labelled `seal:CODE` with its structure and a key
    /// whose public key the certificate names); `code` picks one.
    pub fn seals(&self, code: Option<&str>) -> Result<Vec<HolderSeal>, KeyError> {
        let objects = self.objects()?;
        let keys = self.keys()?;
        let mut out = Vec::new();
        for o in objects.iter().filter(|o| o.kind == ObjectKind::Certificate) {
            let Some(c) = o.label.strip_prefix("seal:") else {
                continue;
            };
            if code.is_some_and(|want| want != c) {
                continue;
            }
            let data = |label: String| {
                objects
                    .iter()
                    .find(|d| d.kind == ObjectKind::Data && d.label == label)
                    .map(|d| d.value.clone())
            };
            let Some(ses) = data(seal_label(c)) else {
                continue;
            };
            let cert = Certificate::from_der(&o.value)
                .map_err(|e| KeyError::Crypto(format!("certificate {}: {e}", o.label)))?;
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| KeyError::Crypto(e.to_string()))?;
            let Some(k) = keys.iter().find(|k| k.public_key_der == spki) else {
                continue;
            };
            let chain = match data(chain_label(c)) {
                Some(pem) => crate::pem::parse_certs(&pem)
                    .map_err(|e| KeyError::Crypto(format!("chain {c}: {e}")))?
                    .iter()
                    .map(|d| Certificate::from_der(d))
                    .collect::<Result<_, _>>()
                    .map_err(|e| KeyError::Crypto(format!("chain {c}: {e}")))?,
                None => Vec::new(),
            };
            out.push(HolderSeal {
                code: c.to_string(),
                signer: self.store.open(&k.key_ref)?,
                cert,
                chain,
                ses,
            });
        }
        Ok(out)
    }
}
