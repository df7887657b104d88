//! Seal pictures for visible signatures: PNG (alpha becomes an `/SMask`, so the red seal lets the text
//! under it show) and JPEG (embedded as is, `/DCTDecode`).

use std::sync::Arc;

use super::filter::deflate;
use super::object::{Dict, Object};
use super::PdfError;

/// A picture ready to become an image XObject. The encoded data is shared: a seal's picture is
/// decoded once and placed in many documents, so a clone must not copy it.
#[derive(Clone, Debug)]
pub struct SealImage {
    pub width: u32,
    pub height: u32,
    /// `/ColorSpace` name.
    pub color_space: &'static str,
    /// Encoded pixel data and its filter.
    pub data: Arc<[u8]>,
    pub filter: &'static str,
    /// Deflated 8-bit alpha, when the picture has transparency.
    pub alpha: Option<Arc<[u8]>>,
}

/// Pictures beyond this many pixels are refused (a seal is a few hundred pixels across).
const MAX_PIXELS: u64 = 40_000_000;

impl SealImage {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PdfError> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Self::png(bytes)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            Self::jpeg(bytes)
        } else {
            Err(PdfError::Image("not a PNG or JPEG file".into()))
        }
    }

    fn png(bytes: &[u8]) -> Result<Self, PdfError> {
        let bad = |e: png::DecodingError| PdfError::Image(format!("PNG: {e}"));
        let mut dec = png::Decoder::new(bytes);
        dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = dec.read_info().map_err(bad)?;
        let info = reader.info();
        if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
            return Err(PdfError::Image(
                "picture has more than 40 million pixels".into(),
            ));
        }
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).map_err(bad)?;
        let px = &buf[..frame.buffer_size()];
        let (w, h) = (frame.width, frame.height);
        let (channels, has_alpha) = match frame.color_type {
            png::ColorType::Grayscale => (1, false),
            png::ColorType::GrayscaleAlpha => (1, true),
            png::ColorType::Rgb => (3, false),
            png::ColorType::Rgba => (3, true),
            png::ColorType::Indexed => {
                return Err(PdfError::Image("PNG palette was not expanded".into()))
            }
        };
        let step = channels + usize::from(has_alpha);
        let stride = frame.line_size;
        let mut color = Vec::with_capacity((w * h) as usize * channels);
        let mut alpha = Vec::with_capacity(if has_alpha { (w * h) as usize } else { 0 });
        for row in px.chunks(stride).take(h as usize) {
            for p in row[..w as usize * step].chunks(step) {
                color.extend_from_slice(&p[..channels]);
                if has_alpha {
                    alpha.push(p[channels]);
                }
            }
        }
        let alpha = if has_alpha && alpha.iter().any(|a| *a != 255) {
            Some(deflate(&alpha).into())
        } else {
            None
        };
        Ok(SealImage {
            width: w,
            height: h,
            color_space: if channels == 1 {
                "DeviceGray"
            } else {
                "DeviceRGB"
            },
            data: deflate(&color).into(),
            filter: "FlateDecode",
            alpha,
        })
    }

    fn jpeg(bytes: &[u8]) -> Result<Self, PdfError> {
        // Walk the markers to the first start-of-frame for size and components.
        let mut i = 2;
        while i + 4 <= bytes.len() {
            if bytes[i] != 0xFF {
                return Err(PdfError::Image("JPEG marker expected".into()));
            }
            let m = bytes[i + 1];
            if m == 0xFF {
                i += 1;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            let is_sof = matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC);
            if is_sof {
                let seg = bytes
                    .get(i + 4..i + 2 + len)
                    .filter(|s| s.len() >= 6)
                    .ok_or_else(|| PdfError::Image("JPEG frame header cut short".into()))?;
                let h = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let w = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let color_space = match seg[5] {
                    1 => "DeviceGray",
                    3 => "DeviceRGB",
                    4 => "DeviceCMYK",
                    n => return Err(PdfError::Image(format!("JPEG with {n} components"))),
                };
                if w == 0 || h == 0 {
                    return Err(PdfError::Image("JPEG with zero size".into()));
                }
                return Ok(SealImage {
                    width: w,
                    height: h,
                    color_space,
                    data: bytes.into(),
                    filter: "DCTDecode",
                    alpha: None,
                });
            }
            i += 2 + len;
        }
        Err(PdfError::Image("JPEG has no frame header".into()))
    }

    /// Height over width.
    pub fn aspect(&self) -> f64 {
        f64::from(self.height) / f64::from(self.width)
    }

    pub fn dict(&self) -> Dict {
        Dict::new()
            .with(b"Type", Object::name("XObject"))
            .with(b"Subtype", Object::name("Image"))
            .with(b"Width", Object::Int(self.width.into()))
            .with(b"Height", Object::Int(self.height.into()))
            .with(b"ColorSpace", Object::name(self.color_space))
            .with(b"BitsPerComponent", Object::Int(8))
            .with(b"Filter", Object::name(self.filter))
    }

    pub fn smask_dict(&self) -> Dict {
        Dict::new()
            .with(b"Type", Object::name("XObject"))
            .with(b"Subtype", Object::name("Image"))
            .with(b"Width", Object::Int(self.width.into()))
            .with(b"Height", Object::Int(self.height.into()))
            .with(b"ColorSpace", Object::name("DeviceGray"))
            .with(b"BitsPerComponent", Object::Int(8))
            .with(b"Filter", Object::name("FlateDecode"))
    }
}
