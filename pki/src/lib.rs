//! sealpki's PKI library: key custody, certificate profiles, lint and issuance.
//!
//! Pure PKI logic with no database, no network and no workflow: the `sealpki` service decides *what*
//! to issue and records it; this crate decides whether a certificate is well-formed and signs it.
//!
//! - [`keys`]: the `KeyStore`/`Signer` traits, an encrypted software store and a PKCS#11 backend.
//! - [`alg`]: key algorithms (P-256, RSA-3072/4096, SM2) and signature schemes, verification.
//! - [`profile`]: certificate profiles as data; [`lint`]: checks every TBS certificate before signing.
//! - [`issue`]: two-phase issuance — `prepare` yields a linted, single-use `IssuanceToken`; `issue`
//!   consumes it and signs.
//! - [`csr`]: PKCS#10 parsing with proof of possession; [`name`]: distinguished names.
//! - [`face`]: seal pictures (印模) as SVG and PNG from a typed layout, and red-ink extraction.
//! - [`credential`]: signed credentials — COSE_Sign1 over CWT claims with the signer's x5chain,
//!   verified through [`validate`]; their QR form.
#![forbid(unsafe_code)]

pub mod alg;
pub mod cades;
pub mod credential;
pub mod csr;
pub mod face;
pub mod issue;
pub mod keys;
pub mod lint;
pub mod name;
pub mod pdf;
pub mod pem;
pub mod profile;
pub mod report;
pub mod revocation;
pub mod ses;
#[cfg(test)]
mod testpki;
pub mod tsa;
pub mod validate;

pub use alg::{KeyAlgorithm, SignatureScheme};
pub use csr::VerifiedCsr;
pub use issue::{CertRequest, IssuanceToken, IssueError, Issued, Issuer, IssuerUrls};
pub use keys::{KeyError, KeyRef, KeyStore, Keyring, Secret, Signer};
pub use profile::{Profile, Profiles};

/// The ASN.1 stack this crate is built on, re-exported so users need not match versions.
pub use der;
pub use spki;
pub use x509_cert;
