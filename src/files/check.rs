//! The acceptance of one upload, in order: size, content magic, the declared name and Content-Type
//! against the content, the purpose's media types, then bounded decoding. Pure: stores nothing.

use axum::body::Bytes;

use super::decode;
use super::error::FileError;
use super::media::{sniff, MediaType, Sniffed};
use super::name::FileName;
use super::purpose::FilePurpose;

/// Accept `data` for `purpose`, declared as `name` (and `content_type`, when the client sent a
/// specific one), and say what it is. CPU-bound (decoding): call it off the async executor.
pub fn accept(
    purpose: FilePurpose,
    name: &FileName,
    content_type: Option<&str>,
    data: &Bytes,
) -> Result<MediaType, FileError> {
    if data.is_empty() {
        return Err(FileError::Empty);
    }
    if data.len() as u64 > purpose.max_bytes() {
        return Err(FileError::TooLarge {
            purpose,
            limit: purpose.max_bytes(),
        });
    }
    let content = match sniff(data) {
        Sniffed::Accepted(m) => m,
        Sniffed::Refused(what) => return Err(FileError::RefusedContent(what)),
        Sniffed::Unknown => return Err(FileError::UnknownContent),
    };
    let claimed = match name.extension() {
        Some(ext) => match MediaType::from_extension(ext) {
            Some(m) if m == content => None,
            Some(m) => Some(m.label().to_string()),
            None => Some(format!("an unknown type (.{ext})")),
        },
        None => Some("nothing (it has no extension)".to_string()),
    };
    if let Some(claimed) = claimed {
        return Err(FileError::NameMismatch {
            name: name.as_str().to_string(),
            claimed,
            content,
        });
    }
    if let Some(ct) = content_type {
        match MediaType::from_content_type(ct) {
            Ok(None) => {}
            Ok(Some(m)) if m == content => {}
            Ok(Some(m)) => {
                return Err(FileError::TypeMismatch {
                    declared: m.mime().to_string(),
                    content,
                })
            }
            Err(bare) => {
                return Err(FileError::TypeMismatch {
                    declared: bare,
                    content,
                })
            }
        }
    }
    if !purpose.accepts().contains(&content) {
        return Err(FileError::NotForPurpose {
            purpose,
            content,
            accepted: purpose.accepts_text(),
        });
    }
    decode::check(content, purpose, data)?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::decode::tests::{encode, minimal_pdf, png};
    use crate::files::error::Refusal;
    use image::ImageFormat;

    type Good<'a> = (FilePurpose, &'a str, Option<&'a str>, &'a [u8], MediaType);
    type Bad<'a> = (
        FilePurpose,
        &'a str,
        Option<&'a str>,
        &'a [u8],
        Refusal,
        &'a [&'a str],
    );

    fn try_accept(
        purpose: FilePurpose,
        name: &str,
        ct: Option<&str>,
        data: &[u8],
    ) -> Result<MediaType, FileError> {
        accept(
            purpose,
            &FileName::parse(name).unwrap(),
            ct,
            &Bytes::copy_from_slice(data),
        )
    }

    #[test]
    fn accepted_uploads() {
        let jpeg = encode(ImageFormat::Jpeg, 32, 32);
        let pdf = minimal_pdf();
        let cases: &[Good] = &[
            (
                FilePurpose::SealImpression,
                "seal.JPG",
                None,
                &jpeg,
                MediaType::Jpeg,
            ),
            (
                FilePurpose::ApplicationScan,
                "扫描.jpeg",
                Some("image/jpg"),
                &jpeg,
                MediaType::Jpeg,
            ),
            (
                FilePurpose::ApplicationScan,
                "application.pdf",
                Some("application/pdf"),
                &pdf,
                MediaType::Pdf,
            ),
            (
                FilePurpose::Attachment,
                "a.pdf",
                Some("application/octet-stream"),
                &pdf,
                MediaType::Pdf,
            ),
        ];
        for (purpose, name, ct, data, want) in cases {
            assert_eq!(
                try_accept(*purpose, name, *ct, data).unwrap(),
                *want,
                "{name}"
            );
        }
    }

    #[test]
    fn refusals_name_what_was_sent() {
        let png_data = png(16, 16);
        let jpeg = encode(ImageFormat::Jpeg, 16, 16);
        let pdf = minimal_pdf();
        let big = vec![0u8; 2 * 1024 * 1024 + 1];
        let cases: &[Bad] = &[
            // A renamed file: the refusal names the content and what the name claims.
            (
                FilePurpose::SealImpression,
                "seal.png",
                None,
                &jpeg,
                Refusal::Mismatch,
                &["JPEG", "\"seal.png\"", "PNG"],
            ),
            (
                FilePurpose::Attachment,
                "scan.exe",
                None,
                &pdf,
                Refusal::Mismatch,
                &["PDF", ".exe"],
            ),
            (
                FilePurpose::Attachment,
                "scan",
                None,
                &pdf,
                Refusal::Mismatch,
                &["no extension"],
            ),
            (
                FilePurpose::SealImpression,
                "seal.png",
                Some("image/jpeg"),
                &png_data,
                Refusal::Mismatch,
                &["PNG", "image/jpeg"],
            ),
            (
                FilePurpose::SealImpression,
                "seal.png",
                Some("text/html"),
                &png_data,
                Refusal::Mismatch,
                &["text/html"],
            ),
            (
                FilePurpose::SealImpression,
                "seal.pdf",
                None,
                &pdf,
                Refusal::Unsupported,
                &["seal-impression", "PNG, JPEG, BMP or GIF", "PDF"],
            ),
            (
                FilePurpose::SignatureDrawing,
                "sig.jpg",
                None,
                &jpeg,
                Refusal::Unsupported,
                &["signature-drawing", "JPEG"],
            ),
            (
                FilePurpose::Attachment,
                "x.webp",
                None,
                b"RIFF\0\0\0\0WEBPVP8 ",
                Refusal::Unsupported,
                &["WebP"],
            ),
            (
                FilePurpose::Attachment,
                "x.txt",
                None,
                b"hello",
                Refusal::Unsupported,
                &["not a PNG"],
            ),
            (
                FilePurpose::SignatureDrawing,
                "sig.png",
                None,
                &big,
                Refusal::TooLarge,
                &["2097152"],
            ),
            (
                FilePurpose::Attachment,
                "x.png",
                None,
                b"",
                Refusal::BadRequest,
                &["empty"],
            ),
        ];
        for (purpose, name, ct, data, refusal, words) in cases {
            let e = try_accept(*purpose, name, *ct, data).unwrap_err();
            assert_eq!(e.refusal(), *refusal, "{name}: {e}");
            let text = e.to_string();
            for w in *words {
                assert!(text.contains(w), "{name}: {text:?} lacks {w:?}");
            }
        }
        let bomb = png(20_000, 20_000);
        let e = try_accept(FilePurpose::ApplicationScan, "bomb.png", None, &bomb).unwrap_err();
        assert_eq!(e.refusal(), Refusal::Bomb, "{e}");
    }
}
