//! Revocation artefacts: RFC 5280 reasons, full and delta CRLs signed by an issuer, and RFC 6960 OCSP
//! responses signed by a delegated responder. Pure functions: the caller supplies the revocation data.

use std::str::FromStr;
use std::time::SystemTime;

use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BaseCrlNumber, CrlNumber, CrlReason};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};

use crate::alg::{verify, SignatureScheme};
use crate::issue::{x509_time, IssueError, Issuer};
use crate::keys::Signer;

/// RFC 5280 §5.3.1 reason codes, by their RFC names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    RemoveFromCrl,
    PrivilegeWithdrawn,
    AaCompromise,
}

const REASONS: [(Reason, &str, CrlReason); 10] = [
    (Reason::Unspecified, "unspecified", CrlReason::Unspecified),
    (
        Reason::KeyCompromise,
        "keyCompromise",
        CrlReason::KeyCompromise,
    ),
    (
        Reason::CaCompromise,
        "cACompromise",
        CrlReason::CaCompromise,
    ),
    (
        Reason::AffiliationChanged,
        "affiliationChanged",
        CrlReason::AffiliationChanged,
    ),
    (Reason::Superseded, "superseded", CrlReason::Superseded),
    (
        Reason::CessationOfOperation,
        "cessationOfOperation",
        CrlReason::CessationOfOperation,
    ),
    (
        Reason::CertificateHold,
        "certificateHold",
        CrlReason::CertificateHold,
    ),
    (
        Reason::RemoveFromCrl,
        "removeFromCRL",
        CrlReason::RemoveFromCRL,
    ),
    (
        Reason::PrivilegeWithdrawn,
        "privilegeWithdrawn",
        CrlReason::PrivilegeWithdrawn,
    ),
    (
        Reason::AaCompromise,
        "aACompromise",
        CrlReason::AaCompromise,
    ),
];

impl Reason {
    pub fn name(self) -> &'static str {
        REASONS
            .iter()
            .find(|r| r.0 == self)
            .map(|r| r.1)
            .expect("every reason is listed")
    }
    fn code(self) -> CrlReason {
        REASONS
            .iter()
            .find(|r| r.0 == self)
            .map(|r| r.2)
            .expect("every reason is listed")
    }
}

impl FromStr for Reason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        REASONS
            .iter()
            .find(|r| r.1.eq_ignore_ascii_case(s))
            .map(|r| r.0)
            .ok_or_else(|| {
                format!(
                    "unknown reason {s:?}; one of {}",
                    REASONS.iter().map(|r| r.1).collect::<Vec<_>>().join(", ")
                )
            })
    }
}

/// One line of a CRL.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Upper-case hex, as stored.
    pub serial_hex: String,
    pub revoked_at: SystemTime,
    pub reason: Reason,
}

fn enc(e: der::Error) -> IssueError {
    IssueError::Encoding(e.to_string())
}

fn serial_from_hex(hex_str: &str) -> Result<SerialNumber, IssueError> {
    let bytes =
        hex::decode(hex_str).map_err(|_| IssueError::Encoding(format!("serial {hex_str:?}")))?;
    SerialNumber::new(&bytes).map_err(enc)
}

fn ext<T: AsExtension>(v: &T, issuer: &Issuer, critical: bool) -> Result<Extension, IssueError> {
    let mut e = v
        .to_extension(&issuer.certificate().tbs_certificate.subject, &[])
        .map_err(enc)?;
    e.critical = critical;
    Ok(e)
}

/// What kind of CRL to build.
pub enum CrlKind {
    Full,
    /// A delta against the full CRL with this number.
    Delta {
        base: u64,
    },
}

/// Build and sign a CRL. `number` must exceed every number this CA used before (full and delta share
/// one sequence). Entries with `RemoveFromCrl` belong in deltas only.
pub fn build_crl(
    issuer: &Issuer,
    kind: CrlKind,
    number: u64,
    this_update: SystemTime,
    next_update: SystemTime,
    entries: &[Entry],
) -> Result<Vec<u8>, IssueError> {
    let mut revoked = Vec::with_capacity(entries.len());
    for e in entries {
        if matches!(kind, CrlKind::Full) && e.reason == Reason::RemoveFromCrl {
            return Err(IssueError::Encoding(
                "removeFromCRL belongs in delta CRLs only".into(),
            ));
        }
        // RFC 5280 §5.3.1: reason code unspecified SHOULD be absent rather than present.
        let crl_entry_extensions = if e.reason == Reason::Unspecified {
            None
        } else {
            Some(vec![Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(e.reason.code().to_der().map_err(enc)?)
                    .map_err(enc)?,
            }])
        };
        revoked.push(RevokedCert {
            serial_number: serial_from_hex(&e.serial_hex)?,
            revocation_date: x509_time(e.revoked_at)?,
            crl_entry_extensions,
        });
    }
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id()).map_err(enc)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let mut exts = vec![
        ext(&aki, issuer, false)?,
        ext(
            &CrlNumber(der::asn1::Uint::new(&number.to_be_bytes()).map_err(enc)?),
            issuer,
            false,
        )?,
    ];
    if let CrlKind::Delta { base } = kind {
        exts.push(ext(
            &BaseCrlNumber(der::asn1::Uint::new(&base.to_be_bytes()).map_err(enc)?),
            issuer,
            true,
        )?);
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: issuer.scheme().algorithm_identifier(),
        issuer: issuer.certificate().tbs_certificate.subject.clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(revoked)
        },
        crl_extensions: Some(exts),
    };
    let tbs_der = tbs.to_der().map_err(enc)?;
    let sig = issuer.signer().sign(issuer.scheme(), &tbs_der)?;
    verify(
        issuer.signer().public_key(),
        issuer.scheme(),
        &tbs_der,
        &sig,
    )
    .map_err(|_| IssueError::SignatureCheck)?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: issuer.scheme().algorithm_identifier(),
        signature: BitString::from_bytes(&sig).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

/// Extend a certificate's CRL distribution to deltas: the freshestCRL extension value.
pub fn freshest_crl(url: &str) -> Result<x509_cert::ext::pkix::FreshestCrl, IssueError> {
    let uri = GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(url).map_err(enc)?);
    Ok(x509_cert::ext::pkix::FreshestCrl(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri])),
        reasons: None,
        crl_issuer: None,
    }]))
}

// ---- OCSP ---------------------------------------------------------------------------------------

/// Requests larger than this are refused before parsing.
pub const MAX_OCSP_REQUEST: usize = 16 * 1024;

/// A parsed OCSP request: the certificates asked about and the nonce, if any.
pub struct ParsedRequest {
    pub ids: Vec<CertId>,
    pub nonce: Option<Extension>,
}

#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
}

pub fn parse_ocsp_request(der_bytes: &[u8]) -> Result<ParsedRequest, OcspError> {
    if der_bytes.len() > MAX_OCSP_REQUEST {
        return Err(OcspError::Malformed("request too large".into()));
    }
    let req = OcspRequest::from_der(der_bytes).map_err(|e| OcspError::Malformed(e.to_string()))?;
    if req.tbs_request.request_list.is_empty() || req.tbs_request.request_list.len() > 32 {
        return Err(OcspError::Malformed(
            "request list must hold 1 to 32 entries".into(),
        ));
    }
    let nonce = req.tbs_request.request_extensions.as_ref().and_then(|e| {
        e.iter()
            .find(|x| x.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE)
            .cloned()
    });
    if let Some(n) = &nonce {
        // RFC 8954: a nonce is 1 to 32 octets.
        let len = OctetString::from_der(n.extn_value.as_bytes())
            .map(|o| o.as_bytes().len())
            .unwrap_or(n.extn_value.as_bytes().len());
        if len == 0 || len > 32 {
            return Err(OcspError::Malformed("nonce must be 1 to 32 octets".into()));
        }
    }
    Ok(ParsedRequest {
        ids: req
            .tbs_request
            .request_list
            .into_iter()
            .map(|r| r.req_cert)
            .collect(),
        nonce,
    })
}

/// The two hashes by which OCSP names an issuer, for SHA-1 (what OpenSSL sends) and SHA-256.
pub struct IssuerHashes {
    sha1: (Vec<u8>, Vec<u8>),
    sha256: (Vec<u8>, Vec<u8>),
}

impl IssuerHashes {
    pub fn of(issuer: &Certificate) -> Result<Self, IssueError> {
        use sha2::Digest;
        let name = issuer.tbs_certificate.subject.to_der().map_err(enc)?;
        let key = issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        Ok(IssuerHashes {
            sha1: (
                sha1::Sha1::digest(&name).to_vec(),
                sha1::Sha1::digest(key).to_vec(),
            ),
            sha256: (
                sha2::Sha256::digest(&name).to_vec(),
                sha2::Sha256::digest(key).to_vec(),
            ),
        })
    }

    /// Whether `id` names this issuer (by name and key hash).
    pub fn matches(&self, id: &CertId) -> bool {
        let pair = match id.hash_algorithm.oid {
            o if o == const_oid::db::rfc5912::ID_SHA_1 => &self.sha1,
            o if o == const_oid::db::rfc5912::ID_SHA_256 => &self.sha256,
            _ => return false,
        };
        id.issuer_name_hash.as_bytes() == pair.0.as_slice()
            && id.issuer_key_hash.as_bytes() == pair.1.as_slice()
    }
}

/// The answer for one certificate.
#[derive(Clone, Debug)]
pub enum Status {
    Good,
    Revoked { at: SystemTime, reason: Reason },
    Unknown,
}

/// A delegated OCSP responder: its certificate (issued by the CA it answers for) and key.
pub struct Responder {
    pub cert: Certificate,
    pub cert_der: Vec<u8>,
    pub signer: std::sync::Arc<dyn Signer>,
    pub scheme: SignatureScheme,
}

fn ocsp_time(t: SystemTime) -> Result<OcspGeneralizedTime, IssueError> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    Ok(OcspGeneralizedTime::from(
        GeneralizedTime::from_system_time(t).map_err(enc)?,
    ))
}

impl Responder {
    /// Sign a successful response for `answers`, echoing `nonce` when given.
    pub fn respond(
        &self,
        answers: &[(CertId, Status)],
        nonce: Option<Extension>,
        now: SystemTime,
        next_update: SystemTime,
    ) -> Result<Vec<u8>, IssueError> {
        use sha1::Digest;
        let key_hash = sha1::Sha1::digest(
            self.cert
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        );
        let mut responses = Vec::with_capacity(answers.len());
        for (id, status) in answers {
            let cert_status = match status {
                Status::Good => CertStatus::good(),
                Status::Unknown => CertStatus::unknown(),
                Status::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                    revocation_time: ocsp_time(*at)?,
                    revocation_reason: (*reason != Reason::Unspecified).then(|| reason.code()),
                }),
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update: ocsp_time(now)?,
                next_update: Some(ocsp_time(next_update)?),
                single_extensions: None,
            });
        }
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(OctetString::new(key_hash.to_vec()).map_err(enc)?),
            produced_at: ocsp_time(now)?,
            responses,
            response_extensions: nonce.map(|n| vec![n]),
        };
        let tbs = data.to_der().map_err(enc)?;
        let sig = self.signer.sign(self.scheme, &tbs)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: self.scheme.algorithm_identifier(),
            signature: BitString::from_bytes(&sig).map_err(enc)?,
            certs: Some(vec![self.cert.clone()]),
        };
        OcspResponse::successful(basic)
            .map_err(enc)?
            .to_der()
            .map_err(enc)
    }
}

/// The DER of an unsuccessful OCSP response (malformedRequest, unauthorized, internalError, tryLater).
pub fn ocsp_error(kind: &str) -> Vec<u8> {
    let r = match kind {
        "unauthorized" => OcspResponse::unauthorized(),
        "internal" => OcspResponse::internal_error(),
        "try-later" => OcspResponse::try_later(),
        _ => OcspResponse::malformed_request(),
    };
    r.to_der().expect("fixed responses encode")
}
