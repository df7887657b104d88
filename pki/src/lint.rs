//! Native lint checks run on every to-be-signed certificate before any key touches it. They return
//! every finding, not just the first; issuance refuses when any finding is an error.

use std::collections::HashSet;
use std::time::SystemTime;

use der::{Decode, Tag};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
};
use x509_cert::time::Time;
use x509_cert::TbsCertificate;

use crate::alg::{KeyAlgorithm, SignatureScheme};
use crate::profile::{eku_oid, Profile, SanRule, KEY_USAGES};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What the lint needs to know of the issuer.
pub struct IssuerFacts<'a> {
    pub scheme: SignatureScheme,
    pub key_id: &'a [u8],
    pub not_after: SystemTime,
    /// True when the certificate is self-signed (a root).
    pub self_signed: bool,
}

fn time_ok(t: &Time) -> bool {
    let year = t.to_date_time().year();
    match t {
        Time::UtcTime(_) => year < 2050,
        Time::GeneralTime(_) => year >= 2050,
    }
}

pub fn lint(tbs: &TbsCertificate, profile: &Profile, issuer: &IssuerFacts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut err = |code, message: String| {
        out.push(Finding {
            severity: Severity::Error,
            code,
            message,
        })
    };

    if tbs.version != x509_cert::Version::V3 {
        err("version", "certificate must be v3".into());
    }
    let serial = tbs.serial_number.as_bytes();
    let magnitude = serial.iter().skip_while(|b| **b == 0).count();
    if !(9..=20).contains(&magnitude) {
        err(
            "serial",
            format!("serial has {magnitude} octets; 9 (64+ bits of entropy) to 20 required"),
        );
    }
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        err("serial", "serial is negative".into());
    }
    if tbs.signature != issuer.scheme.algorithm_identifier() {
        err(
            "signature-algorithm",
            "TBS signature algorithm differs from the issuer's scheme".into(),
        );
    }
    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        err("unique-id", "unique identifiers must not be used".into());
    }

    // Validity
    let nb = tbs.validity.not_before.to_system_time();
    let na = tbs.validity.not_after.to_system_time();
    if !time_ok(&tbs.validity.not_before) || !time_ok(&tbs.validity.not_after) {
        err(
            "time-encoding",
            "dates before 2050 must be UTCTime, later ones GeneralizedTime".into(),
        );
    }
    if na <= nb {
        err("validity", "notAfter is not after notBefore".into());
    } else {
        let days = na
            .duration_since(nb)
            .map(|d| d.as_secs() / 86_400)
            .unwrap_or(0);
        if days > u64::from(profile.max_validity_days) {
            err(
                "validity",
                format!(
                    "{days} days exceeds the profile's {} days",
                    profile.max_validity_days
                ),
            );
        }
    }
    if !issuer.self_signed && na > issuer.not_after {
        err("validity", "certificate would outlive its issuer".into());
    }

    // Subject
    let attrs = crate::name::attributes(&tbs.subject);
    if attrs.is_empty() {
        err("subject", "subject is empty".into());
    }
    for a in &attrs {
        match a.short {
            Some(s) if profile.subject_allowed.iter().any(|x| x == s) => {}
            Some(s) => err(
                "subject",
                format!("attribute {s} is not allowed by profile {}", profile.name),
            ),
            None => err(
                "subject",
                format!(
                    "attribute {} is not allowed by profile {}",
                    a.oid, profile.name
                ),
            ),
        }
        if a.value.trim().is_empty() {
            err(
                "subject",
                format!("attribute {} is empty", a.short.unwrap_or("?")),
            );
        }
        match a.short {
            Some("C") if a.tag != Tag::PrintableString || a.value.len() != 2 => err(
                "subject",
                "countryName must be a 2-letter PrintableString".into(),
            ),
            Some("serialNumber") if a.tag != Tag::PrintableString => {
                err("subject", "serialNumber must be a PrintableString".into())
            }
            Some("CN") if a.value.chars().count() > 64 => {
                err("subject", "commonName exceeds 64 characters".into())
            }
            _ => {}
        }
        if ![Tag::PrintableString, Tag::Utf8String].contains(&a.tag) {
            err(
                "subject",
                format!(
                    "attribute {} uses string type {:?}",
                    a.short.unwrap_or("?"),
                    a.tag
                ),
            );
        }
    }
    for r in &profile.subject_required {
        if !attrs.iter().any(|a| a.short == Some(r.as_str())) {
            err(
                "subject",
                format!("attribute {r} is required by profile {}", profile.name),
            );
        }
    }

    // Key
    match KeyAlgorithm::of_spki(&tbs.subject_public_key_info) {
        Ok(alg) if profile.allows_key(alg) => {}
        Ok(alg) => err(
            "key",
            format!("{alg} keys are not allowed by profile {}", profile.name),
        ),
        Err(e) => err("key", e.to_string()),
    }

    // Extensions
    let exts = tbs.extensions.as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for e in exts {
        if !seen.insert(e.extn_id) {
            err(
                "extensions",
                format!("extension {} appears twice", e.extn_id),
            );
        }
    }
    let find = |oid| exts.iter().find(|e| e.extn_id == oid);
    use const_oid::db::rfc5280 as o;

    match find(o::ID_CE_KEY_USAGE) {
        None => err("key-usage", "keyUsage is missing".into()),
        Some(e) => {
            if !e.critical {
                err("key-usage", "keyUsage must be critical".into());
            }
            match KeyUsage::from_der(e.extn_value.as_bytes()) {
                Ok(ku) => {
                    let want: u16 = KEY_USAGES
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| profile.key_usage.iter().any(|k| k == *n))
                        .map(|(i, _)| 1u16 << i)
                        .sum();
                    if ku.0.bits() != want {
                        err("key-usage", "keyUsage differs from the profile".into());
                    }
                }
                Err(e) => err("key-usage", format!("keyUsage does not decode: {e}")),
            }
        }
    }
    match (
        find(o::ID_CE_EXT_KEY_USAGE),
        profile.extended_key_usage.is_empty(),
    ) {
        (None, true) => {}
        (None, false) => err("eku", "extendedKeyUsage is missing".into()),
        (Some(_), true) => err(
            "eku",
            "extendedKeyUsage present but the profile has none".into(),
        ),
        (Some(e), false) => match ExtendedKeyUsage::from_der(e.extn_value.as_bytes()) {
            Ok(eku) => {
                let want: Vec<_> = profile
                    .extended_key_usage
                    .iter()
                    .filter_map(|n| eku_oid(n))
                    .collect();
                if eku.0 != want {
                    err("eku", "extendedKeyUsage differs from the profile".into());
                }
                if e.critical != profile.extended_key_usage_critical {
                    err(
                        "eku",
                        "extendedKeyUsage criticality differs from the profile".into(),
                    );
                }
            }
            Err(e) => err("eku", format!("extendedKeyUsage does not decode: {e}")),
        },
    }
    match find(o::ID_CE_BASIC_CONSTRAINTS).map(|e| {
        (
            e.critical,
            BasicConstraints::from_der(e.extn_value.as_bytes()),
        )
    }) {
        Some((true, Ok(bc)))
            if bc.ca == profile.ca && bc.path_len_constraint == profile.path_len => {}
        None if !profile.ca => {}
        _ => err(
            "basic-constraints",
            "basicConstraints must be critical and match the profile".into(),
        ),
    }
    if find(o::ID_CE_SUBJECT_KEY_IDENTIFIER).is_none() {
        err("ski", "subjectKeyIdentifier is missing".into());
    }
    if !issuer.self_signed {
        match find(o::ID_CE_AUTHORITY_KEY_IDENTIFIER)
            .map(|e| AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()))
        {
            Some(Ok(aki))
                if aki.key_identifier.as_ref().map(|k| k.as_bytes()) == Some(issuer.key_id) => {}
            _ => err(
                "aki",
                "authorityKeyIdentifier must carry the issuer's key identifier".into(),
            ),
        }
    }
    let san = find(o::ID_CE_SUBJECT_ALT_NAME);
    match (profile.san, san) {
        (SanRule::Required, None) => err(
            "san",
            format!("profile {} requires a subjectAltName", profile.name),
        ),
        (SanRule::Forbidden, Some(_)) => err(
            "san",
            format!("profile {} forbids a subjectAltName", profile.name),
        ),
        (_, Some(e)) => match SubjectAltName::from_der(e.extn_value.as_bytes()) {
            Ok(names) if names.0.is_empty() => err("san", "subjectAltName is empty".into()),
            Ok(names) => {
                for n in &names.0 {
                    match n {
                        GeneralName::DnsName(d) if !dns_ok(d.as_str()) => {
                            err("san", format!("bad DNS name {:?}", d.as_str()))
                        }
                        GeneralName::DnsName(_)
                        | GeneralName::IpAddress(_)
                        | GeneralName::Rfc822Name(_) => {}
                        GeneralName::UniformResourceIdentifier(_) => {}
                        _ => err(
                            "san",
                            "only DNS, IP, e-mail and URI names are allowed".into(),
                        ),
                    }
                }
            }
            Err(e) => err("san", format!("subjectAltName does not decode: {e}")),
        },
        _ => {}
    }
    out
}

fn dns_ok(d: &str) -> bool {
    let d = d.strip_prefix("*.").unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dns_names() {
        assert!(super::dns_ok("seal.example.cn"));
        assert!(super::dns_ok("*.example.cn"));
        assert!(!super::dns_ok("bad_name.example"));
        assert!(!super::dns_ok("-x.example"));
        assert!(!super::dns_ok("a..b"));
    }
}
