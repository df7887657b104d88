//! Certificate profiles as data: what a certificate of each kind may and must contain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alg::KeyAlgorithm;

/// The profiles shipped with sealpki (`pki/profiles/builtin.toml`).
pub const BUILTIN_PROFILES: &str = include_str!("../profiles/builtin.toml");

/// Whether a subjectAltName is wanted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SanRule {
    #[default]
    Optional,
    Required,
    Forbidden,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip)]
    pub name: String,
    pub description: String,
    /// The CA (`seal`, `maker`, `device`, `service`) that issues under this profile; none for CA and
    /// OCSP-responder profiles, whose issuer the caller names.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub ca: bool,
    #[serde(default)]
    pub path_len: Option<u8>,
    pub max_validity_days: u32,
    pub key_algorithms: Vec<String>,
    pub key_usage: Vec<String>,
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
    #[serde(default)]
    pub extended_key_usage_critical: bool,
    pub subject_required: Vec<String>,
    pub subject_allowed: Vec<String>,
    #[serde(default)]
    pub san: SanRule,
    #[serde(default)]
    pub policies: Vec<String>,
    /// ETSI EN 319 412-5 QcType statement (`eseal`, `esign`, `web`).
    #[serde(default)]
    pub qc_type: Option<String>,
    #[serde(default)]
    pub ocsp_nocheck: bool,
    #[serde(default = "yes")]
    pub crl_distribution: bool,
    #[serde(default = "yes")]
    pub ocsp: bool,
    /// `ceremony-only` for certificates that carry the authority's own powers; CA profiles must be.
    #[serde(default)]
    pub requestable: Requestable,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("profile document: {0}")]
    Parse(String),
    #[error("profile {profile}: {problem}")]
    Invalid { profile: String, problem: String },
    #[error("unknown profile {0:?}")]
    Unknown(String),
}

pub const KEY_USAGES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

pub const EXTENDED_KEY_USAGES: [(&str, &str); 8] = [
    ("serverAuth", "1.3.6.1.5.5.7.3.1"),
    ("clientAuth", "1.3.6.1.5.5.7.3.2"),
    ("codeSigning", "1.3.6.1.5.5.7.3.3"),
    ("emailProtection", "1.3.6.1.5.5.7.3.4"),
    ("timeStamping", "1.3.6.1.5.5.7.3.8"),
    ("OCSPSigning", "1.3.6.1.5.5.7.3.9"),
    // Signed credentials (credential::kind): who may sign seal status assertions and grants.
    ("sealpkiSealStatus", "1.3.6.1.4.1.61000.3.1"),
    ("sealpkiGrant", "1.3.6.1.4.1.61000.3.2"),
];

impl Profile {
    pub fn allows_key(&self, alg: KeyAlgorithm) -> bool {
        self.key_algorithms
            .iter()
            .any(|a| a.parse::<KeyAlgorithm>().ok() == Some(alg))
    }

    fn check(&self) -> Result<(), ProfileError> {
        let bad = |problem: String| {
            Err(ProfileError::Invalid {
                profile: self.name.clone(),
                problem,
            })
        };
        for a in &self.key_algorithms {
            if a.parse::<KeyAlgorithm>().is_err() {
                return bad(format!("unknown key algorithm {a:?}"));
            }
        }
        for ku in &self.key_usage {
            if !KEY_USAGES.contains(&ku.as_str()) {
                return bad(format!("unknown key usage {ku:?}"));
            }
        }
        for eku in &self.extended_key_usage {
            if eku_oid(eku).is_none() {
                return bad(format!("unknown extended key usage {eku:?}"));
            }
        }
        for attr in self.subject_required.iter().chain(&self.subject_allowed) {
            if crate::name::attribute_oid(attr).is_none() {
                return bad(format!("unknown subject attribute {attr:?}"));
            }
        }
        if let Some(r) = self
            .subject_required
            .iter()
            .find(|r| !self.subject_allowed.contains(r))
        {
            return bad(format!("required attribute {r} is not allowed"));
        }
        for p in &self.policies {
            if p.parse::<const_oid::ObjectIdentifier>().is_err() {
                return bad(format!("bad policy OID {p:?}"));
            }
        }
        if self.ca != self.key_usage.iter().any(|k| k == "keyCertSign") {
            return bad("keyCertSign must be set exactly for CA profiles".into());
        }
        if let Some(q) = &self.qc_type {
            if !["eseal", "esign", "web"].contains(&q.as_str()) {
                return bad(format!("unknown qc_type {q:?}"));
            }
        }
        if self.ca && self.requestable != Requestable::CeremonyOnly {
            return bad("CA profiles must be requestable = \"ceremony-only\"".into());
        }
        if self.max_validity_days == 0 {
            return bad("max_validity_days must be positive".into());
        }
        Ok(())
    }
}

pub fn eku_oid(name: &str) -> Option<const_oid::ObjectIdentifier> {
    EXTENDED_KEY_USAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, o)| o.parse().expect("static OID"))
}

/// Who may ask for a certificate of a profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requestable {
    /// Any operator allowed to issue, through `cert issue` or `POST /api/v1/certificates`.
    #[default]
    OnRequest,
    /// Only the key ceremony and CA rollover make these (CA, TSA, OCSP-responder and audit
    /// certificates): never on request, for any role.
    CeremonyOnly,
}

/// A set of named profiles.
#[derive(Clone, Debug)]
pub struct Profiles(BTreeMap<String, Profile>);

impl Profiles {
    /// Parse a TOML document of `[name]` tables, checking every profile.
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let raw: BTreeMap<String, Profile> =
            toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))?;
        let mut out = BTreeMap::new();
        for (name, mut p) in raw {
            p.name = name.clone();
            p.check()?;
            out.insert(name, p);
        }
        Ok(Profiles(out))
    }

    pub fn builtin() -> Self {
        Self::parse(BUILTIN_PROFILES).expect("built-in profiles are valid (tested)")
    }

    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.0
            .get(name)
            .ok_or_else(|| ProfileError::Unknown(name.to_string()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.0.values()
    }

    /// The profile re-serialised, for storage.
    pub fn to_toml(p: &Profile) -> String {
        toml::to_string(p).expect("profiles serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_cover_the_issue() {
        let p = Profiles::builtin();
        for name in [
            "seal-signing",
            "maker-production",
            "chip-seal",
            "physical-electronic-seal",
            "controller-device",
            "tls-server",
            "app-client",
            "tsa",
            "ocsp-responder",
        ] {
            p.get(name).unwrap();
        }
        assert!(p.get("nope").is_err());
        for name in ["root-ca", "sub-ca", "tsa", "ocsp-responder", "audit-signer"] {
            assert_eq!(
                p.get(name).unwrap().requestable,
                Requestable::CeremonyOnly,
                "{name}"
            );
        }
        assert_eq!(
            p.get("seal-signing").unwrap().requestable,
            Requestable::OnRequest
        );
        // Stored profiles round-trip with the field.
        let again = Profiles::parse(&format!(
            "[x]\n{}",
            Profiles::to_toml(p.get("tsa").unwrap())
        ))
        .unwrap();
        assert_eq!(
            again.get("x").unwrap().requestable,
            Requestable::CeremonyOnly
        );
    }

    #[test]
    fn bad_profiles_are_refused() {
        let base = "[x]\ndescription='d'\nmax_validity_days=1\nsubject_required=['CN']\nsubject_allowed=['CN']\n";
        for extra in [
            "key_algorithms=['rsa1024']\nkey_usage=[]",
            "key_algorithms=['p256']\nkey_usage=['signEverything']",
            "key_algorithms=['p256']\nkey_usage=['keyCertSign']",
            "key_algorithms=['p256']\nkey_usage=[]\nbogus=1",
            // A CA profile open to requests.
            "key_algorithms=['p256']\nkey_usage=['keyCertSign']\nca=true",
            "key_algorithms=['p256']\nkey_usage=[]\nrequestable='anyone'",
        ] {
            assert!(
                Profiles::parse(&format!("{base}{extra}")).is_err(),
                "{extra}"
            );
        }
    }
}
