//! Storage: the only place with SQL. One schema per backend (`migrations/sqlite`, `migrations/postgres`),
//! one set of queries for both through sqlx's `Any` driver (`$N` placeholders work in both).

mod accounts;
mod app_sealing;
mod app_webhooks;
mod apps;
mod audit;
mod certs;
mod directory;
mod files;
mod grants;
mod jobs;
mod notifications;
mod orgs;
mod payments;
mod productions;
mod revocation;
mod seals;
mod workflow;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use accounts::{AccountRow, CodePurpose, SessionKind, SessionRow, SessionStage, SmsCodeRow};
pub use app_sealing::{Claimed, EvidenceRow, UsageRow};
pub use app_webhooks::{AppJobRow, DeliveryRow, WebhookSecrets};
pub use apps::{AppFilter, AppRow, CredentialRow};
pub use audit::{AuditRow, CheckpointRow};
pub use certs::{CertFilter, CertRow, CertState, PendingCert};
pub use directory::{CaRow, KeyPurpose, KeyRow, Role};
pub use files::FileRow;
pub use grants::{AppBriefRow, AppEventRow, GrantFilter, GrantListRow, GrantRow, InForceRow};
pub use jobs::{JobResult, JobRow, NewJob};
pub use notifications::NotificationRow;
pub use orgs::{MembershipRow, OrgRow};
pub use payments::{AddressRow, OrderFilter, OrderRow, UnifiedPayerRow};
pub use productions::ProductionRow;
pub use revocation::{CertStatusRow, CrlRow, RevokedRow};
pub use seals::{SealFilter, SealHistoryRow, SealMaterial, SealRow, ShipmentRow};
pub use workflow::{HistoryRow, IdempotencyRow, WorkflowFilter, WorkflowRow};

pub type Tx<'a> = Transaction<'a, Any>;

/// Every connection's set-up: WAL lets readers (and a CLI beside the server) run during SQLite's
/// writes; the busy timeout makes concurrent writers wait instead of failing.
async fn set_up(conn: &mut sqlx::AnyConnection, sync: &'static str) -> Result<(), sqlx::Error> {
    if conn.backend_name() == "SQLite" {
        conn.execute("PRAGMA journal_mode = WAL").await?;
        conn.execute(format!("PRAGMA synchronous = {sync}").as_str())
            .await?;
        conn.execute("PRAGMA busy_timeout = 30000").await?;
        conn.execute("PRAGMA foreign_keys = ON").await?;
    }
    Ok(())
}
/// A connection of one's own, outside the pool ([`Store::connect`]).
pub type Conn = sqlx::AnyConnection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://…)")]
    BadUrl(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database could not be reached or the pool is exhausted or closed (retry later), as
    /// opposed to a query it refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            )
        )
    }

    /// Map a unique-constraint violation to `Conflict`, naming the constraint.
    pub(crate) fn from_insert(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e {
            if d.is_unique_violation() {
                return StoreError::Conflict(d.constraint().unwrap_or(d.message()).to_string());
            }
        }
        StoreError::Db(e)
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// How the pool's connections were made, for a connection of one's own ([`Store::connect`]).
    options: AnyConnectOptions,
    sqlite_synchronous: &'static str,
}

/// The optimistic update every versioned record uses: `UPDATE table SET column = value, version =
/// version + 1, updated_at = now WHERE id AND version`; false when the row changed meanwhile.
/// `table` and `column` are this module's constants, never input.
async fn versioned_set(
    tx: &mut Tx<'_>,
    table: &'static str,
    column: &'static str,
    id: &str,
    version: i64,
    value: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "UPDATE {table} SET {column} = $1, version = version + 1, updated_at = $2 \
         WHERE id = $3 AND version = $4"
    ))
    .bind(value)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `($1, …, $k), ($k+1, …), …` for a multi-row INSERT of `rows` rows of `k` columns.
pub(crate) fn values_list(rows: usize, k: usize) -> String {
    let mut s = String::with_capacity(rows * k * 5);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..k {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * k + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

impl Store {
    /// Connect and bring the schema up to date.
    pub async fn open(
        url: &str,
        sqlite_synchronous: Option<&str>,
        max_connections: Option<u32>,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            if let Some(path) = url
                .strip_prefix("sqlite://")
                .map(|p| p.split('?').next().unwrap_or(p).to_string())
            {
                if let Some(parent) = std::path::Path::new(&path).parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let opts = AnyConnectOptions::from_str(&url)?;
        let sync = match sqlite_synchronous
            .unwrap_or("full")
            .to_ascii_lowercase()
            .as_str()
        {
            "normal" => "NORMAL",
            "full" => "FULL",
            other => {
                return Err(StoreError::BadUrl(format!(
                    "sqlite_synchronous {other:?} (full or normal)"
                )))
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.unwrap_or(if backend == Backend::Sqlite {
                8
            } else {
                16
            }))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| Box::pin(set_up(conn, sync)))
            .connect_with(opts.clone())
            .await?;
        let store = Store {
            pool,
            backend,
            options: opts,
            sqlite_synchronous: sync,
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&store.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A connection of one's own, set up as the pool's are (the group committer keeps one): no
    /// wait in the pool's queue and none of its liveness round trips before and after each use.
    /// It belongs to the runtime that makes it.
    pub async fn connect(&self) -> Result<Conn, StoreError> {
        use sqlx::ConnectOptions;
        let mut conn = self.options.connect().await?;
        set_up(&mut conn, self.sqlite_synchronous).await?;
        Ok(conn)
    }

    /// Whether a kept connection still answers (one round trip).
    pub async fn ping_on(conn: &mut Conn) -> Result<(), StoreError> {
        use sqlx::Connection;
        Ok(conn.ping().await?)
    }

    /// A transaction on a kept connection.
    pub async fn begin_on(conn: &mut Conn) -> Result<Tx<'_>, StoreError> {
        use sqlx::Connection;
        Ok(conn.begin().await?)
    }

    /// A savepoint inside `tx`: a nested transaction that commits into it or rolls back alone.
    pub async fn savepoint<'t>(tx: &'t mut Tx<'_>) -> Result<Tx<'t>, StoreError> {
        use sqlx::Acquire;
        Ok(tx.begin().await?)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
