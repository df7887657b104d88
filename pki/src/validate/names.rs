//! Names in a path: issuer/subject matching (RFC 5280 §7.1), name constraints (§4.2.1.10) and the
//! host name of a server certificate (RFC 6125, SAN only).

use std::net::IpAddr;

use der::Tag;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// Issuer and subject match: byte-equal, or equal after RFC 4518-style folding of string values
/// (case and inner spaces), attribute by attribute in the same RDN layout.
pub fn names_match(a: &Name, b: &Name) -> bool {
    if a == b {
        return true;
    }
    if a.0.len() != b.0.len() {
        return false;
    }
    a.0.iter().zip(b.0.iter()).all(|(ra, rb)| {
        ra.0.len() == rb.0.len()
            && ra.0.iter().zip(rb.0.iter()).all(|(x, y)| {
                x.oid == y.oid
                    && match (fold(&x.value), fold(&y.value)) {
                        (Some(p), Some(q)) => p == q,
                        _ => x.value == y.value,
                    }
            })
    })
}

/// A string attribute value, case-folded with spaces collapsed; None for non-string values.
fn fold(v: &der::Any) -> Option<String> {
    let s = match der::Tagged::tag(v) {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(v.value()).ok()?.to_string()
        }
        Tag::BmpString => {
            let b = v.value();
            if !b.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = b
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()?
        }
        _ => return None,
    };
    Some(
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    )
}

/// The names of a certificate that name constraints apply to.
pub struct Subject<'a> {
    pub dn: &'a Name,
    pub san: &'a [GeneralName],
    /// emailAddress attributes of the subject DN (RFC 5280 §4.2.1.10: treated as rfc822Name).
    pub emails: Vec<String>,
}

const EMAIL_ADDRESS: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

impl<'a> Subject<'a> {
    pub fn of(dn: &'a Name, san: &'a [GeneralName]) -> Self {
        let emails =
            dn.0.iter()
                .flat_map(|r| r.0.iter())
                .filter(|a| a.oid == EMAIL_ADDRESS)
                .filter_map(|a| {
                    std::str::from_utf8(a.value.value())
                        .ok()
                        .map(str::to_string)
                })
                .collect();
        Subject { dn, san, emails }
    }
}

/// Name constraints accumulated down a path: each CA's permitted set narrows (all must allow),
/// excluded sets add up.
#[derive(Default, Clone)]
pub struct Constraints {
    permitted: Vec<Vec<GeneralSubtree>>,
    excluded: Vec<GeneralSubtree>,
}

/// Constraint forms this validator evaluates; a path holding a name of another constrained form is
/// refused.
fn supported_form(g: &GeneralName) -> bool {
    matches!(
        g,
        GeneralName::DnsName(_)
            | GeneralName::Rfc822Name(_)
            | GeneralName::IpAddress(_)
            | GeneralName::DirectoryName(_)
            | GeneralName::UniformResourceIdentifier(_)
    )
}

/// Name-against-subtree comparisons allowed for one path (2,048 × 2,048 is a denial of service).
const NC_WORK_BUDGET: usize = 1 << 20;

/// A preferred-name-syntax DNS name (RFC 1034 §3.5, RFC 5280 §4.2.1.6): LDH labels of 1–63, at
/// most 253 in all; a leading "*." wildcard when `wildcard`.
fn dns_syntax(name: &str, wildcard: bool) -> bool {
    let n = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => name,
    };
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn mailbox_syntax(m: &str) -> bool {
    match m.rsplit_once('@') {
        Some((local, host)) => {
            !local.is_empty()
                && local
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"@()<>[]:;,\\\"".contains(&b))
                && dns_syntax(host, false)
        }
        None => false,
    }
}

/// What is wrong with a subjectAltName entry (None: well-formed).
pub fn malformed(g: &GeneralName) -> Option<String> {
    match g {
        GeneralName::DnsName(d) if !dns_syntax(d.as_str(), true) => {
            Some(format!("{:?} is not a DNS name", d.as_str()))
        }
        GeneralName::Rfc822Name(m) if !mailbox_syntax(m.as_str()) => {
            Some(format!("{:?} is not a mailbox", m.as_str()))
        }
        GeneralName::IpAddress(o) if !matches!(o.as_bytes().len(), 4 | 16) => Some(format!(
            "an iPAddress of {} octets (4 or 16 expected)",
            o.as_bytes().len()
        )),
        _ => None,
    }
}

/// What is wrong with a name constraint's base (None: well-formed).
pub fn malformed_constraint(g: &GeneralName) -> Option<String> {
    match g {
        // RFC 5280 §4.2.1.10: a DNS constraint is a name, "host.example.com" (no leading period).
        GeneralName::DnsName(d) if !d.as_str().is_empty() && !dns_syntax(d.as_str(), false) => {
            Some(format!("{:?} is not a DNS name", d.as_str()))
        }
        GeneralName::IpAddress(o) if !matches!(o.as_bytes().len(), 8 | 32) => {
            Some("an IP range that is not an address and a mask".into())
        }
        _ => None,
    }
}

impl Constraints {
    pub fn add(
        &mut self,
        permitted: Option<&[GeneralSubtree]>,
        excluded: Option<&[GeneralSubtree]>,
    ) {
        if let Some(p) = permitted {
            self.permitted.push(p.to_vec());
        }
        if let Some(e) = excluded {
            self.excluded.extend(e.iter().cloned());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// Every name of the subject that a constraint of the same form could apply to, checked; the
    /// first violation in words.
    pub fn check(&self, s: &Subject<'_>) -> Result<(), String> {
        let mut names: Vec<GeneralName> = s.san.to_vec();
        let subtrees = self.excluded.len() + self.permitted.iter().map(Vec::len).sum::<usize>();
        if names.len().saturating_mul(subtrees) > NC_WORK_BUDGET {
            return Err(format!(
                "{} names against {subtrees} name constraints: more work than a path may ask",
                names.len()
            ));
        }
        // A name of a form that is constrained but that this validator cannot evaluate.
        for n in &names {
            let constrained = self
                .excluded
                .iter()
                .chain(self.permitted.iter().flatten())
                .any(|t| !supported_form(&t.base) && same_kind(&t.base, n));
            if constrained {
                return Err(format!(
                    "{} is under a name constraint of a form this validator cannot check",
                    show(n)
                ));
            }
        }
        if !s.dn.0.is_empty() {
            names.push(GeneralName::DirectoryName(s.dn.clone()));
        }
        for e in &s.emails {
            if let Ok(i) = der::asn1::Ia5String::new(e) {
                names.push(GeneralName::Rfc822Name(i));
            }
        }
        for n in &names {
            for ex in &self.excluded {
                if matches(&ex.base, n) == Some(true) || wildcard_reaches(&ex.base, n) {
                    return Err(format!("{} is excluded by {}", show(n), show(&ex.base)));
                }
            }
            for set in &self.permitted {
                // A set constrains a form only when it holds a subtree of that form.
                let same_form: Vec<_> = set.iter().filter(|p| same_kind(&p.base, n)).collect();
                if same_form.is_empty() {
                    continue;
                }
                if !same_form.iter().any(|p| matches(&p.base, n) == Some(true)) {
                    return Err(format!(
                        "{} is outside the permitted {}",
                        show(n),
                        same_form
                            .iter()
                            .map(|p| show(&p.base))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A wildcard SAN "*.X" stands for every "L.X": it reaches an excluded "L.X" (or anything under X).
fn wildcard_reaches(base: &GeneralName, name: &GeneralName) -> bool {
    let (GeneralName::DnsName(b), GeneralName::DnsName(n)) = (base, name) else {
        return false;
    };
    let Some(rest) = n.as_str().strip_prefix("*.") else {
        return false;
    };
    let b = b.as_str().trim_end_matches('.').to_ascii_lowercase();
    let rest = rest.trim_end_matches('.').to_ascii_lowercase();
    dns_in(&b, &rest)
        || b.split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest)
}

fn same_kind(a: &GeneralName, b: &GeneralName) -> bool {
    match (a, b) {
        (GeneralName::IpAddress(x), GeneralName::IpAddress(y)) => {
            // A v4 range constrains v4 addresses, a v6 range v6 ones.
            x.as_bytes().len() / 2 == y.as_bytes().len()
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Whether `name` lies in the subtree `base` (None: different forms).
fn matches(base: &GeneralName, name: &GeneralName) -> Option<bool> {
    Some(match (base, name) {
        (GeneralName::DnsName(b), GeneralName::DnsName(n)) => dns_in(b.as_str(), n.as_str()),
        (GeneralName::Rfc822Name(b), GeneralName::Rfc822Name(n)) => {
            email_in(b.as_str(), n.as_str())
        }
        (GeneralName::UniformResourceIdentifier(b), GeneralName::UniformResourceIdentifier(n)) => {
            match uri_host(n.as_str()) {
                Some(h) => host_in(b.as_str(), &h),
                None => false,
            }
        }
        (GeneralName::IpAddress(b), GeneralName::IpAddress(n)) => {
            let (b, n) = (b.as_bytes(), n.as_bytes());
            if b.len() != n.len() * 2 {
                return None;
            }
            let (addr, mask) = b.split_at(n.len());
            n.iter()
                .zip(addr)
                .zip(mask)
                .all(|((x, a), m)| x & m == a & m)
        }
        (GeneralName::DirectoryName(b), GeneralName::DirectoryName(n)) => {
            b.0.len() <= n.0.len()
                && b.0.iter().zip(n.0.iter()).all(|(rb, rn)| {
                    names_match(&Name::from(vec![rb.clone()]), &Name::from(vec![rn.clone()]))
                })
        }
        _ => return None,
    })
}

/// RFC 5280: a DNS constraint matches the name itself and any name formed by adding labels on the
/// left. An empty base matches all.
fn dns_in(base: &str, name: &str) -> bool {
    let (b, n) = (base.to_ascii_lowercase(), name.to_ascii_lowercase());
    let n = n.trim_end_matches('.');
    if b.is_empty() {
        return true;
    }
    let b = b.trim_end_matches('.');
    n == b || (n.len() > b.len() && n.ends_with(b) && n.as_bytes()[n.len() - b.len() - 1] == b'.')
}

/// A host constraint for URIs and mail: a name, or ".domain" for hosts within it.
fn host_in(base: &str, host: &str) -> bool {
    let (b, h) = (base.to_ascii_lowercase(), host.to_ascii_lowercase());
    if let Some(rest) = b.strip_prefix('.') {
        h.len() > rest.len() && h.ends_with(&b)
    } else {
        h == b
    }
}

fn email_in(base: &str, email: &str) -> bool {
    let Some((local, host)) = email.rsplit_once('@') else {
        return false;
    };
    if base.contains('@') {
        // A whole mailbox: local part exact, host case-insensitive.
        return base
            .rsplit_once('@')
            .is_some_and(|(bl, bh)| bl == local && bh.eq_ignore_ascii_case(host));
    }
    host_in(base, host)
}

fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let auth = rest.split(['/', '?', '#']).next()?;
    let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if host.starts_with('[') {
        return None; // IP literals do not match DNS-form URI constraints
    } else {
        host.split(':').next()?
    };
    (!host.is_empty() && host.parse::<IpAddr>().is_err()).then(|| host.to_string())
}

pub fn show(g: &GeneralName) -> String {
    match g {
        GeneralName::DnsName(s) => format!("DNS:{}", s.as_str()),
        GeneralName::Rfc822Name(s) => format!("email:{}", s.as_str()),
        GeneralName::UniformResourceIdentifier(s) => format!("URI:{}", s.as_str()),
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        GeneralName::IpAddress(o) => {
            let b = o.as_bytes();
            match b.len() {
                4 => format!(
                    "IP:{}",
                    IpAddr::from(<[u8; 4]>::try_from(b).unwrap_or_default())
                ),
                16 => format!(
                    "IP:{}",
                    IpAddr::from(<[u8; 16]>::try_from(b).unwrap_or_default())
                ),
                8 | 32 => {
                    let (a, m) = b.split_at(b.len() / 2);
                    let ip = |x: &[u8]| match x.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(x).unwrap_or_default()).to_string(),
                        _ => IpAddr::from(<[u8; 16]>::try_from(x).unwrap_or_default()).to_string(),
                    };
                    format!("IP:{}/{}", ip(a), ip(m))
                }
                _ => format!("IP:{}", hex::encode(b)),
            }
        }
        GeneralName::OtherName(o) => format!("otherName:{}", o.type_id),
        GeneralName::RegisteredId(o) => format!("RID:{o}"),
        GeneralName::EdiPartyName(_) => "ediPartyName".into(),
    }
}

/// RFC 5280 §7.5: a mailbox against the SAN's rfc822Names — local part exact, host case-insensitive.
pub fn mailbox_matches(san: &[GeneralName], mailbox: &str) -> bool {
    let Some((local, host)) = mailbox.rsplit_once('@') else {
        return false;
    };
    san.iter().any(|g| match g {
        GeneralName::Rfc822Name(m) => m
            .as_str()
            .rsplit_once('@')
            .is_some_and(|(l, h)| l == local && h.eq_ignore_ascii_case(host)),
        _ => false,
    })
}

/// RFC 6125 §6.4: the reference host (or IP address) against the SAN; a wildcard only as the whole
/// left-most label, never for IP addresses; no fallback to the subject CN.
pub fn host_matches(san: &[GeneralName], host: &str) -> bool {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        let want: Vec<u8> = match ip {
            IpAddr::V4(v) => v.octets().to_vec(),
            IpAddr::V6(v) => v.octets().to_vec(),
        };
        return san
            .iter()
            .any(|g| matches!(g, GeneralName::IpAddress(o) if o.as_bytes() == want.as_slice()));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    san.iter().any(|g| match g {
        GeneralName::DnsName(d) => {
            let d = d.as_str().trim_end_matches('.').to_ascii_lowercase();
            match d.strip_prefix("*.") {
                Some(rest) if !rest.is_empty() && !rest.contains('*') => host
                    .split_once('.')
                    .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
                _ => !d.contains('*') && d == host,
            }
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> GeneralName {
        GeneralName::DnsName(der::asn1::Ia5String::new(s).unwrap())
    }

    #[test]
    fn dns_constraints() {
        assert!(dns_in("example.com", "example.com"));
        assert!(dns_in("example.com", "a.example.com"));
        assert!(!dns_in("example.com", "badexample.com"));
        assert!(wildcard_reaches(
            &dn("bar.example.com"),
            &dn("*.example.com")
        ));
        assert!(wildcard_reaches(&dn("example.com"), &dn("*.example.com")));
        assert!(!wildcard_reaches(
            &dn("a.bar.example.com"),
            &dn("*.example.com")
        ));
        assert!(malformed(&dn("foo_bar.example.com")).is_some());
        assert!(malformed(&dn(".example.com")).is_some());
        assert!(malformed(&dn("*.example.com")).is_none());
        assert!(malformed_constraint(&dn(".example.com")).is_some());
        assert!(dns_in("", "anything.test"));
    }

    #[test]
    fn email_constraints() {
        assert!(email_in("example.com", "a@example.com"));
        assert!(!email_in("example.com", "a@sub.example.com"));
        assert!(email_in(".example.com", "a@sub.example.com"));
        assert!(email_in("a@example.com", "a@EXAMPLE.com"));
        assert!(!email_in("a@example.com", "b@example.com"));
    }

    #[test]
    fn host_names() {
        let ia = |s: &str| GeneralName::DnsName(der::asn1::Ia5String::new(s).unwrap());
        let san = vec![ia("*.example.com"), ia("seal.test")];
        assert!(host_matches(&san, "a.example.com"));
        assert!(!host_matches(&san, "a.b.example.com"));
        assert!(!host_matches(&san, "example.com"));
        assert!(host_matches(&san, "SEAL.test"));
        assert!(!host_matches(&san, "127.0.0.1"));
    }
}
