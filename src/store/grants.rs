//! App grants (seal administrators' authorizations of apps), the app events they cause, and the
//! revocation entries of signed credentials. States are stored as names and parsed strictly by
//! `apps::grants`; lists come with the app's, seal's and organisation's names joined in.

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One grant as stored (its credential bytes are read on their own: `grant_credential`).
#[derive(Clone, Debug)]
pub struct GrantRow {
    pub id: String,
    pub app_id: String,
    pub seal_id: String,
    pub role: String,
    pub granted_by: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub use_limit: Option<i64>,
    pub uses: i64,
    pub state: String,
    pub cti: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
}

/// A grant with the names a person reads.
#[derive(Clone, Debug)]
pub struct GrantListRow {
    pub grant: GrantRow,
    pub app_name: String,
    pub app_kind: String,
    pub seal_name: String,
    pub seal_code: String,
    pub seal_state: String,
    pub org_id: String,
    pub org_name: String,
}

/// Which grants a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrantFilter<'a> {
    pub app_id: Option<&'a str>,
    pub seal_id: Option<&'a str>,
    /// Grants of seals of these organisations (None: any).
    pub orgs: Option<&'a [String]>,
    /// Grants in one of these states (None: any).
    pub states: Option<&'a [&'a str]>,
}

/// What the signing path needs to decide whether an app may seal with a seal now, read in one
/// query: the seal, the app, and the app's grant on the seal (the live one, else the newest).
#[derive(Clone, Debug)]
pub struct InForceRow {
    pub seal_state: String,
    pub seal_valid_until: i64,
    pub seal_mode: String,
    pub seal_code: String,
    pub app_state: String,
    pub app_kind: String,
    pub grant: Option<GrantRow>,
}

/// An app as the grant pages need it (the registry's own rows are `apps`'s).
#[derive(Clone, Debug)]
pub struct AppBriefRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub state: String,
    pub supervising_org_id: String,
    pub supervising_org_name: String,
    pub developer_org_id: String,
    pub developer_org_name: String,
    pub owner: String,
}

/// One event of an app (for its webhook deliveries).
#[derive(Clone, Debug)]
pub struct AppEventRow {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub grant_id: Option<String>,
    pub seal_id: Option<String>,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
}

const GRANT_COLUMNS: &str = "g.id, g.app_id, g.seal_id, g.role, g.granted_by, g.valid_from, \
     g.valid_until, g.use_limit, g.uses, g.state, g.cti, g.version, g.created_at, g.updated_at, \
     g.ended_at, g.ended_by";
/// How many columns `GRANT_COLUMNS` is.
const GRANT_N: usize = 16;

fn grant_row(r: &sqlx::any::AnyRow, at: usize) -> Result<GrantRow, StoreError> {
    Ok(GrantRow {
        id: r.try_get(at)?,
        app_id: r.try_get(at + 1)?,
        seal_id: r.try_get(at + 2)?,
        role: r.try_get(at + 3)?,
        granted_by: r.try_get(at + 4)?,
        valid_from: r.try_get(at + 5)?,
        valid_until: r.try_get(at + 6)?,
        use_limit: r.try_get(at + 7)?,
        uses: r.try_get(at + 8)?,
        state: r.try_get(at + 9)?,
        cti: r.try_get(at + 10)?,
        version: r.try_get(at + 11)?,
        created_at: r.try_get(at + 12)?,
        updated_at: r.try_get(at + 13)?,
        ended_at: r.try_get(at + 14)?,
        ended_by: r.try_get(at + 15)?,
    })
}

const LIST_FROM: &str = "FROM app_grants g JOIN apps a ON a.id = g.app_id \
     JOIN seals s ON s.id = g.seal_id JOIN organisations o ON o.id = s.org_id";

fn list_row(r: &sqlx::any::AnyRow) -> Result<GrantListRow, StoreError> {
    Ok(GrantListRow {
        grant: grant_row(r, 0)?,
        app_name: r.try_get(GRANT_N)?,
        app_kind: r.try_get(GRANT_N + 1)?,
        seal_name: r.try_get(GRANT_N + 2)?,
        seal_code: r.try_get(GRANT_N + 3)?,
        seal_state: r.try_get(GRANT_N + 4)?,
        org_id: r.try_get(GRANT_N + 5)?,
        org_name: r.try_get(GRANT_N + 6)?,
    })
}

fn list_select() -> String {
    format!(
        "SELECT {GRANT_COLUMNS}, a.name, a.kind, s.name, s.code, s.state, s.org_id, o.name \
         {LIST_FROM}"
    )
}

const APP_BRIEF: &str = "SELECT a.id, a.name, a.kind, a.state, a.supervising_org_id, so.name, \
     a.developer_org_id, dv.name, a.owner FROM apps a \
     JOIN organisations so ON so.id = a.supervising_org_id \
     JOIN organisations dv ON dv.id = a.developer_org_id";

fn app_brief(r: &sqlx::any::AnyRow) -> Result<AppBriefRow, StoreError> {
    Ok(AppBriefRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind: r.try_get(2)?,
        state: r.try_get(3)?,
        supervising_org_id: r.try_get(4)?,
        supervising_org_name: r.try_get(5)?,
        developer_org_id: r.try_get(6)?,
        developer_org_name: r.try_get(7)?,
        owner: r.try_get(8)?,
    })
}

/// `$n, $n+1, …` for `len` values.
fn placeholders(n: usize, len: usize) -> String {
    (0..len)
        .map(|i| format!("${}", n + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A LIKE pattern matching `k` anywhere, its wildcards escaped.
fn contains_pattern(k: &str) -> String {
    let escaped: String = k
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

impl Store {
    /// Record a grant with its credential; a second live grant of the app on the seal is a
    /// `Conflict`.
    pub async fn grant_insert(
        tx: &mut Tx<'_>,
        g: &GrantRow,
        credential: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_grants (id, app_id, seal_id, role, granted_by, valid_from, valid_until, \
             use_limit, uses, state, credential, cti, version, created_at, updated_at, ended_at, \
             ended_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17)",
        )
        .bind(&g.id)
        .bind(&g.app_id)
        .bind(&g.seal_id)
        .bind(&g.role)
        .bind(&g.granted_by)
        .bind(g.valid_from)
        .bind(g.valid_until)
        .bind(g.use_limit)
        .bind(g.uses)
        .bind(&g.state)
        .bind(credential.to_vec())
        .bind(&g.cti)
        .bind(g.version)
        .bind(g.created_at)
        .bind(g.updated_at)
        .bind(g.ended_at)
        .bind(g.ended_by.clone())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// One grant with its names.
    pub async fn grant_get(&self, id: &str) -> Result<Option<GrantListRow>, StoreError> {
        let r = sqlx::query(&format!("{} WHERE g.id = $1", list_select()))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(list_row).transpose()
    }

    /// A grant's signed credential (COSE_Sign1).
    pub async fn grant_credential(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let r = sqlx::query("SELECT credential FROM app_grants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    /// The grant whose credential has `cti` (hex).
    pub async fn grant_by_cti(&self, cti: &str) -> Result<Option<GrantListRow>, StoreError> {
        let r = sqlx::query(&format!("{} WHERE g.cti = $1", list_select()))
            .bind(cti)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(list_row).transpose()
    }

    /// The live grants (granted, effective) of `app_id` on any of `seal_ids`.
    pub async fn grants_live_on(
        &self,
        app_id: &str,
        seal_ids: &[String],
    ) -> Result<Vec<GrantListRow>, StoreError> {
        if seal_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} WHERE g.app_id = $1 AND g.state IN ('granted', 'effective') AND g.seal_id IN ({}) \
             ORDER BY g.created_at, g.id",
            list_select(),
            placeholders(2, seal_ids.len())
        );
        let mut q = sqlx::query(&sql).bind(app_id);
        for s in seal_ids {
            q = q.bind(s);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(list_row).collect()
    }

    /// Grants matching `f`, oldest first, after the cursor `(created_at, id)`.
    pub async fn grant_find(
        &self,
        f: &GrantFilter<'_>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<GrantListRow>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, String::new()));
        let mut sql = format!(
            "{} WHERE ($1 = '' OR g.app_id = $1) AND ($2 = '' OR g.seal_id = $2) \
             AND (g.created_at > $3 OR (g.created_at = $3 AND g.id > $4))",
            list_select()
        );
        let mut n = 5;
        let mut binds: Vec<String> = Vec::new();
        if let Some(set) = f.orgs {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            sql += &format!(" AND s.org_id IN ({})", placeholders(n, set.len()));
            n += set.len();
            binds.extend(set.iter().cloned());
        }
        if let Some(states) = f.states {
            if states.is_empty() {
                return Ok(Vec::new());
            }
            sql += &format!(" AND g.state IN ({})", placeholders(n, states.len()));
            n += states.len();
            binds.extend(states.iter().map(|s| s.to_string()));
        }
        sql += &format!(" ORDER BY g.created_at, g.id LIMIT ${n}");
        let mut q = sqlx::query(&sql)
            .bind(f.app_id.unwrap_or(""))
            .bind(f.seal_id.unwrap_or(""))
            .bind(at)
            .bind(id);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(list_row).collect()
    }

    /// Move a grant to `state` if it is still at `version` (ending it, with who ended it, when
    /// `ended` is given); false when it changed meanwhile.
    pub async fn grant_set_state(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        state: &str,
        ended: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE app_grants SET state = $1, version = version + 1, updated_at = $2, \
             ended_at = CASE WHEN $3 = '' THEN ended_at ELSE $2 END, \
             ended_by = CASE WHEN $3 = '' THEN ended_by ELSE $3 END \
             WHERE id = $4 AND version = $5",
        )
        .bind(state)
        .bind(now)
        .bind(ended.unwrap_or(""))
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Count one use of a grant, atomically: only while it is live and in its validity at `now`
    /// and below its use limit, its seal active and in its validity and its app active; false
    /// (nothing written) when it may not be used.
    pub async fn grant_use(tx: &mut Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
        Store::grant_use_many(tx, id, 1, now).await
    }

    /// Count `n` uses of a grant at once, as [`Store::grant_use`] does one: all or none.
    pub async fn grant_use_many(
        tx: &mut Tx<'_>,
        id: &str,
        n: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // The seal and the app are checked in the same statement, so a sealing whose in-force
        // check was answered from the cache (`apps::sealing`) still commits only while both are
        // active: the commit is where "a lost seal stops at once" holds.
        let seals = if tx.backend_name() == "SQLite" {
            "seals s INDEXED BY seals_in_force"
        } else {
            "seals s"
        };
        let done = sqlx::query(&format!(
            "UPDATE app_grants SET uses = uses + $3 WHERE id = $1 \
             AND state IN ('granted', 'effective') AND valid_from <= $2 AND valid_until > $2 \
             AND (use_limit IS NULL OR uses + $3 <= use_limit) \
             AND EXISTS (SELECT 1 FROM {seals} WHERE s.id = app_grants.seal_id \
               AND s.state = 'active' AND s.valid_until > $2) \
             AND EXISTS (SELECT 1 FROM apps a WHERE a.id = app_grants.app_id \
               AND a.state = 'active')"
        ))
        .bind(id)
        .bind(now)
        .bind(n)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// [`Store::grant_use`], answering the uses after the count (None when it may not be used).
    pub async fn grant_count_use(
        tx: &mut Tx<'_>,
        id: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        if !Store::grant_use(tx, id, now).await? {
            return Ok(None);
        }
        let r = sqlx::query("SELECT uses FROM app_grants WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(Some(r.try_get(0)?))
    }

    /// What `apps::grant_service::app_grant_in_force` decides on; None when the seal or the app
    /// does not exist.
    pub async fn grant_in_force(
        &self,
        app_id: &str,
        seal_id: &str,
    ) -> Result<Option<InForceRow>, StoreError> {
        // SQLite's planner takes the primary key's index and reads the row, whose pictures lie
        // before `valid_until` on overflow pages; the covering index (migration 0020) is named.
        let seals = match self.backend {
            super::Backend::Sqlite => "seals s INDEXED BY seals_in_force",
            super::Backend::Postgres => "seals s",
        };
        let r = sqlx::query(&format!(
            "SELECT s.state, s.valid_until, s.mode, s.code, a.state, a.kind, {GRANT_COLUMNS} \
             FROM {seals} JOIN apps a ON a.id = $1 \
             LEFT JOIN app_grants g ON g.id = (SELECT x.id FROM app_grants x \
               WHERE x.app_id = $1 AND x.seal_id = s.id \
               ORDER BY CASE WHEN x.state IN ('granted', 'effective') THEN 0 ELSE 1 END, \
               x.created_at DESC, x.id DESC LIMIT 1) \
             WHERE s.id = $2"
        ))
        .bind(app_id)
        .bind(seal_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Ok(None);
        };
        let gid: Option<String> = r.try_get(6)?;
        Ok(Some(InForceRow {
            seal_state: r.try_get(0)?,
            seal_valid_until: r.try_get(1)?,
            seal_mode: r.try_get(2)?,
            seal_code: r.try_get(3)?,
            app_state: r.try_get(4)?,
            app_kind: r.try_get(5)?,
            grant: match gid {
                Some(_) => Some(grant_row(&r, 6)?),
                None => None,
            },
        }))
    }

    /// Live grants the sweep has work for at `now`: granted ones whose start has come, and those
    /// ending before `horizon` (reminders, expiry); soonest end first.
    pub async fn grants_due(
        &self,
        now: i64,
        horizon: i64,
        limit: i64,
    ) -> Result<Vec<GrantListRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "{} WHERE g.state IN ('granted', 'effective') AND \
             ((g.state = 'granted' AND g.valid_from <= $1) OR g.valid_until < $2) \
             ORDER BY g.valid_until, g.id LIMIT $3",
            list_select()
        ))
        .bind(now)
        .bind(horizon)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(list_row).collect()
    }

    /// Record an app event; false when one with the same dedupe key exists already.
    pub async fn app_event_insert(tx: &mut Tx<'_>, e: &AppEventRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO app_events (id, app_id, kind, grant_id, seal_id, payload, dedupe_key, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&e.id)
        .bind(&e.app_id)
        .bind(&e.kind)
        .bind(e.grant_id.clone())
        .bind(e.seal_id.clone())
        .bind(&e.payload)
        .bind(e.dedupe_key.clone())
        .bind(e.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An app's events, oldest first, after the cursor.
    pub async fn app_events(
        &self,
        app_id: &str,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<AppEventRow>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, String::new()));
        let rows = sqlx::query(
            "SELECT id, app_id, kind, grant_id, seal_id, payload, dedupe_key, created_at \
             FROM app_events WHERE app_id = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4",
        )
        .bind(app_id)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AppEventRow {
                    id: r.try_get(0)?,
                    app_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    grant_id: r.try_get(3)?,
                    seal_id: r.try_get(4)?,
                    payload: r.try_get(5)?,
                    dedupe_key: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// A revocation entry for the credential `cti` (hex) of `kind`; a second one is a `Conflict`.
    pub async fn credential_revocation_insert(
        tx: &mut Tx<'_>,
        cti: &str,
        kind: &str,
        reason: &str,
        by: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credential_revocations (cti, kind, revoked_at, reason, revoked_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(cti)
        .bind(kind)
        .bind(now)
        .bind(reason)
        .bind(by)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The revocation entry of credential `cti` (hex): when and why.
    pub async fn credential_revocation(
        &self,
        cti: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let r = sqlx::query("SELECT revoked_at, reason FROM credential_revocations WHERE cti = $1")
            .bind(cti)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// One app with its units' names.
    pub async fn app_brief(&self, id: &str) -> Result<Option<AppBriefRow>, StoreError> {
        let r = sqlx::query(&format!("{APP_BRIEF} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(app_brief).transpose()
    }

    /// Apps whose folded name, or whose supervising or developer unit's folded name, contains
    /// `key` (all when empty), of `kind` when given; by name.
    pub async fn app_brief_search(
        &self,
        key: &str,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AppBriefRow>, StoreError> {
        let pattern = contains_pattern(key);
        let rows = sqlx::query(&format!(
            "{APP_BRIEF} WHERE ($1 = '%%' OR a.name_key LIKE $1 ESCAPE '\\' \
             OR so.name_key LIKE $1 ESCAPE '\\' OR dv.name_key LIKE $1 ESCAPE '\\') \
             AND ($2 = '' OR a.kind = $2) ORDER BY a.name, a.id LIMIT $3"
        ))
        .bind(pattern)
        .bind(kind.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(app_brief).collect()
    }

    /// Apps holding live grants on seals of `orgs` (None: any), with how many; by name.
    pub async fn apps_with_grants(
        &self,
        orgs: Option<&[String]>,
    ) -> Result<Vec<(AppBriefRow, i64)>, StoreError> {
        let mut sql =
            "SELECT g.app_id, COUNT(*) FROM app_grants g JOIN seals s ON s.id = g.seal_id \
                       WHERE g.state IN ('granted', 'effective')"
                .to_string();
        if let Some(set) = orgs {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            sql += &format!(" AND s.org_id IN ({})", placeholders(1, set.len()));
        }
        sql += " GROUP BY g.app_id";
        let mut q = sqlx::query(&sql);
        for o in orgs.unwrap_or(&[]) {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let id: String = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            if let Some(a) = self.app_brief(&id).await? {
                out.push((a, n));
            }
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }

    /// The seal ids of `orgs` (None: any) in `state` and `mode`, oldest first, at most `limit`.
    pub async fn seal_ids_of(
        &self,
        orgs: Option<&[String]>,
        state: &str,
        mode: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut sql =
            "SELECT id FROM seals WHERE ($1 = '' OR state = $1) AND ($2 = '' OR mode = $2)"
                .to_string();
        if let Some(set) = orgs {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            sql += &format!(" AND org_id IN ({})", placeholders(3, set.len()));
        }
        sql += &format!(
            " ORDER BY created_at, id LIMIT ${}",
            3 + orgs.map_or(0, |o| o.len())
        );
        let mut q = sqlx::query(&sql).bind(state).bind(mode);
        for o in orgs.unwrap_or(&[]) {
            q = q.bind(o);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }
}
