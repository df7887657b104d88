//! Times as people and day counters read them: one formatting for pages, messages and usage days.

use sealpki_pki::der::DateTime;

fn date_time(unix: i64) -> Option<DateTime> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).ok()?);
    DateTime::from_system_time(t).ok()
}

/// A Unix time for a page or a message: `2026-12-01 12:00:00 UTC`.
pub fn format_time(unix: &i64) -> String {
    date_time(*unix)
        .map(|d| d.to_string().replace('T', " ").replace('Z', " UTC"))
        .unwrap_or_else(|| unix.to_string())
}

/// The UTC day of a time, as YYYY-MM-DD (times before 1970 count as its first day).
pub fn day_of(t: i64) -> String {
    date_time(t.max(0))
        .map(|d| d.to_string().chars().take(10).collect())
        .unwrap_or_else(|| "1970-01-01".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn days() {
        assert_eq!(super::day_of(0), "1970-01-01");
        assert_eq!(super::day_of(-5), "1970-01-01");
        assert_eq!(super::day_of(951_782_400), "2000-02-29");
        assert_eq!(super::day_of(1_796_083_199), "2026-11-30");
        assert_eq!(super::day_of(1_796_083_200), "2026-12-01");
    }

    #[test]
    fn times() {
        assert_eq!(
            super::format_time(&1_796_083_200),
            "2026-12-01 00:00:00 UTC"
        );
    }
}
