//! Signed credentials (DESIGN §9): a COSE_Sign1 (RFC 9052) over a CWT claims map (RFC 8392), signed
//! by a certified key whose chain travels in the protected `x5chain` header (RFC 9360).
//!
//! - The wire form is the tagged COSE_Sign1 (tag 18), not wrapped in the CWT tag 61: RFC 8392 §6
//!   makes that tag optional, the EU Digital COVID Certificate did without it, and the kind claim
//!   already says what the payload is. [`verify`] accepts a 61 around the 18 from other writers.
//! - The protected header holds `alg` and `x5chain` (one bstr for one certificate, else an array,
//!   leaf first). `alg` is ES256 (-7, signature raw `r || s`) or SM2 with SM3 under the private-use
//!   id [`ALG_SM2_SM3`] (the SM2 signer ID of GM/T 0009, signature raw `r || s`).
//! - Claims: `iss`, `sub`, `iat`, `nbf`, `exp` (whole seconds), `cti` (16 random bytes), and one
//!   private-use claim whose key names the kind and holds its claim map ([`kind::KINDS`]).
//! - [`verify`] decodes with size and nesting caps, checks the algorithm, the leaf's signature, the
//!   claims, the x5chain through [`crate::validate`] at `iat` for the kind's issuer rule, and the
//!   validity window at the verification time; every check is reported.
//! - [`qr`]: `SP1:` + Base45(zlib(credential)), decompression capped.
//!
//! No I/O: revocation (status list, revocation entry) is the caller's, from [`KindSpec::revocation`]
//! and the claims.

mod claims;
pub mod kind;
pub mod qr;
mod verify;

use ciborium::Value;
use coset::{iana, CborSerializable, CoseSign1Builder, Header, Label, TaggedCborSerializable};
use der::Decode;

use crate::alg::{der_to_raw_rs, KeyAlgorithm, SignatureScheme};
use crate::keys::{KeyError, Signer};
/// The CBOR value of a claim in a kind's claim map ([`Body::Other`]).
pub use ciborium::Value as CborValue;
pub use claims::{Body, Claims, RevocationCheck, SealState, SealStatus, CTI_LEN};
pub use kind::{ClaimSpec, ClaimType, IssuerRule, Kind, KindSpec, Revocation, KINDS};
pub use verify::{verify, Check, CheckState, Report, Verdict, VerifyOptions};

/// The COSE algorithm id we give SM2 with SM3. IANA has none; values below -65536 are private use
/// (RFC 9053 §10, RFC 9052 §16.4), so this one is ours and both ends must agree on it. (-48, once
/// suggested, now belongs to ML-DSA-44.)
pub const ALG_SM2_SM3: i64 = -70_001;
/// COSE ES256: ECDSA P-256 with SHA-256.
pub const ALG_ES256: i64 = -7;
/// The x5chain header label (RFC 9360).
pub const X5CHAIN: i64 = 33;
/// The largest credential accepted or written; a QR code holds at most about 3 KB anyway.
pub const MAX_CREDENTIAL: usize = 64 * 1024;
/// At most this many certificates in x5chain.
pub const MAX_CHAIN: usize = 8;
/// CBOR nesting allowed while decoding (a credential needs four levels).
pub(crate) const MAX_DEPTH: usize = 16;

/// The signature algorithms of credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    Es256,
    Sm2Sm3,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Es256, Algorithm::Sm2Sm3];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Sm2Sm3 => "SM2-SM3",
        }
    }

    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Es256 => ALG_ES256,
            Algorithm::Sm2Sm3 => ALG_SM2_SM3,
        }
    }

    pub fn from_cose_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.cose_id() == id)
    }

    pub fn scheme(self) -> SignatureScheme {
        match self {
            Algorithm::Es256 => SignatureScheme::EcdsaSha256,
            Algorithm::Sm2Sm3 => SignatureScheme::Sm2Sm3,
        }
    }

    /// The algorithm a key of `alg` signs credentials with.
    pub fn for_key(alg: KeyAlgorithm) -> Result<Self, CredentialError> {
        match alg {
            KeyAlgorithm::P256 => Ok(Algorithm::Es256),
            KeyAlgorithm::Sm2 => Ok(Algorithm::Sm2Sm3),
            other => Err(CredentialError::UnknownAlgorithm(format!(
                "{other} keys do not sign credentials (P-256 or SM2)"
            ))),
        }
    }

    fn cose(self) -> coset::Algorithm {
        match self {
            Algorithm::Es256 => coset::Algorithm::Assigned(iana::Algorithm::ES256),
            Algorithm::Sm2Sm3 => coset::Algorithm::PrivateUse(ALG_SM2_SM3),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a credential could not be made or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    #[error("credential of {len} bytes is larger than {max}")]
    TooLarge { len: usize, max: usize },
    #[error("not a credential: {0}")]
    Malformed(String),
    #[error("protected header: {0}")]
    Header(String),
    #[error("algorithm: {0}")]
    UnknownAlgorithm(String),
    #[error("algorithm {0} is not allowed here")]
    AlgorithmNotAllowed(Algorithm),
    #[error("x5chain: {0}")]
    Certificate(String),
    #[error("signature: {0}")]
    BadSignature(String),
    #[error("claims: {0}")]
    Claims(String),
    #[error("a {found} credential where a {expected} was expected")]
    WrongKind { expected: Kind, found: Kind },
    #[error("signer's chain: {0}")]
    Untrusted(String),
    #[error("signer may not issue this kind: {0}")]
    NotAuthorized(String),
    #[error("not valid before {nbf} (verification time {at}, epoch seconds)")]
    NotYetValid { nbf: u64, at: u64 },
    #[error("expired at {exp} (verification time {at}, epoch seconds)")]
    Expired { exp: u64, at: u64 },
    #[error("issued at {iat}, after the verification time {at} (epoch seconds)")]
    IssuedInFuture { iat: u64, at: u64 },
    #[error("QR text: {0}")]
    Qr(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Sign `claims` with `signer`, whose certificate is `chain[0]` (DER, leaf first; intermediates may
/// follow, the trust anchor need not). Returns the tagged COSE_Sign1.
pub fn issue(
    claims: &Claims,
    signer: &dyn Signer,
    chain: &[Vec<u8>],
) -> Result<Vec<u8>, CredentialError> {
    let alg = Algorithm::for_key(signer.algorithm())?;
    let Some(leaf) = chain.first() else {
        return Err(CredentialError::Certificate(
            "no certificate for the signing key".into(),
        ));
    };
    if chain.len() > MAX_CHAIN {
        return Err(CredentialError::Certificate(format!(
            "{} certificates, at most {MAX_CHAIN}",
            chain.len()
        )));
    }
    let cert = x509_cert::Certificate::from_der(leaf)
        .map_err(|e| CredentialError::Certificate(format!("leaf: {e}")))?;
    if cert.tbs_certificate.subject_public_key_info != *signer.public_key() {
        return Err(CredentialError::Certificate(
            "the first certificate is not for the signing key".into(),
        ));
    }
    let not_after = crate::report::unix(cert.tbs_certificate.validity.not_after.to_system_time());
    if claims.exp > not_after {
        return Err(CredentialError::Claims(format!(
            "exp {} is after the signing certificate expires ({not_after}): verifiers refuse that",
            claims.exp
        )));
    }
    let payload = claims
        .to_claims_set()?
        .to_vec()
        .map_err(|e| CredentialError::Malformed(format!("claims do not encode: {e}")))?;
    let x5chain = match chain {
        [one] => Value::Bytes(one.clone()),
        many => Value::Array(many.iter().map(|c| Value::Bytes(c.clone())).collect()),
    };
    let protected = Header {
        alg: Some(alg.cose()),
        rest: vec![(Label::Int(X5CHAIN), x5chain)],
        ..Default::default()
    };
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |tbs| -> Result<Vec<u8>, CredentialError> {
            // Our signers give DER `SEQUENCE { r, s }`; COSE wants the raw fixed-width pair.
            let der = signer.sign(alg.scheme(), tbs)?;
            Ok(der_to_raw_rs(&der, 32).map_err(crate::keys::KeyError::from)?)
        })?
        .build();
    let out = sign1
        .to_tagged_vec()
        .map_err(|e| CredentialError::Malformed(format!("COSE_Sign1 does not encode: {e}")))?;
    if out.len() > MAX_CREDENTIAL {
        return Err(CredentialError::TooLarge {
            len: out.len(),
            max: MAX_CREDENTIAL,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
