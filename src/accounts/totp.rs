//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), the second factor staff accounts
//! will need: secrets, codes, verification within a window that refuses replays, and the
//! `otpauth://` URI authenticator apps read from a QR code.

use hmac::{Hmac, Mac};

/// The step and the number of digits every authenticator app uses by default.
pub const STEP_SECS: u64 = 30;
pub const DIGITS: u32 = 6;

/// A shared secret (20 random bytes, as RFC 4226 recommends for SHA-1). No `Debug`: secrets never
/// reach logs.
pub struct Secret(Vec<u8>);

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    #[error("a one-time code is {DIGITS} digits")]
    Format,
    #[error("the code does not match")]
    Mismatch,
    #[error("the code was already used")]
    Replayed,
    #[error("the secret is not base32")]
    Secret,
}

impl Secret {
    pub fn generate() -> Self {
        let mut b = vec![0u8; 20];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
        Secret(b)
    }

    pub fn from_bytes(b: &[u8]) -> Self {
        Secret(b.to_vec())
    }

    /// From RFC 4648 base32 (case and spaces ignored, padding optional), as apps display it.
    pub fn from_base32(s: &str) -> Result<Self, TotpError> {
        base32_decode(s).map(Secret).ok_or(TotpError::Secret)
    }

    pub fn to_base32(&self) -> String {
        base32_encode(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The HOTP value for a counter (RFC 4226 §5.3: HMAC-SHA-1, dynamic truncation).
    pub fn hotp(&self, counter: u64) -> u32 {
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(&counter.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let off = (h[h.len() - 1] & 0x0f) as usize;
        let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
        bin % 10u32.pow(DIGITS)
    }

    /// The code for a Unix time, as six digits.
    pub fn code_at(&self, unix: u64) -> String {
        format!("{:06}", self.hotp(unix / STEP_SECS))
    }

    /// Check `code` at `unix`, one step of clock drift either way; `last_step` is the step of the
    /// last accepted code (a code is good once). Returns the step to remember.
    pub fn verify(&self, code: &str, unix: u64, last_step: Option<u64>) -> Result<u64, TotpError> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Format);
        }
        let want: u32 = code.parse().map_err(|_| TotpError::Format)?;
        let now = unix / STEP_SECS;
        for step in [now.saturating_sub(1), now, now + 1] {
            // Constant work per candidate; the comparison of two u32s leaks nothing useful.
            if self.hotp(step) == want {
                if last_step.is_some_and(|l| step <= l) {
                    return Err(TotpError::Replayed);
                }
                return Ok(step);
            }
        }
        Err(TotpError::Mismatch)
    }

    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", pct(issuer), pct(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.to_base32().trim_end_matches('='),
            pct(issuer)
        )
    }
}

/// Percent-encoding of everything but unreserved characters (RFC 3986 §2.3).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = buf.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((v >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u64;
    let mut n = 0u32;
    let mut out = Vec::new();
    for c in s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
    {
        let v = B32
            .iter()
            .position(|b| *b as char == c.to_ascii_uppercase())? as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 Appendix D: HOTP values for counters 0–9 with the ASCII secret "12345678901234567890".
    #[test]
    fn rfc4226_vectors() {
        let s = Secret::from_bytes(b"12345678901234567890");
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(s.hotp(c as u64), *w, "counter {c}");
        }
    }

    /// RFC 6238 Appendix B (SHA-1 rows), six digits of the eight given.
    #[test]
    fn rfc6238_vectors() {
        let s = Secret::from_bytes(b"12345678901234567890");
        for (t, eight) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(s.code_at(t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn verification_window_and_replay() {
        let s = Secret::generate();
        let t = 1_700_000_000;
        let code = s.code_at(t);
        let step = s.verify(&code, t, None).unwrap();
        assert_eq!(s.verify(&code, t + 30, None), Ok(step), "one step of drift");
        assert_eq!(s.verify(&code, t, Some(step)), Err(TotpError::Replayed));
        assert_eq!(s.verify(&code, t + 120, None), Err(TotpError::Mismatch));
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(s.verify(bad, t, None), Err(TotpError::Format), "{bad:?}");
        }
    }

    #[test]
    fn base32_round_trip_and_uri() {
        // RFC 4648 §10.
        for (raw, enc) in [
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), raw.as_bytes());
        }
        let s = Secret::generate();
        let back = Secret::from_base32(&s.to_base32().to_lowercase()).unwrap();
        assert_eq!(back.as_bytes(), s.as_bytes());
        assert!(Secret::from_base32("not base32!").is_err());
        let uri = s.uri("电子印章平台", "admin");
        assert!(uri.starts_with("otpauth://totp/%E7%94%B5"), "{uri}");
        assert!(uri.contains("&digits=6&period=30"), "{uri}");
    }
}
