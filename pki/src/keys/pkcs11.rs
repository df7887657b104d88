//! PKCS#11 token backend (the only importer of `cryptoki`): one context per module, a token chosen by
//! label, a pool of logged-in sessions (one per worker; `Session` is Send but not Sync), and reopening
//! of sessions that the token lost (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR, …) without a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::OctetString;
use der::{Decode, Encode};
use sha2::Digest;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};

use super::{check_name, KeyError, KeyInfo, KeyRef, KeyStore, Secret, Signer};
use crate::alg::{oid, raw_rs_to_der, KeyAlgorithm, SignatureScheme};

static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// Let go of every module this process initialised: once the stores using them are dropped too,
/// the last handle's drop calls C_Finalize. A program calls it before exiting, because a module
/// left initialised may crash in its own exit-time destructors (seen with SoftHSM: a command that
/// had printed its answer died by signal on the way out).
pub fn finalize_all() {
    if let Some(m) = CONTEXTS.get() {
        let taken = std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()));
        drop(taken);
    }
}

/// One initialised context per module path: C_Initialize may run only once per process.
fn context(module: &Path) -> Result<Pkcs11, KeyError> {
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = map.get(module) {
        return Ok(c.clone());
    }
    let shown = module.display().to_string();
    let ctx = Pkcs11::new(module).map_err(|e| KeyError::Module(shown.clone(), e.to_string()))?;
    match ctx.initialize(CInitializeArgs::OsThreads) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(KeyError::Module(shown, e.to_string())),
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

fn ck(e: CkError) -> KeyError {
    match e {
        CkError::Pkcs11(rv, f) => KeyError::Pkcs11 {
            function: format!("{f:?}"),
            rv: format!("{rv}"),
        },
        other => KeyError::Pkcs11 {
            function: "cryptoki".into(),
            rv: other.to_string(),
        },
    }
}

/// Errors after which the session (or the whole login state) must be rebuilt.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceError
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn,
            _
        )
    )
}

/// Settings for one token.
pub struct TokenConfig {
    pub module: PathBuf,
    pub label: String,
    pub pin: Option<Secret>,
    /// Pooled sessions; one per worker thread is plenty.
    pub sessions: usize,
}

struct Inner {
    ctx: Pkcs11,
    module: String,
    label: String,
    pin: Secret,
    pool: Vec<Mutex<Option<Session>>>,
    next: AtomicUsize,
    reopened: AtomicUsize,
}

/// A token, addressed by label, with its session pool.
pub struct TokenStore {
    inner: Arc<Inner>,
    keys: Mutex<HashMap<String, Arc<TokenSigner>>>,
}

impl TokenStore {
    /// Load the module, find the token by label and log in once to prove the PIN.
    pub fn open(cfg: TokenConfig) -> Result<Self, KeyError> {
        let pin = cfg.pin.ok_or_else(|| KeyError::NoPin(cfg.label.clone()))?;
        let ctx = context(&cfg.module)?;
        let inner = Inner {
            ctx,
            module: cfg.module.display().to_string(),
            label: cfg.label,
            pin,
            pool: (0..cfg.sessions.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            reopened: AtomicUsize::new(0),
        };
        let store = TokenStore {
            inner: Arc::new(inner),
            keys: Mutex::new(HashMap::new()),
        };
        store.inner.with_session(|_| Ok(()))?;
        Ok(store)
    }

    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Store an X.509 certificate on the token (CKO_CERTIFICATE), its CKA_ID that of key
    /// `key_name` so PKCS#11 software pairs them. An object with the same label is replaced.
    pub fn put_certificate(
        &self,
        key_name: &str,
        label: &str,
        der: &[u8],
        subject_der: &[u8],
    ) -> Result<(), KeyError> {
        let attrs = vec![
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(key_id(key_name)),
            Attribute::Subject(subject_der.to_vec()),
            Attribute::Value(der.to_vec()),
        ];
        self.replace(ObjectClass::CERTIFICATE, label, attrs)
    }

    /// Store a data object (CKO_DATA) under `application` and `label`, replacing one of that label.
    pub fn put_data(&self, application: &str, label: &str, value: &[u8]) -> Result<(), KeyError> {
        let attrs = vec![
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Application(application.as_bytes().to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Value(value.to_vec()),
        ];
        self.replace(ObjectClass::DATA, label, attrs)
    }

    /// Remove the data object labelled `label`, if there is one.
    pub fn remove_data(&self, label: &str) -> Result<(), KeyError> {
        self.inner.with_session(|s| {
            if let Some(h) = self.inner.find(s, ObjectClass::DATA, label)? {
                s.destroy_object(h)?;
            }
            Ok(())
        })
    }

    fn replace(
        &self,
        class: ObjectClass,
        label: &str,
        attrs: Vec<Attribute>,
    ) -> Result<(), KeyError> {
        self.inner.with_session(|s| {
            if let Some(h) = self.inner.find(s, class, label)? {
                s.destroy_object(h)?;
            }
            s.create_object(&attrs).map(|_| ())
        })
    }

    /// The certificates and data objects on the token: (class, label, value), by label.
    pub fn objects(&self) -> Result<Vec<StoredObject>, KeyError> {
        let mut out = Vec::new();
        for (class, kind) in [
            (ObjectClass::CERTIFICATE, ObjectKind::Certificate),
            (ObjectClass::DATA, ObjectKind::Data),
        ] {
            let found = self.inner.with_session(|s| {
                let handles = s.find_objects(&[Attribute::Class(class)])?;
                let mut v = Vec::new();
                for h in handles {
                    let attrs =
                        s.get_attributes(h, &[AttributeType::Label, AttributeType::Value])?;
                    let (mut label, mut value) = (Vec::new(), Vec::new());
                    for a in attrs {
                        match a {
                            Attribute::Label(l) => label = l,
                            Attribute::Value(x) => value = x,
                            _ => {}
                        }
                    }
                    v.push((label, value));
                }
                Ok(v)
            })?;
            out.extend(found.into_iter().map(|(l, value)| StoredObject {
                kind,
                label: String::from_utf8_lossy(&l).into_owned(),
                value,
            }));
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }

    /// How many times a lost session was replaced: exported as a metric, checked by tests.
    pub fn sessions_reopened(&self) -> usize {
        self.inner.reopened.load(Ordering::Relaxed)
    }
}

/// What kind of non-key object a token holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Certificate,
    Data,
}

/// A certificate or data object read back from a token.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub kind: ObjectKind,
    pub label: String,
    pub value: Vec<u8>,
}

/// The CKA_ID given to key `name` (and to a certificate for it).
fn key_id(name: &str) -> Vec<u8> {
    sha2::Sha256::digest(name.as_bytes())[..8].to_vec()
}

impl Inner {
    fn slot(&self) -> Result<Slot, KeyError> {
        let slots = self.ctx.get_slots_with_token().map_err(ck)?;
        for slot in slots {
            if let Ok(info) = self.ctx.get_token_info(slot) {
                if info.label().trim_end() == self.label {
                    return Ok(slot);
                }
            }
        }
        Err(KeyError::TokenNotFound(
            self.label.clone(),
            self.module.clone(),
        ))
    }

    fn open_session(&self) -> Result<Session, KeyError> {
        let slot = self.slot()?;
        let session = self.ctx.open_rw_session(slot).map_err(ck)?;
        let pin = AuthPin::new(self.pin.expose().to_string());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => Err(KeyError::WrongPin(self.label.clone())),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                Err(KeyError::PinLocked(self.label.clone()))
            }
            Err(e) => Err(ck(e)),
        }
    }

    /// Run `f` on a pooled session; when the token lost the session, reopen it and try once more.
    fn with_session<T>(&self, f: impl Fn(&Session) -> Result<T, CkError>) -> Result<T, KeyError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        let mut slot = self.pool[i].lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            if slot.is_none() {
                *slot = Some(self.open_session()?);
            }
            let session = slot.as_ref().expect("filled above");
            match f(session) {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 && session_lost(&e) => {
                    // Dropping a dead session may fail inside C_CloseSession; that is expected here.
                    *slot = None;
                    self.reopened.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(ck(e)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn find(
        &self,
        session: &Session,
        class: ObjectClass,
        label: &str,
    ) -> Result<Option<ObjectHandle>, CkError> {
        let found = session.find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])?;
        Ok(found.into_iter().next())
    }
}

fn ec_params(curve: const_oid::ObjectIdentifier) -> Vec<u8> {
    curve.to_der().expect("OID encodes")
}

/// Build the SubjectPublicKeyInfo of a public-key object on the token.
fn read_public_key(
    session: &Session,
    h: ObjectHandle,
) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let attrs = session
        .get_attributes(
            h,
            &[
                AttributeType::KeyType,
                AttributeType::EcPoint,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::EcParams,
            ],
        )
        .map_err(ck)?;
    let (mut kt, mut point, mut n, mut e, mut params) = (None, None, None, None, None);
    for a in attrs {
        match a {
            Attribute::KeyType(k) => kt = Some(k),
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::Modulus(m) => n = Some(m),
            Attribute::PublicExponent(x) => e = Some(x),
            Attribute::EcParams(p) => params = Some(p),
            _ => {}
        }
    }
    let bad = |w: &str| KeyError::Crypto(format!("token public key: {w}"));
    let der = match kt {
        Some(KeyType::EC) => {
            let point = point.ok_or_else(|| bad("no CKA_EC_POINT"))?;
            // CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens give the raw point.
            let raw = OctetString::from_der(&point)
                .map(|o| o.into_bytes())
                .unwrap_or(point);
            if params.as_deref() != Some(ec_params(oid::SECP256R1).as_slice()) {
                return Err(bad("unsupported curve"));
            }
            p256::PublicKey::from_sec1_bytes(&raw)
                .map_err(|e| bad(&e.to_string()))?
                .to_public_key_der()
        }
        Some(KeyType::RSA) => {
            let n = rsa::BigUint::from_bytes_be(&n.ok_or_else(|| bad("no modulus"))?);
            let e = rsa::BigUint::from_bytes_be(&e.ok_or_else(|| bad("no exponent"))?);
            rsa::RsaPublicKey::new(n, e)
                .map_err(|e| bad(&e.to_string()))?
                .to_public_key_der()
        }
        _ => return Err(bad("unsupported key type")),
    }
    .map_err(|e| bad(&e.to_string()))?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(|e| bad(&e.to_string()))
}

impl KeyStore for TokenStore {
    fn backend(&self) -> &'static str {
        "pkcs11"
    }

    fn generate(&self, name: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError> {
        check_name(name)?;
        let key_ref = KeyRef::Pkcs11 {
            token: self.inner.label.clone(),
            object: name.to_string(),
        };
        let label = name.as_bytes().to_vec();
        let id = key_id(name);
        let (mech, mut public) = match alg {
            KeyAlgorithm::P256 => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(ec_params(oid::SECP256R1))],
            ),
            KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let bits: u64 = if alg == KeyAlgorithm::Rsa3072 {
                    3072
                } else {
                    4096
                };
                (
                    Mechanism::RsaPkcsKeyPairGen,
                    vec![
                        Attribute::ModulusBits(bits.into()),
                        Attribute::PublicExponent(vec![1, 0, 1]),
                    ],
                )
            }
            KeyAlgorithm::Sm2 => {
                return Err(KeyError::Unsupported(
                    alg,
                    "pkcs11 (SoftHSM2 has no SM2 mechanisms)",
                ))
            }
        };
        public.extend([
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label.clone()),
            Attribute::Id(id.clone()),
        ]);
        // Sensitive and non-extractable: the private key never leaves the token.
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label),
            Attribute::Id(id),
        ];
        let existed = self
            .inner
            .with_session(|s| self.inner.find(s, ObjectClass::PRIVATE_KEY, name))?;
        if existed.is_some() {
            return Err(KeyError::Exists(key_ref.to_string()));
        }
        self.inner
            .with_session(|s| s.generate_key_pair(&mech, &public, &private))?;
        self.open(&key_ref)
    }

    fn open(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        let KeyRef::Pkcs11 { token, object } = key else {
            return Err(KeyError::BadRef(key.to_string(), "not a pkcs11 key"));
        };
        if token != &self.inner.label {
            return Err(KeyError::TokenNotConfigured(token.clone()));
        }
        if let Some(s) = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(object)
        {
            return Ok(s.clone());
        }
        let (priv_h, spki) = self.inner.with_session(|s| {
            let ph = self.inner.find(s, ObjectClass::PRIVATE_KEY, object)?;
            let pubh = self.inner.find(s, ObjectClass::PUBLIC_KEY, object)?;
            Ok((ph, pubh))
        })?;
        let (Some(priv_h), Some(pub_h)) = (priv_h, spki) else {
            return Err(KeyError::NotFound(key.to_string()));
        };
        let spki = self
            .inner
            .with_session(|s| Ok(read_public_key(s, pub_h)))??;
        let alg = KeyAlgorithm::of_spki(&spki)?;
        let signer = Arc::new(TokenSigner {
            inner: self.inner.clone(),
            key_ref: key.clone(),
            alg,
            spki,
            handle: Mutex::new(priv_h),
        });
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(object.clone(), signer.clone());
        Ok(signer)
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        let KeyRef::Pkcs11 { token, object } = key else {
            return Err(KeyError::BadRef(key.to_string(), "not a pkcs11 key"));
        };
        if token != &self.inner.label {
            return Err(KeyError::TokenNotConfigured(token.clone()));
        }
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(object);
        self.inner.with_session(|s| {
            for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
                if let Some(h) = self.inner.find(s, class, object)? {
                    s.destroy_object(h)?;
                }
            }
            Ok(())
        })
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let handles = self
            .inner
            .with_session(|s| s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]))?;
        let mut out = Vec::new();
        for h in handles {
            let label = self
                .inner
                .with_session(|s| s.get_attributes(h, &[AttributeType::Label]))?;
            let Some(Attribute::Label(l)) = label.into_iter().next() else {
                continue;
            };
            let name = String::from_utf8_lossy(&l).to_string();
            let key_ref = KeyRef::Pkcs11 {
                token: self.inner.label.clone(),
                object: name,
            };
            if let Ok(signer) = self.open(&key_ref) {
                out.push(KeyInfo {
                    key_ref,
                    algorithm: signer.algorithm(),
                    public_key_der: signer
                        .public_key()
                        .to_der()
                        .map_err(|e| KeyError::Crypto(e.to_string()))?,
                });
            }
        }
        out.sort_by(|a, b| a.key_ref.name().cmp(b.key_ref.name()));
        Ok(out)
    }

    fn health(&self) -> Result<(), KeyError> {
        self.inner
            .with_session(|s| s.get_session_info().map(|_| ()))
    }
}

/// A private key on a token. Signing borrows one pooled session for the duration of one C_Sign.
pub struct TokenSigner {
    inner: Arc<Inner>,
    key_ref: KeyRef,
    alg: KeyAlgorithm,
    spki: SubjectPublicKeyInfoOwned,
    handle: Mutex<ObjectHandle>,
}

impl Signer for TokenSigner {
    fn key_ref(&self) -> &KeyRef {
        &self.key_ref
    }
    fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, scheme: SignatureScheme, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !scheme.fits(self.alg) {
            return Err(crate::alg::AlgError::Mismatch {
                scheme,
                key: self.alg,
            }
            .into());
        }
        // ECDSA is hashed here so any token with plain CKM_ECDSA serves.
        let (mech, data): (Mechanism, Vec<u8>) = match scheme {
            SignatureScheme::EcdsaSha256 => (Mechanism::Ecdsa, sha2::Sha256::digest(msg).to_vec()),
            SignatureScheme::RsaPkcs1Sha256 => (Mechanism::Sha256RsaPkcs, msg.to_vec()),
            SignatureScheme::RsaPssSha256 => (
                Mechanism::Sha256RsaPkcsPss(PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: 32u64.into(),
                }),
                msg.to_vec(),
            ),
            SignatureScheme::Sm2Sm3 => return Err(KeyError::Unsupported(self.alg, "pkcs11")),
        };
        let sig = self.inner.with_session(|s| {
            let h = *self.handle.lock().unwrap_or_else(|p| p.into_inner());
            match s.sign(&mech, h, &data) {
                Err(CkError::Pkcs11(
                    RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid,
                    f,
                )) => {
                    // The token renumbered its objects (e.g. after a reset): find the key again.
                    let h = self
                        .inner
                        .find(s, ObjectClass::PRIVATE_KEY, self.key_ref.name())?
                        .ok_or(CkError::Pkcs11(RvError::KeyHandleInvalid, f))?;
                    *self.handle.lock().unwrap_or_else(|p| p.into_inner()) = h;
                    s.sign(&mech, h, &data)
                }
                other => other,
            }
        })?;
        match scheme {
            SignatureScheme::EcdsaSha256 => Ok(raw_rs_to_der(&sig)?),
            _ => Ok(sig),
        }
    }
}
