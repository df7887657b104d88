//! Declared file names: taken from a multipart filename, `X-File-Name` or `Content-Disposition`,
//! cut to their last path component, checked, and split at the extension.

use super::error::FileError;

/// The longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A declared file name: no directory part, no control characters, at most 255 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    pub fn parse(raw: &str) -> Result<FileName, FileError> {
        // Browsers on Windows used to send the whole path; only its last part is the name.
        let last = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
        if last.is_empty() || last == "." || last == ".." {
            return Err(FileError::NoName);
        }
        if last.chars().any(char::is_control) {
            return Err(FileError::BadName("it contains control characters"));
        }
        if last.chars().count() > MAX_NAME_CHARS {
            return Err(FileError::BadName("it is longer than 255 characters"));
        }
        Ok(FileName(last.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension (after the last dot), if there is one.
    pub fn extension(&self) -> Option<&str> {
        let (_, ext) = self.0.rsplit_once('.')?;
        (!ext.is_empty()).then_some(ext)
    }

    /// The name with everything but printable ASCII replaced by `_`, for the plain `filename=`
    /// parameter of a download (the exact name goes in `filename*`).
    pub fn ascii_fallback(&self) -> String {
        self.0
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// RFC 8187 `filename*` value: `UTF-8''` and the percent-encoded name.
    pub fn rfc8187(&self) -> String {
        let mut out = String::from("UTF-8''");
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Decode `%XX` escapes into UTF-8; None when an escape or the result is invalid.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file name in a `Content-Disposition` value: `filename*=UTF-8''…` (RFC 8187) when present,
/// else `filename=` (quoted or a token).
pub fn from_content_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    for param in split_params(value).into_iter().skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        if k == "filename*" {
            let (charset, rest) = v.split_once('\'')?;
            let (_lang, encoded) = rest.split_once('\'')?;
            if !charset.eq_ignore_ascii_case("utf-8") {
                return None;
            }
            return percent_decode(encoded);
        }
        if k == "filename" {
            plain = Some(unquote(v));
        }
    }
    plain
}

/// Split at `;` outside quoted strings.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = FileName::parse("C:\\Users\\li\\扫描件.PDF").unwrap();
        assert_eq!(n.as_str(), "扫描件.PDF");
        assert_eq!(n.extension(), Some("PDF"));
        assert_eq!(n.ascii_fallback(), "___.PDF");
        assert_eq!(n.rfc8187(), "UTF-8''%E6%89%AB%E6%8F%8F%E4%BB%B6.PDF");
        assert_eq!(FileName::parse("../seal.png").unwrap().as_str(), "seal.png");
        assert_eq!(FileName::parse("noext").unwrap().extension(), None);
        assert_eq!(FileName::parse("trailing.").unwrap().extension(), None);
        assert!(matches!(FileName::parse("dir/"), Err(FileError::NoName)));
        assert!(matches!(FileName::parse("  "), Err(FileError::NoName)));
        assert!(matches!(
            FileName::parse("a\nb.png"),
            Err(FileError::BadName(_))
        ));
        assert!(matches!(
            FileName::parse(&"x".repeat(300)),
            Err(FileError::BadName(_))
        ));
    }

    #[test]
    fn content_disposition() {
        assert_eq!(
            from_content_disposition("attachment; filename=\"a;b.png\"").as_deref(),
            Some("a;b.png")
        );
        assert_eq!(
            from_content_disposition("form-data; name=file; filename=scan.pdf").as_deref(),
            Some("scan.pdf")
        );
        assert_eq!(
            from_content_disposition(
                "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''%E7%94%B3%E8%AF%B7.pdf"
            )
            .as_deref(),
            Some("申请.pdf")
        );
        assert_eq!(from_content_disposition("attachment"), None);
        assert_eq!(percent_decode("%E7%94"), None); // not UTF-8
        assert_eq!(percent_decode("%G0"), None);
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
    }
}
