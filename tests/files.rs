//! Uploaded files end to end on SQLite and PostgreSQL, over real HTTP: raw and multipart uploads,
//! deduplicated content (one object for two records), downloads equal to the upload with
//! attachment headers, and every refusal — a renamed file, a wrong Content-Type, a type the purpose
//! does not take, an oversized upload, a decompression-bomb PNG, no login — a precise problem+json
//! with nothing stored (no record, no object); another operator's download refused.

mod common;
use common::*;

use serde_json::Value;
use sha2::Digest;

/// The reply to an upload or download: status, headers we look at, body.
struct Reply {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn reply(r: ureq::Response) -> Reply {
    let status = r.status();
    let content_type = r.header("content-type").unwrap_or_default().to_string();
    let headers = r
        .headers_names()
        .into_iter()
        .map(|k| {
            let v = r.header(&k).unwrap_or_default().to_string();
            (k, v)
        })
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

fn send(req: ureq::Request, body: &[u8]) -> Reply {
    match req.send_bytes(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => reply(r),
        Err(e) => panic!("request failed: {e}"),
    }
}

/// `%XX` for every byte outside printable ASCII (and `%` itself), as `X-File-Name` carries names.
fn pct(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_graphic() && b != b'%' || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A raw upload: the body is the file, named by `X-File-Name` (percent-encoded UTF-8).
fn upload_raw(
    srv: &Server,
    token: Option<&str>,
    purpose: &str,
    name: &str,
    ct: &str,
    data: &[u8],
) -> Reply {
    let mut req = ureq::post(&format!("{}/api/v1/files?purpose={purpose}", srv.url))
        .set("Content-Type", ct)
        .set("X-File-Name", &pct(name));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    send(req, data)
}

/// A multipart/form-data upload with one file part.
fn upload_multipart(
    srv: &Server,
    token: &str,
    purpose: &str,
    name: &str,
    ct: &str,
    data: &[u8],
) -> Reply {
    let boundary = "sealpki-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = ureq::post(&format!("{}/api/v1/files?purpose={purpose}", srv.url))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .set("Authorization", &format!("Bearer {token}"));
    send(req, &body)
}

fn download_url(url: &str) -> Reply {
    match ureq::get(url).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => reply(r),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn download(srv: &Server, token: Option<&str>, path: &str) -> Reply {
    let mut req = ureq::get(&format!("{}{path}", srv.url));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => reply(r),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

fn image(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A decompression bomb: `w`×`h` one-bit black pixels, written row by row (never held whole).
fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; (w as usize).div_ceil(8)];
        for _ in 0..h {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

/// Where the server keeps objects: the data directory, or a bucket on a moto S3 server.
enum Objects {
    Local,
    S3 { url: String, bucket: String },
}

/// The stored objects' SHA-256s, sorted.
fn objects(env: &Env, store: &Objects) -> Vec<String> {
    match store {
        Objects::Local => local_objects(env),
        Objects::S3 { url, bucket } => {
            assert!(
                !env.path("objects").exists(),
                "an S3-backed server wrote objects locally"
            );
            let r = download_url(&format!("{url}/{bucket}?list-type=2"));
            let xml = String::from_utf8(r.body).unwrap();
            let mut keys: Vec<String> = xml
                .split("<Key>")
                .skip(1)
                .filter_map(|k| k.split_once("</Key>"))
                .map(|(k, _)| {
                    k.strip_prefix("objects/")
                        .unwrap_or_else(|| panic!("object outside the prefix: {k}"))
                        .replace('/', "")
                })
                .collect();
            keys.sort();
            keys
        }
    }
}

/// Object files under `<data_dir>/objects` (not counting the temporary directory).
fn local_objects(env: &Env) -> Vec<String> {
    let root = env.path("objects");
    let mut found = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return found;
    };
    for d in dirs {
        let d = d.unwrap();
        if d.file_name() == "tmp" {
            assert_eq!(
                std::fs::read_dir(d.path()).unwrap().count(),
                0,
                "temporary files left behind"
            );
            continue;
        }
        for f in std::fs::read_dir(d.path()).unwrap() {
            let f = f.unwrap();
            found.push(format!(
                "{}{}",
                d.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    found
}

fn file_rows(env: &Env) -> i64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = sealpki::store::Store::open(&db_url(env), None, None)
            .await
            .unwrap();
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) FROM files")
                .fetch_one(store.pool())
                .await
                .unwrap(),
            0,
        )
        .unwrap();
        store.close().await;
        n
    })
}

fn problem(r: &Reply, status: u16, kind: &str, words: &[&str]) {
    let v = r.json();
    assert_eq!(r.status, status, "{v}");
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(
        v["type"],
        format!("https://sealpki.dev/problems/{kind}"),
        "{v}"
    );
    let detail = v["detail"].as_str().unwrap_or_default();
    for w in words {
        assert!(detail.contains(w), "{detail:?} lacks {w:?}");
    }
}

fn suite(env: &Env, store: &Objects) {
    env.init_dev();
    let srv = env.serve();
    let admin = srv.login();
    let alice = srv.new_staff(&admin, "alice", "operator");
    let bob = srv.new_staff(&admin, "bob", "operator");
    let auditor = srv.new_staff(&admin, "audrey", "auditor");

    // A seal picture, raw body.
    let seal = image(image::ImageFormat::Png, 120, 80);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "seal-impression",
        "公章.png",
        "image/png",
        &seal,
    );
    let v = r.json();
    assert_eq!(r.status, 201, "{v}");
    let sha = hex::encode(sha2::Sha256::digest(&seal));
    assert_eq!(v["sha256"], sha);
    assert_eq!(v["size"], seal.len());
    assert_eq!(v["media_type"], "image/png");
    assert_eq!(v["purpose"], "seal-impression");
    assert_eq!(v["uploaded_by"], "alice");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/files/{id}").as_str())
    );
    assert_eq!(objects(env, store), vec![sha.clone()]);

    // The same content again, multipart, by someone else: a record of its own, one object.
    let r = upload_multipart(&srv, &bob, "attachment", "copy.PNG", "image/png", &seal);
    let v = r.json();
    assert_eq!(r.status, 201, "{v}");
    assert_eq!(v["sha256"], sha);
    let bob_id = v["id"].as_str().unwrap().to_string();
    assert_ne!(bob_id, id);
    assert_eq!(objects(env, store), vec![sha.clone()], "deduplicated");
    assert_eq!(file_rows(env), 2);

    // Download: the same bytes, as an attachment of the stored type, not to be sniffed.
    let r = download(&srv, Some(&alice), &format!("/api/v1/files/{id}/content"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, seal);
    assert_eq!(r.content_type, "image/png");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let cd = r.header("content-disposition").unwrap();
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(
        cd.contains("filename*=UTF-8''%E5%85%AC%E7%AB%A0.png"),
        "{cd}"
    );
    let r = download(&srv, Some(&alice), &format!("/api/v1/files/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "公章.png");

    // Who may read: the uploader, administrators, auditors; not another operator.
    for (who, token, want) in [
        ("bob", &bob, 403),
        ("admin", &admin, 200),
        ("auditor", &auditor, 200),
    ] {
        let r = download(&srv, Some(token), &format!("/api/v1/files/{id}/content"));
        assert_eq!(
            r.status,
            want,
            "{who}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let r = download(&srv, Some(token), &format!("/api/v1/files/{id}"));
        assert_eq!(r.status, want, "{who}");
    }
    let r = download(&srv, Some(&bob), &format!("/api/v1/files/{id}"));
    problem(&r, 403, "forbidden", &["another operator"]);
    let r = download(&srv, Some(&bob), &format!("/api/v1/files/{bob_id}/content"));
    assert_eq!(r.status, 200);
    let r = download(
        &srv,
        Some(&alice),
        &format!("/api/v1/files/{}", "0".repeat(32)),
    );
    assert_eq!(r.status, 404);
    let r = download(
        &srv,
        Some(&alice),
        "/api/v1/files/..%2F..%2Fsealpki.db/content",
    );
    assert_eq!(r.status, 404);

    // A scan as PDF, and as JPEG.
    let pdf = minimal_pdf();
    let r = upload_multipart(
        &srv,
        &alice,
        "application-scan",
        "申请表.pdf",
        "application/pdf",
        &pdf,
    );
    assert_eq!(r.status, 201, "{}", r.json());
    assert_eq!(r.json()["media_type"], "application/pdf");
    let jpeg = image(image::ImageFormat::Jpeg, 200, 300);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "application-scan",
        "scan.jpeg",
        "image/jpeg",
        &jpeg,
    );
    assert_eq!(r.status, 201, "{}", r.json());
    let stored = objects(env, store);
    let rows = file_rows(env);
    assert_eq!((stored.len(), rows), (3, 4));

    // Refusals: each a precise problem, and nothing stored or changed.
    let r = upload_raw(
        &srv,
        Some(&alice),
        "seal-impression",
        "seal.png",
        "image/png",
        &jpeg,
    );
    problem(
        &r,
        422,
        "content-mismatch",
        &["JPEG", "\"seal.png\"", "PNG"],
    );
    let r = upload_multipart(
        &srv,
        &alice,
        "seal-impression",
        "seal.png",
        "image/jpeg",
        &seal,
    );
    problem(&r, 422, "content-mismatch", &["PNG", "image/jpeg"]);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "seal-impression",
        "scan.pdf",
        "application/pdf",
        &pdf,
    );
    problem(
        &r,
        415,
        "unsupported-media-type",
        &["seal-impression", "PDF"],
    );
    let r = upload_raw(
        &srv,
        Some(&alice),
        "attachment",
        "notes.txt",
        "text/plain",
        b"hello",
    );
    problem(&r, 415, "unsupported-media-type", &["not a PNG"]);
    let mut big = seal.clone();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "signature-drawing",
        "sig.png",
        "image/png",
        &big,
    );
    problem(&r, 413, "file-too-large", &["signature-drawing", "2097152"]);
    let r = upload_multipart(
        &srv,
        &alice,
        "signature-drawing",
        "sig.png",
        "image/png",
        &big,
    );
    problem(&r, 413, "file-too-large", &["signature-drawing"]);
    let bomb = bomb_png(20_000, 20_000);
    assert!(bomb.len() < 256 * 1024, "{} bytes", bomb.len());
    let r = upload_raw(
        &srv,
        Some(&alice),
        "attachment",
        "bomb.png",
        "image/png",
        &bomb,
    );
    problem(&r, 422, "image-too-large", &["20000×20000", "40000000"]);
    let r = upload_multipart(
        &srv,
        &alice,
        "application-scan",
        "bomb.png",
        "image/png",
        &bomb,
    );
    problem(&r, 422, "image-too-large", &["20000×20000"]);
    let mut broken = seal.clone();
    broken.truncate(seal.len() - 40);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "attachment",
        "broken.png",
        "image/png",
        &broken,
    );
    problem(&r, 422, "unreadable-file", &["PNG"]);
    let r = upload_raw(
        &srv,
        Some(&alice),
        "passport",
        "seal.png",
        "image/png",
        &seal,
    );
    problem(&r, 400, "bad-upload", &["passport"]);
    let r = upload_raw(&srv, None, "attachment", "seal.png", "image/png", &seal);
    assert_eq!(r.status, 401);
    let r = download(&srv, None, &format!("/api/v1/files/{id}/content"));
    assert_eq!(r.status, 401);
    assert_eq!(
        objects(env, store),
        stored,
        "a refused upload stores no object"
    );
    assert_eq!(file_rows(env), rows, "a refused upload stores no record");

    // One audit entry per accepted upload, by the uploader.
    let uploads: Vec<_> = audit_log(env)
        .into_iter()
        .filter(|(_, a, _)| a == "file.upload")
        .collect();
    assert_eq!(uploads.len(), 4);
    assert_eq!(uploads[0].0, "alice");
    assert_eq!(uploads[0].2["sha256"], sha);
}

#[test]
fn files_on_sqlite() {
    suite(&Env::new(EnvOptions::default()), &Objects::Local);
}

#[test]
fn files_on_postgres() {
    let Some(url) = pg_database("files") else {
        return;
    };
    let env = Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    });
    suite(&env, &Objects::Local);
}

/// A moto S3 server (PyPI `moto[server]`, installed by scripts/test.sh) on a free port; killed on
/// drop. None (skip) when it is not installed, unless the full harness runs (SEALPKI_REQUIRE_PG).
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    let port = free_port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("SEALPKI_REQUIRE_PG").is_err(),
                "moto_server: {e} (scripts/test.sh installs moto[server])"
            );
            eprintln!("SKIP: no moto_server (run through scripts/test.sh)");
            return None;
        }
    };
    let m = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ureq::get(&m.url).call().is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "moto_server did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some(m)
}

const S3_SECRET: &str = "s3-secret-that-must-never-be-logged";

/// `[files]` for a bucket on `moto`, its credentials in files beside the config.
fn s3_config(moto: &Moto, bucket: &str, dir: &std::path::Path) -> String {
    let r = ureq::put(&format!("{}/{bucket}", moto.url)).call();
    assert!(r.is_ok(), "create bucket: {r:?}");
    let (id, secret) = (dir.join("s3-id"), dir.join("s3-secret"));
    std::fs::write(&id, "AKIDTESTFILES\n").unwrap();
    std::fs::write(&secret, format!("{S3_SECRET}\n")).unwrap();
    format!(
        "[files]\nstore = \"s3\"\n[files.s3]\nbucket = {bucket:?}\nendpoint = {:?}\nallow_http = true\n\
         access_key_id_file = {:?}\nsecret_access_key_file = {:?}\n",
        moto.url,
        id.display().to_string(),
        secret.display().to_string()
    )
}

/// The same suite with the content in S3 (moto): the same answers, objects in the bucket, none on
/// local disk, and the secret in no log.
#[test]
fn files_on_s3() {
    let Some(moto) = moto() else {
        return;
    };
    let creds = tempfile::tempdir().unwrap();
    let extra = s3_config(&moto, "sealpki-files", creds.path());
    let env = Env::new(EnvOptions {
        extra: &extra,
        ..Default::default()
    });
    suite(
        &env,
        &Objects::S3 {
            url: moto.url.clone(),
            bucket: "sealpki-files".into(),
        },
    );
    let mut logs = 0;
    for f in std::fs::read_dir(env.dir.path()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "log") {
            let log = std::fs::read_to_string(&f).unwrap_or_default();
            assert!(
                !log.contains(S3_SECRET),
                "{} holds the S3 secret",
                f.display()
            );
            logs += 1;
        }
    }
    assert!(logs > 0, "no server log to look at");
}

/// `S3Store` on its own: put is idempotent, get checks the hash, exists and delete.
#[test]
fn s3_store_against_moto() {
    use sealpki::files::{ObjectKey, ObjectStore, S3Store};
    let Some(moto) = moto() else {
        return;
    };
    let creds = tempfile::tempdir().unwrap();
    let extra = s3_config(&moto, "direct", creds.path());
    let cfg: toml::Value = toml::from_str(&extra).unwrap();
    let s3: sealpki::config::S3Config = cfg["files"]["s3"].clone().try_into().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = S3Store::open(&s3).unwrap();
        assert!(!format!("{store:?}").contains(S3_SECRET));
        let data = axum::body::Bytes::from_static(b"a seal picture, more or less");
        let key = ObjectKey::of(&data);
        assert!(!store.exists(key).await.unwrap());
        assert!(store.get(key).await.unwrap().is_none());
        assert!(store.put(key, data.clone()).await.unwrap());
        assert!(!store.put(key, data.clone()).await.unwrap(), "idempotent");
        assert!(store.exists(key).await.unwrap());
        assert_eq!(store.get(key).await.unwrap().unwrap(), data);
        let other = ObjectKey::of(b"something else");
        assert!(
            store.put(other, data.clone()).await.is_err(),
            "key must be the hash"
        );
        assert!(store.delete(key).await.unwrap());
        assert!(!store.delete(key).await.unwrap());
        assert!(!store.exists(key).await.unwrap());
    });
    // Half a pair of credentials is a configuration error, said without the secret.
    if std::env::var("SEALPKI_S3_ACCESS_KEY_ID").is_err() {
        let mut half = s3.clone();
        half.access_key_id_file = None;
        let e = S3Store::open(&half).unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
        assert!(!e.contains(S3_SECRET), "{e}");
    }
}
