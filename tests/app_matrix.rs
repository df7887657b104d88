//! The allow / deny matrix of the apps' signing API (issue 13, "Bad input") on SQLite and
//! PostgreSQL: every app endpoint × app state (active, suspended, revoked) × seal state (active,
//! lost, revoked, expired, not authorized, authorization expired — and withdrawn, used up, not
//! yet effective), each cell compared with an expected table written as data and the matrix
//! printed as a table; after the calls, nothing was sealed but what the table allows (the app's
//! usage, evidence by the originals' hashes, `pdf.sign` and `app.job.submit` in the audit chain,
//! the job list). Then bad input with the active app and seal — malformed PDFs, a keyword not
//! found, a page out of range, an oversized body, batch and job, a batch naming a part twice or
//! two parts alike, an empty batch, broken documents inside a batch and a job, a failed request
//! with an Idempotency-Key — each a precise status and a word of its detail, and nothing
//! half-written (no evidence, no audit entry, no usage, the key free again).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AppSt {
    Active,
    Suspended,
    Revoked,
}

impl AppSt {
    const ALL: [AppSt; 3] = [AppSt::Active, AppSt::Suspended, AppSt::Revoked];

    fn name(self) -> &'static str {
        match self {
            AppSt::Active => "active",
            AppSt::Suspended => "suspended",
            AppSt::Revoked => "revoked",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum SealSt {
    Active,
    Lost,
    Revoked,
    Expired,
    NotAuthorized,
    GrantExpired,
    GrantWithdrawn,
    UsedUp,
    NotYetEffective,
}

impl SealSt {
    fn name(self) -> &'static str {
        match self {
            SealSt::Active => "active",
            SealSt::Lost => "lost",
            SealSt::Revoked => "revoked",
            SealSt::Expired => "expired",
            SealSt::NotAuthorized => "not authorized",
            SealSt::GrantExpired => "authorization expired",
            SealSt::GrantWithdrawn => "authorization withdrawn",
            SealSt::UsedUp => "use limit reached",
            SealSt::NotYetEffective => "authorization not yet effective",
        }
    }
}

/// The app endpoints: the first six name a seal (or read what a seal sealed before), the others
/// depend on the app alone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ep {
    Seal,
    SealMultipart,
    Batch,
    JobSubmit,
    Document,
    Evidence,
    Keywords,
    Whoami,
    Usage,
    Jobs,
    Job,
    Deliveries,
}

impl Ep {
    const BY_SEAL: [Ep; 6] = [
        Ep::Seal,
        Ep::SealMultipart,
        Ep::Batch,
        Ep::JobSubmit,
        Ep::Document,
        Ep::Evidence,
    ];
    const BY_APP: [Ep; 6] = [
        Ep::Keywords,
        Ep::Whoami,
        Ep::Usage,
        Ep::Jobs,
        Ep::Job,
        Ep::Deliveries,
    ];

    fn name(self) -> &'static str {
        match self {
            Ep::Seal => "POST seal (raw)",
            Ep::SealMultipart => "POST seal (multipart)",
            Ep::Batch => "POST seal-batch",
            Ep::JobSubmit => "POST jobs",
            Ep::Document => "GET documents/{sha}",
            Ep::Evidence => "GET evidence/{sha}",
            Ep::Keywords => "POST keywords",
            Ep::Whoami => "GET whoami",
            Ep::Usage => "GET usage",
            Ep::Jobs => "GET jobs",
            Ep::Job => "GET jobs/{id}",
            Ep::Deliveries => "GET webhook-deliveries",
        }
    }

    /// Whether a 2xx of this endpoint seals a document.
    fn seals(self) -> bool {
        matches!(
            self,
            Ep::Seal | Ep::SealMultipart | Ep::Batch | Ep::JobSubmit
        )
    }
}

/// What a call should get.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    /// This success status.
    Allow(u16),
    /// 403 `grant-refused` with this `reason`.
    Refused(&'static str),
    /// 403 `forbidden` at authentication, with this `reason`.
    AppRefused(&'static str),
    /// This status as problem+json without a `reason`, the detail saying this word.
    Denied(u16, &'static str),
}

use Want::{Allow, AppRefused, Denied, Refused};

const OK: Want = Allow(200);
/// A document sealed earlier by another app (not authorized), or never sealed (not yet
/// effective): not this app's.
const NOT_MINE: Want = Denied(404, "sealed no document");

/// The active app, per seal state: POST seal (raw), POST seal (multipart), POST seal-batch,
/// POST jobs, and GET documents / evidence of a document sealed with that seal before its state
/// changed — the app keeps its records whatever became of the seal since.
const BY_SEAL: [(SealSt, [Want; 6]); 9] = [
    (SealSt::Active, [OK, OK, OK, Allow(202), OK, OK]),
    (
        SealSt::Lost,
        [
            Refused("seal-lost"),
            Refused("seal-lost"),
            Refused("seal-lost"),
            Refused("seal-lost"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::Revoked,
        [
            Refused("seal-revoked"),
            Refused("seal-revoked"),
            Refused("seal-revoked"),
            Refused("seal-revoked"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::Expired,
        [
            Refused("seal-expired"),
            Refused("seal-expired"),
            Refused("seal-expired"),
            Refused("seal-expired"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::NotAuthorized,
        [
            Refused("no-grant"),
            Refused("no-grant"),
            Refused("no-grant"),
            Refused("no-grant"),
            NOT_MINE,
            NOT_MINE,
        ],
    ),
    (
        SealSt::GrantExpired,
        [
            Refused("grant-expired"),
            Refused("grant-expired"),
            Refused("grant-expired"),
            Refused("grant-expired"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::GrantWithdrawn,
        [
            Refused("grant-withdrawn"),
            Refused("grant-withdrawn"),
            Refused("grant-withdrawn"),
            Refused("grant-withdrawn"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::UsedUp,
        [
            Refused("use-limit-reached"),
            Refused("use-limit-reached"),
            Refused("use-limit-reached"),
            Refused("use-limit-reached"),
            OK,
            OK,
        ],
    ),
    (
        SealSt::NotYetEffective,
        [
            Refused("grant-not-yet-effective"),
            Refused("grant-not-yet-effective"),
            Refused("grant-not-yet-effective"),
            Refused("grant-not-yet-effective"),
            NOT_MINE,
            NOT_MINE,
        ],
    ),
];

/// Per app state, the endpoints that name no seal: POST keywords, GET whoami, usage, jobs,
/// jobs/{id} (the app's own job), webhook-deliveries.
const BY_APP: [(AppSt, [Want; 6]); 3] = [
    (AppSt::Active, [OK, OK, OK, OK, OK, OK]),
    (AppSt::Suspended, [AppRefused("app-suspended"); 6]),
    (AppSt::Revoked, [AppRefused("app-revoked"); 6]),
];

/// A suspended or revoked app is refused at authentication, before any seal is looked at.
const APP_REFUSED: [(AppSt, Want); 2] = [
    (AppSt::Suspended, AppRefused("app-suspended")),
    (AppSt::Revoked, AppRefused("app-revoked")),
];

fn expected(ep: Ep, app: AppSt, seal: Option<SealSt>) -> Want {
    if let Some(i) = Ep::BY_APP.iter().position(|e| *e == ep) {
        let row = BY_APP.iter().find(|(a, _)| *a == app).expect("app row");
        return row.1[i];
    }
    if let Some((_, w)) = APP_REFUSED.iter().find(|(a, _)| *a == app) {
        return *w;
    }
    let i = Ep::BY_SEAL.iter().position(|e| *e == ep).expect("endpoint");
    let seal = seal.expect("a seal for a sealing endpoint");
    BY_SEAL
        .iter()
        .find(|(s, _)| *s == seal)
        .expect("seal row")
        .1[i]
}

fn show(w: Want) -> String {
    match w {
        Allow(s) => s.to_string(),
        Refused(r) => format!("403 {r}"),
        AppRefused(r) => format!("403 {r}"),
        Denied(s, word) => format!("{s} ({word})"),
    }
}

/// The answer as a cell of the printed table, and whether it is what `want` says.
fn judge(want: Want, a: &Answer) -> (String, bool) {
    let v = a.json();
    let problem = a.header("content-type") == Some("application/problem+json");
    let reason = v["reason"].as_str();
    let kind = v["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    let detail = v["detail"].as_str().unwrap_or("");
    let shown = match (reason, a.status) {
        (Some(r), s) => format!("{s} {r}"),
        (None, s) if (200..300).contains(&s) => s.to_string(),
        (None, s) => match want {
            Denied(_, word) if detail.contains(word) => format!("{s} ({word})"),
            _ => format!("{s} [{detail}]"),
        },
    };
    let ok = match want {
        Allow(s) => a.status == s,
        Refused(r) => a.status == 403 && problem && kind == "grant-refused" && reason == Some(r),
        AppRefused(r) => a.status == 403 && problem && kind == "forbidden" && reason == Some(r),
        Denied(s, word) => a.status == s && problem && reason.is_none() && detail.contains(word),
    };
    (shown, ok)
}

const RAW: [(&str, &str); 1] = [("Content-Type", "application/pdf")];

/// A one-page contract whose text makes its hash unique.
fn contract(label: &str) -> Vec<u8> {
    text_pdf(&[vec![(72.0, 760.0, label), (100.0, 300.0, "Seal here")]])
}

fn at(seal: &str) -> Value {
    json!({"name": "", "seal_id": seal,
           "placements": [{"kind": "at", "page": 1, "x_mm": 100, "y_mm": 100}]})
}

/// A batch or job of documents (part name, seal, PDF), each sealed at one position.
fn documents(docs: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let entries: Vec<Value> = docs
        .iter()
        .map(|(name, seal, _)| {
            let mut e = at(seal);
            e["name"] = json!(name);
            e
        })
        .collect();
    let request = json!({ "documents": entries }).to_string();
    let mut parts = vec![("request", "application/json", request.as_bytes())];
    parts.extend(docs.iter().map(|(n, _, pdf)| (*n, "application/pdf", *pdf)));
    multipart_parts(&parts)
}

fn batch(c: &Caller, docs: &[(&str, &str, &[u8])]) -> Answer {
    let (ct, body) = documents(docs);
    c.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)])
}

fn submit(c: &Caller, docs: &[(&str, &str, &[u8])]) -> Answer {
    let (ct, body) = documents(docs);
    c.call("POST", "/app/jobs", &body, &[("Content-Type", &ct)])
}

/// Poll a job until it is done.
fn job_done(c: &Caller, id: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let j = c.call("GET", &format!("/app/jobs/{id}"), b"", &[]);
        assert_eq!(j.status, 200, "{}", j.text());
        if j.json()["state"] == "done" {
            return j.json();
        }
        assert!(Instant::now() < until, "job not done: {}", j.text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The app's sealings today, per seal.
fn usage(c: &Caller) -> BTreeMap<String, i64> {
    let u = c.call("GET", "/app/usage?days=1", b"", &[]);
    assert_eq!(u.status, 200, "{}", u.text());
    let mut m = BTreeMap::new();
    for r in u.json().as_array().unwrap() {
        *m.entry(r["seal_id"].as_str().unwrap().to_string())
            .or_insert(0) += r["count"].as_i64().unwrap();
    }
    m
}

fn api_get(api: &str, path: &str, tok: &str) -> (u16, Value) {
    let (s, b) = get(&format!("{api}{path}"), Some(tok));
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

struct Setup<'a> {
    env: &'a Env,
    aw: &'a AppWorld,
}

impl Setup<'_> {
    /// Register an app of the world's unit with an HMAC key.
    fn app(&self, name: &str) -> Caller {
        let w = &self.aw.w;
        let (s, v) = api_post(
            &self.aw.api,
            "/apps",
            &w.admin,
            json!({"name": name, "kind": "cloud-signing", "supervising_org_id": w.bureau,
                   "developer_org_id": w.unit, "owner": w.applicant}),
        );
        assert_eq!(s, 201, "{v}");
        let app = v["id"].as_str().unwrap().to_string();
        let (s, v) = api_post(
            &self.aw.api,
            &format!("/apps/{app}/credentials"),
            &w.applicant_tok,
            json!({"kind": "hmac-sha256", "label": "production"}),
        );
        assert_eq!(s, 201, "{v}");
        let secret = self.env.path(&format!("{app}.secret"));
        std::fs::write(&secret, v["secret"].as_str().unwrap()).unwrap();
        Caller {
            app,
            key: v["key_id"].as_str().unwrap().to_string(),
            secret,
            base: self.aw.api.clone(),
        }
    }

    /// Authorize `seals` to `app` (`extra`: validity, use limit); the grants' ids.
    fn grant(&self, app: &str, seals: &[String], extra: Value) -> Vec<String> {
        let mut body = json!({"app_id": app, "seal_ids": seals,
                              "valid_until": now() + 30 * 86_400});
        if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(x.clone());
        }
        let (s, v) = api_post(&self.aw.api, "/app-grants", &self.aw.sa_tok, body);
        assert_eq!(s, 201, "{v}");
        v["granted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn seal(&self, name: &str) -> String {
        let w = &self.aw.w;
        w.cloud_seal(&w.applicant_tok, &w.unit, name).0
    }

    fn seal_view(&self, seal: &str) -> Value {
        let (s, v) = api_get(&self.aw.api, &format!("/seals/{seal}"), &self.aw.w.admin);
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A seal operation applied for by the holder and, when it needs review, approved.
    fn operation(&self, seal: &str, op: &str, approve: bool) {
        let w = &self.aw.w;
        let (s, v) = api_post(
            &self.aw.api,
            "/seal-operations",
            &w.applicant_tok,
            json!({"seal_id": seal, "operation": op, "reason": "矩阵测试"}),
        );
        assert_eq!(s, 201, "{op}: {v}");
        if approve {
            let (s, v) = api_post(
                &self.aw.api,
                &format!("/seal-operations/{}/events", v["id"].as_str().unwrap()),
                &w.reviewer_tok,
                json!({"event": "approve", "version": 1, "comment": "核实无误"}),
            );
            assert_eq!(s, 200, "{op}: {v}");
        }
    }

    fn app_event(&self, app: &str, event: &str) {
        let w = &self.aw.w;
        let (s, v) = api_get(&self.aw.api, &format!("/apps/{app}"), &w.admin);
        assert_eq!(s, 200, "{v}");
        let (s, v) = api_post(
            &self.aw.api,
            &format!("/apps/{app}/events"),
            &w.admin,
            json!({"event": event, "version": v["version"], "comment": "矩阵测试"}),
        );
        assert_eq!(s, 200, "{event}: {v}");
    }

    /// The sealed documents' hashes of a batch that must seal every document.
    fn sealed(&self, c: &Caller, docs: &[(&str, &str, &[u8])]) -> Vec<String> {
        let a = batch(c, docs);
        assert_eq!(a.status, 200, "{}", a.text());
        let r = a.json();
        assert_eq!(r["failed"], 0, "{r}");
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["sha256"].as_str().unwrap().to_string())
            .collect()
    }
}

/// One call of the matrix.
struct Cell {
    app: AppSt,
    seal: Option<SealSt>,
    ep: Ep,
    want: Want,
    shown: String,
    ok: bool,
    /// The original's SHA-256, for the sealing endpoints.
    input: Option<String>,
}

/// The matrix as a table: rows app state × seal state, columns the endpoints.
fn table(db: &str, cells: &[Cell]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n==== the apps' signing API, allow / deny matrix on {db} ({} calls) ====\n",
        cells.len()
    );
    let cell = |app: AppSt, seal: Option<SealSt>, ep: Ep| -> String {
        cells
            .iter()
            .find(|c| c.app == app && c.seal == seal && c.ep == ep)
            .map(|c| {
                if c.ok {
                    c.shown.clone()
                } else {
                    format!("✗ {} (want {})", c.shown, show(c.want))
                }
            })
            .unwrap_or_default()
    };
    let mut block = |title: &str, eps: &[Ep], rows: Vec<(AppSt, Option<SealSt>)>| {
        let first = rows
            .iter()
            .map(|(a, s)| label(*a, *s).chars().count())
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = eps
            .iter()
            .map(|ep| {
                rows.iter()
                    .map(|(a, s)| cell(*a, *s, *ep).chars().count())
                    .chain([ep.name().chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w - s.chars().count()));
        let _ = write!(out, "{} ", pad(title, first));
        for (ep, w) in eps.iter().zip(&widths) {
            let _ = write!(out, "| {} ", pad(ep.name(), *w));
        }
        out.push('\n');
        let _ = write!(out, "{}-", "-".repeat(first));
        for w in &widths {
            let _ = write!(out, "+-{}-", "-".repeat(*w));
        }
        out.push('\n');
        for (a, s) in rows {
            let _ = write!(out, "{} ", pad(&label(a, s), first));
            for (ep, w) in eps.iter().zip(&widths) {
                let _ = write!(out, "| {} ", pad(&cell(a, s, *ep), *w));
            }
            out.push('\n');
        }
        out.push('\n');
    };
    let mut rows = Vec::new();
    for a in AppSt::ALL {
        for (s, _) in BY_SEAL {
            rows.push((a, Some(s)));
        }
    }
    block("app × seal", &Ep::BY_SEAL, rows);
    block(
        "app",
        &Ep::BY_APP,
        AppSt::ALL.iter().map(|a| (*a, None)).collect(),
    );
    out
}

fn label(a: AppSt, s: Option<SealSt>) -> String {
    match s {
        Some(s) => format!("{} × {}", a.name(), s.name()),
        None => a.name().to_string(),
    }
}

fn matrix(env: &Env, db: &str, prefix: &str) {
    env.init_dev();
    let srv = env.serve();
    let aw = app_world(env, &srv, prefix, json!({}));
    let x = Setup { env, aw: &aw };
    let a = &aw.c;
    let b = x.app("办公自动化系统");
    let c = x.app("税务申报系统");
    // D holds the one grant of the seal A, B and C are not authorized for.
    let d = x.app("档案管理系统");
    let abc = [a, &b, &c];

    // The world's seal, the oldest, is the one to expire: authorized for two years (past the
    // seal's own year), used once by each app, then the sweep run as of its last second.
    let expired = aw.seal.clone();
    let mut earlier: BTreeMap<(String, SealSt), String> = BTreeMap::new();
    for app in abc {
        x.grant(
            &app.app,
            std::slice::from_ref(&expired),
            json!({"valid_until": now() + 700 * 86_400}),
        );
        let pdf = contract(&format!("{} before expiry", app.app));
        let sha = x.sealed(app, &[("e.pdf", &expired, &pdf)]);
        earlier.insert((app.app.clone(), SealSt::Expired), sha[0].clone());
    }
    let until = x.seal_view(&expired)["valid_until"].as_i64().unwrap();
    let out = ok(
        &run(env.cmd().args([
            "--json",
            "seals",
            "sweep",
            "--at",
            &rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(until as u64)),
        ])),
        "seals sweep --at",
    );
    let swept: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(swept["expired"], 1, "{swept}");
    assert_eq!(swept["app_grants"]["expired"], 0, "{swept}");
    assert_eq!(x.seal_view(&expired)["state"], "expired");

    // The other seals, made after the sweep.
    let names = [
        (SealSt::Active, "杭州示例科技有限公司合同专用章一"),
        (SealSt::Lost, "杭州示例科技有限公司合同专用章二"),
        (SealSt::Revoked, "杭州示例科技有限公司合同专用章三"),
        (SealSt::NotAuthorized, "杭州示例科技有限公司合同专用章四"),
        (SealSt::GrantExpired, "杭州示例科技有限公司合同专用章五"),
        (SealSt::GrantWithdrawn, "杭州示例科技有限公司合同专用章六"),
        (SealSt::UsedUp, "杭州示例科技有限公司合同专用章七"),
        (SealSt::NotYetEffective, "杭州示例科技有限公司合同专用章八"),
    ];
    let mut seals: BTreeMap<SealSt, String> =
        names.iter().map(|(s, name)| (*s, x.seal(name))).collect();
    seals.insert(SealSt::Expired, expired.clone());
    let seal = |s: SealSt| seals[&s].clone();

    for app in abc {
        x.grant(
            &app.app,
            &[
                seal(SealSt::Active),
                seal(SealSt::Lost),
                seal(SealSt::Revoked),
                seal(SealSt::GrantWithdrawn),
            ],
            json!({}),
        );
        x.grant(&app.app, &[seal(SealSt::UsedUp)], json!({"use_limit": 1}));
        x.grant(
            &app.app,
            &[seal(SealSt::NotYetEffective)],
            json!({"valid_from": now() + 86_400}),
        );
        let pdfs: Vec<(SealSt, Vec<u8>)> = [
            SealSt::Active,
            SealSt::Lost,
            SealSt::Revoked,
            SealSt::GrantWithdrawn,
            SealSt::UsedUp,
        ]
        .iter()
        .map(|s| (*s, contract(&format!("{} {} earlier", app.app, s.name()))))
        .collect();
        let sealed_with: Vec<(String, String)> = pdfs
            .iter()
            .map(|(s, _)| (format!("{s:?}.pdf"), seal(*s)))
            .collect();
        let docs: Vec<(&str, &str, &[u8])> = sealed_with
            .iter()
            .zip(&pdfs)
            .map(|((n, s), (_, pdf))| (n.as_str(), s.as_str(), pdf.as_slice()))
            .collect();
        let shas = x.sealed(app, &docs);
        for ((s, _), sha) in pdfs.iter().zip(shas) {
            earlier.insert((app.app.clone(), *s), sha);
        }
    }
    x.grant(&d.app, &[seal(SealSt::NotAuthorized)], json!({}));
    let pdf = contract("D's own document");
    let theirs = x.sealed(&d, &[("d.pdf", &seal(SealSt::NotAuthorized), &pdf)]);
    // A job of each app, for GET jobs/{id}.
    let mut jobs = BTreeMap::new();
    for app in abc {
        let pdf = contract(&format!("{} job", app.app));
        let j = submit(app, &[("j.pdf", &seal(SealSt::Active), &pdf)]);
        assert_eq!(j.status, 202, "{}", j.text());
        jobs.insert(
            app.app.clone(),
            j.json()["id"].as_str().unwrap().to_string(),
        );
    }

    // Authorizations that end in a few seconds, used once before they do.
    let short_until = now() + 10;
    let mut short = Vec::new();
    for app in abc {
        short.extend(x.grant(
            &app.app,
            &[seal(SealSt::GrantExpired)],
            json!({"valid_until": short_until}),
        ));
        let pdf = contract(&format!("{} short grant", app.app));
        let sha = x.sealed(app, &[("g.pdf", &seal(SealSt::GrantExpired), &pdf)]);
        earlier.insert((app.app.clone(), SealSt::GrantExpired), sha[0].clone());
    }

    // The states: a seal reported lost, one revoked, grants withdrawn; B suspended, C revoked.
    x.operation(&seal(SealSt::Lost), "report-loss", false);
    x.operation(&seal(SealSt::Revoked), "revoke", true);
    for app in abc {
        let (s, v) = api_post(
            &aw.api,
            "/app-grants/withdraw",
            &aw.sa_tok,
            json!({"app_id": app.app, "seal_ids": [seal(SealSt::GrantWithdrawn)],
                   "reason": "合同到期"}),
        );
        assert!(s == 200 || s == 201, "{v}");
        job_done(app, &jobs[&app.app]);
    }
    x.app_event(&b.app, "suspend");
    x.app_event(&c.app, "revoke");
    for (s, want) in [
        (SealSt::Lost, "lost"),
        (SealSt::Revoked, "revoked"),
        (SealSt::Expired, "expired"),
        (SealSt::Active, "active"),
    ] {
        assert_eq!(x.seal_view(&seal(s))["state"], want, "{s:?}");
    }
    // The server's sweep (every second here) records the short grants' end.
    let deadline = Instant::now() + Duration::from_secs(60);
    for g in &short {
        loop {
            let (_, v) = api_get(&aw.api, &format!("/app-grants/{g}"), &aw.sa_tok);
            // The view says expired from the clock at once; the sweep records who ended it.
            if v["state"] == "expired" && v["ended_by"] == "system" {
                break;
            }
            assert!(Instant::now() < deadline, "grant {g} not expired: {v}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    assert!(now() >= short_until);

    // ---- The matrix.
    let callers = [
        (AppSt::Active, a),
        (AppSt::Suspended, &b),
        (AppSt::Revoked, &c),
    ];
    let log_before = audit_log(env);
    let usage_before = usage(a);
    let jobs_before = a.call("GET", "/app/jobs?limit=100", b"", &[]).json()["items"]
        .as_array()
        .map_or(0, Vec::len);
    let mut cells = Vec::new();
    for (app_st, caller) in callers {
        for (seal_st, _) in BY_SEAL {
            let sid = seal(seal_st);
            for ep in Ep::BY_SEAL {
                let pdf = contract(&format!(
                    "{} {} {} {}",
                    caller.app,
                    app_st.name(),
                    seal_st.name(),
                    ep.name().replace(['(', ')'], "")
                ));
                let input = sealpki_pki::alg::sha256_hex(&pdf);
                let sha = match seal_st {
                    SealSt::NotAuthorized => theirs[0].clone(),
                    SealSt::NotYetEffective => input.clone(),
                    s => earlier[&(caller.app.clone(), s)].clone(),
                };
                let answer = match ep {
                    Ep::Seal => caller.call(
                        "POST",
                        &format!("/app/seal?seal_id={sid}&x_mm=100&y_mm=100"),
                        &pdf,
                        &RAW,
                    ),
                    Ep::SealMultipart => {
                        let (ct, body) = multipart(
                            &pdf,
                            &json!({"seal_id": sid,
                                    "placements": [{"kind": "keyword", "text": "Seal here"}]}),
                        );
                        caller.call("POST", "/app/seal", &body, &[("Content-Type", &ct)])
                    }
                    Ep::Batch => batch(caller, &[("m.pdf", &sid, &pdf)]),
                    Ep::JobSubmit => submit(caller, &[("m.pdf", &sid, &pdf)]),
                    Ep::Document => caller.call("GET", &format!("/app/documents/{sha}"), b"", &[]),
                    Ep::Evidence => caller.call("GET", &format!("/app/evidence/{sha}"), b"", &[]),
                    _ => unreachable!("a seal endpoint"),
                };
                let want = expected(ep, app_st, Some(seal_st));
                let (mut shown, mut good) = judge(want, &answer);
                // What a 200 reads is the document sealed then, and its record.
                let v = answer.json();
                let wrong_content = answer.status == 200
                    && match ep {
                        Ep::Document => sealpki_pki::alg::sha256_hex(&answer.body) != sha,
                        Ep::Evidence => {
                            v[0]["seal_id"] != sid.as_str()
                                || v[0]["app_id"] != caller.app.as_str()
                                || v[0]["output_sha256"] != sha.as_str()
                        }
                        _ => false,
                    };
                if wrong_content {
                    shown = format!("{shown} [another document]");
                    good = false;
                }
                cells.push(Cell {
                    app: app_st,
                    seal: Some(seal_st),
                    ep,
                    want,
                    shown,
                    ok: good,
                    input: ep.seals().then_some(input),
                });
            }
        }
        for ep in Ep::BY_APP {
            let answer = match ep {
                Ep::Keywords => caller.call(
                    "POST",
                    "/app/keywords?keyword=Seal%20here",
                    &contract("keywords"),
                    &RAW,
                ),
                Ep::Whoami => caller.call("GET", "/app/whoami", b"", &[]),
                Ep::Usage => caller.call("GET", "/app/usage", b"", &[]),
                Ep::Jobs => caller.call("GET", "/app/jobs", b"", &[]),
                Ep::Job => {
                    caller.call("GET", &format!("/app/jobs/{}", jobs[&caller.app]), b"", &[])
                }
                Ep::Deliveries => caller.call("GET", "/app/webhook-deliveries", b"", &[]),
                _ => unreachable!("an app endpoint"),
            };
            let want = expected(ep, app_st, None);
            let (shown, good) = judge(want, &answer);
            cells.push(Cell {
                app: app_st,
                seal: None,
                ep,
                want,
                shown,
                ok: good,
                input: None,
            });
        }
    }
    let printed = table(db, &cells);
    println!("{printed}");
    let _ = std::fs::write(
        std::env::var_os("SEALPKI_TEST_RUN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("app-matrix-{db}.txt")),
        &printed,
    );
    let wrong: Vec<String> = cells
        .iter()
        .filter(|c| !c.ok)
        .map(|c| {
            format!(
                "{} / {}: got {}, want {}",
                label(c.app, c.seal),
                c.ep.name(),
                c.shown,
                show(c.want)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{printed}\n{}", wrong.join("\n"));

    // Nothing sealed but what the table allows: the allowed job done, then the audit chain has
    // one pdf.sign per allowed sealing and none for a refused one; A's usage grew by the active
    // seal's four; A's evidence has no refused original; one job more for A, none for B or C.
    let j = a.call("GET", "/app/jobs?limit=100", b"", &[]);
    let items = j.json()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), jobs_before + 1, "one job more: {}", j.text());
    let newest = items[0]["id"].as_str().unwrap().to_string();
    assert_eq!(job_done(a, &newest)["sealed"], 1);
    let log = audit_log(env);
    let signs = |input: &str| {
        log.iter()
            .filter(|(_, action, d)| action == "pdf.sign" && d["input_sha256"] == input)
            .count()
    };
    for cell in cells.iter().filter(|c| c.input.is_some()) {
        let input = cell.input.as_deref().unwrap_or("");
        let allowed = matches!(cell.want, Allow(_));
        assert_eq!(
            signs(input),
            usize::from(allowed),
            "{} / {}: pdf.sign entries",
            label(cell.app, cell.seal),
            cell.ep.name()
        );
        if cell.app == AppSt::Active && !allowed {
            let e = a.call("GET", &format!("/app/evidence/{input}"), b"", &[]);
            assert_eq!(e.status, 404, "refused, yet evidence: {}", e.text());
        }
    }
    let count = |log: &[(String, String, Value)], app: &str, action: &str| {
        log.iter()
            .filter(|(actor, act, _)| act == action && actor == &format!("app:{app}"))
            .count()
    };
    for (app, sealings, submissions) in [(&a.app, 3, 1), (&b.app, 0, 0), (&c.app, 0, 0)] {
        // A: raw, multipart and batch in the call, the job's document by the worker.
        assert_eq!(
            count(&log, app, "pdf.sign") - count(&log_before, app, "pdf.sign"),
            sealings + submissions,
            "{app}"
        );
        assert_eq!(
            count(&log, app, "app.job.submit") - count(&log_before, app, "app.job.submit"),
            submissions,
            "{app}"
        );
    }
    let mut grown = usage(a);
    for (k, v) in &usage_before {
        *grown.entry(k.clone()).or_insert(0) -= v;
    }
    grown.retain(|_, v| *v != 0);
    assert_eq!(
        grown,
        BTreeMap::from([(seal(SealSt::Active), 4)]),
        "only the active seal sealed, four times"
    );
    bad_input(env, a, &seal(SealSt::Active));
}

/// A bad request: what it is, the path, (content type, body), the status and a word of the
/// detail it must get.
type BodyCase = (
    &'static str,
    &'static str,
    (String, Vec<u8>),
    u16,
    &'static str,
);

/// Bad input with the active app and seal: precise errors, nothing sealed, nothing half-written.
fn bad_input(env: &Env, a: &Caller, seal: &str) {
    let three = text_pdf(&[
        vec![(72.0, 760.0, "Bad input page 1")],
        vec![
            (72.0, 760.0, "Bad input page 2"),
            (100.0, 300.0, "Seal here"),
        ],
        vec![(72.0, 760.0, "Bad input page 3")],
    ]);
    let good = contract("bad input: the good one");
    let truncated = three[..three.len() / 2].to_vec();
    let mut no_xref = three.clone();
    // The cross-reference table's offsets point into the void.
    let at_xref = String::from_utf8_lossy(&no_xref)
        .rfind("startxref")
        .unwrap();
    no_xref.truncate(at_xref);
    no_xref.extend(b"startxref\n999999\n%%EOF\n");
    let before = usage(a);
    let log_before = audit_log(env);

    let seal_q = |q: &str| format!("/app/seal?seal_id={seal}&{q}");
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let cases: Vec<(String, String, Vec<u8>, u16, &str)> = vec![
        (
            "not a PDF".into(),
            seal_q("x_mm=10&y_mm=10"),
            b"hello, not a PDF".to_vec(),
            400,
            "no %PDF- header",
        ),
        (
            "truncated PDF".into(),
            seal_q("x_mm=10&y_mm=10"),
            truncated.clone(),
            400,
            "no startxref",
        ),
        (
            "broken startxref".into(),
            seal_q("x_mm=10&y_mm=10"),
            no_xref.clone(),
            400,
            "beyond the end of the file",
        ),
        (
            "empty body".into(),
            seal_q("x_mm=10&y_mm=10"),
            Vec::new(),
            400,
            "no PDF",
        ),
        (
            "keyword not found".into(),
            seal_q("keyword=Nowhere"),
            three.clone(),
            400,
            "found 0",
        ),
        (
            "keyword's occurrence not there".into(),
            seal_q("keyword=Seal%20here&occurrence=2"),
            three.clone(),
            400,
            "found 1",
        ),
        (
            "page out of range".into(),
            seal_q("page=7&x_mm=10&y_mm=10"),
            three.clone(),
            400,
            "3 page",
        ),
        (
            "page 0".into(),
            seal_q("page=0&x_mm=10&y_mm=10"),
            three.clone(),
            400,
            "pages count from 1",
        ),
        (
            "keyword on a page out of range".into(),
            seal_q("keyword=Seal%20here&page=9"),
            three.clone(),
            400,
            "3 page",
        ),
        (
            "cross-page over pages out of range".into(),
            seal_q("cross_page=5-7"),
            three.clone(),
            400,
            "3 page",
        ),
        (
            "position off the page".into(),
            seal_q("x_mm=900&y_mm=10"),
            three.clone(),
            400,
            "outside",
        ),
        (
            "no placement".into(),
            seal_q(""),
            three.clone(),
            400,
            "placement",
        ),
        (
            "two placements in the query".into(),
            seal_q("keyword=Seal%20here&x_mm=1&y_mm=1"),
            three.clone(),
            400,
            "one of them",
        ),
        (
            "unknown level".into(),
            seal_q("x_mm=10&y_mm=10&level=b-z"),
            three.clone(),
            400,
            "level",
        ),
        (
            "unknown seal".into(),
            "/app/seal?seal_id=nosuchseal&x_mm=10&y_mm=10".into(),
            three.clone(),
            404,
            "nosuchseal",
        ),
        (
            "keywords: not a PDF".into(),
            "/app/keywords?keyword=x".into(),
            b"%PDF-1.7 broken".to_vec(),
            400,
            "not a PDF",
        ),
        (
            "keywords: page out of range".into(),
            "/app/keywords?keyword=x&page=9".into(),
            three.clone(),
            400,
            "page 9: the document has 3 page(s)",
        ),
    ];
    let mut report = String::from("\n==== bad input (active app, active seal) ====\n");
    let mut wrong = Vec::new();
    for (what, path, body, status, says) in &cases {
        let r = a.call("POST", path, body, &RAW);
        let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
        let _ = writeln!(report, "{what:40} {} {detail}", r.status);
        if r.status != *status
            || !detail.contains(says)
            || r.header("content-type") != Some("application/problem+json")
        {
            wrong.push(format!("{what}: {} {}", r.status, r.text()));
        }
        inputs.push(body.clone());
    }
    // Multipart: a broken PDF part, an empty placement list, a second pdf part.
    for (what, body, says) in [
        (
            "multipart: broken PDF",
            multipart(
                b"%PDF-1.7 broken",
                &json!({"seal_id": seal, "placements": [{"kind": "at", "page": 1, "x_mm": 10, "y_mm": 10}]}),
            ),
            "not a PDF",
        ),
        (
            "multipart: no placements",
            multipart(&three, &json!({"seal_id": seal, "placements": []})),
            "placements",
        ),
        (
            "multipart: two pdf parts",
            multipart_parts(&[
                ("pdf", "application/pdf", &three),
                ("pdf", "application/pdf", &three),
            ]),
            "one pdf part",
        ),
    ] {
        let (ct, body) = body;
        let r = a.call("POST", "/app/seal", &body, &[("Content-Type", &ct)]);
        let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
        let _ = writeln!(report, "{what:40} {} {detail}", r.status);
        if r.status != 400 || !detail.contains(says) {
            wrong.push(format!("{what}: {} {}", r.status, r.text()));
        }
    }
    // A body over the route's limit is refused before it is read whole (no signature needed).
    let big = vec![b'%'; 64 * 1024 * 1024 + 1];
    let r = ureq::post(&format!("{}/app/seal?seal_id={seal}&x_mm=1&y_mm=1", a.base))
        .set("Content-Type", "application/pdf")
        .send_bytes(&big);
    let status = match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        // The server may close the connection once it has answered.
        Err(e) => panic!("64 MiB + 1: {e}"),
    };
    let _ = writeln!(report, "{:40} {status}", "seal: 64 MiB + 1 byte");
    if status != 413 {
        wrong.push(format!("64 MiB + 1: {status}"));
    }

    // Batches.
    let many: Vec<(String, Vec<u8>)> = (0..21)
        .map(|i| (format!("d{i}.pdf"), contract(&format!("batch of 21, {i}"))))
        .collect();
    let docs: Vec<(&str, &str, &[u8])> = many
        .iter()
        .map(|(n, p)| (n.as_str(), seal, p.as_slice()))
        .collect();
    let job_docs: Vec<(String, Vec<u8>)> = (0..101)
        .map(|i| (format!("j{i}.pdf"), contract(&format!("job of 101, {i}"))))
        .collect();
    let jdocs: Vec<(&str, &str, &[u8])> = job_docs
        .iter()
        .map(|(n, p)| (n.as_str(), seal, p.as_slice()))
        .collect();
    let entry = |name: &str| {
        let mut e = at(seal);
        e["name"] = json!(name);
        e
    };
    let twice = json!({"documents": [entry("a.pdf"), entry("a.pdf")]}).to_string();
    let alike = json!({"documents": [entry("a.pdf")]}).to_string();
    let empty = json!({"documents": []}).to_string();
    let stray = alike.clone();
    let batch_cases: Vec<BodyCase> = vec![
        (
            "batch of 21 documents",
            "/app/seal-batch",
            documents(&docs),
            413,
            "at most 20",
        ),
        (
            "job of 101 documents",
            "/app/jobs",
            documents(&jdocs),
            413,
            "at most 100",
        ),
        (
            "batch naming a part twice",
            "/app/seal-batch",
            multipart_parts(&[
                ("request", "application/json", twice.as_bytes()),
                ("a.pdf", "application/pdf", &good),
            ]),
            400,
            "named twice",
        ),
        (
            "job naming a part twice",
            "/app/jobs",
            multipart_parts(&[
                ("request", "application/json", twice.as_bytes()),
                ("a.pdf", "application/pdf", &good),
            ]),
            400,
            "named twice",
        ),
        (
            "batch with two parts of one name",
            "/app/seal-batch",
            multipart_parts(&[
                ("request", "application/json", alike.as_bytes()),
                ("a.pdf", "application/pdf", &good),
                ("a.pdf", "application/pdf", &good),
            ]),
            400,
            "two parts named",
        ),
        (
            "batch with a part it does not name",
            "/app/seal-batch",
            multipart_parts(&[
                ("request", "application/json", stray.as_bytes()),
                ("a.pdf", "application/pdf", &good),
                ("stray.pdf", "application/pdf", &good),
            ]),
            400,
            "stray.pdf",
        ),
        (
            "batch naming a part it lacks",
            "/app/seal-batch",
            multipart_parts(&[("request", "application/json", alike.as_bytes())]),
            400,
            "no multipart part",
        ),
        (
            "empty batch",
            "/app/seal-batch",
            multipart_parts(&[("request", "application/json", empty.as_bytes())]),
            400,
            "1 or more",
        ),
        (
            "batch without a request part",
            "/app/seal-batch",
            multipart_parts(&[("a.pdf", "application/pdf", &good)]),
            400,
            "no request part",
        ),
        (
            "batch as a raw PDF",
            "/app/seal-batch",
            ("application/pdf".to_string(), good.clone()),
            400,
            "multipart/form-data",
        ),
    ];
    for (what, path, (ct, body), status, says) in &batch_cases {
        let r = a.call("POST", path, body, &[("Content-Type", ct)]);
        let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
        let _ = writeln!(report, "{what:40} {} {detail}", r.status);
        if r.status != *status
            || !detail.contains(says)
            || r.header("content-type") != Some("application/problem+json")
        {
            wrong.push(format!("{what}: {} {}", r.status, r.text()));
        }
    }
    // Refused whole: checked in the audit chain only.
    let whole: Vec<Vec<u8>> = many
        .iter()
        .chain(&job_docs)
        .map(|(_, p)| p.clone())
        .collect();

    // A batch with one good document beside broken ones: the good one sealed whole, each other
    // reported with its status and error, and none of them half-written.
    let not_pdf = b"hello, not a PDF".to_vec();
    let nowhere = json!({"name": "nowhere.pdf", "seal_id": seal,
                         "placements": [{"kind": "keyword", "text": "Nowhere"}]});
    let page9 = json!({"name": "page9.pdf", "seal_id": seal,
                       "placements": [{"kind": "at", "page": 9, "x_mm": 10, "y_mm": 10}]});
    let mixed =
        json!({"documents": [entry("good.pdf"), entry("broken.pdf"), entry("truncated.pdf"),
                                     nowhere, page9]})
        .to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", mixed.as_bytes()),
        ("good.pdf", "application/pdf", &good),
        ("broken.pdf", "application/pdf", &not_pdf),
        ("truncated.pdf", "application/pdf", &truncated),
        ("nowhere.pdf", "application/pdf", &three),
        ("page9.pdf", "application/pdf", &three),
    ]);
    let r = a.call("POST", "/app/seal-batch", &body, &[("Content-Type", &ct)]);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let _ = writeln!(
        report,
        "{:40} {} sealed {} failed {}",
        "batch: 1 good, 4 broken", r.status, v["sealed"], v["failed"]
    );
    assert_eq!(
        (v["sealed"].as_i64(), v["failed"].as_i64()),
        (Some(1), Some(4)),
        "{v}"
    );
    for (i, (name, says)) in [
        ("good.pdf", ""),
        ("broken.pdf", "no %PDF- header"),
        ("truncated.pdf", "no startxref"),
        ("nowhere.pdf", "found 0"),
        ("page9.pdf", "3 page"),
    ]
    .iter()
    .enumerate()
    {
        let d = &v["results"][i];
        assert_eq!(d["name"], *name, "{v}");
        let error = d["error"].as_str().unwrap_or("");
        let _ = writeln!(report, "{:40} {} {error}", format!("  {name}"), d["status"]);
        if i == 0 {
            assert_eq!(d["status"], 200, "{v}");
            let sha = d["sha256"].as_str().unwrap();
            let got = a.call("GET", &format!("/app/documents/{sha}"), b"", &[]);
            assert_eq!(got.status, 200, "{}", got.text());
            let f = env.path("bad-input-good.pdf");
            std::fs::write(&f, &got.body).unwrap();
            pdfsig_ok(env, &f, 1);
        } else {
            assert_eq!(d["status"], 400, "{v}");
            assert!(d["sha256"].is_null() && d["evidence_id"].is_null(), "{v}");
            assert!(error.contains(says), "{name}: {v}");
        }
    }
    inputs.push(not_pdf.clone());
    inputs.push(truncated.clone());

    // A job with a broken document: accepted (documents are read by the worker), then done with
    // the broken one failed and the good one sealed.
    let job_good = contract("bad input: the job's good one");
    let jreq = json!({"documents": [entry("ok.pdf"), entry("broken.pdf")]}).to_string();
    let (ct, body) = multipart_parts(&[
        ("request", "application/json", jreq.as_bytes()),
        ("ok.pdf", "application/pdf", &job_good),
        ("broken.pdf", "application/pdf", b"%PDF-1.7 job broken"),
    ]);
    let r = a.call("POST", "/app/jobs", &body, &[("Content-Type", &ct)]);
    assert_eq!(r.status, 202, "{}", r.text());
    let done = job_done(a, r.json()["id"].as_str().unwrap());
    let _ = writeln!(
        report,
        "{:40} 202, then done: sealed {} failed {} ({})",
        "job: 1 good, 1 broken", done["sealed"], done["failed"], done["results"][1]["error"]
    );
    assert_eq!(
        (done["sealed"].as_i64(), done["failed"].as_i64()),
        (Some(1), Some(1)),
        "{done}"
    );
    assert_eq!(done["results"][1]["status"], 400, "{done}");
    inputs.push(b"%PDF-1.7 job broken".to_vec());

    // A failed request with an Idempotency-Key leaves the key free: the good request with it
    // seals, its retry replays.
    let key = [
        ("Content-Type", "application/pdf"),
        ("Idempotency-Key", "matrix-bad-then-good"),
    ];
    let path = seal_q("keyword=Seal%20here");
    let r = a.call("POST", &path, b"%PDF-1.7 broken", &key);
    let _ = writeln!(report, "{:40} {}", "Idempotency-Key: broken PDF", r.status);
    assert_eq!(r.status, 400, "{}", r.text());
    let first = a.call("POST", &path, &good, &key);
    assert_eq!(first.status, 200, "the key is free again: {}", first.text());
    let again = a.call("POST", &path, &good, &key);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let _ = writeln!(
        report,
        "{:40} 200, retry replayed",
        "  then the good request"
    );
    inputs.push(b"%PDF-1.7 broken".to_vec());
    println!("{report}");
    assert!(wrong.is_empty(), "{report}\n{}", wrong.join("\n"));

    // Nothing half-written: no pdf.sign, no evidence for any bad input; the usage grew by the
    // batch's good document, the job's and the idempotent request's, once each.
    let log = audit_log(env);
    let signed_inputs: std::collections::BTreeSet<&str> = log
        .iter()
        .skip(log_before.len())
        .filter(|(_, act, _)| act == "pdf.sign")
        .filter_map(|(_, _, d)| d["input_sha256"].as_str())
        .collect();
    let hashes = |v: &[Vec<u8>]| -> std::collections::BTreeSet<String> {
        v.iter().map(|p| sealpki_pki::alg::sha256_hex(p)).collect()
    };
    for h in hashes(&whole) {
        assert!(
            !signed_inputs.contains(h.as_str()),
            "refused document {h} was signed"
        );
    }
    for h in hashes(&inputs) {
        assert!(
            !signed_inputs.contains(h.as_str()),
            "bad input {h} was signed"
        );
        let e = a.call("GET", &format!("/app/evidence/{h}"), b"", &[]);
        assert_eq!(e.status, 404, "bad input {h} has evidence: {}", e.text());
    }
    let after = usage(a);
    let grew = after.get(seal).copied().unwrap_or(0) - before.get(seal).copied().unwrap_or(0);
    assert_eq!(
        grew, 3,
        "good batch document, good job document, idempotent request"
    );
    let signed = log
        .iter()
        .skip(log_before.len())
        .filter(|(actor, act, _)| act == "pdf.sign" && actor == &format!("app:{}", a.app))
        .count();
    assert_eq!(signed, 3, "three signatures in the audit chain");
}

fn env_for(db: Db) -> Env {
    Env::new(EnvOptions {
        db,
        self_urls: true,
        extra: "[seals]\nexpiry_check_seconds = 1\n",
        ..Default::default()
    })
}

#[test]
fn app_matrix_on_sqlite() {
    matrix(&env_for(Db::Sqlite), "SQLite", "1393000001");
}

#[test]
fn app_matrix_on_postgres() {
    let Some(url) = pg_database("appmatrix") else {
        return;
    };
    matrix(&env_for(Db::Postgres(url)), "PostgreSQL", "1394000001");
}
