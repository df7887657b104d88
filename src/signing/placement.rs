//! Where a visible seal goes — a page and a position, a keyword, or a cross-page seal — checked
//! against the document the same way for the command line and HTTP, and turned into widgets.

use sealpki_pki::pdf::image::SealImage;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::sign::{self, Appearance, Widget};

use crate::error::AppError;

const MM: f64 = 72.0 / 25.4;

/// Keywords longer than this are refused (a seal is placed on a phrase, not a paragraph).
const MAX_KEYWORD_CHARS: usize = 200;

/// Where a seal goes: the same choices on the command line and over HTTP.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// From 1.
    pub page: Option<usize>,
    /// Centre in points from the displayed top-left corner.
    pub at: Option<(f64, f64)>,
    pub size_mm: f64,
    pub keyword: Option<String>,
    pub cross_page: bool,
}

pub fn appearance<S: sealpki_pki::pdf::Source + ?Sized>(
    doc: &Document<S>,
    args: &Placement,
    image: &SealImage,
) -> Result<Appearance, AppError> {
    if !(args.size_mm > 0.0 && args.size_mm <= 500.0) {
        return Err(AppError::BadRequest(format!(
            "seal size {} mm: give 1 to 500 mm",
            args.size_mm
        )));
    }
    if let Some(k) = &args.keyword {
        if k.trim().is_empty() || k.chars().count() > MAX_KEYWORD_CHARS {
            return Err(AppError::BadRequest(format!(
                "keyword: give 1 to {MAX_KEYWORD_CHARS} characters"
            )));
        }
    }
    let pages = doc.pages()?;
    let w = args.size_mm * MM;
    // A position must lie on the page it is for (as displayed), whoever asks.
    if let Some((x, y)) = args.at {
        let idx = page_index(args.page, pages.len())?.unwrap_or(0);
        let (dw, dh) = sign::displayed_size(&pages[idx]);
        let on_page =
            x.is_finite() && y.is_finite() && (0.0..=dw).contains(&x) && (0.0..=dh).contains(&y);
        if !on_page && !args.cross_page {
            return Err(AppError::BadRequest(format!(
                "position ({:.1} mm, {:.1} mm) is outside page {} ({:.1} × {:.1} mm)",
                x / MM,
                y / MM,
                idx + 1,
                dw / MM,
                dh / MM
            )));
        }
        if args.cross_page && !(y.is_finite() && (0.0..=dh).contains(&y)) {
            return Err(AppError::BadRequest(format!(
                "cross-page seal at {:.1} mm from the top: outside the page ({:.1} mm high)",
                y / MM,
                dh / MM
            )));
        }
    }
    let h = w * image.aspect();
    let at = args.at;
    let widgets = if args.cross_page {
        let n = pages.len();
        pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (_, dh) = sign::displayed_size(p);
                let dy = at.map(|a| a.1).unwrap_or(dh / 2.0);
                Widget::cross_page(p, i, i, n, dy, w, h)
            })
            .collect()
    } else if let Some(k) = &args.keyword {
        let search: Vec<usize> = match page_index(args.page, pages.len())? {
            Some(i) => vec![i],
            None => (0..pages.len()).collect(),
        };
        let mut found = None;
        for i in search {
            if let Some(b) = sealpki_pki::pdf::text::find(doc, &pages[i], k)?.first() {
                found = Some((i, *b));
                break;
            }
        }
        let (i, b) = found.ok_or_else(|| {
            AppError::BadRequest(format!(
                "--keyword {k:?}: not found in the text of the page(s)"
            ))
        })?;
        let center = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        vec![Widget::at_user(&pages[i], i, center, w, h)]
    } else {
        let idx = page_index(args.page, pages.len())?.unwrap_or(0);
        let p = &pages[idx];
        let (dw, dh) = sign::displayed_size(p);
        let (x, y) = at.unwrap_or((dw - 35.0 * MM, dh - 45.0 * MM));
        vec![Widget::centered(p, idx, x, y, w, h)]
    };
    Ok(Appearance {
        image: image.clone(),
        widgets,
    })
}

/// A page number (from 1: `--page N`, the keyword look-up's `page`) as an index, checked
/// against the page count; the message names no flag, as HTTP callers read it too.
fn page_index(page: Option<usize>, count: usize) -> Result<Option<usize>, AppError> {
    match page {
        None => Ok(None),
        Some(p) => p
            .checked_sub(1)
            .filter(|i| *i < count)
            .map(Some)
            .ok_or_else(|| {
                AppError::BadRequest(if p == 0 {
                    "page 0: pages count from 1".to_string()
                } else {
                    format!("page {p}: the document has {count} page(s)")
                })
            }),
    }
}

/// One place of a seal among several in one signature (the apps' signing API): every spot is a
/// widget of the same signature field, so one signature shows the seal wherever it was asked for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Spot {
    /// Centred at (x, y) mm from the displayed top-left corner of `page` (from 1).
    At { page: usize, x_mm: f64, y_mm: f64 },
    /// Centred on the `occurrence`-th (from 1) place the text appears, counted over `page` only
    /// or over the whole document in page order.
    Keyword {
        text: String,
        occurrence: usize,
        page: Option<usize>,
    },
    /// 骑缝章 across the chosen pages (one slice each), its centre `y_mm` from the top (default
    /// half-way down).
    CrossPage { pages: PageSet, y_mm: Option<f64> },
}

/// A choice of pages for a cross-page seal.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageSet {
    All,
    Odd,
    Even,
    /// Pages from 1, ascending, without repeats.
    List(Vec<usize>),
}

impl PageSet {
    /// `all`, `odd`, `even`, or a list like `1,3-5`.
    pub fn parse(s: &str) -> Result<PageSet, AppError> {
        let bad = || {
            AppError::BadRequest(format!(
                "pages {s:?}: give all, odd, even or a list such as 1,3-5"
            ))
        };
        match s.trim() {
            "all" => return Ok(PageSet::All),
            "odd" => return Ok(PageSet::Odd),
            "even" => return Ok(PageSet::Even),
            _ => {}
        }
        let mut v = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let a: usize = a.parse().map_err(|_| bad())?;
            let b: usize = b.parse().map_err(|_| bad())?;
            if a == 0 || b < a || b - a > 100_000 {
                return Err(bad());
            }
            v.extend(a..=b);
        }
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            return Err(bad());
        }
        Ok(PageSet::List(v))
    }

    /// The chosen page indices (from 0) of a document of `count` pages; a listed page past the
    /// end is an error.
    fn indices(&self, count: usize) -> Result<Vec<usize>, AppError> {
        Ok(match self {
            PageSet::All => (0..count).collect(),
            PageSet::Odd => (0..count).step_by(2).collect(),
            PageSet::Even => (1..count).step_by(2).collect(),
            PageSet::List(v) => {
                if let Some(p) = v.iter().find(|p| **p > count) {
                    return Err(AppError::BadRequest(format!(
                        "page {p}: the document has {count} page(s)"
                    )));
                }
                v.iter().map(|p| p - 1).collect()
            }
        })
    }
}

/// Where a keyword appears: its page (from 1) and its box in default user space (points).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Occurrence {
    pub page: usize,
    /// [x0, y0, x1, y1] in the page's default user space, points from its lower-left corner.
    pub rect: [f64; 4],
}

/// Every place `text` appears, page by page (or on `page` only).
pub fn occurrences<S: sealpki_pki::pdf::Source + ?Sized>(
    doc: &Document<S>,
    text: &str,
    page: Option<usize>,
) -> Result<Vec<Occurrence>, AppError> {
    if text.trim().is_empty() || text.chars().count() > MAX_KEYWORD_CHARS {
        return Err(AppError::BadRequest(format!(
            "keyword: give 1 to {MAX_KEYWORD_CHARS} characters"
        )));
    }
    let pages = doc.pages()?;
    let search: Vec<usize> = match page_index(page, pages.len())? {
        Some(i) => vec![i],
        None => (0..pages.len()).collect(),
    };
    let mut out = Vec::new();
    for i in search {
        for rect in sealpki_pki::pdf::text::find(doc, &pages[i], text)? {
            out.push(Occurrence { page: i + 1, rect });
        }
    }
    Ok(out)
}

/// The widgets of one signature shown at every spot, the seal `size_mm` wide.
pub fn appearance_at<S: sealpki_pki::pdf::Source + ?Sized>(
    doc: &Document<S>,
    spots: &[Spot],
    size_mm: f64,
    image: &SealImage,
) -> Result<Appearance, AppError> {
    if !(size_mm > 0.0 && size_mm <= 500.0) {
        return Err(AppError::BadRequest(format!(
            "seal size {size_mm} mm: give 1 to 500 mm"
        )));
    }
    if spots.is_empty() || spots.len() > MAX_SPOTS {
        return Err(AppError::BadRequest(format!(
            "placements: give 1 to {MAX_SPOTS}"
        )));
    }
    let pages = doc.pages()?;
    let w = size_mm * MM;
    let h = w * image.aspect();
    let mut widgets = Vec::new();
    for (n, spot) in spots.iter().enumerate() {
        let which = n + 1;
        match spot {
            Spot::At { page, x_mm, y_mm } => {
                let idx = page_index(Some(*page), pages.len())
                    .map_err(|e| at_placement(which, e))?
                    .unwrap_or(0);
                let (dw, dh) = sign::displayed_size(&pages[idx]);
                let (x, y) = (x_mm * MM, y_mm * MM);
                let on_page = x.is_finite()
                    && y.is_finite()
                    && (0.0..=dw).contains(&x)
                    && (0.0..=dh).contains(&y);
                if !on_page {
                    return Err(AppError::BadRequest(format!(
                        "placement {which}: ({x_mm:.1} mm, {y_mm:.1} mm) is outside page {page} \
                         ({:.1} × {:.1} mm)",
                        dw / MM,
                        dh / MM
                    )));
                }
                widgets.push(Widget::centered(&pages[idx], idx, x, y, w, h));
            }
            Spot::Keyword {
                text,
                occurrence,
                page,
            } => {
                let found = occurrences(doc, text, *page).map_err(|e| at_placement(which, e))?;
                let o = occurrence
                    .checked_sub(1)
                    .and_then(|i| found.get(i))
                    .ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "placement {which}: keyword {text:?} occurrence {occurrence}: found {} \
                             time(s)",
                            found.len()
                        ))
                    })?;
                let idx = o.page - 1;
                let center = ((o.rect[0] + o.rect[2]) / 2.0, (o.rect[1] + o.rect[3]) / 2.0);
                widgets.push(Widget::at_user(&pages[idx], idx, center, w, h));
            }
            Spot::CrossPage { pages: set, y_mm } => {
                let chosen = set
                    .indices(pages.len())
                    .map_err(|e| at_placement(which, e))?;
                if chosen.len() < 2 {
                    return Err(AppError::BadRequest(format!(
                        "placement {which}: a cross-page seal needs at least two pages, {} chosen",
                        chosen.len()
                    )));
                }
                let n = chosen.len();
                for (slice, &idx) in chosen.iter().enumerate() {
                    let (_, dh) = sign::displayed_size(&pages[idx]);
                    let dy = match y_mm {
                        Some(y) => {
                            let y = y * MM;
                            if !(y.is_finite() && (0.0..=dh).contains(&y)) {
                                return Err(AppError::BadRequest(format!(
                                    "placement {which}: {:.1} mm from the top is outside page {} \
                                     ({:.1} mm high)",
                                    y / MM,
                                    idx + 1,
                                    dh / MM
                                )));
                            }
                            y
                        }
                        None => dh / 2.0,
                    };
                    widgets.push(Widget::cross_page(&pages[idx], idx, slice, n, dy, w, h));
                }
            }
        }
    }
    Ok(Appearance {
        image: image.clone(),
        widgets,
    })
}

/// Placements in one signature, at most.
pub const MAX_SPOTS: usize = 50;

fn at_placement(which: usize, e: AppError) -> AppError {
    match e {
        AppError::BadRequest(m) => AppError::BadRequest(format!("placement {which}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sets() {
        assert_eq!(
            PageSet::parse("odd").unwrap().indices(5).unwrap(),
            [0, 2, 4]
        );
        assert_eq!(PageSet::parse("even").unwrap().indices(5).unwrap(), [1, 3]);
        assert_eq!(
            PageSet::parse("all").unwrap().indices(3).unwrap(),
            [0, 1, 2]
        );
        assert_eq!(
            PageSet::parse("3-4, 1,4").unwrap(),
            PageSet::List(vec![1, 3, 4])
        );
        assert!(PageSet::parse("1,9").unwrap().indices(3).is_err());
        for bad in ["", "0", "3-1", "x", "1,,2", "-2"] {
            assert!(PageSet::parse(bad).is_err(), "{bad:?}");
        }
    }
}
