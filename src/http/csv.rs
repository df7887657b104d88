//! CSV export of lists (RFC 4180, UTF-8 with a BOM so spreadsheet programs read Chinese): cells
//! that start like a formula are prefixed with `'` so an exported name cannot run in a
//! spreadsheet.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The most rows one export holds.
pub const MAX_ROWS: usize = 10_000;

/// A Unix time as RFC 3339 (UTC).
pub fn time(unix: &i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(*unix).unwrap_or(0));
    sealpki_pki::der::DateTime::from_system_time(t)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| unix.to_string())
}

fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// A CSV file of `rows` under `header`, as a download named `name`.
pub fn response(name: &str, header_row: &[&str], rows: &[Vec<String>]) -> Response {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out += &line(header_row.iter().map(|h| cell(h)).collect());
    for r in rows {
        out += &line(r.iter().map(|c| cell(c)).collect());
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("abc"), "abc");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("-2,3"), "\"'-2,3\"");
        assert_eq!(cell("杭州示例"), "杭州示例");
    }
}
