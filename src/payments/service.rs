//! What the front ends call for payment: an order per seal application (self-paid through the
//! provider, or unified payment by a regional body — no checkout), the provider's callback,
//! orders' lists and detail, logistics numbers, shipping addresses and unified payers. Every
//! decision through `accounts::policy`, every change audited in its own transaction; the
//! application's history records the payment through the workflow runner.

use std::sync::Arc;

use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::json;

use super::model::{self, NewAddress, OrderEvent, OrderState, Payer};
use super::provider::{self, DevProvider, PaymentProvider};
use crate::access::Actor;
use crate::accounts::policy::{may, region_within, Action, Principal, Resource};
use crate::app::App;
use crate::error::AppError;
use crate::notify::sms::mask;
use crate::seals::application::{self, Data, SealApplication};
use crate::store::{
    AddressRow, OrderFilter, OrderRow, Store, StoreError, UnifiedPayerRow, WorkflowRow,
};
use crate::workflow::{EventRequest, Gate, Kind, Named, Workflow};

/// Shipping addresses one account may keep.
pub const MAX_ADDRESSES: i64 = 20;

/// A shipping address as shown: the mobile number masked.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AddressView {
    pub id: String,
    pub recipient: String,
    /// Masked: `139****0001`.
    pub mobile: String,
    pub region: String,
    pub region_name: Option<String>,
    pub detail: String,
    pub is_default: bool,
    pub created_at: i64,
}

fn region_name(code: &str) -> Option<String> {
    crate::accounts::region::lookup(code).map(|r| r.name.to_string())
}

impl AddressView {
    fn of(a: AddressRow) -> AddressView {
        AddressView {
            region_name: region_name(&a.region),
            mobile: mask(&a.mobile),
            id: a.id,
            recipient: a.recipient,
            region: a.region,
            detail: a.detail,
            is_default: a.is_default,
            created_at: a.created_at,
        }
    }
}

/// Where an order is shipped, as copied in when it was made (mobile masked).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShipTo {
    pub recipient: String,
    pub mobile: String,
    pub region: String,
    pub region_name: Option<String>,
    pub detail: String,
}

/// An order as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: String,
    pub application_id: String,
    pub org_id: String,
    pub created_by: String,
    /// self or unified.
    pub payer: String,
    /// The body paying, for unified payment.
    pub payer_org_id: Option<String>,
    pub amount_fen: i64,
    /// The amount in yuan, two decimals.
    pub amount_yuan: String,
    /// created, paid, cancelled, refunded.
    pub state: String,
    pub version: i64,
    pub invoice_title: Option<String>,
    pub taxpayer: Option<String>,
    pub ship_to: Option<ShipTo>,
    /// The courier's tracking number (UKey seals).
    pub logistics_no: Option<String>,
    pub provider: Option<String>,
    /// Where to pay, while the order waits for payment.
    pub checkout_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub paid_at: Option<i64>,
}

/// A page of orders, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

/// A unified payer as shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnifiedPayerView {
    pub id: String,
    pub payer_org_id: String,
    pub region: String,
    pub region_name: Option<String>,
    pub created_at: i64,
}

/// Which orders a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderScope<'a> {
    /// Those I made.
    Mine,
    /// One organisation's (its readers: members, seal administrators above, staff).
    Org(&'a str),
    /// Every order (platform staff).
    All,
}

/// What an applicant sends to make an order.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// Self-paid: the invoice's title.
    pub invoice_title: Option<String>,
    /// Self-paid: the taxpayer number (GB 32100 unified social credit code).
    pub taxpayer: Option<String>,
    /// One of my shipping addresses; UKey seals need one.
    pub address_id: Option<String>,
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

fn order_state(o: &OrderRow) -> Result<OrderState, AppError> {
    OrderState::parse(&o.state)
        .ok_or_else(|| StoreError::Corrupt(format!("order {} state {:?}", o.id, o.state)).into())
}

fn application_data(row: &WorkflowRow) -> Result<Data, AppError> {
    Data::stored(
        &serde_json::from_str(&row.data)
            .map_err(|e| StoreError::Corrupt(format!("application {} data: {e}", row.id)))?,
    )
}

impl App {
    /// The configured provider (`[payments] provider`).
    pub fn payment_provider(&self) -> Result<Box<dyn PaymentProvider>, AppError> {
        match self.config.payments.provider.as_str() {
            provider::DEV => Ok(Box::new(DevProvider::open(&self.config)?)),
            other => Err(AppError::Unavailable(format!(
                "[payments] provider {other:?} is not known (development)"
            ))),
        }
    }

    fn order_view(&self, o: OrderRow) -> Result<OrderView, AppError> {
        let state = order_state(&o)?;
        let checkout_url = match (&o.provider, &o.provider_ref, state) {
            (Some(p), Some(r), OrderState::Created) if p == provider::DEV => {
                Some(format!("{}/pay/dev/{r}", self.config.public_base_url()))
            }
            _ => None,
        };
        let ship_to = match (
            o.ship_recipient,
            o.ship_mobile,
            o.ship_region,
            o.ship_detail,
        ) {
            (Some(recipient), Some(m), Some(region), Some(detail)) => Some(ShipTo {
                recipient,
                mobile: mask(&m),
                region_name: region_name(&region),
                region,
                detail,
            }),
            _ => None,
        };
        Ok(OrderView {
            amount_yuan: model::yuan(o.amount_fen),
            id: o.id,
            application_id: o.application_id,
            org_id: o.org_id,
            created_by: o.created_by,
            payer: o.payer,
            payer_org_id: o.payer_org_id,
            amount_fen: o.amount_fen,
            state: o.state,
            version: o.version,
            invoice_title: o.invoice_title,
            taxpayer: o.taxpayer,
            ship_to,
            logistics_no: o.logistics_no,
            provider: o.provider,
            checkout_url,
            created_at: o.created_at,
            updated_at: o.updated_at,
            paid_at: o.paid_at,
        })
    }

    /// The unified payer whose region covers `region`, the narrowest first.
    async fn unified_payer_for(&self, region: &str) -> Result<Option<UnifiedPayerRow>, AppError> {
        let mut all: Vec<UnifiedPayerRow> = self
            .store
            .unified_payers()
            .await?
            .into_iter()
            .filter(|u| region_within(region, &u.region))
            .collect();
        // A county's payer is nearer than its city's, the city's than the province's.
        all.sort_by_key(|u| std::cmp::Reverse(u.region.trim_end_matches('0').len()));
        Ok(all.into_iter().next())
    }

    /// Whether an application may be submitted as far as payment goes: its order is paid, or a
    /// unified payer covers its organisation's region. A 422 naming what is missing otherwise.
    pub async fn payment_settled(
        &self,
        application_id: &str,
        org_id: &str,
    ) -> Result<(), AppError> {
        if let Some(o) = self.store.order_by_application(application_id).await? {
            if order_state(&o)? == OrderState::Paid {
                return Ok(());
            }
            return Err(AppError::Policy(format!(
                "payment: order {} is {}; pay it first (POST /api/v1/seal-applications/{application_id}/order \
                 gives the checkout)",
                o.id, o.state
            )));
        }
        let org = self.org(org_id).await?;
        // A UKey is posted: its order carries the address, so it needs one even when unified.
        let ukey = match self.store.workflow_get(application_id).await? {
            Some(r) => application_data(&r)?.mode() == crate::seals::SigningMode::Ukey,
            None => false,
        };
        if !ukey && self.unified_payer_for(&org.region).await?.is_some() {
            return Ok(());
        }
        Err(AppError::Policy(format!(
            "payment: no order yet; make one (POST /api/v1/seal-applications/{application_id}/order, \
             with invoice_title, taxpayer and, for UKey seals, address_id) and pay it"
        )))
    }

    /// Record the payment in the application's history (`record-payment`, by `system`), in
    /// `tx`. Applications past draft or returned are left as they are.
    async fn record_payment_step(
        self: &Arc<Self>,
        tx: &mut crate::store::Tx<'_>,
        application_id: &str,
        order_id: &str,
    ) -> Result<(), AppError> {
        let Some(row) = self.store.workflow_get(application_id).await? else {
            return Ok(());
        };
        let state = application::State::parse(&row.state);
        if !matches!(
            state,
            Some(application::State::Draft | application::State::Returned)
        ) {
            return Ok(());
        }
        let system = Actor::system();
        let allowed = may(
            &Principal::platform(&system),
            Action::ProduceSeal,
            Resource::Platform,
        )?;
        let comment = format!("order {order_id}");
        let step = Workflow::step(
            self,
            Gate::Scoped(&system, allowed),
            SealApplication::NAME,
            application_id,
            &EventRequest {
                event: application::Event::RecordPayment.name(),
                version: row.version,
                comment: Some(&comment),
                attachments: &[],
            },
        )
        .await?;
        step.write(self, tx).await?;
        Ok(())
    }

    /// Make the order of an application (its applicants and seal administrators). Unified
    /// payment when a payer covers the organisation's region: paid at once, no checkout.
    pub async fn order_create(
        self: &Arc<Self>,
        actor: &Actor,
        application_id: &str,
        req: &OrderRequest,
    ) -> Result<OrderView, AppError> {
        let row = match self.store.workflow_get(application_id).await? {
            Some(r) if r.kind == SealApplication::NAME => r,
            _ => {
                return Err(AppError::NotFound(format!(
                    "no seal application with id {application_id}"
                )))
            }
        };
        let d = application_data(&row)?;
        let p = self.principal(actor).await?;
        self.may_on_org(&p, Action::ApplySeal, &d.org_id).await?;
        if !matches!(
            application::State::parse(&row.state),
            Some(application::State::Draft | application::State::Returned)
        ) {
            return Err(AppError::Conflict(format!(
                "application {application_id} is {}: orders are made for drafts",
                row.state
            )));
        }
        if let Some(o) = self.store.order_by_application(application_id).await? {
            return Err(AppError::Conflict(format!(
                "application {application_id} has order {} already",
                o.id
            )));
        }
        let org = self.org(&d.org_id).await?;
        let ship = match &req.address_id {
            Some(a) => match self.store.address_get(a).await? {
                Some(r) if r.owner == actor.name => Some(r),
                _ => {
                    return Err(AppError::NotFound(format!(
                        "no shipping address {a} of yours"
                    )))
                }
            },
            None if d.mode() == crate::seals::SigningMode::Ukey => {
                return Err(AppError::Invalid {
                    field: "address_id",
                    rule: "a UKey seal is posted: give one of your shipping addresses".into(),
                })
            }
            None => None,
        };
        let amount = model::price_fen(&self.config.payments, d.seal_type(), d.years, d.mode())?;
        let unified = self.unified_payer_for(&org.region).await?;
        let now = crate::store::now();
        let id = new_id();
        let mut o = OrderRow {
            id: id.clone(),
            application_id: application_id.to_string(),
            org_id: org.id.clone(),
            created_by: actor.name.clone(),
            payer: Payer::SelfPaid.name().into(),
            payer_org_id: None,
            amount_fen: amount,
            state: OrderState::Created.name().into(),
            version: 1,
            invoice_title: None,
            taxpayer: None,
            address_id: ship.as_ref().map(|a| a.id.clone()),
            ship_recipient: ship.as_ref().map(|a| a.recipient.clone()),
            ship_mobile: ship.as_ref().map(|a| a.mobile.clone()),
            ship_region: ship.as_ref().map(|a| a.region.clone()),
            ship_detail: ship.as_ref().map(|a| a.detail.clone()),
            logistics_no: None,
            provider: None,
            provider_ref: None,
            created_at: now,
            updated_at: now,
            paid_at: None,
        };
        match &unified {
            Some(u) => {
                o.payer = Payer::Unified.name().into();
                o.payer_org_id = Some(u.payer_org_id.clone());
                o.state = OrderState::Paid.name().into();
                o.paid_at = Some(now);
            }
            None => {
                let (title, taxpayer) =
                    match (&req.invoice_title, &req.taxpayer) {
                        (Some(t), Some(x)) => model::check_invoice(t, x)?,
                        _ => return Err(AppError::Invalid {
                            field: "invoice_title",
                            rule: "a self-paid order carries the invoice title and taxpayer number"
                                .into(),
                        }),
                    };
                let provider = self.payment_provider()?;
                let checkout = provider.start(&id, amount)?;
                o.invoice_title = Some(title);
                o.taxpayer = Some(taxpayer);
                o.provider = Some(provider.name().into());
                o.provider_ref = Some(checkout.reference);
            }
        }
        let mut tx = self.store.begin().await?;
        match Store::order_insert(&mut tx, &o).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "application {application_id} has an order already"
                )))
            }
            other => other?,
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "order.create",
                json!({"order": id, "application": application_id, "org": org.id,
                       "payer": o.payer, "payer_org": o.payer_org_id, "amount_fen": amount,
                       "provider": o.provider}),
            )
            .await?;
        if unified.is_some() {
            self.record_payment_step(&mut tx, application_id, &id)
                .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.order_view(o)
    }

    /// An application was withdrawn: its unpaid order is cancelled in the same transaction (a
    /// paid one stays paid: refunds are the operators' matter).
    pub async fn order_cancel_for(
        &self,
        tx: &mut crate::store::Tx<'_>,
        application_id: &str,
        by: &str,
    ) -> Result<(), AppError> {
        let Some(o) = self.store.order_by_application(application_id).await? else {
            return Ok(());
        };
        let Some(to) = order_state(&o)?.on(OrderEvent::Cancel) else {
            return Ok(());
        };
        let now = crate::store::now();
        if !Store::order_set_state(tx, &o.id, o.version, to.name(), None, now).await? {
            return Err(AppError::Conflict(format!(
                "order {} changed meanwhile: try again",
                o.id
            )));
        }
        self.audit
            .append(
                tx,
                by,
                "order.cancel",
                json!({"order": o.id, "application": application_id}),
            )
            .await?;
        Ok(())
    }

    /// A provider's callback: verified by the provider, then the order paid, the application's
    /// history, the audit entry and the payer's notification in one transaction. A repeat for a
    /// paid order changes nothing.
    pub async fn payment_callback(
        self: &Arc<Self>,
        provider_name: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<OrderView, AppError> {
        let provider = self.payment_provider()?;
        if provider.name() != provider_name {
            return Err(AppError::NotFound(format!(
                "no payment provider {provider_name} is configured"
            )));
        }
        let paid = provider.verify_callback(headers, body, crate::store::now())?;
        // A few attempts: the applicant may change the application (attach a scan) meanwhile.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.settle(provider.name(), &paid).await {
                Err(AppError::StateConflict {
                    reason: "stale-version",
                    ..
                }) if attempt < 3 => {}
                other => return other,
            }
        }
    }

    async fn settle(
        self: &Arc<Self>,
        provider: &str,
        paid: &provider::Paid,
    ) -> Result<OrderView, AppError> {
        let o = self
            .store
            .order_by_provider_ref(provider, &paid.reference)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no order for payment {}", paid.reference))
            })?;
        let state = order_state(&o)?;
        if state == OrderState::Paid {
            return self.order_view(o);
        }
        if paid.amount_fen != o.amount_fen {
            return Err(AppError::Policy(format!(
                "payment {}: {} fen paid for an order of {} fen",
                paid.reference, paid.amount_fen, o.amount_fen
            )));
        }
        let to = state.on(OrderEvent::Pay).ok_or_else(|| {
            AppError::Conflict(format!("order {} is {}: it cannot be paid", o.id, o.state))
        })?;
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::order_set_state(&mut tx, &o.id, o.version, to.name(), Some(now), now).await? {
            drop(tx);
            // Another callback got there first: answer as it left the order.
            let o = self
                .store
                .order_get(&o.id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no order {}", o.id)))?;
            return self.order_view(o);
        }
        self.audit
            .append(
                &mut tx,
                "system",
                "order.paid",
                json!({"order": o.id, "application": o.application_id, "provider": provider,
                       "reference": paid.reference, "amount_fen": paid.amount_fen}),
            )
            .await?;
        self.record_payment_step(&mut tx, &o.application_id, &o.id)
            .await?;
        let (zh, en) = (
            format!("订单已支付 {} 元", model::yuan(o.amount_fen)),
            format!("Order paid: {} yuan", model::yuan(o.amount_fen)),
        );
        self.notify_order(&mut tx, &o, "order.paid", &zh, &en, o.version + 1)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let o = self
            .store
            .order_get(&o.id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no order {}", o.id)))?;
        self.order_view(o)
    }

    /// Tell whoever made the order (in-app), once per order version.
    async fn notify_order(
        &self,
        tx: &mut crate::store::Tx<'_>,
        o: &OrderRow,
        kind: &str,
        zh: &str,
        en: &str,
        version: i64,
    ) -> Result<(), AppError> {
        let msg = crate::notify::Message {
            kind: kind.to_string(),
            title: crate::notify::Text::new(zh.to_string(), en.to_string()),
            body: crate::notify::Text::new(
                format!("印章申请 {} 的订单：{zh}。", o.application_id),
                format!("The order of seal application {}: {en}.", o.application_id),
            ),
            link: Some(format!("/orders/{}", o.id)),
        };
        crate::notify::in_app(
            tx,
            &self.config,
            &self.store,
            &o.created_by,
            &msg,
            Some(&format!("order:{}:{version}", o.id)),
        )
        .await?;
        Ok(())
    }

    /// Whether `p` may read order `o`: its maker, the organisation's readers, platform staff.
    async fn order_readable(&self, p: &Principal, o: &OrderRow) -> Result<(), AppError> {
        if o.created_by == p.actor.name {
            return Ok(());
        }
        self.may_on_org(p, Action::ReadSeals, &o.org_id).await?;
        Ok(())
    }

    /// One order as the caller may see it.
    pub async fn order(&self, actor: &Actor, id: &str) -> Result<OrderView, AppError> {
        let o = self
            .store
            .order_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no order {id}")))?;
        let p = self.principal(actor).await?;
        self.order_readable(&p, &o).await?;
        self.order_view(o)
    }

    /// The order of an application, when the caller may read it (the console's application page).
    pub async fn order_of_application(
        &self,
        actor: &Actor,
        application_id: &str,
    ) -> Result<Option<OrderView>, AppError> {
        let Some(o) = self.store.order_by_application(application_id).await? else {
            return Ok(None);
        };
        let p = self.principal(actor).await?;
        self.order_readable(&p, &o).await?;
        self.order_view(o).map(Some)
    }

    /// Orders in `scope`, oldest first (keyset pages by creation time and id).
    pub async fn orders(
        &self,
        actor: &Actor,
        scope: OrderScope<'_>,
        state: Option<&str>,
        cursor_s: Option<&str>,
        limit: Option<i64>,
    ) -> Result<OrderPage, AppError> {
        let limit = crate::paging::limit(limit, 50, 500)?;
        let state = state.filter(|s| !s.is_empty());
        if let Some(s) = state {
            if OrderState::parse(s).is_none() {
                return Err(AppError::BadRequest(format!(
                    "state: created, paid, cancelled or refunded, not {s:?}"
                )));
            }
        }
        let p = self.principal(actor).await?;
        let orgs;
        let mut f = OrderFilter {
            state,
            ..Default::default()
        };
        match scope {
            OrderScope::Mine => f.created_by = Some(&actor.name),
            OrderScope::Org(o) => {
                self.may_on_org(&p, Action::ReadSeals, o).await?;
                orgs = vec![o.to_string()];
                f.orgs = Some(&orgs);
            }
            OrderScope::All => {
                may(&p, Action::ReadSeals, Resource::Platform)?;
            }
        }
        let rows = self
            .store
            .order_find(&f, crate::paging::cursor_owned(cursor_s)?, limit)
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows
            .into_iter()
            .map(|o| self.order_view(o))
            .collect::<Result<_, _>>()?;
        Ok(OrderPage { items, next_cursor })
    }

    /// Whether the caller may record logistics numbers (asked before a body is read, so a
    /// refusal does not depend on what was sent).
    pub async fn may_ship(&self, actor: &Actor) -> Result<(), AppError> {
        let p = self.principal(actor).await?;
        may(&p, Action::ProduceSeal, Resource::Platform)?;
        Ok(())
    }

    /// Whether the caller may register unified payers (platform administrators and operators).
    pub async fn may_manage_payers(&self, actor: &Actor) -> Result<(), AppError> {
        let p = self.principal(actor).await?;
        may(&p, Action::CreateOrg, Resource::Platform)?;
        Ok(())
    }

    /// Record the courier's tracking number of a paid order (platform operators).
    pub async fn order_set_logistics(
        &self,
        actor: &Actor,
        id: &str,
        number: &str,
    ) -> Result<OrderView, AppError> {
        let p = self.principal(actor).await?;
        may(&p, Action::ProduceSeal, Resource::Platform)?;
        let number = number.trim();
        if !(4..=40).contains(&number.len())
            || !number
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return Err(AppError::Invalid {
                field: "logistics_no",
                rule: "4-40 letters, digits or hyphens".into(),
            });
        }
        let o = self
            .store
            .order_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no order {id}")))?;
        if order_state(&o)? != OrderState::Paid {
            return Err(AppError::Conflict(format!(
                "order {id} is {}: only paid orders are shipped",
                o.state
            )));
        }
        if o.ship_recipient.is_none() {
            return Err(AppError::Policy(format!(
                "order {id} has no shipping address (cloud seals are not posted)"
            )));
        }
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::order_set_logistics(&mut tx, id, o.version, number, now).await? {
            return Err(AppError::Conflict(format!(
                "order {id} changed meanwhile: read it again"
            )));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "order.logistics",
                json!({"order": id, "application": o.application_id, "logistics_no": number}),
            )
            .await?;
        let (zh, en) = (
            format!("UKey 已寄出，运单号 {number}"),
            format!("the UKey was posted, tracking number {number}"),
        );
        self.notify_order(&mut tx, &o, "order.shipped", &zh, &en, o.version + 1)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.order(actor, id).await
    }

    /// The development checkout: the order a reference pays for (amount and state only).
    pub async fn dev_checkout(&self, reference: &str) -> Result<OrderView, AppError> {
        let o = self
            .store
            .order_by_provider_ref(provider::DEV, reference)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no payment {reference}")))?;
        self.order_view(o)
    }

    /// The development checkout's "pay": the provider sends its signed callback to our public
    /// base URL over HTTP (off the executor), as a real provider's server would.
    pub async fn dev_pay(&self, reference: &str) -> Result<(), AppError> {
        let o = self.dev_checkout(reference).await?;
        if self.config.payments.provider != provider::DEV {
            return Err(AppError::NotFound(
                "the development provider is not in use".into(),
            ));
        }
        let dev = DevProvider::open(&self.config)?;
        let reference = reference.to_string();
        tokio::task::spawn_blocking(move || dev.send_callback(&reference, o.amount_fen))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Unavailable(format!("payment callback: {e}")))
    }

    // ---- shipping addresses: the caller's own ------------------------------------------------

    pub async fn addresses(&self, actor: &Actor) -> Result<Vec<AddressView>, AppError> {
        Ok(self
            .store
            .addresses_of(&actor.name)
            .await?
            .into_iter()
            .map(AddressView::of)
            .collect())
    }

    /// Add an address; the first one is the default.
    pub async fn address_add(
        &self,
        actor: &Actor,
        a: NewAddress,
        is_default: bool,
    ) -> Result<AddressView, AppError> {
        let count = self.store.address_count(&actor.name).await?;
        if count >= MAX_ADDRESSES {
            return Err(AppError::Policy(format!(
                "at most {MAX_ADDRESSES} shipping addresses: delete one first"
            )));
        }
        let row = AddressRow {
            id: new_id(),
            owner: actor.name.clone(),
            recipient: a.recipient,
            mobile: a.mobile,
            region: a.region,
            detail: a.detail,
            is_default: is_default || count == 0,
            created_at: crate::store::now(),
        };
        let mut tx = self.store.begin().await?;
        Store::address_insert(&mut tx, &row).await?;
        // The number is personal data: the audit names the address only.
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "address.create",
                json!({"address": row.id, "region": row.region}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(AddressView::of(row))
    }

    /// Delete one of the caller's addresses (another's is answered 404, like a missing one).
    pub async fn address_delete(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !Store::address_delete(&mut tx, &actor.name, id).await? {
            return Err(AppError::NotFound(format!(
                "no shipping address {id} of yours"
            )));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "address.delete",
                json!({"address": id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    pub async fn address_set_default(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !Store::address_set_default(&mut tx, &actor.name, id).await? {
            return Err(AppError::NotFound(format!(
                "no shipping address {id} of yours"
            )));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "address.default",
                json!({"address": id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    // ---- unified payers: platform operators -------------------------------------------------

    /// Register a government body as paying for the applications of `region` (and below).
    pub async fn unified_payer_add(
        &self,
        actor: &Actor,
        payer_org_id: &str,
        region: &str,
    ) -> Result<UnifiedPayerView, AppError> {
        let p = self.principal(actor).await?;
        may(&p, Action::CreateOrg, Resource::Platform)?;
        if !crate::accounts::region::is_valid(region) {
            return Err(AppError::Invalid {
                field: "region",
                rule: "a GB/T 2260 region code (6 digits)".into(),
            });
        }
        let org = self.org(payer_org_id).await?;
        if org.kind != crate::accounts::orgs::OrgKind::Government {
            return Err(AppError::Invalid {
                field: "payer_org_id",
                rule: "unified payment is made by a government organisation".into(),
            });
        }
        if !region_within(region, &org.region) {
            return Err(AppError::Invalid {
                field: "region",
                rule: format!("within the payer's own region {}", org.region),
            });
        }
        let row = UnifiedPayerRow {
            id: new_id(),
            payer_org_id: org.id.clone(),
            region: region.to_string(),
            created_by: actor.name.clone(),
            created_at: crate::store::now(),
        };
        let mut tx = self.store.begin().await?;
        match Store::unified_payer_insert(&mut tx, &row).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "{} pays for {region} already",
                    org.name
                )))
            }
            other => other?,
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "unified-payer.create",
                json!({"id": row.id, "payer_org": org.id, "region": region}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(UnifiedPayerView {
            region_name: region_name(&row.region),
            id: row.id,
            payer_org_id: row.payer_org_id,
            region: row.region,
            created_at: row.created_at,
        })
    }

    /// Every unified payer (platform staff).
    pub async fn unified_payers_list(
        &self,
        actor: &Actor,
    ) -> Result<Vec<UnifiedPayerView>, AppError> {
        may(
            &Principal::platform(actor),
            Action::ReadSeals,
            Resource::Platform,
        )?;
        Ok(self
            .store
            .unified_payers()
            .await?
            .into_iter()
            .map(|u| UnifiedPayerView {
                region_name: region_name(&u.region),
                id: u.id,
                payer_org_id: u.payer_org_id,
                region: u.region,
                created_at: u.created_at,
            })
            .collect())
    }
}
