//! The evidence report (存证报告) of the apps' signing API: for a document hash, every sealing
//! of it by one app — app, seal and its organisation, the signing certificate, both hashes, time,
//! level, field, placements, client address — with the sealing's `pdf.sign` entry in the audit
//! chain (checked against its hash and its content) and the signed checkpoint that covers it. As
//! JSON, or as an A4 PDF in Chinese or English (`evidence_pdf`) signed by the platform's evidence
//! signer at PAdES B-T through the signing service. Built from the stored evidence and the chain
//! on every call; nothing is kept.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::access::Actor;
use crate::app::App;
use crate::apps::AppCaller;
use crate::error::AppError;
use crate::seals::maker::PlatformKey;
use crate::signing::{placement::Placement, Level, PdfJob, Use};
use crate::store::{EvidenceRow, Role, StoreError};

/// A report's language: each PDF is in one language; the JSON has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportLang {
    Zh,
    En,
}

impl ReportLang {
    /// `zh` (also `zh-CN`, `zh-Hans`) or `en` (also `en-GB`, …).
    pub fn parse(s: &str) -> Option<ReportLang> {
        let t = s.trim().to_ascii_lowercase();
        if t == "zh" || t.starts_with("zh-") {
            Some(ReportLang::Zh)
        } else if t == "en" || t.starts_with("en-") {
            Some(ReportLang::En)
        } else {
            None
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            ReportLang::Zh => "zh",
            ReportLang::En => "en",
        }
    }
}

/// The evidence report of one app's sealings of one document.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EvidenceReport {
    /// The SHA-256 asked about (lower-case hex): a sealed document's or an original's.
    pub document_sha256: String,
    pub app: ReportApp,
    /// Oldest first (at most 100).
    pub sealings: Vec<SealingEvidence>,
    /// When this report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The same, in Unix seconds.
    pub generated_at_unix: i64,
    /// Where anyone can verify a sealed document, or this report's PDF.
    pub verification_url: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportApp {
    pub id: String,
    pub name: String,
}

/// One sealing, as the evidence row and the audit chain record it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SealingEvidence {
    /// The evidence record's id (`X-Sealpki-Evidence` of the sealing's answer).
    pub evidence_id: String,
    pub seal: ReportSeal,
    /// The seal's signing certificate at the time of the sealing.
    pub certificate: ReportCertificate,
    /// The seal administrator's authorization the sealing used.
    pub grant_id: String,
    /// SHA-256 of the document as the app sent it.
    pub input_sha256: String,
    /// SHA-256 of the sealed document the app received.
    pub output_sha256: String,
    pub output_bytes: i64,
    /// When it was sealed (RFC 3339, UTC).
    pub sealed_at: String,
    pub sealed_at_unix: i64,
    /// PAdES level: b-b, b-t, b-lt or b-lta.
    pub level: String,
    /// The signature field's name.
    pub field: String,
    /// The placements asked for (position, keyword occurrence, cross-page), as the sealing
    /// request gave them.
    #[schema(value_type = Vec<Object>)]
    pub placements: serde_json::Value,
    /// The address the app's request came from.
    pub client: String,
    /// The sealing's entry in the audit chain; none for sealings recorded before the evidence
    /// named its entry.
    pub audit: Option<AuditRecordRef>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportSeal {
    pub id: String,
    /// The 13-digit seal code.
    pub code: String,
    pub name: String,
    /// legal-name, contract, finance, invoice, business, …
    pub seal_type: String,
    pub organisation: ReportOrganisation,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportOrganisation {
    pub id: String,
    pub name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportCertificate {
    /// Serial number, hex.
    pub serial: String,
    /// RFC 4514.
    pub subject: String,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
}

/// Where a sealing is in the audit chain: `sealpki audit verify` walks the chain, and the entry
/// at `seq` must have `hash`, linking to `prev_hash`, up to the signed `checkpoint`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditRecordRef {
    /// The entry's sequence number in the chain.
    pub seq: i64,
    /// Its hash (SHA-256 over the previous hash, seq, time, actor, action and detail).
    pub hash: String,
    /// The hash of the entry before it.
    pub prev_hash: Option<String>,
    /// When it was appended (RFC 3339, UTC) and in Unix seconds.
    pub at: Option<String>,
    pub at_unix: Option<i64>,
    /// Who sealed (`app:ID`).
    pub actor: Option<String>,
    /// `pdf.sign`.
    pub action: Option<String>,
    /// The entry exists, its hash recomputes from its content and is the hash the evidence
    /// names, and it records this sealing (app, seal, certificate, both hashes, client).
    pub verified: bool,
    /// The first signed checkpoint of the chain's head at or after the entry; none until one
    /// is made.
    pub checkpoint: Option<CheckpointRef>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CheckpointRef {
    pub seq: i64,
    /// The chain's head hash at `seq`, signed by the audit key.
    pub head_hash: String,
    /// RFC 3339, UTC.
    pub signed_at: String,
    pub signed_at_unix: i64,
}

/// A Unix time as RFC 3339 in UTC (`2026-12-01T12:00:00Z`).
pub fn rfc3339(unix: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    sealpki_pki::der::DateTime::from_system_time(t)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// The SHA-256 asked about, lower-case, or 400.
fn document_hash(sha256: &str) -> Result<String, AppError> {
    let h = sha256.trim().to_ascii_lowercase();
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest(
            "sha256: give the document's SHA-256 as 64 hex digits".into(),
        ));
    }
    Ok(h)
}

/// Does the audit entry record this sealing? Every fact the evidence and the entry share.
fn records(row: &crate::store::AuditRow, e: &EvidenceRow) -> bool {
    let Ok(d) = serde_json::from_str::<serde_json::Value>(&row.detail) else {
        return false;
    };
    let same = |k: &str, v: &str| d.get(k).and_then(|x| x.as_str()) == Some(v);
    row.action == "pdf.sign"
        && row.actor == format!("app:{}", e.app_id)
        && same("app", &e.app_id)
        && same("seal", &e.seal_id)
        && same("grant", &e.grant_id)
        && same("certificate", &e.cert_serial)
        && same("input_sha256", &e.input_sha256)
        && same("output_sha256", &e.output_sha256)
        && same("client", &e.client)
}

impl App {
    /// The calling app's evidence report for a document (by the SHA-256 of the sealed document
    /// or of the original): 400 for a malformed hash, 404 when the app sealed no such document.
    pub async fn app_evidence_report(
        &self,
        caller: &AppCaller,
        sha256: &str,
    ) -> Result<EvidenceReport, AppError> {
        let h = document_hash(sha256)?;
        let rows = self.app_evidence(caller, &h).await?;
        let app = self
            .store
            .app_get(&caller.app_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("app {} is gone", caller.app_id)))?;
        self.evidence_report(
            ReportApp {
                id: app.id,
                name: app.name,
            },
            h,
            rows,
        )
        .await
    }

    /// The same report of app `app_id` for the people who may read the app (its owner and
    /// platform staff; the console's form).
    pub async fn app_evidence_report_for(
        &self,
        actor: &Actor,
        app_id: &str,
        sha256: &str,
    ) -> Result<EvidenceReport, AppError> {
        let a = self.app_get(actor, app_id).await?;
        let h = document_hash(sha256)?;
        let rows = self.store.app_evidence_by_hash(&a.id, &h).await?;
        if rows.is_empty() {
            return Err(AppError::NotFound(format!(
                "app {} sealed no document with SHA-256 {h}",
                a.id
            )));
        }
        self.evidence_report(
            ReportApp {
                id: a.id,
                name: a.name,
            },
            h,
            rows,
        )
        .await
    }

    async fn evidence_report(
        &self,
        app: ReportApp,
        document_sha256: String,
        mut rows: Vec<EvidenceRow>,
    ) -> Result<EvidenceReport, AppError> {
        // In the order they were sealed: the chain's order within a second.
        rows.sort_by(|a, b| {
            (a.created_at, a.audit_seq, &a.id).cmp(&(b.created_at, b.audit_seq, &b.id))
        });
        let mut sealings = Vec::with_capacity(rows.len());
        for e in rows {
            sealings.push(self.sealing_evidence(e).await?);
        }
        let now = crate::store::now();
        Ok(EvidenceReport {
            document_sha256,
            app,
            sealings,
            generated_at: rfc3339(now),
            generated_at_unix: now,
            verification_url: format!("{}/verify", self.config.public_base_url()),
        })
    }

    async fn sealing_evidence(&self, e: EvidenceRow) -> Result<SealingEvidence, AppError> {
        use sealpki_pki::der::Decode;
        let gone = |what: &str| StoreError::Corrupt(format!("evidence {}: {what} is gone", e.id));
        let seal = self
            .store
            .seal_get(&e.seal_id)
            .await?
            .ok_or_else(|| gone("the seal"))?;
        let org = self
            .store
            .org_get(&seal.org_id)
            .await?
            .ok_or_else(|| gone("the seal's organisation"))?;
        let cert = self
            .store
            .cert_get(&e.cert_serial)
            .await?
            .ok_or_else(|| gone("the certificate"))?;
        let der = cert.der.as_deref().ok_or_else(|| gone("the certificate"))?;
        let x509 = sealpki_pki::x509_cert::Certificate::from_der(der)
            .map_err(|e| StoreError::Corrupt(format!("certificate {}: {e}", cert.serial)))?;
        let certificate = ReportCertificate {
            serial: cert.serial.clone(),
            subject: sealpki_pki::name::display(&x509.tbs_certificate.subject),
            issuer: sealpki_pki::name::display(&x509.tbs_certificate.issuer),
            not_before: rfc3339(cert.not_before),
            not_after: rfc3339(cert.not_after),
            not_before_unix: cert.not_before,
            not_after_unix: cert.not_after,
        };
        let audit = match (e.audit_seq, e.audit_hash.as_deref()) {
            (Some(seq), Some(hash)) => Some(self.audit_record(seq, hash, &e).await?),
            _ => None,
        };
        Ok(SealingEvidence {
            evidence_id: e.id.clone(),
            seal: ReportSeal {
                id: seal.id,
                code: seal.code,
                name: seal.name,
                seal_type: seal.seal_type,
                organisation: ReportOrganisation {
                    id: org.id,
                    name: org.name,
                    credit_code: org.credit_code,
                },
            },
            certificate,
            grant_id: e.grant_id.clone(),
            placements: serde_json::from_str(&e.placements)
                .unwrap_or(serde_json::Value::String(e.placements.clone())),
            input_sha256: e.input_sha256,
            output_sha256: e.output_sha256,
            output_bytes: e.bytes,
            sealed_at: rfc3339(e.created_at),
            sealed_at_unix: e.created_at,
            level: e.level,
            field: e.field,
            client: e.client,
            audit,
        })
    }

    /// The audit entry at `seq`, checked: it exists, its content hashes to `hash`, and it
    /// records sealing `e`.
    async fn audit_record(
        &self,
        seq: i64,
        hash: &str,
        e: &EvidenceRow,
    ) -> Result<AuditRecordRef, AppError> {
        let row = self.store.audit_entry(seq).await?;
        let checkpoint = self
            .store
            .audit_checkpoint_covering(seq)
            .await?
            .map(|c| CheckpointRef {
                seq: c.seq,
                head_hash: c.head_hash,
                signed_at: rfc3339(c.at),
                signed_at_unix: c.at,
            });
        let Some(r) = row else {
            tracing::error!(evidence = %e.id, seq, "the audit entry an evidence row names is missing");
            return Ok(AuditRecordRef {
                seq,
                hash: hash.to_string(),
                prev_hash: None,
                at: None,
                at_unix: None,
                actor: None,
                action: None,
                verified: false,
                checkpoint,
            });
        };
        let recomputed =
            crate::audit::entry_hash(&r.prev_hash, r.seq, r.at, &r.actor, &r.action, &r.detail);
        let verified = recomputed == r.hash && r.hash == hash && records(&r, e);
        if !verified {
            tracing::error!(evidence = %e.id, seq, "the audit entry does not match the evidence");
        }
        Ok(AuditRecordRef {
            seq,
            hash: hash.to_string(),
            prev_hash: Some(r.prev_hash),
            at: Some(rfc3339(r.at)),
            at_unix: Some(r.at),
            actor: Some(r.actor),
            action: Some(r.action),
            verified,
            checkpoint,
        })
    }

    /// The report as an A4 PDF in `lang`, signed by the platform's evidence signer at PAdES B-T
    /// (a time stamp from our TSA) through the signing service, and audited (`pdf.sign` by
    /// `actor`, with what the report covers).
    pub async fn evidence_report_pdf(
        self: &Arc<Self>,
        actor: &Actor,
        report: &EvidenceReport,
        lang: ReportLang,
    ) -> Result<Vec<u8>, AppError> {
        let key = self
            .platform_signing_key(PlatformKey::EvidenceSigner, Use::Document)
            .await?;
        let signer = super::evidence_pdf::Signer {
            subject: sealpki_pki::name::display(&key.cert.tbs_certificate.subject),
            serial: sealpki_pki::issue::serial_hex(&key.cert.tbs_certificate.serial_number),
        };
        let fonts = crate::seals::font::fonts(self.config.seals.font.as_deref())?;
        let r = report.clone();
        let pdf = tokio::task::spawn_blocking(move || {
            super::evidence_pdf::compose(&fonts.form, fonts.form_bold.as_ref(), &r, lang, &signer)
                .map_err(|e| AppError::Internal(format!("evidence report: {e}")))
        })
        .await
        .map_err(|e| AppError::Internal(format!("evidence report task: {e}")))??;
        let title = super::evidence_pdf::title(lang);
        let signed = self
            .sign_pdf_bytes(
                actor,
                key,
                PdfJob {
                    pdf,
                    password: None,
                    image: None,
                    placement: Placement::default(),
                    spots: Vec::new(),
                    field: Some("sealpki-evidence-report".into()),
                    level: Level::BT,
                    // A certification signature: no changes permitted.
                    certify: Some(1),
                    reason: Some(title.into()),
                    location: None,
                },
                json!({"evidence_report": {"app_id": report.app.id,
                       "document_sha256": report.document_sha256,
                       "evidence": report.sealings.iter().map(|s| &s.evidence_id).collect::<Vec<_>>(),
                       "lang": lang.tag(), "generated_at": report.generated_at_unix}}),
            )
            .await?;
        Ok(signed.0)
    }

    /// [`App::evidence_report_pdf`] for the calling app (the actor `app:ID`).
    pub async fn app_evidence_report_pdf(
        self: &Arc<Self>,
        caller: &AppCaller,
        report: &EvidenceReport,
        lang: ReportLang,
    ) -> Result<Vec<u8>, AppError> {
        let actor = Actor {
            name: format!("app:{}", caller.app_id),
            role: Role::Person,
        };
        self.evidence_report_pdf(&actor, report, lang).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_hashes() {
        assert_eq!(ReportLang::parse("zh"), Some(ReportLang::Zh));
        assert_eq!(ReportLang::parse("zh-CN"), Some(ReportLang::Zh));
        assert_eq!(ReportLang::parse("EN"), Some(ReportLang::En));
        assert_eq!(ReportLang::parse("fr"), None);
        let h = "AB".repeat(32);
        assert_eq!(document_hash(&h).unwrap(), "ab".repeat(32));
        for bad in ["", "xyz", &"a".repeat(63), &"g".repeat(64), &"a".repeat(65)] {
            assert!(document_hash(bad).is_err(), "{bad}");
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
    }
}
