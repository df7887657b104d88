//! Organisations (a tree by parent authority) and memberships (who holds which role where).

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One organisation as stored; `kind` and membership roles are parsed by `accounts::orgs`.
#[derive(Clone, Debug)]
pub struct OrgRow {
    pub id: String,
    pub credit_code: String,
    pub name: String,
    pub name_key: String,
    pub kind: String,
    pub region: String,
    pub parent_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

const ORG_COLUMNS: &str =
    "o.id, o.credit_code, o.name, o.name_key, o.kind, o.region, o.parent_id, o.created_by, o.created_at";

fn org_row(r: &sqlx::any::AnyRow) -> Result<OrgRow, StoreError> {
    Ok(OrgRow {
        id: r.try_get(0)?,
        credit_code: r.try_get(1)?,
        name: r.try_get(2)?,
        name_key: r.try_get(3)?,
        kind: r.try_get(4)?,
        region: r.try_get(5)?,
        parent_id: r.try_get(6)?,
        created_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
    })
}

/// One membership as stored.
#[derive(Clone, Debug)]
pub struct MembershipRow {
    pub org_id: String,
    pub username: String,
    pub role: String,
    pub created_by: String,
    pub created_at: i64,
}

fn membership_row(r: &sqlx::any::AnyRow) -> Result<MembershipRow, StoreError> {
    Ok(MembershipRow {
        org_id: r.try_get(0)?,
        username: r.try_get(1)?,
        role: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}

/// Deepest organisation tree walked (a cycle cannot be written, but the walk stays bounded anyway).
const MAX_DEPTH: i64 = 32;

impl Store {
    pub async fn org_insert(tx: &mut Tx<'_>, o: &OrgRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organisations (id, credit_code, name, name_key, kind, region, parent_id, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&o.id)
        .bind(&o.credit_code)
        .bind(&o.name)
        .bind(&o.name_key)
        .bind(&o.kind)
        .bind(&o.region)
        .bind(o.parent_id.clone())
        .bind(&o.created_by)
        .bind(o.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Change an organisation's registry data in `tx` (an approved organisation update). A
    /// unique clash of the code or folded name is a `Conflict` naming the column.
    pub async fn org_update_tx(
        tx: &mut Tx<'_>,
        id: &str,
        credit_code: &str,
        name: &str,
        name_key: &str,
        parent_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE organisations SET credit_code = $1, name = $2, name_key = $3, parent_id = $4 \
             WHERE id = $5",
        )
        .bind(credit_code)
        .bind(name)
        .bind(name_key)
        .bind(parent_id.map(str::to_string))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn org_get(&self, id: &str) -> Result<Option<OrgRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(org_row).transpose()
    }

    pub async fn org_by_code(&self, code: &str) -> Result<Option<OrgRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.credit_code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(org_row).transpose()
    }

    /// Organisations whose folded name contains `name_key` (or all when empty), optionally only
    /// within the subtrees of `within`, by name; `limit` + 1 rows so the caller sees a next page.
    pub async fn org_search(
        &self,
        name_key: &str,
        within: Option<&[String]>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<OrgRow>, StoreError> {
        // LIKE's wildcards in the query are taken literally.
        let escaped: String = name_key
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows = match within {
            None => {
                sqlx::query(&format!(
                "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.name_key LIKE $1 ESCAPE '\\' \
                     ORDER BY o.name_key, o.id LIMIT $2 OFFSET $3"
            ))
                .bind(pattern)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
            }
            Some(roots) => {
                let ids = self.org_subtrees(roots).await?;
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
                let sql = format!(
                    "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.name_key LIKE $1 ESCAPE '\\' \
                     AND o.id IN ({}) ORDER BY o.name_key, o.id LIMIT $2 OFFSET $3",
                    list.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(pattern).bind(limit).bind(offset);
                for id in &ids {
                    q = q.bind(id.clone());
                }
                q.fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(org_row).collect()
    }

    /// The direct children of an organisation (None: the top-level ones), by name.
    pub async fn org_children(&self, parent: Option<&str>) -> Result<Vec<OrgRow>, StoreError> {
        let rows = match parent {
            Some(p) => {
                sqlx::query(&format!(
                    "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.parent_id = $1 \
                     ORDER BY o.name_key, o.id LIMIT 1000"
                ))
                .bind(p)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {ORG_COLUMNS} FROM organisations o WHERE o.parent_id IS NULL \
                     ORDER BY o.name_key, o.id LIMIT 1000"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(org_row).collect()
    }

    /// The ids of the organisations in the subtrees under `roots` (the roots included).
    pub async fn org_subtrees(&self, roots: &[String]) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for root in roots {
            let rows = sqlx::query(
                "WITH RECURSIVE sub(id, depth) AS ( \
                   SELECT id, 0 FROM organisations WHERE id = $1 \
                   UNION ALL \
                   SELECT o.id, sub.depth + 1 FROM organisations o JOIN sub ON o.parent_id = sub.id \
                   WHERE sub.depth < $2) \
                 SELECT id FROM sub",
            )
            .bind(root)
            .bind(MAX_DEPTH)
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                let id: String = r.try_get(0)?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// The organisations whose region starts with `prefix` (GB/T 2260 digits only: the caller
    /// gives a region prefix, never user text with LIKE metacharacters).
    pub async fn org_ids_in_region(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT id FROM organisations WHERE region LIKE $1 ORDER BY id")
            .bind(format!("{prefix}%"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// The organisation and its ancestors, itself first.
    pub async fn org_ancestry(&self, id: &str) -> Result<Vec<OrgRow>, StoreError> {
        let mut out: Vec<OrgRow> = Vec::new();
        let mut next = Some(id.to_string());
        while let Some(id) = next {
            if out.len() as i64 > MAX_DEPTH || out.iter().any(|o| o.id == id) {
                return Err(StoreError::Corrupt(format!(
                    "organisation tree above {id} is deeper than {MAX_DEPTH} or cyclic"
                )));
            }
            let Some(o) = self.org_get(&id).await? else {
                break;
            };
            next = o.parent_id.clone();
            out.push(o);
        }
        Ok(out)
    }

    pub async fn membership_insert(tx: &mut Tx<'_>, m: &MembershipRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (org_id, username, role, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&m.org_id)
        .bind(&m.username)
        .bind(&m.role)
        .bind(&m.created_by)
        .bind(m.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn membership_delete(
        tx: &mut Tx<'_>,
        org_id: &str,
        username: &str,
        role: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "DELETE FROM memberships WHERE org_id = $1 AND username = $2 AND role = $3",
        )
        .bind(org_id)
        .bind(username)
        .bind(role)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn memberships_of_org(&self, org_id: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT org_id, username, role, created_by, created_at FROM memberships \
             WHERE org_id = $1 ORDER BY username, role LIMIT 1000",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(membership_row).collect()
    }

    pub async fn memberships_of(&self, username: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT org_id, username, role, created_by, created_at FROM memberships \
             WHERE username = $1 ORDER BY org_id, role LIMIT 1000",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(membership_row).collect()
    }
}
