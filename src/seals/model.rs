//! What a seal is: its type, signing mode, validity and the state machine of its life. Stored as
//! the stable names below and parsed strictly.

use crate::named_enum;

named_enum! {
    /// The kinds of seal an organisation or person may hold.
    pub enum SealType {
        /// 法定名称章 — the organisation's legal-name seal (round).
        LegalName = "legal-name",
        /// 财务专用章 — finance (oval).
        Finance = "finance",
        /// 发票专用章 — invoice (oval, carries the taxpayer number).
        Invoice = "invoice",
        /// 合同专用章 — contract (round).
        Contract = "contract",
        /// 业务专用章 — business (round).
        Business = "business",
        /// 电子名章 — a person's name seal (square).
        Personal = "personal",
    }
}

impl SealType {
    /// The text below the star (round seals) or on the face (oval), in Chinese.
    pub fn face_text(self) -> &'static str {
        match self {
            SealType::LegalName => "",
            SealType::Finance => "财务专用章",
            SealType::Invoice => "发票专用章",
            SealType::Contract => "合同专用章",
            SealType::Business => "业务专用章",
            SealType::Personal => "",
        }
    }

    /// The Chinese name, for forms and pages.
    pub fn zh(self) -> &'static str {
        match self {
            SealType::LegalName => "法定名称章",
            SealType::Finance => "财务专用章",
            SealType::Invoice => "发票专用章",
            SealType::Contract => "合同专用章",
            SealType::Business => "业务专用章",
            SealType::Personal => "电子名章",
        }
    }

    /// GB/T 38540 SES_ESPropertyInfo.type: 1 an organisation's seal, 2 a person's.
    pub fn ses_type(self) -> i64 {
        if self == SealType::Personal {
            2
        } else {
            1
        }
    }
}

named_enum! {
    /// Where the seal's key lives.
    pub enum SigningMode {
        /// 云签章 — in the platform's token; applications sign through the API.
        Cloud = "cloud",
        /// UKey — on the holder's token.
        Ukey = "ukey",
    }
}

named_enum! {
    /// A seal's life.
    pub enum SealState {
        /// A UKey seal written to the holder's token: its certificate on hold until the holder
        /// confirms receipt with the token.
        PendingReceipt = "pending-receipt",
        /// Signs.
        Active = "active",
        /// 挂失 — reported lost: the certificate is on hold and signing refused until restored.
        Lost = "lost",
        /// 吊销 — revoked for good.
        Revoked = "revoked",
        /// Past its validity.
        Expired = "expired",
        /// Replaced by a renewal's new seal period (kept for history).
        Superseded = "superseded",
    }
}

named_enum! {
    /// What can happen to a seal.
    pub enum SealEvent {
        ReportLoss = "report-loss",
        Restore = "restore",
        Revoke = "revoke",
        /// 补发 — a new key, certificate and structure under the same code.
        Reissue = "reissue",
        /// A new validity period (new key and certificate) before expiry.
        Renew = "renew",
        Expire = "expire",
        /// The holder proved possession of the shipped token.
        ConfirmReceipt = "confirm-receipt",
    }
}

impl SealState {
    /// The state after `e`, or None when `e` does not apply.
    pub fn on(self, e: SealEvent) -> Option<SealState> {
        use SealEvent as E;
        use SealState as S;
        Some(match (self, e) {
            (S::Active, E::ReportLoss) => S::Lost,
            (S::Lost, E::Restore) => S::Active,
            (S::Active | S::Lost, E::Revoke) => S::Revoked,
            // A reissue replaces a lost seal's key as well as an active one's.
            (S::Active | S::Lost, E::Reissue) => S::Active,
            (S::Active, E::Renew) => S::Active,
            // A UKey never received expires too (its certificate stays held until then).
            (S::Active | S::Lost | S::PendingReceipt, E::Expire) => S::Expired,
            (S::PendingReceipt, E::ConfirmReceipt) => S::Active,
            // A token lost on its way is revoked like any other.
            (S::PendingReceipt, E::Revoke) => S::Revoked,
            _ => return None,
        })
    }

    /// Whether the seal signs in this state.
    pub fn signs(self) -> bool {
        self == SealState::Active
    }
}

/// Validity in years a seal may be asked for.
pub const YEARS: [u32; 2] = [1, 2];

/// A 13-digit seal code: the organisation's 6-digit region and 7 random digits (the unique
/// column makes a collision a retry).
pub fn new_code(region: &str) -> String {
    let mut b = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    let n = u64::from_le_bytes(b) % 10_000_000;
    let region = if region.len() == 6 && region.bytes().all(|c| c.is_ascii_digit()) {
        region
    } else {
        "000000"
    };
    format!("{region}{n:07}")
}

/// Whether `s` is a well-formed seal code.
pub fn is_code(s: &str) -> bool {
    s.len() == 13 && s.bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Named;

    #[test]
    fn the_state_machine_as_a_table() {
        use SealEvent as E;
        use SealState as S;
        let allowed: &[(S, E, S)] = &[
            (S::Active, E::ReportLoss, S::Lost),
            (S::Lost, E::Restore, S::Active),
            (S::Active, E::Revoke, S::Revoked),
            (S::Lost, E::Revoke, S::Revoked),
            (S::Active, E::Reissue, S::Active),
            (S::Lost, E::Reissue, S::Active),
            (S::Active, E::Renew, S::Active),
            (S::Active, E::Expire, S::Expired),
            (S::Lost, E::Expire, S::Expired),
            (S::PendingReceipt, E::ConfirmReceipt, S::Active),
            (S::PendingReceipt, E::Revoke, S::Revoked),
            (S::PendingReceipt, E::Expire, S::Expired),
        ];
        for &s in S::ALL {
            for &e in E::ALL {
                let want = allowed
                    .iter()
                    .find(|(f, ev, _)| *f == s && *ev == e)
                    .map(|t| t.2);
                assert_eq!(s.on(e), want, "{s:?} {e:?}");
            }
        }
        assert!(S::Active.signs() && !S::Lost.signs() && !S::Revoked.signs());
        assert!(!S::PendingReceipt.signs());
    }

    #[test]
    fn codes_are_thirteen_digits_led_by_the_region() {
        let c = new_code("330106");
        assert!(is_code(&c) && c.starts_with("330106"), "{c}");
        assert!(is_code(&new_code("bad")));
        assert!(!is_code("33010612345") && !is_code("330106123456x"));
        assert_eq!(SealType::parse("invoice"), Some(SealType::Invoice));
        assert_eq!(SealType::Personal.ses_type(), 2);
    }
}
