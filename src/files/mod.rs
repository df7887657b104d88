//! Uploaded files: content sniffing, per-purpose limits, bounded image decoding, and content-addressed
//! storage behind an object-store abstraction. (Being built: issue 11.)
