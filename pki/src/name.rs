//! Distinguished names: parsing RFC 4514 strings with the right string types, and reading attributes.

use const_oid::ObjectIdentifier as Oid;
use der::asn1::{Any, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::Tag;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

const ATTRS: [(&str, &str); 14] = [
    ("CN", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("serialNumber", "2.5.4.5"),
    ("C", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("street", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("title", "2.5.4.12"),
    ("postalCode", "2.5.4.17"),
    ("givenName", "2.5.4.42"),
    ("organizationIdentifier", "2.5.4.97"),
    ("UID", "0.9.2342.19200300.100.1.1"),
];

pub fn attribute_oid(short: &str) -> Option<Oid> {
    ATTRS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(short))
        .map(|(_, o)| o.parse().expect("static OID"))
}

pub fn attribute_name(oid: &Oid) -> Option<&'static str> {
    ATTRS
        .iter()
        .find(|(_, o)| o.parse::<Oid>().ok().as_ref() == Some(oid))
        .map(|(n, _)| *n)
}

/// Attributes whose values X.520 / RFC 5280 require as PrintableString.
fn printable_only(short: &str) -> bool {
    matches!(short, "C" | "serialNumber")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    #[error("empty distinguished name")]
    Empty,
    #[error("malformed name component {0:?} (expected ATTR=value)")]
    Malformed(String),
    #[error("unknown name attribute {0:?}")]
    UnknownAttribute(String),
    #[error("attribute {0} needs printable characters only")]
    NotPrintable(String),
    #[error("attribute {0} has an empty value")]
    EmptyValue(String),
    #[error("countryName must be two upper-case letters, got {0:?}")]
    BadCountry(String),
}

/// Split on unescaped commas, honouring `\,` escapes.
fn split_rdns(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (true, c) => {
                out.last_mut().expect("non-empty").push(c);
                esc = false;
            }
            (false, '\\') => esc = true,
            (false, ',') => out.push(String::new()),
            (false, c) => out.last_mut().expect("non-empty").push(c),
        }
    }
    out
}

/// Parse an RFC 4514 string (`CN=Seal CA,O=Example,C=CN`: most specific first).
pub fn parse_dn(s: &str) -> Result<Name, NameError> {
    if s.trim().is_empty() {
        return Err(NameError::Empty);
    }
    let mut rdns = Vec::new();
    for part in split_rdns(s) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| NameError::Malformed(part.clone()))?;
        let (k, v) = (k.trim(), v.trim());
        let oid = attribute_oid(k).ok_or_else(|| NameError::UnknownAttribute(k.to_string()))?;
        let short = attribute_name(&oid).expect("known");
        if v.is_empty() {
            return Err(NameError::EmptyValue(short.into()));
        }
        if short == "C" && !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(NameError::BadCountry(v.to_string()));
        }
        let value = if printable_only(short) {
            Any::from(
                PrintableStringRef::new(v).map_err(|_| NameError::NotPrintable(short.into()))?,
            )
        } else {
            Any::from(Utf8StringRef::new(v).map_err(|_| NameError::Malformed(part.clone()))?)
        };
        let atv = AttributeTypeAndValue { oid, value };
        let set = SetOfVec::try_from(vec![atv]).map_err(|_| NameError::Malformed(part.clone()))?;
        rdns.push(RelativeDistinguishedName::from(set));
    }
    rdns.reverse(); // RFC 4514 lists the last RDN first
    Ok(RdnSequence::from(rdns))
}

/// One attribute of a name, decoded for checks and display.
#[derive(Clone, Debug)]
pub struct NameAttr {
    pub oid: Oid,
    pub short: Option<&'static str>,
    pub tag: Tag,
    pub value: String,
}

pub fn attributes(name: &Name) -> Vec<NameAttr> {
    let mut out = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let value = String::from_utf8_lossy(atv.value.value()).to_string();
            out.push(NameAttr {
                oid: atv.oid,
                short: attribute_name(&atv.oid),
                tag: der::Tagged::tag(&atv.value),
                value,
            });
        }
    }
    out
}

/// A name as RFC 4514 text (the last RDN first), known attributes by their short names — also
/// `organizationIdentifier`, which generic printers show as `2.5.4.97=#…` — others as dotted OIDs
/// with the value in hex.
pub fn display(name: &Name) -> String {
    let mut rdns = Vec::new();
    for rdn in name.0.iter().rev() {
        let parts: Vec<String> = rdn
            .0
            .iter()
            .map(|atv| {
                let key = attribute_name(&atv.oid)
                    .map(str::to_string)
                    .or_else(|| {
                        (atv.oid.to_string() == "1.2.840.113549.1.9.1")
                            .then(|| "emailAddress".to_string())
                    })
                    .unwrap_or_else(|| atv.oid.to_string());
                let text = match der::Tagged::tag(&atv.value) {
                    Tag::Utf8String
                    | Tag::PrintableString
                    | Tag::Ia5String
                    | Tag::TeletexString => std::str::from_utf8(atv.value.value()).ok().map(escape),
                    _ => None,
                };
                match text {
                    Some(t) => format!("{key}={t}"),
                    None => format!(
                        "{key}=#{}",
                        der::Encode::to_der(&atv.value)
                            .map(hex::encode)
                            .unwrap_or_default()
                    ),
                }
            })
            .collect();
        rdns.push(parts.join("+"));
    }
    rdns.join(",")
}

/// RFC 4514 §2.4 escaping of a string value.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, ch) in v.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (ch == '#' || ch == ' '))
            || (i == last && ch == ' ');
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The first value of an attribute, e.g. the CN.
pub fn first(name: &Name, short: &str) -> Option<String> {
    attributes(name)
        .into_iter()
        .find(|a| a.short == Some(short))
        .map(|a| a.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let n = parse_dn("CN=印章 CA,O=Acme\\, Ltd,C=CN").unwrap();
        let attrs = attributes(&n);
        assert_eq!(attrs[0].short, Some("C"));
        assert_eq!(attrs[0].tag, Tag::PrintableString);
        assert_eq!(attrs[1].value, "Acme, Ltd");
        assert_eq!(first(&n, "CN").as_deref(), Some("印章 CA"));
        assert_eq!(
            parse_dn("CN=x,C=China"),
            Err(NameError::BadCountry("China".into()))
        );
        assert!(matches!(
            parse_dn("XX=1"),
            Err(NameError::UnknownAttribute(_))
        ));
        assert!(matches!(parse_dn("CN="), Err(NameError::EmptyValue(_))));
    }
}
