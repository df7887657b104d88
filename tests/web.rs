//! The web console over real HTTP against the real binary: every page's status, title, headers and
//! language (zh-CN by default, English by `Accept-Language` or the switch's cookie), no template
//! placeholders left, localized error pages (404, 400, 413, 429) instead of problem+json for
//! browsers; the public verification portal with a signed PDF (valid, and tampered: invalid), a
//! certificate looked up by serial, the shared per-address limit; and headless Chromium screenshots
//! of each page, phone and desktop, in both languages, under `$SEALPKI_TEST_RUN/screenshots/`.
//!
//! Chromium is driven by its command line only (`--screenshot`, `--dump-dom`): the upload is a real
//! multipart POST over HTTP, answered with 303 to `/verify/report/{id}` — a report the server keeps
//! in memory for ten minutes — which Chromium then loads like any page.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SEAL_SUBJECT: &str =
    "/C=CN/O=示例有限公司/CN=示例有限公司合同专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q";

struct Page {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn title(&self) -> &str {
        let start = self.body.find("<title>").expect("a <title>") + 7;
        let end = self.body[start..].find("</title>").unwrap() + start;
        &self.body[start..end]
    }

    /// Status, HTML, CSP and the other console headers, no template syntax left.
    fn is_console_page(&self, status: u16, lang: &str, title_starts: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{:?}",
            self.headers
        );
        let csp = self.header("content-security-policy").expect("CSP");
        for d in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(d), "CSP {csp} lacks {d}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert!(self.header("referrer-policy").is_some());
        assert!(
            self.body.contains(&format!("<html lang=\"{lang}\">")),
            "not {lang}: {}",
            &self.body[..200.min(self.body.len())]
        );
        assert!(
            self.title().starts_with(title_starts),
            "title {:?}, wanted {title_starts:?}",
            self.title()
        );
        for p in ["{{", "}}", "{%", "%}", "{#"] {
            assert!(!self.body.contains(p), "template syntax {p} left");
        }
        // No inline script or style: the CSP would block them.
        assert!(!self.body.contains("<style"), "inline <style>");
        assert!(!self.body.contains(" style="), "inline style attribute");
        for s in self.body.split("<script").skip(1) {
            assert!(s.trim_start().starts_with("src="), "inline <script>");
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(120))
        .build()
}

fn read(resp: ureq::Response) -> Page {
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or("").to_string();
            (n, v)
        })
        .collect();
    Page {
        status,
        headers,
        body: resp.into_string().unwrap(),
    }
}

fn fetch(url: &str, headers: &[(&str, &str)]) -> Page {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => read(r),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

const HTML: (&str, &str) = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");

/// A multipart POST to `/verify/upload`: (name, filename, bytes) parts.
fn upload(base: &str, parts: &[(&str, &str, &[u8])], headers: &[(&str, &str)]) -> Page {
    let boundary = "----sealpki-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut req = agent().post(&format!("{base}/verify/upload")).set(
        "Content-Type",
        &format!("multipart/form-data; boundary={boundary}"),
    );
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_bytes(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => read(r),
        Err(e) => panic!("POST /verify/upload: {e}"),
    }
}

/// A data directory with the development hierarchy, a seal certificate and key, ReportLab's
/// contract, a PDF signed with a visible seal (B-LT: a timestamp and revocation data from this
/// server), and a copy of it altered after signing.
struct Fx {
    _env: Env,
    server: Server,
    cert: PathBuf,
    signed: Vec<u8>,
    tampered: Vec<u8>,
}

impl Fx {
    fn new(extra: &str) -> Fx {
        let env = Env::new(EnvOptions {
            self_urls: true,
            extra,
            ..EnvOptions::default()
        });
        env.init_dev();
        let key = openssl_key("p256");
        let csr = openssl_csr(env.dir.path(), "p256", SEAL_SUBJECT, &[]);
        let cert = env.path("seal.pem");
        env.issue_to("seal-signing", &csr, &cert, &[]);
        let (chain, _) = env.chain("seal");
        ok(
            &run(Command::new(tool("python3"))
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pdf_fixtures.py"))
                .arg(env.dir.path())),
            "pdf_fixtures.py",
        );
        let server = env.serve();
        let out = env.path("signed.pdf");
        ok(
            &env.sealpki(&[
                "pdf",
                "sign",
                "--in",
                env.path("contract.pdf").to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--key-file",
                key.to_str().unwrap(),
                "--cert",
                cert.to_str().unwrap(),
                "--chain",
                chain.to_str().unwrap(),
                "--image",
                env.path("seal.png").to_str().unwrap(),
                "--page",
                "1",
                "--at",
                "150,60",
                "--level",
                "b-lt",
            ]),
            "pdf sign",
        );
        let signed = std::fs::read(&out).unwrap();
        // Alter a signed byte (in ReportLab's document information) without moving anything.
        let mut tampered = signed.clone();
        let at = tampered
            .windows(9)
            .position(|w| w == b"ReportLab")
            .expect("ReportLab in the document");
        tampered[at] = b'X';
        Fx {
            _env: env,
            server,
            cert,
            signed,
            tampered,
        }
    }

    /// An SM2 party in this fixture's environment; (key, cert PEM).
    fn sm2_party(&self, name: &str, profile: &str, subj: &str) -> (PathBuf, PathBuf) {
        sm2_party(&self._env, name, profile, subj)
    }

    /// A GB/T 38540 seal (v4, the fixtures' seal picture) made by a maker of ours, and the holder's
    /// signature over `data`; (seal DER, signature DER).
    fn seal_and_signature(&self, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let env = &self._env;
        let (mk, mc) = self.sm2_party(
            "maker",
            "maker-production",
            "/C=CN/O=示例制章厂/CN=示例制章厂 制章",
        );
        let (hk, hc) = self.sm2_party("holder", "seal-signing", SEAL_SUBJECT);
        let (seal, sig, file) = (
            env.path("seal.ses"),
            env.path("contract.sig"),
            env.path("data.bin"),
        );
        std::fs::write(&file, data).unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_string();
        ok(
            &env.sealpki(&[
                "ses",
                "make",
                "--maker-key-file",
                &s(&mk),
                "--maker-cert",
                &s(&mc),
                "--name",
                "示例有限公司合同专用章",
                "--es-id",
                "3301060000001",
                "--image",
                &s(&env.path("seal.png")),
                "--signer-cert",
                &s(&hc),
                "--out",
                &s(&seal),
            ]),
            "ses make",
        );
        ok(
            &env.sealpki(&[
                "ses",
                "sign",
                "--seal",
                &s(&seal),
                "--key-file",
                &s(&hk),
                "--cert",
                &s(&hc),
                "--data",
                &s(&file),
                "--out",
                &s(&sig),
            ]),
            "ses sign",
        );
        (std::fs::read(seal).unwrap(), std::fs::read(sig).unwrap())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    fn serial(&self) -> String {
        let out = ok(
            &run(Command::new("openssl")
                .args(["x509", "-noout", "-serial", "-in"])
                .arg(&self.cert)),
            "openssl x509 -serial",
        );
        out.trim().trim_start_matches("serial=").to_string()
    }

    /// Upload a file; the 303's report URL.
    fn report_url(&self, file: &[u8]) -> String {
        let p = upload(&self.server.url, &[("file", "合同.pdf", file)], &[HTML]);
        assert_eq!(p.status, 303, "{}", p.body);
        let loc = p.header("location").expect("Location").to_string();
        assert!(loc.starts_with("/verify/report/"), "{loc}");
        self.url(&loc)
    }
}

#[test]
fn pages_are_localized_secured_and_errors_are_pages() {
    let fx = Fx::new("[limits]\npdf_verify = { per_second = 0.001, burst = 4 }\n");

    // Every page: zh-CN by default, English by Accept-Language, either by the cookie.
    let pages = [
        ("/", "首页", "Home"),
        ("/verify", "验证签章文件", "Verify a sealed file"),
    ];
    for (path, zh, en) in pages {
        let url = fx.url(path);
        fetch(&url, &[]).is_console_page(200, "zh-CN", zh);
        fetch(&url, &[("Accept-Language", "en-US,en;q=0.9")]).is_console_page(200, "en", en);
        fetch(&url, &[("Accept-Language", "en"), ("Cookie", "lang=zh-CN")])
            .is_console_page(200, "zh-CN", zh);
        fetch(&url, &[("Cookie", "a=b; lang=en")]).is_console_page(200, "en", en);
    }
    let home = fetch(&fx.url("/"), &[]);
    assert!(home.body.contains("电子印章平台") && home.body.contains("sealpki"));
    assert!(
        home.body.contains("href=\"/verify\"") && home.body.contains("href=\"/api/openapi.json\"")
    );
    let form = fetch(&fx.url("/verify"), &[]).body;
    for f in [
        "name=\"file\"",
        "name=\"data\"",
        "name=\"serial\"",
        "enctype=\"multipart/form-data\"",
        "<label for=\"file\">",
        "<label for=\"serial\">",
    ] {
        assert!(form.contains(f), "the form lacks {f}");
    }

    // The switch sets the cookie and returns to the page it was on (never elsewhere).
    let sw = fetch(&fx.url("/lang/en?next=%2Fverify%3Fserial%3D01"), &[]);
    assert_eq!(sw.status, 303);
    assert_eq!(sw.header("location"), Some("/verify?serial=01"));
    assert!(sw.header("set-cookie").unwrap().starts_with("lang=en;"));
    let sw = fetch(&fx.url("/lang/zh-CN?next=%2F%2Fevil.example"), &[]);
    assert_eq!(sw.header("location"), Some("/"));
    assert!(home.body.contains("href=\"/lang/en?next=/\""));

    // Static assets: hashed URLs, cached for a year; others 404.
    let css = home
        .body
        .split("href=\"")
        .find_map(|s| {
            s.split('"')
                .next()
                .filter(|u| u.starts_with("/static/style."))
        })
        .expect("style sheet link")
        .to_string();
    let s = fetch(&fx.url(&css), &[]);
    assert_eq!(s.status, 200);
    assert!(s.header("content-type").unwrap().starts_with("text/css"));
    assert!(s
        .header("cache-control")
        .unwrap()
        .contains("max-age=31536000"));
    assert!(home.body.contains("/static/htmx-2.0.11."));
    assert_eq!(fetch(&fx.url("/static/style.css"), &[]).status, 404);

    // 404: a page in the reader's language for browsers, problem+json for programs.
    fetch(&fx.url("/no/such/page"), &[HTML]).is_console_page(404, "zh-CN", "页面不存在");
    fetch(&fx.url("/no/such/page"), &[HTML, ("Accept-Language", "en")]).is_console_page(
        404,
        "en",
        "Page not found",
    );
    let api = fetch(&fx.url("/no/such/page"), &[]);
    assert_eq!(api.status, 404);
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
    // The API's own errors too: a browser asking for a login-only endpoint gets a page.
    let p = fetch(
        &fx.url("/api/v1/certificates"),
        &[HTML, ("Accept-Language", "en")],
    );
    p.is_console_page(401, "en", "Login required");
    fetch(
        &fx.url("/verify/report/00112233445566778899aabbccddeeff"),
        &[],
    )
    .is_console_page(404, "zh-CN", "页面不存在");

    // Certificates by serial: found (status good), unknown (404), malformed (400).
    let serial = fx.serial();
    let c = fetch(&fx.url(&format!("/verify?serial={serial}")), &[]);
    c.is_console_page(200, "zh-CN", "验证签章文件");
    assert!(c.body.contains("示例有限公司合同专用章"), "{}", c.body);
    assert!(c.body.contains("status-good") && c.body.contains("有效"));
    assert!(c.body.contains("CN=sealpki Development Seal CA") || c.body.contains("签发者"));
    let c = fetch(
        &fx.url(&format!("/verify?serial={}", serial.to_lowercase())),
        &[("Accept-Language", "en")],
    );
    assert!(c.body.contains("Good") && c.body.contains("seal-signing"));
    let c = fetch(&fx.url("/verify?serial=0BADC0FFEE"), &[]);
    c.is_console_page(404, "zh-CN", "验证签章文件");
    assert!(c.body.contains("本平台没有该序列号的证书"));
    let c = fetch(&fx.url("/verify?serial=xyz"), &[("Accept-Language", "en")]);
    assert_eq!(c.status, 400);
    assert!(c.body.contains("A serial is a hexadecimal number"));

    // Uploads: a signed PDF (valid), a tampered one (invalid), junk and nothing (400 form).
    let p = fetch(&fx.report_url(&fx.signed), &[]);
    p.is_console_page(200, "zh-CN", "验证报告");
    assert!(
        p.body.contains("verdict-valid") && p.body.contains("有效"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("<img src=\"data:image/png;base64,"),
        "no seal picture"
    );
    assert!(p.body.contains("示例有限公司"), "organisation");
    let json_link = p
        .body
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|u| u.ends_with("/json")))
        .expect("JSON link")
        .to_string();
    let j = fetch(&fx.url(&json_link), &[]);
    assert_eq!(j.status, 200);
    let j: serde_json::Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(j["verdict"], "valid");
    // The same report as the API's.
    let api: serde_json::Value = ureq::post(&fx.url("/api/v1/pdf/verify"))
        .send_bytes(&fx.signed)
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(api["verdict"], j["verdict"]);
    assert_eq!(api["signatures"][0]["checks"], j["signatures"][0]["checks"]);

    let bad = upload(
        &fx.server.url,
        &[("file", "x.pdf", &fx.tampered)],
        &[HTML, ("Accept-Language", "en")],
    );
    let loc = bad.header("location").expect("303").to_string();
    let bad = fetch(&fx.url(&loc), &[("Accept-Language", "en")]);
    bad.is_console_page(200, "en", "Verification report");
    assert!(bad.body.contains("verdict-invalid") && bad.body.contains("Invalid"));

    let junk = upload(&fx.server.url, &[("file", "a.txt", b"hello")], &[HTML]);
    junk.is_console_page(400, "zh-CN", "验证签章文件");
    assert!(junk.body.contains("无法识别该文件"));

    // The fifth upload from this address: the API's PDF bucket is empty (burst 4; 4 used above,
    // 3 here and 1 by the API), so the portal answers a localized 429 and the API a 429 too.
    let limited = upload(&fx.server.url, &[("file", "x.pdf", &fx.signed)], &[HTML]);
    limited.is_console_page(429, "zh-CN", "请求过于频繁");
    assert!(limited.header("retry-after").is_some());
    // (An empty body: the bucket is checked before the body is read, and a refused upload still
    // being sent could see its connection closed instead of the answer.)
    let e = ureq::post(&fx.url("/api/v1/pdf/verify")).send_bytes(b"");
    assert!(
        matches!(e, Err(ureq::Error::Status(429, _))),
        "the API after the portal's 429: {e:?}"
    );
}

#[test]
fn an_upload_over_64_mb_is_a_localized_413() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let server = env.serve();
    let big = env.path("big.pdf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    let page = env.path("413.html");
    let out = ok(
        &run(Command::new("curl")
            .args(["-s", "-o"])
            .arg(&page)
            .args([
                "-w",
                "%{http_code}",
                "-H",
                "Accept: text/html",
                "-H",
                "Accept-Language: en",
                "-F",
            ])
            .arg(format!("file=@{}", big.display()))
            .arg(format!("{}/verify/upload", server.url))),
        "curl",
    );
    assert_eq!(out.trim(), "413");
    let body = std::fs::read_to_string(&page).unwrap();
    assert!(body.contains("<title>File too large"), "{body}");
    assert!(body.contains("64 MB"));
}

// ---- headless Chromium ---------------------------------------------------------------------------

use common::chromium::{dom, screenshots_dir, shot};

#[test]
fn chromium_screenshots_of_every_page() {
    if !chromium::installed() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let fx = Fx::new("");
    let valid = fx.report_url(&fx.signed);
    let invalid = fx.report_url(&fx.tampered);
    let valid = valid.trim_start_matches(&fx.server.url).to_string();
    let invalid = invalid.trim_start_matches(&fx.server.url).to_string();
    let serial = format!("/verify?serial={}", fx.serial());
    // A GB/T 38540 signature with its data (valid), and the seal alone.
    let data = b"\xe5\x90\x88\xe5\x90\x8c v1".to_vec();
    let (seal, sig) = fx.seal_and_signature(&data);
    let p = upload(
        &fx.server.url,
        &[("file", "contract.sig", &sig), ("data", "data.bin", &data)],
        &[HTML],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let ses_sig = p.header("location").unwrap().to_string();
    let p = fetch(&fx.url(&ses_sig), &[]);
    p.is_console_page(200, "zh-CN", "验证报告");
    assert!(p.body.contains("电子签章") && p.body.contains("示例有限公司合同专用章"));
    assert!(p.body.contains("verdict-valid"), "{}", p.body);
    assert!(p.body.contains("<img src=\"data:image/png;base64,"));
    let j: serde_json::Value =
        serde_json::from_str(&fetch(&fx.url(&format!("{ses_sig}/json")), &[]).body).unwrap();
    assert_eq!(j["kind"], "signature");
    assert_eq!(j["verdict"], "valid");
    let p = upload(&fx.server.url, &[("file", "seal.ses", &seal)], &[HTML]);
    let ses_seal = p.header("location").unwrap().to_string();
    let p = fetch(&fx.url(&ses_seal), &[("Accept-Language", "en")]);
    assert!(
        p.body.contains("Electronic seal") && p.body.contains("Seal name"),
        "{}",
        p.body
    );

    // Chromium reads the verdict and shows the seal picture.
    let d = dom(&fx.server.url, &valid, "zh-CN");
    assert!(d.contains("verdict-valid") && d.contains("有效"), "{d}");
    assert!(d.contains("<img src=\"data:image/png;base64,"));
    let d = dom(&fx.server.url, &invalid, "en");
    assert!(d.contains("verdict-invalid") && d.contains("Invalid"));

    let dir = screenshots_dir();
    let pages = [
        ("home", "/".to_string()),
        ("verify", "/verify".to_string()),
        ("certificate", serial),
        ("report-valid", valid.clone()),
        ("report-invalid", invalid),
        ("report-ses-signature", ses_sig),
        ("report-ses-seal", ses_seal),
        ("404", "/no/such/page".to_string()),
    ];
    for (name, path) in &pages {
        for lang in ["zh-CN", "en"] {
            for (device, size) in [("phone", (390, 844)), ("desktop", (1280, 900))] {
                shot(
                    &fx.server.url,
                    path,
                    lang,
                    size,
                    &dir.join(format!("{name}-{lang}-{device}.png")),
                );
            }
        }
    }
    // The whole valid report, checks included, on a desktop and on a phone.
    for lang in ["zh-CN", "en"] {
        for (device, size) in [("desktop", (1280, 2400)), ("phone", (390, 3200))] {
            shot(
                &fx.server.url,
                &valid,
                lang,
                size,
                &dir.join(format!("report-valid-{lang}-{device}-full.png")),
            );
        }
    }
}

/// Certificates by serial on both databases: good, revoked (with time and reason), on hold.
#[test]
fn certificate_status_by_serial_on_both_databases() {
    let mut dbs = vec![Db::Sqlite];
    if let Some(url) = pg_database("web") {
        dbs.push(Db::Postgres(url));
    }
    for db in dbs {
        let env = Env::new(EnvOptions {
            db,
            ..EnvOptions::default()
        });
        env.init_dev();
        let mut serials = Vec::new();
        for i in 0..3 {
            let dir = env.path(&format!("c{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let csr = openssl_csr(
                &dir,
                "p256",
                &format!("/C=CN/O=示例有限公司/CN=印章{i}/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q"),
                &[],
            );
            let pem = dir.join("cert.pem");
            env.issue_to("seal-signing", &csr, &pem, &[]);
            let out = ok(
                &run(Command::new("openssl")
                    .args(["x509", "-noout", "-serial", "-in"])
                    .arg(&pem)),
                "openssl x509 -serial",
            );
            serials.push(out.trim().trim_start_matches("serial=").to_string());
        }
        ok(
            &env.sealpki(&["cert", "revoke", &serials[1], "--reason", "keyCompromise"]),
            "cert revoke",
        );
        ok(
            &env.sealpki(&["cert", "hold", &serials[2], "--comment", "lost"]),
            "cert hold",
        );
        let server = env.serve();
        let page = |s: &str, lang: &str| {
            let p = fetch(
                &format!("{}/verify?serial={s}", server.url),
                &[("Accept-Language", lang)],
            );
            p.is_console_page(200, lang, if lang == "en" { "Verify" } else { "验证" });
            p.body
        };
        let good = page(&serials[0], "zh-CN");
        assert!(
            good.contains("status-good") && good.contains("印章0"),
            "{good}"
        );
        let revoked = page(&serials[1], "en");
        assert!(revoked.contains("status-revoked") && revoked.contains("Revoked"));
        assert!(revoked.contains("keyCompromise") && revoked.contains("Revoked at"));
        let held = page(&serials[2], "zh-CN");
        assert!(
            held.contains("status-held") && held.contains("已暂停"),
            "{held}"
        );
    }
}

/// The console's flows in headless Chromium driven by Playwright (`tests/console_flows.py`):
/// register with an SMS code, log out and in, switch language, a staff login with TOTP, and the
/// portal's verdict and seal picture for an uploaded signed PDF; screenshots of each step.
#[test]
fn chromium_console_flows() {
    if !chromium::installed() {
        eprintln!("chromium is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let fx = Fx::new("");
    let pdf = fx._env.path("flow-signed.pdf");
    std::fs::write(&pdf, &fx.signed).unwrap();
    let out = run(Command::new(tool("python3"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console_flows.py"))
        .env("BASE", &fx.server.url)
        .env("SCREENSHOTS", screenshots_dir())
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SIGNED_PDF", &pdf));
    assert!(
        out.status.success(),
        "console flows:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The account pages at the HTML level: each public one answers 200 in the reader's language
/// with its form fields and no placeholders; the logged-in ones send a stranger to the login; a
/// wrong password is a 401 page in Chinese; a cross-site form post is refused with a page.
#[test]
fn account_pages_html() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let srv = env.serve();
    for (path, title, fields) in [
        (
            "/login",
            "登录",
            &["name=\"username\"", "name=\"password\"", "name=\"totp\""][..],
        ),
        (
            "/register",
            "注册个人账号",
            &[
                "name=\"real_name\"",
                "name=\"resident_id\"",
                "name=\"mobile\"",
                "name=\"code\"",
            ][..],
        ),
        (
            "/password-reset",
            "重置密码",
            &["name=\"mobile\"", "name=\"code\""][..],
        ),
    ] {
        let p = fetch(&format!("{}{path}", srv.url), &[HTML]);
        p.is_console_page(200, "zh-CN", title);
        for f in fields {
            assert!(p.body.contains(f), "{path} has {f}");
        }
        assert!(p.body.contains("<label for="), "{path} labels its fields");
    }
    let p = fetch(
        &format!("{}/login", srv.url),
        &[HTML, ("Accept-Language", "en")],
    );
    p.is_console_page(200, "en", "Log in");
    for path in ["/home", "/account"] {
        let r = agent().get(&format!("{}{path}", srv.url)).call().unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.header("location"), Some("/login"), "{path}");
    }
    let form = |origin: Option<&str>| {
        let mut req = agent()
            .post(&format!("{}/login", srv.url))
            .set("Accept", "text/html")
            .set("Content-Type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.set("Origin", o);
        }
        match req.send_string("username=admin&password=wrong&totp=") {
            Ok(r) => read(r),
            Err(ureq::Error::Status(_, r)) => read(r),
            Err(e) => panic!("{e}"),
        }
    };
    let p = form(Some(&srv.url));
    p.is_console_page(401, "zh-CN", "登录");
    assert!(p.body.contains("不正确"), "{}", p.body);
    let p = form(Some("https://evil.example"));
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.header("content-type").unwrap().starts_with("text/html"));

    // The logged-in pages, with a staff session in the cookie, in both languages.
    let token = srv.login();
    let cookie = format!("sealpki_session={token}");
    for (path, zh, en, fields) in [
        ("/home", "工作台", "Workspace", &["action=\"/logout\""][..]),
        (
            "/account",
            "账号设置",
            "Account settings",
            &["name=\"current\"", "name=\"password\""][..],
        ),
        ("/orgs", "单位", "Organisations", &["name=\"q\""][..]),
        (
            "/orgs/new",
            "登记单位",
            "Register an organisation",
            &["name=\"credit_code\"", "name=\"region\"", "name=\"kind\""][..],
        ),
        ("/notifications", "消息中心", "Notifications", &[][..]),
        ("/orders", "我的订单", "My orders", &[][..]),
        (
            "/addresses",
            "收货地址",
            "Shipping addresses",
            &["name=\"mobile\"", "name=\"region\"", "name=\"is_default\""][..],
        ),
    ] {
        for (lang, title) in [("zh-CN", zh), ("en", en)] {
            let p = fetch(
                &format!("{}{path}", srv.url),
                &[HTML, ("Cookie", &cookie), ("Accept-Language", lang)],
            );
            p.is_console_page(200, lang, title);
            for f in fields {
                assert!(p.body.contains(f), "{path} has {f}");
            }
        }
    }
    // A organisation that does not exist is a 404 page, not an error body.
    let p = fetch(
        &format!("{}/orgs/nosuch", srv.url),
        &[HTML, ("Cookie", &cookie)],
    );
    p.is_console_page(404, "zh-CN", "");
}
