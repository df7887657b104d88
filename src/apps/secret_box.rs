//! API-key secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the data
//! directory's secret material — `DATA_DIR/app-secrets.key`, 32 random bytes made on first use
//! and never replaced (a hard link, as the payment secret), so every instance sharing the
//! directory agrees. Each sealed value is bound to its credential and app (the AAD), so a sealed
//! secret copied to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::config::{write_private, Config};
use crate::error::AppError;

/// The file of the secret material in the data directory.
pub const KEY_FILE: &str = "app-secrets.key";
/// The first byte of a sealed value: the format.
const VERSION: u8 = 1;

/// Seals and opens API-key secrets. No `Debug`: it holds the key.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    /// The box of this configuration's data directory (the material made on first use).
    pub fn open(config: &Config) -> Result<SecretBox, AppError> {
        let file = config.data_dir.join(KEY_FILE);
        if !file.exists() {
            let mut b = Zeroizing::new([0u8; 32]);
            rand_core::OsRng.fill_bytes(&mut b[..]);
            let mut tag = [0u8; 4];
            rand_core::OsRng.fill_bytes(&mut tag);
            let tmp = config
                .data_dir
                .join(format!("{KEY_FILE}.{}.tmp", hex::encode(tag)));
            write_private(&tmp, hex::encode(&b[..]).as_bytes())
                .map_err(|e| AppError::Internal(format!("app secret material: {e}")))?;
            // A hard link never replaces material another instance made first.
            let _ = std::fs::hard_link(&tmp, &file);
            let _ = std::fs::remove_file(&tmp);
        }
        let text = Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
            AppError::Internal(format!("app secret material {}: {e}", file.display()))
        })?);
        let ikm = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
            AppError::Internal(format!("app secret material {}: not hex", file.display()))
        })?);
        if ikm.len() < 32 {
            return Err(AppError::Internal(format!(
                "app secret material {}: at least 32 bytes",
                file.display()
            )));
        }
        Ok(Self::from_material(&ikm))
    }

    /// The box of given material (tests; `open` reads it from the data directory).
    pub fn from_material(ikm: &[u8]) -> SecretBox {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"sealpki"), ikm);
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(b"app-credential-secrets/v1", &mut key[..])
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        SecretBox {
            cipher: Aes256Gcm::new_from_slice(&key[..])
                .unwrap_or_else(|_| unreachable!("AES-256 takes 32-byte keys")),
        }
    }

    fn aad(app_id: &str, credential_id: &str) -> Vec<u8> {
        format!("sealpki app credential\n{app_id}\n{credential_id}").into_bytes()
    }

    /// `secret` sealed for one credential: version, 12-byte nonce, ciphertext and tag.
    pub fn seal(
        &self,
        app_id: &str,
        credential_id: &str,
        secret: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        let mut nonce = [0u8; 12];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let aad = Self::aad(app_id, credential_id);
        let ct = self
            .cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| AppError::Internal("sealing an app secret failed".into()))?;
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The secret of one credential; an error when the value is not one this box sealed for it.
    pub fn open_secret(
        &self,
        app_id: &str,
        credential_id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AppError> {
        let bad = || {
            AppError::Internal(format!(
                "the sealed secret of credential {credential_id} does not open (another data \
                 directory's {KEY_FILE}?)"
            ))
        };
        if sealed.len() < 1 + 12 + 16 || sealed[0] != VERSION {
            return Err(bad());
        }
        let aad = Self::aad(app_id, credential_id);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[1..13]);
        self.cipher
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: &sealed[13..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_credential() {
        let b = SecretBox::from_material(&[1u8; 32]);
        let s = b.seal("app", "cred", b"the secret").unwrap();
        assert_eq!(s[0], VERSION);
        assert!(!s.windows(10).any(|w| w == b"the secret"));
        assert_eq!(
            b.open_secret("app", "cred", &s).unwrap().as_slice(),
            b"the secret"
        );
        assert!(b.open_secret("app", "other", &s).is_err());
        assert!(b.open_secret("other", "cred", &s).is_err());
        assert!(SecretBox::from_material(&[2u8; 32])
            .open_secret("app", "cred", &s)
            .is_err());
        let mut t = s.clone();
        t[20] ^= 1;
        assert!(b.open_secret("app", "cred", &t).is_err());
        assert!(b.open_secret("app", "cred", &s[..10]).is_err());
    }
}
