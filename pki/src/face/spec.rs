//! What a seal picture shows, as types: one struct per layout with only the fields that layout has,
//! and checked codes (13-digit seal code, 18-character unified social credit code).

use super::FaceError;

/// Longest organisation name drawn (characters); longer names no longer read on a 42 mm arc.
pub(crate) const MAX_NAME_CHARS: usize = 30;

/// A seal picture to draw.
#[derive(Clone, Debug, PartialEq)]
pub enum FaceSpec {
    Round(RoundSeal),
    Oval(OvalSeal),
    Name(NameSeal),
}

/// Round seals: name on the upper arc, star, kind below the star, code on the lower arc.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundSeal {
    pub kind: RoundKind,
    /// The organisation's registered name.
    pub org_name: String,
    pub code: Option<SealCode>,
    /// `None`: 42 mm for the legal-name seal, 40 mm for the others.
    pub diameter: Option<Diameter>,
}

/// The kinds of round seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    /// 法定名称章 (the official seal): no kind text.
    LegalName,
    /// 合同专用章.
    Contract,
    /// 业务专用章.
    Business,
}

impl RoundKind {
    /// The text below the star, if any.
    pub fn text(self) -> Option<&'static str> {
        match self {
            RoundKind::LegalName => None,
            RoundKind::Contract => Some("合同专用章"),
            RoundKind::Business => Some("业务专用章"),
        }
    }
}

/// The two diameters the rules allow for round organisation seals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diameter {
    Mm40,
    Mm42,
}

impl Diameter {
    pub fn mm(self) -> f64 {
        match self {
            Diameter::Mm40 => 40.0,
            Diameter::Mm42 => 42.0,
        }
    }
}

/// Oval seals: name on the upper arc, taxpayer number across the middle, kind below.
#[derive(Clone, Debug, PartialEq)]
pub struct OvalSeal {
    pub kind: OvalKind,
    pub org_name: String,
    pub taxpayer: TaxpayerId,
    pub code: Option<SealCode>,
}

/// The kinds of oval seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OvalKind {
    /// 财务专用章, 45×30 mm.
    Finance,
    /// 发票专用章, 40×30 mm.
    Invoice,
}

impl OvalKind {
    pub fn text(self) -> &'static str {
        match self {
            OvalKind::Finance => "财务专用章",
            OvalKind::Invoice => "发票专用章",
        }
    }

    /// Width and height in mm.
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            OvalKind::Finance => (45.0, 30.0),
            OvalKind::Invoice => (40.0, 30.0),
        }
    }
}

/// A square personal-name seal (电子名章) of 2, 3 or 4 characters.
#[derive(Clone, Debug, PartialEq)]
pub struct NameSeal {
    pub person_name: String,
    /// Side in mm, 10..=30; `None`: 18 mm.
    pub size_mm: Option<f64>,
}

/// A seal code: 13 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealCode(String);

impl SealCode {
    pub fn parse(s: &str) -> Result<SealCode, FaceError> {
        let n = s.chars().count();
        if n != 13 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FaceError::Invalid {
                field: "seal code",
                reason: format!("must be 13 digits, got {n} characters {s:?}"),
            });
        }
        Ok(SealCode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The characters of GB 32100 codes, in value order (no I, O, S, V, Z).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A unified social credit code (统一社会信用代码, GB 32100): 18 characters, check character verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxpayerId(String);

impl TaxpayerId {
    pub fn parse(s: &str) -> Result<TaxpayerId, FaceError> {
        let bad = |reason: String| FaceError::Invalid {
            field: "taxpayer number",
            reason,
        };
        let n = s.chars().count();
        if n != 18 {
            return Err(bad(format!("must be 18 characters, got {n} ({s:?})")));
        }
        let mut values = Vec::with_capacity(18);
        for (i, b) in s.bytes().enumerate() {
            let v = USCC_CHARS.iter().position(|&c| c == b).ok_or_else(|| {
                bad(format!(
                    "character {} ({:?}) is not one of 0-9 A-Y without I O S V Z",
                    i + 1,
                    char::from(b)
                ))
            })?;
            values.push(v);
        }
        // Weights 3^i mod 31; the check character makes the weighted sum ≡ 0 (mod 31).
        let mut w = 1usize;
        let mut sum = 0usize;
        for v in &values[..17] {
            sum += v * w;
            w = w * 3 % 31;
        }
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err(bad(format!(
                "check character is {:?}, expected {:?}",
                char::from(USCC_CHARS[values[17]]),
                char::from(USCC_CHARS[check])
            )));
        }
        Ok(TaxpayerId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks text drawn on a seal: not empty, at most `max` characters, no spaces or control characters.
pub(crate) fn check_text(field: &'static str, s: &str, max: usize) -> Result<Vec<char>, FaceError> {
    let chars: Vec<char> = s.chars().collect();
    let bad = |reason: String| FaceError::Invalid { field, reason };
    if chars.is_empty() {
        return Err(bad("is empty".into()));
    }
    if chars.len() > max {
        return Err(bad(format!(
            "has {} characters, at most {max} fit",
            chars.len()
        )));
    }
    if let Some(c) = chars.iter().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!(
            "contains {c:?} (no spaces or control characters)"
        )));
    }
    Ok(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_code_is_13_digits() {
        assert!(SealCode::parse("3301060012345").is_ok());
        for bad in [
            "330106001234",
            "33010600123456",
            "330106001234X",
            "３３０１０６００１２３４５",
        ] {
            let e = SealCode::parse(bad).unwrap_err().to_string();
            assert!(e.contains("13 digits"), "{e}");
        }
    }

    #[test]
    fn taxpayer_id_is_18_chars_with_check() {
        assert!(TaxpayerId::parse("91350100M000100Y43").is_ok());
        assert!(TaxpayerId::parse("91110000600037341L").is_ok());
        let e = TaxpayerId::parse("91350100M000100Y44")
            .unwrap_err()
            .to_string();
        assert!(e.contains("check character"), "{e}");
        let e = TaxpayerId::parse("91350100M000100Y4")
            .unwrap_err()
            .to_string();
        assert!(e.contains("18 characters"), "{e}");
        let e = TaxpayerId::parse("91350100I000100Y43")
            .unwrap_err()
            .to_string();
        assert!(e.contains("character 9"), "{e}");
    }

    #[test]
    fn text_limits() {
        assert!(check_text("name", "", 30).is_err());
        assert!(check_text("name", "甲 乙", 30).is_err());
        assert_eq!(check_text("name", "甲乙", 30).unwrap().len(), 2);
        assert!(check_text("name", &"甲".repeat(31), 30).is_err());
    }
}
