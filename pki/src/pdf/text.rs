//! Finding text on a page (for seals placed on a keyword such as 盖章处): the page's content streams
//! are interpreted for text state and positions only, and glyph codes are mapped to Unicode through
//! `/ToUnicode` CMaps, the UCS-2 CMaps of CJK fonts, or the simple-font encodings.

use std::collections::HashMap;

use super::object::{Dict, Object};
use super::parse::{is_delim, is_white, Parser};
use super::reader::{Document, Page, Source};
use super::PdfError;

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

struct Font {
    two_byte: bool,
    to_unicode: HashMap<u32, String>,
    /// Code → width in glyph space (thousandths of the font size).
    widths: HashMap<u32, f64>,
    default_width: f64,
    /// The CMap's codes are UCS-2 (UniGB-UCS2-H and kin).
    ucs2: bool,
}

impl Font {
    fn load<S: Source + ?Sized>(doc: &Document<S>, d: &Dict) -> Result<Font, PdfError> {
        let subtype = d.name(b"Subtype").unwrap_or_default();
        let two_byte = subtype == b"Type0";
        let mut f = Font {
            two_byte,
            to_unicode: HashMap::new(),
            widths: HashMap::new(),
            default_width: if two_byte { 1000.0 } else { 500.0 },
            ucs2: false,
        };
        if let Some(Object::Stream(s)) = d.get(b"ToUnicode").map(|o| doc.resolve(o)).transpose()? {
            let id = d
                .get(b"ToUnicode")
                .and_then(Object::as_ref)
                .unwrap_or(super::ObjRef::new(0, 0));
            if let Ok(data) = doc.stream_data(id, &s) {
                parse_cmap(&data, &mut f.to_unicode);
            }
        }
        if two_byte {
            if let Some(enc) = d.name(b"Encoding") {
                f.ucs2 =
                    enc.windows(4).any(|w| w == b"UCS2") || enc.windows(5).any(|w| w == b"UTF16");
            }
            let desc = doc.resolve(d.get(b"DescendantFonts").unwrap_or(&Object::Null))?;
            if let Some(df) = desc.as_array().and_then(|a| a.first()) {
                if let Some(df) = doc.resolve(df)?.as_dict() {
                    if let Some(dw) = df.get(b"DW").and_then(Object::as_f64) {
                        f.default_width = dw;
                    }
                    let w = doc.resolve(df.get(b"W").unwrap_or(&Object::Null))?;
                    let items = w.as_array().unwrap_or_default();
                    let mut i = 0;
                    while i + 1 < items.len() {
                        let first = items[i].as_int().unwrap_or(0).max(0) as u32;
                        match &items[i + 1] {
                            Object::Array(ws) => {
                                for (k, w) in ws.iter().enumerate().take(65536) {
                                    f.widths.insert(
                                        first + k as u32,
                                        w.as_f64().unwrap_or(f.default_width),
                                    );
                                }
                                i += 2;
                            }
                            o => {
                                let last = o.as_int().unwrap_or(0).max(0) as u32;
                                let w = items
                                    .get(i + 2)
                                    .and_then(Object::as_f64)
                                    .unwrap_or(f.default_width);
                                for c in first..=last.min(first + 65535) {
                                    f.widths.insert(c, w);
                                }
                                i += 3;
                            }
                        }
                    }
                }
            }
        } else {
            let first = d.int(b"FirstChar").unwrap_or(0).max(0) as u32;
            let ws = doc.resolve(d.get(b"Widths").unwrap_or(&Object::Null))?;
            for (k, w) in ws
                .as_array()
                .unwrap_or_default()
                .iter()
                .enumerate()
                .take(256)
            {
                f.widths
                    .insert(first + k as u32, w.as_f64().unwrap_or(500.0));
            }
        }
        Ok(f)
    }

    fn codes(&self, bytes: &[u8]) -> Vec<u32> {
        if self.two_byte {
            bytes
                .chunks(2)
                .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
                .collect()
        } else {
            bytes.iter().map(|b| u32::from(*b)).collect()
        }
    }

    fn text(&self, code: u32) -> String {
        if let Some(s) = self.to_unicode.get(&code) {
            return s.clone();
        }
        if self.ucs2 || (!self.two_byte) {
            return char::from_u32(code).map(String::from).unwrap_or_default();
        }
        String::new()
    }

    fn width(&self, code: u32) -> f64 {
        self.widths
            .get(&code)
            .copied()
            .unwrap_or(self.default_width)
    }
}

fn hex(t: &str) -> Option<&[u8]> {
    t.strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .map(str::as_bytes)
}

fn hex_code(tok: &[u8]) -> Option<(u32, usize)> {
    let h = std::str::from_utf8(tok).ok()?;
    Some((u32::from_str_radix(h, 16).ok()?, h.len() / 2))
}

fn utf16_hex(tok: &[u8]) -> String {
    let bytes = hex::decode(tok).unwrap_or_default();
    let u: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&u)
}

/// The bfchar and bfrange sections of a ToUnicode CMap.
fn parse_cmap(data: &[u8], out: &mut HashMap<u32, String>) {
    let s = String::from_utf8_lossy(data);
    let toks: Vec<&str> = s
        .split(|c: char| c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            "beginbfchar" => {
                i += 1;
                while i + 1 < toks.len() && toks[i] != "endbfchar" {
                    if let (Some(src), Some(dst)) = (hex(toks[i]), hex(toks[i + 1])) {
                        if let Some((c, _)) = hex_code(src) {
                            out.insert(c, utf16_hex(dst));
                        }
                    }
                    i += 2;
                }
            }
            "beginbfrange" => {
                i += 1;
                while i + 2 < toks.len() && toks[i] != "endbfrange" {
                    let (lo, hi) = (
                        hex(toks[i]).and_then(hex_code),
                        hex(toks[i + 1]).and_then(hex_code),
                    );
                    if let (Some((lo, _)), Some((hi, _)), Some(dst)) = (lo, hi, hex(toks[i + 2])) {
                        let base = utf16_hex(dst);
                        let mut chars: Vec<char> = base.chars().collect();
                        for c in lo..=hi.min(lo + 65535) {
                            out.insert(c, chars.iter().collect());
                            if let Some(last) = chars.last_mut() {
                                *last = char::from_u32(*last as u32 + 1).unwrap_or(*last);
                            }
                        }
                        i += 3;
                    } else {
                        // An array destination: skip to its end.
                        while i < toks.len() && !toks[i].ends_with(']') {
                            i += 1;
                        }
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
}

/// One character placed on the page, in default user space.
#[derive(Clone, Debug)]
struct Glyph {
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

/// Operands and operators of a content stream.
enum Tok {
    Operand(Object),
    Op(Vec<u8>),
}

fn tokens(data: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut padded = data.to_vec();
    padded.push(b' ');
    let mut p = Parser::complete(&padded, 0);
    loop {
        p.skip_ws();
        if p.pos >= padded.len() - 1 {
            break;
        }
        let b = padded[p.pos];
        let is_operand_start = b == b'/'
            || b == b'('
            || b == b'<'
            || b == b'['
            || b == b'-'
            || b == b'+'
            || b == b'.'
            || b.is_ascii_digit();
        if is_operand_start {
            let start = p.pos;
            match p.object(0) {
                Ok(o) => out.push(Tok::Operand(o)),
                Err(_) => {
                    p.pos = start + 1;
                }
            }
            continue;
        }
        let start = p.pos;
        while p.pos < padded.len() && !is_white(padded[p.pos]) && !is_delim(padded[p.pos]) {
            p.pos += 1;
        }
        if p.pos == start {
            p.pos += 1;
            continue;
        }
        let op = padded[start..p.pos].to_vec();
        if op == b"BI" {
            // Inline image: skip to EI.
            if let Some(e) = padded[p.pos..]
                .windows(3)
                .position(|w| is_white(w[0]) && &w[1..] == b"EI")
            {
                p.pos += e + 3;
            }
            continue;
        }
        out.push(Tok::Op(op));
    }
    out
}

fn glyphs<S: Source + ?Sized>(doc: &Document<S>, page: &Page) -> Result<Vec<Glyph>, PdfError> {
    let res = match &page.resources {
        Some(r) => doc.resolve(r)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    let font_dict = doc.resolve_dict(res.get(b"Font"))?.unwrap_or_default();
    let mut fonts: HashMap<Vec<u8>, Font> = HashMap::new();
    let mut data = Vec::new();
    let contents = page.dict.get(b"Contents").cloned().unwrap_or(Object::Null);
    let parts: Vec<Object> = match doc.resolve(&contents)? {
        Object::Array(a) => a,
        _ => vec![contents],
    };
    for part in parts {
        let id = part.as_ref();
        if let (Some(id), Object::Stream(s)) = (id, doc.resolve(&part)?) {
            data.extend(doc.stream_data(id, &s)?);
            data.push(b'\n');
        }
    }
    let mut out = Vec::new();
    let mut ctm = IDENTITY;
    let mut stack: Vec<Matrix> = Vec::new();
    let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
    let (mut size, mut tc, mut tw, mut th, mut tl, mut rise) = (12.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    let mut font: Option<Vec<u8>> = None;
    let mut operands: Vec<Object> = Vec::new();
    let num = |o: &[Object], i: usize| o.get(i).and_then(Object::as_f64).unwrap_or(0.0);
    for tok in tokens(&data) {
        let op = match tok {
            Tok::Operand(o) => {
                operands.push(o);
                continue;
            }
            Tok::Op(op) => op,
        };
        let o = std::mem::take(&mut operands);
        let n = o.len();
        let last = |k: usize| if n >= k { &o[n - k..] } else { &o[..] };
        match op.as_slice() {
            b"q" => stack.push(ctm),
            b"Q" => ctm = stack.pop().unwrap_or(IDENTITY),
            b"cm" if n >= 6 => {
                let a = last(6);
                ctm = mul(
                    &[
                        num(a, 0),
                        num(a, 1),
                        num(a, 2),
                        num(a, 3),
                        num(a, 4),
                        num(a, 5),
                    ],
                    &ctm,
                );
            }
            b"BT" => {
                tm = IDENTITY;
                tlm = IDENTITY;
            }
            b"Tf" if n >= 2 => {
                font = o[n - 2].as_name().map(<[u8]>::to_vec);
                size = num(&o, n - 1);
                if let Some(name) = &font {
                    if !fonts.contains_key(name) {
                        if let Some(fd) = doc.resolve_dict(font_dict.get(name))? {
                            fonts.insert(name.clone(), Font::load(doc, &fd)?);
                        }
                    }
                }
            }
            b"Tc" if n >= 1 => tc = num(&o, n - 1),
            b"Tw" if n >= 1 => tw = num(&o, n - 1),
            b"Tz" if n >= 1 => th = num(&o, n - 1) / 100.0,
            b"TL" if n >= 1 => tl = num(&o, n - 1),
            b"Ts" if n >= 1 => rise = num(&o, n - 1),
            b"Td" | b"TD" if n >= 2 => {
                let (tx, ty) = (num(&o, n - 2), num(&o, n - 1));
                if op == b"TD" {
                    tl = -ty;
                }
                tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &tlm);
                tm = tlm;
            }
            b"Tm" if n >= 6 => {
                let a = last(6);
                tlm = [
                    num(a, 0),
                    num(a, 1),
                    num(a, 2),
                    num(a, 3),
                    num(a, 4),
                    num(a, 5),
                ];
                tm = tlm;
            }
            b"T*" => {
                tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -tl], &tlm);
                tm = tlm;
            }
            b"Tj" | b"'" | b"\"" | b"TJ" => {
                if op == b"'" || op == b"\"" {
                    if op == b"\"" && n >= 3 {
                        tw = num(&o, n - 3);
                        tc = num(&o, n - 2);
                    }
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -tl], &tlm);
                    tm = tlm;
                }
                let Some(f) = font.as_ref().and_then(|f| fonts.get(f)) else {
                    continue;
                };
                let items: Vec<Object> = match o.last() {
                    Some(Object::Array(a)) => a.clone(),
                    Some(s @ Object::Str { .. }) => vec![s.clone()],
                    _ => continue,
                };
                for it in items {
                    match it {
                        Object::Str { bytes, .. } => {
                            for code in f.codes(&bytes) {
                                let w0 = f.width(code) / 1000.0;
                                let trm =
                                    mul(&mul(&[size * th, 0.0, 0.0, size, 0.0, rise], &tm), &ctm);
                                let (x0, y0) = apply(&trm, 0.0, -0.2);
                                let (x1, y1) = apply(&trm, w0, 0.8);
                                out.push(Glyph {
                                    text: f.text(code),
                                    x0: x0.min(x1),
                                    y0: y0.min(y1),
                                    x1: x0.max(x1),
                                    y1: y0.max(y1),
                                });
                                let space = if !f.two_byte && code == 32 { tw } else { 0.0 };
                                let tx = (w0 * size + tc + space) * th;
                                tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                            }
                        }
                        o => {
                            let adj = o.as_f64().unwrap_or(0.0);
                            let tx = -adj / 1000.0 * size * th;
                            tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Boxes (x0, y0, x1, y1 in default user space) of each occurrence of `needle` on `page`.
pub fn find<S: Source + ?Sized>(
    doc: &Document<S>,
    page: &Page,
    needle: &str,
) -> Result<Vec<[f64; 4]>, PdfError> {
    let gs = glyphs(doc, page)?;
    // Text with one entry per character, each pointing back at its glyph.
    let mut chars: Vec<(char, usize)> = Vec::new();
    for (i, g) in gs.iter().enumerate() {
        for c in g.text.chars() {
            if !c.is_whitespace() {
                chars.push((c, i));
            }
        }
    }
    let want: Vec<char> = needle.chars().filter(|c| !c.is_whitespace()).collect();
    let mut hits = Vec::new();
    if want.is_empty() {
        return Ok(hits);
    }
    let mut i = 0;
    while i + want.len() <= chars.len() {
        if chars[i..i + want.len()]
            .iter()
            .map(|(c, _)| *c)
            .eq(want.iter().copied())
        {
            let glyphs = &chars[i..i + want.len()];
            let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for (_, gi) in glyphs {
                let g = &gs[*gi];
                b = [
                    b[0].min(g.x0),
                    b[1].min(g.y0),
                    b[2].max(g.x1),
                    b[3].max(g.y1),
                ];
            }
            hits.push(b);
            i += want.len();
        } else {
            i += 1;
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmap_ranges_and_chars() {
        let cmap =
            b"1 beginbfchar <0003> <0020> endbfchar 1 beginbfrange <0010> <0012> <76D6> endbfrange";
        let mut m = HashMap::new();
        parse_cmap(cmap, &mut m);
        assert_eq!(m[&3], " ");
        assert_eq!(m[&0x10], "盖");
        assert_eq!(m[&0x11], "盗");
    }
}
