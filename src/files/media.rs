//! Media types of uploads, told by content magic, and what a declared name or Content-Type claims.

use std::fmt;

/// The kinds of content the service accepts. A closed set: anything else is refused by `sniff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    Png,
    Jpeg,
    Bmp,
    Gif,
    Pdf,
}

impl MediaType {
    pub const ALL: [MediaType; 5] = [
        MediaType::Png,
        MediaType::Jpeg,
        MediaType::Bmp,
        MediaType::Gif,
        MediaType::Pdf,
    ];

    /// The IANA media type, as stored and served.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Bmp => "image/bmp",
            MediaType::Gif => "image/gif",
            MediaType::Pdf => "application/pdf",
        }
    }

    /// A short name for messages ("PNG", "JPEG").
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Png => "PNG",
            MediaType::Jpeg => "JPEG",
            MediaType::Bmp => "BMP",
            MediaType::Gif => "GIF",
            MediaType::Pdf => "PDF",
        }
    }

    /// File name extensions (lower case, without the dot) that name this type.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            MediaType::Png => &["png"],
            MediaType::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            MediaType::Bmp => &["bmp", "dib"],
            MediaType::Gif => &["gif"],
            MediaType::Pdf => &["pdf"],
        }
    }

    pub fn is_image(self) -> bool {
        !matches!(self, MediaType::Pdf)
    }

    /// Parse a stored value (the `mime()` form), strictly.
    pub fn from_mime(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.mime() == s)
    }

    /// What a declared extension names (case-insensitive), if it names one of ours.
    pub fn from_extension(ext: &str) -> Option<MediaType> {
        let ext = ext.to_ascii_lowercase();
        MediaType::ALL
            .into_iter()
            .find(|m| m.extensions().contains(&ext.as_str()))
    }

    /// What a declared Content-Type names: `Ok(None)` when it names nothing in particular
    /// (`application/octet-stream`), `Err` with the bare type when it names something we do not take.
    pub fn from_content_type(value: &str) -> Result<Option<MediaType>, String> {
        let bare = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let m = match bare.as_str() {
            "" | "application/octet-stream" => return Ok(None),
            "image/png" | "image/x-png" => MediaType::Png,
            // image/jpg and image/pjpeg are what some clients send for JPEG.
            "image/jpeg" | "image/jpg" | "image/pjpeg" => MediaType::Jpeg,
            "image/bmp" | "image/x-bmp" | "image/x-ms-bmp" => MediaType::Bmp,
            "image/gif" => MediaType::Gif,
            "application/pdf" | "application/x-pdf" => MediaType::Pdf,
            _ => return Err(bare),
        };
        Ok(Some(m))
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the content is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Accepted(MediaType),
    /// A format we recognise but do not take (named in the refusal).
    Refused(&'static str),
    Unknown,
}

/// Tell the media type from content magic. PDF's header may follow up to 1024 bytes of junk (as
/// readers allow, and as `pdf::Document` does); every other signature sits at offset 0.
pub fn sniff(data: &[u8]) -> Sniffed {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.starts_with(PNG) {
        return Sniffed::Accepted(MediaType::Png);
    }
    // SOI followed by the start of a marker segment.
    if data.len() >= 4 && data[..3] == [0xFF, 0xD8, 0xFF] {
        return Sniffed::Accepted(MediaType::Jpeg);
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Sniffed::Accepted(MediaType::Gif);
    }
    // "BM", then a DIB header size at 14 that one of the real BMP versions uses.
    if data.len() >= 18 && data.starts_with(b"BM") {
        let dib = u32::from_le_bytes([data[14], data[15], data[16], data[17]]);
        if matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Sniffed::Accepted(MediaType::Bmp);
        }
    }
    let head = &data[..data.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Sniffed::Accepted(MediaType::Pdf);
    }
    // Recognised so that the refusal can say what was sent; none is decoded here (no codec built).
    if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        return Sniffed::Refused("WebP");
    }
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        return Sniffed::Refused("TIFF");
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return Sniffed::Refused("ISO media (HEIF/AVIF/MP4)");
    }
    if data.starts_with(b"PK\x03\x04") {
        return Sniffed::Refused("ZIP (or an Office document)");
    }
    if data.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Sniffed::Refused("OLE compound file (legacy Office document)");
    }
    Sniffed::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_table() {
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        let cases: &[(&[u8], Sniffed)] = &[
            (
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                Sniffed::Accepted(MediaType::Png),
            ),
            (
                b"\xFF\xD8\xFF\xE0\0\x10JFIF",
                Sniffed::Accepted(MediaType::Jpeg),
            ),
            (b"GIF89a\x01\0\x01\0", Sniffed::Accepted(MediaType::Gif)),
            (b"GIF87a\x01\0\x01\0", Sniffed::Accepted(MediaType::Gif)),
            (&bmp, Sniffed::Accepted(MediaType::Bmp)),
            (b"%PDF-1.7\n%\xE2\xE3", Sniffed::Accepted(MediaType::Pdf)),
            (b"junk\r\n%PDF-1.4\n", Sniffed::Accepted(MediaType::Pdf)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Sniffed::Refused("WebP")),
            (b"II*\0\x08\0\0\0", Sniffed::Refused("TIFF")),
            (b"MM\0*\0\0\0\x08", Sniffed::Refused("TIFF")),
            (
                b"PK\x03\x04\x14\0",
                Sniffed::Refused("ZIP (or an Office document)"),
            ),
            (b"BMxx but not a bitmap", Sniffed::Unknown),
            (b"\x89PNG\r\n", Sniffed::Unknown),
            (b"\xFF\xD8", Sniffed::Unknown),
            (b"hello, world", Sniffed::Unknown),
            (b"", Sniffed::Unknown),
        ];
        for (data, want) in cases {
            assert_eq!(sniff(data), *want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn declared_names_and_types() {
        assert_eq!(MediaType::from_extension("JPG"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::from_extension("jpeg"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::from_extension("Pdf"), Some(MediaType::Pdf));
        assert_eq!(MediaType::from_extension("exe"), None);
        assert_eq!(
            MediaType::from_content_type("image/jpg"),
            Ok(Some(MediaType::Jpeg))
        );
        assert_eq!(
            MediaType::from_content_type("Application/PDF; charset=binary"),
            Ok(Some(MediaType::Pdf))
        );
        assert_eq!(
            MediaType::from_content_type("application/octet-stream"),
            Ok(None)
        );
        assert_eq!(
            MediaType::from_content_type("text/html"),
            Err("text/html".to_string())
        );
        for m in MediaType::ALL {
            assert_eq!(MediaType::from_mime(m.mime()), Some(m));
        }
    }
}
