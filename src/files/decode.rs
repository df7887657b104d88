//! Bounded decoding: images read header first and refused above the purpose's pixel count before
//! a pixel is allocated, then decoded whole under `image::Limits`; PDFs opened with our own reader.

use std::io::Cursor;

use axum::body::Bytes;
use image::{ImageError, ImageFormat, ImageReader, Limits};
use sealpki_pki::pdf::{Document, Source};

use super::error::FileError;
use super::media::MediaType;
use super::purpose::FilePurpose;

/// Decoder state beyond the output buffer (palettes, zlib windows, JPEG tables).
const DECODER_OVERHEAD: u64 = 16 * 1024 * 1024;
/// The most bytes one output pixel takes (16-bit RGBA).
const BYTES_PER_PIXEL: u64 = 8;

/// Check that `data`, sniffed as `content`, is a readable file of its type within `purpose`'s
/// limits. CPU-bound: call it off the async executor.
pub fn check(content: MediaType, purpose: FilePurpose, data: &Bytes) -> Result<(), FileError> {
    match content {
        MediaType::Pdf => check_pdf(data),
        MediaType::Png => check_image(ImageFormat::Png, content, purpose, data),
        MediaType::Jpeg => check_image(ImageFormat::Jpeg, content, purpose, data),
        MediaType::Bmp => check_image(ImageFormat::Bmp, content, purpose, data),
        MediaType::Gif => check_image(ImageFormat::Gif, content, purpose, data),
    }
}

fn limits(purpose: FilePurpose) -> Limits {
    let pixels = purpose.max_pixels();
    let side = u32::try_from(pixels).unwrap_or(u32::MAX);
    let mut l = Limits::default();
    // Strict in every decoder: a side longer than the whole pixel budget cannot be right.
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    l.max_alloc = Some(
        pixels
            .saturating_mul(BYTES_PER_PIXEL)
            .saturating_add(DECODER_OVERHEAD),
    );
    l
}

fn reader(format: ImageFormat, purpose: FilePurpose, data: &Bytes) -> ImageReader<Cursor<&[u8]>> {
    let mut r = ImageReader::with_format(Cursor::new(data.as_ref()), format);
    r.limits(limits(purpose));
    r
}

fn check_image(
    format: ImageFormat,
    content: MediaType,
    purpose: FilePurpose,
    data: &Bytes,
) -> Result<(), FileError> {
    let refused = |e: ImageError| match e {
        ImageError::Limits(l) => FileError::OverMemory {
            content,
            purpose,
            reason: l.to_string(),
        },
        other => FileError::Unreadable {
            content,
            reason: other.to_string(),
        },
    };
    // The header alone: its dimensions decide before anything is allocated for pixels.
    let (width, height) = reader(format, purpose, data)
        .into_dimensions()
        .map_err(refused)?;
    let pixels = u64::from(width) * u64::from(height); // u32 × u32 fits in u64
    if pixels > purpose.max_pixels() || width == 0 || height == 0 {
        if width == 0 || height == 0 {
            return Err(FileError::Unreadable {
                content,
                reason: format!("the image is {width}×{height} pixels"),
            });
        }
        return Err(FileError::TooManyPixels {
            content,
            purpose,
            width,
            height,
            limit: purpose.max_pixels(),
        });
    }
    // Then every pixel, so that a truncated or corrupt body is refused now rather than when the
    // picture is first used.
    reader(format, purpose, data)
        .decode()
        .map(drop)
        .map_err(refused)
}

/// An upload held in memory, as a `pdf::Source` (shared, not copied).
struct Upload(Bytes);

impl Source for Upload {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.as_ref().read_at(offset, buf)
    }
}

fn check_pdf(data: &Bytes) -> Result<(), FileError> {
    let unreadable = |reason: String| FileError::Unreadable {
        content: MediaType::Pdf,
        reason,
    };
    let doc = Document::open(Box::new(Upload(data.clone())), None)
        .map_err(|e| unreadable(e.to_string()))?;
    let pages = doc.pages().map_err(|e| unreadable(e.to_string()))?;
    if pages.is_empty() {
        return Err(unreadable("the document has no pages".into()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG made with the encoder: `width`×`height` black pixels, one bit each. Large ones
    /// compress to a few dozen kilobytes (a decompression bomb): Deflate runs of zeros.
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            enc.set_compression(png::Compression::Best);
            let mut w = enc.write_header().unwrap();
            let mut stream = w.stream_writer().unwrap();
            let row = vec![0u8; (width as usize).div_ceil(8)];
            for _ in 0..height {
                std::io::Write::write_all(&mut stream, &row).unwrap();
            }
            stream.finish().unwrap();
        }
        out
    }

    pub(crate) fn encode(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn images_within_limits_decode() {
        for (format, media) in [
            (ImageFormat::Png, MediaType::Png),
            (ImageFormat::Jpeg, MediaType::Jpeg),
            (ImageFormat::Bmp, MediaType::Bmp),
            (ImageFormat::Gif, MediaType::Gif),
        ] {
            let data = Bytes::from(encode(format, 64, 48));
            check(media, FilePurpose::SealImpression, &data).unwrap();
        }
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // 20000 × 20000 = 400 M pixels in some 50 KB: the header says so, and the check answers
        // before decoding a row.
        let bomb = Bytes::from(png(20_000, 20_000));
        assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
        let t = std::time::Instant::now();
        let e = check(MediaType::Png, FilePurpose::Attachment, &bomb).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert!(
            matches!(
                e,
                FileError::TooManyPixels {
                    width: 20_000,
                    height: 20_000,
                    limit: 40_000_000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("20000×20000"), "{e}");
        // Under the pixel budget of one purpose, over another's.
        let mid = Bytes::from(png(3000, 2000));
        check(MediaType::Png, FilePurpose::Attachment, &mid).unwrap();
        let e = check(MediaType::Png, FilePurpose::SignatureDrawing, &mid).unwrap_err();
        assert!(matches!(e, FileError::TooManyPixels { .. }), "{e}");
    }

    #[test]
    fn a_long_thin_bomb_is_refused_too() {
        let thin = Bytes::from(png(64, 700_000)); // 44.8 M pixels, 1:10000
        let e = check(MediaType::Png, FilePurpose::Attachment, &thin).unwrap_err();
        assert!(
            matches!(
                e,
                FileError::TooManyPixels { .. } | FileError::OverMemory { .. }
            ),
            "{e}"
        );
    }

    #[test]
    fn truncated_and_garbage_images_are_unreadable() {
        let mut data = encode(ImageFormat::Png, 64, 64);
        data.truncate(data.len() / 2);
        let e = check(MediaType::Png, FilePurpose::Attachment, &Bytes::from(data)).unwrap_err();
        assert!(matches!(e, FileError::Unreadable { .. }), "{e}");
        let e = check(
            MediaType::Jpeg,
            FilePurpose::Attachment,
            &Bytes::from_static(b"\xFF\xD8\xFF\xE0 not really"),
        )
        .unwrap_err();
        assert!(matches!(e, FileError::Unreadable { .. }), "{e}");
    }

    #[test]
    fn pdfs_are_opened_with_our_reader() {
        let pdf = Bytes::from(minimal_pdf());
        check(MediaType::Pdf, FilePurpose::ApplicationScan, &pdf).unwrap();
        let e = check(
            MediaType::Pdf,
            FilePurpose::ApplicationScan,
            &Bytes::from_static(b"%PDF-1.7\nthis is not a document at all\n%%EOF\n"),
        )
        .unwrap_err();
        assert!(matches!(e, FileError::Unreadable { .. }), "{e}");
    }

    /// One empty page, with a correct cross-reference table.
    pub(crate) fn minimal_pdf() -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ];
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }
}
