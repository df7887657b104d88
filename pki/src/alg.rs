//! Key algorithms, signature schemes, their object identifiers and signature verification.

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, UintRef};
use der::{Decode, Encode, Sequence};
use signature::Verifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

/// SM2 signer ID required by GM/T 0009 (OpenSSL's own default is empty: pass `distid:` there).
pub const SM2_DISTID: &str = "1234567812345678";

pub mod oid {
    //! Object identifiers used across the library.
    use const_oid::ObjectIdentifier as Oid;
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const SM2_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
    pub const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
}

/// The kind of key pair. RSA keys may sign with PKCS#1 v1.5 or PSS; the scheme says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    P256,
    Rsa3072,
    Rsa4096,
    Sm2,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 4] = [Self::P256, Self::Rsa3072, Self::Rsa4096, Self::Sm2];

    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "p256",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
            Self::Sm2 => "sm2",
        }
    }

    /// The scheme used when nothing else is asked for.
    pub fn default_scheme(self) -> SignatureScheme {
        match self {
            Self::P256 => SignatureScheme::EcdsaSha256,
            Self::Rsa3072 | Self::Rsa4096 => SignatureScheme::RsaPkcs1Sha256,
            Self::Sm2 => SignatureScheme::Sm2Sm3,
        }
    }

    /// Identify the algorithm of a public key, or say why it is not one we accept.
    pub fn of_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, AlgError> {
        let alg = &spki.algorithm;
        if alg.oid == oid::EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = alg
                .parameters
                .as_ref()
                .ok_or(AlgError::MissingCurve)?
                .decode_as()
                .map_err(|_| AlgError::MissingCurve)?;
            return match curve {
                c if c == oid::SECP256R1 => Ok(Self::P256),
                c if c == oid::SM2_CURVE => Ok(Self::Sm2),
                other => Err(AlgError::UnsupportedCurve(other.to_string())),
            };
        }
        if alg.oid == oid::RSA_ENCRYPTION {
            let key = rsa::RsaPublicKey::try_from(spki_ref(spki)?)
                .map_err(|e| AlgError::BadPublicKey(e.to_string()))?;
            use rsa::traits::PublicKeyParts;
            return match key.n().bits() {
                3072 => Ok(Self::Rsa3072),
                4096 => Ok(Self::Rsa4096),
                bits => Err(AlgError::UnsupportedRsaSize(bits)),
            };
        }
        Err(AlgError::UnsupportedKeyType(alg.oid.to_string()))
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = AlgError;
    fn from_str(s: &str) -> Result<Self, AlgError> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ecdsa-p256" | "prime256v1" => Ok(Self::P256),
            "rsa3072" | "rsa-3072" => Ok(Self::Rsa3072),
            "rsa4096" | "rsa-4096" => Ok(Self::Rsa4096),
            "sm2" => Ok(Self::Sm2),
            _ => Err(AlgError::UnknownName(s.to_string())),
        }
    }
}

/// How a signature is made: key algorithm, hash and padding together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    EcdsaSha256,
    RsaPkcs1Sha256,
    RsaPssSha256,
    Sm2Sm3,
}

impl SignatureScheme {
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaSha256 => "ecdsa-sha256",
            Self::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            Self::RsaPssSha256 => "rsa-pss-sha256",
            Self::Sm2Sm3 => "sm2-sm3",
        }
    }

    pub fn fits(self, key: KeyAlgorithm) -> bool {
        matches!(
            (self, key),
            (Self::EcdsaSha256, KeyAlgorithm::P256)
                | (
                    Self::RsaPkcs1Sha256 | Self::RsaPssSha256,
                    KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
                )
                | (Self::Sm2Sm3, KeyAlgorithm::Sm2)
        )
    }

    /// The AlgorithmIdentifier written into certificates, CRLs and CSRs.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        match self {
            Self::EcdsaSha256 => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_SHA256,
                parameters: None,
            },
            Self::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
                oid: oid::RSA_SHA256,
                parameters: Some(der::asn1::Null.into()),
            },
            // The default PSS parameters for SHA-256 are a fixed, known encoding.
            Self::RsaPssSha256 => rsa::pss::get_default_pss_signature_algo_id::<sha2::Sha256>()
                .expect("static PSS parameters encode"),
            Self::Sm2Sm3 => AlgorithmIdentifierOwned {
                oid: oid::SM2_SM3,
                parameters: None,
            },
        }
    }

    /// Recognise a signature AlgorithmIdentifier.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Self, AlgError> {
        match alg.oid {
            o if o == oid::ECDSA_SHA256 => Ok(Self::EcdsaSha256),
            o if o == oid::RSA_SHA256 => Ok(Self::RsaPkcs1Sha256),
            o if o == oid::RSA_PSS => {
                // Only SHA-256 / MGF1-SHA-256 / salt 32 is accepted: anything else is refused, not guessed.
                if *alg == Self::RsaPssSha256.algorithm_identifier() {
                    Ok(Self::RsaPssSha256)
                } else {
                    Err(AlgError::UnsupportedSignature(
                        "RSASSA-PSS with non-SHA-256 parameters".into(),
                    ))
                }
            }
            o if o == oid::SM2_SM3 => Ok(Self::Sm2Sm3),
            other => Err(AlgError::UnsupportedSignature(other.to_string())),
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SignatureScheme {
    type Err = AlgError;
    fn from_str(s: &str) -> Result<Self, AlgError> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsa-sha256" => Ok(Self::EcdsaSha256),
            "rsa-pkcs1-sha256" | "pkcs1" => Ok(Self::RsaPkcs1Sha256),
            "rsa-pss-sha256" | "pss" => Ok(Self::RsaPssSha256),
            "sm2-sm3" => Ok(Self::Sm2Sm3),
            _ => Err(AlgError::UnknownName(s.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlgError {
    #[error("unknown algorithm name {0:?} (expected p256, rsa3072, rsa4096 or sm2)")]
    UnknownName(String),
    #[error("EC public key without a named curve")]
    MissingCurve,
    #[error("unsupported elliptic curve {0}")]
    UnsupportedCurve(String),
    #[error("unsupported RSA key size {0} bits (3072 or 4096 accepted)")]
    UnsupportedRsaSize(usize),
    #[error("unsupported public key type {0}")]
    UnsupportedKeyType(String),
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignature(String),
    #[error("malformed public key: {0}")]
    BadPublicKey(String),
    #[error("malformed signature value")]
    BadSignatureEncoding,
    #[error("signature does not verify")]
    BadSignature,
    #[error("signature algorithm {scheme} does not fit a {key} key")]
    Mismatch {
        scheme: SignatureScheme,
        key: KeyAlgorithm,
    },
}

fn spki_ref(spki: &SubjectPublicKeyInfoOwned) -> Result<SubjectPublicKeyInfoRef<'_>, AlgError> {
    Ok(SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: spki.algorithm.oid,
            parameters: spki.algorithm.parameters.as_ref().map(AnyRef::from),
        },
        subject_public_key: der::referenced::OwnedToRef::owned_to_ref(&spki.subject_public_key),
    })
}

fn raw_key(spki: &SubjectPublicKeyInfoOwned) -> Result<&[u8], AlgError> {
    spki.subject_public_key
        .as_bytes()
        .ok_or_else(|| AlgError::BadPublicKey("public key bit string has unused bits".into()))
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Encode a raw `r || s` pair (each `half` bytes) as DER `SEQUENCE { r INTEGER, s INTEGER }`.
pub fn raw_rs_to_der(raw: &[u8]) -> Result<Vec<u8>, AlgError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(AlgError::BadSignatureEncoding);
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let v = EcdsaSigValue {
        r: UintRef::new(r).map_err(|_| AlgError::BadSignatureEncoding)?,
        s: UintRef::new(s).map_err(|_| AlgError::BadSignatureEncoding)?,
    };
    v.to_der().map_err(|_| AlgError::BadSignatureEncoding)
}

/// Decode DER `SEQUENCE { r, s }` into a raw `r || s` of `half` bytes each.
pub fn der_to_raw_rs(sig: &[u8], half: usize) -> Result<Vec<u8>, AlgError> {
    let v = EcdsaSigValue::from_der(sig).map_err(|_| AlgError::BadSignatureEncoding)?;
    let mut out = vec![0u8; half * 2];
    for (i, part) in [v.r.as_bytes(), v.s.as_bytes()].iter().enumerate() {
        if part.len() > half {
            return Err(AlgError::BadSignatureEncoding);
        }
        out[i * half + half - part.len()..(i + 1) * half].copy_from_slice(part);
    }
    Ok(out)
}

/// Verify `sig` over `msg` with the key in `spki`, under `scheme`. Signatures are in their X.509
/// encodings (DER for ECDSA and SM2, raw for RSA).
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: SignatureScheme,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), AlgError> {
    let key_alg = KeyAlgorithm::of_spki(spki)?;
    if !scheme.fits(key_alg) {
        return Err(AlgError::Mismatch {
            scheme,
            key: key_alg,
        });
    }
    let bad_key = |e: &dyn fmt::Display| AlgError::BadPublicKey(e.to_string());
    match scheme {
        SignatureScheme::EcdsaSha256 => {
            let raw = raw_key(spki)?;
            // Validate the key and the DER signature as before, then verify in ring (assembly).
            p256::ecdsa::VerifyingKey::from_sec1_bytes(raw).map_err(|e| bad_key(&e))?;
            p256::ecdsa::Signature::from_der(sig).map_err(|_| AlgError::BadSignatureEncoding)?;
            ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, raw)
                .verify(msg, sig)
                .map_err(|_| AlgError::BadSignature)
        }
        SignatureScheme::RsaPkcs1Sha256 | SignatureScheme::RsaPssSha256 => {
            let pk = rsa::RsaPublicKey::try_from(spki_ref(spki)?).map_err(|e| bad_key(&e))?;
            if scheme == SignatureScheme::RsaPkcs1Sha256 {
                let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk);
                let s = rsa::pkcs1v15::Signature::try_from(sig)
                    .map_err(|_| AlgError::BadSignatureEncoding)?;
                vk.verify(msg, &s).map_err(|_| AlgError::BadSignature)
            } else {
                let vk = rsa::pss::VerifyingKey::<sha2::Sha256>::new(pk);
                let s = rsa::pss::Signature::try_from(sig)
                    .map_err(|_| AlgError::BadSignatureEncoding)?;
                vk.verify(msg, &s).map_err(|_| AlgError::BadSignature)
            }
        }
        SignatureScheme::Sm2Sm3 => {
            let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, raw_key(spki)?)
                .map_err(|e| bad_key(&e))?;
            let raw = der_to_raw_rs(sig, 32)?;
            let s = sm2::dsa::Signature::try_from(raw.as_slice())
                .map_err(|_| AlgError::BadSignatureEncoding)?;
            vk.verify(msg, &s).map_err(|_| AlgError::BadSignature)
        }
    }
}

/// SHA-256 fingerprint of DER bytes, lower-case hex.
pub fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs_roundtrip_keeps_leading_zeros() {
        let mut raw = [0u8; 64];
        raw[1] = 0x80;
        raw[40] = 7;
        let der = raw_rs_to_der(&raw).unwrap();
        assert_eq!(der_to_raw_rs(&der, 32).unwrap(), raw.to_vec());
    }

    #[test]
    fn names_parse() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(a.name().parse::<KeyAlgorithm>().unwrap(), a);
        }
        assert!("rsa2048".parse::<KeyAlgorithm>().is_err());
    }
}
