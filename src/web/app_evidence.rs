//! The console's evidence report (存证报告): the form on an app's page (`templates/app.html`)
//! asks `GET /apps/{id}/evidence-report?sha256=…&lang=zh|en`, answered with the signed PDF as a
//! download for those who may read the app (its owner, platform staff) — the same service as
//! the apps' API (`apps::evidence`); a refusal is the app's page with the reason in the reader's
//! language.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::account::{problem, status_of, SignedIn};
use super::{Lang, Page};
use crate::app::App;
use crate::apps::evidence::ReportLang;
use crate::error::AppError;

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/apps/{id}/evidence-report", get(download))
}

#[derive(Deserialize, Default)]
struct ReportForm {
    #[serde(default)]
    sha256: String,
    /// zh or en; the reader's language when absent.
    #[serde(default)]
    lang: String,
}

async fn download(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    q: Result<Query<ReportForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let f = q.map(|Query(f)| f).unwrap_or_default();
    let report_lang = ReportLang::parse(&f.lang).unwrap_or(match lang {
        Lang::ZhCn => ReportLang::Zh,
        Lang::En => ReportLang::En,
    });
    let actor = who.actor();
    let made = async {
        let report = app.app_evidence_report_for(&actor, &id, &f.sha256).await?;
        let pdf = app
            .evidence_report_pdf(&actor, &report, report_lang)
            .await?;
        Ok::<_, AppError>((report, pdf))
    }
    .await;
    match made {
        Ok((report, pdf)) => {
            let name = format!(
                "attachment; filename=\"evidence-{}-{}.pdf\"",
                report.document_sha256.get(..16).unwrap_or_default(),
                report_lang.tag()
            );
            let mut r = ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let page = Page::new(lang, &format!("/apps/{id}"));
            let msg = match &e {
                AppError::BadRequest(_) => page.tr("apps.report.bad_hash").to_string(),
                AppError::NotFound(_) => page.tr("apps.report.none").to_string(),
                e => problem(&page, e),
            };
            let status = match &e {
                AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal(detail) => {
                    tracing::error!(error = %detail, "evidence report");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                e => status_of(e),
            };
            super::apps::app_page(
                &app,
                lang,
                &who,
                &id,
                super::apps::Extra::error(msg),
                status,
            )
            .await
        }
    }
}
