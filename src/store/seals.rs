//! Seals, their history, and the system-wide claim on seal names. States, types and modes are
//! stored as stable names and parsed strictly by `src/seals`.

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One seal as stored.
#[derive(Clone, Debug)]
pub struct SealRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub name_key: String,
    pub seal_type: String,
    pub org_id: String,
    pub mode: String,
    pub state: String,
    pub version: i64,
    pub taxpayer: Option<String>,
    pub key_ref: Option<String>,
    pub cert_serial: String,
    pub ses_der: Vec<u8>,
    pub picture_png: Vec<u8>,
    pub picture_svg: Option<String>,
    pub valid_from: i64,
    pub valid_until: i64,
    pub application_id: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One change of a seal.
#[derive(Clone, Debug)]
pub struct SealHistoryRow {
    pub seal_id: String,
    pub version: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub cert_serial: String,
    pub workflow_id: Option<String>,
    pub audit_seq: i64,
}

/// What a new key, certificate and seal structure replace when a seal is reissued or renewed.
pub struct SealMaterial<'a> {
    pub key_ref: Option<&'a str>,
    pub cert_serial: &'a str,
    pub ses_der: &'a [u8],
    pub valid_from: i64,
    pub valid_until: i64,
}

const SEAL_COLUMNS: &str = "id, code, name, name_key, seal_type, org_id, mode, state, version, \
     taxpayer, key_ref, cert_serial, ses_der, picture_png, picture_svg, valid_from, valid_until, \
     application_id, created_by, created_at, updated_at";

fn seal_row(r: &sqlx::any::AnyRow) -> Result<SealRow, StoreError> {
    Ok(SealRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        name_key: r.try_get(3)?,
        seal_type: r.try_get(4)?,
        org_id: r.try_get(5)?,
        mode: r.try_get(6)?,
        state: r.try_get(7)?,
        version: r.try_get(8)?,
        taxpayer: r.try_get(9)?,
        key_ref: r.try_get(10)?,
        cert_serial: r.try_get(11)?,
        ses_der: r.try_get(12)?,
        picture_png: r.try_get(13)?,
        picture_svg: r.try_get(14)?,
        valid_from: r.try_get(15)?,
        valid_until: r.try_get(16)?,
        application_id: r.try_get(17)?,
        created_by: r.try_get(18)?,
        created_at: r.try_get(19)?,
        updated_at: r.try_get(20)?,
    })
}

/// Which seals a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct SealFilter<'a> {
    /// Seals of one of these organisations (None: any).
    pub orgs: Option<&'a [String]>,
    pub state: Option<&'a str>,
    /// Seals made for applications created by this account.
    pub applied_by: Option<&'a str>,
    /// Folded name contains this.
    pub name_key: Option<&'a str>,
}

impl Store {
    /// Claim a folded seal name for an application; a name already claimed is a `Conflict`.
    pub async fn seal_name_claim(
        tx: &mut Tx<'_>,
        name_key: &str,
        name: &str,
        workflow_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO seal_names (name_key, name, workflow_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name_key)
        .bind(name)
        .bind(workflow_id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Give a claimed name back (the application that claimed it was withdrawn).
    pub async fn seal_name_release(
        tx: &mut Tx<'_>,
        name_key: &str,
        workflow_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM seal_names WHERE name_key = $1 AND workflow_id = $2")
            .bind(name_key)
            .bind(workflow_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn seal_insert(tx: &mut Tx<'_>, s: &SealRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO seals ({SEAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        ))
        .bind(&s.id)
        .bind(&s.code)
        .bind(&s.name)
        .bind(&s.name_key)
        .bind(&s.seal_type)
        .bind(&s.org_id)
        .bind(&s.mode)
        .bind(&s.state)
        .bind(s.version)
        .bind(s.taxpayer.clone())
        .bind(s.key_ref.clone())
        .bind(&s.cert_serial)
        .bind(s.ses_der.clone())
        .bind(s.picture_png.clone())
        .bind(s.picture_svg.clone())
        .bind(s.valid_from)
        .bind(s.valid_until)
        .bind(&s.application_id)
        .bind(&s.created_by)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn seal_get(&self, id: &str) -> Result<Option<SealRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {SEAL_COLUMNS} FROM seals WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(seal_row).transpose()
    }

    pub async fn seal_by_code(&self, code: &str) -> Result<Option<SealRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {SEAL_COLUMNS} FROM seals WHERE code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(seal_row).transpose()
    }

    pub async fn seal_by_application(&self, id: &str) -> Result<Option<SealRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {SEAL_COLUMNS} FROM seals WHERE application_id = $1 LIMIT 1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(seal_row).transpose()
    }

    /// The seal whose current certificate is `serial`, or which had it before a reissue.
    pub async fn seal_by_cert(&self, serial: &str) -> Result<Option<SealRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {SEAL_COLUMNS} FROM seals WHERE cert_serial = $1 OR id IN \
             (SELECT seal_id FROM seal_history WHERE cert_serial = $1) LIMIT 1"
        ))
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(seal_row).transpose()
    }

    /// Seals matching `f`, oldest first, after the cursor `(created_at, id)`.
    pub async fn seal_find(
        &self,
        f: &SealFilter<'_>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<SealRow>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, String::new()));
        let pattern = f.name_key.map(|k| {
            let escaped: String = k
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        });
        let mut sql = format!(
            "SELECT {SEAL_COLUMNS} FROM seals WHERE ($1 = '' OR state = $1) \
             AND ($2 = '' OR name_key LIKE $2 ESCAPE '\\') \
             AND ($3 = '' OR application_id IN (SELECT id FROM workflows WHERE created_by = $3)) \
             AND (created_at > $4 OR (created_at = $4 AND id > $5))"
        );
        let mut n = 6;
        let mut binds: Vec<String> = Vec::new();
        if let Some(set) = f.orgs {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (0..set.len()).map(|i| format!("${}", n + i)).collect();
            sql += &format!(" AND org_id IN ({})", list.join(", "));
            n += set.len();
            binds.extend(set.iter().cloned());
        }
        sql += &format!(" ORDER BY created_at, id LIMIT ${n}");
        let mut q = sqlx::query(&sql)
            .bind(f.state.unwrap_or(""))
            .bind(pattern.unwrap_or_default())
            .bind(f.applied_by.unwrap_or(""))
            .bind(at)
            .bind(id);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(seal_row).collect()
    }

    /// Move a seal to `state` if it is still at `version`; false when it changed meanwhile.
    pub async fn seal_set_state(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        state: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        super::versioned_set(tx, "seals", "state", id, version, state, now).await
    }

    /// Give a seal a new key, certificate and structure (reissue, renewal), if still at `version`.
    pub async fn seal_replace_material(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        state: &str,
        m: &SealMaterial<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE seals SET state = $1, version = version + 1, updated_at = $2, key_ref = $3, \
             cert_serial = $4, ses_der = $5, valid_from = $6, valid_until = $7 \
             WHERE id = $8 AND version = $9",
        )
        .bind(state)
        .bind(now)
        .bind(m.key_ref.map(str::to_string))
        .bind(m.cert_serial)
        .bind(m.ses_der.to_vec())
        .bind(m.valid_from)
        .bind(m.valid_until)
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn seal_history_insert(
        tx: &mut Tx<'_>,
        h: &SealHistoryRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO seal_history (seal_id, version, at, actor, event, from_state, to_state, \
             cert_serial, workflow_id, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&h.seal_id)
        .bind(h.version)
        .bind(h.at)
        .bind(&h.actor)
        .bind(&h.event)
        .bind(h.from_state.clone())
        .bind(&h.to_state)
        .bind(&h.cert_serial)
        .bind(h.workflow_id.clone())
        .bind(h.audit_seq)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A seal's history, oldest first.
    pub async fn seal_history(&self, seal_id: &str) -> Result<Vec<SealHistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seal_id, version, at, actor, event, from_state, to_state, cert_serial, \
             workflow_id, audit_seq FROM seal_history WHERE seal_id = $1 ORDER BY version LIMIT 1000",
        )
        .bind(seal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SealHistoryRow {
                    seal_id: r.try_get(0)?,
                    version: r.try_get(1)?,
                    at: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    event: r.try_get(4)?,
                    from_state: r.try_get(5)?,
                    to_state: r.try_get(6)?,
                    cert_serial: r.try_get(7)?,
                    workflow_id: r.try_get(8)?,
                    audit_seq: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Active seals whose validity ends before `before` (the expiry job).
    pub async fn seals_expiring(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<SealRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SEAL_COLUMNS} FROM seals WHERE state IN ('active', 'lost', 'pending-receipt') AND valid_until < $1 \
             ORDER BY valid_until LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(seal_row).collect()
    }
}

/// The shipment of a UKey seal: written with the seal, received once.
#[derive(Clone, Debug)]
pub struct ShipmentRow {
    pub application_id: String,
    pub seal_id: String,
    pub challenge_sha256: String,
    pub shipped_at: i64,
    pub received_at: Option<i64>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
}

impl Store {
    /// Record a shipment; a second one for the application is a `Conflict`.
    pub async fn shipment_insert(tx: &mut Tx<'_>, s: &ShipmentRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO seal_shipments (application_id, seal_id, challenge_sha256, shipped_at, \
             received_at, carrier, tracking) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.application_id)
        .bind(&s.seal_id)
        .bind(&s.challenge_sha256)
        .bind(s.shipped_at)
        .bind(s.received_at)
        .bind(s.carrier.clone())
        .bind(s.tracking.clone())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn shipment_get(
        &self,
        application_id: &str,
    ) -> Result<Option<ShipmentRow>, StoreError> {
        let r = sqlx::query(
            "SELECT application_id, seal_id, challenge_sha256, shipped_at, received_at, carrier, \
             tracking FROM seal_shipments WHERE application_id = $1",
        )
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok(ShipmentRow {
                application_id: r.try_get(0)?,
                seal_id: r.try_get(1)?,
                challenge_sha256: r.try_get(2)?,
                shipped_at: r.try_get(3)?,
                received_at: r.try_get(4)?,
                carrier: r.try_get(5)?,
                tracking: r.try_get(6)?,
            })
        })
        .transpose()
    }

    /// Mark a shipment received, once; false when it already was.
    pub async fn shipment_receive(
        tx: &mut Tx<'_>,
        application_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE seal_shipments SET received_at = $1 \
             WHERE application_id = $2 AND received_at IS NULL",
        )
        .bind(now)
        .bind(application_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
