//! Layouts: where every ring, star and character of a seal goes, after the public-security rules
//! for official seals (sizes in mm; round 40/42, oval 45×30 and 40×30, square name seals).

use std::f64::consts::{FRAC_PI_2, PI};

use super::font::Font;
use super::geom::{Element, FillRule, Path, Picture, Point, Rect, Role};
use super::spec::{check_text, FaceSpec, NameSeal, OvalSeal, RoundKind, RoundSeal, MAX_NAME_CHARS};
use super::FaceError;

/// Characters narrower than this share of their height no longer read as characters.
const MIN_X_SCALE: f64 = 0.3;

/// Builds the picture of `spec` with glyphs from `font`.
pub fn draw(spec: &FaceSpec, font: &Font) -> Result<Picture, FaceError> {
    match spec {
        FaceSpec::Round(s) => round(s, font),
        FaceSpec::Oval(s) => oval(s, font),
        FaceSpec::Name(s) => name_seal(s, font),
    }
}

/// Places glyphs; collects the elements.
struct Pen<'f> {
    font: &'f Font,
    elements: Vec<Element>,
}

impl<'f> Pen<'f> {
    fn new(font: &'f Font) -> Self {
        Pen {
            font,
            elements: Vec::new(),
        }
    }

    fn shape(&mut self, role: Role, fill: FillRule, path: Path) {
        self.elements.push(Element {
            role,
            ch: None,
            fill,
            path,
        });
    }

    /// The width in mm of `ch` at em height `h` without horizontal scaling.
    fn natural_width(&self, ch: char, h: f64) -> Result<f64, FaceError> {
        Ok(self.font.glyph(ch)?.advance * h / self.font.em_height())
    }

    /// Draws `ch` with its em box (advance × em height) centred at `at`, `h` mm high and `w` mm
    /// wide, turned clockwise by `rot` radians (so its top points along (sin rot, −cos rot)).
    fn glyph(
        &mut self,
        role: Role,
        ch: char,
        at: Point,
        size: (f64, f64),
        rot: f64,
    ) -> Result<(), FaceError> {
        let (w, h) = size;
        let g = self.font.glyph(ch)?;
        let (sx, sy) = (w / g.advance, h / self.font.em_height());
        let (mx, my) = (g.advance / 2.0, self.font.em_middle());
        let (sin, cos) = rot.sin_cos();
        let path = g.outline.map(|p| {
            // Font units (y up) → mm about the em box centre (y down), then turn and place.
            let x = (p.x - mx) * sx;
            let y = -(p.y - my) * sy;
            Point {
                x: at.x + x * cos - y * sin,
                y: at.y + x * sin + y * cos,
            }
        });
        self.elements.push(Element {
            role,
            ch: Some(ch),
            fill: FillRule::NonZero,
            path,
        });
        Ok(())
    }

    fn finish(self, width_mm: f64, height_mm: f64) -> Picture {
        Picture {
            width_mm,
            height_mm,
            elements: self.elements,
        }
    }
}

/// A place on an arc: the point and the direction of the outward normal (radians, y down).
struct Slot {
    at: Point,
    normal: f64,
}

/// `n` places at equal arc length along the ellipse (centre `c`, semi-axes `a`, `b`) around the
/// parameter `t_mid`, reading in the direction `dir` (+1: increasing t, clockwise on screen).
/// The run spans `len` mm of arc, or all of `t_mid ± half_span` when that is shorter.
/// Returns the places and the arc length each character gets.
fn arc_slots(
    c: Point,
    (a, b): (f64, f64),
    t_mid: f64,
    half_span: f64,
    len: f64,
    dir: f64,
    n: usize,
) -> (Vec<Slot>, f64) {
    const STEPS: usize = 720;
    let t_at = |u: f64| t_mid - dir * half_span + dir * 2.0 * half_span * u;
    let pos = |t: f64| Point {
        x: c.x + a * t.cos(),
        y: c.y + b * t.sin(),
    };
    let mut cum = Vec::with_capacity(STEPS + 1);
    cum.push(0.0);
    let mut prev = pos(t_at(0.0));
    for i in 1..=STEPS {
        let p = pos(t_at(i as f64 / STEPS as f64));
        let d = ((p.x - prev.x).powi(2) + (p.y - prev.y).powi(2)).sqrt();
        cum.push(cum[i - 1] + d);
        prev = p;
    }
    let total = cum[STEPS];
    let used = len.min(total);
    let start = (total - used) / 2.0;
    let pitch = used / n as f64;
    let slots = (0..n)
        .map(|i| {
            let target = start + (i as f64 + 0.5) * pitch;
            let k = cum.partition_point(|&v| v < target).clamp(1, STEPS);
            let frac = (target - cum[k - 1]) / (cum[k] - cum[k - 1]).max(1e-12);
            let t = t_at((k as f64 - 1.0 + frac) / STEPS as f64);
            Slot {
                at: pos(t),
                normal: (a * t.sin()).atan2(b * t.cos()),
            }
        })
        .collect();
    (slots, pitch)
}

/// Text along the upper arc, tops outward, left to right. `h` is the character height; each
/// character gets at most `max_aspect` × `h` of width and 88 % of its pitch.
#[allow(clippy::too_many_arguments)]
fn upper_arc(
    pen: &mut Pen<'_>,
    role: Role,
    field: &'static str,
    chars: &[char],
    c: Point,
    axes: (f64, f64),
    half_span: f64,
    len: f64,
    h: f64,
    max_aspect: f64,
) -> Result<(), FaceError> {
    let (slots, pitch) = arc_slots(c, axes, 1.5 * PI, half_span, len, 1.0, chars.len());
    for (ch, s) in chars.iter().zip(&slots) {
        let nat = pen.natural_width(*ch, h)?;
        let w = (max_aspect * h).min(0.88 * pitch).min(nat);
        if w < MIN_X_SCALE * h.min(nat) {
            return Err(FaceError::DoesNotFit {
                field,
                reason: format!(
                    "{} characters leave {pitch:.2} mm each on the arc",
                    chars.len()
                ),
            });
        }
        pen.glyph(role, *ch, s.at, (w, h), s.normal + FRAC_PI_2)?;
    }
    Ok(())
}

/// Small text along the lower arc, tops toward the centre, left to right, `pitch` mm apart.
fn lower_arc(
    pen: &mut Pen<'_>,
    role: Role,
    chars: &[char],
    c: Point,
    axes: (f64, f64),
    h: f64,
    pitch: f64,
) -> Result<(), FaceError> {
    let len = pitch * chars.len() as f64;
    let (slots, _) = arc_slots(c, axes, FRAC_PI_2, FRAC_PI_2, len, -1.0, chars.len());
    for (ch, s) in chars.iter().zip(&slots) {
        let w = pen.natural_width(*ch, h)?.min(0.9 * pitch);
        pen.glyph(role, *ch, s.at, (w, h), s.normal - FRAC_PI_2)?;
    }
    Ok(())
}

/// One horizontal line centred at `c`: characters `h` high, at most `aspect` × their natural
/// width, `gap` apart; narrowed together to fit `max_w`.
#[allow(clippy::too_many_arguments)]
fn line(
    pen: &mut Pen<'_>,
    role: Role,
    field: &'static str,
    chars: &[char],
    c: Point,
    h: f64,
    aspect: f64,
    gap: f64,
    max_w: f64,
) -> Result<(), FaceError> {
    let mut widths = Vec::with_capacity(chars.len());
    for ch in chars {
        widths.push(pen.natural_width(*ch, h)? * aspect);
    }
    let gaps = gap * chars.len().saturating_sub(1) as f64;
    let sum: f64 = widths.iter().sum();
    let k = ((max_w - gaps) / sum).min(1.0);
    if k * aspect < MIN_X_SCALE {
        return Err(FaceError::DoesNotFit {
            field,
            reason: format!(
                "{} characters need {:.1} mm, {max_w:.1} mm available",
                chars.len(),
                sum + gaps
            ),
        });
    }
    let total = sum * k + gaps;
    let mut x = c.x - total / 2.0;
    for (ch, w) in chars.iter().zip(widths) {
        let w = w * k;
        pen.glyph(
            role,
            *ch,
            Point {
                x: x + w / 2.0,
                y: c.y,
            },
            (w, h),
            0.0,
        )?;
        x += w + gap;
    }
    Ok(())
}

fn ring(pen: &mut Pen<'_>, c: Point, (a, b): (f64, f64), width: f64) {
    let mut p = Path::ellipse(c, a, b);
    p.append(Path::ellipse(c, a - width, b - width));
    pen.shape(Role::Border, FillRule::EvenOdd, p);
}

/// The five-pointed star, one point up, centred at `c`, `r` from centre to point.
fn star(pen: &mut Pen<'_>, c: Point, r: f64) {
    // Inner radius of a regular star: r · sin 18° / sin 54°.
    let ri = r * (PI / 10.0).sin() / (3.0 * PI / 10.0).sin();
    let pts: Vec<Point> = (0..10)
        .map(|i| {
            let ang = -FRAC_PI_2 + i as f64 * PI / 5.0;
            let rr = if i % 2 == 0 { r } else { ri };
            Point {
                x: c.x + rr * ang.cos(),
                y: c.y + rr * ang.sin(),
            }
        })
        .collect();
    pen.shape(Role::Star, FillRule::NonZero, Path::polygon(&pts));
}

fn round(seal: &RoundSeal, font: &Font) -> Result<Picture, FaceError> {
    let name = check_text("organisation name", &seal.org_name, MAX_NAME_CHARS)?;
    font.covers(&seal.org_name)?;
    let d = seal
        .diameter
        .map(|d| d.mm())
        .unwrap_or(if seal.kind == RoundKind::LegalName {
            42.0
        } else {
            40.0
        });
    let (r, s) = (d / 2.0, d / 42.0);
    let c = Point { x: r, y: r };
    let mut pen = Pen::new(font);
    let ring_w = 1.2 * s;
    ring(&mut pen, c, (r, r), ring_w);
    star(&mut pen, c, 7.0 * s);

    // Long names get slightly lower characters so they keep some width.
    let n = name.len();
    let h = s * if n <= 16 {
        6.6
    } else {
        6.6 - 1.1 * (n - 16) as f64 / 14.0
    };
    let rc = r - ring_w - 0.7 * s - h / 2.0;
    // A natural run is one character and a little air per ~1.1 h of arc; the rules spread a
    // name over 210–240°, and a short name no wider than ~40° a character.
    let natural = n as f64 * 1.1 * h / rc;
    let span = natural.clamp(
        (n as f64 * 40f64.to_radians()).min(210f64.to_radians()),
        240f64.to_radians(),
    );
    upper_arc(
        &mut pen,
        Role::Name,
        "organisation name",
        &name,
        c,
        (rc, rc),
        120f64.to_radians(),
        span * rc,
        h,
        0.8,
    )?;

    if let Some(kind) = seal.kind.text() {
        let chars: Vec<char> = kind.chars().collect();
        font.covers(kind)?;
        line(
            &mut pen,
            Role::Kind,
            "seal kind",
            &chars,
            Point {
                x: r,
                y: r + 9.7 * s,
            },
            4.4 * s,
            0.85,
            0.3 * s,
            19.5 * s,
        )?;
    }
    if let Some(code) = &seal.code {
        let digits: Vec<char> = code.as_str().chars().collect();
        font.covers(code.as_str())?;
        let hc = 2.3 * s;
        let rcode = r - ring_w - 0.5 * s - hc / 2.0;
        lower_arc(
            &mut pen,
            Role::Code,
            &digits,
            c,
            (rcode, rcode),
            hc,
            1.45 * s,
        )?;
    }
    Ok(pen.finish(d, d))
}

fn oval(seal: &OvalSeal, font: &Font) -> Result<Picture, FaceError> {
    let name = check_text("organisation name", &seal.org_name, MAX_NAME_CHARS)?;
    font.covers(&seal.org_name)?;
    let (w, h) = seal.kind.size_mm();
    let (a, b) = (w / 2.0, h / 2.0);
    let c = Point { x: a, y: b };
    let mut pen = Pen::new(font);
    let ring_w = 1.0;
    ring(&mut pen, c, (a, b), ring_w);

    let n = name.len();
    let hn = if n <= 14 {
        4.6
    } else {
        4.6 - 0.9 * (n - 14) as f64 / 16.0
    };
    let inset = ring_w + 0.6 + hn / 2.0;
    let axes = (a - inset, b - inset);
    // The upper arc, its ends a little above the middle line the taxpayer number takes; a short
    // name stays near the top.
    let len = if n >= 6 {
        f64::INFINITY
    } else {
        n as f64 * 1.15 * hn
    };
    upper_arc(
        &mut pen,
        Role::Name,
        "organisation name",
        &name,
        c,
        axes,
        84f64.to_radians(),
        len,
        hn,
        0.8,
    )?;

    // The taxpayer number across the middle, 1.5 mm clear of the name's ends.
    let tax: Vec<char> = seal.taxpayer.as_str().chars().collect();
    font.covers(seal.taxpayer.as_str())?;
    let tax_w = 2.0 * (axes.0 - hn / 2.0 - 1.5);
    line(
        &mut pen,
        Role::Taxpayer,
        "taxpayer number",
        &tax,
        Point { x: a, y: b + 0.6 },
        3.0,
        1.0,
        0.1,
        tax_w,
    )?;

    let kind: Vec<char> = seal.kind.text().chars().collect();
    font.covers(seal.kind.text())?;
    line(
        &mut pen,
        Role::Kind,
        "seal kind",
        &kind,
        Point { x: a, y: b + 6.4 },
        4.2,
        0.85,
        0.3,
        18.0,
    )?;

    if let Some(code) = &seal.code {
        let digits: Vec<char> = code.as_str().chars().collect();
        font.covers(code.as_str())?;
        let hc = 2.1;
        let inset = ring_w + 0.45 + hc / 2.0;
        lower_arc(
            &mut pen,
            Role::Code,
            &digits,
            c,
            (a - inset, b - inset),
            hc,
            1.3,
        )?;
    }
    Ok(pen.finish(w, h))
}

fn name_seal(seal: &NameSeal, font: &Font) -> Result<Picture, FaceError> {
    let chars = check_text("person name", &seal.person_name, 4)?;
    if chars.len() < 2 {
        return Err(FaceError::Invalid {
            field: "person name",
            reason: "a name seal holds 2, 3 or 4 characters".into(),
        });
    }
    font.covers(&seal.person_name)?;
    let side = seal.size_mm.unwrap_or(18.0);
    if !(10.0..=30.0).contains(&side) {
        return Err(FaceError::Invalid {
            field: "name seal size",
            reason: format!("{side} mm is outside 10..=30 mm"),
        });
    }
    let s = side / 18.0;
    let mut pen = Pen::new(font);
    let frame = 1.3 * s;
    let mut p = Path::rect(Rect {
        x0: 0.0,
        y0: 0.0,
        x1: side,
        y1: side,
    });
    p.append(Path::rect(Rect {
        x0: frame,
        y0: frame,
        x1: side - frame,
        y1: side - frame,
    }));
    pen.shape(Role::Border, FillRule::EvenOdd, p);

    // Two columns read right first, top to bottom; the em box fills its cell a little over, as
    // CJK glyphs leave ~5 % air inside it.
    let inner = side - 2.0 * frame - 2.0 * 0.7 * s;
    let gutter = 0.5 * s;
    let col_w = (inner - gutter) / 2.0;
    let row_h = (inner - gutter) / 2.0;
    let x_right = side / 2.0 + gutter / 2.0 + col_w / 2.0;
    let x_left = side / 2.0 - gutter / 2.0 - col_w / 2.0;
    let y_top = side / 2.0 - gutter / 2.0 - row_h / 2.0;
    let y_bottom = side / 2.0 + gutter / 2.0 + row_h / 2.0;
    let mid = side / 2.0;
    let fill = 1.06;
    let cell = |x: f64, y: f64, w: f64, h: f64| (Point { x, y }, (w * fill, h * fill));
    let cells = match chars.len() {
        2 => vec![
            cell(x_right, mid, col_w, inner),
            cell(x_left, mid, col_w, inner),
        ],
        // The surname alone in the right column, the given name down the left.
        3 => vec![
            cell(x_right, mid, col_w, inner),
            cell(x_left, y_top, col_w, row_h),
            cell(x_left, y_bottom, col_w, row_h),
        ],
        _ => vec![
            cell(x_right, y_top, col_w, row_h),
            cell(x_right, y_bottom, col_w, row_h),
            cell(x_left, y_top, col_w, row_h),
            cell(x_left, y_bottom, col_w, row_h),
        ],
    };
    for (ch, (at, size)) in chars.iter().zip(cells) {
        pen.glyph(Role::PersonName, *ch, at, size, 0.0)?;
    }
    Ok(pen.finish(side, side))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::spec::{Diameter, OvalKind, SealCode, TaxpayerId};

    /// A system Noto CJK face; `None` skips (unless SEALPKI_REQUIRE_FONTS=1: then it fails).
    pub(crate) fn font() -> Option<Font> {
        for f in [
            "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        ] {
            if let Ok(data) = std::fs::read(f) {
                return Some(Font::from_collection(data, "CJK SC").unwrap());
            }
        }
        assert!(
            std::env::var("SEALPKI_REQUIRE_FONTS").as_deref() != Ok("1"),
            "no Noto CJK font and SEALPKI_REQUIRE_FONTS=1"
        );
        eprintln!("skipped: no Noto CJK font");
        None
    }

    fn round(kind: RoundKind, name: &str) -> FaceSpec {
        FaceSpec::Round(RoundSeal {
            kind,
            org_name: name.into(),
            code: Some(SealCode::parse("1101080000001").unwrap()),
            diameter: None,
        })
    }

    fn name_of(n: usize) -> String {
        "北京数字证书认证中心有限公司"
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    fn text(pic: &Picture) -> impl Iterator<Item = &Element> {
        pic.elements()
            .iter()
            .filter(|e| !matches!(e.role, Role::Border | Role::Star))
    }

    fn boxes(pic: &Picture, role: Role) -> Vec<Rect> {
        pic.of(role).filter_map(|e| e.path.bbox()).collect()
    }

    fn apart(a: &[Rect], b: &[Rect]) -> bool {
        a.iter().all(|x| b.iter().all(|y| !x.overlaps(y)))
    }

    #[test]
    fn round_text_stays_inside_the_ring_and_the_star_is_centred() {
        let Some(font) = font() else { return };
        for kind in [
            RoundKind::LegalName,
            RoundKind::Contract,
            RoundKind::Business,
        ] {
            for n in 1..=30 {
                let pic = draw(&round(kind, &name_of(n)), &font).unwrap();
                let d = if kind == RoundKind::LegalName {
                    42.0
                } else {
                    40.0
                };
                assert_eq!((pic.width_mm(), pic.height_mm()), (d, d));
                let (r, inner) = (d / 2.0, d / 2.0 - 1.2 * d / 42.0);
                for e in text(&pic) {
                    for p in e.path.points() {
                        let dist = ((p.x - r).powi(2) + (p.y - r).powi(2)).sqrt();
                        assert!(dist < inner, "{kind:?} n={n}: {:?} at {dist:.2} mm", e.ch);
                    }
                }
                assert_eq!(pic.of(Role::Name).count(), n);
                let star: Vec<Point> = pic.of(Role::Star).flat_map(|e| e.path.points()).collect();
                let cx = star.iter().map(|p| p.x).sum::<f64>() / star.len() as f64;
                let cy = star.iter().map(|p| p.y).sum::<f64>() / star.len() as f64;
                assert!(
                    (cx - r).abs() < 1e-9 && (cy - r).abs() < 1e-9,
                    "star at ({cx}, {cy})"
                );
                let star_box = boxes(&pic, Role::Star);
                let kind_boxes = boxes(&pic, Role::Kind);
                assert!(
                    apart(&kind_boxes, &star_box),
                    "{kind:?} n={n}: kind text on the star"
                );
                assert!(
                    apart(&kind_boxes, &boxes(&pic, Role::Name)),
                    "{kind:?} n={n}"
                );
                assert!(
                    apart(&kind_boxes, &boxes(&pic, Role::Code)),
                    "{kind:?} n={n}"
                );
                assert!(apart(&boxes(&pic, Role::Name), &star_box), "{kind:?} n={n}");
            }
        }
    }

    #[test]
    fn names_beyond_30_characters_are_refused() {
        let Some(font) = font() else { return };
        let e = draw(&round(RoundKind::Contract, &name_of(31)), &font)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("organisation name") && e.contains("at most 30"),
            "{e}"
        );
        let e = draw(&round(RoundKind::Contract, ""), &font)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn a_missing_glyph_is_named() {
        let Some(font) = font() else { return };
        let e = draw(&round(RoundKind::Contract, "测试\u{13000}公司"), &font)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no glyph for '\u{13000}'") && e.contains("U+13000"),
            "{e}"
        );
    }

    #[test]
    fn zero_advance_characters_get_a_cell() {
        let Some(font) = font() else { return };
        let pic = draw(&round(RoundKind::Contract, "测\u{301}试公司"), &font).unwrap();
        assert!(text(&pic)
            .flat_map(|e| e.path.points())
            .all(|p| p.x.is_finite() && p.y.is_finite()));
    }

    #[test]
    fn the_diameter_can_be_chosen() {
        let Some(font) = font() else { return };
        let mut spec = round(RoundKind::Contract, "测试公司");
        if let FaceSpec::Round(r) = &mut spec {
            r.diameter = Some(Diameter::Mm42);
        }
        assert_eq!(draw(&spec, &font).unwrap().width_mm(), 42.0);
    }

    #[test]
    fn oval_parts_are_inside_and_apart() {
        let Some(font) = font() else { return };
        for kind in [OvalKind::Finance, OvalKind::Invoice] {
            for n in [2, 8, 12, 20, 30] {
                let spec = FaceSpec::Oval(OvalSeal {
                    kind,
                    org_name: name_of(n),
                    taxpayer: TaxpayerId::parse("91350100M000100Y43").unwrap(),
                    code: Some(SealCode::parse("3501000000001").unwrap()),
                });
                let pic = draw(&spec, &font).unwrap();
                let (a, b) = (pic.width_mm() / 2.0, pic.height_mm() / 2.0);
                assert_eq!((pic.width_mm(), pic.height_mm()), kind.size_mm());
                for e in text(&pic) {
                    for p in e.path.points() {
                        let q = ((p.x - a) / (a - 1.0)).powi(2) + ((p.y - b) / (b - 1.0)).powi(2);
                        assert!(q < 1.0, "{kind:?} n={n}: {:?} outside the border", e.ch);
                    }
                }
                let [name, tax, kind_b, code] =
                    [Role::Name, Role::Taxpayer, Role::Kind, Role::Code].map(|r| boxes(&pic, r));
                assert_eq!(tax.len(), 18);
                assert!(
                    apart(&name, &tax),
                    "{kind:?} n={n}: name meets taxpayer number"
                );
                assert!(apart(&tax, &kind_b) && apart(&kind_b, &code) && apart(&name, &kind_b));
            }
        }
    }

    #[test]
    fn name_seals_read_right_column_first() {
        let Some(font) = font() else { return };
        let spec = |n: &str| {
            FaceSpec::Name(NameSeal {
                person_name: n.into(),
                size_mm: None,
            })
        };
        let centre = |e: &Element| {
            let r = e.path.bbox().unwrap();
            ((r.x0 + r.x1) / 2.0, (r.y0 + r.y1) / 2.0)
        };
        let pic = draw(&spec("欧阳建国"), &font).unwrap();
        let c: Vec<(f64, f64)> = pic.of(Role::PersonName).map(centre).collect();
        assert!(
            c[0].0 > 9.0 && c[1].0 > 9.0 && c[2].0 < 9.0 && c[3].0 < 9.0,
            "{c:?}"
        );
        assert!(c[0].1 < c[1].1 && c[2].1 < c[3].1, "{c:?}");
        for n in ["李明", "王小波", "欧阳建国"] {
            let pic = draw(&spec(n), &font).unwrap();
            assert_eq!(pic.width_mm(), 18.0);
            for e in pic.of(Role::PersonName) {
                let r = e.path.bbox().unwrap();
                assert!(
                    r.x0 > 1.3 && r.y0 > 1.3 && r.x1 < 16.7 && r.y1 < 16.7,
                    "{n}: {r:?}"
                );
            }
        }
        for bad in ["李", "司马相如君"] {
            assert!(draw(&spec(bad), &font).is_err(), "{bad}");
        }
    }

    #[test]
    fn svg_and_png_agree_on_size_and_colour() {
        let Some(font) = font() else { return };
        let pic = draw(&round(RoundKind::LegalName, "测试印章有限公司"), &font).unwrap();
        let svg = pic.to_svg();
        assert!(svg.contains("viewBox=\"0 0 42 42\"") && svg.contains("width=\"42mm\""));
        let img = pic.render(300).unwrap();
        assert_eq!((img.width, img.height), (496, 496));
        assert_eq!(
            img.pixel(248, 248),
            Some([0xE6, 0x00, 0x12, 255]),
            "the star"
        );
        assert_eq!(img.pixel(2, 2).map(|p| p[3]), Some(0), "transparent corner");
        assert!(pic.render(10_000).is_err());
    }
}
