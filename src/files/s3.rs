//! `S3Store`: the object store on S3 or an S3-compatible server (MinIO, Ceph RGW), for deployments
//! with several instances; through the `object_store` crate. Credentials from files or the
//! environment, never from the configuration text; none of them is ever printed.

use std::fmt;
use std::path::Path;

use axum::body::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, PutMode, PutOptions, PutPayload};

use super::objects::{ObjectError, ObjectFuture, ObjectKey, ObjectStore};
use crate::config::S3Config;

/// Environment variables for the credentials when no file names them (else object_store reads
/// the usual `AWS_*` variables and instance metadata).
pub const ACCESS_KEY_ENV: &str = "SEALPKI_S3_ACCESS_KEY_ID";
pub const SECRET_KEY_ENV: &str = "SEALPKI_S3_SECRET_ACCESS_KEY";

/// Objects as `PREFIX/ab/cdef…` in one bucket. Puts are conditional (`If-None-Match: *`), so an
/// object is never replaced; a server that cannot do that gets a plain put of the same bytes.
pub struct S3Store {
    inner: AmazonS3,
    bucket: String,
    prefix: String,
}

impl fmt::Debug for S3Store {
    // Not derived: the client's own Debug would show its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store(s3://{}/{})", self.bucket, self.prefix)
    }
}

fn remote(e: object_store::Error) -> ObjectError {
    ObjectError::Remote(e.to_string())
}

fn read_secret(path: &Path) -> Result<String, ObjectError> {
    let text = std::fs::read_to_string(path).map_err(|source| ObjectError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text.trim().to_string())
}

fn credential(file: Option<&Path>, env: &str) -> Result<Option<String>, ObjectError> {
    match file {
        Some(p) => read_secret(p).map(Some),
        None => Ok(std::env::var(env).ok().filter(|v| !v.is_empty())),
    }
}

impl S3Store {
    pub fn open(cfg: &S3Config) -> Result<S3Store, ObjectError> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_allow_http(cfg.allow_http);
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        let id = credential(cfg.access_key_id_file.as_deref(), ACCESS_KEY_ENV)?;
        let secret = credential(cfg.secret_access_key_file.as_deref(), SECRET_KEY_ENV)?;
        match (id, secret) {
            (Some(id), Some(secret)) => {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
            }
            (None, None) => {} // the AWS_* environment or instance credentials
            _ => {
                return Err(ObjectError::Config(
                    "S3 credentials: give both the access key id and the secret access key".into(),
                ))
            }
        }
        let inner = b.build().map_err(|e| ObjectError::Config(e.to_string()))?;
        Ok(S3Store {
            inner,
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.trim_matches('/').to_string(),
        })
    }

    fn path(&self, key: ObjectKey) -> ObjectPath {
        let hex = key.hex();
        if self.prefix.is_empty() {
            ObjectPath::from(format!("{}/{}", &hex[..2], &hex[2..]))
        } else {
            ObjectPath::from(format!("{}/{}/{}", self.prefix, &hex[..2], &hex[2..]))
        }
    }

    async fn size(&self, key: ObjectKey) -> Result<Option<u64>, ObjectError> {
        match self.inner.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(remote(e)),
        }
    }

    async fn put_async(&self, key: ObjectKey, data: Bytes) -> Result<bool, ObjectError> {
        if ObjectKey::of(&data) != key {
            return Err(ObjectError::KeyMismatch(key));
        }
        if let Some(stored) = self.size(key).await? {
            return if stored == data.len() as u64 {
                Ok(false)
            } else {
                Err(ObjectError::Corrupt {
                    key,
                    what: format!("{stored} bytes stored, the content has {}", data.len()),
                })
            };
        }
        let path = self.path(key);
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .inner
            .put_opts(&path, PutPayload::from(data.clone()), create)
            .await
        {
            Ok(_) => Ok(true),
            // Another instance stored the same content first.
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(object_store::Error::NotImplemented) => {
                // Same key, same bytes: replacing an object with itself changes nothing.
                self.inner
                    .put(&path, PutPayload::from(data))
                    .await
                    .map(|_| true)
                    .map_err(remote)
            }
            Err(e) => Err(remote(e)),
        }
    }

    async fn get_async(&self, key: ObjectKey) -> Result<Option<Bytes>, ObjectError> {
        let got = match self.inner.get(&self.path(key)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(remote(e)),
        };
        let data = got.bytes().await.map_err(remote)?;
        let actual = ObjectKey::of(&data);
        if actual != key {
            return Err(ObjectError::Corrupt {
                key,
                what: format!("its content hashes to {actual}"),
            });
        }
        Ok(Some(data))
    }

    async fn delete_async(&self, key: ObjectKey) -> Result<bool, ObjectError> {
        if self.size(key).await?.is_none() {
            return Ok(false);
        }
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(remote(e)),
        }
    }
}

impl ObjectStore for S3Store {
    fn put(&self, key: ObjectKey, data: Bytes) -> ObjectFuture<'_, bool> {
        Box::pin(self.put_async(key, data))
    }

    fn get(&self, key: ObjectKey) -> ObjectFuture<'_, Option<Bytes>> {
        Box::pin(self.get_async(key))
    }

    fn exists(&self, key: ObjectKey) -> ObjectFuture<'_, bool> {
        Box::pin(async move { self.size(key).await.map(|s| s.is_some()) })
    }

    fn delete(&self, key: ObjectKey) -> ObjectFuture<'_, bool> {
        Box::pin(self.delete_async(key))
    }
}
