//! Orders, shipping addresses and unified payers. States and payers are stored as stable names
//! and parsed strictly by `src/payments`.

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One order as stored.
#[derive(Clone, Debug)]
pub struct OrderRow {
    pub id: String,
    pub application_id: String,
    pub org_id: String,
    pub created_by: String,
    pub payer: String,
    pub payer_org_id: Option<String>,
    pub amount_fen: i64,
    pub state: String,
    pub version: i64,
    pub invoice_title: Option<String>,
    pub taxpayer: Option<String>,
    pub address_id: Option<String>,
    pub ship_recipient: Option<String>,
    pub ship_mobile: Option<String>,
    pub ship_region: Option<String>,
    pub ship_detail: Option<String>,
    pub logistics_no: Option<String>,
    pub provider: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub paid_at: Option<i64>,
}

/// One shipping address as stored (the mobile number in full: callers mask it).
#[derive(Clone, Debug)]
pub struct AddressRow {
    pub id: String,
    pub owner: String,
    pub recipient: String,
    pub mobile: String,
    pub region: String,
    pub detail: String,
    pub is_default: bool,
    pub created_at: i64,
}

/// A government body paying for the applications of a region.
#[derive(Clone, Debug)]
pub struct UnifiedPayerRow {
    pub id: String,
    pub payer_org_id: String,
    pub region: String,
    pub created_by: String,
    pub created_at: i64,
}

/// Which orders a list shows (all given conditions hold).
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderFilter<'a> {
    pub created_by: Option<&'a str>,
    /// Orders of one of these organisations (None: any).
    pub orgs: Option<&'a [String]>,
    pub state: Option<&'a str>,
}

const ORDER_COLUMNS: &str = "id, application_id, org_id, created_by, payer, payer_org_id, \
     amount_fen, state, version, invoice_title, taxpayer, address_id, ship_recipient, ship_mobile, \
     ship_region, ship_detail, logistics_no, provider, provider_ref, created_at, updated_at, paid_at";

fn order_row(r: &sqlx::any::AnyRow) -> Result<OrderRow, StoreError> {
    Ok(OrderRow {
        id: r.try_get(0)?,
        application_id: r.try_get(1)?,
        org_id: r.try_get(2)?,
        created_by: r.try_get(3)?,
        payer: r.try_get(4)?,
        payer_org_id: r.try_get(5)?,
        amount_fen: r.try_get(6)?,
        state: r.try_get(7)?,
        version: r.try_get(8)?,
        invoice_title: r.try_get(9)?,
        taxpayer: r.try_get(10)?,
        address_id: r.try_get(11)?,
        ship_recipient: r.try_get(12)?,
        ship_mobile: r.try_get(13)?,
        ship_region: r.try_get(14)?,
        ship_detail: r.try_get(15)?,
        logistics_no: r.try_get(16)?,
        provider: r.try_get(17)?,
        provider_ref: r.try_get(18)?,
        created_at: r.try_get(19)?,
        updated_at: r.try_get(20)?,
        paid_at: r.try_get(21)?,
    })
}

const ADDRESS_COLUMNS: &str =
    "id, owner, recipient, mobile, region, detail, is_default, created_at";

fn address_row(r: &sqlx::any::AnyRow) -> Result<AddressRow, StoreError> {
    let d: i64 = r.try_get(6)?;
    Ok(AddressRow {
        id: r.try_get(0)?,
        owner: r.try_get(1)?,
        recipient: r.try_get(2)?,
        mobile: r.try_get(3)?,
        region: r.try_get(4)?,
        detail: r.try_get(5)?,
        is_default: d != 0,
        created_at: r.try_get(7)?,
    })
}

impl Store {
    /// A new order; a second order for the same application is a `Conflict`.
    pub async fn order_insert(tx: &mut Tx<'_>, o: &OrderRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO orders ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        ))
        .bind(&o.id)
        .bind(&o.application_id)
        .bind(&o.org_id)
        .bind(&o.created_by)
        .bind(&o.payer)
        .bind(o.payer_org_id.clone())
        .bind(o.amount_fen)
        .bind(&o.state)
        .bind(o.version)
        .bind(o.invoice_title.clone())
        .bind(o.taxpayer.clone())
        .bind(o.address_id.clone())
        .bind(o.ship_recipient.clone())
        .bind(o.ship_mobile.clone())
        .bind(o.ship_region.clone())
        .bind(o.ship_detail.clone())
        .bind(o.logistics_no.clone())
        .bind(o.provider.clone())
        .bind(o.provider_ref.clone())
        .bind(o.created_at)
        .bind(o.updated_at)
        .bind(o.paid_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn order_get(&self, id: &str) -> Result<Option<OrderRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(order_row).transpose()
    }

    pub async fn order_by_application(
        &self,
        application_id: &str,
    ) -> Result<Option<OrderRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE application_id = $1"
        ))
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(order_row).transpose()
    }

    pub async fn order_by_provider_ref(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<OrderRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE provider = $1 AND provider_ref = $2"
        ))
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(order_row).transpose()
    }

    /// Orders matching `f`, oldest first, after the cursor `(created_at, id)`.
    pub async fn order_find(
        &self,
        f: &OrderFilter<'_>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, String::new()));
        let mut sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE ($1 = '' OR state = $1) \
             AND ($2 = '' OR created_by = $2) \
             AND (created_at > $3 OR (created_at = $3 AND id > $4))"
        );
        let mut n = 5;
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
            .bind(f.created_by.unwrap_or(""))
            .bind(at)
            .bind(id);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(order_row).collect()
    }

    /// Move an order from `from` to `to` if it is still at `version`; false when it changed.
    pub async fn order_set_state(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        to: &str,
        paid_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET state = $1, version = version + 1, updated_at = $2, \
             paid_at = COALESCE($3, paid_at) WHERE id = $4 AND version = $5",
        )
        .bind(to)
        .bind(now)
        .bind(paid_at)
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record the courier's tracking number if the order is still at `version`.
    pub async fn order_set_logistics(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        number: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        super::versioned_set(tx, "orders", "logistics_no", id, version, number, now).await
    }

    /// A new address; when it is the default, the owner's others stop being.
    pub async fn address_insert(tx: &mut Tx<'_>, a: &AddressRow) -> Result<(), StoreError> {
        if a.is_default {
            sqlx::query("UPDATE shipping_addresses SET is_default = 0 WHERE owner = $1")
                .bind(&a.owner)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO shipping_addresses ({ADDRESS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&a.id)
        .bind(&a.owner)
        .bind(&a.recipient)
        .bind(&a.mobile)
        .bind(&a.region)
        .bind(&a.detail)
        .bind(i64::from(a.is_default))
        .bind(a.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Make one of the owner's addresses the default; false when the owner has no such address.
    pub async fn address_set_default(
        tx: &mut Tx<'_>,
        owner: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let hit = sqlx::query("SELECT 1 FROM shipping_addresses WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
        if hit.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE shipping_addresses SET is_default = CASE WHEN id = $1 THEN 1 ELSE 0 END \
             WHERE owner = $2",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    /// Delete one of the owner's addresses; false when the owner has no such address.
    pub async fn address_delete(
        tx: &mut Tx<'_>,
        owner: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM shipping_addresses WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(owner)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One address, whoever owns it (callers compare the owner).
    pub async fn address_get(&self, id: &str) -> Result<Option<AddressRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM shipping_addresses WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(address_row).transpose()
    }

    /// The owner's addresses, the default first, then oldest first (at most 100).
    pub async fn addresses_of(&self, owner: &str) -> Result<Vec<AddressRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM shipping_addresses WHERE owner = $1 \
             ORDER BY is_default DESC, created_at, id LIMIT 100"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(address_row).collect()
    }

    pub async fn address_count(&self, owner: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM shipping_addresses WHERE owner = $1")
            .bind(owner)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// Register a unified payer; the same body and region twice is a `Conflict`.
    pub async fn unified_payer_insert(
        tx: &mut Tx<'_>,
        u: &UnifiedPayerRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unified_payers (id, payer_org_id, region, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&u.id)
        .bind(&u.payer_org_id)
        .bind(&u.region)
        .bind(&u.created_by)
        .bind(u.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Every unified payer, oldest first (a short list: one per region at most, in practice).
    pub async fn unified_payers(&self) -> Result<Vec<UnifiedPayerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, payer_org_id, region, created_by, created_at FROM unified_payers \
             ORDER BY created_at, id LIMIT 10000",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnifiedPayerRow {
                    id: r.try_get(0)?,
                    payer_org_id: r.try_get(1)?,
                    region: r.try_get(2)?,
                    created_by: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .collect()
    }
}
