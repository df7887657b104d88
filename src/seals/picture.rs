//! The seal picture stored with a seal and carried in its GB/T 38540 structure: drawn from the
//! seal face text, or taken from an uploaded impression.

use super::model::SealType;
use crate::error::AppError;

/// A picture ready to store: PNG (transparent background), optional SVG, size in mm.
pub struct SealPicture {
    pub png: Vec<u8>,
    pub svg: Option<String>,
    pub width_mm: i64,
    pub height_mm: i64,
}

/// What the face shows.
pub struct Face<'a> {
    pub seal_type: SealType,
    pub org_name: &'a str,
    pub code: &'a str,
    pub taxpayer: Option<&'a str>,
    pub person_name: Option<&'a str>,
}

/// The physical size of a seal of `t`, in mm (width, height).
pub fn size_mm(t: SealType) -> (i64, i64) {
    match t {
        SealType::LegalName => (42, 42),
        SealType::Contract | SealType::Business => (40, 40),
        SealType::Finance => (45, 30),
        SealType::Invoice => (40, 30),
        SealType::Personal => (18, 18),
    }
}

/// Draw the face. Until the face renderer lands this draws the outline only (ring or square) in
/// seal red at 300 dpi, so every seal has a picture of the right size.
pub fn draw(face: &Face<'_>) -> Result<SealPicture, AppError> {
    let (w, h) = size_mm(face.seal_type);
    let px = |mm: i64| ((mm as f64) / 25.4 * 300.0).round() as u32;
    let (pw, ph) = (px(w), px(h));
    let mut img = image::RgbaImage::new(pw, ph);
    let (cx, cy) = (pw as f64 / 2.0, ph as f64 / 2.0);
    let border = 1.2 / 25.4 * 300.0;
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (dx, dy) = ((x as f64 + 0.5 - cx) / cx, (y as f64 + 0.5 - cy) / cy);
        let on = match face.seal_type {
            SealType::Personal => {
                let m = dx.abs().max(dy.abs());
                m <= 1.0 && m >= 1.0 - border / cx
            }
            _ => {
                let r = (dx * dx + dy * dy).sqrt();
                r <= 1.0 && r >= 1.0 - border / cx.min(cy)
            }
        };
        if on {
            *p = image::Rgba([230, 0, 18, 255]);
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(format!("seal picture: {e}")))?;
    Ok(SealPicture {
        png,
        svg: None,
        width_mm: w,
        height_mm: h,
    })
}
