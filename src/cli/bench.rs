//! `sealpki bench issue`: certificates per second end to end (prepare + lint, intent recorded, signed
//! by the CA key, result stored and audited), beside raw signing with the same key in the same run;
//! `bench workflow`: workflow transitions per second through the runner.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealpki_pki::keys::software::{SoftKey, SoftSigner};
use sealpki_pki::name::parse_dn;
use sealpki_pki::{CertRequest, KeyAlgorithm, VerifiedCsr};
use serde_json::json;

use crate::app::App;
use crate::error::AppError;

/// Benchmarks that sign with the CA keys or write records (`bench issue`, `bench crl`, `bench
/// workflow`) run only on development data:
/// the newest key ceremony must have been a development one (`development = true` in the ceremony
/// file, as in `fixtures/ceremony-dev.toml` and the first start of `serve` without a config). The
/// run is audited.
pub async fn require_development(app: &App, what: &str) -> Result<(), AppError> {
    if !app.store.ceremony_latest_is_development().await? {
        return Err(AppError::Policy(format!(
            "bench {what} signs with the CA keys or writes records: it runs only on development data (a hierarchy \
             made by a development ceremony, e.g. fixtures/ceremony-dev.toml); this data's newest \
             key ceremony was not one"
        )));
    }
    let mut tx = app.store.begin().await?;
    app.audit
        .append(
            &mut tx,
            &crate::access::Actor::cli().name,
            "bench.run",
            json!({"bench": what}),
        )
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

pub async fn issue(
    app: &Arc<App>,
    count: usize,
    concurrency: usize,
    profile: &str,
    json_out: bool,
) -> Result<i32, AppError> {
    require_development(app, "issue").await?;
    let ca = app
        .profiles()?
        .get(profile)?
        .issuer
        .clone()
        .ok_or_else(|| AppError::BadRequest(format!("profile {profile} has no fixed CA")))?;
    let issuer = app.issuer(&ca)?;
    let signer = issuer.signer().clone();
    let scheme = issuer.scheme();
    eprintln!("preparing {count} CSRs…");
    let csrs: Vec<CertRequest> =
        tokio::task::spawn_blocking(move || -> Result<Vec<CertRequest>, AppError> {
            (0..count)
                .map(|i| {
                    let key =
                        SoftSigner::from_key("bench", SoftKey::generate(KeyAlgorithm::P256)?)?;
                    let subject = parse_dn(&format!("CN=bench client {i},O=sealpki bench"))
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                    let der = sealpki_pki::csr::build(&key, subject, &[])?;
                    Ok(CertRequest::from_csr(VerifiedCsr::parse(&der)?))
                })
                .collect()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;

    // Raw signing with the CA key: one thread, then as many threads as cores.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let raw_n = count.max(2000);
    let msg = vec![0x5au8; 400]; // about the size of a TBS certificate
    let raw = |threads: usize| -> Result<f64, AppError> {
        let start = Instant::now();
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        (0..raw_n / threads).try_for_each(|_| signer.sign(scheme, &msg).map(|_| ()))
                    })
                })
                .collect();
            hs.into_iter().try_for_each(|h| h.join().unwrap_or(Ok(())))
        })?;
        Ok((raw_n / threads * threads) as f64 / start.elapsed().as_secs_f64())
    };
    let raw1 = raw(1)?;
    let rawn = raw(threads)?;

    eprintln!("issuing {count} certificates with {concurrency} concurrent requests…");
    let queue = Arc::new(std::sync::Mutex::new(csrs));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (app, queue, done, profile) = (
            app.clone(),
            queue.clone(),
            done.clone(),
            profile.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(req) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                let t = Instant::now();
                app.issue("bench", &profile, req, None).await?;
                lat.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, AppError>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(|e| AppError::Internal(e.to_string()))??);
    }
    let elapsed = start.elapsed();
    lat.sort();
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "key": signer.key_ref().to_string(),
        "scheme": scheme.name(),
        "database": format!("{:?}", app.store.backend()),
        "sqlite_synchronous": app.config.database.sqlite_synchronous.clone().unwrap_or_else(|| "full".into()),
        "count": lat.len(),
        "concurrency": concurrency,
        "issued_per_second": rate,
        "p50_ms": percentile(&lat, 0.50).as_secs_f64() * 1e3,
        "p99_ms": percentile(&lat, 0.99).as_secs_f64() * 1e3,
        "raw_signatures_per_second_1_thread": raw1,
        "raw_signatures_per_second_all_threads": rawn,
        "issued_vs_raw_all_threads": rate / rawn,
    });
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!("machine: {threads} CPUs, {}", cpu_model());
        println!(
            "CA key {} ({}), database {:?}",
            signer.key_ref(),
            scheme,
            app.store.backend()
        );
        println!("raw signing:  {raw1:>9.0}/s (1 thread)  {rawn:>9.0}/s ({threads} threads)");
        println!(
            "issuance:     {rate:>9.0}/s end to end ({} certificates, {concurrency} concurrent), p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
        println!(
            "ratio:        issuance = {:.1}% of raw signing on all threads",
            rate / rawn * 100.0
        );
    }
    Ok(0)
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `sealpki bench crl`: build and sign a CRL of `entries` synthetic revocations with the CA's real key,
/// store it and read it back as the server does; report time and peak memory.
pub async fn crl(
    app: &Arc<App>,
    ca: &str,
    entries: usize,
    out_file: Option<std::path::PathBuf>,
    keep: bool,
    json_out: bool,
) -> Result<i32, AppError> {
    use rand_core::RngCore;
    use sealpki_pki::revocation::{build_crl, CrlKind, Entry, Reason};
    require_development(app, "crl").await?;
    let issuer = app.issuer(ca)?;
    let rss_start = proc_status_kb("VmRSS:");
    let now = std::time::SystemTime::now();
    let reasons = [
        Reason::KeyCompromise,
        Reason::Superseded,
        Reason::Unspecified,
        Reason::CessationOfOperation,
    ];
    let mut rng = rand_core::OsRng;
    let list: Vec<Entry> = (0..entries)
        .map(|i| {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            b[0] |= 0x01;
            Entry::new(
                &hex::encode_upper(b),
                now - Duration::from_secs((i % 86_400) as u64),
                reasons[i % reasons.len()],
            )
        })
        .collect::<Result<_, _>>()?;
    let rss_entries = proc_status_kb("VmRSS:");
    let started = Instant::now();
    let der = tokio::task::spawn_blocking(move || {
        build_crl(
            &issuer,
            CrlKind::Full,
            1,
            now,
            now + Duration::from_secs(86_400),
            &list,
            None,
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let build = started.elapsed();
    let started = Instant::now();
    let mut tx = app.store.begin().await?;
    let number = crate::store::Store::crl_next_number(&mut tx, ca).await?;
    let row = crate::store::CrlRow {
        ca: ca.into(),
        part: 0,
        number,
        kind: "full".into(),
        base: None,
        log_seq: 0,
        this_update: crate::app::unix(now),
        next_update: crate::app::unix(now + Duration::from_secs(3600)),
        der,
    };
    crate::store::Store::crl_insert(&mut tx, &row).await?;
    if keep {
        // Left as the CA's current full CRL, so the server can be timed serving it.
        tx.commit().await.map_err(crate::store::StoreError::from)?;
    } else {
        tx.rollback()
            .await
            .map_err(crate::store::StoreError::from)?;
    }
    let store = started.elapsed();
    let size = row.der.len();
    if let Some(f) = out_file {
        std::fs::write(&f, &row.der)
            .map_err(|e| AppError::BadRequest(format!("{}: {e}", f.display())))?;
    }
    let peak = proc_status_kb("VmHWM:");
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "cpu": cpu_model()},
        "ca": ca, "key": app.issuer(ca)?.signer().key_ref().to_string(),
        "entries": entries, "bytes": size,
        "build_sign_seconds": build.as_secs_f64(),
        "store_seconds": store.as_secs_f64(),
        "peak_rss_mb": peak as f64 / 1024.0,
        "rss_before_build_mb": rss_entries as f64 / 1024.0,
        "rss_at_start_mb": rss_start as f64 / 1024.0,
    });
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "CRL of {entries} entries ({:.1} MB): built and signed in {:.3} s, stored in {:.3} s; peak RSS {:.0} MB ({:.0} MB at start, {:.0} MB holding the input)",
            size as f64 / 1e6,
            build.as_secs_f64(),
            store.as_secs_f64(),
            peak as f64 / 1024.0,
            rss_start as f64 / 1024.0,
            rss_entries as f64 / 1024.0
        );
    }
    Ok(0)
}

/// What one load connection did: answers, connections opened, latencies, answers per 10 s window.
type ConnectionTally = (u64, u64, Vec<Duration>, Vec<u64>);

/// `sealpki bench http`: POST one body over and over on `connections` keep-alive connections for
/// `seconds`, reconnecting when the server closes (as `openssl ocsp -port` does after every answer).
/// Raw HTTP/1.1 over TCP so the load generator takes little of the CPU it is measuring.
pub fn http_load(
    url: &str,
    body: &[u8],
    content_type: &str,
    connections: usize,
    seconds: f64,
) -> Result<serde_json::Value, AppError> {
    let (host, path) = split_url(url)?;
    let request = [
        format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes(),
        body.to_vec(),
    ]
    .concat();
    http_load_with(url, connections, seconds, |_| request.clone())
}

/// `http://HOST:PORT/PATH` → (HOST:PORT, /PATH).
pub(crate) fn split_url(url: &str) -> Result<(String, String), AppError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| AppError::BadRequest("only http:// URLs".into()))?;
    Ok(rest
        .split_once('/')
        .map(|(h, p)| (h.to_string(), format!("/{p}")))
        .unwrap_or((rest.to_string(), "/".into())))
}

/// The load loop: each of `connections` keep-alive connections sends `request(n)` (whole HTTP/1.1
/// requests, so each may carry its own nonce and signature) and reads the answer, for `seconds`.
/// Any answer but 200 stops the run with an error: the figures count only good answers.
pub(crate) fn http_load_with(
    url: &str,
    connections: usize,
    seconds: f64,
    request: impl Fn(u64) -> Vec<u8> + Sync,
) -> Result<serde_json::Value, AppError> {
    use std::io::{Read, Write};
    let (host, _) = split_url(url)?;
    let counter = std::sync::atomic::AtomicU64::new(0);
    let cpu_before = CpuSample::take();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let last_window = ((seconds.max(0.0) / 10.0).ceil() as usize).saturating_sub(1);
    let results: Vec<Result<ConnectionTally, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..connections.max(1))
            .map(|_| {
                let (host, request, counter) = (&host, &request, &counter);
                s.spawn(move || {
                    let (mut ok, mut reconnects, mut lat) = (0u64, 0u64, Vec::new());
                    // Answers per 10 s window: a rate that sinks as the database grows shows here.
                    let mut windows: Vec<u64> = Vec::new();
                    let mut conn: Option<std::net::TcpStream> = None;
                    let mut buf = vec![0u8; 64 * 1024];
                    while Instant::now() < deadline {
                        if conn.is_none() {
                            let c = std::net::TcpStream::connect(host.as_str())
                                .map_err(|e| e.to_string())?;
                            c.set_nodelay(true).map_err(|e| e.to_string())?;
                            conn = Some(c);
                            reconnects += 1;
                        }
                        let c = conn.as_mut().expect("connected");
                        let req =
                            request(counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                        let t = Instant::now();
                        if c.write_all(&req).is_err() {
                            conn = None;
                            continue;
                        }
                        // Read the head, then exactly Content-Length bytes (or to EOF when closing).
                        let mut got = Vec::new();
                        let (mut head_end, mut want) = (None, None::<usize>);
                        let mut closed = false;
                        loop {
                            // A reset after the answer (openssl ocsp closes that way) counts as a close.
                            let n = c.read(&mut buf).unwrap_or(0);
                            if n == 0 {
                                closed = true;
                                break;
                            }
                            got.extend_from_slice(&buf[..n]);
                            if head_end.is_none() {
                                if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                                    head_end = Some(p + 4);
                                    let head =
                                        String::from_utf8_lossy(&got[..p]).to_ascii_lowercase();
                                    if !head.starts_with("http/1.1 200")
                                        && !head.starts_with("http/1.0 200")
                                    {
                                        return Err(format!(
                                            "non-200 answer: {}",
                                            head.lines().next().unwrap_or("")
                                        ));
                                    }
                                    want = head.lines().find_map(|l| {
                                        l.strip_prefix("content-length:")
                                            .and_then(|v| v.trim().parse().ok())
                                    });
                                }
                            }
                            if let (Some(h), Some(w)) = (head_end, want) {
                                if got.len() >= h + w {
                                    break;
                                }
                            }
                        }
                        let complete = match (head_end, want) {
                            (Some(h), Some(w)) => got.len() >= h + w,
                            (Some(_), None) => closed,
                            _ => false,
                        };
                        if !complete {
                            conn = None;
                            continue;
                        }
                        ok += 1;
                        lat.push(t.elapsed());
                        // An answer that lands after the deadline counts in the last window.
                        let w = ((start.elapsed().as_secs() / 10) as usize).min(last_window);
                        if windows.len() <= w {
                            windows.resize(w + 1, 0);
                        }
                        windows[w] += 1;
                        if closed || want.is_none() {
                            conn = None;
                        }
                    }
                    Ok((ok, reconnects, lat, windows))
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("load thread panicked".into()))
            })
            .collect()
    });
    let (mut total, mut reconnects, mut lat) = (0u64, 0u64, Vec::new());
    let mut windows: Vec<u64> = Vec::new();
    for r in results {
        let (ok, rc, l, w) = r.map_err(AppError::Unavailable)?;
        total += ok;
        reconnects += rc;
        lat.extend(l);
        if windows.len() < w.len() {
            windows.resize(w.len(), 0);
        }
        for (sum, n) in windows.iter_mut().zip(w) {
            *sum += n;
        }
    }
    let cpu = match (cpu_before, CpuSample::take()) {
        (Some(a), Some(b)) => a.report(&b, total),
        _ => serde_json::Value::Null,
    };
    // Each window's rate over its own length (the last one may be shorter than 10 s).
    let per_second_by_10s: Vec<f64> = windows
        .iter()
        .enumerate()
        .map(|(i, &n)| n as f64 / (seconds - 10.0 * i as f64).clamp(1e-3, 10.0))
        .collect();
    lat.sort();
    Ok(json!({
        "url": url, "connections": connections, "seconds": seconds, "responses": total,
        "per_second": total as f64 / seconds, "connections_opened": reconnects,
        "p50_ms": percentile(&lat, 0.5).as_secs_f64() * 1e3, "p99_ms": percentile(&lat, 0.99).as_secs_f64() * 1e3,
        "per_second_by_10s": per_second_by_10s, "cpu": cpu,
    }))
}

/// The machine's CPU time (`/proc/stat`, every process: the database server's too) and this
/// process's, in clock ticks. Over a run they give the CPU each answer cost and the time the
/// hypervisor took (steal): on a shared host the rate swings, the cost per answer much less.
struct CpuSample {
    busy: u64,
    idle: u64,
    steal: u64,
    process: u64,
}

impl CpuSample {
    fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let f: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal …
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command (in parentheses, which may hold spaces); utime and
        // stime are the 14th and 15th of the line.
        let rest = own.rsplit_once(')')?.1;
        let g: Vec<u64> = rest
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let process = g.get(11).copied().unwrap_or(0) + g.get(12).copied().unwrap_or(0);
        Some(CpuSample {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
            process,
        })
    }

    fn report(&self, after: &CpuSample, answers: u64) -> serde_json::Value {
        // Clock ticks are 100 a second on Linux unless configured otherwise.
        let ms = |ticks: u64| ticks as f64 * 10.0;
        let busy = after.busy.saturating_sub(self.busy);
        let idle = after.idle.saturating_sub(self.idle);
        let steal = after.steal.saturating_sub(self.steal);
        let all = (busy + idle + steal).max(1) as f64;
        let per = |ticks: u64| ms(ticks) / answers.max(1) as f64;
        json!({
            "machine_ms_per_answer": per(busy),
            "process_ms_per_answer": per(after.process.saturating_sub(self.process)),
            "idle_percent": 100.0 * idle as f64 / all,
            "steal_percent": 100.0 * steal as f64 / all,
        })
    }
}

/// `sealpki bench pdf`: sign a document `count` times in memory (parse, seal, hash, sign, write), then
/// verify the signed result `count` times.
pub fn pdf(
    input: &std::path::Path,
    key_file: &std::path::Path,
    cert: &std::path::Path,
    image: Option<&std::path::Path>,
    trust: Option<&std::path::Path>,
    count: usize,
    json: bool,
) -> Result<i32, AppError> {
    use sealpki_pki::cades::CmsSigner;
    use sealpki_pki::der::Decode;
    use sealpki_pki::pdf::image::SealImage;
    use sealpki_pki::pdf::reader::Document;
    use sealpki_pki::pdf::sign::{self, Appearance, SignOptions, Widget};
    use sealpki_pki::pdf::verify::{self, VerifyOptions};
    use sealpki_pki::x509_cert::Certificate;

    let bad = |e: &dyn std::fmt::Display| AppError::BadRequest(e.to_string());
    let data = crate::cli::ses::read(input)?;
    let signer = crate::cli::ses::key_file(key_file)?;
    let cert = Certificate::from_der(&crate::cli::ses::certs_pem(cert)?[0]).map_err(|e| bad(&e))?;
    let img = image
        .map(|p| {
            crate::cli::ses::read(p).and_then(|b| SealImage::from_bytes(&b).map_err(|e| bad(&e)))
        })
        .transpose()?;
    let trust = match trust {
        Some(t) => crate::cli::ses::certs_pem(t)?
            .iter()
            .map(|d| Certificate::from_der(d).map_err(|e| bad(&e)))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let mut cms = CmsSigner {
        signer: signer.as_ref(),
        scheme: signer.algorithm().default_scheme(),
        cert: &cert,
        chain: &[],
        reserve: None,
    };
    // Sized once, as the service keeps it per key.
    cms.reserve = Some(cms.max_len().map_err(|e| bad(&e))?);
    let mut signed = Vec::new();
    let started = Instant::now();
    for _ in 0..count.max(1) {
        let doc = Document::open(Box::new(data.clone()), None).map_err(|e| bad(&e))?;
        let appearance = match &img {
            Some(i) => {
                let pages = doc.pages().map_err(|e| bad(&e))?;
                let w = 42.0 * 72.0 / 25.4;
                Some(Appearance {
                    image: i.clone(),
                    widgets: vec![Widget::centered(
                        &pages[0],
                        0,
                        400.0,
                        600.0,
                        w,
                        w * i.aspect(),
                    )],
                })
            }
            None => None,
        };
        let opts = SignOptions {
            appearance,
            ..SignOptions::default()
        };
        signed.clear();
        sign::sign(&doc, &mut signed, &cms, &opts, None).map_err(|e| bad(&e))?;
    }
    let sign_secs = started.elapsed().as_secs_f64();
    let opts = VerifyOptions { trust, now: None };
    let started = Instant::now();
    let mut verdict = None;
    for _ in 0..count.max(1) {
        let doc = Document::open(Box::new(signed.clone()), None).map_err(|e| bad(&e))?;
        let r = verify::verify(&doc, &opts).map_err(|e| bad(&e))?;
        verdict = Some(r.verdict);
    }
    let verify_secs = started.elapsed().as_secs_f64();
    let n = count.max(1) as f64;
    let report = json!({
        "machine": format!("{} CPUs, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu_model()),
        "input_bytes": data.len(), "signed_bytes": signed.len(), "count": count,
        "visible": img.is_some(), "algorithm": signer.algorithm().name(),
        "signatures_per_second": n / sign_secs, "verifications_per_second": n / verify_secs,
        "verdict": verdict,
    });
    crate::cli::out(json, &report, || {
        format!(
            "{}: {} signatures/s ({} seal, {}), {} verifications/s (verdict {:?}), one thread\n",
            input.display(),
            (n / sign_secs).round(),
            if img.is_some() {
                "visible"
            } else {
                "invisible"
            },
            signer.algorithm().name(),
            (n / verify_secs).round(),
            verdict
        )
    });
    Ok(0)
}

/// `sealpki bench ses`: SES_Signatures made and verified per second with a software SM2 key.
pub fn ses(
    seal: &std::path::Path,
    key_file: &std::path::Path,
    cert: &std::path::Path,
    trust: &[std::path::PathBuf],
    count: usize,
    json: bool,
) -> Result<i32, AppError> {
    use sealpki_pki::der::Decode;
    use sealpki_pki::ses::{self, Decoded, SesSignature, Verdict, VerifyInput};
    use sealpki_pki::x509_cert::Certificate;

    let bad = |e: &dyn std::fmt::Display| AppError::BadRequest(e.to_string());
    let Decoded::Seal(seal, _) = ses::decode(&crate::cli::ses::read(seal)?).map_err(|e| bad(&e))?
    else {
        return Err(AppError::BadRequest(
            "--seal: a seal signature, not a seal".into(),
        ));
    };
    let signer = crate::cli::ses::key_file(key_file)?;
    let cert_der = crate::cli::ses::certs_pem(cert)?.remove(0);
    let mut anchors = Vec::new();
    for t in trust {
        for d in crate::cli::ses::certs_pem(t)? {
            anchors.push(Certificate::from_der(&d).map_err(|e| bad(&e))?);
        }
    }
    let data = vec![0x5a_u8; 1024];
    let n = count.max(1);
    let started = Instant::now();
    let mut sig = None;
    for _ in 0..n {
        sig = Some(
            SesSignature::sign(
                &seal,
                &data,
                "bench.bin",
                &cert_der,
                &signer,
                std::time::SystemTime::now(),
            )
            .map_err(|e| bad(&e))?,
        );
    }
    let sign_secs = started.elapsed().as_secs_f64();
    let der = sig.map(|s| s.der).unwrap_or_default();
    let started = Instant::now();
    let mut verdict = Verdict::Invalid;
    for _ in 0..n {
        let decoded = ses::decode(&der).map_err(|e| bad(&e))?;
        verdict = ses::verify(
            &decoded,
            &VerifyInput {
                data: Some(&data),
                trust: &anchors,
                now: std::time::SystemTime::now(),
                revocation: None,
            },
        )
        .verdict;
    }
    let verify_secs = started.elapsed().as_secs_f64();
    let report = json!({
        "machine": format!("{} CPUs, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu_model()),
        "count": n, "signatures_per_second": n as f64 / sign_secs,
        "verifications_per_second": n as f64 / verify_secs, "verdict": verdict,
        "signature_bytes": der.len(),
    });
    crate::cli::out(json, &report, || {
        format!(
            "SES (GB/T 38540 v4, SM2/SM3, 1 KB data): {} signatures/s, {} verifications/s (verdict {:?}), one thread\n",
            (n as f64 / sign_secs).round(),
            (n as f64 / verify_secs).round(),
            verdict
        )
    });
    Ok(0)
}

/// `sealpki bench workflow`: `count` authority-certificate requests are created, then each is
/// submitted and approved (two transitions) by `concurrency` concurrent tasks, every transition
/// through `Workflow::apply` (state, history and audit in one transaction). Reports transitions per
/// second. The records stay in the (development) data.
pub async fn workflow(
    app: &Arc<App>,
    count: usize,
    concurrency: usize,
    json_out: bool,
) -> Result<i32, AppError> {
    use crate::access::Actor;
    use crate::workflow::{EventRequest, Workflow};
    require_development(app, "workflow").await?;
    let requester = Actor {
        name: "bench-requester".into(),
        role: crate::store::Role::Operator,
    };
    let approver = Actor::cli();
    let kind = "authority-certificate";
    eprintln!("creating {count} {kind} records…");
    let start = Instant::now();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let data = json!({"profile": "tsa", "subject": format!("CN=Bench TSA {i},O=Bench"),
                          "reason": "bench workflow"});
        ids.push(
            Workflow::create(app, &requester, kind, &data, None, None)
                .await?
                .id,
        );
    }
    let created = start.elapsed();
    eprintln!("submitting and approving them with {concurrency} concurrent tasks…");
    let queue = Arc::new(std::sync::Mutex::new(ids));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (app, queue, requester, approver) = (
            app.clone(),
            queue.clone(),
            requester.clone(),
            approver.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(id) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                for (who, event, version) in [(&requester, "submit", 1), (&approver, "approve", 2)]
                {
                    let t = Instant::now();
                    let req = EventRequest {
                        event,
                        version,
                        comment: Some("bench"),
                        attachments: &[],
                    };
                    Workflow::apply(&app, who, kind, &id, &req, None).await?;
                    lat.push(t.elapsed());
                }
            }
            Ok::<_, AppError>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(|e| AppError::Internal(e.to_string()))??);
    }
    let elapsed = start.elapsed();
    lat.sort();
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    let create_rate = count as f64 / created.as_secs_f64();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (p50, p99) = (
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "database": format!("{:?}", app.store.backend()),
        "sqlite_synchronous": app.config.database.sqlite_synchronous.clone().unwrap_or_else(|| "full".into()),
        "records": count,
        "transitions": lat.len(),
        "concurrency": concurrency,
        "creates_per_second_sequential": create_rate,
        "transitions_per_second": rate,
        "p50_ms": p50,
        "p99_ms": p99,
    });
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!("machine: {threads} CPUs, {}", cpu_model());
        println!("database {:?}", app.store.backend());
        println!("create:       {create_rate:>9.0}/s ({count} records, one at a time)");
        println!(
            "transitions:  {rate:>9.0}/s ({} transitions, {concurrency} concurrent), p50 {p50:.1} ms, p99 {p99:.1} ms",
            lat.len()
        );
    }
    Ok(0)
}

/// A person account for the login and page benchmarks (development data only): a generated name
/// and the given password, Argon2id-hashed as registration does.
async fn bench_person(app: &App, password: &str) -> Result<String, AppError> {
    let username = format!(
        "bench-{}",
        crate::accounts::session::random_token(6).to_ascii_lowercase()
    );
    let hash = crate::accounts::session::hash_password(password.to_string()).await?;
    let row = crate::store::AccountRow::staff(
        &username,
        hash,
        crate::store::Role::Person,
        crate::store::now(),
    );
    let mut tx = app.store.begin().await?;
    crate::store::Store::account_insert(&mut tx, &row).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(username)
}

/// `bench login`: logins per second through `App::login` (throttle, Argon2id verification, the
/// session row and its audit entry), beside bare Argon2id verifications of the same hash in the
/// same run — the floor any login stands on.
pub async fn login(
    app: &Arc<App>,
    count: usize,
    concurrency: usize,
    json_out: bool,
) -> Result<i32, AppError> {
    use crate::accounts::session::LoginRequest;
    require_development(app, "login").await?;
    let password = "bench password, development only";
    let username = bench_person(app, password).await?;
    let run = |verify_only: bool| {
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..concurrency.max(1))
            .map(|_| {
                let (app, next, username) = (app.clone(), next.clone(), username.clone());
                tokio::spawn(async move {
                    let hash = app
                        .store
                        .account_get(&username)
                        .await?
                        .map(|a| a.password_hash)
                        .unwrap_or_default();
                    let mut lat = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < count {
                        let t = Instant::now();
                        if verify_only {
                            let ok = crate::accounts::session::verify_password(
                                hash.clone(),
                                password.to_string(),
                            )
                            .await?;
                            if !ok {
                                return Err(AppError::Internal("bench hash mismatch".into()));
                            }
                        } else {
                            app.login(LoginRequest {
                                identifier: &username,
                                password: password.to_string(),
                                totp: None,
                                kind: crate::store::SessionKind::Bearer,
                                client: None,
                                user_agent: Some("sealpki bench login"),
                            })
                            .await?;
                        }
                        lat.push(t.elapsed());
                    }
                    Ok::<_, AppError>(lat)
                })
            })
            .collect();
        async move {
            let start = Instant::now();
            let mut lat = Vec::new();
            for t in tasks {
                lat.extend(t.await.map_err(|e| AppError::Internal(e.to_string()))??);
            }
            lat.sort();
            Ok::<_, AppError>((lat, start.elapsed()))
        }
    };
    eprintln!("{count} Argon2id verifications, then {count} logins, {concurrency} at a time…");
    let (vlat, vtime) = run(true).await?;
    let (llat, ltime) = run(false).await?;
    let verify_rate = vlat.len() as f64 / vtime.as_secs_f64();
    let login_rate = llat.len() as f64 / ltime.as_secs_f64();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "database": format!("{:?}", app.store.backend()),
        "argon2": "Argon2id m=19456 KiB, t=2, p=1 (the argon2 crate's default)",
        "count": count,
        "concurrency": concurrency,
        "logins_per_second": login_rate,
        "login_p50_ms": percentile(&llat, 0.5).as_secs_f64() * 1e3,
        "login_p99_ms": percentile(&llat, 0.99).as_secs_f64() * 1e3,
        "argon2_verifications_per_second": verify_rate,
        "login_over_verification": login_rate / verify_rate,
    });
    if json_out {
        println!("{report}");
    } else {
        println!(
            "login: {login_rate:.1}/s (p50 {:.1} ms, p99 {:.1} ms); bare Argon2id verification in the same run: \
             {verify_rate:.1}/s; ratio {:.2}; {threads} CPUs ({}), {:?}",
            report["login_p50_ms"].as_f64().unwrap_or(0.0),
            report["login_p99_ms"].as_f64().unwrap_or(0.0),
            login_rate / verify_rate,
            cpu_model(),
            app.store.backend()
        );
    }
    Ok(0)
}

/// Per thread: the server's times (Server-Timing) and the client's, in milliseconds.
type Timings = (Vec<f64>, Vec<f64>);

/// `bench pages`: console page renders under N concurrent browser sessions, over real HTTP to an
/// in-process server on a loopback port: the server's own time per answer (its `Server-Timing`)
/// and the client's, p50 and p99, for `path` with a session and, in the same run, for `/healthz`
/// (the HTTP stack's floor: no session, no template, no database).
pub async fn pages(
    app: Arc<App>,
    sessions: usize,
    seconds: f64,
    path: String,
    json_out: bool,
) -> Result<i32, AppError> {
    use crate::accounts::session::LoginRequest;
    require_development(&app, "pages").await?;
    let password = "bench password, development only";
    let username = bench_person(&app, password).await?;
    let mut cookies = Vec::with_capacity(sessions);
    for _ in 0..sessions.max(1) {
        let done = app
            .login(LoginRequest {
                identifier: &username,
                password: password.to_string(),
                totp: None,
                kind: crate::store::SessionKind::Browser,
                client: None,
                user_agent: Some("sealpki bench pages"),
            })
            .await?;
        cookies.push(format!(
            "{}={}",
            crate::accounts::session::SESSION_COOKIE,
            done.token
        ));
    }
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
    let base = format!("http://{addr}");
    let load = move |path: String, cookies: Vec<String>| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || -> Result<(Vec<f64>, Vec<f64>, f64), AppError> {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let start = Instant::now();
            let results: Vec<Result<Timings, String>> = std::thread::scope(|s| {
                let hs: Vec<_> = cookies
                    .iter()
                    .map(|cookie| {
                        let url = format!("{base}{path}");
                        s.spawn(move || {
                            let agent = ureq::AgentBuilder::new().redirects(0).build();
                            let (mut server, mut client) = (Vec::new(), Vec::new());
                            while Instant::now() < deadline {
                                let t = Instant::now();
                                let r = agent
                                    .get(&url)
                                    .set("Cookie", cookie)
                                    .set("Accept", "text/html")
                                    .call()
                                    .map_err(|e| format!("GET {url}: {e}"))?;
                                let dur = r
                                    .header("server-timing")
                                    .and_then(|h| h.split("dur=").nth(1))
                                    .and_then(|d| d.parse::<f64>().ok());
                                let _ = r.into_string();
                                client.push(t.elapsed().as_secs_f64() * 1e3);
                                server.push(dur.unwrap_or(f64::NAN));
                            }
                            Ok((server, client))
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("a load thread panicked".into()))
                    })
                    .collect()
            });
            let (mut server, mut client) = (Vec::new(), Vec::new());
            for r in results {
                let (s, c) = r.map_err(AppError::Unavailable)?;
                server.extend(s);
                client.extend(c);
            }
            Ok((server, client, start.elapsed().as_secs_f64()))
        })
    };
    eprintln!("{sessions} sessions on {path} for {seconds} s, then /healthz for {seconds} s…");
    let (mut ps, mut pc, pt) = load(path.clone(), cookies.clone())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let (mut hs, mut hc, ht) = load("/healthz".into(), cookies)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n_pages = pc.len();
    let n_health = hc.len();
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "database": format!("{:?}", app.store.backend()),
        "sessions": sessions,
        "path": path,
        "page": {"responses": n_pages, "per_second": n_pages as f64 / pt,
                 "server_p50_ms": pct(&mut ps, 0.5), "server_p99_ms": pct(&mut ps, 0.99),
                 "client_p50_ms": pct(&mut pc, 0.5), "client_p99_ms": pct(&mut pc, 0.99)},
        "healthz": {"responses": n_health, "per_second": n_health as f64 / ht,
                 "server_p50_ms": pct(&mut hs, 0.5), "server_p99_ms": pct(&mut hs, 0.99),
                 "client_p50_ms": pct(&mut hc, 0.5), "client_p99_ms": pct(&mut hc, 0.99)},
    });
    if json_out {
        println!("{report}");
    } else {
        let g = |a: &str, b: &str| report[a][b].as_f64().unwrap_or(0.0);
        println!(
            "{path} under {sessions} sessions: server p50 {:.2} ms, p99 {:.2} ms (client p50 {:.2}, p99 {:.2}; {:.0}/s); \
             /healthz in the same run: server p50 {:.3} ms, p99 {:.3} ms (client p50 {:.2}, p99 {:.2}; {:.0}/s); \
             {threads} CPUs ({}), {:?}",
            g("page", "server_p50_ms"), g("page", "server_p99_ms"), g("page", "client_p50_ms"),
            g("page", "client_p99_ms"), g("page", "per_second"), g("healthz", "server_p50_ms"),
            g("healthz", "server_p99_ms"), g("healthz", "client_p50_ms"), g("healthz", "client_p99_ms"),
            g("healthz", "per_second"), cpu_model(), app.store.backend()
        );
    }
    Ok(0)
}

/// A valid unified social credit code (GB 32100) with a random organisation code, for benchmark
/// organisations that must not collide with earlier runs.
fn random_credit_code(prefix: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut b = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    let body: String = b.iter().map(|x| char::from(b'0' + x % 10)).collect();
    let w11714 = [3u32, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = body
        .bytes()
        .zip(w11714)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let c = 11 - s % 11;
    let check = match c {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    };
    let s17 = format!("{prefix}{body}{check}");
    let w = [
        1u32, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = s17
        .bytes()
        .zip(w)
        .map(|(c, w)| A.iter().position(|a| *a == c).unwrap_or(0) as u32 * w)
        .sum();
    let last = A[((31 - sum % 31) % 31) as usize] as char;
    format!("{s17}{last}")
}

/// Seal applications taken through review to a produced cloud seal (apply, attach the scan,
/// submit, approve → key, seal-CA certificate, GB/T 38540 structure, picture, rows), beside bare
/// certificate issuance for the same number of stored keys in the same run; then seal-status
/// answers (the JSON and its signed credential) beside signing the credential alone.
pub async fn seals(
    app: &Arc<App>,
    count: usize,
    concurrency: usize,
    json_out: bool,
) -> Result<i32, AppError> {
    require_development(app, "seals").await?;
    let BenchWorld {
        run,
        bureau,
        unit,
        applicant,
        reviewer,
        scan,
    } = bench_world(app).await?;
    eprintln!(
        "taking {count} seal applications to produced cloud seals with {concurrency} concurrent tasks…"
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (app, next, applicant, reviewer) = (
            app.clone(),
            next.clone(),
            applicant.clone(),
            reviewer.clone(),
        );
        let (unit, bureau, scan, run) = (
            unit.id.clone(),
            bureau.id.clone(),
            scan.id.clone(),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut codes = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                let id = produce_seal(
                    &app,
                    &applicant,
                    &reviewer,
                    &unit,
                    &bureau,
                    &scan,
                    &format!("基准单位{run}合同专用章{i}"),
                )
                .await?;
                lat.push(t.elapsed());
                if let Some(s) = app.store.seal_by_application(&id).await? {
                    codes.push(s.code);
                }
            }
            Ok::<_, AppError>((lat, codes))
        }));
    }
    let mut lat = Vec::new();
    let mut codes = Vec::new();
    for t in tasks {
        let (l, c) = t.await.map_err(|e| AppError::Internal(e.to_string()))??;
        lat.extend(l);
        codes.extend(c);
    }
    let produced = start.elapsed();
    lat.sort();
    // The peer in the same run: issuing the seal-signing certificates alone, for fresh software
    // keys, with the same concurrency.
    eprintln!("issuing {count} seal-signing certificates alone (the peer)…");
    let store = app.keyring.store(&app.config.seals.key_store)?;
    let mut reqs = Vec::with_capacity(count);
    for i in 0..count {
        let signer = store.generate(
            &format!("bench-seal-{run}-{i}"),
            sealpki_pki::KeyAlgorithm::P256,
        )?;
        let name = sealpki_pki::name::parse_dn(&format!(
            "CN=Bench Seal {i},O=Bench,C=CN,organizationIdentifier=NTRCN-{}",
            unit.credit_code
        ))
        .map_err(|e| AppError::Internal(e.to_string()))?;
        reqs.push(sealpki_pki::CertRequest::for_own_key(signer.as_ref(), name));
    }
    let queue = Arc::new(std::sync::Mutex::new(reqs));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (app, queue) = (app.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(r) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                app.issue("bench", "seal-signing", r, None).await?;
            }
            Ok::<_, AppError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| AppError::Internal(e.to_string()))??;
    }
    let issued = start.elapsed();
    // Seal status: answers (lookup + history + signed credential), then the credential alone.
    let answers = (count * 10).max(1000);
    eprintln!("answering {answers} seal-status questions…");
    let codes = Arc::new(codes);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (app, next, codes) = (app.clone(), next.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= answers || codes.is_empty() {
                    break;
                }
                app.seal_status(Some(&codes[i % codes.len()]), None).await?;
            }
            Ok::<_, AppError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| AppError::Internal(e.to_string()))??;
    }
    let statused = start.elapsed();
    let key = app
        .platform_key(crate::seals::maker::PlatformKey::StatusSigner)
        .await?;
    let mut chain = vec![key.cert.clone()];
    chain.extend(key.chain.iter().cloned());
    let claims = sealpki_pki::credential::Claims::new(
        "bench",
        "0000000000000",
        crate::store::now() as u64,
        600,
        sealpki_pki::credential::Body::SealStatus(sealpki_pki::credential::SealStatus {
            seal_code: "0000000000000".into(),
            seal_name: "bench".into(),
            state: sealpki_pki::credential::SealState::Active,
            cert_serial: vec![1],
            cert_sha256: [0; 32],
            issued_at: 0,
            changed_at: 0,
            valid_until: 0,
            checked_at: 0,
        }),
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let start = Instant::now();
    for _ in 0..answers {
        sealpki_pki::credential::issue(&claims, key.signer.as_ref(), &chain)
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let signed = start.elapsed();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    let (p50, p99) = (
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );
    let report = json!({
        "machine": {"cpus": threads, "cpu": cpu_model()},
        "database": format!("{:?}", app.store.backend()),
        "key_store": app.config.seals.key_store,
        "concurrency": concurrency,
        "applications": count,
        "produced_per_second": per(count, produced),
        "application_p50_ms": p50,
        "application_p99_ms": p99,
        "peer_certificates_issued_per_second": per(count, issued),
        "seal_status_answers": answers,
        "seal_status_per_second": per(answers, statused),
        "peer_credentials_signed_per_second_one_core": per(answers, signed),
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
            "applications → produced seals: {:>8.1}/s ({count}, {concurrency} concurrent; p50 {p50:.1} ms, p99 {p99:.1} ms per application)",
            per(count, produced)
        );
        println!(
            "peer: certificates issued:     {:>8.1}/s (seal-signing, same keys store and concurrency)",
            per(count, issued)
        );
        println!(
            "seal-status answers:           {:>8.1}/s ({answers}, signed credential each)",
            per(answers, statused)
        );
        println!(
            "peer: credentials signed:      {:>8.1}/s (one core, no lookup)",
            per(answers, signed)
        );
    }
    Ok(0)
}

/// Organisations and people of a benchmark run: a bureau paying for its city's applications, a
/// unit, an applicant of the unit, a reviewer of the bureau, and a stamped scan. Development data.
pub(crate) struct BenchWorld {
    pub run: String,
    pub bureau: crate::accounts::orgs::Organisation,
    pub unit: crate::accounts::orgs::Organisation,
    pub applicant: crate::access::Actor,
    pub reviewer: crate::access::Actor,
    pub scan: crate::store::FileRow,
}

pub(crate) async fn bench_world(app: &Arc<App>) -> Result<BenchWorld, AppError> {
    use crate::accounts::orgs::{MemberRole, NewOrg, OrgKind};
    use crate::accounts::policy::Principal;
    let admin = crate::access::Actor::cli();
    let staff = Principal::platform(&admin);
    let run = crate::accounts::session::random_token(4).to_ascii_lowercase();
    let bureau = app
        .create_org(
            &staff,
            NewOrg {
                credit_code: random_credit_code("11330100"),
                name: format!("基准审批机关{run}"),
                kind: OrgKind::Government,
                region: "330100".into(),
                parent_id: None,
            },
        )
        .await?;
    let unit = app
        .create_org(
            &staff,
            NewOrg {
                credit_code: random_credit_code("91330106"),
                name: format!("基准单位{run}"),
                kind: OrgKind::Enterprise,
                region: "330106".into(),
                parent_id: None,
            },
        )
        .await?;
    app.unified_payer_add(&admin, &bureau.id, "330100").await?;
    let applicant = bench_person(app, "bench applicant password").await?;
    let reviewer = bench_person(app, "bench reviewer password").await?;
    app.add_member(&staff, &unit.id, &applicant, MemberRole::Applicant)
        .await?;
    app.add_member(&staff, &bureau.id, &reviewer, MemberRole::Reviewer)
        .await?;
    let person = |name: &str| crate::access::Actor {
        name: name.to_string(),
        role: crate::store::Role::Person,
    };
    let (applicant, reviewer) = (person(&applicant), person(&reviewer));
    let scan = app
        .file_upload(
            &applicant,
            crate::files::Upload {
                purpose: crate::files::FilePurpose::ApplicationScan,
                name: crate::files::FileName::parse("scan.png")
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                content_type: Some("image/png".into()),
                data: scan_png()?.into(),
            },
        )
        .await?;
    Ok(BenchWorld {
        run,
        bureau,
        unit,
        applicant,
        reviewer,
        scan,
    })
}

/// One cloud seal application taken to a produced seal; the application's id.
pub(crate) async fn produce_seal(
    app: &Arc<App>,
    applicant: &crate::access::Actor,
    reviewer: &crate::access::Actor,
    unit_id: &str,
    bureau_id: &str,
    scan_id: &str,
    seal_name: &str,
) -> Result<String, AppError> {
    use crate::workflow::EventRequest;
    let data = json!({"org_id": unit_id, "seal_name": seal_name, "seal_type": "contract",
        "mode": "cloud", "years": 1, "authority_id": bureau_id});
    let v = app.seal_apply(applicant, &data, None).await?;
    let steps: [(&crate::access::Actor, &str, i64, &[String]); 3] = [
        (applicant, "attach-scan", 1, &[scan_id.to_string()]),
        (applicant, "submit", 2, &[]),
        (reviewer, "approve", 3, &[]),
    ];
    let mut last = None;
    for (who, event, version, attachments) in steps {
        let req = EventRequest {
            event,
            version,
            comment: None,
            attachments,
        };
        last = Some(app.seal_application_event(who, &v.id, &req, None).await?);
    }
    if last.map(|l| l.state) != Some("complete") {
        return Err(AppError::Internal(format!(
            "application {} was not produced",
            v.id
        )));
    }
    Ok(v.id)
}

/// A small PNG, as the stamped scan of the benchmark's applications.
fn scan_png() -> Result<Vec<u8>, AppError> {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(16, 16, image::Rgb([220, 220, 220]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(png)
}
