//! The request-signing scheme of API keys, pure (no I/O): headers, the canonical text, the body
//! digest (RFC 9530 `Content-Digest`), HMAC-SHA256 and HMAC-SM3. `apps::authn` applies it to a
//! request; `docs/apps.md` and `scripts/app_request.py` are the client's side.
//!
//! The canonical text is seven lines joined by `\n` (no trailing newline):
//!
//! ```text
//! METHOD            upper case, as sent
//! PATH              the request target's path, as sent (percent-encoded), without the query
//! QUERY             the query's pairs percent-decoded, sorted by key then value, each re-encoded
//!                   (RFC 3986 unreserved characters kept, every other byte %XX upper case) as
//!                   key=value and joined by & (empty when there is no query; `+` is a plus sign)
//! TIMESTAMP         X-Sealpki-Timestamp, unix seconds
//! NONCE             X-Sealpki-Nonce
//! CONTENT-DIGEST    the Content-Digest header, as sent
//! APP-ID            X-Sealpki-App
//! ```
//!
//! `X-Sealpki-Signature` is base64(HMAC(secret, canonical)) with the key's algorithm: HMAC-SHA256
//! for `hmac-sha256` keys over a `sha-256` digest, HMAC-SM3 for `hmac-sm3` keys over an `sm3`
//! digest. The secret is the 32 bytes the key was made with (shown once, base64url).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::named_enum;

pub const APP_HEADER: &str = "x-sealpki-app";
pub const KEY_HEADER: &str = "x-sealpki-key";
pub const TIMESTAMP_HEADER: &str = "x-sealpki-timestamp";
pub const NONCE_HEADER: &str = "x-sealpki-nonce";
pub const SIGNATURE_HEADER: &str = "x-sealpki-signature";
pub const DIGEST_HEADER: &str = "content-digest";

/// A request's timestamp may differ from our clock by this much, either way.
pub const SKEW_SECONDS: i64 = 300;
/// How long a nonce stays taken: past the newest timestamp that could still be accepted.
pub const NONCE_TTL_SECONDS: i64 = 2 * SKEW_SECONDS + 60;
/// The length of an API key's secret.
pub const SECRET_LEN: usize = 32;

named_enum! {
    /// The algorithm of an API key (its credential kind).
    pub enum Scheme {
        /// HMAC-SHA256 over a SHA-256 body digest.
        HmacSha256 = "hmac-sha256",
        /// HMAC-SM3 over an SM3 body digest (GB/T 32905; national-crypto deployments).
        HmacSm3 = "hmac-sm3",
    }
}

/// Why a signed request was refused (all HTTP 401; the text says which check failed and never
/// quotes a secret or a signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("header {0} is missing")]
    Missing(&'static str),
    #[error("header {0} is not valid: {1}")]
    Malformed(&'static str, &'static str),
    #[error("the timestamp is {0} s away from the server's clock (at most 300 s)")]
    Stale(i64),
    #[error("the Content-Digest does not match the body")]
    DigestMismatch,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the query string is not valid percent-encoding")]
    BadQuery,
}

impl Scheme {
    /// The `Content-Digest` dictionary key this scheme signs over.
    pub fn digest_key(self) -> &'static str {
        match self {
            Scheme::HmacSha256 => "sha-256",
            Scheme::HmacSm3 => "sm3",
        }
    }

    pub fn digest(self, body: &[u8]) -> Vec<u8> {
        match self {
            Scheme::HmacSha256 => Sha256::digest(body).to_vec(),
            Scheme::HmacSm3 => Sm3::digest(body).to_vec(),
        }
    }

    /// The `Content-Digest` value for `body`: `sha-256=:BASE64:` or `sm3=:BASE64:`.
    pub fn content_digest(self, body: &[u8]) -> String {
        format!("{}=:{}:", self.digest_key(), B64.encode(self.digest(body)))
    }

    /// HMAC(secret, message).
    pub fn mac(self, secret: &[u8], message: &[u8]) -> Vec<u8> {
        match self {
            Scheme::HmacSha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                m.update(message);
                m.finalize().into_bytes().to_vec()
            }
            Scheme::HmacSm3 => {
                let mut m = <Hmac<Sm3> as Mac>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                m.update(message);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    /// The signature header's value: base64(HMAC(secret, canonical)).
    pub fn sign(self, secret: &[u8], canonical: &str) -> String {
        B64.encode(self.mac(secret, canonical.as_bytes()))
    }

    /// Whether `signature` (base64) is HMAC(secret, canonical), compared in constant time.
    pub fn verify(self, secret: &[u8], canonical: &str, signature: &str) -> Result<(), SigError> {
        let given = B64
            .decode(signature.trim())
            .map_err(|_| SigError::Malformed("X-Sealpki-Signature", "not base64"))?;
        let ok = match self {
            Scheme::HmacSha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                m.update(canonical.as_bytes());
                m.verify_slice(&given).is_ok()
            }
            Scheme::HmacSm3 => {
                let mut m = <Hmac<Sm3> as Mac>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                m.update(canonical.as_bytes());
                m.verify_slice(&given).is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(SigError::BadSignature)
        }
    }

    /// Check a `Content-Digest` header against the body: the member of this scheme's algorithm
    /// must be present and equal (other members are ignored), compared in constant time.
    pub fn check_digest(self, header: &str, body: &[u8]) -> Result<(), SigError> {
        let want = self.digest(body);
        let key = self.digest_key();
        for member in header.split(',') {
            let Some((k, v)) = member.trim().split_once('=') else {
                continue;
            };
            if !k.trim().eq_ignore_ascii_case(key) {
                continue;
            }
            let v = v.trim();
            let inner = v
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'))
                .ok_or(SigError::Malformed(
                    "Content-Digest",
                    "a byte sequence is :base64:",
                ))?;
            let got = B64
                .decode(inner)
                .map_err(|_| SigError::Malformed("Content-Digest", "not base64"))?;
            return if constant_time_eq(&got, &want) {
                Ok(())
            } else {
                Err(SigError::DigestMismatch)
            };
        }
        Err(SigError::Malformed(
            "Content-Digest",
            match self {
                Scheme::HmacSha256 => "no sha-256 member (this key signs with HMAC-SHA256)",
                Scheme::HmacSm3 => "no sm3 member (this key signs with HMAC-SM3)",
            },
        ))
    }
}

/// Byte strings equal, in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the canonical text is made of.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub content_digest: &'a str,
    pub app_id: &'a str,
}

/// The canonical text of a request (see the module's documentation).
pub fn canonical(s: &Signed<'_>) -> Result<String, SigError> {
    let query = canonical_query(s.query.unwrap_or(""))?;
    Ok([
        s.method.to_ascii_uppercase().as_str(),
        s.path,
        query.as_str(),
        s.timestamp,
        s.nonce,
        s.content_digest.trim(),
        s.app_id,
    ]
    .join("\n"))
}

/// The query's pairs decoded, sorted by key then value, re-encoded and joined by `&`.
pub fn canonical_query(raw: &str) -> Result<String, SigError> {
    let mut pairs = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        pairs.push((percent_decode(k)?, percent_decode(v)?));
    }
    pairs.sort();
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

fn percent_decode(s: &str) -> Result<Vec<u8>, SigError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(SigError::BadQuery)?;
            let hex = std::str::from_utf8(hex).map_err(|_| SigError::BadQuery)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| SigError::BadQuery)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// RFC 3986 percent-encoding: unreserved characters as they are, every other byte `%XX`.
pub fn percent_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// A nonce: 16–64 characters of `[A-Za-z0-9_-]`.
pub fn check_nonce(n: &str) -> Result<(), SigError> {
    if (16..=64).contains(&n.len())
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        Ok(())
    } else {
        Err(SigError::Malformed(
            "X-Sealpki-Nonce",
            "16-64 characters of A-Z a-z 0-9 _ -",
        ))
    }
}

/// A timestamp (unix seconds) within [`SKEW_SECONDS`] of `now`.
pub fn check_timestamp(ts: &str, now: i64) -> Result<i64, SigError> {
    if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|c| c.is_ascii_digit()) {
        return Err(SigError::Malformed(
            "X-Sealpki-Timestamp",
            "unix seconds, digits only",
        ));
    }
    let t: i64 = ts
        .parse()
        .map_err(|_| SigError::Malformed("X-Sealpki-Timestamp", "unix seconds, digits only"))?;
    let off = t.saturating_sub(now);
    if off.saturating_abs() > SKEW_SECONDS {
        return Err(SigError::Stale(off));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_known_vectors() {
        // RFC 4231 test case 2, and HMAC-SM3 as `openssl mac -digest SM3 -macopt key:key HMAC`
        // computes it.
        assert_eq!(
            hex::encode(Scheme::HmacSha256.mac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(Scheme::HmacSm3.mac(b"key", b"abc")),
            "28e63256e7c5a087b1f073265dc53092163f7b82729735d06f28f10af9d52393"
        );
        assert_eq!(
            hex::encode(Scheme::HmacSm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn canonical_text_and_signature() {
        let body = br#"{"a":1}"#;
        let digest = Scheme::HmacSha256.content_digest(body);
        assert_eq!(
            digest,
            "sha-256=:AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=:"
        );
        let s = Signed {
            method: "post",
            path: "/api/v1/app/whoami",
            query: Some("b=2&a=x%20y&a=1&c&z=%E4%B8%AD+"),
            timestamp: "1767225600",
            nonce: "n0nce-0123456789",
            content_digest: &digest,
            app_id: "app1",
        };
        let c = canonical(&s).unwrap();
        assert_eq!(
            c,
            "POST\n/api/v1/app/whoami\na=1&a=x%20y&b=2&c=&z=%E4%B8%AD%2B\n1767225600\n\
             n0nce-0123456789\nsha-256=:AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=:\napp1"
        );
        let secret = [7u8; 32];
        let sig = Scheme::HmacSha256.sign(&secret, &c);
        // As Python's hmac module computes it.
        assert_eq!(sig, "aYQuHa7O3AKbMQzDx5W3YsA72BHfU2sjijAl897K4Ms=");
        assert!(Scheme::HmacSha256.verify(&secret, &c, &sig).is_ok());
        assert_eq!(
            Scheme::HmacSm3.verify(&secret, &c, &sig),
            Err(SigError::BadSignature)
        );
        assert_eq!(
            Scheme::HmacSha256.verify(&[8u8; 32], &c, &sig),
            Err(SigError::BadSignature)
        );
        assert!(Scheme::HmacSha256.verify(&secret, &c, "@@").is_err());
    }

    #[test]
    fn digests_must_match_the_body_and_the_scheme() {
        let body = b"hello";
        let sha = Scheme::HmacSha256.content_digest(body);
        let sm3 = Scheme::HmacSm3.content_digest(body);
        assert!(Scheme::HmacSha256.check_digest(&sha, body).is_ok());
        assert!(Scheme::HmacSm3.check_digest(&sm3, body).is_ok());
        assert_eq!(
            Scheme::HmacSha256.check_digest(&sha, b"hellO"),
            Err(SigError::DigestMismatch)
        );
        assert!(Scheme::HmacSha256.check_digest(&sm3, body).is_err());
        // Several members: the scheme's own is used.
        assert!(Scheme::HmacSm3
            .check_digest(&format!("{sha}, {sm3}"), body)
            .is_ok());
        assert!(Scheme::HmacSha256
            .check_digest("sha-256=abc", body)
            .is_err());
    }

    #[test]
    fn nonces_timestamps_and_queries() {
        assert!(check_nonce("abcdefghijklmnop").is_ok());
        assert!(check_nonce("short").is_err());
        assert!(check_nonce(&"a".repeat(65)).is_err());
        assert!(check_nonce("abcdefghijklmno!").is_err());
        assert_eq!(check_timestamp("1000", 1000), Ok(1000));
        assert_eq!(check_timestamp("1300", 1000), Ok(1300));
        assert_eq!(check_timestamp("1301", 1000), Err(SigError::Stale(301)));
        assert_eq!(check_timestamp("699", 1000), Err(SigError::Stale(-301)));
        assert!(check_timestamp("-5", 1000).is_err());
        assert!(check_timestamp("99999999999999", 1000).is_err());
        assert_eq!(canonical_query("").unwrap(), "");
        assert_eq!(canonical_query("%zz").unwrap_err(), SigError::BadQuery);
        assert_eq!(canonical_query("a=%4").unwrap_err(), SigError::BadQuery);
        assert!(constant_time_eq(b"ab", b"ab") && !constant_time_eq(b"ab", b"abc"));
    }
}
