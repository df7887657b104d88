//! The signature on one link of a path (a certificate, a CRL, an OCSP response): checked over the
//! bytes as received, with the algorithms a relying party meets — ECDSA P-256/P-384, RSA PKCS#1 v1.5
//! and PSS (2048–8192 bits), SM2 with SM3 and the GM/T 0009 signer ID.

use const_oid::ObjectIdentifier as Oid;
use der::Encode;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::alg::{oid, SignatureScheme};

const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    #[error("unsupported signature algorithm {0}")]
    Algorithm(String),
    #[error("the {0} key cannot make {1} signatures")]
    Mismatch(String, String),
    #[error("unsupported or malformed public key: {0}")]
    Key(String),
    #[error("the signature does not verify")]
    Bad,
}

/// Verify `sig` over `msg` with the key in `spki`, for the signature algorithm `alg`.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    use ring::signature as rs;
    let key_oid = spki.algorithm.oid;
    let raw = spki.subject_public_key.raw_bytes();
    let curve = || -> Option<Oid> { spki.algorithm.parameters.as_ref()?.decode_as().ok() };
    let mismatch = || SigError::Mismatch(key_name(spki), alg.oid.to_string());
    let ring_alg: &dyn rs::VerificationAlgorithm = match alg.oid {
        o if o == oid::SM2_SM3 => {
            if key_oid != oid::EC_PUBLIC_KEY || curve() != Some(oid::SM2_CURVE) {
                return Err(mismatch());
            }
            return crate::alg::verify(spki, SignatureScheme::Sm2Sm3, msg, sig).map_err(
                |e| match e {
                    crate::alg::AlgError::BadSignature
                    | crate::alg::AlgError::BadSignatureEncoding => SigError::Bad,
                    other => SigError::Key(other.to_string()),
                },
            );
        }
        o if o == oid::ECDSA_SHA256 || o == ECDSA_SHA384 => {
            if alg.parameters.is_some() {
                return Err(SigError::Algorithm(format!("{o} with parameters")));
            }
            if key_oid != oid::EC_PUBLIC_KEY {
                return Err(mismatch());
            }
            match (curve(), o == oid::ECDSA_SHA256) {
                (Some(c), true) if c == oid::SECP256R1 => &rs::ECDSA_P256_SHA256_ASN1,
                (Some(c), false) if c == oid::SECP256R1 => &rs::ECDSA_P256_SHA384_ASN1,
                (Some(c), true) if c == SECP384R1 => &rs::ECDSA_P384_SHA256_ASN1,
                (Some(c), false) if c == SECP384R1 => &rs::ECDSA_P384_SHA384_ASN1,
                _ => return Err(SigError::Key(key_name(spki))),
            }
        }
        o if o == oid::RSA_SHA256 || o == RSA_SHA384 || o == RSA_SHA512 => {
            // The parameters must be absent or NULL (RFC 4055).
            if alg
                .parameters
                .as_ref()
                .is_some_and(|p| p.to_der().ok().as_deref() != Some(&[0x05, 0x00]))
            {
                return Err(SigError::Algorithm(format!("{o} with non-NULL parameters")));
            }
            if key_oid != oid::RSA_ENCRYPTION {
                return Err(mismatch());
            }
            match o {
                o if o == oid::RSA_SHA256 => &rs::RSA_PKCS1_2048_8192_SHA256,
                o if o == RSA_SHA384 => &rs::RSA_PKCS1_2048_8192_SHA384,
                _ => &rs::RSA_PKCS1_2048_8192_SHA512,
            }
        }
        o if o == oid::RSA_PSS => {
            if SignatureScheme::from_algorithm_identifier(alg).is_err() {
                return Err(SigError::Algorithm(
                    "RSASSA-PSS other than SHA-256, MGF1-SHA-256, salt 32".into(),
                ));
            }
            if key_oid != oid::RSA_ENCRYPTION {
                return Err(mismatch());
            }
            &rs::RSA_PSS_2048_8192_SHA256
        }
        other => return Err(SigError::Algorithm(other.to_string())),
    };
    rs::UnparsedPublicKey::new(ring_alg, raw)
        .verify(msg, sig)
        .map_err(|_| SigError::Bad)
}

fn key_name(spki: &SubjectPublicKeyInfoOwned) -> String {
    let curve: Option<Oid> = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok());
    match (spki.algorithm.oid, curve) {
        (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::SECP256R1 => "P-256".into(),
        (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == SECP384R1 => "P-384".into(),
        (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::SM2_CURVE => "SM2".into(),
        (o, Some(c)) if o == oid::EC_PUBLIC_KEY => format!("EC curve {c}"),
        (o, _) if o == oid::RSA_ENCRYPTION => "RSA".into(),
        (o, _) => o.to_string(),
    }
}

/// The bytes of the first element inside a DER SEQUENCE (the signed part of a certificate, CRL or
/// OCSP response), exactly as received — never re-encoded.
pub fn first_element(der_bytes: &[u8]) -> Option<&[u8]> {
    let (_, outer_len) = header(der_bytes)?;
    let body = der_bytes.get(outer_len..)?;
    let (inner_total, _) = header(body)?;
    body.get(..inner_total)
}

/// (total length of the TLV, header length) of the TLV at the start of `b`.
fn header(b: &[u8]) -> Option<(usize, usize)> {
    let _tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, hl) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    Some((hl.checked_add(len)?, hl))
}
