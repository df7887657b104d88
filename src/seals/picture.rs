//! The seal picture stored with a seal and carried in its GB/T 38540 structure: drawn from the
//! seal face text (`pki::face`, public-security layouts), or the red ink of an uploaded impression.
//! PNG at 600 dpi on a transparent background, plus the SVG of a drawn face.

use std::path::Path;

use sealpki_pki::face::{
    self, Diameter, FaceSpec, NameSeal, OvalKind, OvalSeal, RoundKind, RoundSeal, SealCode,
    TaxpayerId,
};

use super::model::SealType;
use crate::error::AppError;

/// Pictures are drawn and extracted at this resolution.
pub const DPI: u32 = 600;

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

fn face_error(e: face::FaceError) -> AppError {
    match e {
        face::FaceError::Invalid { .. } | face::FaceError::DoesNotFit { .. } => {
            AppError::BadRequest(format!("seal face: {e}"))
        }
        face::FaceError::MissingGlyph { .. } => AppError::Policy(format!(
            "seal face: {e} (configure a fuller font with [seals] font)"
        )),
        other => AppError::Internal(format!("seal face: {other}")),
    }
}

fn spec(f: &Face<'_>) -> Result<FaceSpec, AppError> {
    let code = Some(SealCode::parse(f.code).map_err(face_error)?);
    let round = |kind, diameter| {
        FaceSpec::Round(RoundSeal {
            kind,
            org_name: f.org_name.to_string(),
            code: code.clone(),
            diameter: Some(diameter),
        })
    };
    let oval = |kind| -> Result<FaceSpec, AppError> {
        let tp = f.taxpayer.ok_or_else(|| {
            AppError::BadRequest("an oval seal carries the taxpayer number".into())
        })?;
        Ok(FaceSpec::Oval(OvalSeal {
            kind,
            org_name: f.org_name.to_string(),
            taxpayer: TaxpayerId::parse(tp).map_err(face_error)?,
            code: code.clone(),
        }))
    };
    Ok(match f.seal_type {
        SealType::LegalName => round(RoundKind::LegalName, Diameter::Mm42),
        SealType::Contract => round(RoundKind::Contract, Diameter::Mm40),
        SealType::Business => round(RoundKind::Business, Diameter::Mm40),
        SealType::Finance => oval(OvalKind::Finance)?,
        SealType::Invoice => oval(OvalKind::Invoice)?,
        SealType::Personal => FaceSpec::Name(NameSeal {
            person_name: f
                .person_name
                .ok_or_else(|| AppError::BadRequest("a name seal needs the person's name".into()))?
                .to_string(),
            size_mm: Some(size_mm(SealType::Personal).0 as f64),
        }),
    })
}

/// Draw the face with the configured (or system) CJK font. CPU work: call off the executor.
pub fn draw(font: Option<&Path>, f: &Face<'_>) -> Result<SealPicture, AppError> {
    let fonts = super::font::fonts(font)?;
    let spec = spec(f)?;
    let pic = face::draw(&spec, &fonts.face).map_err(face_error)?;
    let png = pic.to_png(DPI).map_err(face_error)?;
    Ok(SealPicture {
        png,
        svg: Some(pic.to_svg()),
        width_mm: pic.width_mm().round() as i64,
        height_mm: pic.height_mm().round() as i64,
    })
}

/// The red ink of an uploaded impression (PNG, JPEG, BMP or GIF; checked by `files` on upload),
/// scaled to the seal's physical size. CPU work: call off the executor.
pub fn from_impression(data: &[u8], t: SealType) -> Result<SealPicture, AppError> {
    let img = image::load_from_memory(data)
        .map_err(|e| AppError::BadRequest(format!("seal impression: {e}")))?
        .to_rgba8();
    let (w, h) = size_mm(t);
    let scan = face::Scan {
        width: img.width(),
        height: img.height(),
        rgba: img.as_raw(),
    };
    let out = face::extract(scan, w as f64, h as f64, DPI).map_err(|e| match e {
        face::FaceError::NoInk | face::FaceError::TooLarge { .. } | face::FaceError::Image(_) => {
            AppError::BadRequest(format!("seal impression: {e}"))
        }
        other => face_error(other),
    })?;
    Ok(SealPicture {
        png: out.image.to_png(DPI).map_err(face_error)?,
        svg: None,
        width_mm: w,
        height_mm: h,
    })
}

/// A hand-drawn name seal (the console's drawing pad: dark strokes on a transparent or white
/// background) in seal red, the strokes' darkness as alpha, fitted into the seal's square.
pub fn from_drawing(data: &[u8], t: SealType) -> Result<SealPicture, AppError> {
    let img = image::load_from_memory(data)
        .map_err(|e| AppError::BadRequest(format!("drawing: {e}")))?
        .to_rgba8();
    let (w, h) = size_mm(t);
    let px = |mm: i64| ((mm as f64) / 25.4 * f64::from(DPI)).round() as u32;
    let (ow, oh) = (px(w), px(h));
    let fitted = image::imageops::resize(&img, ow, oh, image::imageops::FilterType::Triangle);
    let [r, g, b] = face::SEAL_RED;
    let mut out = image::RgbaImage::new(ow, oh);
    let mut ink = false;
    for (x, y, p) in fitted.enumerate_pixels() {
        let [pr, pg, pb, pa] = p.0;
        let dark = 255 - ((u32::from(pr) + u32::from(pg) + u32::from(pb)) / 3) as u8;
        let a = ((u32::from(dark) * u32::from(pa)) / 255) as u8;
        if a > 24 {
            ink = true;
        }
        out.put_pixel(x, y, image::Rgba([r, g, b, a]));
    }
    if !ink {
        return Err(AppError::BadRequest(
            "drawing: nothing drawn (the picture has no dark strokes)".into(),
        ));
    }
    let mut png = Vec::new();
    out.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(format!("drawing: {e}")))?;
    Ok(SealPicture {
        png,
        svg: None,
        width_mm: w,
        height_mm: h,
    })
}
