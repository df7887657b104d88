//! The software key store: one file per key, the PKCS#8 private key sealed with AES-256-GCM under a key
//! derived from the store passphrase by Argon2id. Files are written 0600 and never overwritten.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use signature::{RandomizedSigner, SignatureEncoding, Signer as _};
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use super::{check_name, KeyError, KeyInfo, KeyRef, KeyStore, Secret, Signer};
use crate::alg::{raw_rs_to_der, KeyAlgorithm, SignatureScheme, SM2_DISTID};

const AAD_PREFIX: &str = "sealpki-key-v1";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    algorithm: String,
    kdf: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
    public_key: String,
}

/// A private key held in memory.
pub enum SoftKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
    Sm2(sm2::dsa::SigningKey),
}

impl SoftKey {
    pub fn generate(alg: KeyAlgorithm) -> Result<Self, KeyError> {
        Ok(match alg {
            KeyAlgorithm::P256 => SoftKey::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let bits = if alg == KeyAlgorithm::Rsa3072 {
                    3072
                } else {
                    4096
                };
                let k = rsa::RsaPrivateKey::new(&mut OsRng, bits)
                    .map_err(|e| KeyError::Crypto(e.to_string()))?;
                SoftKey::Rsa(Box::new(k))
            }
            KeyAlgorithm::Sm2 => {
                let sk = sm2::SecretKey::random(&mut OsRng);
                SoftKey::Sm2(
                    sm2::dsa::SigningKey::new(SM2_DISTID, &sk)
                        .map_err(|e| KeyError::Crypto(e.to_string()))?,
                )
            }
        })
    }

    /// Load an unencrypted PEM key file: PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" (as
    /// `openssl ecparam -genkey` writes it, a "… PARAMETERS" block before it is skipped; P-256 or
    /// SM2 by its curve) or PKCS#1 "RSA PRIVATE KEY". Other blocks are refused by name.
    pub fn from_pem(text: &[u8]) -> Result<Self, KeyError> {
        let bad = |what: &str, e: String| KeyError::Corrupt(what.into(), e);
        let text = std::str::from_utf8(text).map_err(|_| bad("PEM", "not text".into()))?;
        let mut labels = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN ") {
            let label_end = rest[start + 11..]
                .find("-----")
                .ok_or_else(|| bad("PEM", "unterminated header".into()))?;
            let label = &rest[start + 11..start + 11 + label_end];
            let end_marker = format!("-----END {label}-----");
            let end = rest[start..]
                .find(&end_marker)
                .ok_or_else(|| bad("PEM", format!("no end of the {label} block")))?
                + start
                + end_marker.len();
            let block = &rest[start..end];
            rest = &rest[end..];
            let der = || {
                der::pem::decode_vec(block.as_bytes())
                    .map(|(_, d)| d)
                    .map_err(|e| bad("PEM", e.to_string()))
            };
            match label {
                "PRIVATE KEY" => return Self::from_pkcs8_der(None, &der()?),
                "EC PRIVATE KEY" => {
                    let d = der()?;
                    let pk8 = match p256::SecretKey::from_sec1_der(&d) {
                        Ok(k) => k.to_pkcs8_der(),
                        Err(_) => sm2::SecretKey::from_sec1_der(&d)
                            .map_err(|_| {
                                bad(
                                    "SEC1",
                                    "an EC key on a curve other than P-256 or SM2".into(),
                                )
                            })?
                            .to_pkcs8_der(),
                    }
                    .map_err(|e| bad("SEC1", e.to_string()))?;
                    return Self::from_pkcs8_der(None, pk8.as_bytes());
                }
                "RSA PRIVATE KEY" => {
                    use rsa::pkcs1::DecodeRsaPrivateKey;
                    let k = rsa::RsaPrivateKey::from_pkcs1_der(&der()?)
                        .map_err(|e| bad("PKCS#1", e.to_string()))?;
                    let pk8 = k.to_pkcs8_der().map_err(|e| bad("PKCS#1", e.to_string()))?;
                    return Self::from_pkcs8_der(None, pk8.as_bytes());
                }
                // openssl writes curve parameters before the key (EC, SM2).
                l if l.ends_with(" PARAMETERS") => continue,
                other => labels.push(other.to_string()),
            }
        }
        Err(bad(
            "PEM",
            if labels.is_empty() {
                "no private key block".into()
            } else {
                format!(
                    "expected an unencrypted PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY, found {}",
                    labels.join(", ")
                )
            },
        ))
    }

    /// Load an unencrypted PKCS#8 key (DER), as a PEM key file or the store's decrypted payload holds.
    pub fn from_pkcs8_der(alg: Option<KeyAlgorithm>, der: &[u8]) -> Result<Self, KeyError> {
        let bad = |e: &dyn std::fmt::Display| KeyError::Corrupt("PKCS#8".into(), e.to_string());
        let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|e| bad(&e))?;
        let alg = match alg {
            Some(a) => a,
            None => {
                let spki_alg = spki::AlgorithmIdentifierOwned {
                    oid: info.algorithm.oid,
                    parameters: info.algorithm.parameters.map(|p| p.into()),
                };
                // Decide by OID/curve; RSA size is checked after parsing.
                if spki_alg.oid == crate::alg::oid::RSA_ENCRYPTION {
                    KeyAlgorithm::Rsa3072
                } else {
                    let curve: const_oid::ObjectIdentifier = spki_alg
                        .parameters
                        .as_ref()
                        .and_then(|p| p.decode_as().ok())
                        .ok_or_else(|| {
                            KeyError::Corrupt("PKCS#8".into(), "EC key without curve".into())
                        })?;
                    if curve == crate::alg::oid::SM2_CURVE {
                        KeyAlgorithm::Sm2
                    } else {
                        KeyAlgorithm::P256
                    }
                }
            }
        };
        Ok(match alg {
            KeyAlgorithm::P256 => {
                SoftKey::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| bad(&e))?)
            }
            KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => SoftKey::Rsa(Box::new(
                rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| bad(&e))?,
            )),
            KeyAlgorithm::Sm2 => {
                let sk = sm2::SecretKey::from_pkcs8_der(der).map_err(|e| bad(&e))?;
                SoftKey::Sm2(sm2::dsa::SigningKey::new(SM2_DISTID, &sk).map_err(|e| bad(&e))?)
            }
        })
    }

    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let doc = match self {
            SoftKey::P256(k) => k.to_pkcs8_der(),
            SoftKey::Rsa(k) => k.to_pkcs8_der(),
            SoftKey::Sm2(k) => sm2::SecretKey::from(k.as_nonzero_scalar()).to_pkcs8_der(),
        }
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    pub fn public_key(&self) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
        let der = match self {
            SoftKey::P256(k) => k.verifying_key().to_public_key_der(),
            SoftKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            SoftKey::Sm2(k) => sm2::PublicKey::from_affine(*k.verifying_key().as_affine())
                .map_err(|e| KeyError::Crypto(e.to_string()))?
                .to_public_key_der(),
        }
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes())
            .map_err(|e| KeyError::Crypto(e.to_string()))
    }

    pub fn algorithm(&self, spki: &SubjectPublicKeyInfoOwned) -> Result<KeyAlgorithm, KeyError> {
        Ok(KeyAlgorithm::of_spki(spki)?)
    }

    pub fn sign(&self, scheme: SignatureScheme, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let err = |e: signature::Error| KeyError::Crypto(e.to_string());
        match (self, scheme) {
            (SoftKey::P256(k), SignatureScheme::EcdsaSha256) => {
                let s: p256::ecdsa::Signature = k.try_sign(msg).map_err(err)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (SoftKey::Rsa(k), SignatureScheme::RsaPkcs1Sha256) => {
                let sk = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                Ok(sk.try_sign(msg).map_err(err)?.to_vec())
            }
            (SoftKey::Rsa(k), SignatureScheme::RsaPssSha256) => {
                let sk = rsa::pss::BlindedSigningKey::<sha2::Sha256>::new((**k).clone());
                Ok(sk.try_sign_with_rng(&mut OsRng, msg).map_err(err)?.to_vec())
            }
            (SoftKey::Sm2(k), SignatureScheme::Sm2Sm3) => {
                let s: sm2::dsa::Signature = k.try_sign(msg).map_err(err)?;
                Ok(raw_rs_to_der(&s.to_bytes())?)
            }
            _ => Err(KeyError::Crypto(format!(
                "scheme {scheme} does not fit this key"
            ))),
        }
    }
}

/// A software key bound to its reference.
pub struct SoftSigner {
    key_ref: KeyRef,
    alg: KeyAlgorithm,
    spki: SubjectPublicKeyInfoOwned,
    key: SoftKey,
    /// The same P-256 key in ring, whose assembly signs several times faster.
    fast_p256: Option<ring::signature::EcdsaKeyPair>,
}

fn ring_p256(key: &SoftKey) -> Option<ring::signature::EcdsaKeyPair> {
    let SoftKey::P256(k) = key else { return None };
    let public = k.verifying_key().to_encoded_point(false);
    ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &k.to_bytes(),
        public.as_bytes(),
        &ring::rand::SystemRandom::new(),
    )
    .ok()
}

impl SoftSigner {
    /// Wrap an in-memory key (e.g. from a PEM file given on the command line).
    pub fn from_key(name: &str, key: SoftKey) -> Result<Self, KeyError> {
        let spki = key.public_key()?;
        let alg = key.algorithm(&spki)?;
        Ok(SoftSigner {
            key_ref: KeyRef::Software {
                name: name.to_string(),
            },
            alg,
            spki,
            fast_p256: ring_p256(&key),
            key,
        })
    }
}

impl Signer for SoftSigner {
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
        if let (Some(k), SignatureScheme::EcdsaSha256) = (&self.fast_p256, scheme) {
            let sig = k
                .sign(&ring::rand::SystemRandom::new(), msg)
                .map_err(|_| KeyError::Crypto("P-256 signing failed".into()))?;
            return Ok(sig.as_ref().to_vec());
        }
        self.key.sign(scheme, msg)
    }
}

/// Argon2id cost. The defaults follow OWASP's minimum for Argon2id; tests may lower them.
#[derive(Clone, Copy, Debug)]
pub struct KdfCost {
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for KdfCost {
    fn default() -> Self {
        KdfCost {
            m_cost: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

pub struct SoftwareStore {
    dir: PathBuf,
    passphrase: Secret,
    cost: KdfCost,
    cache: Mutex<HashMap<String, Arc<SoftSigner>>>,
    /// One Argon2 work area for every derivation: allocating 19 MiB per key file leaves that much
    /// resident per allocator arena (a dozen keys held ~150 MB after start-up).
    kdf_memory: Mutex<Vec<argon2::Block>>,
}

impl SoftwareStore {
    /// Open (creating if needed, mode 0700) the key directory.
    pub fn open(dir: impl Into<PathBuf>, passphrase: Secret) -> Result<Self, KeyError> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        Ok(SoftwareStore {
            dir,
            passphrase,
            cost: KdfCost::default(),
            cache: Mutex::new(HashMap::new()),
            kdf_memory: Mutex::new(Vec::new()),
        })
    }

    pub fn with_cost(mut self, cost: KdfCost) -> Self {
        self.cost = cost;
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    fn kek(&self, salt: &[u8], cost: KdfCost) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let params = argon2::Params::new(cost.m_cost, cost.t_cost, cost.p_cost, Some(32))
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let blocks = params.block_count();
        let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        let mut memory = self.kdf_memory.lock().unwrap_or_else(|p| p.into_inner());
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        a2.hash_password_into_with_memory(
            self.passphrase.expose().as_bytes(),
            salt,
            out.as_mut(),
            &mut memory[..blocks],
        )
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(out)
    }

    /// Seal `key` into a new file named `name`. Refuses to replace an existing key.
    pub fn import(&self, name: &str, key: SoftKey) -> Result<Arc<dyn Signer>, KeyError> {
        check_name(name)?;
        let path = self.path(name);
        if path.exists() {
            return Err(KeyError::Exists(format!("soft:{name}")));
        }
        let signer = Arc::new(SoftSigner::from_key(name, key)?);
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut nonce);
        let kek = self.kek(&salt, self.cost)?;
        let cipher =
            Aes256Gcm::new_from_slice(kek.as_ref()).map_err(|e| KeyError::Crypto(e.to_string()))?;
        let plain = signer.key.to_pkcs8_der()?;
        let aad = format!("{AAD_PREFIX}|{name}|{}", signer.alg);
        let ct = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: &plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let file = KeyFile {
            version: 1,
            algorithm: signer.alg.name().to_string(),
            kdf: "argon2id".into(),
            m_cost: self.cost.m_cost,
            t_cost: self.cost.t_cost,
            p_cost: self.cost.p_cost,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ct),
            public_key: hex::encode(
                signer
                    .spki
                    .to_der()
                    .map_err(|e| KeyError::Crypto(e.to_string()))?,
            ),
        };
        let text = toml::to_string(&file).map_err(|e| KeyError::Crypto(e.to_string()))?;
        write_new_private_file(&path, text.as_bytes())?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), signer.clone());
        Ok(signer)
    }

    fn read_file(&self, name: &str) -> Result<KeyFile, KeyError> {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeyError::NotFound(format!("soft:{name}")),
            _ => KeyError::Io(path.display().to_string(), e),
        })?;
        toml::from_str(&text)
            .map_err(|e| KeyError::Corrupt(path.display().to_string(), e.message().to_string()))
    }
}

impl KeyStore for SoftwareStore {
    fn backend(&self) -> &'static str {
        "software"
    }

    fn generate(&self, name: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, KeyError> {
        check_name(name)?;
        if self.path(name).exists() {
            return Err(KeyError::Exists(format!("soft:{name}")));
        }
        self.import(name, SoftKey::generate(alg)?)
    }

    fn open(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        let KeyRef::Software { name } = key else {
            return Err(KeyError::BadRef(key.to_string(), "not a software key"));
        };
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(s.clone());
        }
        let path = self.path(name).display().to_string();
        let f = self.read_file(name)?;
        let corrupt = |what: &str| KeyError::Corrupt(path.clone(), what.to_string());
        if f.version != 1 || f.kdf != "argon2id" {
            return Err(corrupt("unknown version or KDF"));
        }
        let alg: KeyAlgorithm = f.algorithm.parse()?;
        let salt = hex::decode(&f.salt).map_err(|_| corrupt("salt"))?;
        let nonce = hex::decode(&f.nonce).map_err(|_| corrupt("nonce"))?;
        let ct = hex::decode(&f.ciphertext).map_err(|_| corrupt("ciphertext"))?;
        if nonce.len() != 12 {
            return Err(corrupt("nonce length"));
        }
        let kek = self.kek(
            &salt,
            KdfCost {
                m_cost: f.m_cost,
                t_cost: f.t_cost,
                p_cost: f.p_cost,
            },
        )?;
        let cipher =
            Aes256Gcm::new_from_slice(kek.as_ref()).map_err(|e| KeyError::Crypto(e.to_string()))?;
        let aad = format!("{AAD_PREFIX}|{name}|{alg}");
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    nonce.as_slice().into(),
                    Payload {
                        msg: &ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| KeyError::WrongPassphrase(path.clone()))?,
        );
        let key = SoftKey::from_pkcs8_der(Some(alg), &plain)?;
        let signer = Arc::new(SoftSigner::from_key(name, key)?);
        if hex::encode(
            signer
                .spki
                .to_der()
                .map_err(|e| KeyError::Crypto(e.to_string()))?,
        ) != f.public_key
        {
            return Err(corrupt("public key does not match private key"));
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), signer.clone());
        Ok(signer)
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        let KeyRef::Software { name } = key else {
            return Err(KeyError::BadRef(key.to_string(), "not a software key"));
        };
        check_name(name)?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        match std::fs::remove_file(self.path(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(KeyError::Corrupt(
                self.path(name).display().to_string(),
                e.to_string(),
            )),
        }
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let io = |e| KeyError::Io(self.dir.display().to_string(), e);
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let fname = entry.file_name().to_string_lossy().to_string();
            let Some(name) = fname.strip_suffix(".key") else {
                continue;
            };
            if check_name(name).is_err() {
                continue;
            }
            let f = self.read_file(name)?;
            out.push(KeyInfo {
                key_ref: KeyRef::Software {
                    name: name.to_string(),
                },
                algorithm: f.algorithm.parse()?,
                public_key_der: hex::decode(&f.public_key)
                    .map_err(|_| KeyError::Corrupt(fname.clone(), "public key".into()))?,
            });
        }
        out.sort_by(|a, b| a.key_ref.name().cmp(b.key_ref.name()));
        Ok(out)
    }

    fn health(&self) -> Result<(), KeyError> {
        std::fs::metadata(&self.dir)
            .map(|_| ())
            .map_err(|e| KeyError::Io(self.dir.display().to_string(), e))
    }
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| KeyError::Io(dir.display().to_string(), e))
}

/// Write a new file with mode 0600: temp file, fsync, then a hard link that fails if the name exists.
pub(crate) fn write_new_private_file(path: &Path, data: &[u8]) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e| KeyError::Io(path.display().to_string(), e);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    let res = f
        .write_all(data)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    res.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.display().to_string()),
        _ => io(e),
    })?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::verify;

    fn store(dir: &Path, pass: &str) -> SoftwareStore {
        SoftwareStore::open(dir, Secret::new(pass))
            .unwrap()
            .with_cost(KdfCost {
                m_cost: 64,
                t_cost: 1,
                p_cost: 1,
            })
    }

    #[test]
    fn generate_sign_reopen_wrong_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path(), "correct horse");
        for (name, alg) in [("p", KeyAlgorithm::P256), ("s", KeyAlgorithm::Sm2)] {
            let k = s.generate(name, alg).unwrap();
            let sig = k.sign(alg.default_scheme(), b"hello").unwrap();
            verify(k.public_key(), alg.default_scheme(), b"hello", &sig).unwrap();
            assert!(verify(k.public_key(), alg.default_scheme(), b"hellO", &sig).is_err());
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("p.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            s.generate("p", KeyAlgorithm::P256),
            Err(KeyError::Exists(_))
        ));
        let fresh = store(tmp.path(), "correct horse");
        let k = fresh.open(&"soft:s".parse().unwrap()).unwrap();
        assert_eq!(k.algorithm(), KeyAlgorithm::Sm2);
        let wrong = store(tmp.path(), "wrong");
        assert!(matches!(
            wrong.open(&"soft:p".parse().unwrap()),
            Err(KeyError::WrongPassphrase(_))
        ));
        assert_eq!(fresh.list().unwrap().len(), 2);
    }
}
