//! Apps in tests: requests signed by the docs' script (`scripts/app_request.py --dry-run` makes
//! the headers; the test sends them), multipart bodies, the checks by others of a sealed PDF,
//! and a world with a cloud seal, a seal administrator, an app and its API key.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use super::*;

pub struct Caller {
    pub app: String,
    pub key: String,
    pub secret: PathBuf,
    pub base: String,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Caller {
    /// A request signed by the docs' script, sent as signed.
    pub fn call(&self, method: &str, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Answer {
        let signed = self.sign(method, path, body);
        self.send(method, path, &signed, body, extra)
    }

    /// The headers the docs' script signs a request with (a fresh nonce each time).
    pub fn sign(&self, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let url = format!("{}{path}", self.base);
        let file = self
            .secret
            .with_extension(format!("body-{}", rand_suffix()));
        std::fs::write(&file, body).unwrap();
        let out = run(Command::new(tool("python3"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/app_request.py"))
            .args([
                "--url", &url, "--app", &self.app, "--key", &self.key, "-X", method,
            ])
            .arg("--secret-file")
            .arg(&self.secret)
            .arg("--data-file")
            .arg(&file)
            .arg("--dry-run"));
        let _ = std::fs::remove_file(&file);
        let text = ok(&out, "app_request.py --dry-run");
        text.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Send a request with the headers `sign` made (again, for a replay).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        signed: &[(String, String)],
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::request(method, &url);
        for (k, v) in signed {
            req = req.set(k, v);
        }
        for (k, v) in extra {
            req = req.set(k, v);
        }
        let r = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        answer(r)
    }
}

/// An HTTP answer read whole.
pub fn answer(r: ureq::Response) -> Answer {
    let status = r.status();
    let headers = r
        .headers_names()
        .into_iter()
        .filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn api_post(api: &str, path: &str, tok: &str, body: Value) -> (u16, Value) {
    let (s, v, _) = post(&format!("{api}{path}"), Some(tok), &body.to_string());
    (s, v)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A multipart body with a `pdf` part and a `request` part.
pub fn multipart(pdf: &[u8], request: &Value) -> (String, Vec<u8>) {
    let b = "sealpki-test-boundary-7f3a";
    let mut body = Vec::new();
    body.extend(
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"request\"\r\n\
             Content-Type: application/json\r\n\r\n{request}\r\n--{b}\r\n\
             Content-Disposition: form-data; name=\"pdf\"; filename=\"contract.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(pdf);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

/// A multipart body of `parts`: (name, content type, bytes).
pub fn multipart_parts(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let b = "sealpki-test-boundary-9c2e";
    let mut body = Vec::new();
    for (name, ct, bytes) in parts {
        body.extend(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
                 Content-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

/// pdfsig against our roots: every signature valid and trusted.
pub fn pdfsig_ok(env: &Env, file: &Path, signatures: usize) {
    let (_, root) = env.chain("seal");
    let nss = env.path(&format!("nss-{}", rand_suffix()));
    std::fs::create_dir_all(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    ok(
        &run(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"])),
        "certutil -N",
    );
    ok(
        &run(Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "root", "-t", "CT,C,C", "-i"])
            .arg(&root)),
        "certutil -A",
    );
    let out = run(Command::new("pdfsig").args(["-nssdir", &db]).arg(file));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        t.matches("Signature Validation: Signature is Valid.")
            .count(),
        signatures,
        "pdfsig: {t}"
    );
    // pdfsig lists each further widget's field as a signature of its own and checks the
    // certificate of the first only (the others say "Unknown issue" once NSS has cached the
    // first's revocation check); pyHanko below checks the one signature's chain fully.
    assert!(
        t.contains("Certificate Validation: Certificate is Trusted."),
        "pdfsig: {t}"
    );
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(file));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && said.contains("INTACT:TRUSTED"),
        "pyhanko: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new("qpdf").arg("--check").arg(file));
    assert!(
        out.status.success(),
        "qpdf --check: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A seal world (`seal_world`) plus a seal administrator of the unit, a cloud seal, an app owned
/// by the applicant with an API key, and (with `grant`) the seal authorized to the app.
pub struct AppWorld {
    pub w: SealWorld,
    pub api: String,
    pub sa: String,
    pub sa_tok: String,
    pub seal: String,
    pub app: String,
    pub c: Caller,
}

pub fn app_world(env: &Env, srv: &Server, prefix: &str, extra_app: Value) -> AppWorld {
    let w = seal_world(env, srv, prefix);
    w.unified_payment();
    let api = w.api.clone();
    let (sa, sa_tok) = register_person(env, srv, &format!("{prefix}3"), "33010619800101013");
    let (s, v) = api_post(
        &api,
        &format!("/organisations/{}/members", w.unit),
        &w.admin,
        json!({"username": sa, "role": "seal-admin"}),
    );
    assert_eq!(s, 201, "{v}");
    let (seal, _code) = w.cloud_seal(&w.applicant_tok, &w.unit, "杭州示例科技有限公司合同专用章");
    let mut body = json!({"name": "合同管理系统", "kind": "cloud-signing",
        "supervising_org_id": w.bureau, "developer_org_id": w.unit, "owner": w.applicant});
    if let (Some(b), Some(x)) = (body.as_object_mut(), extra_app.as_object()) {
        b.extend(x.clone());
    }
    let (s, v) = api_post(&api, "/apps", &w.admin, body);
    assert_eq!(s, 201, "{v}");
    let app = v["id"].as_str().unwrap().to_string();
    let (s, v) = api_post(
        &api,
        &format!("/apps/{app}/credentials"),
        &w.applicant_tok,
        json!({"kind": "hmac-sha256", "label": "production"}),
    );
    assert_eq!(s, 201, "{v}");
    let secret = env.path("app.secret");
    std::fs::write(&secret, v["secret"].as_str().unwrap()).unwrap();
    let c = Caller {
        app: app.clone(),
        key: v["key_id"].as_str().unwrap().to_string(),
        secret,
        base: api.clone(),
    };
    AppWorld {
        w,
        api,
        sa,
        sa_tok,
        seal,
        app,
        c,
    }
}

/// Authorize the world's seal to its app for 30 days.
pub fn grant(aw: &AppWorld) {
    let (s, v) = api_post(
        &aw.api,
        "/app-grants",
        &aw.sa_tok,
        json!({"app_id": aw.app, "seal_ids": [aw.seal], "valid_until": now() + 30 * 86_400}),
    );
    assert!(s == 200 || s == 201, "{v}");
}
