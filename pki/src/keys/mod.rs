//! Key custody: the `Signer` and `KeyStore` traits, key references, and the `Keyring` that routes a
//! reference to its backend (encrypted software store or PKCS#11 token).

pub mod holder;
mod keyref;
pub mod pkcs11;
mod secret;
pub mod software;

use std::collections::HashMap;
use std::sync::Arc;

use spki::SubjectPublicKeyInfoOwned;

use crate::alg::{AlgError, KeyAlgorithm, SignatureScheme};
pub use keyref::KeyRef;
pub use secret::Secret;

/// Something that can sign: a software key or a key on a token. Implementations are cheap to share.
pub trait Signer: Send + Sync {
    fn key_ref(&self) -> &KeyRef;
    fn algorithm(&self) -> KeyAlgorithm;
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Sign `msg` (the hash is part of the scheme). ECDSA and SM2 signatures come back DER-encoded.
    fn sign(&self, scheme: SignatureScheme, msg: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// What is known of a stored key without touching private material.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub key_ref: KeyRef,
    pub algorithm: KeyAlgorithm,
    pub public_key_der: Vec<u8>,
}

/// A place that holds keys.
pub trait KeyStore: Send + Sync {
    /// Short backend name for messages and metrics.
    fn backend(&self) -> &'static str;
    /// Make a new key pair called `name`; refuses if the name exists.
    fn generate(&self, name: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError>;
    /// Open an existing key.
    fn open(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError>;
    fn list(&self) -> Result<Vec<KeyInfo>, KeyError>;
    /// Destroy a key (both halves); a key that is not there is not an error. Used to undo work
    /// that failed midway (a seal production), never for keys whose certificates were used.
    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError>;
    /// Cheap reachability check for `/readyz`.
    fn health(&self) -> Result<(), KeyError>;
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("key {0} not found")]
    NotFound(String),
    #[error("key {0} already exists")]
    Exists(String),
    #[error("invalid key name {0:?}: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    BadName(String),
    #[error("invalid key reference {0:?}: {1}")]
    BadRef(String, &'static str),
    #[error("wrong passphrase for the software key store (or key file {0} was altered)")]
    WrongPassphrase(String),
    #[error("no passphrase for the software key store: set SEALPKI_KEYS_PASSPHRASE or keys.passphrase_file")]
    NoPassphrase,
    #[error("no PIN for token {0:?}: set its pin_env or pin_file")]
    NoPin(String),
    #[error("wrong PIN for token {0:?}")]
    WrongPin(String),
    #[error("PIN for token {0:?} is locked")]
    PinLocked(String),
    #[error("no token labelled {0:?} in PKCS#11 module {1}")]
    TokenNotFound(String, String),
    #[error("token {0:?} is not configured")]
    TokenNotConfigured(String),
    #[error("cannot load PKCS#11 module {0}: {1}")]
    Module(String, String),
    #[error("PKCS#11 {function} failed: {rv}")]
    Pkcs11 { function: String, rv: String },
    #[error("{0} keys are not supported by the {1} backend")]
    Unsupported(KeyAlgorithm, &'static str),
    #[error("key file {0} is corrupt: {1}")]
    Corrupt(String, String),
    #[error(transparent)]
    Alg(#[from] AlgError),
    #[error("key store I/O on {0}: {1}")]
    Io(String, std::io::Error),
    #[error("crypto failure: {0}")]
    Crypto(String),
}

/// All configured key stores, addressed by reference: `soft:NAME` or `pkcs11:token=LABEL;object=NAME`.
#[derive(Clone, Default)]
pub struct Keyring {
    software: Option<Arc<software::SoftwareStore>>,
    tokens: HashMap<String, Arc<pkcs11::TokenStore>>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_software(mut self, store: software::SoftwareStore) -> Self {
        self.software = Some(Arc::new(store));
        self
    }

    pub fn with_token(mut self, store: pkcs11::TokenStore) -> Self {
        self.tokens
            .insert(store.label().to_string(), Arc::new(store));
        self
    }

    pub fn software(&self) -> Result<&software::SoftwareStore, KeyError> {
        self.software.as_deref().ok_or(KeyError::NoPassphrase)
    }

    pub fn token(&self, label: &str) -> Result<&pkcs11::TokenStore, KeyError> {
        self.tokens
            .get(label)
            .map(|t| t.as_ref())
            .ok_or_else(|| KeyError::TokenNotConfigured(label.to_string()))
    }

    /// The store a backend name designates: `software` or `pkcs11:LABEL`.
    pub fn store(&self, backend: &str) -> Result<&dyn KeyStore, KeyError> {
        match backend.strip_prefix("pkcs11:") {
            Some(label) => Ok(self.token(label)?),
            None if backend == "software" || backend == "soft" => Ok(self.software()?),
            None => Err(KeyError::BadRef(
                backend.to_string(),
                "backend is software or pkcs11:TOKEN_LABEL",
            )),
        }
    }

    pub fn open(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        match key {
            KeyRef::Software { .. } => self.software()?.open(key),
            KeyRef::Pkcs11 { token, .. } => self.token(token)?.open(key),
        }
    }

    /// Destroy a key in whichever store holds it (undoing a failed production).
    pub fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        match key {
            KeyRef::Software { .. } => self.software()?.destroy(key),
            KeyRef::Pkcs11 { token, .. } => self.token(token)?.destroy(key),
        }
    }

    /// Lost PKCS#11 sessions replaced so far, over all tokens.
    pub fn sessions_reopened(&self) -> usize {
        self.tokens.values().map(|t| t.sessions_reopened()).sum()
    }

    /// Every configured store, for listing and health checks.
    pub fn stores(&self) -> Vec<&dyn KeyStore> {
        let mut v: Vec<&dyn KeyStore> = Vec::new();
        if let Some(s) = &self.software {
            v.push(s.as_ref());
        }
        let mut labels: Vec<_> = self.tokens.keys().collect();
        labels.sort();
        for l in labels {
            v.push(self.tokens[l].as_ref());
        }
        v
    }
}

/// Key names are used in file names and PKCS#11 labels: keep them boring.
pub(crate) fn check_name(name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadName(name.to_string()))
    }
}
