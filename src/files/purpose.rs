//! What an upload is for, and what each purpose accepts: media types, bytes, pixels.

use std::fmt;

use super::media::MediaType;

/// Why a file is uploaded. A closed set, given as `?purpose=` by its stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilePurpose {
    /// The picture of a seal (its impression on paper), for seal records and PDF appearances.
    SealImpression,
    /// The stamped scan of a paper application (agency issue): images or a PDF.
    ApplicationScan,
    /// Any supporting document or picture attached to a record.
    Attachment,
    /// A hand-drawn signature: PNG only (transparent background).
    SignatureDrawing,
}

const IMAGES: &[MediaType] = &[
    MediaType::Png,
    MediaType::Jpeg,
    MediaType::Bmp,
    MediaType::Gif,
];
const DOCUMENTS: &[MediaType] = &[
    MediaType::Png,
    MediaType::Jpeg,
    MediaType::Bmp,
    MediaType::Gif,
    MediaType::Pdf,
];

const MIB: u64 = 1024 * 1024;

impl FilePurpose {
    pub const ALL: [FilePurpose; 4] = [
        FilePurpose::SealImpression,
        FilePurpose::ApplicationScan,
        FilePurpose::Attachment,
        FilePurpose::SignatureDrawing,
    ];

    /// The stable name (query parameter, stored value).
    pub fn name(self) -> &'static str {
        match self {
            FilePurpose::SealImpression => "seal-impression",
            FilePurpose::ApplicationScan => "application-scan",
            FilePurpose::Attachment => "attachment",
            FilePurpose::SignatureDrawing => "signature-drawing",
        }
    }

    pub fn parse(s: &str) -> Option<FilePurpose> {
        FilePurpose::ALL.into_iter().find(|p| p.name() == s)
    }

    /// The media types this purpose takes.
    pub fn accepts(self) -> &'static [MediaType] {
        match self {
            FilePurpose::SealImpression => IMAGES,
            FilePurpose::ApplicationScan | FilePurpose::Attachment => DOCUMENTS,
            FilePurpose::SignatureDrawing => &[MediaType::Png],
        }
    }

    /// The largest upload, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            FilePurpose::SealImpression => 5 * MIB,
            FilePurpose::SignatureDrawing => 2 * MIB,
            // A multi-page scan at 300 dpi.
            FilePurpose::ApplicationScan | FilePurpose::Attachment => 32 * MIB,
        }
    }

    /// The most pixels (width × height) an image may have: checked from its header before any
    /// pixel is decoded.
    pub fn max_pixels(self) -> u64 {
        match self {
            // 4000 × 4000: far above any seal picture.
            FilePurpose::SealImpression => 16_000_000,
            FilePurpose::SignatureDrawing => 4_000_000,
            // A4 at 600 dpi is 4961 × 7016 ≈ 34.8 M; the same cap as pictures in PDFs.
            FilePurpose::ApplicationScan | FilePurpose::Attachment => 40_000_000,
        }
    }

    /// The largest of all purposes' byte limits: the upload route's body limit is built from it.
    pub const LARGEST_MAX_BYTES: u64 = 32 * MIB;

    /// "PNG, JPEG, BMP or GIF", for refusals.
    pub fn accepts_text(self) -> String {
        let names: Vec<&str> = self.accepts().iter().map(|m| m.label()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl fmt::Display for FilePurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_limits_hold() {
        for p in FilePurpose::ALL {
            assert_eq!(FilePurpose::parse(p.name()), Some(p));
            assert!(p.max_bytes() <= FilePurpose::LARGEST_MAX_BYTES);
            assert!(!p.accepts().is_empty());
        }
        assert!(FilePurpose::ALL
            .iter()
            .any(|p| p.max_bytes() == FilePurpose::LARGEST_MAX_BYTES));
        assert_eq!(FilePurpose::parse("Attachment"), None);
        assert_eq!(FilePurpose::SignatureDrawing.accepts_text(), "PNG");
        assert_eq!(
            FilePurpose::SealImpression.accepts_text(),
            "PNG, JPEG, BMP or GIF"
        );
        assert!(!FilePurpose::SealImpression
            .accepts()
            .contains(&MediaType::Pdf));
        assert!(FilePurpose::ApplicationScan
            .accepts()
            .contains(&MediaType::Pdf));
    }
}
