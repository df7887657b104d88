//! Each role's work queue on its home page: what waits for this account to act on. Later issues add
//! their queues here (applications to review, seals to make, registrations to approve).

use super::session::Authenticated;
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;

/// One line of a work queue: a catalogue key naming the work, how many, and the console page
/// that does it (None while the work is done through the API only).
#[derive(Clone, Debug)]
pub struct QueueItem {
    pub label_key: &'static str,
    pub count: i64,
    pub href: Option<String>,
}

impl App {
    /// The work waiting for `who`, by what its role and memberships allow it to decide.
    pub async fn work_queue(&self, who: &Authenticated) -> Result<Vec<QueueItem>, AppError> {
        let mut out = Vec::new();
        if Permission::DecideAuthorityCert.granted_to(who.account.role) {
            // Counted up to 1,000: the page says "1000+" beyond.
            let n = self
                .store
                .workflow_list("authority-certificate", Some("submitted"), None, 1001)
                .await?
                .len() as i64;
            out.push(QueueItem {
                label_key: "queue.authority_requests",
                count: n,
                href: None,
            });
        }
        // Seal applications and operations waiting for this reviewer (or any, for staff).
        for (kind, key, href) in [
            (
                "seal-application",
                "queue.seal_applications",
                "/seal-applications?scope=review",
            ),
            (
                "seal-operation",
                "queue.seal_operations",
                "/seal-applications?scope=review&kind=seal-operation",
            ),
        ] {
            let page = self
                .seal_applications(
                    &who.actor(),
                    kind,
                    crate::seals::service::AppScope::Review,
                    Some("pending-review"),
                    None,
                    Some(500),
                )
                .await?;
            if !page.items.is_empty() {
                out.push(QueueItem {
                    label_key: key,
                    count: page.items.len() as i64,
                    href: Some(href.into()),
                });
            }
        }
        // Seal-administrator applications below what the account reviews or administers, and
        // (platform staff) organisation updates; listed only when something waits.
        use crate::seals::admin_service::AdminKind;
        let actor = who.actor();
        for (kind, label_key) in [
            (AdminKind::SealAdmin, "admins.queue_admins"),
            (AdminKind::OrgUpdate, "admins.queue_updates"),
        ] {
            let n = self
                .admin_records(
                    &actor,
                    kind,
                    crate::seals::service::AppScope::Review,
                    Some("pending-review"),
                    None,
                    Some(500),
                )
                .await?
                .items
                .len() as i64;
            if n > 0 {
                out.push(QueueItem {
                    label_key,
                    count: n,
                    href: Some(format!("/{}", kind.pages())),
                });
            }
        }
        Ok(out)
    }
}
