//! Fonts for seal pictures: one face of a TrueType/OpenType file or TTC collection, read with
//! ttf-parser; glyph outlines in font units.

use std::sync::Arc;

use ttf_parser::{name_id, Face, OutlineBuilder};

use super::geom::{Path, Point, Seg};
use super::FaceError;

/// A parsed font face over shared bytes. Cheap to clone.
#[derive(Clone)]
pub struct Font {
    data: Arc<[u8]>,
    index: u32,
    name: String,
    /// The em box's height in font units: typographic ascender − descender (the ideographic
    /// em box of CJK fonts), or the hhea values when OS/2 has none.
    em_top: f64,
    em_bottom: f64,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("name", &self.name)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A glyph's outline in font units (y up) and its advance.
pub(crate) struct Glyph {
    pub outline: Path,
    pub advance: f64,
}

impl Font {
    /// Face `index` of a font file (0 for a plain .ttf/.otf; a TTC's face number).
    pub fn from_bytes(data: impl Into<Arc<[u8]>>, index: u32) -> Result<Font, FaceError> {
        let data = data.into();
        let (name, em_top, em_bottom) = {
            let face = parse(&data, index)?;
            let name = face_names(&face)
                .into_iter()
                .next()
                .unwrap_or_else(|| format!("face {index}"));
            let (top, bottom) = match (face.typographic_ascender(), face.typographic_descender()) {
                (Some(a), Some(d)) if a > d => (f64::from(a), f64::from(d)),
                _ => (f64::from(face.ascender()), f64::from(face.descender())),
            };
            if top <= bottom {
                return Err(FaceError::Font(format!(
                    "{name}: ascender is not above descender"
                )));
            }
            (name, top, bottom)
        };
        Ok(Font {
            data,
            index,
            name,
            em_top,
            em_bottom,
        })
    }

    /// The first face of a collection (or single font) whose full or family name contains
    /// `prefer`, matched case-sensitively (`"SC"` picks "Noto Sans CJK SC", not "Sans").
    pub fn from_collection(data: impl Into<Arc<[u8]>>, prefer: &str) -> Result<Font, FaceError> {
        let data = data.into();
        let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        let mut seen = Vec::new();
        for index in 0..count {
            let Ok(face) = parse(&data, index) else {
                continue;
            };
            let names = face_names(&face);
            if names.iter().any(|n| n.contains(prefer)) {
                return Font::from_bytes(data, index);
            }
            seen.extend(names.into_iter().next());
        }
        Err(FaceError::Font(format!(
            "no face named like {prefer:?} among {count} ({})",
            seen.join(", ")
        )))
    }

    /// The face's full name, e.g. "Noto Serif CJK SC Bold".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The face's index in its file.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub(crate) fn em_height(&self) -> f64 {
        self.em_top - self.em_bottom
    }

    pub(crate) fn em_middle(&self) -> f64 {
        (self.em_top + self.em_bottom) / 2.0
    }

    /// Whether every character has a glyph; the error names the first that has none.
    pub fn covers(&self, text: &str) -> Result<(), FaceError> {
        let face = parse(&self.data, self.index)?;
        for ch in text.chars() {
            if face.glyph_index(ch).is_none() {
                return Err(self.missing(ch));
            }
        }
        Ok(())
    }

    fn missing(&self, ch: char) -> FaceError {
        FaceError::MissingGlyph {
            ch,
            font: self.name.clone(),
        }
    }

    pub(crate) fn glyph(&self, ch: char) -> Result<Glyph, FaceError> {
        let face = parse(&self.data, self.index)?;
        let id = face.glyph_index(ch).ok_or_else(|| self.missing(ch))?;
        // Marks and some symbols advance by 0; a seal gives every character a cell, so they get
        // the em (and no division by zero when scaled into it).
        let advance = face
            .glyph_hor_advance(id)
            .filter(|&a| a > 0)
            .map(f64::from)
            .unwrap_or_else(|| self.em_height());
        let mut b = Collect(Vec::new());
        // An empty glyph (a space) has no outline; that is not an error.
        let _ = face.outline_glyph(id, &mut b);
        Ok(Glyph {
            outline: Path::from_segs(b.0),
            advance,
        })
    }
}

fn parse(data: &[u8], index: u32) -> Result<Face<'_>, FaceError> {
    Face::parse(data, index).map_err(|e| FaceError::Font(format!("face {index}: {e}")))
}

/// Full name first, then the family names, as Unicode strings the face carries.
fn face_names(face: &Face<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in [
        name_id::FULL_NAME,
        name_id::TYPOGRAPHIC_FAMILY,
        name_id::FAMILY,
    ] {
        for n in face.names() {
            if n.name_id == id && n.is_unicode() {
                if let Some(s) = n.to_string() {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

struct Collect(Vec<Seg>);

fn pt(x: f32, y: f32) -> Point {
    Point {
        x: f64::from(x),
        y: f64::from(y),
    }
}

impl OutlineBuilder for Collect {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.push(Seg::MoveTo(pt(x, y)));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.push(Seg::LineTo(pt(x, y)));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.push(Seg::QuadTo(pt(x1, y1), pt(x, y)));
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.push(Seg::CubicTo(pt(x1, y1), pt(x2, y2), pt(x, y)));
    }
    fn close(&mut self) {
        self.0.push(Seg::Close);
    }
}
