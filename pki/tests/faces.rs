//! Seal pictures end to end: every kind drawn with the system Noto CJK font to PNG (600 dpi) and
//! SVG under `$SEALPKI_TEST_RUN/faces/` for review, the round ones checked by an independent
//! Python reader (`face_geometry.py`), and red-ink extraction from synthetic scans.

use std::path::{Path, PathBuf};
use std::process::Command;

use sealpki_pki::face::{
    self, Diameter, FaceSpec, Font, NameSeal, OvalKind, OvalSeal, Picture, RgbaImage, RoundKind,
    RoundSeal, Scan, SealCode, TaxpayerId,
};

const FONT_DIR: &str = "/usr/share/fonts";
/// Song-style bold first (closest to seal lettering), then the sans faces.
const FONT_FILES: &[&str] = &[
    "NotoSerifCJK-Bold.ttc",
    "NotoSerifCJK-Regular.ttc",
    "NotoSansCJK-Bold.ttc",
    "NotoSansCJK-Regular.ttc",
];

fn find(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            dirs.push(p);
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    if depth == 0 {
        return None;
    }
    dirs.sort();
    dirs.iter().find_map(|d| find(d, name, depth - 1))
}

/// The Simplified Chinese face of the first Noto CJK collection found, or `None` (and a message)
/// when there is none and `SEALPKI_REQUIRE_FONTS=1` is not set.
fn font() -> Option<Font> {
    for name in FONT_FILES {
        if let Some(path) = find(Path::new(FONT_DIR), name, 4) {
            let data = std::fs::read(&path).unwrap();
            let font = Font::from_collection(data, "CJK SC").unwrap();
            eprintln!("font: {} ({})", font.name(), path.display());
            return Some(font);
        }
    }
    if std::env::var("SEALPKI_REQUIRE_FONTS").as_deref() == Ok("1") {
        panic!("no Noto CJK font under {FONT_DIR} and SEALPKI_REQUIRE_FONTS=1 (apt-get install fonts-noto-cjk)");
    }
    eprintln!(
        "skipped: no Noto CJK font under {FONT_DIR} (set SEALPKI_REQUIRE_FONTS=1 to fail instead)"
    );
    None
}

fn out_dir() -> PathBuf {
    let base = std::env::var_os("SEALPKI_TEST_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-face-test"));
    let d = base.join("faces");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn code() -> Option<SealCode> {
    Some(SealCode::parse("3301060123456").unwrap())
}

fn taxpayer() -> TaxpayerId {
    TaxpayerId::parse("91330106MA2CFJ8X00").unwrap()
}

const ORG: &str = "杭州西湖印章科技有限公司";

/// Every kind the module draws, with the file stem its artefacts get.
fn specs() -> Vec<(&'static str, FaceSpec)> {
    let round = |kind, name: &str, diameter| {
        FaceSpec::Round(RoundSeal {
            kind,
            org_name: name.into(),
            code: code(),
            diameter,
        })
    };
    let oval = |kind, code| {
        FaceSpec::Oval(OvalSeal {
            kind,
            org_name: ORG.into(),
            taxpayer: taxpayer(),
            code,
        })
    };
    let name = |n: &str| {
        FaceSpec::Name(NameSeal {
            person_name: n.into(),
            size_mm: None,
        })
    };
    vec![
        ("legal-name", round(RoundKind::LegalName, ORG, None)),
        ("contract", round(RoundKind::Contract, ORG, None)),
        (
            "business-42",
            round(RoundKind::Business, ORG, Some(Diameter::Mm42)),
        ),
        (
            "contract-long",
            round(
                RoundKind::Contract,
                "中国东方国际电子认证服务与信息安全技术研究院有限责任公司",
                None,
            ),
        ),
        ("finance", oval(OvalKind::Finance, code())),
        ("invoice", oval(OvalKind::Invoice, None)),
        ("name-2", name("李明")),
        ("name-3", name("王小波")),
        ("name-4", name("欧阳建国")),
    ]
}

fn draw_all(font: &Font) -> Vec<(&'static str, Picture)> {
    specs()
        .into_iter()
        .map(|(stem, spec)| (stem, face::draw(&spec, font).unwrap()))
        .collect()
}

#[test]
fn every_kind_renders_to_png_and_svg() {
    let Some(font) = font() else { return };
    let dir = out_dir();
    let t = std::time::Instant::now();
    for (stem, pic) in draw_all(&font) {
        let png = pic.to_png(600).unwrap();
        let svg = pic.to_svg();
        std::fs::write(dir.join(format!("{stem}.png")), &png).unwrap();
        std::fs::write(dir.join(format!("{stem}.svg")), &svg).unwrap();

        let dec = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = dec.read_info().unwrap();
        let info = reader.info();
        let px = |mm: f64| (mm / 25.4 * 600.0).round() as u32;
        assert_eq!(
            (info.width, info.height),
            (px(pic.width_mm()), px(pic.height_mm())),
            "{stem}"
        );
        assert_eq!(info.color_type, png::ColorType::Rgba, "{stem}");
        let dims = info.pixel_dims.expect("pHYs");
        assert_eq!(dims.xppu, 23622, "{stem}: 600 dpi in pixels per metre");

        assert!(!svg.contains("<text"), "{stem}: text must be outlines");
        assert!(
            svg.contains(&format!("width=\"{}mm\"", pic.width_mm())),
            "{stem}"
        );
        assert!(svg.contains("fill=\"#E60012\""), "{stem}");
    }
    eprintln!(
        "drew and wrote 9 seals in {:?} to {}",
        t.elapsed(),
        dir.display()
    );
}

fn python() -> PathBuf {
    std::env::var_os("SEALPKI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

#[test]
fn round_seals_pass_the_independent_pixel_check() {
    let Some(font) = font() else { return };
    let dir = out_dir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/face_geometry.py");
    for (stem, spec) in specs() {
        let FaceSpec::Round(ref r) = spec else {
            continue;
        };
        let pic = face::draw(&spec, &font).unwrap();
        let path = dir.join(format!("{stem}-check.png"));
        std::fs::write(&path, pic.to_png(600).unwrap()).unwrap();
        let d = r.diameter.map(|d| d.mm()).unwrap_or(pic.width_mm());
        let out = Command::new(python())
            .arg(&script)
            .arg(&path)
            .arg(d.to_string())
            .arg("600")
            .output()
            .unwrap_or_else(|e| panic!("running {} (set SEALPKI_PYTHON): {e}", python().display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{stem}:\n{text}");
        assert!(
            out.status.success(),
            "face_geometry.py failed for {stem}:\n{text}"
        );
    }
}

// ---- red-ink extraction ----------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so the scans are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One channel of coverage, 0..=1, row-major.
struct Layer {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Layer {
    fn new(w: usize, h: usize) -> Layer {
        Layer {
            w,
            h,
            v: vec![0.0; w * h],
        }
    }
    fn at(&self, x: usize, y: usize) -> f32 {
        self.v[y * self.w + x]
    }
    /// Bilinear sample at (x, y) pixel-centre coordinates; 0 outside.
    fn sample(&self, x: f64, y: f64) -> f32 {
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (tx, ty) = ((fx - x0) as f32, (fy - y0) as f32);
        let get = |x: f64, y: f64| {
            if x < 0.0 || y < 0.0 || x >= self.w as f64 || y >= self.h as f64 {
                0.0
            } else {
                self.at(x as usize, y as usize)
            }
        };
        let top = get(x0, y0) * (1.0 - tx) + get(x0 + 1.0, y0) * tx;
        let bottom = get(x0, y0 + 1.0) * (1.0 - tx) + get(x0 + 1.0, y0 + 1.0) * tx;
        top * (1.0 - ty) + bottom * ty
    }
    /// This layer turned by `deg` about its centre (a scanner's skew), bilinear.
    fn rotated(&self, deg: f64) -> Layer {
        let (s, c) = deg.to_radians().sin_cos();
        let (cx, cy) = (self.w as f64 / 2.0, self.h as f64 / 2.0);
        let mut out = Layer::new(self.w, self.h);
        for y in 0..self.h {
            for x in 0..self.w {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                // The source of each output pixel: the inverse rotation.
                let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
                out.v[y * self.w + x] = self.sample(sx, sy);
            }
        }
        out
    }
}

struct SyntheticScan {
    rgba: Vec<u8>,
    w: usize,
    h: usize,
    /// Seal ink and black text coverage, in the scan's (rotated) frame.
    ink: Layer,
    text: Layer,
}

/// Paper 20 mm larger than the seal each way at the seal picture's dpi, black "printed lines"
/// across it, the seal stamped over them (ink multiplies: over black it stays black), slight yellow
/// tint and grey specks, then the whole sheet skewed by `deg`.
fn synthetic_scan(seal: &RgbaImage, dpi: u32, deg: f64, seed: u64) -> SyntheticScan {
    let margin = (10.0 / 25.4 * f64::from(dpi)) as usize;
    let (sw, sh) = (seal.width as usize, seal.height as usize);
    let (w, h) = (sw + 2 * margin, sh + 2 * margin);
    let mut ink = Layer::new(w, h);
    for y in 0..sh {
        for x in 0..sw {
            ink.v[(y + margin) * w + x + margin] =
                f32::from(seal.data[(y * sw + x) * 4 + 3]) / 255.0;
        }
    }
    // Lines of "words": 0.5 mm high bars every 6 mm, 1–7 mm long with 1.5 mm gaps.
    let mm = f64::from(dpi) / 25.4;
    let mut rng = Rng(seed);
    let mut text = Layer::new(w, h);
    let bar_h = (0.5 * mm) as usize;
    let mut y = (3.0 * mm) as usize;
    while y + bar_h < h {
        let mut x = (2.0 * mm) as usize;
        while x < w {
            let len = ((1.0 + rng.below(60) as f64 / 10.0) * mm) as usize;
            for yy in y..y + bar_h {
                for xx in x..(x + len).min(w) {
                    text.v[yy * w + xx] = 1.0;
                }
            }
            x += len + (1.5 * mm) as usize;
        }
        y += (6.0 * mm) as usize;
    }
    let (ink, text) = (ink.rotated(deg), text.rotated(deg));

    let paper = [250.0f32, 246.0, 232.0];
    let red = [230.0f32 / 255.0, 0.0, 18.0 / 255.0];
    let mut rgba = vec![0u8; w * h * 4];
    for i in 0..w * h {
        let grain = (rng.below(9) as f32) - 4.0;
        let (a, t) = (ink.v[i], text.v[i]);
        for ch in 0..3 {
            let base = (paper[ch] + grain) * (1.0 - t) + 25.0 * t;
            let v = base * (1.0 - a + a * red[ch]);
            rgba[i * 4 + ch] = v.round().clamp(0.0, 255.0) as u8;
        }
        rgba[i * 4 + 3] = 255;
    }
    // Grey specks of dust and toner, 1–3 px.
    for _ in 0..(w * h / 2000) {
        let (x, y) = (rng.below(w as u64) as usize, rng.below(h as u64) as usize);
        let g = 80 + rng.below(100) as u8;
        let size = 1 + rng.below(3) as usize;
        for yy in y..(y + size).min(h) {
            for xx in x..(x + size).min(w) {
                let i = (yy * w + xx) * 4;
                rgba[i..i + 3].copy_from_slice(&[g, g, g]);
            }
        }
    }
    SyntheticScan {
        rgba,
        w,
        h,
        ink,
        text,
    }
}

fn px(mm: f64, dpi: u32) -> usize {
    (mm / 25.4 * f64::from(dpi)).round() as usize
}

fn encode(rgba: &[u8], w: usize, h: usize) -> Vec<u8> {
    RgbaImage {
        width: w as u32,
        height: h as u32,
        data: rgba.to_vec(),
    }
    .to_png(300)
    .unwrap()
}

/// The comparison is made in the scan's rotated frame: the expected ink is the seal's own alpha
/// turned by the same skew, and each extracted pixel is mapped back into the scan through the
/// source rectangle `extract` reports (the seals' boxes barely change under ±3°, and extraction
/// stretches the ink's box to the seal size, so pixels line up to a fraction of a pixel).
#[test]
fn red_ink_is_extracted_from_synthetic_scans() {
    let Some(font) = font() else { return };
    let dir = out_dir();
    let dpi = 300;
    // (seal, skew, noise seed, output dpi): the last is enlarged from the 300 dpi scan (bilinear).
    let cases = [
        ("contract", 2.5, 7u64, 300),
        ("invoice", -3.0, 11, 300),
        ("name-4", 1.5, 13, 600),
    ];
    for (stem, deg, seed, out_dpi) in cases {
        let spec = specs().into_iter().find(|(s, _)| *s == stem).unwrap().1;
        let pic = face::draw(&spec, &font).unwrap();
        let seal = pic.render(dpi).unwrap();
        let scan = synthetic_scan(&seal, dpi, deg, seed);
        let t = std::time::Instant::now();
        let got = face::extract(
            Scan {
                width: scan.w as u32,
                height: scan.h as u32,
                rgba: &scan.rgba,
            },
            pic.width_mm(),
            pic.height_mm(),
            out_dpi,
        )
        .unwrap();
        let took = t.elapsed();
        std::fs::write(
            dir.join(format!("scan-{stem}.png")),
            encode(&scan.rgba, scan.w, scan.h),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("extracted-{stem}.png")),
            got.image.to_png(out_dpi).unwrap(),
        )
        .unwrap();

        let (ow, oh) = (got.image.width as usize, got.image.height as usize);
        assert_eq!(
            (ow, oh),
            (px(pic.width_mm(), out_dpi), px(pic.height_mm(), out_dpi)),
            "{stem}"
        );
        let src = got.source;
        let to_scan = |ox: usize, oy: usize| {
            let x = f64::from(src.x) + (ox as f64 + 0.5) * f64::from(src.width) / ow as f64;
            let y = f64::from(src.y) + (oy as f64 + 0.5) * f64::from(src.height) / oh as f64;
            (x, y)
        };
        let (mut inter, mut union, mut inter_vis, mut union_vis) = (0u64, 0u64, 0u64, 0u64);
        for oy in 0..oh {
            for ox in 0..ow {
                let (x, y) = to_scan(ox, oy);
                let want = scan.ink.sample(x, y) > 0.5;
                let have = got.image.data[(oy * ow + ox) * 4 + 3] > 127;
                let under_text = scan.text.sample(x, y) > 0.1;
                inter += u64::from(want && have);
                union += u64::from(want || have);
                if !under_text {
                    inter_vis += u64::from(want && have);
                    union_vis += u64::from(want || have);
                }
            }
        }
        let iou = inter as f64 / union as f64;
        let iou_vis = inter_vis as f64 / union_vis as f64;
        eprintln!(
            "{stem} skewed {deg}°, out at {out_dpi} dpi: {}×{} scan in {took:?}; IoU {iou:.3} (ink not under black text: {iou_vis:.3}); source {src:?}",
            scan.w, scan.h
        );
        assert!(iou_vis >= 0.9, "{stem}: IoU of visible ink {iou_vis:.3}");
        assert!(iou >= 0.9, "{stem}: IoU of all ink {iou:.3}");

        // No pixel where only black text was (no ink within 2 px) may carry any ink.
        let mut survivors = 0;
        let near_ink = |x: usize, y: usize| {
            (y.saturating_sub(2)..(y + 3).min(scan.h)).any(|yy| {
                (x.saturating_sub(2)..(x + 3).min(scan.w)).any(|xx| scan.ink.at(xx, yy) > 0.004)
            })
        };
        let mut text_only = 0;
        for oy in 0..oh {
            for ox in 0..ow {
                let (x, y) = to_scan(ox, oy);
                let (xi, yi) = (x as usize, y as usize);
                if scan.text.at(xi, yi) > 0.5 && !near_ink(xi, yi) {
                    text_only += 1;
                    if got.image.data[(oy * ow + ox) * 4 + 3] != 0 {
                        survivors += 1;
                    }
                }
            }
        }
        assert!(
            text_only > 200,
            "{stem}: the scan should have black text over the seal area"
        );
        assert_eq!(
            survivors, 0,
            "{stem}: {survivors} of {text_only} black-text pixels kept"
        );
    }
}
