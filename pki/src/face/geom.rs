//! The geometry of a seal picture — filled paths in mm, y down — and its two writers: SVG text and
//! a tiny-skia raster (PNG).

use std::fmt::Write as _;

use super::{check_dpi, mm_to_px, FaceError, RgbaImage, SEAL_RED};

/// A point in mm (picture space: origin top left, y down) or font units (y up) inside a glyph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One path segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seg {
    MoveTo(Point),
    LineTo(Point),
    QuadTo(Point, Point),
    CubicTo(Point, Point, Point),
    Close,
}

/// An axis-aligned box in mm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    /// Whether the two boxes share any area.
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// A path: subpaths of lines and Bézier curves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    segs: Vec<Seg>,
}

impl Path {
    pub(crate) fn from_segs(segs: Vec<Seg>) -> Path {
        Path { segs }
    }

    /// The segments.
    pub fn segs(&self) -> &[Seg] {
        &self.segs
    }

    /// Every end and control point. Curves lie in the convex hull of their points, so a path whose
    /// points are all inside a convex region is inside it.
    pub fn points(&self) -> impl Iterator<Item = Point> + '_ {
        self.segs.iter().flat_map(|s| {
            let v: Vec<Point> = match *s {
                Seg::MoveTo(p) | Seg::LineTo(p) => vec![p],
                Seg::QuadTo(a, p) => vec![a, p],
                Seg::CubicTo(a, b, p) => vec![a, b, p],
                Seg::Close => vec![],
            };
            v.into_iter()
        })
    }

    /// The box around every point (a little larger than the ink for curves); `None` when empty.
    pub fn bbox(&self) -> Option<Rect> {
        let mut it = self.points();
        let first = it.next()?;
        let mut r = Rect {
            x0: first.x,
            y0: first.y,
            x1: first.x,
            y1: first.y,
        };
        for p in it {
            r.x0 = r.x0.min(p.x);
            r.y0 = r.y0.min(p.y);
            r.x1 = r.x1.max(p.x);
            r.y1 = r.y1.max(p.y);
        }
        Some(r)
    }

    pub(crate) fn map(&self, f: impl Fn(Point) -> Point) -> Path {
        let segs = self
            .segs
            .iter()
            .map(|s| match *s {
                Seg::MoveTo(p) => Seg::MoveTo(f(p)),
                Seg::LineTo(p) => Seg::LineTo(f(p)),
                Seg::QuadTo(a, p) => Seg::QuadTo(f(a), f(p)),
                Seg::CubicTo(a, b, p) => Seg::CubicTo(f(a), f(b), f(p)),
                Seg::Close => Seg::Close,
            })
            .collect();
        Path { segs }
    }

    pub(crate) fn append(&mut self, other: Path) {
        self.segs.extend(other.segs);
    }

    /// An ellipse as four cubic Béziers (error under 0.03 % of the radius).
    pub(crate) fn ellipse(c: Point, rx: f64, ry: f64) -> Path {
        const K: f64 = 0.552_284_749_831;
        let p = |x: f64, y: f64| Point {
            x: c.x + x,
            y: c.y + y,
        };
        Path {
            segs: vec![
                Seg::MoveTo(p(rx, 0.0)),
                Seg::CubicTo(p(rx, K * ry), p(K * rx, ry), p(0.0, ry)),
                Seg::CubicTo(p(-K * rx, ry), p(-rx, K * ry), p(-rx, 0.0)),
                Seg::CubicTo(p(-rx, -K * ry), p(-K * rx, -ry), p(0.0, -ry)),
                Seg::CubicTo(p(K * rx, -ry), p(rx, -K * ry), p(rx, 0.0)),
                Seg::Close,
            ],
        }
    }

    pub(crate) fn rect(r: Rect) -> Path {
        Path::polygon(&[
            Point { x: r.x0, y: r.y0 },
            Point { x: r.x1, y: r.y0 },
            Point { x: r.x1, y: r.y1 },
            Point { x: r.x0, y: r.y1 },
        ])
    }

    pub(crate) fn polygon(pts: &[Point]) -> Path {
        let mut segs = Vec::with_capacity(pts.len() + 1);
        for (i, p) in pts.iter().enumerate() {
            segs.push(if i == 0 {
                Seg::MoveTo(*p)
            } else {
                Seg::LineTo(*p)
            });
        }
        segs.push(Seg::Close);
        Path { segs }
    }

    fn write_svg(&self, out: &mut String) {
        let mut pt = |cmd: &str, ps: &[Point]| {
            out.push_str(cmd);
            for (i, p) in ps.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{} {}", num(p.x), num(p.y));
            }
        };
        for s in &self.segs {
            match *s {
                Seg::MoveTo(p) => pt("M", &[p]),
                Seg::LineTo(p) => pt("L", &[p]),
                Seg::QuadTo(a, p) => pt("Q", &[a, p]),
                Seg::CubicTo(a, b, p) => pt("C", &[a, b, p]),
                Seg::Close => pt("Z", &[]),
            }
        }
    }
}

/// Four decimals of a mm are 0.1 µm: far below any printer, and short.
fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// How a path's inside is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillRule {
    /// Glyph outlines (TrueType and CFF both fill by winding).
    NonZero,
    /// Rings and frames: an outer and an inner contour.
    EvenOdd,
}

/// What part of the seal an element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Border,
    Star,
    /// The organisation's name (upper arc).
    Name,
    /// The seal kind, e.g. 合同专用章.
    Kind,
    /// The 18-character unified social credit code (oval seals).
    Taxpayer,
    /// The 13-digit seal code (lower arc).
    Code,
    /// A character of a personal-name seal.
    PersonName,
}

/// One filled shape; text has one element per character.
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    pub role: Role,
    /// The character drawn, for text.
    pub ch: Option<char>,
    pub fill: FillRule,
    pub path: Path,
}

/// A seal picture: its physical size and the filled shapes, all in seal red.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub(crate) width_mm: f64,
    pub(crate) height_mm: f64,
    pub(crate) elements: Vec<Element>,
}

impl Picture {
    /// Physical (width, height) in mm, what GB/T 38540 seal pictures record.
    pub fn size_mm(&self) -> (f64, f64) {
        (self.width_mm, self.height_mm)
    }

    /// Physical width in mm.
    pub fn width_mm(&self) -> f64 {
        self.width_mm
    }

    /// Physical height in mm.
    pub fn height_mm(&self) -> f64 {
        self.height_mm
    }

    /// The shapes, in drawing order.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The elements of one role.
    pub fn of(&self, role: Role) -> impl Iterator<Item = &Element> {
        self.elements.iter().filter(move |e| e.role == role)
    }

    /// SVG 1.1: viewBox in mm, width and height in mm, transparent background, text as outlines.
    pub fn to_svg(&self) -> String {
        let (r, g, b) = (SEAL_RED[0], SEAL_RED[1], SEAL_RED[2]);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}mm\" height=\"{h}mm\" \
             viewBox=\"0 0 {w} {h}\">\n<g fill=\"#{r:02X}{g:02X}{b:02X}\" stroke=\"none\">\n",
            w = num(self.width_mm),
            h = num(self.height_mm),
        );
        for e in &self.elements {
            s.push_str("<path");
            if e.fill == FillRule::EvenOdd {
                s.push_str(" fill-rule=\"evenodd\"");
            }
            s.push_str(" d=\"");
            e.path.write_svg(&mut s);
            s.push_str("\"/>\n");
        }
        s.push_str("</g>\n</svg>\n");
        s
    }

    /// Pixels at `dpi`: anti-aliased seal red on transparent.
    pub fn render(&self, dpi: u32) -> Result<RgbaImage, FaceError> {
        check_dpi(dpi)?;
        let (w, h) = (mm_to_px(self.width_mm, dpi), mm_to_px(self.height_mm, dpi));
        let mut pixmap = tiny_skia::Pixmap::new(w, h)
            .ok_or_else(|| FaceError::Image(format!("cannot allocate {w}×{h} pixels")))?;
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(SEAL_RED[0], SEAL_RED[1], SEAL_RED[2], 255);
        paint.anti_alias = true;
        let k = (f64::from(dpi) / 25.4) as f32;
        let transform = tiny_skia::Transform::from_scale(k, k);
        for e in &self.elements {
            let Some(path) = skia_path(&e.path) else {
                continue;
            };
            let rule = match e.fill {
                FillRule::NonZero => tiny_skia::FillRule::Winding,
                FillRule::EvenOdd => tiny_skia::FillRule::EvenOdd,
            };
            pixmap.fill_path(&path, &paint, rule, transform, None);
        }
        let data = pixmap
            .pixels()
            .iter()
            .flat_map(|p| {
                let c = p.demultiply();
                [c.red(), c.green(), c.blue(), c.alpha()]
            })
            .collect();
        Ok(RgbaImage {
            width: w,
            height: h,
            data,
        })
    }

    /// [`Picture::render`] as PNG with its dpi recorded.
    pub fn to_png(&self, dpi: u32) -> Result<Vec<u8>, FaceError> {
        self.render(dpi)?.to_png(dpi)
    }
}

fn skia_path(p: &Path) -> Option<tiny_skia::Path> {
    let mut b = tiny_skia::PathBuilder::new();
    let f = |p: Point| (p.x as f32, p.y as f32);
    for s in p.segs() {
        match *s {
            Seg::MoveTo(p) => {
                let (x, y) = f(p);
                b.move_to(x, y)
            }
            Seg::LineTo(p) => {
                let (x, y) = f(p);
                b.line_to(x, y)
            }
            Seg::QuadTo(a, p) => {
                let ((ax, ay), (x, y)) = (f(a), f(p));
                b.quad_to(ax, ay, x, y)
            }
            Seg::CubicTo(a, c, p) => {
                let ((ax, ay), (cx, cy), (x, y)) = (f(a), f(c), f(p));
                b.cubic_to(ax, ay, cx, cy, x, y)
            }
            Seg::Close => b.close(),
        }
    }
    b.finish()
}
