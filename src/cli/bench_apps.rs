//! `sealpki bench apps`: the apps' signing API under load, over real HTTP on loopback. A fresh
//! cloud seal authorized to a fresh app; then `connections` keep-alive connections POST a
//! one-page PDF to `/api/v1/app/seal` for `seconds`, each request HMAC-signed with its own nonce
//! and timestamp, the seal placed visibly at a position. Every answer must be a 200 (the run
//! stops at the first that is not). Afterwards the evidence rows and the audit chain's `pdf.sign`
//! records are counted against the answers: each answer was made durable before it was sent.
//! The peer in the same run: the same sealing called in-process (`App::app_seal`, no HTTP, no
//! request signature), with the same concurrency. Development data only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::bench::{bench_world, cpu_model, http_load_with, produce_seal, require_development};
use crate::app::App;
use crate::apps::signature::{self, Scheme, Signed};
use crate::apps::{AppCaller, CallerProof};
use crate::error::AppError;

/// An A4 page with a line of text: the document every request seals.
pub(crate) fn one_page_pdf() -> Vec<u8> {
    let content = "BT /F1 14 Tf 72 760 Td (Contract No. 2026-0001: signed and sealed below.) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub async fn apps(
    app: &Arc<App>,
    connections: usize,
    seconds: f64,
    json_out: bool,
) -> Result<i32, AppError> {
    use crate::accounts::orgs::MemberRole;
    use crate::accounts::policy::Principal;
    require_development(app, "apps").await?;
    let w = bench_world(app).await?;
    let admin = crate::access::Actor::cli();
    let staff = Principal::platform(&admin);
    eprintln!("producing a cloud seal and authorizing it to a new app…");
    let application = produce_seal(
        app,
        &w.applicant,
        &w.reviewer,
        &w.unit.id,
        &w.bureau.id,
        &w.scan.id,
        &format!("基准单位{}合同专用章", w.run),
    )
    .await?;
    let seal = app
        .store
        .seal_by_application(&application)
        .await?
        .ok_or_else(|| AppError::Internal("the produced seal is missing".into()))?;
    app.add_member(&staff, &w.unit.id, &w.reviewer.name, MemberRole::SealAdmin)
        .await?;
    let registered = app
        .app_register(
            &admin,
            &crate::apps::registry::NewApp {
                name: format!("基准应用{}", w.run),
                kind: "cloud-signing".into(),
                supervising_org_id: w.bureau.id.clone(),
                developer_org_id: w.unit.id.clone(),
                owner: w.applicant.name.clone(),
                contacts: vec![],
                callback_url: None,
                rate_per_second: Some(100_000),
                daily_quota: None,
            },
        )
        .await?;
    let key = app
        .app_create_key(
            &w.applicant,
            &registered.id,
            &crate::apps::credentials::NewCredentialRequest {
                kind: None,
                label: Some("bench".into()),
            },
        )
        .await?;
    app.app_grant_create(
        &w.reviewer,
        &crate::apps::grant_service::GrantRequest {
            app_id: registered.id.clone(),
            seal_ids: Some(vec![seal.id.clone()]),
            org_id: None,
            valid_from: None,
            valid_until: crate::store::now() + 30 * 86_400,
            use_limit: None,
        },
        None,
    )
    .await?;
    let secret = URL_SAFE_NO_PAD
        .decode(key.secret.as_bytes())
        .map_err(|e| AppError::Internal(format!("key secret: {e}")))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| AppError::Unavailable(format!("bench listener: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let router = crate::http::router(app.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });

    let pdf = one_page_pdf();
    let path = "/api/v1/app/seal";
    let query = format!("seal_id={}&x_mm=150&y_mm=240", seal.id);
    let digest = Scheme::HmacSha256.content_digest(&pdf);
    let (app_id, key_id, run) = (registered.id.clone(), key.key_id.clone(), w.run.clone());
    let host = addr.to_string();
    let body = Bytes::from(pdf);
    let pdf = body.clone();
    let request = move |n: u64| -> Vec<u8> {
        let ts = crate::store::now().to_string();
        let nonce = format!("bench-{run}-{n:012}");
        let canonical = signature::canonical(&Signed {
            method: "POST",
            path,
            query: Some(&query),
            timestamp: &ts,
            nonce: &nonce,
            content_digest: &digest,
            app_id: &app_id,
        })
        .unwrap_or_default();
        let sig = Scheme::HmacSha256.sign(&secret, &canonical);
        let mut r = format!(
            "POST {path}?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/pdf\r\n\
             Content-Length: {}\r\n{}: {app_id}\r\n{}: {key_id}\r\n{}: {ts}\r\n{}: {nonce}\r\n\
             {}: {digest}\r\n{}: {sig}\r\n\r\n",
            pdf.len(),
            signature::APP_HEADER,
            signature::KEY_HEADER,
            signature::TIMESTAMP_HEADER,
            signature::NONCE_HEADER,
            signature::DIGEST_HEADER,
            signature::SIGNATURE_HEADER,
        )
        .into_bytes();
        r.extend_from_slice(&pdf);
        r
    };
    let evidence_before = app.store.app_evidence_count(&registered.id).await?;
    let audit_before = app.store.audit_count_action("pdf.sign").await?;
    eprintln!(
        "sealing over HTTP with HMAC: {connections} connections for {seconds} s (a one-page PDF, \
         a visible seal)…"
    );
    let url = format!("http://{addr}{path}");
    let load =
        tokio::task::spawn_blocking(move || http_load_with(&url, connections, seconds, request))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
    let answered = load["responses"].as_u64().unwrap_or(0);
    let evidence = app.store.app_evidence_count(&registered.id).await? - evidence_before;
    let audited = app.store.audit_count_action("pdf.sign").await? - audit_before;
    let durable = i64::try_from(answered).unwrap_or(i64::MAX);
    if evidence < durable || audited < durable {
        return Err(AppError::Internal(format!(
            "{answered} sealings answered but {evidence} evidence rows and {audited} audit records"
        )));
    }

    // The peer: the same sealing in-process, same concurrency, a third of the time.
    let peer_seconds = (seconds / 3.0).max(1.0);
    eprintln!("the peer: the same sealing in-process for {peer_seconds:.0} s…");
    let caller = AppCaller {
        app_id: registered.id.clone(),
        proof: CallerProof::ApiKey {
            credential_id: key.key_id.clone(),
        },
        client: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        daily_quota: None,
    };
    let order = crate::apps::sealing::SealOrder {
        seal_id: seal.id.clone(),
        spots: vec![crate::signing::placement::Spot::At {
            page: 1,
            x_mm: 150.0,
            y_mm: 240.0,
        }],
        size_mm: None,
        level: crate::signing::Level::BB,
        reason: None,
        location: None,
    };
    let deadline = Instant::now() + Duration::from_secs_f64(peer_seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (app, caller, order, body) = (app.clone(), caller.clone(), order.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                app.app_seal(&caller, body.clone(), order.clone(), None, None)
                    .await?;
                n += 1;
            }
            Ok::<_, AppError>(n)
        }));
    }
    let mut peer_total = 0u64;
    for t in tasks {
        peer_total += t.await.map_err(|e| AppError::Internal(e.to_string()))??;
    }
    let peer_rate = peer_total as f64 / started.elapsed().as_secs_f64();
    let rate = load["per_second"].as_f64().unwrap_or(0.0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "database": format!("{:?}", app.store.backend()),
        "seal_keys": app.config.seals.key_store,
        "http": load,
        "errors": 0,
        "evidence_rows": evidence,
        "audit_records": audited,
        "peer_in_process_per_second": peer_rate,
        "ratio_to_peer": if peer_rate > 0.0 { rate / peer_rate } else { 0.0 },
    });
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!("machine: {threads} CPUs, {}", cpu_model());
        println!(
            "database {:?}, seal keys in {}",
            app.store.backend(),
            app.config.seals.key_store
        );
        println!(
            "sealings over HTTP + HMAC: {rate:>8.1}/s ({answered} in {seconds} s, {connections} connections; p50 {:.1} ms, p99 {:.1} ms; 0 errors)",
            load["p50_ms"].as_f64().unwrap_or(0.0),
            load["p99_ms"].as_f64().unwrap_or(0.0),
        );
        println!(
            "durable: {evidence} evidence rows, {audited} pdf.sign audit records for {answered} answers"
        );
        println!(
            "peer: in-process sealing:   {peer_rate:>8.1}/s (same path without HTTP and request signature; ratio {:.2})",
            if peer_rate > 0.0 { rate / peer_rate } else { 0.0 }
        );
    }
    Ok(0)
}
