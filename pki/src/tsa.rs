//! RFC 3161 time stamps: answering a TimeStampReq with a token (CMS SignedData over TSTInfo, signed
//! attributes content-type, message-digest and signing-certificate-v2) for P-256, RSA and SM2 keys, and
//! verifying tokens — ours (SM2 included, which OpenSSL cannot check) and other TSAs'.

use std::sync::Arc;
use std::time::SystemTime;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{Any, GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Decode, Encode};
use sha2::Digest;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::alg::{oid, verify, SignatureScheme};
use crate::cades::{
    alg_id, attr, digest, enc, EssCertIdV2, SigningCertificateV2, ID_CONTENT_TYPE,
    ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_CERT_V2, SHA1, SHA256, SHA384, SHA512,
};
use crate::issue::IssueError;
use crate::keys::Signer;

const ID_CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
const TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Requests larger than this are refused before parsing.
pub const MAX_TSA_REQUEST: usize = 16 * 1024;

/// Digest algorithms accepted in message imprints, with their output lengths.
fn digest_len(alg: &Oid) -> Option<usize> {
    match *alg {
        a if a == SHA256 || a == oid::SM3 => Some(32),
        a if a == SHA384 => Some(48),
        a if a == SHA512 => Some(64),
        a if a == SHA1 => Some(20),
        _ => None,
    }
}

/// Why a request was refused: the PKIFailureInfo bit the reply carries.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TspRequestError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported hash algorithm {0}")]
    BadAlg(String),
    #[error("bad data format: {0}")]
    BadDataFormat(String),
}

/// Parse and check a TimeStampReq.
pub fn parse_request(der_bytes: &[u8]) -> Result<TimeStampReq, TspRequestError> {
    if der_bytes.len() > MAX_TSA_REQUEST {
        return Err(TspRequestError::BadRequest("request too large".into()));
    }
    let req = TimeStampReq::from_der(der_bytes)
        .map_err(|e| TspRequestError::BadDataFormat(e.to_string()))?;
    let alg = req.message_imprint.hash_algorithm.oid;
    let len = digest_len(&alg).ok_or_else(|| TspRequestError::BadAlg(alg.to_string()))?;
    if req.message_imprint.hashed_message.as_bytes().len() != len {
        return Err(TspRequestError::BadDataFormat(
            "message imprint length does not match its algorithm".into(),
        ));
    }
    if req.extensions.is_some() {
        return Err(TspRequestError::BadRequest(
            "request extensions are not supported".into(),
        ));
    }
    Ok(req)
}

/// A time-stamping unit: its certificate, key and policy.
pub struct Tsa {
    pub cert: Certificate,
    /// CA certificates between the TSA and the root, sent with tokens that ask for certificates.
    pub chain: Vec<Certificate>,
    pub cert_der: Vec<u8>,
    pub signer: Arc<dyn Signer>,
    pub scheme: SignatureScheme,
    pub policy: Oid,
    /// Accuracy claimed in tokens, in milliseconds.
    pub accuracy_millis: u16,
}

/// A non-negative DER INTEGER from big-endian magnitude bytes (minimal encoding).
fn positive_int(magnitude: &[u8]) -> Result<Int, IssueError> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len().saturating_sub(1));
    let m = &magnitude[start..];
    if m.first().is_some_and(|b| b & 0x80 != 0) {
        Int::new(&[&[0u8][..], m].concat()).map_err(enc)
    } else {
        Int::new(m).map_err(enc)
    }
}

impl Tsa {
    /// The digest algorithm the signer uses with this key (SM3 for SM2).
    fn digest_alg(&self) -> Oid {
        if self.scheme == SignatureScheme::Sm2Sm3 {
            oid::SM3
        } else {
            SHA256
        }
    }

    /// A token (TimeStampToken, DER) over the SM3 hash of `data`, for structures that embed one
    /// (seal timestamps): the same path as a request over HTTP, without the network.
    pub fn token_over(
        &self,
        data: &[u8],
        serial: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, IssueError> {
        self.token_for_digest(&oid::SM3, &sm3::Sm3::digest(data), serial, now)
    }

    /// A token over a digest already made with `alg` (a PDF signature value's hash, for instance).
    pub fn token_for_digest(
        &self,
        alg: &Oid,
        digest: &[u8],
        serial: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, IssueError> {
        let req = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: alg_id(*alg),
                hashed_message: OctetString::new(digest.to_vec()).map_err(enc)?,
            },
            req_policy: None,
            nonce: None,
            cert_req: true,
            extensions: None,
        };
        let der_resp = self.respond(&req, serial, now)?;
        let resp = TimeStampResp::from_der(&der_resp).map_err(enc)?;
        resp.time_stamp_token
            .ok_or_else(|| IssueError::Encoding("the TSA granted no token".into()))?
            .to_der()
            .map_err(enc)
    }

    /// Sign a token for `req` with `serial` (unique per token) at `now`; returns the TimeStampResp DER.
    pub fn respond(
        &self,
        req: &TimeStampReq,
        serial: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, IssueError> {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let gen_time = GeneralizedTime::from_system_time(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
        .map_err(enc)?;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: req.req_policy.unwrap_or(self.policy),
            message_imprint: MessageImprint {
                hash_algorithm: req.message_imprint.hash_algorithm.clone(),
                hashed_message: req.message_imprint.hashed_message.clone(),
            },
            serial_number: positive_int(serial)?,
            gen_time,
            accuracy: Some(x509_tsp::Accuracy {
                seconds: None,
                millis: Some(self.accuracy_millis as i16),
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(enc)?;
        let digest_alg = self.digest_alg();
        let md = digest(&digest_alg, &tst_der).expect("known digest");
        let cert_hash = sha2::Sha256::digest(&self.cert_der);
        let scv2 = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(cert_hash.to_vec()).map_err(enc)?,
            }],
        };
        let mut signed_attrs = SetOfVec::new();
        signed_attrs
            .insert(attr(
                ID_CONTENT_TYPE,
                Any::encode_from(&ID_CT_TST_INFO).map_err(enc)?,
            )?)
            .map_err(enc)?;
        signed_attrs
            .insert(attr(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(md).map_err(enc)?).map_err(enc)?,
            )?)
            .map_err(enc)?;
        signed_attrs
            .insert(attr(
                ID_SIGNING_CERT_V2,
                Any::encode_from(&scv2).map_err(enc)?,
            )?)
            .map_err(enc)?;
        // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
        let to_sign = signed_attrs.to_der().map_err(enc)?;
        let sig = self.signer.sign(self.scheme, &to_sign)?;
        verify(self.signer.public_key(), self.scheme, &to_sign, &sig)
            .map_err(|_| IssueError::SignatureCheck)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.cert.tbs_certificate.issuer.clone(),
                serial_number: self.cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: alg_id(digest_alg),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.scheme.algorithm_identifier(),
            signature: OctetString::new(sig).map_err(enc)?,
            unsigned_attrs: None,
        };
        let mut digests = SetOfVec::new();
        digests.insert(alg_id(digest_alg)).map_err(enc)?;
        let mut certs = SetOfVec::new();
        if req.cert_req {
            for c in std::iter::once(&self.cert).chain(&self.chain) {
                // A SET OF refuses duplicates; a repeated certificate is not an error.
                let _ = certs.insert(cms::cert::CertificateChoices::Certificate(c.clone()));
            }
        }
        let sd = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: digests,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(der::Tag::OctetString, tst_der).map_err(enc)?),
            },
            certificates: if req.cert_req {
                Some(CertificateSet(certs))
            } else {
                None
            },
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(enc)?),
        };
        let token = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).map_err(enc)?,
        };
        let resp = TimeStampResp {
            status: cmpv2::status::PkiStatusInfo {
                status: cmpv2::status::PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        };
        resp.to_der().map_err(enc)
    }
}

/// A TimeStampReq (DER) for `digest` made with `alg`, asking for the certificate, with a random
/// nonce (returned, to check the reply against).
pub fn request_der(alg: &Oid, digest: &[u8]) -> Result<(Vec<u8>, Vec<u8>), IssueError> {
    let mut nonce = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    nonce[0] &= 0x7f;
    nonce[0] |= 0x01;
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: alg_id(*alg),
            hashed_message: OctetString::new(digest.to_vec()).map_err(enc)?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(enc)?),
        cert_req: true,
        extensions: None,
    };
    Ok((req.to_der().map_err(enc)?, nonce.to_vec()))
}

/// The encapsulated TSTInfo of a token: its DER (what the signature covers) and its fields.
fn tst_info(sd: &SignedData) -> Result<(Vec<u8>, TstInfo), TspVerifyError> {
    let mal = |e: der::Error| TspVerifyError::Malformed(e.to_string());
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TspVerifyError::Malformed("no TSTInfo".into()))?;
    let tst_der = OctetString::from_der(&econtent.to_der().map_err(mal)?)
        .map_err(mal)?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(mal)?;
    Ok((tst_der, tst))
}

/// The token of a granted reply, after checking that it answers our request (imprint and nonce).
pub fn token_from_response(
    resp: &[u8],
    alg: &Oid,
    digest: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>, TspVerifyError> {
    let mal = |e: der::Error| TspVerifyError::Malformed(e.to_string());
    let ci = token_of(resp)?;
    let sd: SignedData = ci.content.decode_as().map_err(mal)?;
    let (_, tst) = tst_info(&sd)?;
    if tst.message_imprint.hash_algorithm.oid != *alg
        || tst.message_imprint.hashed_message.as_bytes() != digest
    {
        return Err(TspVerifyError::ImprintMismatch);
    }
    if tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(nonce) {
        return Err(TspVerifyError::Malformed(
            "the reply's nonce is not ours".into(),
        ));
    }
    ci.to_der().map_err(mal)
}

/// Our TSA stamping PDF signatures in-process (random serials, as over HTTP).
impl crate::pdf::sign::Timestamper for Tsa {
    fn size_hint(&self) -> usize {
        // The certificate, TSTInfo (~100 bytes), attributes and signature: 1.5 KB covers the rest.
        self.cert_der.len()
            + self
                .chain
                .iter()
                .map(|c| c.to_der().map(|d| d.len()).unwrap_or(2048))
                .sum::<usize>()
            + 1536
    }

    fn timestamp(&self, alg: &Oid, digest: &[u8]) -> Result<Vec<u8>, String> {
        let (_, serial_hex) = crate::issue::random_serial();
        let serial = hex::decode(serial_hex).map_err(|e| e.to_string())?;
        self.token_for_digest(alg, digest, &serial, SystemTime::now())
            .map_err(|e| e.to_string())
    }
}

/// A rejection reply: status rejection(2) with the PKIFailureInfo bit. Encoded here because the bit order
/// of a named-bit BIT STRING (bit 0 is the most significant bit of the first octet, trailing zero bits
/// dropped) is easy to get wrong, and OpenSSL reads what is on the wire.
pub fn reject(err: &TspRequestError) -> Vec<u8> {
    let bit: u8 = match err {
        TspRequestError::BadAlg(_) => 0,
        TspRequestError::BadRequest(_) => 2,
        TspRequestError::BadDataFormat(_) => 5,
    };
    let (octet, unused) = (0x80u8 >> bit, 7 - bit);
    // TimeStampResp { PKIStatusInfo { status INTEGER 2, failInfo BIT STRING } }
    vec![
        0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, unused, octet,
    ]
}

// ---- verification -----------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TspVerifyError {
    #[error("not a time-stamp response or token: {0}")]
    Malformed(String),
    #[error("the TSA refused the request (status {0})")]
    Rejected(u8),
    #[error("the token signer certificate is not in the token or the given certificates")]
    NoSignerCert,
    #[error("signed attributes: {0}")]
    Attributes(String),
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the signer certificate is not a TSA certificate: {0}")]
    NotTsa(String),
    #[error("the message imprint does not match the data")]
    ImprintMismatch,
    /// No path from the TSA certificate to a trust anchor validates at the token's time.
    #[error("the TSA's certificate path does not validate: {0}")]
    Untrusted(String),
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
}

/// What a verified token says.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub gen_time: SystemTime,
    pub serial_hex: String,
    pub policy: String,
    pub tsa_subject: String,
    pub scheme: SignatureScheme,
    /// False when no trust anchors were given (signature checked, chain not).
    pub trusted: bool,
    /// The TSA's validated path (TSA first, the anchor last) when trusted, for revocation checks.
    pub path: Vec<Certificate>,
}

/// Accepts a TimeStampResp or a bare token (ContentInfo).
fn token_of(input: &[u8]) -> Result<ContentInfo, TspVerifyError> {
    if let Ok(resp) = TimeStampResp::from_der(input) {
        let status = resp.status.status as u8;
        if status > 1 {
            return Err(TspVerifyError::Rejected(status));
        }
        return resp
            .time_stamp_token
            .ok_or_else(|| TspVerifyError::Malformed("granted without a token".into()));
    }
    ContentInfo::from_der(input).map_err(|e| TspVerifyError::Malformed(e.to_string()))
}

/// Verify a time-stamp response or token. `data` (when given) must match the message imprint.
/// `extra` certificates help find the signer and build the chain; `anchors` are trusted.
pub fn verify_token(
    input: &[u8],
    data: Option<&[u8]>,
    extra: &[Certificate],
    anchors: &[Certificate],
) -> Result<VerifiedToken, TspVerifyError> {
    match data {
        Some(d) => verify_token_with(input, Some(&|alg: &Oid| digest(alg, d)), extra, anchors),
        None => verify_token_with(input, None, extra, anchors),
    }
}

/// Computes the expected imprint for a hash algorithm (None when the algorithm is unknown).
pub type Imprint<'a> = dyn Fn(&Oid) -> Option<Vec<u8>> + 'a;

/// As [`verify_token`], with the imprint computed by `imprint` for the token's hash algorithm (for
/// data that is streamed rather than held, such as a PDF byte range).
pub fn verify_token_with(
    input: &[u8],
    imprint: Option<&Imprint>,
    extra: &[Certificate],
    anchors: &[Certificate],
) -> Result<VerifiedToken, TspVerifyError> {
    let mal = |e: der::Error| TspVerifyError::Malformed(e.to_string());
    let ci = token_of(input)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(TspVerifyError::Malformed("token is not SignedData".into()));
    }
    let sd: SignedData = ci.content.decode_as().map_err(mal)?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TspVerifyError::Malformed("content is not TSTInfo".into()));
    }
    let (tst_der, tst) = tst_info(&sd)?;
    let v = crate::cades::verify_signed_data(&sd, extra, &|alg: &Oid| digest(alg, &tst_der))
        .map_err(|e| match e {
            crate::cades::CmsError::Malformed(m) => TspVerifyError::Malformed(m),
            crate::cades::CmsError::NoSignerCert => TspVerifyError::NoSignerCert,
            crate::cades::CmsError::Algorithm(m) => TspVerifyError::Algorithm(m),
            crate::cades::CmsError::DigestMismatch => {
                TspVerifyError::Attributes("message-digest does not match TSTInfo".into())
            }
            crate::cades::CmsError::Attributes(m) => TspVerifyError::Attributes(m),
            crate::cades::CmsError::BadSignature => TspVerifyError::BadSignature,
        })?;
    if v.ess.is_none() {
        return Err(TspVerifyError::Attributes(
            "no signing-certificate attribute".into(),
        ));
    }
    let (signer, pool, scheme) = (v.signer, v.certs, v.scheme);
    // RFC 3161 §2.3: the TSA certificate has exactly one, critical, extended key usage: timeStamping.
    let eku = signer
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
        .ok_or_else(|| TspVerifyError::NotTsa("no extendedKeyUsage".into()))?;
    let ekus =
        x509_cert::ext::pkix::ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).map_err(mal)?;
    if !eku.critical || ekus.0 != vec![TIME_STAMPING] {
        return Err(TspVerifyError::NotTsa(
            "extendedKeyUsage must be timeStamping only, critical".into(),
        ));
    }
    if let Some(imprint) = imprint {
        let h = imprint(&tst.message_imprint.hash_algorithm.oid).ok_or_else(|| {
            TspVerifyError::Algorithm(tst.message_imprint.hash_algorithm.oid.to_string())
        })?;
        if tst.message_imprint.hashed_message.as_bytes() != h.as_slice() {
            return Err(TspVerifyError::ImprintMismatch);
        }
    }
    let gt = tst.gen_time.to_system_time();
    // The TSA's own path, for time stamping, at the time it claims (RFC 3161 §2.3, RFC 5280 §6).
    let (trusted, path) = if anchors.is_empty() {
        (false, Vec::new())
    } else {
        let opts = crate::validate::Options::new(crate::validate::Purpose::TimeStamping, gt);
        let path = crate::validate::validate_certs(&signer, &pool, anchors, &opts);
        if !path.is_valid() {
            return Err(TspVerifyError::Untrusted(path.summary()));
        }
        (true, path.certs)
    };
    Ok(VerifiedToken {
        gen_time: gt,
        serial_hex: hex::encode_upper(tst.serial_number.as_bytes())
            .trim_start_matches("00")
            .to_string(),
        policy: tst.policy.to_string(),
        tsa_subject: crate::name::display(&signer.tbs_certificate.subject),
        scheme,
        trusted,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_decode_with_the_named_bit() {
        for (err, bit) in [
            (TspRequestError::BadAlg("x".into()), 0usize),
            (TspRequestError::BadRequest("x".into()), 2),
            (TspRequestError::BadDataFormat("x".into()), 5),
        ] {
            let der = reject(&err);
            let resp = TimeStampResp::from_der(&der).unwrap();
            assert_eq!(resp.status.status as u8, 2);
            let bits = der::asn1::BitString::from_der(&der[7..]).unwrap();
            assert!(bits.bits().nth(bit).unwrap(), "bit {bit} set");
            assert_eq!(bits.bits().filter(|b| *b).count(), 1);
        }
    }
}
