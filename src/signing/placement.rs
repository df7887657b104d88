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

/// `--page N` (from 1) as an index, checked against the page count.
fn page_index(page: Option<usize>, count: usize) -> Result<Option<usize>, AppError> {
    match page {
        None => Ok(None),
        Some(p) => p
            .checked_sub(1)
            .filter(|i| *i < count)
            .map(Some)
            .ok_or_else(|| {
                AppError::BadRequest(format!("--page {p}: the document has {count} page(s)"))
            }),
    }
}
