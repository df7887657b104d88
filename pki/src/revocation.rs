//! Revocation artefacts: RFC 5280 reasons, full and delta CRLs signed by an issuer, and RFC 6960 OCSP
//! responses signed by a delegated responder. Pure functions: the caller supplies the revocation data.

use std::str::FromStr;
use std::time::SystemTime;

use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BaseCrlNumber, CrlNumber, CrlReason};
use x509_cert::ext::{AsExtension, Extension};
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

/// One line of a CRL, held compactly (a CRL may have millions): the serial's magnitude inline,
/// the revocation time in seconds, the reason.
#[derive(Clone, Debug)]
pub struct Entry {
    serial: [u8; 20],
    len: u8,
    secs: u64,
    reason: Reason,
}

impl Entry {
    /// `serial_hex` as stored (upper- or lower-case hex, as `openssl x509 -serial` prints it).
    pub fn new(
        serial_hex: &str,
        revoked_at: SystemTime,
        reason: Reason,
    ) -> Result<Self, IssueError> {
        let bad = || IssueError::Encoding(format!("serial {serial_hex:?}"));
        let hex_bytes = serial_hex.as_bytes();
        if hex_bytes.is_empty() || !hex_bytes.len().is_multiple_of(2) || hex_bytes.len() > 42 {
            return Err(bad());
        }
        let mut raw = [0u8; 21];
        let n = hex_bytes.len() / 2;
        hex::decode_to_slice(hex_bytes, &mut raw[..n]).map_err(|_| bad())?;
        let start = raw[..n]
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(n.saturating_sub(1));
        let magnitude = &raw[start..n];
        if magnitude.is_empty() || magnitude.len() > 20 {
            return Err(bad());
        }
        let mut serial = [0u8; 20];
        serial[..magnitude.len()].copy_from_slice(magnitude);
        let secs = revoked_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Entry {
            serial,
            len: magnitude.len() as u8,
            secs,
            reason,
        })
    }

    pub fn reason(&self) -> Reason {
        self.reason
    }

    fn magnitude(&self) -> &[u8] {
        &self.serial[..self.len as usize]
    }

    fn pad(&self) -> bool {
        self.serial[0] & 0x80 != 0
    }

    fn content_len(&self) -> usize {
        let serial = 2 + self.len as usize + usize::from(self.pad());
        let time = if self.secs < 2_524_608_000 { 15 } else { 17 }; // UTCTime before 2050
                                                                    // RFC 5280 §5.3.1: reason code unspecified SHOULD be absent rather than present.
        serial
            + time
            + if self.reason == Reason::Unspecified {
                0
            } else {
                14
            }
    }

    fn put(&self, out: &mut Vec<u8>) {
        header(0x30, self.content_len(), out);
        header(0x02, self.len as usize + usize::from(self.pad()), out);
        if self.pad() {
            out.push(0);
        }
        out.extend_from_slice(self.magnitude());
        put_time(self.secs, out);
        if self.reason != Reason::Unspecified {
            // SEQUENCE OF { Extension { id-ce-cRLReasons, OCTET STRING { ENUMERATED code } } }
            let code = self.reason.code() as u8;
            out.extend_from_slice(&[
                0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, code,
            ]);
        }
    }
}

fn enc(e: der::Error) -> IssueError {
    IssueError::Encoding(e.to_string())
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

/// DER tag-length header.
fn header(tag: u8, len: usize, out: &mut Vec<u8>) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().position(|b| *b != 0).unwrap_or(7);
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    header(tag, content.len(), out);
    out.extend_from_slice(content);
}

fn header_len(len: usize) -> usize {
    if len < 0x80 {
        2
    } else {
        2 + (8
            - (len as u64)
                .to_be_bytes()
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(7))
    }
}

/// RFC 5280 time for a CRL entry, written directly: UTCTime `YYMMDDHHMMSSZ` through 2049,
/// GeneralizedTime `YYYYMMDDHHMMSSZ` after. Civil date from days since 1970 (Hinnant's algorithm).
fn put_time(secs: u64, out: &mut Vec<u8>) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let two = |v: i64, out: &mut Vec<u8>| {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8])
    };
    if year < 2050 {
        out.extend_from_slice(&[0x17, 13]);
        two(year % 100, out);
    } else {
        out.extend_from_slice(&[0x18, 15]);
        two(year / 100, out);
        two(year % 100, out);
    }
    two(month, out);
    two(day, out);
    two((rem / 3600) as i64, out);
    two((rem / 60 % 60) as i64, out);
    two((rem % 60) as i64, out);
    out.push(b'Z');
}

/// Build and sign a CRL. `number` must exceed every number this CA used before (full and delta share
/// one sequence). Entries with `RemoveFromCrl` belong in deltas only.
///
/// A CRL may hold millions of small fixed-shape entries, so the revoked list is written directly as
/// DER into the one output buffer (lengths computed first): no value per entry, no copy of the body.
/// RFC 5280 §5.2.5 id-ce-issuingDistributionPoint. (x509-cert 0.2 gives its type the wrong OID, so
/// the extension is assembled here.)
const ID_CE_ISSUING_DISTRIBUTION_POINT: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.5.29.28");

/// The critical issuingDistributionPoint of a partitioned CRL: it covers only the certificates whose
/// distribution point is `url`.
pub fn issuing_distribution_point(url: &str) -> Result<Extension, IssueError> {
    let uri = GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(url).map_err(enc)?);
    let idp = x509_cert::ext::pkix::crl::IssuingDistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri])),
        only_contains_user_certs: false,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    Ok(Extension {
        extn_id: ID_CE_ISSUING_DISTRIBUTION_POINT,
        critical: true,
        extn_value: OctetString::new(idp.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// Build and sign a CRL. `partition` is the distribution-point URL of a partitioned CRL (written as
/// issuingDistributionPoint; a delta carries its base's), `None` for a CRL of every certificate.
#[allow(clippy::too_many_arguments)]
pub fn build_crl(
    issuer: &Issuer,
    kind: CrlKind,
    number: u64,
    this_update: SystemTime,
    next_update: SystemTime,
    entries: &[Entry],
    partition: Option<&str>,
) -> Result<Vec<u8>, IssueError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id()).map_err(enc)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number_int = |n: u64| der::asn1::Uint::new(&n.to_be_bytes()).map_err(enc);
    let mut exts = vec![
        ext(&aki, issuer, false)?,
        ext(&CrlNumber(number_int(number)?), issuer, false)?,
    ];
    let full = match kind {
        CrlKind::Full => true,
        CrlKind::Delta { base } => {
            exts.push(ext(&BaseCrlNumber(number_int(base)?), issuer, true)?);
            false
        }
    };
    if let Some(url) = partition {
        exts.push(issuing_distribution_point(url)?);
    }
    // TBSCertList ::= SEQUENCE { version, signature, issuer, thisUpdate, nextUpdate,
    //                            revokedCertificates OPTIONAL, crlExtensions [0] EXPLICIT }
    let mut prefix = Vec::new();
    prefix.extend(x509_cert::Version::V2.to_der().map_err(enc)?);
    prefix.extend(
        issuer
            .scheme()
            .algorithm_identifier()
            .to_der()
            .map_err(enc)?,
    );
    prefix.extend(
        issuer
            .certificate()
            .tbs_certificate
            .subject
            .to_der()
            .map_err(enc)?,
    );
    prefix.extend(x509_time(this_update)?.to_der().map_err(enc)?);
    prefix.extend(x509_time(next_update)?.to_der().map_err(enc)?);
    let exts_der = exts.to_der().map_err(enc)?;
    if full && entries.iter().any(|e| e.reason == Reason::RemoveFromCrl) {
        return Err(IssueError::Encoding(
            "removeFromCRL belongs in delta CRLs only".into(),
        ));
    }
    let revoked_len: usize = entries
        .iter()
        .map(|e| header_len(e.content_len()) + e.content_len())
        .sum();
    let revoked_total = if entries.is_empty() {
        0
    } else {
        header_len(revoked_len) + revoked_len
    };
    let exts_total = header_len(exts_der.len()) + exts_der.len();
    let tbs_len = prefix.len() + revoked_total + exts_total;
    // Room in front for the outer SEQUENCE header, written once the signature length is known.
    const FRONT: usize = 10;
    let mut buf = Vec::with_capacity(FRONT + header_len(tbs_len) + tbs_len + 160);
    buf.resize(FRONT, 0);
    header(0x30, tbs_len, &mut buf);
    buf.extend_from_slice(&prefix);
    if !entries.is_empty() {
        header(0x30, revoked_len, &mut buf);
        for e in entries {
            e.put(&mut buf);
        }
    }
    tlv(0xa0, &exts_der, &mut buf);
    let tbs = &buf[FRONT..];
    let sig = issuer.signer().sign(issuer.scheme(), tbs)?;
    verify(issuer.signer().public_key(), issuer.scheme(), tbs, &sig)
        .map_err(|_| IssueError::SignatureCheck)?;
    let tbs_total = buf.len() - FRONT;
    let mut rest = issuer
        .scheme()
        .algorithm_identifier()
        .to_der()
        .map_err(enc)?;
    rest.extend(
        BitString::from_bytes(&sig)
            .map_err(enc)?
            .to_der()
            .map_err(enc)?,
    );
    buf.extend_from_slice(&rest);
    let mut outer = Vec::with_capacity(FRONT);
    header(0x30, tbs_total + rest.len(), &mut outer);
    let start = FRONT - outer.len();
    buf[start..FRONT].copy_from_slice(&outer);
    buf.drain(..start);
    Ok(buf)
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

/// An OCSP request (SHA-1 CertID, as every responder understands) for `cert`, issued by `issuer`, with a
/// random nonce so the answer is made fresh.
pub fn ocsp_request(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, IssueError> {
    use sha1::Digest;
    let name = issuer.tbs_certificate.subject.to_der().map_err(enc)?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_1,
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: OctetString::new(sha1::Sha1::digest(&name).to_vec()).map_err(enc)?,
        issuer_key_hash: OctetString::new(sha1::Sha1::digest(key).to_vec()).map_err(enc)?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    };
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let nonce_ext = Extension {
        extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(
            OctetString::new(nonce.to_vec())
                .map_err(enc)?
                .to_der()
                .map_err(enc)?,
        )
        .map_err(enc)?,
    };
    let req = OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![nonce_ext]),
        },
        optional_signature: None,
    };
    req.to_der().map_err(enc)
}

/// What a signed OCSP response says about `cert`, now: the status and the response's thisUpdate.
/// Checked by the path validator's OCSP rules (issuer or delegated OCSPSigning responder, current,
/// and carrying `nonce` — the request's nonce extension value — when one was sent).
pub fn check_ocsp_response(
    der_bytes: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
) -> Result<(Status, SystemTime), String> {
    use crate::validate::revocation as r;
    let issuer = crate::validate::Cert::from_cert(issuer)?;
    let a = r::check_ocsp(der_bytes, cert, &issuer, nonce)?;
    if !r::speaks_for(a.this_update, a.next_update, SystemTime::now()) {
        return Err("the OCSP answer is stale".into());
    }
    let status = match a.status {
        r::Status::Good => Status::Good,
        r::Status::Revoked { at, .. } => Status::Revoked {
            at,
            reason: Reason::Unspecified,
        },
        r::Status::Unknown => Status::Unknown,
    };
    Ok((status, a.this_update))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::software::{SoftKey, SoftSigner};
    use crate::profile::Profiles;
    use std::sync::Arc;

    #[test]
    fn directly_encoded_crl_decodes_as_a_crl() {
        let signer = Arc::new(
            SoftSigner::from_key("t", SoftKey::generate(crate::KeyAlgorithm::P256).unwrap())
                .unwrap(),
        );
        let issuer = Issuer::create_root(
            "root",
            signer,
            crate::SignatureScheme::EcdsaSha256,
            crate::name::parse_dn("CN=t,O=t,C=CN").unwrap(),
            30,
            Profiles::builtin().get("root-ca").unwrap(),
            SystemTime::now(),
        )
        .unwrap();
        let now = SystemTime::now();
        let entries: Vec<Entry> = (1..300u32)
            .map(|i| {
                let serial = format!(
                    "{:032X}",
                    u128::from(i).wrapping_mul(0x8102_0304_0506_0708_090a_0b0c_0d0e_0f11)
                );
                let reason = if i % 2 == 0 {
                    Reason::KeyCompromise
                } else {
                    Reason::Unspecified
                };
                Entry::new(&serial, now, reason).unwrap()
            })
            .collect();
        let der = build_crl(
            &issuer,
            CrlKind::Full,
            7,
            now,
            now + std::time::Duration::from_secs(3600),
            &entries,
            Some("http://pki.example/crl/t-p1.crl"),
        )
        .unwrap();
        let crl = x509_cert::crl::CertificateList::from_der(&der).unwrap();
        let idp = crl
            .tbs_cert_list
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == ID_CE_ISSUING_DISTRIBUTION_POINT)
            .expect("partitioned CRL names its distribution point");
        assert!(idp.critical);
        let idp = x509_cert::ext::pkix::crl::IssuingDistributionPoint::from_der(
            idp.extn_value.as_bytes(),
        )
        .unwrap();
        let Some(DistributionPointName::FullName(names)) = idp.distribution_point else {
            panic!("no full name");
        };
        assert!(
            matches!(&names[0], GeneralName::UniformResourceIdentifier(u) if u.as_str() == "http://pki.example/crl/t-p1.crl")
        );
        let revoked = crl.tbs_cert_list.revoked_certificates.clone().unwrap();
        assert_eq!(revoked.len(), entries.len());
        assert!(
            revoked[1].crl_entry_extensions.is_some() ^ revoked[0].crl_entry_extensions.is_some()
        );
        let tbs = crl.tbs_cert_list.to_der().unwrap();
        verify(
            issuer.signer().public_key(),
            issuer.scheme(),
            &tbs,
            crl.signature.as_bytes().unwrap(),
        )
        .unwrap();
    }
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn direct_times_match_the_der_crate() {
        for secs in [
            0u64,
            951_782_400,
            1_700_000_000,
            2_524_607_999,
            2_524_608_000,
            4_102_444_800,
        ] {
            let mut ours = Vec::new();
            super::put_time(secs, &mut ours);
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let theirs = der::Encode::to_der(&crate::issue::x509_time(t).unwrap()).unwrap();
            assert_eq!(ours, theirs, "{secs}");
        }
    }
}
