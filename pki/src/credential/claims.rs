//! The CWT claims map of a credential (RFC 8392): the standard claims, the kind's claim map, the typed
//! seal status assertion, and their CBOR form.

use std::collections::BTreeMap;

use ciborium::Value;
use coset::cwt::{ClaimName, ClaimsSet, Timestamp};

use super::kind::{
    seal_status as ss, ClaimType, Kind, KindSpec, Revocation, KINDS, STATUS_INDEX_CLAIM,
};
use super::CredentialError;

/// Length of the `cti` (CWT ID) we write: 16 random bytes.
pub const CTI_LEN: usize = 16;
/// Longest `cti` accepted from others.
const MAX_CTI: usize = 64;
/// Longest text claim accepted (seal names, codes, identifiers are far shorter).
const MAX_TEXT: usize = 1024;
/// Longest byte-string claim accepted (hashes, serials, ids).
const MAX_BYTES: usize = 256;

/// A credential's claims.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    /// Issued at, seconds since the epoch; the signer's chain is validated at this time.
    pub iat: u64,
    pub nbf: u64,
    /// The first second at which the credential no longer counts (RFC 8392 §3.1.4).
    pub exp: u64,
    #[serde(serialize_with = "ser_hex")]
    pub cti: Vec<u8>,
    pub body: Body,
}

/// The kind-specific claims.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Body {
    SealStatus(SealStatus),
    /// A kind without a typed struct yet: its claim map by claim key, checked against the registry.
    Other {
        kind: Kind,
        claims: BTreeMap<i64, Value>,
    },
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::SealStatus(_) => Kind::SealStatus,
            Body::Other { kind, .. } => *kind,
        }
    }
}

/// The state of a seal, as the status assertion tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SealState {
    Active,
    Lost,
    Revoked,
    Expired,
    Superseded,
}

impl SealState {
    pub const ALL: [SealState; 5] = [
        SealState::Active,
        SealState::Lost,
        SealState::Revoked,
        SealState::Expired,
        SealState::Superseded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SealState::Active => "active",
            SealState::Lost => "lost",
            SealState::Revoked => "revoked",
            SealState::Expired => "expired",
            SealState::Superseded => "superseded",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// The seal status assertion: what the platform says of one seal, at `checked_at`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SealStatus {
    /// The 13-digit seal code filed with the police.
    pub seal_code: String,
    pub seal_name: String,
    pub state: SealState,
    /// The seal certificate's serial number (the DER INTEGER's content bytes).
    #[serde(serialize_with = "ser_hex")]
    pub cert_serial: Vec<u8>,
    /// SHA-256 of the seal certificate's DER.
    #[serde(serialize_with = "ser_hex")]
    pub cert_sha256: [u8; 32],
    /// When the seal was issued, its state last changed, and the end of its validity (epoch seconds).
    pub issued_at: u64,
    pub changed_at: u64,
    pub valid_until: u64,
    /// When the platform looked the state up.
    pub checked_at: u64,
}

/// How to find out whether one credential was revoked; see [`Claims::revocation`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationCheck {
    /// Short-lived: expiry is its revocation.
    None,
    StatusList {
        iss: String,
        index: u64,
    },
    Entry {
        iss: String,
        #[serde(serialize_with = "ser_hex")]
        cti: Vec<u8>,
    },
}

fn ser_hex<S: serde::Serializer, T: AsRef<[u8]>>(b: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b.as_ref()))
}

impl Claims {
    /// Claims valid from `nbf` (also the issue time) for `lifetime_secs`, with a random `cti`.
    pub fn new(
        iss: impl Into<String>,
        sub: impl Into<String>,
        nbf: u64,
        lifetime_secs: u64,
        body: Body,
    ) -> Result<Self, CredentialError> {
        let mut cti = vec![0u8; CTI_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut cti);
        let exp = nbf
            .checked_add(lifetime_secs)
            .ok_or_else(|| CredentialError::Claims("exp overflows".into()))?;
        Ok(Claims {
            iss: iss.into(),
            sub: sub.into(),
            iat: nbf,
            nbf,
            exp,
            cti,
            body,
        })
    }

    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// The seal status, when this is a seal status assertion.
    pub fn seal_status(&self) -> Option<&SealStatus> {
        match &self.body {
            Body::SealStatus(s) => Some(s),
            Body::Other { .. } => None,
        }
    }

    /// What the caller looks up to learn whether this credential was revoked (this crate does no
    /// I/O): nothing, its bit in the issuer's status list, or a revocation entry for its `cti`.
    pub fn revocation(&self) -> RevocationCheck {
        match self.kind().spec().revocation {
            Revocation::Expiry => RevocationCheck::None,
            Revocation::RevocationEntry => RevocationCheck::Entry {
                iss: self.iss.clone(),
                cti: self.cti.clone(),
            },
            Revocation::StatusList => {
                let index = match &self.body {
                    Body::Other { claims, .. } => match claims.get(&STATUS_INDEX_CLAIM) {
                        Some(Value::Integer(i)) => u64::try_from(*i).ok(),
                        _ => None,
                    },
                    Body::SealStatus(_) => None,
                };
                // check_map made the index required and a uint for status-list kinds.
                match index {
                    Some(index) => RevocationCheck::StatusList {
                        iss: self.iss.clone(),
                        index,
                    },
                    None => RevocationCheck::Entry {
                        iss: self.iss.clone(),
                        cti: self.cti.clone(),
                    },
                }
            }
        }
    }

    /// The claims as the CWT claims set that is signed.
    pub(crate) fn to_claims_set(&self) -> Result<ClaimsSet, CredentialError> {
        self.check()?;
        let spec = self.kind().spec();
        let map = match &self.body {
            Body::SealStatus(s) => s.to_map(),
            // A kind with a typed struct is written from it, so its own checks (the state) hold.
            Body::Other {
                kind: Kind::SealStatus,
                ..
            } => {
                return Err(CredentialError::Claims(
                    "seal-status: write it as Body::SealStatus".into(),
                ))
            }
            Body::Other { claims, .. } => claims.clone(),
        };
        check_map(spec, &map)?;
        let value = Value::Map(
            map.into_iter()
                .map(|(k, v)| (Value::Integer(k.into()), v))
                .collect(),
        );
        Ok(ClaimsSet {
            issuer: Some(self.iss.clone()),
            subject: Some(self.sub.clone()),
            audience: None,
            expiration_time: Some(Timestamp::WholeSeconds(secs(self.exp)?)),
            not_before: Some(Timestamp::WholeSeconds(secs(self.nbf)?)),
            issued_at: Some(Timestamp::WholeSeconds(secs(self.iat)?)),
            cwt_id: Some(self.cti.clone()),
            rest: vec![(ClaimName::PrivateUse(spec.claim_key), value)],
        })
    }

    /// Claims from a decoded claims set: every standard claim we need present, exactly one kind.
    pub(crate) fn from_claims_set(set: ClaimsSet) -> Result<Self, CredentialError> {
        let bad = |m: String| CredentialError::Claims(m);
        let text = |v: Option<String>, n: &str| -> Result<String, CredentialError> {
            let s = v.ok_or_else(|| bad(format!("no {n} claim")))?;
            if s.is_empty() || s.len() > MAX_TEXT {
                return Err(bad(format!("{n}: empty or over {MAX_TEXT} bytes")));
            }
            Ok(s)
        };
        let time = |v: Option<Timestamp>, n: &str| -> Result<u64, CredentialError> {
            match v {
                Some(Timestamp::WholeSeconds(s)) => {
                    u64::try_from(s).map_err(|_| bad(format!("{n}: before 1970")))
                }
                Some(Timestamp::FractionalSeconds(_)) => {
                    Err(bad(format!("{n}: fractional seconds are not accepted")))
                }
                None => Err(bad(format!("no {n} claim"))),
            }
        };
        let iss = text(set.issuer, "iss")?;
        let sub = text(set.subject, "sub")?;
        if set.audience.is_some() {
            return Err(bad("aud: not used by sealpki credentials".into()));
        }
        let exp = time(set.expiration_time, "exp")?;
        let nbf = time(set.not_before, "nbf")?;
        let iat = time(set.issued_at, "iat")?;
        let cti = set.cwt_id.ok_or_else(|| bad("no cti claim".into()))?;
        if cti.is_empty() || cti.len() > MAX_CTI {
            return Err(bad(format!("cti: empty or over {MAX_CTI} bytes")));
        }
        let mut body = None;
        for (name, value) in set.rest {
            let key = match name {
                ClaimName::PrivateUse(k) => k,
                other => return Err(bad(format!("unknown claim {other:?}"))),
            };
            let kind =
                Kind::from_claim_key(key).ok_or_else(|| bad(format!("unknown claim {key}")))?;
            if body.is_some() {
                return Err(bad("more than one credential kind".into()));
            }
            body = Some(decode_body(kind, value)?);
        }
        let body = body.ok_or_else(|| bad("no credential kind claim".into()))?;
        let c = Claims {
            iss,
            sub,
            iat,
            nbf,
            exp,
            cti,
            body,
        };
        c.check()?;
        Ok(c)
    }

    /// The times in order and the cti bounded, on the way out as on the way in.
    fn check(&self) -> Result<(), CredentialError> {
        if self.nbf >= self.exp {
            return Err(CredentialError::Claims(
                "nbf is not before exp: the credential is never valid".into(),
            ));
        }
        if self.iat >= self.exp {
            return Err(CredentialError::Claims("iat is not before exp".into()));
        }
        if self.cti.is_empty() || self.cti.len() > MAX_CTI {
            return Err(CredentialError::Claims(format!(
                "cti: empty or over {MAX_CTI} bytes"
            )));
        }
        Ok(())
    }
}

fn secs(t: u64) -> Result<i64, CredentialError> {
    i64::try_from(t).map_err(|_| CredentialError::Claims(format!("time {t} out of range")))
}

/// A kind's claim map from CBOR: integer keys, no duplicates, checked against the registry.
fn decode_body(kind: Kind, value: Value) -> Result<Body, CredentialError> {
    let spec = kind.spec();
    let bad = |m: String| CredentialError::Claims(format!("{}: {m}", spec.name));
    let Value::Map(entries) = value else {
        return Err(bad("the claim map is not a map".into()));
    };
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        let key = match k {
            Value::Integer(i) => {
                i64::try_from(i).map_err(|_| bad("claim key out of range".into()))?
            }
            _ => return Err(bad("claim keys are integers".into())),
        };
        if map.insert(key, v).is_some() {
            return Err(bad(format!("claim {key} appears twice")));
        }
    }
    check_map(spec, &map)?;
    Ok(match kind {
        Kind::SealStatus => Body::SealStatus(SealStatus::from_map(&map)?),
        _ => Body::Other { kind, claims: map },
    })
}

/// Every claim known to the kind, of its type; the required ones present.
fn check_map(spec: &KindSpec, map: &BTreeMap<i64, Value>) -> Result<(), CredentialError> {
    let bad = |m: String| CredentialError::Claims(format!("{}: {m}", spec.name));
    for (k, v) in map {
        let c = spec
            .claims
            .iter()
            .find(|c| c.key == *k)
            .ok_or_else(|| bad(format!("unknown claim {k}")))?;
        let ok = match (c.ty, v) {
            (ClaimType::Text, Value::Text(s)) => !s.is_empty() && s.len() <= MAX_TEXT,
            (ClaimType::Bytes, Value::Bytes(b)) => !b.is_empty() && b.len() <= MAX_BYTES,
            (ClaimType::Uint | ClaimType::Time, Value::Integer(i)) => u64::try_from(*i).is_ok(),
            (ClaimType::Bool, Value::Bool(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(bad(format!(
                "{} is not a valid {:?} (non-empty, bounded)",
                c.name, c.ty
            )));
        }
    }
    if let Some(c) = spec
        .claims
        .iter()
        .find(|c| c.required && !map.contains_key(&c.key))
    {
        return Err(bad(format!("no {} claim", c.name)));
    }
    Ok(())
}

impl SealStatus {
    fn to_map(&self) -> BTreeMap<i64, Value> {
        BTreeMap::from([
            (ss::SEAL_CODE, Value::Text(self.seal_code.clone())),
            (ss::SEAL_NAME, Value::Text(self.seal_name.clone())),
            (ss::STATE, Value::Text(self.state.name().into())),
            (ss::CERT_SERIAL, Value::Bytes(self.cert_serial.clone())),
            (ss::CERT_SHA256, Value::Bytes(self.cert_sha256.to_vec())),
            (ss::ISSUED_AT, Value::Integer(self.issued_at.into())),
            (ss::CHANGED_AT, Value::Integer(self.changed_at.into())),
            (ss::VALID_UNTIL, Value::Integer(self.valid_until.into())),
            (ss::CHECKED_AT, Value::Integer(self.checked_at.into())),
        ])
    }

    /// From a map `check_map` passed: the types are right, the required claims there.
    fn from_map(map: &BTreeMap<i64, Value>) -> Result<Self, CredentialError> {
        let bad = |m: &str| CredentialError::Claims(format!("seal-status: {m}"));
        let text = |k| match map.get(&k) {
            Some(Value::Text(s)) => Ok(s.clone()),
            _ => Err(bad("text claim missing")),
        };
        let bytes = |k| match map.get(&k) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            _ => Err(bad("byte-string claim missing")),
        };
        let time = |k| match map.get(&k) {
            Some(Value::Integer(i)) => u64::try_from(*i).map_err(|_| bad("time out of range")),
            _ => Err(bad("time claim missing")),
        };
        let state = text(ss::STATE)?;
        let state = SealState::from_name(&state).ok_or_else(|| {
            CredentialError::Claims(format!(
                "seal-status: state {state:?} is not one of active, lost, revoked, expired, superseded"
            ))
        })?;
        let cert_sha256: [u8; 32] = bytes(ss::CERT_SHA256)?
            .try_into()
            .map_err(|_| bad("certificate-sha256 is not 32 bytes"))?;
        Ok(SealStatus {
            seal_code: text(ss::SEAL_CODE)?,
            seal_name: text(ss::SEAL_NAME)?,
            state,
            cert_serial: bytes(ss::CERT_SERIAL)?,
            cert_sha256,
            issued_at: time(ss::ISSUED_AT)?,
            changed_at: time(ss::CHANGED_AT)?,
            valid_until: time(ss::VALID_UNTIL)?,
            checked_at: time(ss::CHECKED_AT)?,
        })
    }
}

// The registry must name every kind once; `Kind::spec` indexes it by discriminant.
const _: () = assert!(KINDS.len() == Kind::ALL.len());
