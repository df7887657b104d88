//! Certificate signing requests: parsing (PEM or DER) and proof of possession. A `VerifiedCsr` can only
//! be made by checking the request's self-signature, so issuance from a CSR cannot skip that check.

use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

use crate::alg::{verify, AlgError, KeyAlgorithm, SignatureScheme};

const EXTENSION_REQUEST: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
/// Requests larger than this are refused before parsing.
pub const MAX_CSR_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    #[error("CSR is empty")]
    Empty,
    #[error("CSR is larger than {MAX_CSR_BYTES} bytes")]
    TooLarge,
    #[error("CSR PEM is malformed: {0}")]
    Pem(String),
    #[error("CSR DER is malformed: {0}")]
    Der(String),
    #[error("CSR version must be v1 (0)")]
    Version,
    #[error("CSR key: {0}")]
    Key(AlgError),
    #[error("CSR signature algorithm: {0}")]
    SignatureAlgorithm(AlgError),
    #[error("CSR self-signature does not verify (no proof of possession)")]
    BadSignature,
    #[error("CSR extension request is malformed: {0}")]
    Extensions(String),
}

/// A request whose signature has been checked against its own public key.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    subject: Name,
    public_key: SubjectPublicKeyInfoOwned,
    algorithm: KeyAlgorithm,
    san: Option<SubjectAltName>,
}

impl VerifiedCsr {
    /// Parse PEM (`CERTIFICATE REQUEST`) or DER and verify proof of possession.
    pub fn parse(input: &[u8]) -> Result<Self, CsrError> {
        if input.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(CsrError::Empty);
        }
        if input.len() > MAX_CSR_BYTES {
            return Err(CsrError::TooLarge);
        }
        let trimmed = input.trim_ascii_start();
        let der = if trimmed.starts_with(b"-----BEGIN") {
            let (label, der) =
                der::pem::decode_vec(trimmed).map_err(|e| CsrError::Pem(e.to_string()))?;
            if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
                return Err(CsrError::Pem(format!("unexpected PEM label {label:?}")));
            }
            der
        } else {
            input.to_vec()
        };
        let req = CertReq::from_der(&der).map_err(|e| CsrError::Der(e.to_string()))?;
        if req.info.version != x509_cert::request::Version::V1 {
            return Err(CsrError::Version);
        }
        let algorithm = KeyAlgorithm::of_spki(&req.info.public_key).map_err(CsrError::Key)?;
        let scheme = SignatureScheme::from_algorithm_identifier(&req.algorithm)
            .map_err(CsrError::SignatureAlgorithm)?;
        let tbs = req
            .info
            .to_der()
            .map_err(|e| CsrError::Der(e.to_string()))?;
        let sig = req.signature.as_bytes().ok_or(CsrError::BadSignature)?;
        verify(&req.info.public_key, scheme, &tbs, sig).map_err(|e| match e {
            AlgError::Mismatch { .. } => CsrError::SignatureAlgorithm(e),
            _ => CsrError::BadSignature,
        })?;
        let mut san = None;
        for attr in req.info.attributes.iter() {
            if attr.oid != EXTENSION_REQUEST {
                continue;
            }
            for value in attr.values.iter() {
                let exts: x509_cert::ext::Extensions = value
                    .decode_as()
                    .map_err(|e| CsrError::Extensions(e.to_string()))?;
                for ext in exts {
                    if ext.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME {
                        san = Some(
                            SubjectAltName::from_der(ext.extn_value.as_bytes())
                                .map_err(|e| CsrError::Extensions(e.to_string()))?,
                        );
                    }
                }
            }
        }
        Ok(VerifiedCsr {
            subject: req.info.subject,
            public_key: req.info.public_key,
            algorithm,
            san,
        })
    }

    pub fn subject(&self) -> &Name {
        &self.subject
    }
    pub fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }
    pub fn san(&self) -> Option<&SubjectAltName> {
        self.san.as_ref()
    }
}

/// Build a CSR signed by `signer` (used by tests, the CLI and key ceremonies).
pub fn build(
    signer: &dyn crate::keys::Signer,
    subject: Name,
    dns_names: &[&str],
) -> Result<Vec<u8>, crate::keys::KeyError> {
    use x509_cert::request::CertReqInfo;
    let enc = |e: der::Error| crate::keys::KeyError::Crypto(e.to_string());
    let mut attributes = der::asn1::SetOfVec::new();
    if !dns_names.is_empty() {
        let names = dns_names
            .iter()
            .map(|d| {
                der::asn1::Ia5String::new(d).map(x509_cert::ext::pkix::name::GeneralName::DnsName)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(enc)?;
        let ext = x509_cert::ext::Extension {
            extn_id: const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: der::asn1::OctetString::new(SubjectAltName(names).to_der().map_err(enc)?)
                .map_err(enc)?,
        };
        let exts: x509_cert::ext::Extensions = vec![ext];
        let value = der::asn1::Any::encode_from(&exts).map_err(enc)?;
        let attr = x509_cert::attr::Attribute {
            oid: EXTENSION_REQUEST,
            values: der::asn1::SetOfVec::try_from(vec![value]).map_err(enc)?,
        };
        attributes.insert(attr).map_err(enc)?;
    }
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject,
        public_key: signer.public_key().clone(),
        attributes,
    };
    let scheme = signer.algorithm().default_scheme();
    let sig = signer.sign(scheme, &info.to_der().map_err(enc)?)?;
    let req = CertReq {
        info,
        algorithm: scheme.algorithm_identifier(),
        signature: der::asn1::BitString::from_bytes(&sig).map_err(enc)?,
    };
    req.to_der().map_err(enc)
}
