//! Payment providers: the `PaymentProvider` trait (start a payment → checkout URL and the
//! provider's reference; verify a callback → which payment was made, for how much) and
//! `DevProvider`, which behaves like a real one: its checkout is a page of ours
//! (`/pay/dev/{ref}`), and its "pay" button makes it send a signed callback over real HTTP to
//! our public base URL, as a provider's server would.

use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sealpki_pki::Secret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::{write_private, Config};
use crate::error::AppError;

/// The development provider's name, stored on its orders.
pub const DEV: &str = "development";
/// Headers of the development provider's callback.
pub const TIMESTAMP_HEADER: &str = "X-Dev-Pay-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Dev-Pay-Signature";
/// A callback's timestamp may differ from our clock by this much (replays of old ones fail).
pub const SKEW_SECONDS: i64 = 300;
/// The secret's file in the data directory when `[payments] dev_secret_file` is unset.
pub const DEV_SECRET_FILE: &str = "dev-payment-secret";

/// Where to send the payer, and the provider's name for the payment.
#[derive(Debug)]
pub struct Checkout {
    pub url: String,
    pub reference: String,
}

/// A verified confirmation: the provider's reference and the amount it says was paid.
#[derive(Debug, PartialEq, Eq)]
pub struct Paid {
    pub reference: String,
    pub amount_fen: i64,
}

/// One payment provider. Its calls may block (network): callers run them off the executor.
pub trait PaymentProvider: Send + Sync {
    /// Stored on orders as `provider`.
    fn name(&self) -> &'static str;
    /// Begin paying `amount_fen` for `order_id`.
    fn start(&self, order_id: &str, amount_fen: i64) -> Result<Checkout, AppError>;
    /// Check a callback's authenticity (signature, freshness at `now`) and read it.
    fn verify_callback(&self, headers: &HeaderMap, body: &[u8], now: i64)
        -> Result<Paid, AppError>;
}

/// The development provider's callback body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevCallback {
    /// The reference the checkout was started with.
    pub reference: String,
    pub amount_fen: i64,
}

/// The development provider: HMAC-SHA256 over `"{timestamp}.{body}"` with a shared secret.
pub struct DevProvider {
    secret: Secret,
    base_url: String,
}

type HmacSha256 = Hmac<Sha256>;

impl DevProvider {
    /// The provider of this configuration: the secret from `[payments] dev_secret_file`, else
    /// the data directory's, made on first use (never replaced once there, so every instance
    /// sharing the directory agrees).
    pub fn open(config: &Config) -> Result<DevProvider, AppError> {
        let file = match &config.payments.dev_secret_file {
            Some(f) => f.clone(),
            None => {
                let f = config.data_dir.join(DEV_SECRET_FILE);
                if !f.exists() {
                    use rand_core::RngCore;
                    let mut b = [0u8; 32];
                    rand_core::OsRng.fill_bytes(&mut b);
                    let tmp = config
                        .data_dir
                        .join(format!("{DEV_SECRET_FILE}.{}.tmp", hex::encode(&b[..4])));
                    write_private(&tmp, hex::encode(b).as_bytes())
                        .map_err(|e| AppError::Internal(format!("payment secret: {e}")))?;
                    // A hard link never replaces a secret another instance made first.
                    let _ = std::fs::hard_link(&tmp, &f);
                    let _ = std::fs::remove_file(&tmp);
                }
                f
            }
        };
        let secret = Secret::from_file(&file)
            .map_err(|e| AppError::Internal(format!("payment secret {}: {e}", file.display())))?;
        if secret.expose().len() < 16 {
            return Err(AppError::Internal(format!(
                "payment secret {}: at least 16 characters",
                file.display()
            )));
        }
        Ok(DevProvider {
            secret,
            base_url: config.public_base_url(),
        })
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut m = HmacSha256::new_from_slice(self.secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        m.update(timestamp.as_bytes());
        m.update(b".");
        m.update(body);
        m
    }

    /// The signature header's value for `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        hex::encode(
            self.mac(&timestamp.to_string(), body)
                .finalize()
                .into_bytes(),
        )
    }

    /// What the checkout page's "pay" button does: send the signed callback to our public base
    /// URL over HTTP, as the provider's server would. Blocking.
    pub fn send_callback(&self, reference: &str, amount_fen: i64) -> Result<(), String> {
        let body = serde_json::to_vec(&DevCallback {
            reference: reference.to_string(),
            amount_fen,
        })
        .map_err(|e| e.to_string())?;
        let ts = crate::store::now();
        let url = format!("{}/api/v1/payments/dev/callback", self.base_url);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(30))
            .timeout_write(Duration::from_secs(30))
            .redirects(0)
            .user_agent(concat!("sealpki-dev-pay/", env!("CARGO_PKG_VERSION")))
            .build();
        match agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set(TIMESTAMP_HEADER, &ts.to_string())
            .set(SIGNATURE_HEADER, &self.sign(ts, &body))
            .send_bytes(&body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => Err(format!("{url} answered HTTP {code}")),
            Err(ureq::Error::Transport(t)) => Err(format!("{url}: {t}")),
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, AppError> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest(format!("a payment callback carries {name}")))
}

impl PaymentProvider for DevProvider {
    fn name(&self) -> &'static str {
        DEV
    }

    fn start(&self, _order_id: &str, _amount_fen: i64) -> Result<Checkout, AppError> {
        use rand_core::RngCore;
        let mut b = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut b);
        let reference = format!("dev_{}", hex::encode(b));
        Ok(Checkout {
            url: format!("{}/pay/dev/{reference}", self.base_url),
            reference,
        })
    }

    fn verify_callback(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Paid, AppError> {
        let ts_s = header(headers, TIMESTAMP_HEADER)?;
        let sig = header(headers, SIGNATURE_HEADER)?;
        let ts: i64 = ts_s
            .parse()
            .map_err(|_| AppError::BadSignature(format!("{TIMESTAMP_HEADER}: Unix seconds")))?;
        if now.checked_sub(ts).is_none_or(|d| d.abs() > SKEW_SECONDS) {
            return Err(AppError::BadSignature(format!(
                "{TIMESTAMP_HEADER} is more than {SKEW_SECONDS} s from our clock"
            )));
        }
        let sig = hex::decode(sig)
            .map_err(|_| AppError::BadSignature(format!("{SIGNATURE_HEADER}: hex HMAC-SHA256")))?;
        // verify_slice compares in constant time.
        self.mac(ts_s, body).verify_slice(&sig).map_err(|_| {
            AppError::BadSignature("the callback's signature does not verify".into())
        })?;
        let cb: DevCallback = serde_json::from_slice(body)
            .map_err(|e| AppError::BadRequest(format!("callback body: {e}")))?;
        Ok(Paid {
            reference: cb.reference,
            amount_fen: cb.amount_fen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DevProvider {
        DevProvider {
            secret: Secret::new("0123456789abcdef0123456789abcdef"),
            base_url: "http://127.0.0.1:1".into(),
        }
    }

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
        h.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        h
    }

    #[test]
    fn callbacks_verify_only_when_signed_fresh_and_unchanged() {
        let p = dev();
        let body = br#"{"reference":"dev_1","amount_fen":100}"#;
        let now = 1_800_000_000;
        let sig = p.sign(now, body);
        let ok = p
            .verify_callback(&headers(now, &sig), body, now + 10)
            .unwrap();
        assert_eq!(ok.amount_fen, 100);
        let changed = br#"{"reference":"dev_1","amount_fen":1}"#;
        for (h, b, at) in [
            (headers(now, &sig), &changed[..], now),
            (headers(now, &sig), &body[..], now + SKEW_SECONDS + 1),
            (headers(now + 1, &sig), &body[..], now),
            (headers(now, "00"), &body[..], now),
        ] {
            assert!(matches!(
                p.verify_callback(&h, b, at),
                Err(AppError::BadSignature(_))
            ));
        }
        assert!(matches!(
            p.verify_callback(&HeaderMap::new(), body, now),
            Err(AppError::BadRequest(_))
        ));
    }
}
