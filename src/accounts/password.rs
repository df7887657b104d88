//! Password policy after NIST SP 800-63B §5.1.1 (memorised secrets): 8 to 128 characters, counted
//! as Unicode scalar values; not a common password (`data/common-passwords.txt`, compared
//! case-insensitively); not the account's own username, mobile number or resident ID number.
//!
//! No composition rules (SP 800-63B says not to impose them): any character is allowed, spaces
//! included, and nothing is trimmed or truncated. Hashing (Argon2id) is not here; callers that
//! hash should normalise Unicode (NFKC) first, as §5.1.1.2 recommends.

use std::sync::OnceLock;

use super::ids::{Mobile, ResidentId};

const COMMON: &str = include_str!("data/common-passwords.txt");

/// The fewest characters a password may have.
pub const MIN_CHARS: usize = 8;
/// The most characters a password may have (SP 800-63B: at least 64 must be allowed).
pub const MAX_CHARS: usize = 128;

/// What the password is checked against besides the list: the account's own identifiers.
#[derive(Clone, Copy, Debug, Default)]
pub struct PasswordContext<'a> {
    pub username: Option<&'a str>,
    pub mobile: Option<&'a Mobile>,
    pub resident_id: Option<&'a ResidentId>,
}

/// The rule a password breaks. Never carries the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password: must be at least {min} characters, not {got}")]
    TooShort { min: usize, got: usize },
    #[error("password: must be at most {max} characters, not {got}")]
    TooLong { max: usize, got: usize },
    #[error("password: must not be the username")]
    SameAsUsername,
    #[error("password: must not be the mobile number")]
    SameAsMobile,
    #[error("password: must not be the resident ID number")]
    SameAsResidentId,
    #[error("password: is on the list of commonly used passwords; choose another")]
    Common,
}

impl PasswordError {
    /// The rule that failed, for machine-readable answers.
    pub fn rule(&self) -> &'static str {
        match self {
            PasswordError::TooShort { .. } => "too-short",
            PasswordError::TooLong { .. } => "too-long",
            PasswordError::SameAsUsername => "same-as-username",
            PasswordError::SameAsMobile => "same-as-mobile",
            PasswordError::SameAsResidentId => "same-as-resident-id",
            PasswordError::Common => "common",
        }
    }
}

/// Checks a new password against every rule, in the order of [`PasswordError`]'s variants.
pub fn check(password: &str, ctx: &PasswordContext<'_>) -> Result<(), PasswordError> {
    let got = password.chars().count();
    if got < MIN_CHARS {
        return Err(PasswordError::TooShort {
            min: MIN_CHARS,
            got,
        });
    }
    if got > MAX_CHARS {
        return Err(PasswordError::TooLong {
            max: MAX_CHARS,
            got,
        });
    }
    let lower = password.to_lowercase();
    if let Some(u) = ctx.username {
        if lower == u.trim().to_lowercase() {
            return Err(PasswordError::SameAsUsername);
        }
    }
    if let Some(m) = ctx.mobile {
        // Any spelling of the same number: "+86 138 0013 8000" is the number too.
        if Mobile::parse(password).is_ok_and(|p| p == *m) {
            return Err(PasswordError::SameAsMobile);
        }
    }
    if let Some(id) = ctx.resident_id {
        if password.trim().eq_ignore_ascii_case(id.expose()) {
            return Err(PasswordError::SameAsResidentId);
        }
    }
    if is_common_lower(&lower) {
        return Err(PasswordError::Common);
    }
    Ok(())
}

/// Whether the password is on the shipped list (case-insensitive).
pub fn is_common(password: &str) -> bool {
    is_common_lower(&password.to_lowercase())
}

fn is_common_lower(lower: &str) -> bool {
    common().binary_search(&lower).is_ok()
}

fn common() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<&'static str> = COMMON
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        // The file is generated sorted; sorting again costs little and keeps lookups right.
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// How many passwords the list holds.
pub fn common_count() -> usize {
    common().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::tests::Rng;

    #[test]
    fn list_is_lower_case_sorted_unique_and_of_useful_length() {
        let raw: Vec<&str> = COMMON
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(raw.windows(2).all(|w| w[0] < w[1]), "not sorted and unique");
        assert!((10_000..=100_000).contains(&raw.len()), "{}", raw.len());
        assert_eq!(common_count(), raw.len());
        for w in raw {
            assert_eq!(w.to_lowercase(), w, "{w:?}");
            assert!(
                (MIN_CHARS..=MAX_CHARS).contains(&w.chars().count()),
                "{w:?}"
            );
        }
    }

    #[test]
    fn rules() {
        use PasswordError as E;
        let mobile = Mobile::parse("13800138000").unwrap();
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let ctx = PasswordContext {
            username: Some("Zhang.San"),
            mobile: Some(&mobile),
            resident_id: Some(&id),
        };
        let long = "a€".repeat(64); // 128 characters, 256 bytes of € alone
        let too_long = format!("{long}b");
        let cases: Vec<(&str, Result<(), E>)> = vec![
            ("correct horse battery staple", Ok(())),
            ("铁马冰河入梦来吧", Ok(())), // 8 characters, 24 bytes
            ("铁马冰河入梦来", Err(E::TooShort { min: 8, got: 7 })), // 21 bytes, 7 characters
            ("", Err(E::TooShort { min: 8, got: 0 })),
            ("Tr0ub4d", Err(E::TooShort { min: 8, got: 7 })),
            ("Tr0ub4d&3", Ok(())),
            (&long, Ok(())),
            (&too_long, Err(E::TooLong { max: 128, got: 129 })),
            ("password", Err(E::Common)),
            ("PassWord", Err(E::Common)),
            ("12345678", Err(E::Common)),
            ("qwertyuiop", Err(E::Common)),
            ("iloveyou", Err(E::Common)),
            ("zhang.san", Err(E::SameAsUsername)),
            ("ZHANG.SAN", Err(E::SameAsUsername)),
            ("zhang.san1", Ok(())),
            ("13800138000", Err(E::SameAsMobile)),
            ("+86 138 0013 8000", Err(E::SameAsMobile)),
            ("13800138001", Ok(())),
            ("11010519491231002X", Err(E::SameAsResidentId)),
            ("11010519491231002x", Err(E::SameAsResidentId)),
            // Spaces count and are kept: not the list's "password".
            (" password ", Ok(())),
        ];
        for (pw, want) in cases {
            assert_eq!(check(pw, &ctx), want, "{pw:?}");
        }
        // Without a context only length and the list apply.
        let none = PasswordContext::default();
        assert_eq!(check("zhang.san", &none), Ok(()));
        assert_eq!(check("13800138000", &none), Ok(()));
        assert!(is_common("DRAGON12") || is_common("password1"));
    }

    #[test]
    fn errors_never_show_the_password() {
        let secret = "iloveyou";
        let e = check(secret, &PasswordContext::default()).unwrap_err();
        assert_eq!(e.rule(), "common");
        assert_eq!(e, PasswordError::Common);
        assert!(!format!("{e} {e:?}").contains(secret));
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let mut rng = Rng::new(80063);
        let mobile = Mobile::parse("13800138000").unwrap();
        let ctx = PasswordContext {
            username: Some("user"),
            mobile: Some(&mobile),
            resident_id: None,
        };
        for i in 0..20_000 {
            let s = if i % 2 == 0 {
                rng.string(140)
            } else {
                rng.bytes_string(300)
            };
            let _ = check(&s, &ctx);
        }
    }
}
