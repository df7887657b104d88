//! Uploaded files' records: one row per upload, naming its content by SHA-256 (content itself is in
//! the object store, shared by rows with the same hash).

use sqlx::Row;

use super::{Store, StoreError, Tx};
use crate::files::{FilePurpose, MediaType};

/// One upload as stored.
#[derive(Clone, Debug)]
pub struct FileRow {
    /// 32 hex digits, random.
    pub id: String,
    /// The content's SHA-256, lower-case hex: its key in the object store.
    pub sha256: String,
    pub size: i64,
    pub media_type: MediaType,
    pub purpose: FilePurpose,
    pub original_name: String,
    /// The username of whoever uploaded it.
    pub uploaded_by: String,
    pub created_at: i64,
    /// The record the file belongs to (kind and id), once it is attached to one.
    pub owner: Option<(String, String)>,
}

const COLUMNS: &str = "id, sha256, size, media_type, purpose, original_name, uploaded_by, \
     created_at, owner_kind, owner_id";

fn file_row(r: &sqlx::any::AnyRow) -> Result<FileRow, StoreError> {
    let media: String = r.try_get(3)?;
    let purpose: String = r.try_get(4)?;
    let owner_kind: Option<String> = r.try_get(8)?;
    let owner_id: Option<String> = r.try_get(9)?;
    let id: String = r.try_get(0)?;
    Ok(FileRow {
        media_type: MediaType::from_mime(&media).ok_or_else(|| {
            StoreError::Corrupt(format!("file {id} has unknown media type {media:?}"))
        })?,
        purpose: FilePurpose::parse(&purpose).ok_or_else(|| {
            StoreError::Corrupt(format!("file {id} has unknown purpose {purpose:?}"))
        })?,
        sha256: r.try_get(1)?,
        size: r.try_get(2)?,
        original_name: r.try_get(5)?,
        uploaded_by: r.try_get(6)?,
        created_at: r.try_get(7)?,
        owner: owner_kind.zip(owner_id),
        id,
    })
}

impl Store {
    pub async fn file_insert(tx: &mut Tx<'_>, f: &FileRow) -> Result<(), StoreError> {
        let (kind, id) = match &f.owner {
            Some((k, i)) => (Some(k.as_str()), Some(i.as_str())),
            None => (None, None),
        };
        sqlx::query(&format!(
            "INSERT INTO files ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&f.id)
        .bind(&f.sha256)
        .bind(f.size)
        .bind(f.media_type.mime())
        .bind(f.purpose.name())
        .bind(&f.original_name)
        .bind(&f.uploaded_by)
        .bind(f.created_at)
        .bind(kind)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn file_get(&self, id: &str) -> Result<Option<FileRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM files WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(file_row).transpose()
    }

    /// How many records name content `sha256` (an object may be deleted only at zero).
    pub async fn file_count_by_sha256(&self, sha256: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM files WHERE sha256 = $1")
            .bind(sha256)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }
}
