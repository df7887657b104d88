//! The loaded CA hierarchy: every CA key (issuing, or kept for status after a rollover), their
//! parents and chains, delegated OCSP responders, the TSA, profiles; loading from the store and
//! noticing another instance's rollover; the audit certificates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use sealpki_pki::der::Decode;
use sealpki_pki::revocation::Responder;
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::{Issuer, IssuerUrls, KeyRef, Profiles, SignatureScheme};
use serde_json::json;

use crate::app::{unix, App};
use crate::audit::CheckpointKey;
use crate::error::AppError;
use crate::store::KeyPurpose;

/// The CA names, fixed across CLI, API and file names.
pub const CA_NAMES: [&str; 5] = ["root", "seal", "maker", "device", "service"];

#[derive(Default)]
pub(crate) struct Loaded {
    pub(crate) profiles: Option<Profiles>,
    /// The issuing key of each CA name.
    pub(crate) issuers: HashMap<String, Arc<CaKey>>,
    /// Every key that serves status, by label: the issuing ones and those retired by rollover.
    pub(crate) keys: HashMap<String, Arc<CaKey>>,
    pub(crate) parents: HashMap<String, String>,
    /// Delegated OCSP responders, by CA key label.
    pub(crate) responders: HashMap<String, Arc<OcspCa>>,
    pub(crate) tsa: Option<Arc<sealpki_pki::tsa::Tsa>>,
    /// The newest CA generation loaded; another instance's rollover moves the stored one.
    pub(crate) generation: i64,
}

/// One CA key: the issuing key of a CA, or an older one that a rollover retired from issuing but
/// that still publishes CRLs and answers OCSP for the certificates it signed.
pub struct CaKey {
    /// Names the key's status scope: URLs, CRLs, OCSP, `certificates.ca_key`.
    pub label: String,
    pub issuer: Issuer,
    pub active: bool,
    pub generation: i64,
    /// Certificates recorded under this key; numbers the CRL partitions of new certificates.
    pub(crate) recorded: std::sync::atomic::AtomicI64,
}

impl CaKey {
    /// The CA name (`seal`, …), shared by every generation of its key.
    pub fn name(&self) -> &str {
        self.issuer.name()
    }
}

/// What answering OCSP for one CA needs, computed once at load: the issuer's name and key hashes
/// and its delegated responder.
pub struct OcspCa {
    pub hashes: sealpki_pki::revocation::IssuerHashes,
    pub responder: Arc<Responder>,
}

impl App {
    /// The same issuer, writing the status URLs of CA key `label` into what it signs.
    pub fn with_urls(&self, i: &Issuer, label: &str) -> Result<Issuer, AppError> {
        Ok(Issuer::new(
            i.name(),
            i.der().to_vec(),
            i.signer().clone(),
            i.scheme(),
            self.urls(label, 0),
        )?)
    }

    /// Status URLs of CA key `label` for certificates in CRL partition `part`: partition 0 uses the
    /// plain CRL names, partition N names `LABEL-pN.crl`.
    pub fn urls(&self, label: &str, part: i64) -> IssuerUrls {
        let base = self.config.public_base_url();
        let stem = if part == 0 {
            label.to_string()
        } else {
            format!("{label}-p{part}")
        };
        IssuerUrls {
            crl: Some(format!("{base}/crl/{stem}.crl")),
            delta_crl: Some(format!("{base}/crl/{stem}-delta.crl")),
            ocsp: Some(format!("{base}/ocsp/{label}")),
            ca_issuers: Some(format!("{base}/ca/{label}.der")),
        }
    }

    /// (Re)load profiles, CAs and the audit key from storage.
    pub async fn reload(&self) -> Result<(), AppError> {
        let mut loaded = Loaded::default();
        let profiles = self.store.profile_all().await?;
        if !profiles.is_empty() {
            let doc: String = profiles
                .iter()
                .map(|(n, b)| format!("[\"{n}\"]\n{b}\n"))
                .collect();
            loaded.profiles = Some(
                Profiles::parse(&doc)
                    .map_err(|e| AppError::Internal(format!("stored profiles: {e}")))?,
            );
        }
        loaded.generation = self.store.ca_next_generation().await? - 1;
        for row in self.store.ca_serving().await? {
            let key_ref: KeyRef = row.key_ref.parse()?;
            let signer = self.keyring.open(&key_ref)?;
            let scheme: SignatureScheme = row
                .scheme
                .parse()
                .map_err(|e| AppError::Internal(format!("CA {}: {e}", row.name)))?;
            let issuer = Issuer::new(
                &row.name,
                row.cert_der,
                signer,
                scheme,
                self.urls(&row.label, 0),
            )?;
            if let Some(p) = row.parent {
                loaded.parents.insert(row.name.clone(), p);
            }
            let key = Arc::new(CaKey {
                recorded: self.store.cert_count_by_key(&row.label).await?.into(),
                label: row.label.clone(),
                issuer,
                active: row.active,
                generation: row.generation,
            });
            if row.active {
                loaded.issuers.insert(row.name, key.clone());
            }
            loaded.keys.insert(row.label, key);
        }
        // The audit key: the newest key with purpose "audit" that has a certificate.
        let mut key = None;
        for (k, cert) in self.keys_with_certs(|p| *p == KeyPurpose::Audit).await? {
            let signer = self.keyring.open(&k.key_ref.parse()?)?;
            key = Some(CheckpointKey {
                scheme: signer.algorithm().default_scheme(),
                signer,
                cert_der: cert,
            });
        }
        self.audit.set_checkpoint_key(key);
        // The time-stamping unit: the newest key with purpose "tsa" and its certificate.
        for (k, der) in self.keys_with_certs(|p| *p == KeyPurpose::Tsa).await? {
            let cert =
                Certificate::from_der(&der).map_err(|e| AppError::Internal(e.to_string()))?;
            let signer = self.keyring.open(&k.key_ref.parse()?)?;
            let policy = self.config.tsa.policy.parse().map_err(|_| {
                AppError::BadRequest(format!(
                    "tsa.policy {:?} is not an OID",
                    self.config.tsa.policy
                ))
            })?;
            // The CA certificates above the TSA (not the root) travel in tokens, so a relying party
            // holding only the root can follow the chain.
            let mut chain = Vec::new();
            let mut cur = cert.clone();
            while chain.len() < 8 {
                let Some(k) = loaded.keys.values().find(|k| {
                    sealpki_pki::issue::verify_signed_by(&cur, k.issuer.certificate()).is_ok()
                }) else {
                    break;
                };
                let c = k.issuer.certificate().clone();
                if c.tbs_certificate.subject == c.tbs_certificate.issuer {
                    break;
                }
                chain.push(c.clone());
                cur = c;
            }
            loaded.tsa = Some(Arc::new(sealpki_pki::tsa::Tsa {
                cert,
                chain,
                cert_der: der,
                scheme: signer.algorithm().default_scheme(),
                signer,
                policy,
                accuracy_millis: self.config.tsa.accuracy_millis,
            }));
        }
        // Delegated OCSP responders: the newest key with purpose "ocsp:CA" and its certificate.
        for (k, der) in self
            .keys_with_certs(|p| matches!(p, KeyPurpose::Ocsp(_)))
            .await?
        {
            let KeyPurpose::Ocsp(label) = k.purpose.clone() else {
                continue;
            };
            let cert =
                Certificate::from_der(&der).map_err(|e| AppError::Internal(e.to_string()))?;
            let signer = self.keyring.open(&k.key_ref.parse()?)?;
            let Some(key) = loaded.keys.get(&label) else {
                continue;
            };
            let hashes = sealpki_pki::revocation::IssuerHashes::of(key.issuer.certificate())?;
            let responder = Responder {
                cert,
                cert_der: der,
                scheme: signer.algorithm().default_scheme(),
                signer,
            };
            let responder = Arc::new(responder);
            loaded
                .responders
                .insert(label, Arc::new(OcspCa { hashes, responder }));
        }
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        Ok(())
    }

    /// The time-stamping unit, if the ceremony made one.
    pub fn tsa(&self) -> Option<Arc<sealpki_pki::tsa::Tsa>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .tsa
            .clone()
    }

    /// Answer a TimeStampReq (DER): Ok(reply) for a token, Err(reply) for a rejection.
    pub async fn timestamp(&self, request: &[u8]) -> Result<Result<Vec<u8>, Vec<u8>>, AppError> {
        use sealpki_pki::tsa::{parse_request, reject};
        let req = match parse_request(request) {
            Ok(r) => r,
            Err(e) => return Ok(Err(reject(&e))),
        };
        let tsa = self.tsa().ok_or_else(|| {
            AppError::Unavailable("no time-stamping key: run the key ceremony".into())
        })?;
        let (_, serial_hex) = sealpki_pki::issue::random_serial();
        let serial = hex::decode(&serial_hex).map_err(|e| AppError::Internal(e.to_string()))?;
        let reply =
            tokio::task::spawn_blocking(move || tsa.respond(&req, &serial, SystemTime::now()))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
        self.metrics.timestamps.inc();
        Ok(Ok(reply))
    }

    /// The delegated OCSP responder of a CA key and the hashes that name it, if it has one.
    pub fn responder(&self, ca: &str) -> Option<Arc<OcspCa>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .responders
            .get(ca)
            .cloned()
    }

    pub fn is_initialised(&self) -> bool {
        !self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .issuers
            .is_empty()
    }

    pub fn profiles(&self) -> Result<Profiles, AppError> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .profiles
            .clone()
            .ok_or_else(|| {
                AppError::Unavailable("no profiles stored: run `sealpki init` first".into())
            })
    }

    /// The issuing key of CA `ca`.
    pub fn issuer(&self, ca: &str) -> Result<Issuer, AppError> {
        Ok(self.issuing_key(ca)?.issuer.clone())
    }

    pub fn issuing_key(&self, ca: &str) -> Result<Arc<CaKey>, AppError> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .issuers
            .get(ca)
            .cloned()
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "no CA named {ca:?} (expected one of {})",
                    CA_NAMES.join(", ")
                ))
            })
    }

    /// A CA key that serves status, by label (`seal`, or `seal-g7` after a rollover).
    pub fn ca_key(&self, label: &str) -> Result<Arc<CaKey>, AppError> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .get(label)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("no CA key labelled {label:?}")))
    }

    /// Every CA key that serves status, by generation then name.
    pub fn ca_keys(&self) -> Vec<Arc<CaKey>> {
        let mut keys: Vec<_> = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .values()
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.generation, a.name()).cmp(&(b.generation, b.name())));
        keys
    }

    /// One summary per CA key that serves status (for `ca list` and `GET /api/v1/cas`): the
    /// issuing key of each CA, and keys a rollover kept for status (`issuing: false`).
    pub fn ca_summaries(&self) -> Vec<serde_json::Value> {
        let mut keys = self.ca_keys();
        keys.sort_by_key(|k| {
            (
                CA_NAMES.iter().position(|n| *n == k.name()),
                !k.active,
                k.generation,
            )
        });
        keys.iter()
            .map(|k| {
                let i = &k.issuer;
                let tbs = &i.certificate().tbs_certificate;
                json!({
                    "name": k.name(),
                    "label": k.label,
                    "issuing": k.active,
                    "generation": k.generation,
                    "subject": tbs.subject.to_string(),
                    "serial": sealpki_pki::issue::serial_hex(&tbs.serial_number),
                    "sha256": sealpki_pki::alg::sha256_hex(i.der()),
                    "algorithm": i.signer().algorithm().name(),
                    "key": i.signer().key_ref().to_string(),
                    "not_after": unix(i.not_after()),
                })
            })
            .collect()
    }

    /// The name of the CA that certifies CA `name`.
    pub fn parent_of(&self, name: &str) -> Option<String> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .parents
            .get(name)
            .cloned()
    }

    /// The issuing CA's certificate first, then each parent up to the root.
    pub fn chain(&self, ca: &str) -> Result<Vec<Vec<u8>>, AppError> {
        let label = self.issuing_key(ca)?.label.clone();
        self.key_chain(&label)
    }

    /// A CA key's certificate first, then the parent key that signed it, up to the root.
    pub fn key_chain(&self, label: &str) -> Result<Vec<Vec<u8>>, AppError> {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let mut key = loaded
            .keys
            .get(label)
            .ok_or_else(|| AppError::NotFound(format!("no CA key labelled {label:?}")))?;
        let mut out = vec![key.issuer.der().to_vec()];
        while let Some(parent) = loaded.parents.get(key.name()) {
            // Of the parent's keys, the one whose signature the certificate carries.
            let cert = key.issuer.certificate();
            let Some(next) = loaded.keys.values().find(|k| {
                k.name() == parent
                    && sealpki_pki::issue::verify_signed_by(cert, k.issuer.certificate()).is_ok()
            }) else {
                break;
            };
            if out.len() >= 8 {
                break;
            }
            out.push(next.issuer.der().to_vec());
            key = next;
        }
        Ok(out)
    }

    /// Whether another instance changed the CA keys (a rollover) since they were loaded.
    pub async fn ca_keys_changed(&self) -> Result<bool, AppError> {
        let stored = self.store.ca_next_generation().await? - 1;
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation;
        Ok(stored != loaded)
    }

    /// Keys whose purpose matches, with their certificates (DER), oldest first.
    async fn keys_with_certs(
        &self,
        purpose: impl Fn(&KeyPurpose) -> bool,
    ) -> Result<Vec<(crate::store::KeyRow, Vec<u8>)>, AppError> {
        let mut out = Vec::new();
        for k in self
            .store
            .key_list()
            .await?
            .into_iter()
            .filter(|k| purpose(&k.purpose))
        {
            let Some(serial) = &k.cert_serial else {
                continue;
            };
            if let Some(der) = self.store.cert_get(serial).await?.and_then(|c| c.der) {
                out.push((k, der));
            }
        }
        Ok(out)
    }

    /// Certificates of the keys with purpose "audit" whose path to one of our roots (any generation of
    /// our CAs helping) validates for signing: the keys trusted to sign audit checkpoints. Each is
    /// judged within its own validity, so checkpoints signed before it expired stay verifiable.
    pub async fn audit_certs(&self) -> Result<Vec<Vec<u8>>, AppError> {
        let cas = self
            .store
            .ca_list(false)
            .await?
            .into_iter()
            .filter_map(|c| Certificate::from_der(&c.cert_der).ok())
            .collect::<Vec<_>>();
        let (roots, pool): (Vec<Certificate>, Vec<Certificate>) = cas
            .into_iter()
            .partition(|c| c.tbs_certificate.issuer == c.tbs_certificate.subject);
        let mut out = Vec::new();
        for (_, der) in self.keys_with_certs(|p| *p == KeyPurpose::Audit).await? {
            let cert =
                Certificate::from_der(&der).map_err(|e| AppError::Internal(e.to_string()))?;
            let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
            let at = std::time::SystemTime::now().min(not_after);
            let opts = sealpki_pki::validate::Options::new(
                sealpki_pki::validate::Purpose::DocumentSigning,
                at,
            );
            let path = sealpki_pki::validate::validate_certs(&cert, &pool, &roots, &opts);
            if path.is_valid() {
                out.push(der);
            } else {
                tracing::warn!(reason = %path.summary(), "an audit certificate does not validate");
            }
        }
        Ok(out)
    }
}
