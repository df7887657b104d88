//! The signing service: one policy for every document signature made with a key the service holds —
//! `pdf sign --key`, `ses sign --key`, `ses make --maker-key` and `POST /api/v1/pdf/sign`. The front
//! ends parse their input and call here; they hold no certificate checks of their own.
//!
//! For a stored key ([`App::signing_key`]): the caller's permission, the key's purpose (seal keys sign
//! documents, maker keys make seals; CA, TSA, OCSP, audit and general keys are refused, naming the
//! purpose), the certificate from our store (issued, the same certificate, for this key, not revoked
//! or on hold, within its validity period) and its chain from our CA table; afterwards the audit
//! entry ([`App::record_signature`]). A PEM key file ([`SigningKey::from_file`]) is outside our
//! custody: only the key/certificate match is checked and nothing is audited. Both go through the
//! same PAdES level handling ([`pades::sign_pdf`]).

pub mod level;
pub mod ltv;
pub mod pades;
pub mod placement;
pub mod seal_status;

use std::sync::Arc;

use sealpki_pki::der::{Decode, Encode};
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::{KeyRef, SignatureScheme, Signer};
use serde_json::json;

use crate::access::{Actor, Permission};
use crate::app::App;
use crate::error::AppError;
use crate::store::{CertStatusRow, KeyPurpose};

pub use level::Level;

/// What a key is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Sign a document: a PDF or a GB/T 38540 seal signature.
    Document,
    /// Make (sign) a GB/T 38540 seal, as its maker.
    MakeSeal,
}

impl Use {
    fn purpose(self) -> KeyPurpose {
        match self {
            Use::Document => KeyPurpose::Seal,
            Use::MakeSeal => KeyPurpose::Maker,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Use::Document => "signs documents",
            Use::MakeSeal => "makes seals",
        }
    }
}

/// Refuse a key whose purpose is not the one `use_` needs, naming the purpose.
pub fn check_purpose(key: &str, purpose: &KeyPurpose, use_: Use) -> Result<(), AppError> {
    if *purpose == use_.purpose() {
        return Ok(());
    }
    let hint = if purpose.is_authority() {
        "; the authority's own keys never sign documents".to_string()
    } else {
        format!(
            "; make one with `sealpki keys generate --purpose {}`",
            use_.purpose()
        )
    };
    Err(AppError::Denied(format!(
        "key {key} is {}: the signing service {} only with {} keys{hint}",
        purpose.describe(),
        use_.what(),
        use_.purpose()
    )))
}

/// Which certificate goes with a stored key.
pub enum CertChoice {
    /// By serial (HTTP).
    Serial(String),
    /// A certificate file the caller gave (CLI); it must be the one our store holds.
    Given(Box<Certificate>),
}

/// Where a signing key comes from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// One of our key stores, checked and audited.
    Stored {
        key_ref: String,
        serial: String,
        purpose: KeyPurpose,
    },
    /// A PEM key file the caller holds.
    File,
}

/// A key ready to sign, its certificate and the chain to embed (issuing CA first).
#[derive(Clone)]
pub struct SigningKey {
    pub signer: Arc<dyn Signer>,
    pub cert: Certificate,
    pub chain: Vec<Certificate>,
    pub origin: Origin,
    /// The `/Contents` size a signature with this key needs, per scheme, once measured
    /// ([`SigningKey::cms_reserve`]); shared by the key's clones.
    reserves: Arc<std::sync::Mutex<Vec<(SignatureScheme, usize)>>>,
}

impl SigningKey {
    /// A key from a PEM file: the certificate must be for it; nothing else is ours to check.
    pub fn from_file(
        signer: Arc<dyn Signer>,
        cert: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<Self, AppError> {
        if cert.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(AppError::BadRequest(
                "the certificate is not for this key".into(),
            ));
        }
        Ok(SigningKey {
            signer,
            cert,
            chain,
            origin: Origin::File,
            reserves: Default::default(),
        })
    }

    /// The largest CMS this key makes with `cms`'s scheme (the room a PDF signature reserves),
    /// measured once: measuring encodes a whole SignedData, chain and all.
    pub fn cms_reserve(&self, cms: &sealpki_pki::cades::CmsSigner) -> Result<usize, AppError> {
        let kept = |r: &Vec<(SignatureScheme, usize)>| {
            r.iter().find(|(s, _)| *s == cms.scheme).map(|(_, n)| *n)
        };
        let lock = || self.reserves.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = kept(&lock()) {
            return Ok(n);
        }
        let n = cms
            .max_len()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut r = lock();
        if kept(&r).is_none() {
            r.push((cms.scheme, n));
        }
        Ok(n)
    }

    /// The certificate as DER.
    pub fn cert_der(&self) -> Result<Vec<u8>, AppError> {
        self.cert
            .to_der()
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    /// Open stored key `key` for `use_` on behalf of `actor`, with its certificate checked against
    /// our store (see the module documentation).
    pub async fn signing_key(
        &self,
        actor: &Actor,
        key: &str,
        cert: CertChoice,
        use_: Use,
    ) -> Result<SigningKey, AppError> {
        actor.require(Permission::Sign)?;
        self.open_signing_key(key, cert, use_).await
    }

    /// [`App::signing_key`] for a caller whose right to the key was decided elsewhere (a seal's
    /// holders, by `accounts::policy` in `seals`): every check but the platform permission.
    pub(crate) async fn open_signing_key(
        &self,
        key: &str,
        cert: CertChoice,
        use_: Use,
    ) -> Result<SigningKey, AppError> {
        let key_ref: KeyRef = key.parse()?;
        let key_ref_s = key_ref.to_string();
        let recorded = self.store.key_get(&key_ref_s).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "key {key_ref} is not registered (make it with `sealpki keys generate`)"
            ))
        })?;
        check_purpose(&key_ref_s, &recorded.purpose, use_)?;
        let serial = match &cert {
            CertChoice::Serial(s) => crate::public::normalise_serial(s)?,
            CertChoice::Given(c) => {
                sealpki_pki::issue::serial_hex(&c.tbs_certificate.serial_number)
            }
        };
        let row = self.store.cert_get(&serial).await?.ok_or_else(|| {
            AppError::NotFound(format!("no certificate {serial} in this deployment"))
        })?;
        let der = row
            .der
            .as_deref()
            .ok_or_else(|| AppError::Conflict(format!("certificate {serial} is not issued")))?;
        if let CertChoice::Given(c) = &cert {
            if c.to_der().map_err(internal)? != der {
                return Err(AppError::BadRequest(format!(
                    "the certificate given is not the certificate {serial} this deployment issued"
                )));
            }
        }
        let certificate = Certificate::from_der(der).map_err(internal)?;
        let signer = self.keyring.open(&key_ref)?;
        if certificate.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(AppError::BadRequest(format!(
                "certificate {serial} is not for key {key_ref}"
            )));
        }
        match self.store.cert_status(&row.ca_key, &serial).await? {
            CertStatusRow::Good => {}
            CertStatusRow::Revoked { reason, .. } => {
                return Err(AppError::Policy(format!(
                    "certificate {serial} is revoked ({reason}): it cannot sign"
                )))
            }
            CertStatusRow::Unknown => {
                return Err(AppError::Conflict(format!(
                    "certificate {serial} is not issued"
                )))
            }
        }
        let now = std::time::SystemTime::now();
        let validity = &certificate.tbs_certificate.validity;
        if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
            return Err(AppError::Policy(format!(
                "certificate {serial} is outside its validity period: it cannot sign"
            )));
        }
        let chain = self
            .key_chain(&row.ca_key)?
            .iter()
            .map(|d| Certificate::from_der(d).map_err(internal))
            .collect::<Result<_, _>>()?;
        Ok(SigningKey {
            signer,
            cert: certificate,
            chain,
            origin: Origin::Stored {
                key_ref: key_ref_s,
                serial,
                purpose: recorded.purpose,
            },
            reserves: Default::default(),
        })
    }

    /// Audit a signature made with a stored key (`action`: `pdf.sign`, `ses.sign`, `ses.make`);
    /// nothing for key files. `detail` adds what the front end knows (field, level, hashes).
    pub async fn record_signature(
        &self,
        actor: &Actor,
        action: &'static str,
        key: &SigningKey,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        self.record_signature_placed(actor, action, key, detail)
            .await
            .map(|_| ())
    }

    /// [`App::record_signature`], answering where the entry is in the audit chain (sequence
    /// number and hash; none for a key file, which is not audited).
    pub async fn record_signature_placed(
        &self,
        actor: &Actor,
        action: &'static str,
        key: &SigningKey,
        detail: serde_json::Value,
    ) -> Result<Option<crate::ca::committer::ChainPlace>, AppError> {
        let Some(d) = signature_detail(key, detail) else {
            return Ok(None);
        };
        // Group-committed with every other signature and issuance record in flight: one
        // transaction and one fsync for many, each caller answered once its entry is durable.
        Ok(self
            .committer
            .commit_placed(crate::ca::committer::Record::Audit {
                actor: actor.name.clone(),
                action,
                detail: d,
            })
            .await?)
    }
}

/// The audit detail of a signature made with a stored key (none for key files): the key, its
/// certificate and purpose, and what the front end adds.
fn signature_detail(key: &SigningKey, detail: serde_json::Value) -> Option<serde_json::Value> {
    let Origin::Stored {
        key_ref,
        serial,
        purpose,
    } = &key.origin
    else {
        return None;
    };
    let mut d = json!({"key": key_ref, "certificate": serial, "purpose": purpose.to_string()});
    if let (Some(m), Some(extra)) = (d.as_object_mut(), detail.as_object()) {
        m.extend(extra.clone());
    }
    Some(d)
}

/// A signed PDF whose audit entry (`pdf.sign`) is still to be committed.
pub(crate) struct UnrecordedPdf {
    pub pdf: Vec<u8>,
    pub field: String,
    /// SHA-256 (hex) of the document signed and of the signed result.
    pub input_sha256: String,
    pub output_sha256: String,
    /// None for key files (not audited).
    pub audit: Option<serde_json::Value>,
}

/// A PDF to seal in memory, with where and how.
pub struct PdfJob {
    pub pdf: Vec<u8>,
    pub password: Option<Vec<u8>>,
    /// The seal picture; without it the signature is invisible.
    pub image: Option<sealpki_pki::pdf::image::SealImage>,
    pub placement: placement::Placement,
    /// Several places for the one signature (the apps' API); when given, `placement` only
    /// supplies the seal's size.
    pub spots: Vec<placement::Spot>,
    pub field: Option<String>,
    pub level: Level,
    pub certify: Option<u8>,
    pub reason: Option<String>,
    pub location: Option<String>,
}

impl App {
    /// Seal a PDF held in memory with `key` at `job.level` (off the executor), then audit it
    /// (`pdf.sign`, with `detail` added): the signed bytes and the signature field's name.
    pub async fn sign_pdf_bytes(
        &self,
        actor: &Actor,
        key: SigningKey,
        job: PdfJob,
        detail: serde_json::Value,
    ) -> Result<(Vec<u8>, String), AppError> {
        let s = self.sign_pdf_bytes_placed(actor, key, job, detail).await?;
        Ok((s.pdf, s.field))
    }

    /// [`App::sign_pdf_bytes`], answering also where its `pdf.sign` entry is in the audit chain.
    pub async fn sign_pdf_bytes_placed(
        &self,
        actor: &Actor,
        key: SigningKey,
        job: PdfJob,
        detail: serde_json::Value,
    ) -> Result<SignedPdf, AppError> {
        let s = self.sign_pdf_unrecorded(Arc::new(key), job, detail).await?;
        let audit = match s.audit {
            Some(d) => {
                self.committer
                    .commit_placed(crate::ca::committer::Record::Audit {
                        actor: actor.name.clone(),
                        action: "pdf.sign",
                        detail: d,
                    })
                    .await?
            }
            None => None,
        };
        Ok(SignedPdf {
            pdf: s.pdf,
            field: s.field,
            audit,
        })
    }

    /// [`Self::sign_pdf_bytes`] without the audit entry, which the caller commits together with
    /// its own records (the apps' signing API: one group-committed record per sealing). The
    /// caller must commit `audit` before handing the bytes out.
    pub(crate) async fn sign_pdf_unrecorded(
        &self,
        key: Arc<SigningKey>,
        job: PdfJob,
        detail: serde_json::Value,
    ) -> Result<UnrecordedPdf, AppError> {
        use sealpki_pki::pdf::reader::Document;
        use sealpki_pki::pdf::sign::{SignOptions, SubFilter, Timestamper};
        let tsa: Option<Arc<sealpki_pki::tsa::Tsa>> = if job.level.needs_tsa() {
            Some(self.tsa().ok_or_else(|| {
                AppError::Unavailable("no time-stamping key: run the key ceremony".into())
            })?)
        } else {
            None
        };
        let pdf_sha256 = sealpki_pki::alg::sha256_hex(&job.pdf);
        let level = job.level;
        let scheme = key.signer.algorithm().default_scheme();
        // A small document signed with a key in memory costs less than the hand-off to the
        // blocking pool and back (two thread wake-ups, which under load were most of the cost):
        // it is signed on this worker. Large documents, token keys (a call into the token may
        // wait on it) and levels with a timestamp or validation data (a TSA key that may be a
        // token's, CRL and OCSP fetches) go to the blocking pool.
        let inline = job.pdf.len() <= INLINE_SIGN_MAX
            && !job.level.needs_tsa()
            && matches!(
                key.signer.key_ref(),
                sealpki_pki::keys::KeyRef::Software { .. }
            );
        let work = move || -> Result<_, AppError> {
            let doc = Document::open(Box::new(job.pdf), job.password.as_deref())?;
            let appearance = job
                .image
                .map(|i| {
                    if job.spots.is_empty() {
                        placement::appearance(&doc, &job.placement, &i)
                    } else {
                        placement::appearance_at(&doc, &job.spots, job.placement.size_mm, &i)
                    }
                })
                .transpose()?;
            let opts = SignOptions {
                field_name: job.field,
                appearance,
                sub_filter: SubFilter::CadesDetached,
                certify: job.certify,
                reason: job.reason,
                location: job.location,
                contact_info: None,
                signing_time: std::time::SystemTime::now(),
            };
            let mut out = pades::MemoryOutput {
                bytes: Vec::new(),
                password: job.password,
            };
            let t = tsa.map(crate::tsaclient::LocalTsa);
            let signed = pades::sign_pdf(
                &doc,
                &mut out,
                &key,
                scheme,
                &opts,
                level,
                t.as_ref().map(|t| t as &dyn Timestamper),
            )?;
            Ok((key, out.bytes, signed))
        };
        let (key, out, signed) = if inline {
            work()?
        } else {
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??
        };
        let output_sha256 = match signed.sha256 {
            Some(d) => hex::encode(d),
            None => sealpki_pki::alg::sha256_hex(&out),
        };
        let mut d = json!({"field": signed.field_name, "level": level.name(),
            "input_sha256": pdf_sha256, "output_sha256": output_sha256,
            "bytes": out.len()});
        if let (Some(m), Some(extra)) = (d.as_object_mut(), detail.as_object()) {
            m.extend(extra.clone());
        }
        Ok(UnrecordedPdf {
            audit: signature_detail(&key, d),
            pdf: out,
            field: signed.field_name,
            input_sha256: pdf_sha256,
            output_sha256,
        })
    }
}

/// Documents up to this size signed with a software key are signed on the async worker itself
/// (about a millisecond of work at most); larger ones on the blocking pool.
const INLINE_SIGN_MAX: usize = 256 * 1024;

/// A PDF signed in memory by [`App::sign_pdf_bytes_placed`].
pub struct SignedPdf {
    pub pdf: Vec<u8>,
    /// The signature field's name.
    pub field: String,
    /// The `pdf.sign` entry's place in the audit chain (none for a key file).
    pub audit: Option<crate::ca::committer::ChainPlace>,
}

/// SHA-256 (hex) of a file, read in 1 MB chunks.
pub fn file_sha256(p: &std::path::Path) -> Result<String, AppError> {
    use sha2::Digest;
    use std::io::Read;
    let mut f =
        std::fs::File::open(p).map_err(|e| AppError::Internal(format!("{}: {e}", p.display())))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(internal)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_seal_keys_sign_documents_and_refusals_name_the_purpose() {
        check_purpose("soft:s", &KeyPurpose::Seal, Use::Document).unwrap();
        check_purpose("soft:m", &KeyPurpose::Maker, Use::MakeSeal).unwrap();
        for (p, needle) in [
            (KeyPurpose::Ca("root".into()), "a CA key (ca:root)"),
            (KeyPurpose::Tsa, "the time-stamping key (tsa)"),
            (
                KeyPurpose::Ocsp("seal".into()),
                "an OCSP responder key (ocsp:seal)",
            ),
            (KeyPurpose::Audit, "the audit key (audit)"),
            (KeyPurpose::General, "a general-purpose key (general)"),
            (KeyPurpose::Maker, "a seal maker's key (maker)"),
        ] {
            let e = check_purpose("soft:k", &p, Use::Document)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert!(check_purpose("soft:s", &KeyPurpose::Seal, Use::MakeSeal).is_err());
    }

    #[test]
    fn purposes_parse_strictly() {
        for s in [
            "ca:root",
            "ocsp:seal-g7",
            "tsa",
            "audit",
            "seal",
            "maker",
            "general",
        ] {
            assert_eq!(KeyPurpose::parse(s).unwrap().to_string(), s);
        }
        for s in ["", "CA:root", "ca:", "ocsp:Seal", "signing", "general "] {
            assert!(KeyPurpose::parse(s).is_none(), "{s:?}");
        }
        assert!(KeyPurpose::generated("tsa").is_none());
        assert_eq!(KeyPurpose::generated("seal"), Some(KeyPurpose::Seal));
    }
}
