//! What an order is: its states and the one transition table, who pays, the price of a seal,
//! and the checks of what an applicant types (invoice title, shipping address).

use crate::accounts::ids::{CreditCode, Mobile};
use crate::config::PaymentsConfig;
use crate::error::AppError;
use crate::named_enum;
use crate::seals::model::{SealType, SigningMode};
use crate::workflow::Named;

named_enum! {
    /// Where an order stands.
    pub enum OrderState {
        /// Made, waiting for the provider's confirmation.
        Created = "created",
        /// 已支付 — confirmed by the provider, or covered by unified payment.
        Paid = "paid",
        /// Given up before payment (the application was withdrawn).
        Cancelled = "cancelled",
        /// Paid, then the money went back.
        Refunded = "refunded",
    }
}

named_enum! {
    /// What can happen to an order.
    pub enum OrderEvent {
        /// The provider confirmed the payment (or a unified payer covers it).
        Pay = "pay",
        Cancel = "cancel",
        Refund = "refund",
    }
}

impl OrderState {
    /// The one transition table: the next state, or None when `event` does not apply.
    pub fn on(self, event: OrderEvent) -> Option<OrderState> {
        use OrderEvent as E;
        use OrderState as S;
        match (self, event) {
            (S::Created, E::Pay) => Some(S::Paid),
            (S::Created, E::Cancel) => Some(S::Cancelled),
            (S::Paid, E::Refund) => Some(S::Refunded),
            _ => None,
        }
    }
}

named_enum! {
    /// Who pays for an application.
    pub enum Payer {
        /// 自费 — the applying organisation, through the payment provider.
        SelfPaid = "self",
        /// 统一支付 — a regional body pays for the applications of its area; no checkout.
        Unified = "unified",
    }
}

/// The price of a seal in fen: its type's yearly price times the years, plus the UKey once.
/// Checked arithmetic: a misconfigured price cannot wrap.
pub fn price_fen(
    cfg: &PaymentsConfig,
    seal_type: SealType,
    years: u32,
    mode: SigningMode,
) -> Result<i64, AppError> {
    let per_year = *cfg
        .price_per_year_fen
        .get(seal_type.name())
        .ok_or_else(|| {
            AppError::Internal(format!(
                "[payments] price_per_year_fen has no price for {}",
                seal_type.name()
            ))
        })?;
    let extra = if mode == SigningMode::Ukey {
        cfg.ukey_fen
    } else {
        0
    };
    if per_year < 0 || extra < 0 {
        return Err(AppError::Internal(
            "[payments] prices are not negative".into(),
        ));
    }
    per_year
        .checked_mul(i64::from(years))
        .and_then(|a| a.checked_add(extra))
        .ok_or_else(|| AppError::Internal("[payments] price overflows".into()))
}

/// "1234.50" for 123450 fen.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, AppError> {
    let v = v.trim();
    let n = v.chars().count();
    if n == 0 || n > max || v.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field,
            rule: format!("1-{max} characters without control characters"),
        });
    }
    Ok(v.to_string())
}

/// The invoice's title (the organisation's name as invoiced) and GB 32100 taxpayer number.
pub fn check_invoice(title: &str, taxpayer: &str) -> Result<(String, String), AppError> {
    let title = text("invoice_title", title, 100)?;
    let code = CreditCode::parse(taxpayer.trim()).map_err(|e| AppError::Invalid {
        field: "taxpayer",
        rule: e.to_string(),
    })?;
    Ok((title, code.as_str().to_string()))
}

/// A shipping address as typed: recipient, mainland mobile number, current GB/T 2260 region
/// code, street detail. The number comes back in full (stored), never in an error.
pub struct NewAddress {
    pub recipient: String,
    pub mobile: String,
    pub region: String,
    pub detail: String,
}

impl NewAddress {
    pub fn check(
        recipient: &str,
        mobile: &str,
        region: &str,
        detail: &str,
    ) -> Result<Self, AppError> {
        let recipient = text("recipient", recipient, 40)?;
        let mobile = Mobile::parse(mobile).map_err(|e| AppError::Invalid {
            field: "mobile",
            rule: e.to_string(),
        })?;
        let region = region.trim();
        if !crate::accounts::region::is_valid(region) {
            return Err(AppError::Invalid {
                field: "region",
                rule: "a GB/T 2260 region code (6 digits)".into(),
            });
        }
        let detail = text("detail", detail, 200)?;
        Ok(NewAddress {
            recipient,
            mobile: mobile.expose().to_string(),
            region: region.to_string(),
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_table_holds() {
        use OrderEvent as E;
        use OrderState as S;
        let table = [
            (S::Created, E::Pay, Some(S::Paid)),
            (S::Created, E::Cancel, Some(S::Cancelled)),
            (S::Created, E::Refund, None),
            (S::Paid, E::Pay, None),
            (S::Paid, E::Cancel, None),
            (S::Paid, E::Refund, Some(S::Refunded)),
            (S::Cancelled, E::Pay, None),
            (S::Cancelled, E::Cancel, None),
            (S::Cancelled, E::Refund, None),
            (S::Refunded, E::Pay, None),
            (S::Refunded, E::Cancel, None),
            (S::Refunded, E::Refund, None),
        ];
        assert_eq!(
            table.len(),
            S::ALL.len() * E::ALL.len(),
            "every pair listed"
        );
        for (s, e, want) in table {
            assert_eq!(s.on(e), want, "{} on {}", s.name(), e.name());
        }
        for s in S::ALL {
            assert_eq!(Some(*s), S::parse(s.name()));
        }
        assert_eq!(S::parse("PAID"), None);
    }

    #[test]
    fn prices_and_yuan() {
        let cfg = PaymentsConfig::default();
        for t in SealType::ALL {
            assert!(
                cfg.price_per_year_fen.contains_key(t.name()),
                "{}",
                t.name()
            );
        }
        assert_eq!(
            price_fen(&cfg, SealType::Contract, 2, SigningMode::Cloud).unwrap(),
            40000
        );
        assert_eq!(
            price_fen(&cfg, SealType::Contract, 1, SigningMode::Ukey).unwrap(),
            30000
        );
        let mut big = cfg.clone();
        big.price_per_year_fen.insert("contract".into(), i64::MAX);
        assert!(price_fen(&big, SealType::Contract, 2, SigningMode::Cloud).is_err());
        assert_eq!(yuan(40000), "400.00");
        assert_eq!(yuan(5), "0.05");
    }

    #[test]
    fn invoices_and_addresses_are_checked() {
        assert!(check_invoice("杭州示例科技有限公司", "913301061234567887").is_ok());
        assert!(check_invoice("", "913301061234567887").is_err());
        assert!(check_invoice("x", "913301061234567880").is_err());
        let a = NewAddress::check("张三", "+86 139-0000-0001", "330106", "文三路 1 号").unwrap();
        assert_eq!(a.mobile, "13900000001");
        assert!(NewAddress::check("张三", "12345", "330106", "x").is_err());
        assert!(NewAddress::check("张三", "13900000001", "999999", "x").is_err());
    }
}
