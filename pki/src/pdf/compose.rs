//! New PDFs for printed forms: text in embedded font subsets (CJK through Type 0 fonts), lines,
//! rectangles and vector QR codes on A4 portrait pages, positions in millimetres from the top left.
//!
//! Fonts: `ttf-parser` reads metrics and the cmap of the face handed in; `subsetter` (typst's) cuts
//! it down to the glyphs used. It reads glyf and CFF outlines — CID-keyed CFF from a collection
//! too, as in Noto CJK — and renumbers the kept glyphs densely with an identity charset, so a
//! glyph's new id is its CID. Chosen over writing our own (CFF subroutine subsetting is a project of
//! its own) and over allsorts or the fontations stack (many times the code); without its
//! variable-font feature it brings only `rustc-hash`.
//!
//! PDF structure (ISO 32000-1 9.7): a Type 0 font with Identity-H (two bytes per glyph) over one
//! CIDFont. A CFF face is embedded as its bare `CFF ` table, CIDFontType0 with FontFile3
//! /CIDFontType0C (readable since PDF 1.3, where /OpenType needs 1.6 readers); a glyf face as the
//! subset TrueType file, CIDFontType2 with FontFile2 and /CIDToGIDMap /Identity. `/W` gives every
//! used glyph's advance; a ToUnicode CMap makes text extraction give back what was written. There is
//! no shaping: one character is one glyph, right for CJK and plain Latin, not for scripts that need
//! ligatures or reordering.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use ttf_parser::{name_id, Face, RawFace, Tag};

use super::object::{fmt_real, write_dict, write_object, write_stream, Dict, ObjRef, Object};

/// A4 portrait in points.
pub const PAGE_WIDTH_PT: f64 = 595.276;
pub const PAGE_HEIGHT_PT: f64 = 841.89;
/// A4 portrait in millimetres.
pub const PAGE_WIDTH_MM: f64 = 210.0;
pub const PAGE_HEIGHT_MM: f64 = 297.0;

const PT_PER_MM: f64 = 72.0 / 25.4;

/// Why a document could not be composed. Each names the font or character at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    #[error("the font cannot be read: {0}")]
    FontUnreadable(String),
    #[error("the font has no face whose name contains {0:?}")]
    NoSuchFace(String),
    #[error("the font {font} has no glyph for {ch:?} (U+{:04X})", *.ch as u32)]
    MissingGlyph { font: String, ch: char },
    #[error("the font {font} cannot be subset: {reason}")]
    Subset { font: String, reason: String },
    #[error("the font {0} has too many glyphs in use for one CIDFont")]
    TooManyGlyphs(String),
    #[error("a QR code cannot hold this text: {0}")]
    Qr(String),
    #[error("no such font in this document")]
    UnknownFont,
    #[error("{field}: the text does not fit its box ({lines} lines where {max} fit)")]
    DoesNotFit {
        field: &'static str,
        lines: usize,
        max: usize,
    },
}

/// One face of an OpenType or TrueType font (or of a collection), with its bytes.
#[derive(Clone)]
pub struct Font {
    data: Arc<Vec<u8>>,
    index: u32,
    name: String,
    cff: bool,
    upem: f64,
    ascent: i16,
    descent: i16,
    cap_height: i16,
    bbox: [i16; 4],
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("cff", &self.cff)
            .finish()
    }
}

impl Font {
    /// Face `index` of `data` (0 for a single font).
    pub fn new(data: Vec<u8>, index: u32) -> Result<Font, ComposeError> {
        Self::with_data(Arc::new(data), index)
    }

    /// The first face whose PostScript or family name contains `name` (ASCII case ignored), e.g.
    /// `"CJKsc"` or `"CJK SC"` for the simplified Chinese face of a Noto CJK collection. A single font
    /// is its only face.
    pub fn from_collection(data: Vec<u8>, name: &str) -> Result<Font, ComposeError> {
        let data = Arc::new(data);
        let faces = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        let want = name.to_ascii_lowercase();
        for index in 0..faces.min(256) {
            let Ok(face) = Face::parse(&data, index) else {
                continue;
            };
            let hit = face.names().into_iter().any(|n| {
                (n.name_id == name_id::POST_SCRIPT_NAME || n.name_id == name_id::FAMILY)
                    && n.to_string()
                        .is_some_and(|s| s.to_ascii_lowercase().contains(&want))
            });
            if hit {
                return Self::with_data(data, index);
            }
        }
        Err(ComposeError::NoSuchFace(name.to_string()))
    }

    fn with_data(data: Arc<Vec<u8>>, index: u32) -> Result<Font, ComposeError> {
        let face =
            Face::parse(&data, index).map_err(|e| ComposeError::FontUnreadable(e.to_string()))?;
        let cff = face.raw_face().table(Tag::from_bytes(b"CFF ")).is_some();
        if !cff && face.raw_face().table(Tag::from_bytes(b"glyf")).is_none() {
            return Err(ComposeError::FontUnreadable(
                "neither CFF nor TrueType outlines (CFF2 and bitmap fonts are not supported)"
                    .into(),
            ));
        }
        let name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_else(|| format!("Font{index}"));
        // A PDF name for BaseFont: PostScript names are printable ASCII without spaces already, but
        // a broken font must not give us a name that needs escaping in every viewer.
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"[](){}<>/%#".contains(*c))
            .take(63)
            .collect();
        let name = if name.is_empty() {
            format!("Font{index}")
        } else {
            name
        };
        let b = face.global_bounding_box();
        let font = Font {
            index,
            cff,
            upem: f64::from(face.units_per_em().max(16)),
            ascent: face.ascender(),
            descent: face.descender(),
            cap_height: face.capital_height().unwrap_or(face.ascender()),
            bbox: [b.x_min, b.y_min, b.x_max, b.y_max],
            name,
            data: Arc::clone(&data),
        };
        Ok(font)
    }

    /// The PostScript name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the outlines are CFF (else TrueType glyf).
    pub fn is_cff(&self) -> bool {
        self.cff
    }

    fn face(&self) -> Result<Face<'_>, ComposeError> {
        Face::parse(&self.data, self.index).map_err(|e| ComposeError::FontUnreadable(e.to_string()))
    }

    /// Glyph id and advance (thousandths of the font size) of each character.
    fn glyphs(&self, text: &str) -> Result<Vec<(u16, f64)>, ComposeError> {
        let face = self.face()?;
        text.chars()
            .map(|ch| {
                let gid = face.glyph_index(ch).filter(|g| g.0 != 0).ok_or_else(|| {
                    ComposeError::MissingGlyph {
                        font: self.name.clone(),
                        ch,
                    }
                })?;
                let adv = f64::from(face.glyph_hor_advance(gid).unwrap_or(0));
                Ok((gid.0, adv * 1000.0 / self.upem))
            })
            .collect()
    }

    /// The width of `text` set at `size_pt`, in millimetres.
    pub fn text_width(&self, text: &str, size_pt: f64) -> Result<f64, ComposeError> {
        let w: f64 = self.glyphs(text)?.iter().map(|(_, a)| a).sum();
        Ok(w / 1000.0 * size_pt / PT_PER_MM)
    }

    /// `text` broken into lines no wider than `width_mm` at `size_pt`. Chinese breaks between any
    /// two characters, except that closing punctuation stays with the character before it and
    /// opening punctuation with the one after; other text breaks at spaces, and a word longer than
    /// a line is cut. A newline always breaks. Linear in the length of `text` (values come from
    /// applicants).
    pub fn wrap(
        &self,
        text: &str,
        size_pt: f64,
        width_mm: f64,
    ) -> Result<Vec<String>, ComposeError> {
        let max = width_mm * PT_PER_MM / size_pt * 1000.0;
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let chars: Vec<char> = para.chars().collect();
            let adv: Vec<f64> = self.glyphs(para)?.into_iter().map(|g| g.1).collect();
            let span = |a: usize, b: usize| adv[a..b].iter().sum::<f64>();
            // Units that stay together, as char ranges without the spaces between them.
            let mut units: Vec<(usize, usize)> = Vec::new();
            let mut space_before = false;
            let mut glue_next = false;
            for (i, &c) in chars.iter().enumerate() {
                if c == ' ' {
                    space_before = true;
                    glue_next = false;
                    continue;
                }
                let join = match units.last() {
                    None => false,
                    Some(_) if space_before => false,
                    Some(_) if glue_next || is_closing(c) => true,
                    // Latin letters and digits run together; a wide character stands alone.
                    Some(_) => !is_wide(c) && !is_wide(chars[i - 1]),
                };
                match units.last_mut() {
                    Some(u) if join => u.1 = i + 1,
                    _ => units.push((i, i + 1)),
                }
                space_before = false;
                glue_next = is_opening(c);
            }
            // The current line as a char range, and its width.
            let mut line: Option<(usize, usize)> = None;
            let mut w = 0.0;
            for (s, e) in units {
                let uw = span(s, e);
                line = match line {
                    Some((ls, le)) if w + span(le, s) + uw <= max => {
                        w += span(le, s) + uw;
                        Some((ls, e))
                    }
                    Some((ls, le)) => {
                        lines.push(chars[ls..le].iter().collect());
                        w = uw;
                        Some((s, e))
                    }
                    None => {
                        w = uw;
                        Some((s, e))
                    }
                };
                // A word wider than the line is cut where it overflows (at least one character
                // per line, so a glyph wider than the line still makes progress).
                while let Some((ls, le)) = line.filter(|_| w > max) {
                    let mut k = ls + 1;
                    let mut head = adv[ls];
                    while k < le && head + adv[k] <= max {
                        head += adv[k];
                        k += 1;
                    }
                    if k == le {
                        break;
                    }
                    lines.push(chars[ls..k].iter().collect());
                    let mut next = k;
                    while next < le && chars[next] == ' ' {
                        next += 1;
                    }
                    w -= span(ls, next);
                    line = Some((next, le));
                }
            }
            lines.push(line.map_or_else(String::new, |(a, b)| chars[a..b].iter().collect()));
        }
        Ok(lines)
    }
}

/// Full-width characters: each may stand alone at a line end.
fn is_wide(c: char) -> bool {
    (c as u32) >= 0x2E80
}

fn is_closing(c: char) -> bool {
    "，。、；：！？）》」』】〕〉”’,.;:!?)]}%".contains(c)
}

fn is_opening(c: char) -> bool {
    "（《「『【〔〈“‘([{".contains(c)
}

/// A font added to a [`Composer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FontId(usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Centre,
    Right,
}

/// How a text run is set.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub font: FontId,
    pub size_pt: f64,
    pub align: Align,
    /// Bold without a bold face: the glyphs are filled and outlined (a stroke of 3% of the size).
    pub synthetic_bold: bool,
    /// 0 black … 1 white.
    pub gray: f64,
}

impl Style {
    pub fn new(font: FontId, size_pt: f64) -> Self {
        Style {
            font,
            size_pt,
            align: Align::Left,
            synthetic_bold: false,
            gray: 0.0,
        }
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    pub fn bold(mut self, synthetic: bool) -> Self {
        self.synthetic_bold = synthetic;
        self
    }

    pub fn gray(mut self, gray: f64) -> Self {
        self.gray = gray.clamp(0.0, 1.0);
        self
    }
}

struct Slot {
    font: Font,
    remap: GlyphRemapper,
    /// New glyph id (the CID) → the text it stands for, and its advance in thousandths.
    used: BTreeMap<u16, (char, f64)>,
}

/// Builds a document: fonts, then pages drawn in order, then [`Composer::finish`].
#[derive(Default)]
pub struct Composer {
    fonts: Vec<Slot>,
    pages: Vec<Vec<u8>>,
    title: Option<String>,
    lang: Option<String>,
}

/// Drawing on one page; positions in millimetres from the page's top left corner.
pub struct PageBuilder<'a> {
    fonts: &'a mut Vec<Slot>,
    ops: &'a mut Vec<u8>,
}

fn x_pt(x_mm: f64) -> f64 {
    x_mm * PT_PER_MM
}

fn y_pt(y_mm: f64) -> f64 {
    PAGE_HEIGHT_PT - y_mm * PT_PER_MM
}

fn num(out: &mut Vec<u8>, v: f64) {
    fmt_real(out, if v.is_finite() { v } else { 0.0 });
    out.push(b' ');
}

impl Composer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The document title (`/Info /Title`, shown by viewers).
    pub fn set_title(&mut self, title: &str) {
        self.title = Some(title.to_string());
    }

    /// The natural language of the text (`/Lang`, e.g. `zh-CN`), for screen readers and search.
    pub fn set_language(&mut self, tag: &str) {
        self.lang = Some(tag.to_string());
    }

    /// Make `font` available for text; only the glyphs used end up in the file.
    pub fn add_font(&mut self, font: &Font) -> FontId {
        self.fonts.push(Slot {
            font: font.clone(),
            remap: GlyphRemapper::new(),
            used: BTreeMap::new(),
        });
        FontId(self.fonts.len() - 1)
    }

    /// The font behind `id`, for measuring.
    pub fn font(&self, id: FontId) -> Result<&Font, ComposeError> {
        self.fonts
            .get(id.0)
            .map(|s| &s.font)
            .ok_or(ComposeError::UnknownFont)
    }

    /// A new A4 portrait page, drawn on until the builder is dropped.
    pub fn add_page(&mut self) -> PageBuilder<'_> {
        self.pages.push(Vec::new());
        let last = self.pages.len() - 1;
        PageBuilder {
            fonts: &mut self.fonts,
            ops: &mut self.pages[last],
        }
    }

    /// The finished file: PDF 1.7, a classic cross-reference table, compressed streams.
    pub fn finish(self) -> Result<Vec<u8>, ComposeError> {
        let mut w = Writer::default();
        let catalog = w.reserve();
        let pages = w.reserve();
        let mut font_dict = Dict::new();
        for (i, slot) in self.fonts.iter().enumerate() {
            if slot.used.is_empty() {
                continue;
            }
            let r = write_font(&mut w, slot)?;
            font_dict.set(format!("F{i}").as_bytes(), Object::Ref(r));
        }
        let resources = Dict::new().with(b"Font", Object::Dict(font_dict));
        let mut kids = Vec::new();
        for ops in &self.pages {
            let contents = w.reserve();
            w.stream(contents, Dict::new(), ops, true);
            let page = w.reserve();
            let media = [0.0, 0.0, PAGE_WIDTH_PT, PAGE_HEIGHT_PT]
                .into_iter()
                .map(Object::Real)
                .collect();
            let d = Dict::new()
                .with(b"Type", Object::name("Page"))
                .with(b"Parent", Object::Ref(pages))
                .with(b"MediaBox", Object::Array(media))
                .with(b"Resources", Object::Dict(resources.clone()))
                .with(b"Contents", Object::Ref(contents));
            w.put(page, &Object::Dict(d));
            kids.push(Object::Ref(page));
        }
        let count = kids.len() as i64;
        w.put(
            pages,
            &Object::Dict(
                Dict::new()
                    .with(b"Type", Object::name("Pages"))
                    .with(b"Kids", Object::Array(kids))
                    .with(b"Count", Object::Int(count)),
            ),
        );
        let mut cat = Dict::new()
            .with(b"Type", Object::name("Catalog"))
            .with(b"Pages", Object::Ref(pages));
        if let Some(l) = &self.lang {
            cat.set(b"Lang", Object::string(l.as_bytes()));
        }
        w.put(catalog, &Object::Dict(cat));
        let mut info = Dict::new().with(b"Producer", Object::string("sealpki"));
        if let Some(t) = &self.title {
            info.set(b"Title", text_string(t));
        }
        let info_ref = w.reserve();
        w.put(info_ref, &Object::Dict(info));
        Ok(w.finish(catalog, info_ref))
    }
}

/// A text string as UTF-16BE with its byte order mark (PDF text strings outside PDFDocEncoding).
fn text_string(s: &str) -> Object {
    let mut b = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    Object::Str {
        bytes: b,
        hex: true,
    }
}

impl PageBuilder<'_> {
    /// A text run whose baseline is at `y_mm`; `x_mm` is its left end, centre or right end as
    /// `style.align` says. Returns its width in millimetres.
    pub fn text(
        &mut self,
        x_mm: f64,
        y_mm: f64,
        text: &str,
        style: Style,
    ) -> Result<f64, ComposeError> {
        let slot = self
            .fonts
            .get_mut(style.font.0)
            .ok_or(ComposeError::UnknownFont)?;
        let glyphs = slot.font.glyphs(text)?;
        let width: f64 = glyphs.iter().map(|g| g.1).sum::<f64>() / 1000.0 * style.size_pt;
        let mut hex = String::with_capacity(glyphs.len() * 4);
        for ((gid, adv), ch) in glyphs.iter().zip(text.chars()) {
            // The remapper panics past 65,535 glyphs; a font has no more, but say so, not panic.
            if slot.remap.get(*gid).is_none() && slot.remap.num_gids() == u16::MAX {
                return Err(ComposeError::TooManyGlyphs(slot.font.name.clone()));
            }
            let cid = slot.remap.remap(*gid);
            // A glyph shared by two characters (a Kangxi radical and its ideograph, say) extracts
            // as the first one drawn: ToUnicode maps a code to one text.
            slot.used.entry(cid).or_insert((ch, *adv));
            let _ = write!(hex, "{cid:04X}");
        }
        let x = x_pt(x_mm)
            - match style.align {
                Align::Left => 0.0,
                Align::Centre => width / 2.0,
                Align::Right => width,
            };
        let o = &mut *self.ops;
        o.extend_from_slice(b"q ");
        num(o, style.gray);
        o.extend_from_slice(b"g ");
        if style.synthetic_bold {
            num(o, style.gray);
            o.extend_from_slice(b"G 2 Tr ");
            num(o, style.size_pt * 0.03);
            o.extend_from_slice(b"w ");
        }
        let _ = write!(Out(o), "BT /F{} ", style.font.0);
        num(o, style.size_pt);
        o.extend_from_slice(b"Tf ");
        num(o, x);
        num(o, y_pt(y_mm));
        let _ = writeln!(Out(o), "Td <{hex}> Tj ET Q");
        Ok(width / PT_PER_MM)
    }

    /// A straight line `width_pt` wide.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, width_pt: f64) {
        let o = &mut *self.ops;
        num(o, width_pt);
        o.extend_from_slice(b"w ");
        num(o, x_pt(x1));
        num(o, y_pt(y1));
        o.extend_from_slice(b"m ");
        num(o, x_pt(x2));
        num(o, y_pt(y2));
        o.extend_from_slice(b"l S\n");
    }

    /// A rectangle `w` × `h` mm with its top left corner at (`x`, `y`), outlined `width_pt` wide.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, width_pt: f64) {
        let o = &mut *self.ops;
        num(o, width_pt);
        o.extend_from_slice(b"w ");
        self.re(x, y, w, h);
        self.ops.extend_from_slice(b"S\n");
    }

    /// A rectangle filled with `gray` (0 black … 1 white).
    pub fn fill_rect(&mut self, x: f64, y: f64, w: f64, h: f64, gray: f64) {
        let o = &mut *self.ops;
        o.extend_from_slice(b"q ");
        num(o, gray.clamp(0.0, 1.0));
        o.extend_from_slice(b"g ");
        self.re(x, y, w, h);
        self.ops.extend_from_slice(b"f Q\n");
    }

    fn re(&mut self, x: f64, y: f64, w: f64, h: f64) {
        let o = &mut *self.ops;
        num(o, x_pt(x));
        num(o, y_pt(y + h));
        num(o, w * PT_PER_MM);
        num(o, h * PT_PER_MM);
        o.extend_from_slice(b"re ");
    }

    /// A QR code (error correction M) of `data`, `size` mm square with its top left corner at
    /// (`x`, `y`), drawn as filled rectangles — one per run of dark modules in a row. The quiet
    /// zone (four modules) is not drawn: leave it blank around the square.
    pub fn qr(&mut self, x: f64, y: f64, size: f64, data: &[u8]) -> Result<(), ComposeError> {
        let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
            .map_err(|e| ComposeError::Qr(e.to_string()))?;
        let n = code.width();
        let colors = code.to_colors();
        let m = size / n as f64;
        self.ops.extend_from_slice(b"q 0 g\n");
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors.get(row * n + col) != Some(&qrcode::Color::Dark) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < n && colors.get(row * n + col) == Some(&qrcode::Color::Dark) {
                    col += 1;
                }
                self.re(
                    x + start as f64 * m,
                    y + row as f64 * m,
                    (col - start) as f64 * m,
                    m,
                );
            }
        }
        // One fill for all runs: rectangles of one orientation fill as their union, without
        // the hairline seams that separate fills can show between rows.
        self.ops.extend_from_slice(b"f Q\n");
        Ok(())
    }
}

/// The Type 0 font, its CIDFont, descriptor, subset font program and ToUnicode CMap.
fn write_font(w: &mut Writer, slot: &Slot) -> Result<ObjRef, ComposeError> {
    let font = &slot.font;
    let subset_err = |e: subsetter::Error| ComposeError::Subset {
        font: font.name.clone(),
        reason: e.to_string(),
    };
    let subset = subsetter::subset(&font.data, font.index, &slot.remap).map_err(subset_err)?;
    // The subset tag (ISO 32000-1 9.6.4): six capitals, here a digest of the glyphs kept, so the
    // same subset of the same font always gets the same name.
    let mut h = Sha256::new();
    h.update(font.name.as_bytes());
    for cid in slot.used.keys() {
        h.update(cid.to_be_bytes());
    }
    for g in slot.remap.remapped_gids() {
        h.update(g.to_be_bytes());
    }
    let tag: String = h.finalize()[..6]
        .iter()
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    let base = format!("{tag}+{}", font.name);

    let file = w.reserve();
    let (file_key, cid_subtype) = if font.cff {
        // The bare CFF table: the subset file's CFF is CID-keyed with CID = new glyph id.
        let raw = RawFace::parse(&subset, 0)
            .map_err(|e| ComposeError::FontUnreadable(format!("subset: {e}")))?;
        let cff = raw
            .table(Tag::from_bytes(b"CFF "))
            .ok_or_else(|| ComposeError::FontUnreadable("the subset has no CFF table".into()))?;
        let d = Dict::new().with(b"Subtype", Object::name("CIDFontType0C"));
        w.stream(file, d, cff, true);
        (&b"FontFile3"[..], "CIDFontType0")
    } else {
        let d = Dict::new().with(b"Length1", Object::Int(subset.len() as i64));
        w.stream(file, d, &subset, true);
        (&b"FontFile2"[..], "CIDFontType2")
    };

    let scale = |v: i16| Object::Int((f64::from(v) * 1000.0 / font.upem).round() as i64);
    let descriptor = w.reserve();
    let d = Dict::new()
        .with(b"Type", Object::name("FontDescriptor"))
        .with(b"FontName", Object::name(&base))
        .with(b"Flags", Object::Int(4))
        .with(
            b"FontBBox",
            Object::Array(font.bbox.iter().map(|v| scale(*v)).collect()),
        )
        .with(b"ItalicAngle", Object::Int(0))
        .with(b"Ascent", scale(font.ascent))
        .with(b"Descent", scale(font.descent))
        .with(b"CapHeight", scale(font.cap_height))
        // Not in the font's tables; 80 is what producers write when they do not measure stems.
        .with(b"StemV", Object::Int(80))
        .with(file_key, Object::Ref(file));
    w.put(descriptor, &Object::Dict(d));

    // /W: runs of consecutive CIDs with their advances.
    let mut widths = Vec::new();
    let mut run: Vec<Object> = Vec::new();
    let mut run_start = 0u16;
    let mut last: Option<u16> = None;
    for (&cid, &(_, adv)) in &slot.used {
        if last.is_some_and(|l| l + 1 != cid) {
            widths.push(Object::Int(i64::from(run_start)));
            widths.push(Object::Array(std::mem::take(&mut run)));
        }
        if run.is_empty() {
            run_start = cid;
        }
        run.push(Object::Int(adv.round() as i64));
        last = Some(cid);
    }
    if !run.is_empty() {
        widths.push(Object::Int(i64::from(run_start)));
        widths.push(Object::Array(run));
    }
    let cid_font = w.reserve();
    let system_info = Dict::new()
        .with(b"Registry", Object::string("Adobe"))
        .with(b"Ordering", Object::string("Identity"))
        .with(b"Supplement", Object::Int(0));
    let mut d = Dict::new()
        .with(b"Type", Object::name("Font"))
        .with(b"Subtype", Object::name(cid_subtype))
        .with(b"BaseFont", Object::name(&base))
        .with(b"CIDSystemInfo", Object::Dict(system_info))
        .with(b"FontDescriptor", Object::Ref(descriptor))
        .with(b"DW", Object::Int(1000))
        .with(b"W", Object::Array(widths));
    if !font.cff {
        d.set(b"CIDToGIDMap", Object::name("Identity"));
    }
    w.put(cid_font, &Object::Dict(d));

    let to_unicode = w.reserve();
    w.stream(to_unicode, Dict::new(), &to_unicode_cmap(&slot.used), true);

    let type0 = w.reserve();
    let d = Dict::new()
        .with(b"Type", Object::name("Font"))
        .with(b"Subtype", Object::name("Type0"))
        .with(b"BaseFont", Object::name(&format!("{base}-Identity-H")))
        .with(b"Encoding", Object::name("Identity-H"))
        .with(
            b"DescendantFonts",
            Object::Array(vec![Object::Ref(cid_font)]),
        )
        .with(b"ToUnicode", Object::Ref(to_unicode));
    w.put(type0, &Object::Dict(d));
    Ok(type0)
}

/// A ToUnicode CMap (Adobe Technical Note 5411) mapping each two-byte code to its character.
fn to_unicode_cmap(used: &BTreeMap<u16, (char, f64)>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = used.iter().collect();
    // At most 100 entries per block (the CMap format's limit).
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (cid, (ch, _)) in chunk {
            let _ = write!(s, "<{cid:04X}> <");
            for u in ch.encode_utf16(&mut [0; 2]) {
                let _ = write!(s, "{u:04X}");
            }
            s.push_str(">\n");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

/// Objects by number, then the file around them.
#[derive(Default)]
struct Writer {
    bodies: Vec<Vec<u8>>,
}

impl Writer {
    fn reserve(&mut self) -> ObjRef {
        self.bodies.push(Vec::new());
        ObjRef::new(self.bodies.len() as u32, 0)
    }

    fn put(&mut self, r: ObjRef, obj: &Object) {
        let mut b = Vec::new();
        write_object(&mut b, obj);
        self.set(r, b);
    }

    fn stream(&mut self, r: ObjRef, mut dict: Dict, data: &[u8], compress: bool) {
        let mut b = Vec::new();
        if compress {
            let z = miniz_oxide::deflate::compress_to_vec_zlib(data, 9);
            dict.set(b"Filter", Object::name("FlateDecode"));
            write_stream(&mut b, &dict, &z);
        } else {
            write_stream(&mut b, &dict, data);
        }
        self.set(r, b);
    }

    fn set(&mut self, r: ObjRef, body: Vec<u8>) {
        if let Some(slot) = self.bodies.get_mut(r.num as usize - 1) {
            *slot = body;
        }
    }

    fn finish(self, root: ObjRef, info: ObjRef) -> Vec<u8> {
        // The binary comment tells transfer programs the file is not text.
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.bodies.len());
        for (i, body) in self.bodies.iter().enumerate() {
            offsets.push(out.len());
            let _ = writeln!(Out(&mut out), "{} 0 obj", i + 1);
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let _ = write!(
            Out(&mut out),
            "xref\n0 {}\n0000000000 65535 f\r\n",
            offsets.len() + 1
        );
        for o in offsets {
            let _ = write!(Out(&mut out), "{o:010} 00000 n\r\n");
        }
        let trailer = Dict::new()
            .with(b"Size", Object::Int(self.bodies.len() as i64 + 1))
            .with(b"Root", Object::Ref(root))
            .with(b"Info", Object::Ref(info));
        out.extend_from_slice(b"trailer\n");
        write_dict(&mut out, &trailer);
        let _ = write!(Out(&mut out), "\nstartxref\n{xref}\n%%EOF\n");
        out
    }
}

struct Out<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::{text, Document};

    const NOTO: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
    const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    /// A system font, or `None` (the test then checks what it can without one).
    fn system_font(path: &str, face: &str) -> Option<Font> {
        let data = std::fs::read(path).ok()?;
        Some(Font::from_collection(data, face).unwrap())
    }

    fn open(pdf: Vec<u8>) -> Document<Vec<u8>> {
        Document::open(Box::new(pdf), None).unwrap()
    }

    #[test]
    fn drawing_without_text_makes_a_readable_a4_page() {
        let mut c = Composer::new();
        c.set_title("表");
        {
            let mut p = c.add_page();
            p.rect(10.0, 10.0, 50.0, 20.0, 1.0);
            p.fill_rect(10.0, 40.0, 50.0, 20.0, 0.9);
            p.line(0.0, 0.0, 210.0, 297.0, 0.5);
            p.qr(100.0, 100.0, 30.0, b"SQ-1").unwrap();
        }
        let doc = open(c.finish().unwrap());
        let pages = doc.pages().unwrap();
        assert_eq!(pages.len(), 1);
        assert!((pages[0].media_box[2] - PAGE_WIDTH_PT).abs() < 1e-3);
        assert!((pages[0].media_box[3] - PAGE_HEIGHT_PT).abs() < 1e-3);
        // Every object is where the table says (the reader checks `N 0 obj` at each offset).
        for n in 1..doc.trailer.int(b"Size").unwrap() {
            doc.get(ObjRef::new(n as u32, 0)).unwrap();
        }
        let info = doc.resolve(doc.trailer.get(b"Info").unwrap()).unwrap();
        assert_eq!(
            info.as_dict()
                .unwrap()
                .get(b"Title")
                .unwrap()
                .as_str_bytes(),
            Some(&[0xFE, 0xFF, 0x88, 0x68][..])
        );
    }

    #[test]
    fn qr_runs_and_refusals() {
        let mut c = Composer::new();
        let mut p = c.add_page();
        p.qr(0.0, 0.0, 21.0, b"A").unwrap();
        // Version 1 is 21 modules: 1 mm each; the top left finder's first row is one 7 mm run.
        let ops = String::from_utf8(p.ops.clone()).unwrap();
        let x7 = format!("{} ", {
            let mut v = Vec::new();
            fmt_real(&mut v, 7.0 * PT_PER_MM);
            String::from_utf8(v).unwrap()
        });
        assert!(ops.contains(&x7), "{ops}");
        assert_eq!(ops.matches(" f Q").count(), 1);
        let long = vec![b'x'; 4000];
        assert!(matches!(
            p.qr(0.0, 0.0, 20.0, &long),
            Err(ComposeError::Qr(_))
        ));
    }

    #[test]
    fn unreadable_fonts_and_unknown_faces_are_named() {
        assert!(matches!(
            Font::new(b"not a font".to_vec(), 0),
            Err(ComposeError::FontUnreadable(_))
        ));
        let Ok(data) = std::fs::read(DEJAVU) else {
            eprintln!("skipping the face lookup: {DEJAVU} is missing");
            return;
        };
        let e = Font::from_collection(data, "NoSuchFace").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the font has no face whose name contains \"NoSuchFace\""
        );
    }

    #[test]
    fn truetype_fonts_embed_as_cidfonttype2_and_read_back() {
        let Some(font) = system_font(DEJAVU, "DejaVuSans") else {
            eprintln!("skipping: {DEJAVU} is missing");
            return;
        };
        assert!(!font.is_cff());
        let mut c = Composer::new();
        let f = c.add_font(&font);
        {
            let mut p = c.add_page();
            let w = p
                .text(
                    105.0,
                    50.0,
                    "Seal here",
                    Style::new(f, 12.0).align(Align::Centre),
                )
                .unwrap();
            assert!((w - font.text_width("Seal here", 12.0).unwrap()).abs() < 1e-9);
            let e = p.text(10.0, 10.0, "印", Style::new(f, 12.0)).unwrap_err();
            assert_eq!(
                e.to_string(),
                "the font DejaVuSans has no glyph for '印' (U+5370)"
            );
        }
        let pdf = c.finish().unwrap();
        let doc = open(pdf);
        let page = doc.pages().unwrap()[0].clone();
        let hits = text::find(&doc, &page, "Seal here").unwrap();
        assert_eq!(hits.len(), 1);
        // Centred on the page's middle.
        let mid = (hits[0][0] + hits[0][2]) / 2.0;
        assert!((mid - PAGE_WIDTH_PT / 2.0).abs() < 1.0, "{hits:?}");
        let res = doc.resolve_dict(page.resources.as_ref()).unwrap().unwrap();
        let fonts = doc.resolve_dict(res.get(b"Font")).unwrap().unwrap();
        let type0 = doc.resolve_dict(fonts.get(b"F0")).unwrap().unwrap();
        let desc = doc.resolve(type0.get(b"DescendantFonts").unwrap()).unwrap();
        let cid = doc
            .resolve_dict(desc.as_array().unwrap().first())
            .unwrap()
            .unwrap();
        assert_eq!(cid.name(b"Subtype"), Some(&b"CIDFontType2"[..]));
        assert_eq!(cid.name(b"CIDToGIDMap"), Some(&b"Identity"[..]));
        let fd = doc
            .resolve_dict(cid.get(b"FontDescriptor"))
            .unwrap()
            .unwrap();
        assert!(fd.get(b"FontFile2").is_some());
        assert_eq!(fd.name(b"FontName").unwrap()[6], b'+');
    }

    #[test]
    fn chinese_wraps_between_characters_keeping_punctuation_with_its_word() {
        let Some(font) = system_font(NOTO, "CJKsc") else {
            eprintln!("skipping: {NOTO} is missing");
            return;
        };
        assert!(font.is_cff());
        assert_eq!(font.name(), "NotoSansCJKsc-Regular");
        // 10 pt CJK characters are 1 em = 3.53 mm wide: 9 fit in 33 mm.
        let lines = font
            .wrap("一二三四五六七八九，十一二三四", 10.0, 33.0)
            .unwrap();
        // The comma may not start a line: 九 moves down with it.
        assert_eq!(lines, ["一二三四五六七八", "九，十一二三四"]);
        let lines = font.wrap("UKey 云签章 cloud signing", 10.0, 30.0).unwrap();
        assert_eq!(lines.concat().replace(' ', ""), "UKey云签章cloudsigning");
        for l in &lines {
            assert!(font.text_width(l, 10.0).unwrap() <= 30.0, "{lines:?}");
            assert!(!l.starts_with(' ') && !l.ends_with(' '), "{lines:?}");
        }
        // Words are not split while they fit a line.
        assert!(lines.iter().any(|l| l.contains("signing")), "{lines:?}");
        assert_eq!(font.wrap("甲\n乙", 10.0, 100.0).unwrap(), ["甲", "乙"]);
        let long = font.wrap("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10.0, 20.0).unwrap();
        assert!(long.len() > 1);
        assert_eq!(long.concat(), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        // Linear: a very long word from an applicant is cut quickly, every line within the width.
        let t = std::time::Instant::now();
        let huge = font.wrap(&"a".repeat(200_000), 10.0, 50.0).unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(huge.iter().map(String::len).sum::<usize>(), 200_000);
        assert!(huge[..huge.len() - 1]
            .iter()
            .all(|l| font.text_width(l, 10.0).unwrap() <= 50.0));
    }
}
