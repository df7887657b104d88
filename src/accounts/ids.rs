//! Identifiers as typed values made only by parsing: `ResidentId` (GB 11643-1999 citizen
//! identification number), `CreditCode` (GB 32100-2015 unified social credit code), `Mobile`
//! (mainland China mobile number), and the civil `Date` they use.
//!
//! Resident ID and mobile numbers are personal data: their `Debug` and `Display` show them masked
//! (`3301**********123X`, `138****8000`) and never in full; the full value is reached only through
//! `expose()`, for storage and comparison. Errors name the rule that failed and never carry the
//! number itself. Credit codes are public registry data and print in full.

use std::fmt;
use std::str::FromStr;

use super::region::{self, Region};

// ---------------------------------------------------------------------------------------------
// Dates

/// A date of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// The date, if it exists (1 ≤ month ≤ 12, the day within the month, leap years counted).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        (1..=12)
            .contains(&month)
            .then(|| days_in_month(year, month))
            .filter(|&n| (1..=n).contains(&day))
            .map(|_| Date { year, month, day })
    }

    /// Today's date in China (UTC+8), from the system clock.
    pub fn today_in_china() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_unix_days(((secs + 8 * 3600) / 86_400) as i64)
    }

    /// The date `days` days after 1970-01-01 (H. Hinnant's `civil_from_days`).
    fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: year.clamp(0, 9999) as u16,
            month,
            day,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: u16) -> bool {
    // Written as a match, not with `is_multiple_of`, which is newer than the workspace's Rust 1.80.
    matches!((year % 4, year % 100, year % 400), (_, _, 0) | (0, 1.., _))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Trims surrounding whitespace and counts characters (Unicode scalar values).
fn trimmed(input: &str) -> (&str, usize) {
    let s = input.trim();
    (s, s.chars().count())
}

// ---------------------------------------------------------------------------------------------
// Resident ID numbers (GB 11643-1999)

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Birth years before this are refused as not plausible (GB 11643 allows the 19th century; the
/// oldest people alive were born in the 20th).
pub const EARLIEST_BIRTH_YEAR: u16 = 1800;

/// The region prefix of residence permits for Taiwan residents (港澳台居民居住证, 2018). Hong Kong's
/// (810000) and Macao's (820000) are GB/T 2260 codes and in the table; Taiwan's permit uses 830000,
/// which GB/T 2260 does not list, so it is accepted here by name.
pub const TAIWAN_RESIDENCE_PERMIT_PREFIX: &str = "830000";

/// The ISO 7064 MOD 11-2 check character of the first 17 digits (ASCII digits).
fn resident_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

/// A resident ID number (18 characters, GB 11643-1999), valid by every rule: characters, check
/// character, birth date, region. Made only by [`ResidentId::parse`]; an `X` check character is
/// kept upper-case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId([u8; 18]);

/// Why a string is not a resident ID number. The rules are checked in this order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("resident ID number: must be 18 characters, not {got}")]
    Length { got: usize },
    #[error(
        "resident ID number: character {position} must be {}, not {found:?}",
        if *.position == 18 { "a digit or X" } else { "a digit" }
    )]
    Characters { position: usize, found: char },
    #[error("resident ID number: the check character (the 18th) should be {expected}, not {got}; a character is mistyped")]
    CheckCharacter { expected: char, got: char },
    #[error("resident ID number: characters 7-14 are not a birth date (YYYYMMDD, from {EARLIEST_BIRTH_YEAR})")]
    BirthDate,
    #[error("resident ID number: the birth date (characters 7-14) is in the future")]
    BirthDateInFuture,
    #[error("resident ID number: {code} (characters 1-6) is not a GB/T 2260 region code")]
    Region { code: String },
}

impl ResidentIdError {
    /// The rule that failed, for machine-readable answers.
    pub fn rule(&self) -> &'static str {
        match self {
            ResidentIdError::Length { .. } => "length",
            ResidentIdError::Characters { .. } => "characters",
            ResidentIdError::CheckCharacter { .. } => "check-character",
            ResidentIdError::BirthDate | ResidentIdError::BirthDateInFuture => "birth-date",
            ResidentIdError::Region { .. } => "region",
        }
    }
}

/// The sex coded in a resident ID number (the 17th digit: odd for men, even for women).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl ResidentId {
    /// Parses a resident ID number, with today's date in China as the latest birth date.
    /// Surrounding whitespace is ignored; a lower-case `x` check character is accepted.
    pub fn parse(input: &str) -> Result<ResidentId, ResidentIdError> {
        ResidentId::parse_on(input, Date::today_in_china())
    }

    /// Parses with `today` as the latest acceptable birth date.
    pub fn parse_on(input: &str, today: Date) -> Result<ResidentId, ResidentIdError> {
        let (s, got) = trimmed(input);
        if got != 18 {
            return Err(ResidentIdError::Length { got });
        }
        let mut b = [0u8; 18];
        for (i, c) in s.chars().enumerate() {
            b[i] = match c {
                '0'..='9' => c as u8,
                'X' | 'x' if i == 17 => b'X',
                _ => {
                    return Err(ResidentIdError::Characters {
                        position: i + 1,
                        found: c,
                    })
                }
            };
        }
        let expected = resident_check(&b[..17]);
        if b[17] != expected {
            return Err(ResidentIdError::CheckCharacter {
                expected: expected as char,
                got: b[17] as char,
            });
        }
        let birth = birth_date(&b).ok_or(ResidentIdError::BirthDate)?;
        if birth > today {
            return Err(ResidentIdError::BirthDateInFuture);
        }
        let code = std::str::from_utf8(&b[..6]).unwrap_or_default();
        if !region::is_valid(code) && code != TAIWAN_RESIDENCE_PERMIT_PREFIX {
            return Err(ResidentIdError::Region {
                code: code.to_string(),
            });
        }
        Ok(ResidentId(b))
    }

    /// The full number, for storage and comparison only: never log or display it.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The number with its first four and last four characters shown, the ten between (the rest
    /// of the region, and the birth date) as `*`: `3301**********123X`.
    pub fn masked(&self) -> String {
        let s = self.expose();
        format!("{}**********{}", &s[..4], &s[14..])
    }

    /// The birth date (characters 7-14).
    pub fn birth_date(&self) -> Date {
        birth_date(&self.0).unwrap_or(Date {
            year: EARLIEST_BIRTH_YEAR,
            month: 1,
            day: 1,
        })
    }

    /// The sex coded in the 17th digit.
    pub fn sex(&self) -> Sex {
        if (self.0[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The region of the first six digits (`None` for a Taiwan residence permit's 830000).
    pub fn region(&self) -> Option<Region> {
        region::lookup(&self.expose()[..6])
    }
}

fn birth_date(b: &[u8; 18]) -> Option<Date> {
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'));
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    if year < EARLIEST_BIRTH_YEAR {
        return None;
    }
    Date::new(year, month as u8, day as u8)
}

impl FromStr for ResidentId {
    type Err = ResidentIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse(s)
    }
}

/// Masked: the full number never reaches a log through `{:?}`.
impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

/// Masked, as for display to people.
impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

// ---------------------------------------------------------------------------------------------
// Unified social credit codes (GB 32100-2015)

/// The code's alphabet in index order (no I, O, S, V, Z).
pub const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn credit_index(c: u8) -> Option<u32> {
    CREDIT_ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|i| i as u32)
}

/// The GB 11714 check character of an organisation code's first eight characters. GB 11714 gives
/// letters their place in the whole Latin alphabet (A = 10 … Z = 35), unlike GB 32100's index.
fn organisation_check(body: &[u8]) -> u8 {
    let value = |c: u8| match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        _ => u32::from(c - b'A') + 10,
    };
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(&c, w)| value(c) * w)
        .sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        n => b'0' + n as u8,
    }
}

/// The GB 32100 check character (the 18th) of the first 17 characters.
fn credit_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(CREDIT_WEIGHTS)
        .map(|(&c, w)| credit_index(c).unwrap_or(0) * w)
        .sum();
    CREDIT_ALPHABET[((31 - sum % 31) % 31) as usize]
}

/// A unified social credit code (18 characters, GB 32100-2015), valid by every rule: alphabet, the
/// embedded GB 11714 organisation code's check character, the final check character, and a
/// GB/T 2260 region code in characters 3-8. Made only by [`CreditCode::parse`]; stored upper-case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode([u8; 18]);

/// Why a string is not a unified social credit code. The rules are checked in this order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("unified social credit code: must be 18 characters, not {got}")]
    Length { got: usize },
    #[error("unified social credit code: character {position} is {found:?}; the code uses digits and the capital letters A-H, J-N, P, Q, R, T, U, W, X, Y")]
    Characters { position: usize, found: char },
    #[error("unified social credit code: the organisation code's check character (the 17th) should be {expected}, not {got}; a character is mistyped")]
    OrganisationCheck { expected: char, got: char },
    #[error("unified social credit code: the check character (the 18th) should be {expected}, not {got}; a character is mistyped")]
    CheckCharacter { expected: char, got: char },
    #[error("unified social credit code: {code} (characters 3-8) is not a GB/T 2260 region code")]
    Region { code: String },
}

impl CreditCodeError {
    /// The rule that failed, for machine-readable answers.
    pub fn rule(&self) -> &'static str {
        match self {
            CreditCodeError::Length { .. } => "length",
            CreditCodeError::Characters { .. } => "characters",
            CreditCodeError::OrganisationCheck { .. } => "organisation-check-character",
            CreditCodeError::CheckCharacter { .. } => "check-character",
            CreditCodeError::Region { .. } => "region",
        }
    }
}

impl CreditCode {
    /// Parses a code after normalising it: surrounding whitespace removed, ASCII letters
    /// upper-cased.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let (s, got) = trimmed(input);
        if got != 18 {
            return Err(CreditCodeError::Length { got });
        }
        let mut b = [0u8; 18];
        for (i, c) in s.chars().enumerate() {
            let u = c.to_ascii_uppercase();
            match u8::try_from(u).ok().filter(|&x| credit_index(x).is_some()) {
                Some(x) => b[i] = x,
                None => {
                    return Err(CreditCodeError::Characters {
                        position: i + 1,
                        found: c,
                    })
                }
            }
        }
        let expected = organisation_check(&b[8..16]);
        if b[16] != expected {
            return Err(CreditCodeError::OrganisationCheck {
                expected: expected as char,
                got: b[16] as char,
            });
        }
        let expected = credit_check(&b[..17]);
        if b[17] != expected {
            return Err(CreditCodeError::CheckCharacter {
                expected: expected as char,
                got: b[17] as char,
            });
        }
        let code = std::str::from_utf8(&b[2..8]).unwrap_or_default();
        if !region::is_valid(code) {
            return Err(CreditCodeError::Region {
                code: code.to_string(),
            });
        }
        Ok(CreditCode(b))
    }

    /// The normalised code (public data).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Character 1: the registration authority (e.g. `9` market regulation, `5` civil affairs,
    /// `1` establishment offices).
    pub fn registration_authority(&self) -> char {
        self.0[0] as char
    }

    /// Character 2: the kind of organisation within that authority (e.g. `91…` an enterprise).
    pub fn organisation_type(&self) -> char {
        self.0[1] as char
    }

    /// Characters 3-8: the region code of the registering authority.
    pub fn region_code(&self) -> &str {
        &self.as_str()[2..8]
    }

    /// The region of characters 3-8 (always in the table, since parsing checked it).
    pub fn region(&self) -> Option<Region> {
        region::lookup(self.region_code())
    }

    /// Characters 9-17: the GB 11714 organisation code, written as usual with a hyphen before its
    /// check character (`19220382-1`).
    pub fn organisation_code(&self) -> String {
        let s = self.as_str();
        format!("{}-{}", &s[8..16], &s[16..17])
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CreditCode").field(&self.as_str()).finish()
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Mobile numbers

/// A mainland China mobile number: 11 digits, `1` then `3`-`9`. Stored without the country code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mobile([u8; 11]);

/// Why a string is not a mainland mobile number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    #[error("mobile number: {found:?} is not a digit (spaces and hyphens between digits, and a +86 prefix, are allowed)")]
    Characters { found: char },
    #[error("mobile number: must be 11 digits (after +86), not {got}")]
    Length { got: usize },
    #[error("mobile number: a mainland mobile number starts with 13-19")]
    Prefix,
}

impl MobileError {
    /// The rule that failed, for machine-readable answers.
    pub fn rule(&self) -> &'static str {
        match self {
            MobileError::Characters { .. } => "characters",
            MobileError::Length { .. } => "length",
            MobileError::Prefix => "prefix",
        }
    }
}

impl Mobile {
    /// Parses a mobile number: surrounding whitespace and spaces or hyphens between digits are
    /// ignored; a country code `+86`, `0086` or `86` (before 11 digits starting with 1) is dropped.
    pub fn parse(input: &str) -> Result<Mobile, MobileError> {
        let s = input.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let mut digits = Vec::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c as u8),
                ' ' | '-' => {}
                _ => return Err(MobileError::Characters { found: c }),
            }
        }
        let national: &[u8] = match &digits[..] {
            [b'8', b'6', rest @ ..] if plus => rest,
            [b'0', b'0', b'8', b'6', rest @ ..] if !plus => rest,
            [b'8', b'6', rest @ ..] if !plus && rest.len() == 11 && rest[0] == b'1' => rest,
            _ if plus => return Err(MobileError::Prefix),
            all => all,
        };
        if national.len() != 11 {
            return Err(MobileError::Length {
                got: national.len(),
            });
        }
        if national[0] != b'1' || !(b'3'..=b'9').contains(&national[1]) {
            return Err(MobileError::Prefix);
        }
        let mut b = [0u8; 11];
        b.copy_from_slice(national);
        Ok(Mobile(b))
    }

    /// The 11 digits, for storage, comparison and sending: never log or display them.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// E.164 form, `+8613800138000`, for SMS providers.
    pub fn e164(&self) -> String {
        format!("+86{}", self.expose())
    }

    /// The first three and last four digits shown: `138****8000`.
    pub fn masked(&self) -> String {
        let s = self.expose();
        format!("{}****{}", &s[..3], &s[7..])
    }
}

impl FromStr for Mobile {
    type Err = MobileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mobile::parse(s)
    }
}

/// Masked: the full number never reaches a log through `{:?}`.
impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mobile").field(&self.masked()).finish()
    }
}

/// Masked, as for display to people.
impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::tests::Rng;

    const TODAY: Date = Date {
        year: 2025,
        month: 6,
        day: 15,
    };

    /// `first17` with its MOD 11-2 check character appended.
    fn with_check(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        format!("{first17}{}", resident_check(first17.as_bytes()) as char)
    }

    /// A valid resident ID number: a code from the table, a date from 1900 to `TODAY`.
    fn random_resident(rng: &mut Rng) -> String {
        let codes = all_codes();
        let code = codes[rng.below(codes.len() as u64) as usize];
        let days = rng.below(45_000) as i64 - 25_567; // 1900-01-01 ..= about 2023
        let d = Date::from_unix_days(days);
        let seq = rng.below(1000);
        with_check(&format!(
            "{code}{:04}{:02}{:02}{seq:03}",
            d.year, d.month, d.day
        ))
    }

    fn all_codes() -> Vec<&'static str> {
        region::codes().collect()
    }

    /// A valid credit code over `region`, with random authority, type and organisation code.
    fn credit_over(rng: &mut Rng, region: &str) -> String {
        let mut pick = || CREDIT_ALPHABET[rng.below(31) as usize];
        let mut b: Vec<u8> = vec![pick(), pick()];
        b.extend_from_slice(region.as_bytes());
        for _ in 0..8 {
            b.push(pick());
        }
        b.push(organisation_check(&b[8..16]));
        b.push(credit_check(&b[..17]));
        String::from_utf8(b).unwrap()
    }

    // Codes published by the companies themselves (business licences, the TC260 AIGC labels that
    // carry a producer's code), as quoted in public documents.
    const REAL_CREDIT_CODES: &[(&str, &str, &str)] = &[
        ("914403001922038216", "华为技术有限公司", "440300"),
        (
            "91440300708461136T",
            "深圳市腾讯计算机系统有限公司",
            "440300",
        ),
        ("91110108551385082Q", "小米科技有限责任公司", "110108"),
        ("91110000802100433B", "北京百度网讯科技有限公司", "110000"),
        (
            "91330100716105852F",
            "阿里巴巴（中国）网络技术有限公司",
            "330100",
        ),
        ("91520000214434146R", "中航重机股份有限公司", "520000"),
        (
            "91350100M000100Y43",
            "(letters in the organisation code)",
            "350100",
        ),
    ];

    #[test]
    fn resident_id_cases() {
        use ResidentIdError as E;
        let feb29_1900 = with_check("11010519000229002");
        let feb30 = with_check("11010519490230002");
        let month13 = with_check("11010519491331002");
        let day0 = with_check("11010519491200002");
        let y1799 = with_check("11010517991231002");
        let future = with_check("11010520250616002");
        let today = with_check("11010520250615002");
        let leap = with_check("11010520000229003");
        let no_region = with_check("00000019491231002");
        let unknown_region = with_check("99010119491231002");
        let former = with_check("33010319800101001"); // 杭州市下城区, merged in 2021
        let taiwan = with_check("83000019900101002");
        let cases: Vec<(&str, Result<&str, E>)> = vec![
            // GB 11643-1999's own example (Beijing, Chaoyang; 1949-12-31; female).
            ("11010519491231002X", Ok("11010519491231002X")),
            ("11010519491231002x", Ok("11010519491231002X")),
            (" 11010519491231002X\n", Ok("11010519491231002X")),
            // The standard's other example: 汕头市潮阳县 (440524) predates the table (2002).
            (
                "440524188001010014",
                Err(E::Region {
                    code: "440524".into(),
                }),
            ),
            ("", Err(E::Length { got: 0 })),
            ("110105491231002", Err(E::Length { got: 15 })), // first-generation, 15 digits
            ("11010519491231002X0", Err(E::Length { got: 19 })),
            (
                "1101051949123100２X",
                Err(E::Characters {
                    position: 17,
                    found: '２',
                }),
            ),
            (
                "11010519491231002Y",
                Err(E::Characters {
                    position: 18,
                    found: 'Y',
                }),
            ),
            (
                "X1010519491231002X",
                Err(E::Characters {
                    position: 1,
                    found: 'X',
                }),
            ),
            (
                "1101051949 231002X",
                Err(E::Characters {
                    position: 11,
                    found: ' ',
                }),
            ),
            (
                "110105194912310021",
                Err(E::CheckCharacter {
                    expected: 'X',
                    got: '1',
                }),
            ),
            (&feb29_1900, Err(E::BirthDate)),
            (&feb30, Err(E::BirthDate)),
            (&month13, Err(E::BirthDate)),
            (&day0, Err(E::BirthDate)),
            (&y1799, Err(E::BirthDate)),
            (&future, Err(E::BirthDateInFuture)),
            (&today, Ok(&today)),
            (&leap, Ok(&leap)),
            (
                &no_region,
                Err(E::Region {
                    code: "000000".into(),
                }),
            ),
            (
                &unknown_region,
                Err(E::Region {
                    code: "990101".into(),
                }),
            ),
            (&former, Ok(&former)),
            (&taiwan, Ok(&taiwan)),
        ];
        for (input, want) in cases {
            let got = ResidentId::parse_on(input, TODAY);
            match (&got, &want) {
                (Ok(id), Ok(w)) => assert_eq!(id.expose(), *w, "{input:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e, w, "{input:?}");
                    // No error carries the number: its message and Debug name the rule only.
                    let shown = format!("{e} {e:?}");
                    assert!(
                        input.trim().len() < 18 || !shown.contains(input.trim()),
                        "{shown}"
                    );
                }
                _ => panic!("{input:?}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn resident_id_accessors_and_masking() {
        let id = ResidentId::parse_on("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(id.to_string(), "1101**********002X");
        assert_eq!(format!("{id:?}"), r#"ResidentId("1101**********002X")"#);
        assert_eq!(format!("{id:#?}").matches("19491231").count(), 0);
        assert_eq!(id.birth_date(), Date::new(1949, 12, 31).unwrap());
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region().unwrap().full_name(), "北京市朝阳区");
        let id = ResidentId::parse_on(&with_check("33010619800101001"), TODAY).unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.region().unwrap().name, "西湖区");
        let taiwan = ResidentId::parse_on(&with_check("83000019900101002"), TODAY).unwrap();
        assert!(taiwan.region().is_none());
        // Today's real date parses a recent number.
        assert!(ResidentId::parse("11010519491231002X").is_ok());
        assert!("11010519491231002X".parse::<ResidentId>().is_ok());
    }

    #[test]
    fn resident_id_every_single_substitution_and_transposition_is_rejected() {
        let mut rng = Rng::new(11643);
        let mut ids = vec!["11010519491231002X".to_string()];
        ids.extend((0..300).map(|_| random_resident(&mut rng)));
        for id in &ids {
            assert!(ResidentId::parse_on(id, TODAY).is_ok(), "{id}");
            let b = id.as_bytes();
            for i in 0..18 {
                for c in b"0123456789Xx" {
                    if c.eq_ignore_ascii_case(&b[i]) {
                        continue;
                    }
                    let mut m = b.to_vec();
                    m[i] = *c;
                    let m = String::from_utf8(m).unwrap();
                    assert!(ResidentId::parse_on(&m, TODAY).is_err(), "{id} → {m}");
                }
            }
            for i in 0..16 {
                if b[i] != b[i + 1] {
                    let mut m = b.to_vec();
                    m.swap(i, i + 1);
                    let m = String::from_utf8(m).unwrap();
                    assert!(ResidentId::parse_on(&m, TODAY).is_err(), "{id} → {m}");
                }
            }
        }
    }

    #[test]
    fn credit_code_real_published_codes() {
        for &(code, who, region) in REAL_CREDIT_CODES {
            let c = CreditCode::parse(code).unwrap_or_else(|e| panic!("{who} {code}: {e}"));
            assert_eq!(c.as_str(), code);
            assert_eq!(c.region_code(), region, "{who}");
            assert!(c.region().is_some(), "{who}");
            assert_eq!(c.registration_authority(), '9');
            assert_eq!(c.organisation_type(), '1');
        }
        let huawei = CreditCode::parse("914403001922038216").unwrap();
        assert_eq!(huawei.organisation_code(), "19220382-1");
        assert_eq!(huawei.region().unwrap().full_name(), "广东省深圳市");
        assert_eq!(format!("{huawei:?}"), r#"CreditCode("914403001922038216")"#);
        assert_eq!(huawei.to_string(), "914403001922038216");
    }

    #[test]
    fn credit_code_cases() {
        use CreditCodeError as E;
        let mut rng = Rng::new(32100);
        let no_region = credit_over(&mut rng, "990000");
        let former = credit_over(&mut rng, "330103");
        let cases: Vec<(&str, Result<&str, E>)> = vec![
            ("91440300708461136T", Ok("91440300708461136T")),
            ("  91440300708461136t\t", Ok("91440300708461136T")),
            ("91350100m000100y43", Ok("91350100M000100Y43")),
            ("", Err(E::Length { got: 0 })),
            ("9144030070846113", Err(E::Length { got: 16 })),
            ("91440300708461136TT", Err(E::Length { got: 19 })),
            (
                "9144030070846113-T",
                Err(E::Characters {
                    position: 17,
                    found: '-',
                }),
            ),
            (
                "91440300708461136I",
                Err(E::Characters {
                    position: 18,
                    found: 'I',
                }),
            ),
            (
                "O1440300708461136T",
                Err(E::Characters {
                    position: 1,
                    found: 'O',
                }),
            ),
            (
                "9144030070846S136T",
                Err(E::Characters {
                    position: 14,
                    found: 'S',
                }),
            ),
            (
                "914403007084611３6T",
                Err(E::Characters {
                    position: 16,
                    found: '３',
                }),
            ),
            (
                "9144 300708461136T",
                Err(E::Characters {
                    position: 5,
                    found: ' ',
                }),
            ),
            (
                "91440300708461137T",
                Err(E::OrganisationCheck {
                    expected: '6',
                    got: '7',
                }),
            ),
            (
                "914403001922038226",
                Err(E::OrganisationCheck {
                    expected: '1',
                    got: '2',
                }),
            ),
            (
                "91440300708461136U",
                Err(E::CheckCharacter {
                    expected: 'T',
                    got: 'U',
                }),
            ),
            (
                "914403001922038210",
                Err(E::CheckCharacter {
                    expected: '6',
                    got: '0',
                }),
            ),
            (
                &no_region,
                Err(E::Region {
                    code: "990000".into(),
                }),
            ),
            (&former, Ok(&former)),
        ];
        for (input, want) in cases {
            let got = CreditCode::parse(input);
            match (&got, &want) {
                (Ok(c), Ok(w)) => assert_eq!(c.as_str(), *w, "{input:?}"),
                (Err(e), Err(w)) => assert_eq!(e, w, "{input:?}"),
                _ => panic!("{input:?}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn credit_code_generated_codes_cover_x_and_0_organisation_checks() {
        let mut rng = Rng::new(11714);
        let codes = all_codes();
        let (mut x, mut zero) = (0, 0);
        for _ in 0..5_000 {
            let region = codes[rng.below(codes.len() as u64) as usize];
            let code = credit_over(&mut rng, region);
            let c = CreditCode::parse(&code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(c.as_str(), code);
            match code.as_bytes()[16] {
                b'X' => x += 1,
                b'0' => zero += 1,
                _ => {}
            }
        }
        assert!(x > 100 && zero > 100, "X {x}, 0 {zero}");
    }

    #[test]
    fn credit_code_every_single_substitution_and_transposition_is_rejected() {
        let mut rng = Rng::new(17710);
        let codes = all_codes();
        let mut all: Vec<String> = REAL_CREDIT_CODES.iter().map(|c| c.0.to_string()).collect();
        all.extend((0..300).map(|_| {
            let region = codes[rng.below(codes.len() as u64) as usize];
            credit_over(&mut rng, region)
        }));
        for code in &all {
            let b = code.as_bytes();
            for i in 0..18 {
                for &c in CREDIT_ALPHABET.iter().chain(b"IOSVZ") {
                    if c == b[i] {
                        continue;
                    }
                    let mut m = b.to_vec();
                    m[i] = c;
                    let m = String::from_utf8(m).unwrap();
                    assert!(CreditCode::parse(&m).is_err(), "{code} → {m}");
                }
            }
            for i in 0..17 {
                if b[i] != b[i + 1] {
                    let mut m = b.to_vec();
                    m.swap(i, i + 1);
                    let m = String::from_utf8(m).unwrap();
                    assert!(CreditCode::parse(&m).is_err(), "{code} → {m}");
                }
            }
        }
    }

    #[test]
    fn mobile_cases() {
        use MobileError as E;
        let cases: Vec<(&str, Result<&str, E>)> = vec![
            ("13800138000", Ok("13800138000")),
            (" 13800138000 ", Ok("13800138000")),
            ("+8613800138000", Ok("13800138000")),
            ("+86 138 0013 8000", Ok("13800138000")),
            ("+86-138-0013-8000", Ok("13800138000")),
            ("008613800138000", Ok("13800138000")),
            ("8613800138000", Ok("13800138000")),
            ("19912345678", Ok("19912345678")),
            ("14700000000", Ok("14700000000")),
            ("", Err(E::Length { got: 0 })),
            ("+86", Err(E::Length { got: 0 })),
            ("1380013800", Err(E::Length { got: 10 })),
            ("138001380001", Err(E::Length { got: 12 })),
            ("+861380013800", Err(E::Length { got: 10 })),
            ("12800138000", Err(E::Prefix)),
            ("10000000000", Err(E::Prefix)),
            ("23800138000", Err(E::Prefix)),
            ("+14155550100", Err(E::Prefix)),
            ("138a0138000", Err(E::Characters { found: 'a' })),
            ("(138)00138000", Err(E::Characters { found: '(' })),
            ("１3800138000", Err(E::Characters { found: '１' })),
            ("++8613800138000", Err(E::Characters { found: '+' })),
        ];
        for (input, want) in cases {
            let got = Mobile::parse(input);
            match (&got, &want) {
                (Ok(m), Ok(w)) => assert_eq!(m.expose(), *w, "{input:?}"),
                (Err(e), Err(w)) => assert_eq!(e, w, "{input:?}"),
                _ => panic!("{input:?}: {got:?}, want {want:?}"),
            }
        }
        let m = Mobile::parse("+86 138 0013 8000").unwrap();
        assert_eq!(m.masked(), "138****8000");
        assert_eq!(m.to_string(), "138****8000");
        assert_eq!(format!("{m:?}"), r#"Mobile("138****8000")"#);
        assert_eq!(m.e164(), "+8613800138000");
        assert_eq!("13800138000".parse::<Mobile>().unwrap(), m);
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_unix_days(0), Date::new(1970, 1, 1).unwrap());
        assert_eq!(Date::from_unix_days(-1), Date::new(1969, 12, 31).unwrap());
        assert_eq!(
            Date::from_unix_days(11_016),
            Date::new(2000, 2, 29).unwrap()
        );
        assert_eq!(Date::from_unix_days(19_723), Date::new(2024, 1, 1).unwrap());
        assert_eq!(
            Date::from_unix_days(-25_567),
            Date::new(1900, 1, 1).unwrap()
        );
        // Each day follows the one before it, 1850 to 2100.
        let mut prev = Date::from_unix_days(-44_000);
        for n in -43_999..47_500 {
            let d = Date::from_unix_days(n);
            let next = Date::new(prev.year, prev.month, prev.day + 1)
                .or_else(|| Date::new(prev.year, prev.month + 1, 1))
                .or_else(|| Date::new(prev.year + 1, 1, 1))
                .unwrap();
            assert_eq!(d, next, "day {n}");
            prev = d;
        }
        for (y, m, d, ok) in [
            (2024, 2, 29, true),
            (2023, 2, 29, false),
            (1900, 2, 29, false),
            (2000, 2, 29, true),
            (2024, 4, 31, false),
            (2024, 12, 31, true),
            (2024, 0, 1, false),
            (2024, 13, 1, false),
            (2024, 1, 0, false),
        ] {
            assert_eq!(Date::new(y, m, d).is_some(), ok, "{y}-{m}-{d}");
        }
        let today = Date::today_in_china();
        assert!(today.year >= 2025, "{today}");
        assert_eq!(Date::new(1949, 10, 1).unwrap().to_string(), "1949-10-01");
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let mut rng = Rng::new(64);
        for i in 0..60_000 {
            let s = match i % 3 {
                0 => rng.string(24),
                1 => rng.bytes_string(40),
                // Exactly 18 characters from the interesting set, so later rules are reached.
                _ => {
                    let mut s = rng.string(18);
                    while s.chars().count() < 18 {
                        s.push(char::from(b'0' + rng.below(10) as u8));
                    }
                    s.chars().take(18).collect()
                }
            };
            let _ = ResidentId::parse_on(&s, TODAY).map(|id| (id.masked(), id.region()));
            let _ = CreditCode::parse(&s).map(|c| (c.organisation_code(), c.region()));
            let _ = Mobile::parse(&s).map(|m| m.masked());
        }
    }
}
