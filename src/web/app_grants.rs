//! The seal administrator's authorization screens (应用授权, the manual's §4): the authorized apps
//! (`/app-grants`), "authorize a new app" in two steps — choose the app (`/app-grants/new`), then
//! the seals with the organisation tree on the left and checkboxes on the right, or "all seals of
//! this organisation" (`/app-grants/new/seals`) —, the result with "sync to other apps"
//! (`/app-grants/sync`), an app's seals with batch and organisation-wide withdrawal
//! (`/app-grants/apps/{id}`; a UKey app's read only) and a seal's apps (`/app-grants/seals/{id}`).
//! `apps::grant_service` does the work and `accounts::policy` decides; refusals are shown in the
//! reader's language with the service's reason.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::account::{problem, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::access::Actor;
use crate::app::App;
use crate::apps::grant_service::{
    AppBrief, GrantOutcome, GrantRequest, GrantView, GrantedApp, SealApps, SealBrief, Skipped,
    SyncRequest, WithdrawRequest,
};
use crate::error::AppError;

/// Form posts here are small (at most 500 seal ids).
const MAX_FORM: usize = 64 * 1024;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/app-grants", get(list))
        .route("/app-grants/new", get(step_app))
        .route(
            "/app-grants/new/seals",
            get(step_seals)
                .post(grant)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/app-grants/apps/{id}", get(app_page))
        .route(
            "/app-grants/apps/{id}/withdraw",
            post(withdraw).layer(axum::extract::DefaultBodyLimit::max(MAX_FORM)),
        )
        .route(
            "/app-grants/sync",
            get(sync_form)
                .post(sync)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/app-grants/seals/{id}", get(seal_page))
}

/// What went wrong, in the reader's language, with the service's own words after it.
fn say(page: &Page, e: &AppError) -> String {
    let head = problem(page, e);
    match e {
        AppError::StateConflict { message, .. } => format!("{head} — {message}"),
        AppError::Invalid { .. } => head,
        other => format!("{head} — {other}"),
    }
}

/// The fields of a form post (`application/x-www-form-urlencoded`), repeated names kept.
fn fields(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (super::percent_decode(k), super::percent_decode(v))
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn all_of(f: &[(String, String)], name: &str) -> Vec<String> {
    f.iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Beijing time, in which the dates of these forms are meant.
const CST: i64 = 8 * 3600;

/// A date field (`YYYY-MM-DD`) as the end of that day in Beijing time (Unix seconds).
fn end_of_day(s: &str) -> Result<i64, AppError> {
    let bad = || AppError::Invalid {
        field: "valid_until",
        rule: "a date such as 2027-12-31".into(),
    };
    let mut it = s.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok((days + 1) * 86_400 - CST)
}

/// A Unix time as the date (Beijing time) a date field shows.
fn date_of(unix: i64) -> String {
    let (y, m, d) = civil_from_days((unix + CST).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A date for the pages: `2027-12-31` (Beijing time).
pub fn day(unix: &i64) -> String {
    date_of(*unix)
}

/// The last day of a validity ending at `unix` (its first second that no longer counts).
pub fn last_day(unix: &i64) -> String {
    date_of(unix.saturating_sub(1))
}

#[derive(Template)]
#[template(path = "app-grants.html")]
struct ListPage {
    page: Page,
    apps: Vec<GrantedApp>,
}

async fn list(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    match app.granted_apps(&who.actor()).await {
        Ok(apps) => html(
            StatusCode::OK,
            &ListPage {
                page: Page::new(lang, "/app-grants"),
                apps,
            },
        ),
        Err(e) => super::error_page(lang, "/app-grants", status_of(&e), None, None),
    }
}

#[derive(Deserialize)]
struct StepAppQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "app-grant-new.html")]
struct StepAppPage {
    page: Page,
    q: String,
    apps: Vec<AppBrief>,
}

/// Step 1: find the app by its name or its supervising or developer unit, and choose it.
async fn step_app(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<StepAppQuery>,
) -> Response {
    let here = "/app-grants/new";
    match app.grant_app_search(&who.actor(), q.q.as_deref()).await {
        Ok(apps) => html(
            StatusCode::OK,
            &StepAppPage {
                page: Page::new(lang, here),
                q: q.q.unwrap_or_default(),
                apps,
            },
        ),
        Err(e) => super::error_page(lang, here, status_of(&e), None, None),
    }
}

#[derive(Deserialize)]
struct StepSealsQuery {
    app: Option<String>,
    org: Option<String>,
}

/// A seal to choose in step 2.
struct Choice {
    seal: SealBrief,
    /// Why it cannot be chosen: granted already, not active, a UKey seal.
    blocked: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "app-grant-seals.html")]
struct StepSealsPage {
    page: Page,
    app: AppBrief,
    tree: Vec<(usize, String, String)>,
    org: String,
    org_name: String,
    choices: Vec<Choice>,
    valid_until: String,
    use_limit: String,
    error: Option<String>,
}

async fn app_of(app: &App, actor: &Actor, id: &str) -> Result<AppBrief, AppError> {
    app.app_seals(actor, id, Some("live"), None, None, Some(1))
        .await
        .map(|s| s.app)
}

#[allow(clippy::too_many_arguments)]
async fn seals_page(
    app: &App,
    lang: Lang,
    actor: &Actor,
    app_id: &str,
    org: Option<&str>,
    valid_until: Option<String>,
    use_limit: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!(
        "/app-grants/new/seals?app={}{}",
        super::percent_encode(app_id),
        org.map(|o| format!("&org={}", super::percent_encode(o)))
            .unwrap_or_default()
    );
    let brief = match app_of(app, actor, app_id).await {
        Ok(a) => a,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    if brief.is_ukey() {
        // Nothing to grant: a UKey app's seals are shown read only on its page.
        return super::account::see_other(&format!("/app-grants/apps/{}", brief.id));
    }
    let tree = app.grant_org_tree(actor).await.unwrap_or_default();
    let (seals, held) = match app.grant_seal_choices(actor, app_id, org).await {
        Ok(x) => x,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let choices = seals
        .into_iter()
        .map(|s| {
            let blocked = if s.mode == "ukey" {
                Some("ukey-seal")
            } else if s.state != "active" {
                Some("seal-not-active")
            } else if held.contains(&s.id) {
                Some("already-granted")
            } else {
                None
            };
            Choice { seal: s, blocked }
        })
        .collect();
    let org_name = org
        .and_then(|o| tree.iter().find(|(_, id, _)| id == o))
        .map(|(_, _, n)| n.clone())
        .unwrap_or_default();
    html(
        status,
        &StepSealsPage {
            page: Page::new(lang, &here),
            app: brief,
            tree,
            org: org.unwrap_or_default().to_string(),
            org_name,
            choices,
            valid_until: valid_until.unwrap_or_else(|| date_of(crate::store::now() + 365 * 86_400)),
            use_limit: use_limit.unwrap_or_default(),
            error,
        },
    )
}

/// Step 2: the organisation tree on the left, its seals on the right to tick, or all of them.
async fn step_seals(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<StepSealsQuery>,
) -> Response {
    let Some(app_id) = q.app.filter(|a| !a.is_empty()) else {
        return super::account::see_other("/app-grants/new");
    };
    seals_page(
        &app,
        lang,
        &who.actor(),
        &app_id,
        q.org.as_deref().filter(|o| !o.is_empty()),
        None,
        None,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "app-grant-result.html")]
struct ResultPage {
    page: Page,
    app: AppBrief,
    granted: Vec<GrantView>,
    skipped: Vec<Skipped>,
}

/// The grant itself: the ticked seals (a batch), or with `all` every seal of the organisation.
async fn grant(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let actor = who.actor();
    let app_id = field(&f, "app").unwrap_or_default().to_string();
    let org = field(&f, "org").map(str::to_string);
    let until_s = field(&f, "valid_until").map(str::to_string);
    let limit_s = field(&f, "use_limit").map(str::to_string);
    let all = field(&f, "how") == Some("all");
    let req = (|| -> Result<GrantRequest, AppError> {
        let valid_until = end_of_day(until_s.as_deref().unwrap_or(""))?;
        let use_limit = match limit_s.as_deref() {
            None => None,
            Some(s) => Some(s.trim().parse::<i64>().map_err(|_| AppError::Invalid {
                field: "use_limit",
                rule: "a whole number of 1 or more, or empty for no limit".into(),
            })?),
        };
        let seals = all_of(&f, "seal");
        if !all && seals.is_empty() {
            return Err(AppError::Invalid {
                field: "seal_ids",
                rule: "tick at least one seal, or choose all seals of the organisation".into(),
            });
        }
        Ok(GrantRequest {
            app_id: app_id.clone(),
            seal_ids: (!all).then_some(seals),
            org_id: if all { org.clone() } else { None },
            valid_from: None,
            valid_until,
            use_limit,
        })
    })();
    let page = Page::new(lang, "/app-grants/new/seals");
    let outcome: Result<GrantOutcome, AppError> = match req {
        Ok(r) if all && r.org_id.is_none() => Err(AppError::Invalid {
            field: "org_id",
            rule: "choose an organisation in the tree first".into(),
        }),
        Ok(r) => app.app_grant_create(&actor, &r, None).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) => html(
            StatusCode::OK,
            &ResultPage {
                page,
                app: o.app,
                granted: o.granted,
                skipped: o.skipped,
            },
        ),
        Err(e) => {
            let msg = say(&page, &e);
            seals_page(
                &app,
                lang,
                &actor,
                &app_id,
                org.as_deref(),
                until_s,
                limit_s,
                Some(msg),
                status_of(&e),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct AppPageQuery {
    org: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "app-grant-app.html")]
struct AppPage {
    page: Page,
    app: AppBrief,
    read_only: bool,
    items: Vec<GrantView>,
    ukey_seals: Vec<SealBrief>,
    tree: Vec<(usize, String, String)>,
    org: String,
    state: String,
    notice: Option<String>,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_app(
    app: &App,
    lang: Lang,
    actor: &Actor,
    id: &str,
    org: Option<&str>,
    state: Option<&str>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/app-grants/apps/{id}");
    let seals = match app.app_seals(actor, id, state, org, None, Some(500)).await {
        Ok(s) => s,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    html(
        status,
        &AppPage {
            page: Page::new(lang, &here),
            read_only: seals.read_only,
            app: seals.app,
            items: seals.items,
            ukey_seals: seals.ukey_seals,
            tree: app.grant_org_tree(actor).await.unwrap_or_default(),
            org: org.unwrap_or_default().to_string(),
            state: state.unwrap_or("live").to_string(),
            notice,
            error,
        },
    )
}

/// An app's seals: its grants to withdraw (ticked, or all of the chosen organisation), or a UKey
/// app's seals, read only.
async fn app_page(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<AppPageQuery>,
) -> Response {
    render_app(
        &app,
        lang,
        &who.actor(),
        &id,
        q.org.as_deref().filter(|o| !o.is_empty()),
        q.state.as_deref().filter(|s| !s.is_empty()),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

async fn withdraw(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let actor = who.actor();
    let org = field(&f, "org").map(str::to_string);
    let all = field(&f, "how") == Some("all");
    let grants = all_of(&f, "grant");
    let req = if all {
        WithdrawRequest {
            app_id: Some(id.clone()),
            org_id: org.clone(),
            reason: field(&f, "reason").map(str::to_string),
            ..Default::default()
        }
    } else {
        WithdrawRequest {
            grant_ids: Some(grants),
            reason: field(&f, "reason").map(str::to_string),
            ..Default::default()
        }
    };
    let page = Page::new(lang, "/app-grants");
    let result = if all && org.is_none() {
        Err(AppError::Invalid {
            field: "org_id",
            rule: "choose an organisation in the tree first".into(),
        })
    } else if !all && req.grant_ids.as_ref().is_some_and(Vec::is_empty) {
        Err(AppError::Invalid {
            field: "grant_ids",
            rule: "tick at least one seal".into(),
        })
    } else {
        app.app_grant_withdraw(&actor, &req, None).await
    };
    match result {
        Ok(o) => {
            let notice = page
                .tr("grants.withdrawn_n")
                .replace("{n}", &o.withdrawn.len().to_string());
            render_app(
                &app,
                lang,
                &actor,
                &id,
                org.as_deref(),
                None,
                Some(notice),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let msg = say(&page, &e);
            render_app(
                &app,
                lang,
                &actor,
                &id,
                org.as_deref(),
                None,
                None,
                Some(msg),
                status_of(&e),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct SyncQuery {
    from: Option<String>,
}

#[derive(Template)]
#[template(path = "app-grant-sync.html")]
struct SyncPage {
    page: Page,
    from: AppBrief,
    source: Vec<GrantView>,
    targets: Vec<AppBrief>,
    chosen: BTreeSet<String>,
    result: Vec<(AppBrief, usize, usize, usize)>,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_sync(
    app: &App,
    lang: Lang,
    actor: &Actor,
    from: &str,
    chosen: BTreeSet<String>,
    result: Vec<(AppBrief, usize, usize, usize)>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/app-grants/sync?from={}", super::percent_encode(from));
    let seals = match app
        .app_seals(actor, from, None, None, None, Some(500))
        .await
    {
        Ok(s) => s,
        Err(e) => return super::error_page(lang, &here, status_of(&e), None, None),
    };
    let targets = app
        .grant_app_search(actor, None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.id != seals.app.id && !a.is_ukey() && a.state == "active")
        .collect();
    html(
        status,
        &SyncPage {
            page: Page::new(lang, &here),
            from: seals.app,
            source: seals.items,
            targets,
            chosen,
            result,
            error,
        },
    )
}

/// Sync to other apps: the seals the app holds (under "show"), the apps to give them to.
async fn sync_form(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<SyncQuery>,
) -> Response {
    let Some(from) = q.from.filter(|f| !f.is_empty()) else {
        return super::account::see_other("/app-grants");
    };
    render_sync(
        &app,
        lang,
        &who.actor(),
        &from,
        BTreeSet::new(),
        Vec::new(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn sync(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let actor = who.actor();
    let from = field(&f, "from").unwrap_or_default().to_string();
    let to = all_of(&f, "to");
    let chosen: BTreeSet<String> = to.iter().cloned().collect();
    let page = Page::new(lang, "/app-grants/sync");
    let req = SyncRequest {
        from_app_id: from.clone(),
        to_app_ids: to,
        exact: field(&f, "exact").is_some(),
        valid_until: None,
        use_limit: None,
    };
    match app.app_grant_sync(&actor, &req, None).await {
        Ok(o) => {
            let result = o
                .targets
                .into_iter()
                .map(|t| (t.app, t.granted.len(), t.skipped.len(), t.withdrawn.len()))
                .collect();
            render_sync(
                &app,
                lang,
                &actor,
                &from,
                chosen,
                result,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let msg = say(&page, &e);
            render_sync(
                &app,
                lang,
                &actor,
                &from,
                chosen,
                Vec::new(),
                Some(msg),
                status_of(&e),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "app-grant-seal.html")]
struct SealPage {
    page: Page,
    s: SealApps,
}

/// A seal's apps.
async fn seal_page(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/app-grants/seals/{id}");
    match app.seal_apps(&who.actor(), &id).await {
        Ok(s) => html(
            StatusCode::OK,
            &SealPage {
                page: Page::new(lang, &here),
                s,
            },
        ),
        Err(e) => super::error_page(lang, &here, status_of(&e), None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        for z in [-1, 59, 60, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        // 2027-12-31 ends at 2028-01-01 00:00 in Beijing, 2027-12-31 16:00 UTC.
        assert_eq!(end_of_day("2027-12-31").unwrap(), 1_830_268_800);
        assert_eq!(date_of(1_830_268_800 - 1), "2027-12-31");
        assert_eq!(date_of(1_830_268_800), "2028-01-01");
        assert_eq!(last_day(&1_830_268_800), "2027-12-31");
        for bad in [
            "",
            "2027-02-30",
            "2027-13-01",
            "x-1-1",
            "2027-1",
            "1969-12-31",
        ] {
            assert!(end_of_day(bad).is_err(), "{bad}");
        }
        assert_eq!(
            fields(b"seal=a&seal=b&app=x%20y&how=all&empty="),
            vec![
                ("seal".to_string(), "a".to_string()),
                ("seal".into(), "b".into()),
                ("app".into(), "x y".into()),
                ("how".into(), "all".into()),
                ("empty".into(), "".into()),
            ]
        );
    }
}
