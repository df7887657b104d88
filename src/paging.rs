//! Keyset pages, one convention for every list: the cursor is `CREATED_AT.ID` of the last row of
//! the page before, and a page that came back full names the next cursor.

use crate::error::AppError;

/// Parse a cursor (`next_cursor` of the page before; empty or None for the first page).
pub fn cursor(c: Option<&str>) -> Result<Option<(i64, &str)>, AppError> {
    match c {
        None | Some("") => Ok(None),
        Some(c) => c
            .split_once('.')
            .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("bad cursor {c:?}"))),
    }
}

/// [`cursor`], owned (for store queries that keep it).
pub fn cursor_owned(c: Option<&str>) -> Result<Option<(i64, String)>, AppError> {
    Ok(cursor(c)?.map(|(at, id)| (at, id.to_string())))
}

/// A page size: 1 to `max`, `default` when not given.
pub fn limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, AppError> {
    let l = limit.unwrap_or(default);
    if !(1..=max).contains(&l) {
        return Err(AppError::BadRequest(format!("limit is 1-{max}")));
    }
    Ok(l)
}

/// The next page's cursor: given when this page came back full.
pub fn next<T>(rows: &[T], limit: i64, key: impl Fn(&T) -> (i64, &str)) -> Option<String> {
    if rows.len() as i64 != limit {
        return None;
    }
    rows.last().map(|r| {
        let (at, id) = key(r);
        format!("{at}.{id}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_limits() {
        assert_eq!(cursor(None).unwrap(), None);
        assert_eq!(cursor(Some("")).unwrap(), None);
        assert_eq!(cursor(Some("12.ab")).unwrap(), Some((12, "ab")));
        assert!(cursor(Some("x.ab")).is_err() && cursor(Some("12")).is_err());
        assert_eq!(limit(None, 50, 500).unwrap(), 50);
        assert!(limit(Some(0), 50, 500)
            .unwrap_err()
            .to_string()
            .contains("1-500"));
        let rows = [(1, "a".to_string()), (2, "b".to_string())];
        assert_eq!(next(&rows, 2, |r| (r.0, &r.1)), Some("2.b".into()));
        assert_eq!(next(&rows, 3, |r| (r.0, &r.1)), None);
    }
}
