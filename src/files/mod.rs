//! Uploaded files: content sniffing, per-purpose limits, bounded image decoding, and content-addressed
//! storage behind an object-store abstraction.
//!
//! An upload is accepted (`check::accept`) only when its content magic is one of `MediaType`'s, its
//! declared name and Content-Type say the same, its `FilePurpose` takes that type and size, and it
//! decodes within the purpose's limits — images after their header has shown the pixel count to be
//! within bounds, PDFs with `sealpki_pki::pdf`'s reader. Only then is the content put into the
//! `ObjectStore` (by SHA-256, never overwritten: `LocalStore` by default, `S3Store` for several
//! instances) and its record written (`store::FileRow`), so a
//! refused upload leaves nothing behind. `service` holds the `App` methods the front ends call and
//! `may_read`, the one authorization decision for downloads.

mod check;
mod decode;
mod error;
mod media;
mod name;
mod objects;
mod purpose;
mod s3;
mod service;

pub use check::accept;
pub use error::{FileError, Refusal};
pub use media::{sniff, MediaType, Sniffed};
pub use name::{from_content_disposition, percent_decode, FileName};
pub use objects::{LocalStore, ObjectError, ObjectFuture, ObjectKey, ObjectStore};
pub use purpose::FilePurpose;
pub use s3::S3Store;
pub use service::{may_read, open_store, Upload};
