//! The QR form of a credential: `SP1:` + Base45 (RFC 9285) of the zlib-compressed COSE_Sign1, as the
//! EU Digital COVID Certificate did (`HC1:`). Base45 fits a QR code's alphanumeric mode, whose
//! alphabet it is. Decoding caps the text and the inflated size, so a zlib bomb is refused.

use super::{CredentialError, MAX_CREDENTIAL};

/// The prefix naming this form and its version.
pub const PREFIX: &str = "SP1:";
/// Longest QR text accepted: a version-40 QR code holds 4,296 alphanumeric characters.
pub const MAX_TEXT: usize = 8 * 1024;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// A credential as QR text.
pub fn encode(credential: &[u8]) -> String {
    // Level 9 (the best): QR space is dear and credentials are small.
    let z = miniz_oxide::deflate::compress_to_vec_zlib(credential, 9);
    format!("{PREFIX}{}", base45_encode(&z))
}

/// The credential bytes from QR text; verify them with [`super::verify`].
pub fn decode(text: &str) -> Result<Vec<u8>, CredentialError> {
    let bad = |m: String| CredentialError::Qr(m);
    if text.len() > MAX_TEXT {
        return Err(bad(format!(
            "{} characters, at most {MAX_TEXT}",
            text.len()
        )));
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| bad(format!("does not start with {PREFIX}")))?;
    let z = base45_decode(body)?;
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&z, MAX_CREDENTIAL).map_err(|e| match e
        .status
    {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => bad(format!(
            "inflates to more than {MAX_CREDENTIAL} bytes: refused"
        )),
        s => bad(format!("not zlib data ({s:?})")),
    })
}

/// Base45 (RFC 9285 §4): each two bytes as three characters, a last single byte as two.
pub fn base45_encode(data: &[u8]) -> String {
    let a = |i: usize| char::from(ALPHABET[i]);
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    for pair in data.chunks(2) {
        match *pair {
            [x, y] => {
                let n = usize::from(x) * 256 + usize::from(y);
                out.push(a(n % 45));
                out.push(a(n / 45 % 45));
                out.push(a(n / 2025));
            }
            [x] => {
                let n = usize::from(x);
                out.push(a(n % 45));
                out.push(a(n / 45));
            }
            _ => {}
        }
    }
    out
}

/// Base45 decoding; characters outside the alphabet, a dangling single character and groups above
/// 65535 (or 255 for a last pair) are refused.
pub fn base45_decode(text: &str) -> Result<Vec<u8>, CredentialError> {
    let bad = |m: &str| CredentialError::Qr(format!("Base45: {m}"));
    let digits = text
        .bytes()
        .map(|b| {
            ALPHABET
                .iter()
                .position(|&c| c == b)
                .ok_or_else(|| bad("a character outside the alphabet"))
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let mut out = Vec::with_capacity(digits.len() / 3 * 2 + 1);
    for g in digits.chunks(3) {
        match *g {
            [c, d, e] => {
                let n = c + d * 45 + e * 2025;
                let n = u16::try_from(n).map_err(|_| bad("a group above 65535"))?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            [c, d] => {
                let n = u8::try_from(c + d * 45).map_err(|_| bad("a last pair above 255"))?;
                out.push(n);
            }
            _ => return Err(bad("a dangling single character")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9285_vectors() {
        // RFC 9285 §4.3 and §4.4.
        for (raw, enc) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(base45_encode(raw), enc);
            assert_eq!(base45_decode(enc).unwrap(), raw);
        }
        assert_eq!(base45_decode("FGW").unwrap(), [0xff, 0xff]);
        // 16 + 16·45 + 32·2025 = 65536: one over.
        assert!(base45_decode("GGW").is_err());
        assert!(base45_decode("A").is_err());
        assert!(
            base45_decode("ab").is_err(),
            "lower case is outside the alphabet"
        );
        assert!(base45_decode(":::").is_err());
    }

    #[test]
    fn round_trip_and_caps() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let qr = encode(&data);
        assert!(qr.starts_with(PREFIX));
        assert_eq!(decode(&qr).unwrap(), data);
        assert!(decode(&qr[1..]).is_err());
        // A zlib bomb: 4 MiB of zeros squeezes into about 4 KB.
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 4 << 20], 9);
        let text = format!("{PREFIX}{}", base45_encode(&bomb));
        assert!(text.len() <= MAX_TEXT, "{}", text.len());
        let e = decode(&text).unwrap_err().to_string();
        assert!(e.contains("more than"), "{e}");
        assert!(decode(&format!("{PREFIX}{}", "A".repeat(MAX_TEXT))).is_err());
        assert!(decode(&format!("{PREFIX}{}", base45_encode(b"not zlib"))).is_err());
    }
}
