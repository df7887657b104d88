//! What sealing with a seal needs besides the grant, kept in memory for the apps' signing path:
//! the seal's key opened through the one key check, its row, and its picture decoded (decoding
//! a seal's picture costs far more than the signature). The seal's state is not taken from
//! here: every sealing's commit requires the seal active (`in_force.rs`), so a lost or revoked
//! seal stops at once; a renewed certificate is picked up within [`MATERIAL_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sealpki_pki::pdf::image::SealImage;

use crate::error::AppError;

/// How long a seal's key and row are reused before they are read again.
pub const MATERIAL_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most seals' material kept.
const MATERIALS_MAX: usize = 1024;
/// Most decoded pictures kept.
const PICTURES_MAX: usize = 128;

/// A seal's signing material.
pub(crate) struct SealMaterial {
    /// Shared: a sealing takes it without copying the certificates.
    pub key: Arc<crate::signing::SigningKey>,
    pub seal: crate::store::SealRow,
    pub image: SealImage,
}

/// One seal's material, filled once: when it goes stale under load, the first request makes a
/// new slot and every request beside it waits for that one fill instead of reading and decoding
/// the seal itself.
type Slot = Arc<tokio::sync::OnceCell<Arc<SealMaterial>>>;

#[derive(Default)]
pub(crate) struct Materials {
    by_seal: Mutex<HashMap<String, (Instant, Slot)>>,
    /// Decoded pictures by the SHA-256 of their PNG: a refresh reads the seal again but decodes
    /// its picture only when the picture changed.
    pictures: Mutex<HashMap<[u8; 32], SealImage>>,
}

impl Materials {
    /// The slot of `seal_id`: the fresh one, or a new empty one in place of a stale one.
    fn slot(&self, seal_id: &str) -> Slot {
        let mut map = self.by_seal.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, slot)) = map.get(seal_id) {
            if at.elapsed() < MATERIAL_TTL {
                return slot.clone();
            }
        }
        if map.len() >= MATERIALS_MAX {
            map.retain(|_, (at, _)| at.elapsed() < MATERIAL_TTL);
            if map.len() >= MATERIALS_MAX {
                map.clear();
            }
        }
        let slot = Slot::default();
        map.insert(seal_id.to_string(), (Instant::now(), slot.clone()));
        slot
    }

    fn picture(&self, digest: &[u8; 32]) -> Option<SealImage> {
        let map = self.pictures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(digest).cloned()
    }

    fn keep_picture(&self, digest: [u8; 32], image: &SealImage) {
        let mut map = self.pictures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PICTURES_MAX {
            map.clear();
        }
        map.insert(digest, image.clone());
    }
}

impl crate::app::App {
    /// The signing material of the grant's seal: the key (through the one key check,
    /// `seal_signing_key_granted`), the row and the decoded picture; from memory when fresh.
    pub(crate) async fn seal_material(
        &self,
        grant: &super::grant_service::GrantInForce,
    ) -> Result<Arc<SealMaterial>, AppError> {
        let slot = self.apps.materials.slot(&grant.seal_id);
        let m = slot
            .get_or_try_init(|| async {
                let (key, seal) = self.seal_signing_key_granted(grant).await?;
                let digest: [u8; 32] =
                    <sha2::Sha256 as sha2::Digest>::digest(&seal.picture_png).into();
                let image = match self.apps.materials.picture(&digest) {
                    Some(i) => i,
                    None => {
                        let png = seal.picture_png.clone();
                        let i = tokio::task::spawn_blocking(move || SealImage::from_bytes(&png))
                            .await
                            .map_err(|e| AppError::Internal(format!("seal picture: {e}")))?
                            .map_err(|e| AppError::Internal(format!("seal picture: {e}")))?;
                        self.apps.materials.keep_picture(digest, &i);
                        i
                    }
                };
                Ok::<_, AppError>(Arc::new(SealMaterial {
                    key: Arc::new(key),
                    seal,
                    image,
                }))
            })
            .await?;
        Ok(m.clone())
    }
}
