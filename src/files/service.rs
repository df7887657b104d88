//! The file service over `App`: accept an upload (checked in full before anything is stored), put
//! its content in the object store, record and audit it; read a record and its content for those
//! `may_read` allows.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::json;

use super::check::accept;
use super::name::FileName;
use super::objects::{LocalStore, ObjectError, ObjectKey, ObjectStore};
use super::purpose::FilePurpose;
use super::s3::S3Store;
use crate::access::Actor;
use crate::app::App;
use crate::config::{Config, ObjectStoreKind};
use crate::error::AppError;
use crate::store::{FileRow, Role, Store, StoreError};

/// An upload as the front end received it.
pub struct Upload {
    pub purpose: FilePurpose,
    pub name: FileName,
    /// The Content-Type the client declared for the file, if any.
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// Who may read a file and its content: its uploader; administrators and auditors (whose roles
/// oversee everything); not other operators. The one place this is decided, so that the policy
/// module can take it over.
pub fn may_read(actor: &Actor, file: &FileRow) -> bool {
    actor.name == file.uploaded_by || matches!(actor.role, Role::Admin | Role::Auditor)
}

fn object_error(e: ObjectError) -> AppError {
    e.into()
}

impl From<ObjectError> for AppError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::Io { .. } | ObjectError::Remote(_) => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// The object store `[files] store` names: the local file system under `<data_dir>/objects`
/// (the default), or S3.
pub fn open_store(config: &Config) -> Result<Arc<dyn ObjectStore>, AppError> {
    match config.files.store {
        ObjectStoreKind::Local => {
            let local = LocalStore::new(config.data_dir.join("objects"));
            // Temporary files a crash left; a day is far longer than any upload takes.
            let swept = local.sweep_tmp(std::time::Duration::from_secs(24 * 3600));
            if swept > 0 {
                tracing::info!(swept, "removed stale temporary upload files");
            }
            Ok(Arc::new(local))
        }
        ObjectStoreKind::S3 => {
            let s3 = config.files.s3.as_ref().ok_or_else(|| {
                AppError::BadRequest("[files] store = \"s3\" needs a [files.s3] section".into())
            })?;
            let store = S3Store::open(s3).map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(Arc::new(store))
        }
    }
}

impl App {
    /// Accept, store, record and audit an upload. Any refusal comes before the object store or the
    /// database is touched, so a refused upload leaves nothing behind.
    pub async fn file_upload(&self, actor: &Actor, up: Upload) -> Result<FileRow, AppError> {
        let Upload {
            purpose,
            name,
            content_type,
            data,
        } = up;
        let (d, n) = (data.clone(), name.clone());
        let (media, key) = tokio::task::spawn_blocking(move || {
            accept(purpose, &n, content_type.as_deref(), &d).map(|m| (m, ObjectKey::of(&d)))
        })
        .await
        .map_err(|e| AppError::Internal(format!("file check task: {e}")))??;
        let size = i64::try_from(data.len())
            .map_err(|_| AppError::Internal("upload size does not fit".into()))?;
        // Content first, record after: a crash between leaves an unreferenced object (harmless, and
        // reused by the next identical upload), never a record without content.
        self.objects.put(key, data).await.map_err(object_error)?;
        let row = FileRow {
            id: new_id(),
            sha256: key.hex(),
            size,
            media_type: media,
            purpose,
            original_name: name.as_str().to_string(),
            uploaded_by: actor.name.clone(),
            created_at: crate::store::now(),
            owner: None,
        };
        let mut tx = self.store.begin().await?;
        Store::file_insert(&mut tx, &row).await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "file.upload",
                json!({
                    "id": row.id,
                    "sha256": row.sha256,
                    "size": row.size,
                    "media_type": media.mime(),
                    "purpose": purpose.name(),
                }),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(row)
    }

    /// A file's record, for those who may read it.
    pub async fn file_get(&self, actor: &Actor, id: &str) -> Result<FileRow, AppError> {
        let not_found = || AppError::NotFound(format!("no file {id:?}"));
        // Ids are 32 hex digits: anything else is not looked up.
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let row = self.store.file_get(id).await?.ok_or_else(not_found)?;
        if !may_read(actor, &row) {
            return Err(AppError::Denied(format!(
                "file {id} was uploaded by another operator: only its uploader, administrators and \
                 auditors may read it"
            )));
        }
        Ok(row)
    }

    /// A file's record and content (checked against its SHA-256 on the way out).
    pub async fn file_content(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(FileRow, Bytes), AppError> {
        let row = self.file_get(actor, id).await?;
        self.file_bytes(row).await
    }

    /// A file attached to a record, for a service that decided who may read the record (a seal
    /// application's scan for its reviewers, an impression for production).
    pub(crate) async fn attached_file(&self, id: &str) -> Result<(FileRow, Bytes), AppError> {
        let row = self
            .store
            .file_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no file {id:?}")))?;
        self.file_bytes(row).await
    }

    async fn file_bytes(&self, row: FileRow) -> Result<(FileRow, Bytes), AppError> {
        let id = row.id.clone();
        let key = ObjectKey::parse(&row.sha256).ok_or_else(|| {
            AppError::Internal(format!(
                "file {id}: stored sha256 {:?} is not a key",
                row.sha256
            ))
        })?;
        let data = self
            .objects
            .get(key)
            .await
            .map_err(object_error)?
            .ok_or_else(|| AppError::Internal(format!("file {id}: object {key} is missing")))?;
        Ok((row, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::MediaType;

    #[test]
    fn the_configured_store_is_opened() {
        let mut cfg: Config = toml::from_str("").unwrap();
        assert!(open_store(&cfg).is_ok(), "local by default");
        cfg.files.store = ObjectStoreKind::S3;
        let e = open_store(&cfg).err().unwrap().to_string();
        assert!(e.contains("[files.s3]"), "{e}");
        let cfg: Config = toml::from_str(
            "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\n\
             allow_http = true\naccess_key_id_file = \"/nonexistent/id\"\n\
             secret_access_key_file = \"/nonexistent/secret\"\n",
        )
        .unwrap();
        let e = open_store(&cfg).err().unwrap().to_string();
        assert!(e.contains("/nonexistent/id"), "{e}");
        assert!(toml::from_str::<Config>("[files]\nstore = \"ftp\"\n").is_err());
    }

    #[test]
    fn who_may_read() {
        let file = FileRow {
            id: "0".repeat(32),
            sha256: "0".repeat(64),
            size: 1,
            media_type: MediaType::Png,
            purpose: FilePurpose::Attachment,
            original_name: "a.png".into(),
            uploaded_by: "alice".into(),
            created_at: 0,
            owner: None,
        };
        let who = |name: &str, role| Actor {
            name: name.into(),
            role,
        };
        assert!(may_read(&who("alice", Role::Operator), &file));
        assert!(!may_read(&who("bob", Role::Operator), &file));
        assert!(may_read(&who("root", Role::Admin), &file));
        assert!(may_read(&who("eve", Role::Auditor), &file));
    }
}
