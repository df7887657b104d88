//! Content-addressed object storage: the `ObjectStore` trait (put, get, exists, delete by SHA-256)
//! and `LocalStore`, the embedded default under `<data_dir>/objects`.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use axum::body::Bytes;
use rand_core::RngCore;
use sha2::{Digest, Sha256};

/// An object's name: the SHA-256 of its content. Made from content or parsed from stored hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectKey([u8; 32]);

impl ObjectKey {
    pub fn of(data: &[u8]) -> ObjectKey {
        ObjectKey(Sha256::digest(data).into())
    }

    /// 64 lower-case hex digits, as stored in `files.sha256`.
    pub fn parse(s: &str) -> Option<ObjectKey> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut k = [0u8; 32];
        hex::decode_to_slice(s, &mut k).ok()?;
        Some(ObjectKey(k))
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({})", self.hex())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object store {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("content does not hash to the key it was given ({0})")]
    KeyMismatch(ObjectKey),
    #[error("stored object {key} is damaged: {what}")]
    Corrupt { key: ObjectKey, what: String },
    #[error("object store task failed: {0}")]
    Task(String),
    /// The remote store (S3) refused or could not be reached.
    #[error("object store: {0}")]
    Remote(String),
    #[error("object store configuration: {0}")]
    Config(String),
}

pub type ObjectFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ObjectError>> + Send + 'a>>;

/// Where file content lives, by content address. Objects are immutable: `put` never replaces one,
/// and putting the same content again is a no-op, so concurrent identical uploads are safe.
pub trait ObjectStore: Send + Sync {
    /// Store `data` under `key`, which must be its SHA-256. `true` when written now, `false` when
    /// the object was already there.
    fn put(&self, key: ObjectKey, data: Bytes) -> ObjectFuture<'_, bool>;
    /// The content, checked against its key; `None` when there is no such object.
    fn get(&self, key: ObjectKey) -> ObjectFuture<'_, Option<Bytes>>;
    fn exists(&self, key: ObjectKey) -> ObjectFuture<'_, bool>;
    /// Remove an object; `false` when there was none. Callers must know that no record still
    /// names it (content is shared between records).
    fn delete(&self, key: ObjectKey) -> ObjectFuture<'_, bool>;
}

/// Objects as files: `ROOT/ab/cdef…` (the first two hex digits as a directory, the other 62 as the
/// name), written to `ROOT/tmp/`, synced, then hard-linked into place — a link never replaces an
/// existing file — and the directory synced. Files are 0600, directories 0700.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ObjectError + '_ {
    move |source| ObjectError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn mkdirs(path: &Path) -> Result<(), ObjectError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Remove temporary files older than `age` (left by a crash between writing and linking);
    /// younger ones may belong to an upload in progress, here or in another instance. Best effort:
    /// returns how many were removed.
    pub fn sweep_tmp(&self, age: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else {
            return 0;
        };
        let now = std::time::SystemTime::now();
        entries
            .flatten()
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|d| d > age)
            })
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }

    /// The file an object lives in.
    pub fn path(&self, key: ObjectKey) -> PathBuf {
        let hex = key.hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    fn put_blocking(&self, key: ObjectKey, data: &[u8]) -> Result<bool, ObjectError> {
        if ObjectKey::of(data) != key {
            return Err(ObjectError::KeyMismatch(key));
        }
        let dest = self.path(key);
        if let Some(existing) = self.existing_len(&dest)? {
            return self.same_length(key, existing, data.len()).map(|()| false);
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let tmp_dir = self.root.join("tmp");
        let new_shard = !dir.exists();
        mkdirs(&dir)?;
        mkdirs(&tmp_dir)?;
        let mut rnd = [0u8; 8];
        rand_core::OsRng.fill_bytes(&mut rnd);
        let tmp = tmp_dir.join(format!("{}.{}", key.hex(), hex::encode(rnd)));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        let linked = std::fs::hard_link(&tmp, &dest);
        let _ = std::fs::remove_file(&tmp);
        let created = match linked {
            Ok(()) => true,
            // Another upload of the same content won the race: the same bytes are there.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io(&dest)(e)),
        };
        // The new directory entry is durable only once its directory is synced (and a new shard
        // directory only once the root is).
        let sync_dir = |d: &Path| {
            std::fs::File::open(d)
                .and_then(|f| f.sync_all())
                .map_err(io(d))
        };
        sync_dir(&dir)?;
        if new_shard {
            sync_dir(&self.root)?;
        }
        Ok(created)
    }

    fn existing_len(&self, path: &Path) -> Result<Option<u64>, ObjectError> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn same_length(&self, key: ObjectKey, stored: u64, want: usize) -> Result<(), ObjectError> {
        if stored == want as u64 {
            Ok(())
        } else {
            Err(ObjectError::Corrupt {
                key,
                what: format!("{stored} bytes stored, the content has {want}"),
            })
        }
    }

    fn get_blocking(&self, key: ObjectKey) -> Result<Option<Bytes>, ObjectError> {
        let path = self.path(key);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let actual = ObjectKey::of(&data);
        if actual != key {
            return Err(ObjectError::Corrupt {
                key,
                what: format!("its content hashes to {actual}"),
            });
        }
        Ok(Some(Bytes::from(data)))
    }

    fn delete_blocking(&self, key: ObjectKey) -> Result<bool, ObjectError> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

/// Run file-system work on the blocking pool (fsync can take a while).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ObjectError> + Send + 'static,
) -> Result<T, ObjectError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ObjectError::Task(e.to_string()))?
}

impl ObjectStore for LocalStore {
    fn put(&self, key: ObjectKey, data: Bytes) -> ObjectFuture<'_, bool> {
        let me = self.clone();
        Box::pin(blocking(move || me.put_blocking(key, &data)))
    }

    fn get(&self, key: ObjectKey) -> ObjectFuture<'_, Option<Bytes>> {
        let me = self.clone();
        Box::pin(blocking(move || me.get_blocking(key)))
    }

    fn exists(&self, key: ObjectKey) -> ObjectFuture<'_, bool> {
        let me = self.clone();
        Box::pin(blocking(move || {
            me.existing_len(&me.path(key)).map(|l| l.is_some())
        }))
    }

    fn delete(&self, key: ObjectKey) -> ObjectFuture<'_, bool> {
        let me = self.clone();
        Box::pin(blocking(move || me.delete_blocking(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("objects"));
        let data = Bytes::from_static(b"seal picture");
        let key = ObjectKey::of(&data);
        assert_eq!(
            ObjectKey::of(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ObjectKey::parse(&key.hex()), Some(key));
        assert_eq!(ObjectKey::parse(&key.hex().to_uppercase()), None);
        assert!(!store.exists(key).await.unwrap());
        assert!(store.get(key).await.unwrap().is_none());
        assert!(store.put(key, data.clone()).await.unwrap());
        assert!(
            !store.put(key, data.clone()).await.unwrap(),
            "second put is a no-op"
        );
        assert!(store.exists(key).await.unwrap());
        assert_eq!(store.get(key).await.unwrap().unwrap(), data);
        let path = store.path(key);
        assert!(path.starts_with(dir.path().join("objects").join(&key.hex()[..2])));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Nothing left in the temporary directory.
        assert_eq!(
            std::fs::read_dir(store.root().join("tmp")).unwrap().count(),
            0
        );
        // A key that is not the content's hash is refused.
        let other = ObjectKey::of(b"other");
        assert!(matches!(
            store.put(other, data.clone()).await,
            Err(ObjectError::KeyMismatch(_))
        ));
        // Damage on disk is reported, not served.
        std::fs::write(&path, b"seal pictur!").unwrap();
        assert!(matches!(
            store.get(key).await,
            Err(ObjectError::Corrupt { .. })
        ));
        assert!(store.delete(key).await.unwrap());
        assert!(!store.delete(key).await.unwrap());
    }

    #[test]
    fn stale_temporary_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(store.sweep_tmp(std::time::Duration::ZERO), 0, "no tmp yet");
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("tmp").join("abc.123"), b"partial").unwrap();
        assert_eq!(
            store.sweep_tmp(std::time::Duration::from_secs(3600)),
            0,
            "too young"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(store.sweep_tmp(std::time::Duration::from_millis(10)), 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn concurrent_identical_puts_store_one_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(LocalStore::new(dir.path()));
        let data = Bytes::from(vec![7u8; 100_000]);
        let key = ObjectKey::of(&data);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (s, d) = (store.clone(), data.clone());
                tokio::spawn(async move { s.put(key, d).await.unwrap() })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            created += usize::from(t.await.unwrap());
        }
        assert_eq!(created, 1);
        assert_eq!(store.get(key).await.unwrap().unwrap(), data);
    }
}
