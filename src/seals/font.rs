//! The CJK fonts seal pictures and application forms are drawn with: `[seals] font` (or
//! SEALPKI_SEALS_FONT) when set, else the first of a few well-known system fonts. Read once per
//! process (a Noto CJK collection is about 20 MB) and shared.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sealpki_pki::face;
use sealpki_pki::pdf::compose;

use crate::error::AppError;

/// Seal faces look best in a bold Song (serif) face; forms read best in a sans face.
const FACE_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];
const FORM_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];
const FORM_BOLD: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc";

/// The loaded fonts.
pub struct Fonts {
    pub face: face::Font,
    pub form: compose::Font,
    pub form_bold: Option<compose::Font>,
}

static LOADED: Mutex<Option<(Option<PathBuf>, Arc<Fonts>)>> = Mutex::new(None);

fn missing() -> AppError {
    AppError::Unavailable(
        "no CJK font for seal pictures and application forms: set [seals] font (or \
         SEALPKI_SEALS_FONT) to an OpenType/TrueType font or collection with Chinese glyphs, or \
         install one (Debian: fonts-noto-cjk)"
            .into(),
    )
}

fn read(p: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(p).map_err(|e| {
        AppError::Unavailable(format!("[seals] font {}: cannot read it: {e}", p.display()))
    })
}

fn bad(p: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::Unavailable(format!("[seals] font {}: {e}", p.display()))
}

/// Simplified-Chinese face of a collection, else its first face.
fn face_font(p: &Path, data: Vec<u8>) -> Result<face::Font, AppError> {
    let data: Arc<[u8]> = data.into();
    face::Font::from_collection(data.clone(), "SC")
        .or_else(|_| face::Font::from_bytes(data, 0))
        .map_err(|e| bad(p, e))
}

fn form_font(p: &Path, data: Vec<u8>) -> Result<compose::Font, AppError> {
    compose::Font::from_collection(data.clone(), "CJKsc")
        .or_else(|_| compose::Font::new(data, 0))
        .map_err(|e| bad(p, e))
}

fn first(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn load(configured: Option<&Path>) -> Result<Fonts, AppError> {
    if let Some(p) = configured {
        let data = read(p)?;
        return Ok(Fonts {
            face: face_font(p, data.clone())?,
            form: form_font(p, data)?,
            form_bold: None,
        });
    }
    let fp = first(FACE_CANDIDATES).ok_or_else(missing)?;
    let face = face_font(&fp, read(&fp)?)?;
    let gp = first(FORM_CANDIDATES).ok_or_else(missing)?;
    let form = form_font(&gp, read(&gp)?)?;
    let bold = Path::new(FORM_BOLD);
    let form_bold = if bold.is_file() {
        read(bold).ok().and_then(|d| form_font(bold, d).ok())
    } else {
        None
    };
    Ok(Fonts {
        face,
        form,
        form_bold,
    })
}

/// The fonts for `configured` (None: the system's), loaded on first use.
pub fn fonts(configured: Option<&Path>) -> Result<Arc<Fonts>, AppError> {
    let key = configured.map(Path::to_path_buf);
    {
        let g = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, f)) = g.as_ref() {
            if *k == key {
                return Ok(f.clone());
            }
        }
    }
    let f = Arc::new(load(configured)?);
    *LOADED.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, f.clone()));
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_configured_font_names_the_setting() {
        let e = load(Some(Path::new("/nonexistent/font.ttc")))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("[seals] font") && e.contains("/nonexistent/font.ttc"),
            "{e}"
        );
    }
}
