//! Seal pictures (印模): layouts after the public-security seal rules, drawn as glyph outlines in mm,
//! written as SVG or PNG; and red-ink extraction from scanned impressions.
//!
//! One geometry ([`Picture`]: filled paths in mm, y down) is built from a typed [`FaceSpec`] and a
//! [`Font`] handed in by the caller, then written both as SVG ([`Picture::to_svg`], text as outlines,
//! so no font is needed to show it) and as PNG ([`Picture::to_png`], tiny-skia), so the two agree.
//! [`extract`] turns a scan of a stamped impression into a transparent picture of just the red ink.
//! No file or network I/O: font bytes and pixels come from the caller.
//!
//! ```no_run
//! use sealpki_pki::face::{self, FaceSpec, Font, RoundKind, RoundSeal, SealCode};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bytes = std::fs::read("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")?;
//! let font = Font::from_collection(bytes, "CJK SC")?;
//! let spec = FaceSpec::Round(RoundSeal {
//!     kind: RoundKind::Contract,
//!     org_name: "杭州西湖印章科技有限公司".into(),
//!     code: Some(SealCode::parse("3301060123456")?),
//!     diameter: None,
//! });
//! let picture = face::draw(&spec, &font)?;
//! let (svg, png) = (picture.to_svg(), picture.to_png(face::DEFAULT_DPI)?);
//! assert_eq!(picture.size_mm(), (40.0, 40.0));
//! # let _ = (svg, png);
//! # Ok(())
//! # }
//! ```

mod extract;
mod font;
mod geom;
mod layout;
mod spec;

pub use extract::{extract, Extracted, PixelRect, Scan, MAX_SCAN_PIXELS};
pub use font::Font;
pub use geom::{Element, FillRule, Path, Picture, Point, Rect, Role, Seg};
pub use layout::draw;
pub use spec::{
    Diameter, FaceSpec, NameSeal, OvalKind, OvalSeal, RoundKind, RoundSeal, SealCode, TaxpayerId,
};

/// The seal red of every picture and extraction (sRGB #E60012).
pub const SEAL_RED: [u8; 3] = [0xE6, 0x00, 0x12];

/// The resolution seal pictures are made at unless the caller says otherwise.
pub const DEFAULT_DPI: u32 = 600;

/// Resolution limits for rendering and extraction output: below 72 dpi a seal is unreadable, above
/// 2400 a 45 mm picture is already 18 megapixels.
pub const MIN_DPI: u32 = 72;
/// See [`MIN_DPI`].
pub const MAX_DPI: u32 = 2400;

/// What went wrong making or extracting a seal picture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaceError {
    #[error("font: {0}")]
    Font(String),
    #[error("font {font:?} has no glyph for '{ch}' (U+{code:04X})", code = *ch as u32)]
    MissingGlyph { ch: char, font: String },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field} does not fit the seal: {reason}")]
    DoesNotFit { field: &'static str, reason: String },
    #[error("dpi {0} is outside {MIN_DPI}..={MAX_DPI}")]
    Dpi(u32),
    #[error("image: {0}")]
    Image(String),
    #[error("image of {width}×{height} pixels is over the limit of {limit} pixels")]
    TooLarge { width: u32, height: u32, limit: u64 },
    #[error("no red ink found in the scan")]
    NoInk,
    #[error("PNG encoding: {0}")]
    Png(String),
}

/// An RGBA8 image, straight (not premultiplied) alpha, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes.
    pub data: Vec<u8>,
}

impl RgbaImage {
    /// The pixel at (x, y) as [r, g, b, a]; `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.data.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// PNG (8-bit RGBA) with a pHYs chunk saying `dpi`, so viewers and PDF placers know the size.
    pub fn to_png(&self, dpi: u32) -> Result<Vec<u8>, FaceError> {
        check_dpi(dpi)?;
        let png_err = |e: png::EncodingError| FaceError::Png(e.to_string());
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            // Pixels per metre, as pHYs wants them.
            let ppm = (f64::from(dpi) / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: ppm,
                yppu: ppm,
                unit: png::Unit::Meter,
            }));
            let mut w = enc.write_header().map_err(png_err)?;
            w.write_image_data(&self.data).map_err(png_err)?;
            w.finish().map_err(png_err)?;
        }
        Ok(out)
    }
}

pub(crate) fn check_dpi(dpi: u32) -> Result<(), FaceError> {
    if (MIN_DPI..=MAX_DPI).contains(&dpi) {
        Ok(())
    } else {
        Err(FaceError::Dpi(dpi))
    }
}

/// Pixels for `mm` at `dpi`, at least one.
pub(crate) fn mm_to_px(mm: f64, dpi: u32) -> u32 {
    ((mm / 25.4 * f64::from(dpi)).round() as u32).max(1)
}
