//! PDF signing and validation (PAdES, ETSI EN 319 142) on incremental updates.
//!
//! - [`reader`]: lazy, random-access reading — cross-reference tables and streams, hybrid files,
//!   object streams, encrypted documents ([`crypt`]), the page tree.
//! - [`update`]: an incremental update appended to the original bytes, never rewriting them, in the
//!   cross-reference form of the original.
//! - [`sign`]: signature fields, placeholders, the streaming hash, CMS ([`crate::cades`]), levels.
//! - [`image`]: seal pictures (PNG with alpha as `/SMask`, JPEG as is) and appearances.
//! - [`verify`]: integrity, coverage, revision analysis, CMS, chain, timestamp.

pub mod crypt;
pub mod filter;
pub mod image;
pub mod ltv;
pub mod object;
pub mod parse;
pub mod reader;
pub mod sign;
pub mod text;
pub mod update;
pub mod verify;

pub use object::{Dict, ObjRef, Object};
pub use reader::{Document, Source};

/// Why a PDF could not be read or signed. Each names what was wrong; none leaves an output behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    #[error("not a PDF: {0}")]
    NotPdf(String),
    #[error("malformed PDF: {0}")]
    Malformed(String),
    #[error("unsupported PDF feature: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Password(String),
    #[error("cannot sign: {0}")]
    Refused(String),
    #[error("bad seal image: {0}")]
    Image(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("timestamp: {0}")]
    Timestamp(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
