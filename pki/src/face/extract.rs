//! Red-ink extraction: a scanned stamped impression in, a transparent picture of only the seal's
//! red ink out, cropped to the ink and scaled to the seal's physical size.
//!
//! Pixels are judged in OKLab, where "red" is a hue angle and ink strength is chroma: printed black
//! and grey text and paper have little chroma whatever their lightness, yellowed paper has a
//! yellow hue. Specks are removed as small connected components; what is left is cropped, resampled
//! (area average down, bilinear up) and written as seal red with alpha from the ink's strength.

use super::{check_dpi, mm_to_px, FaceError, RgbaImage, SEAL_RED};

/// Largest scan, and largest output, accepted (pixels): 40 megapixels is an A4 page at 600 dpi
/// with room to spare; the working buffers then take at most 7 bytes a pixel (~280 MB) besides
/// the input.
pub const MAX_SCAN_PIXELS: u64 = 40_000_000;

/// Chroma (OKLab) below which a pixel is paper or grey: yellowed paper reaches ~0.03.
const CHROMA_FLOOR: f32 = 0.045;
/// Chroma above which a red pixel certainly is ink, used to find the ink's full strength.
const CHROMA_SURE: f32 = 0.10;
/// Scale of the strength bytes: chroma 0..0.4 (sRGB's reddest red is ~0.26).
const Q: f32 = 255.0 / 0.4;

/// An RGBA8 scan, rows top to bottom, straight alpha (transparent pixels count as white paper).
#[derive(Clone, Copy, Debug)]
pub struct Scan<'a> {
    pub width: u32,
    pub height: u32,
    pub rgba: &'a [u8],
}

/// A rectangle of pixels in the scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The extracted ink.
#[derive(Clone, Debug)]
pub struct Extracted {
    /// Seal red with alpha from the ink, `width_mm` × `height_mm` at `dpi`.
    pub image: RgbaImage,
    /// Where the ink was in the scan (what was scaled into `image`).
    pub source: PixelRect,
    pub dpi: u32,
    pub width_mm: f64,
    pub height_mm: f64,
}

/// Extracts the red ink of `scan`, scaled to `width_mm` × `height_mm` (the seal's physical size;
/// the ink's box is stretched to it) at `dpi`.
pub fn extract(
    scan: Scan<'_>,
    width_mm: f64,
    height_mm: f64,
    dpi: u32,
) -> Result<Extracted, FaceError> {
    check_dpi(dpi)?;
    for (field, v) in [("width", width_mm), ("height", height_mm)] {
        if !(5.0..=200.0).contains(&v) {
            return Err(FaceError::Invalid {
                field: "seal size",
                reason: format!("{field} {v} mm is outside 5..=200 mm"),
            });
        }
    }
    let (w, h) = (scan.width, scan.height);
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_SCAN_PIXELS {
        return Err(FaceError::TooLarge {
            width: w,
            height: h,
            limit: MAX_SCAN_PIXELS,
        });
    }
    if pixels == 0 {
        return Err(FaceError::Image("the scan has no pixels".into()));
    }
    // pixels ≤ 40 M, so these fit usize on every supported target.
    let n = pixels as usize;
    if scan.rgba.len() != n * 4 {
        return Err(FaceError::Image(format!(
            "{w}×{h} RGBA needs {} bytes, got {}",
            n * 4,
            scan.rgba.len()
        )));
    }
    let (out_w, out_h) = (mm_to_px(width_mm, dpi), mm_to_px(height_mm, dpi));
    if u64::from(out_w) * u64::from(out_h) > MAX_SCAN_PIXELS {
        return Err(FaceError::TooLarge {
            width: out_w,
            height: out_h,
            limit: MAX_SCAN_PIXELS,
        });
    }

    let strength = red_strength(scan.rgba);
    let full = full_strength(&strength).ok_or(FaceError::NoInk)?;
    let floor = (CHROMA_FLOOR * Q) as u8;
    let mut alpha: Vec<u8> = strength
        .iter()
        .map(|&s| {
            if s <= floor {
                0
            } else {
                let v = f32::from(s - floor) / f32::from(full.saturating_sub(floor).max(1));
                (v.min(1.0) * 255.0).round() as u8
            }
        })
        .collect();
    drop(strength);
    remove_specks(&mut alpha, w as usize, h as usize);
    let source = ink_box(&alpha, w as usize, h as usize).ok_or(FaceError::NoInk)?;
    let out = resample(&alpha, w as usize, source, out_w as usize, out_h as usize);
    let mut data = Vec::with_capacity(out.len() * 4);
    for a in out {
        data.extend_from_slice(&[SEAL_RED[0], SEAL_RED[1], SEAL_RED[2], a]);
    }
    Ok(Extracted {
        image: RgbaImage {
            width: out_w,
            height: out_h,
            data,
        },
        source,
        dpi,
        width_mm,
        height_mm,
    })
}

/// sRGB byte → linear light.
fn linear_table() -> [f32; 256] {
    let mut t = [0f32; 256];
    for (i, v) in t.iter_mut().enumerate() {
        let c = i as f32 / 255.0;
        *v = if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        };
    }
    t
}

/// OKLab (L, a, b) of linear sRGB.
pub(crate) fn oklab(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let l = (0.412_221_46 * r + 0.536_332_55 * g + 0.051_445_995 * b).cbrt();
    let m = (0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b).cbrt();
    let s = (0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b).cbrt();
    (
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    )
}

/// How red each pixel is: chroma, gated by hue (full from −15° to 45°, seal reds sit near 28°;
/// none below −40° or above 70°, magenta and orange-yellow) and by lightness (ink over black
/// toner is dark and is not taken for ink). Quantised by [`Q`].
fn red_strength(rgba: &[u8]) -> Vec<u8> {
    let lin = linear_table();
    rgba.chunks_exact(4)
        .map(|p| {
            // Transparent scan pixels are paper.
            let a = f32::from(p[3]) / 255.0;
            let ch = |v: u8| lin[v as usize] * a + (1.0 - a);
            let (l, oa, ob) = oklab(ch(p[0]), ch(p[1]), ch(p[2]));
            let chroma = (oa * oa + ob * ob).sqrt();
            let hue = ob.atan2(oa).to_degrees();
            let g_hue = if (-15.0..=45.0).contains(&hue) {
                1.0
            } else if (-40.0..-15.0).contains(&hue) {
                (hue + 40.0) / 25.0
            } else if (45.0..70.0).contains(&hue) {
                (70.0 - hue) / 25.0
            } else {
                0.0
            };
            let g_light = ((l - 0.25) / 0.1).clamp(0.0, 1.0);
            (chroma * g_hue * g_light * Q).round().min(255.0) as u8
        })
        .collect()
}

/// The strength of solid ink: the median of the surely-red pixels (edges and thin strokes pull
/// the lower half down). `None` when there are too few to be a seal.
fn full_strength(strength: &[u8]) -> Option<u8> {
    let sure = (CHROMA_SURE * Q) as u8;
    let mut hist = [0u64; 256];
    for &s in strength {
        hist[s as usize] += 1;
    }
    let count: u64 = hist[sure as usize..].iter().sum();
    if count < 64 {
        return None;
    }
    let mut seen = 0;
    for (v, &c) in hist.iter().enumerate().skip(sure as usize) {
        seen += c;
        if seen * 2 >= count {
            return Some(v as u8);
        }
    }
    None
}

/// Drops 8-connected groups of inked pixels that are small or never strong: paper specks, tinted
/// fibres. The limit grows with the ink (1/4000 of the strong pixels, at least 4), so the smallest
/// seal parts — a digit's dot — stay.
fn remove_specks(alpha: &mut [u8], w: usize, h: usize) {
    let strong = alpha.iter().filter(|&&a| a >= 128).count();
    let min_area = (strong / 4000).max(4);
    let mut seen = vec![false; alpha.len()];
    // Indices as u32 (the scan is at most 40 M pixels): the stack of one huge group stays small.
    let mut stack: Vec<u32> = Vec::new();
    for start in 0..alpha.len() {
        if seen[start] || alpha[start] == 0 {
            continue;
        }
        seen[start] = true;
        stack.push(start as u32);
        let (mut area, mut peak) = (0usize, 0u8);
        while let Some(i) = stack.pop() {
            let i = i as usize;
            area += 1;
            peak = peak.max(alpha[i]);
            for j in neighbours(i, w, h) {
                if !seen[j] && alpha[j] > 0 {
                    seen[j] = true;
                    stack.push(j as u32);
                }
            }
        }
        if area < min_area || peak < 128 {
            // A second fill erases the group; erased pixels are 0, so it ends by itself.
            alpha[start] = 0;
            stack.push(start as u32);
            while let Some(i) = stack.pop() {
                for j in neighbours(i as usize, w, h) {
                    if alpha[j] > 0 {
                        alpha[j] = 0;
                        stack.push(j as u32);
                    }
                }
            }
        }
    }
}

/// The up to 8 neighbours of pixel `i` in a `w` × `h` image.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    (y.saturating_sub(1)..(y + 2).min(h)).flat_map(move |ny| {
        (x.saturating_sub(1)..(x + 2).min(w))
            .filter(move |&nx| nx != x || ny != y)
            .map(move |nx| ny * w + nx)
    })
}

fn ink_box(alpha: &[u8], w: usize, h: usize) -> Option<PixelRect> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        let row = &alpha[y * w..(y + 1) * w];
        if let Some(first) = row.iter().position(|&a| a > 0) {
            let last = row.iter().rposition(|&a| a > 0).unwrap_or(first);
            x0 = x0.min(first);
            x1 = x1.max(last);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    (x0 != usize::MAX).then(|| PixelRect {
        x: x0 as u32,
        y: y0 as u32,
        width: (x1 - x0 + 1) as u32,
        height: (y1 - y0 + 1) as u32,
    })
}

/// Scales the `src` rectangle of `alpha` (row length `w`) to `ow` × `oh`: the area average of
/// the footprint when shrinking (no aliasing of thin strokes), bilinear when enlarging.
fn resample(alpha: &[u8], w: usize, src: PixelRect, ow: usize, oh: usize) -> Vec<u8> {
    let (sx, sy) = (
        f64::from(src.width) / ow as f64,
        f64::from(src.height) / oh as f64,
    );
    let at = |x: usize, y: usize| f64::from(alpha[(src.y as usize + y) * w + src.x as usize + x]);
    let (cw, ch) = (src.width as usize, src.height as usize);
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        for ox in 0..ow {
            let v = if sx >= 1.0 && sy >= 1.0 {
                let (fx0, fx1) = (ox as f64 * sx, (ox + 1) as f64 * sx);
                let (fy0, fy1) = (oy as f64 * sy, (oy + 1) as f64 * sy);
                let mut sum = 0.0;
                let mut y = fy0.floor() as usize;
                while (y as f64) < fy1 && y < ch {
                    let wy = (fy1.min(y as f64 + 1.0) - fy0.max(y as f64)).max(0.0);
                    let mut x = fx0.floor() as usize;
                    while (x as f64) < fx1 && x < cw {
                        let wx = (fx1.min(x as f64 + 1.0) - fx0.max(x as f64)).max(0.0);
                        sum += at(x, y) * wx * wy;
                        x += 1;
                    }
                    y += 1;
                }
                sum / (sx * sy)
            } else {
                let fx = ((ox as f64 + 0.5) * sx - 0.5).clamp(0.0, (cw - 1) as f64);
                let fy = ((oy as f64 + 0.5) * sy - 0.5).clamp(0.0, (ch - 1) as f64);
                let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(cw - 1), (y0 + 1).min(ch - 1));
                let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
                let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
                let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
                top * (1.0 - ty) + bottom * ty
            };
            out.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(rgb: [u8; 3]) -> (f32, f32, f32) {
        let t = linear_table();
        oklab(t[rgb[0] as usize], t[rgb[1] as usize], t[rgb[2] as usize])
    }

    #[test]
    fn seal_red_is_red_and_paper_is_not() {
        let px = |rgb: [u8; 3]| red_strength(&[rgb[0], rgb[1], rgb[2], 255])[0];
        let red = px(SEAL_RED);
        assert!(f32::from(red) / Q > 0.2, "{red}");
        let (l, a, b) = lab(SEAL_RED);
        assert!(l > 0.5 && a > 0.15 && b > 0.05, "{l} {a} {b}");
        for paper in [
            [255, 255, 255],
            [250, 244, 222],
            [128, 128, 128],
            [20, 20, 20],
            [40, 20, 20],
        ] {
            assert!(f32::from(px(paper)) / Q < CHROMA_FLOOR, "{paper:?}");
        }
    }

    #[test]
    fn refuses_large_and_short_buffers() {
        let too_big = Scan {
            width: 10_000,
            height: 5_000,
            rgba: &[],
        };
        assert!(matches!(
            extract(too_big, 42.0, 42.0, 600),
            Err(FaceError::TooLarge { .. })
        ));
        let short = Scan {
            width: 10,
            height: 10,
            rgba: &[0; 12],
        };
        assert!(matches!(
            extract(short, 42.0, 42.0, 600),
            Err(FaceError::Image(_))
        ));
        let white = vec![255u8; 40 * 40 * 4];
        let blank = Scan {
            width: 40,
            height: 40,
            rgba: &white,
        };
        assert!(matches!(
            extract(blank, 42.0, 42.0, 600),
            Err(FaceError::NoInk)
        ));
    }

    #[test]
    fn specks_go_strokes_stay() {
        let (w, h) = (64, 64);
        let mut a = vec![0u8; w * h];
        for y in 10..50 {
            for x in 20..24 {
                a[y * w + x] = 255;
            }
        }
        a[5 * w + 5] = 255;
        a[60 * w + 60] = 40;
        a[60 * w + 61] = 40;
        remove_specks(&mut a, w, h);
        assert_eq!(a.iter().filter(|&&v| v > 0).count(), 160);
        let b = ink_box(&a, w, h).unwrap();
        assert_eq!((b.x, b.y, b.width, b.height), (20, 10, 4, 40));
    }
}
