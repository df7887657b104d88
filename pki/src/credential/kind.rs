//! The one registry of credential kinds: each kind's claim key, its claims, who may issue it and how
//! it is revoked. Issuance and verification read this table; nothing else names a kind's rules.

use const_oid::ObjectIdentifier as Oid;

use crate::validate::Purpose;

/// Extended key usage of a certificate whose key signs seal status assertions (a placeholder arc,
/// like the profiles' policy OIDs: a deployment replaces it with its own).
pub const EKU_SEAL_STATUS: Oid = Oid::new_unwrap("1.3.6.1.4.1.61000.3.1");
/// Extended key usage of a platform key that grants authority: app authorizations, stamping
/// credentials, carving permits. Kept apart from [`EKU_SEAL_STATUS`] because the status key is online
/// and answers every verifier, while grants are made by a key behind the workflows.
pub const EKU_GRANT: Oid = Oid::new_unwrap("1.3.6.1.4.1.61000.3.2");

/// The claim, inside a kind's claim map, that carries the credential's index in its status list
/// (kinds revoked by [`Revocation::StatusList`]).
pub const STATUS_INDEX_CLAIM: i64 = 99;

/// Every kind of signed credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// The platform's signed answer to "what state is this seal in" (typed: [`super::SealStatus`]).
    SealStatus,
    AppAuthorization,
    StampingCredential,
    CarvingPermit,
    PermitReceipt,
    ProductionRecord,
    DeliveryRecord,
    ControllerEvent,
}

/// The type a claim's CBOR value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimType {
    Text,
    Bytes,
    /// A non-negative integer.
    Uint,
    /// Seconds since the epoch, a non-negative integer (as CWT NumericDate, without fractions).
    Time,
    Bool,
}

/// One claim of a kind's claim map.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ClaimSpec {
    pub key: i64,
    pub name: &'static str,
    pub ty: ClaimType,
    pub required: bool,
}

/// Who may issue a kind: the CA that certifies the issuing key (the verifier passes that CA as the
/// trust anchor), the certificate profile, the purpose the path is validated for, and an extended
/// key usage the leaf must carry (present, not merely allowed) where the CA certifies other keys too.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct IssuerRule {
    pub ca: &'static str,
    pub profile: &'static str,
    pub purpose: Purpose,
    #[serde(serialize_with = "ser_oid")]
    pub eku: Option<Oid>,
}

fn ser_oid<S: serde::Serializer>(o: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match o {
        Some(o) => s.serialize_some(&o.to_string()),
        None => s.serialize_none(),
    }
}

/// How a credential of a kind stops counting before it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// Not revoked: short-lived, a new one is made on every change (the status assertion is itself
    /// the answer to a status question).
    Expiry,
    /// A bit in the issuer's status list, at the index in claim [`STATUS_INDEX_CLAIM`]; for
    /// credentials whose state changes often (counts appended, finished early).
    StatusList,
    /// An entry naming the credential's `cti` in the issuer's revocation list.
    RevocationEntry,
}

/// A kind's entry in the registry.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct KindSpec {
    pub kind: Kind,
    pub name: &'static str,
    /// The private-use CWT claim (RFC 8392 §9.1: below -65536) holding this kind's claim map; a
    /// credential carries exactly one of these keys, which says its kind.
    pub claim_key: i64,
    pub claims: &'static [ClaimSpec],
    pub issuer: IssuerRule,
    pub revocation: Revocation,
}

const fn c(key: i64, name: &'static str, ty: ClaimType, required: bool) -> ClaimSpec {
    ClaimSpec {
        key,
        name,
        ty,
        required,
    }
}

use ClaimType::{Bool, Bytes, Text, Time, Uint};

/// Seal status assertion claims; [`super::SealStatus`] is their typed form.
pub(crate) mod seal_status {
    pub const SEAL_CODE: i64 = 1;
    pub const SEAL_NAME: i64 = 2;
    pub const STATE: i64 = 3;
    pub const CERT_SERIAL: i64 = 4;
    pub const CERT_SHA256: i64 = 5;
    pub const ISSUED_AT: i64 = 6;
    pub const CHANGED_AT: i64 = 7;
    pub const VALID_UNTIL: i64 = 8;
    pub const CHECKED_AT: i64 = 9;
}

const SERVICE_GRANT: IssuerRule = IssuerRule {
    ca: "service",
    profile: "credential-signer",
    purpose: Purpose::Any,
    eku: Some(EKU_GRANT),
};

// Maker records are signed with the maker's production key (maker CA), which also makes seals:
// document signing, as for seals; the maker CA as anchor says who.
const MAKER: IssuerRule = IssuerRule {
    ca: "maker",
    profile: "maker-production",
    purpose: Purpose::DocumentSigning,
    eku: None,
};

/// The registry. Claim maps other than seal status are provisional until their workflows land:
/// they are checked against this table (required claims, types, no unknown keys).
pub const KINDS: [KindSpec; 8] = [
    KindSpec {
        kind: Kind::SealStatus,
        name: "seal-status",
        claim_key: -71_001,
        claims: &[
            c(seal_status::SEAL_CODE, "seal-code", Text, true),
            c(seal_status::SEAL_NAME, "seal-name", Text, true),
            c(seal_status::STATE, "state", Text, true),
            c(seal_status::CERT_SERIAL, "certificate-serial", Bytes, true),
            c(seal_status::CERT_SHA256, "certificate-sha256", Bytes, true),
            c(seal_status::ISSUED_AT, "issued-at", Time, true),
            c(seal_status::CHANGED_AT, "changed-at", Time, true),
            c(seal_status::VALID_UNTIL, "valid-until", Time, true),
            c(seal_status::CHECKED_AT, "checked-at", Time, true),
        ],
        issuer: IssuerRule {
            ca: "service",
            profile: "seal-status-signer",
            purpose: Purpose::Any,
            eku: Some(EKU_SEAL_STATUS),
        },
        revocation: Revocation::Expiry,
    },
    KindSpec {
        kind: Kind::AppAuthorization,
        name: "app-authorization",
        claim_key: -71_002,
        claims: &[
            c(1, "app-id", Text, true),
            c(2, "org-code", Text, true),
            c(3, "seal-code", Text, true),
            c(4, "role", Text, true),
            // At most this many sealings (the platform counts them); absent: no limit.
            c(5, "use-limit", Uint, false),
            // The platform's id of the grant, to find it again.
            c(6, "grant-id", Text, false),
        ],
        issuer: SERVICE_GRANT,
        revocation: Revocation::RevocationEntry,
    },
    KindSpec {
        kind: Kind::StampingCredential,
        name: "stamping-credential",
        claim_key: -71_003,
        claims: &[
            c(1, "application-id", Text, true),
            c(2, "device-serial", Text, true),
            c(3, "seal-code", Text, true),
            c(4, "count", Uint, true),
            c(5, "user", Text, false),
            c(STATUS_INDEX_CLAIM, "status-index", Uint, true),
        ],
        issuer: SERVICE_GRANT,
        revocation: Revocation::StatusList,
    },
    KindSpec {
        kind: Kind::CarvingPermit,
        name: "carving-permit",
        claim_key: -71_004,
        claims: &[
            c(1, "application-id", Text, true),
            c(2, "org-code", Text, true),
            c(3, "seal-name", Text, true),
            c(4, "seal-type", Text, true),
            c(5, "maker-code", Text, true),
        ],
        issuer: SERVICE_GRANT,
        revocation: Revocation::RevocationEntry,
    },
    KindSpec {
        kind: Kind::PermitReceipt,
        name: "permit-receipt",
        claim_key: -71_005,
        claims: &[
            c(1, "permit-cti", Bytes, true),
            c(2, "maker-code", Text, true),
            c(3, "accepted", Bool, true),
        ],
        issuer: MAKER,
        revocation: Revocation::RevocationEntry,
    },
    KindSpec {
        kind: Kind::ProductionRecord,
        name: "production-record",
        claim_key: -71_006,
        claims: &[
            c(1, "permit-cti", Bytes, true),
            c(2, "seal-code", Text, true),
            c(3, "face-sha256", Bytes, true),
            c(4, "produced-at", Time, true),
        ],
        issuer: MAKER,
        revocation: Revocation::RevocationEntry,
    },
    KindSpec {
        kind: Kind::DeliveryRecord,
        name: "delivery-record",
        claim_key: -71_007,
        claims: &[
            c(1, "seal-code", Text, true),
            c(2, "recipient", Text, true),
            c(3, "delivered-at", Time, true),
        ],
        issuer: MAKER,
        revocation: Revocation::RevocationEntry,
    },
    KindSpec {
        kind: Kind::ControllerEvent,
        name: "controller-event",
        claim_key: -71_008,
        claims: &[
            c(1, "device-serial", Text, true),
            c(2, "event", Text, true),
            c(3, "sequence", Uint, true),
            c(4, "occurred-at", Time, true),
            c(5, "credential-cti", Bytes, false),
        ],
        // Controllers (device CA, controller-device profile: digitalSignature, clientAuth) sign their
        // event reports with the key they authenticate with; the device CA as anchor says who.
        issuer: IssuerRule {
            ca: "device",
            profile: "controller-device",
            purpose: Purpose::Any,
            eku: None,
        },
        revocation: Revocation::RevocationEntry,
    },
];

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::SealStatus,
        Kind::AppAuthorization,
        Kind::StampingCredential,
        Kind::CarvingPermit,
        Kind::PermitReceipt,
        Kind::ProductionRecord,
        Kind::DeliveryRecord,
        Kind::ControllerEvent,
    ];

    /// This kind's registry entry.
    pub fn spec(self) -> &'static KindSpec {
        // The registry lists every kind once, in `ALL`'s order (a unit test holds it to that).
        &KINDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.name == name).map(|k| k.kind)
    }

    pub fn from_claim_key(key: i64) -> Option<Kind> {
        KINDS.iter().find(|k| k.claim_key == key).map(|k| k.kind)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_order_and_unique() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(KINDS[i].kind, *k);
            assert_eq!(Kind::from_name(k.name()), Some(*k));
            assert_eq!(Kind::from_claim_key(k.spec().claim_key), Some(*k));
            // RFC 8392 §9.1: private-use claim keys lie below -65536.
            assert!(k.spec().claim_key < -65_536);
            let mut keys: Vec<i64> = k.spec().claims.iter().map(|c| c.key).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(
                keys.len(),
                k.spec().claims.len(),
                "{k}: duplicate claim key"
            );
            assert_eq!(
                k.spec().revocation == Revocation::StatusList,
                keys.contains(&STATUS_INDEX_CLAIM),
                "{k}: a status-list kind carries its index, and only such kinds do"
            );
        }
    }
}
