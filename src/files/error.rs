//! Why an upload is refused: one variant per rule, each naming what was sent and what is allowed.

use super::media::MediaType;
use super::purpose::FilePurpose;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    #[error("unknown file purpose {0:?} (seal-impression, application-scan, attachment or signature-drawing)")]
    UnknownPurpose(String),
    #[error("no file purpose: add ?purpose= (seal-impression, application-scan, attachment or signature-drawing)")]
    NoPurpose,
    #[error("no file name: send it as the multipart part's filename, X-File-Name or Content-Disposition")]
    NoName,
    #[error("bad file name: {0}")]
    BadName(&'static str),
    #[error("bad upload: {0}")]
    BadUpload(String),
    #[error("the upload is empty")]
    Empty,
    #[error("a {purpose} file may have at most {limit} bytes; this upload has more")]
    TooLarge { purpose: FilePurpose, limit: u64 },
    #[error("the content is not a PNG, JPEG, BMP, GIF or PDF file")]
    UnknownContent,
    #[error("the content is {0}, which is not accepted (PNG, JPEG, BMP, GIF or PDF)")]
    RefusedContent(&'static str),
    #[error("a {purpose} file must be {accepted}; the content is {content}")]
    NotForPurpose {
        purpose: FilePurpose,
        content: MediaType,
        accepted: String,
    },
    #[error("the content is {content} but the file name {name:?} says {claimed}")]
    NameMismatch {
        name: String,
        claimed: String,
        content: MediaType,
    },
    #[error("the content is {content} but the declared Content-Type is {declared}")]
    TypeMismatch {
        declared: String,
        content: MediaType,
    },
    #[error("the {content} image is {width}×{height} pixels, more than the {limit} pixels a {purpose} image may have (refused before decoding)")]
    TooManyPixels {
        content: MediaType,
        purpose: FilePurpose,
        width: u32,
        height: u32,
        limit: u64,
    },
    #[error("decoding the {content} image would need more memory than a {purpose} image may use: {reason}")]
    OverMemory {
        content: MediaType,
        purpose: FilePurpose,
        reason: String,
    },
    #[error("the {content} content cannot be read: {reason}")]
    Unreadable { content: MediaType, reason: String },
}

/// What kind of refusal an error is: the HTTP layer picks status and problem type from this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is malformed (no purpose, no name, a broken multipart body).
    BadRequest,
    /// Larger than the purpose allows.
    TooLarge,
    /// A media type the service or the purpose does not take.
    Unsupported,
    /// Content that contradicts its declared name or Content-Type.
    Mismatch,
    /// An image whose decoding would exceed the pixel or memory limits (a decompression bomb).
    Bomb,
    /// Content of an accepted type that does not decode.
    Unreadable,
}

impl FileError {
    pub fn refusal(&self) -> Refusal {
        match self {
            FileError::UnknownPurpose(_)
            | FileError::NoPurpose
            | FileError::NoName
            | FileError::BadName(_)
            | FileError::BadUpload(_)
            | FileError::Empty => Refusal::BadRequest,
            FileError::TooLarge { .. } => Refusal::TooLarge,
            FileError::UnknownContent
            | FileError::RefusedContent(_)
            | FileError::NotForPurpose { .. } => Refusal::Unsupported,
            FileError::NameMismatch { .. } | FileError::TypeMismatch { .. } => Refusal::Mismatch,
            FileError::TooManyPixels { .. } | FileError::OverMemory { .. } => Refusal::Bomb,
            FileError::Unreadable { .. } => Refusal::Unreadable,
        }
    }
}
