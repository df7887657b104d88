//! Key references: `soft:NAME` for the software store, RFC 7512 `pkcs11:` URIs for token keys.

use std::fmt;
use std::str::FromStr;

use super::KeyError;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyRef {
    Software { name: String },
    Pkcs11 { token: String, object: String },
}

impl KeyRef {
    pub fn name(&self) -> &str {
        match self {
            KeyRef::Software { name } => name,
            KeyRef::Pkcs11 { object, .. } => object,
        }
    }
}

// RFC 7512 path attribute values are percent-encoded outside unreserved characters.
fn pct_encode(s: &str) -> String {
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

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Software { name } => write!(f, "soft:{name}"),
            KeyRef::Pkcs11 { token, object } => {
                write!(
                    f,
                    "pkcs11:token={};object={}",
                    pct_encode(token),
                    pct_encode(object)
                )
            }
        }
    }
}

impl FromStr for KeyRef {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = |why| KeyError::BadRef(s.to_string(), why);
        if let Some(name) = s.strip_prefix("soft:") {
            super::check_name(name)?;
            return Ok(KeyRef::Software {
                name: name.to_string(),
            });
        }
        let Some(path) = s.strip_prefix("pkcs11:") else {
            return Err(bad("expected soft:NAME or pkcs11:token=LABEL;object=NAME"));
        };
        let path = path.split('?').next().unwrap_or_default();
        let (mut token, mut object) = (None, None);
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| bad("pkcs11 URI attribute without '='"))?;
            let v = pct_decode(v).ok_or_else(|| bad("bad percent-encoding"))?;
            match k {
                "token" => token = Some(v),
                "object" => object = Some(v),
                _ => {} // id, type, manufacturer…: accepted and ignored, we select by label
            }
        }
        match (token, object) {
            (Some(token), Some(object)) => Ok(KeyRef::Pkcs11 { token, object }),
            _ => Err(bad("pkcs11 URI needs token= and object=")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for s in ["soft:seal-ca", "pkcs11:token=sealpki%20root;object=root-ca"] {
            let r: KeyRef = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
        let r: KeyRef = "pkcs11:object=k;token=t;type=private?pin-source=x"
            .parse()
            .unwrap();
        assert_eq!(
            r,
            KeyRef::Pkcs11 {
                token: "t".into(),
                object: "k".into()
            }
        );
        assert!("soft:../etc".parse::<KeyRef>().is_err());
        assert!("pkcs11:token=t".parse::<KeyRef>().is_err());
        assert!("file:/x".parse::<KeyRef>().is_err());
    }
}
