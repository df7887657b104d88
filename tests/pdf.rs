//! PAdES end to end: documents from real producers (ReportLab, qpdf variants, pyHanko-signed) sealed by
//! `sealpki pdf sign` with a certificate from our seal CA, then checked by tools we did not write —
//! `pdfsig` with an NSS database trusting our root, `pyhanko sign validate`, `qpdf --check`, and the
//! page rendered by `pdftoppm` to see the seal where it was asked to be — and by `sealpki pdf verify`,
//! which must agree with pyHanko and catch the classic attacks.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

use sealpki_pki::pdf::object::{Dict, Object};
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::update::Update;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Fx {
    env: Env,
    /// Serves the CRLs and OCSP answers the certificates point at (pdfsig asks OCSP).
    server: Server,
    key: PathBuf,
    cert: PathBuf,
    chain: PathBuf,
    root: PathBuf,
    nss: PathBuf,
}

impl Fx {
    fn new() -> Fx {
        Fx::with(EnvOptions::default())
    }

    fn with(opts: EnvOptions<'_>) -> Fx {
        let env = Env::new(EnvOptions {
            self_urls: true,
            ..opts
        });
        env.init_dev();
        let key = openssl_key("p256");
        let csr = openssl_csr(
            env.dir.path(),
            "p256",
            "/C=CN/O=示例有限公司/CN=示例有限公司合同专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
            &[],
        );
        let cert = env.path("seal.pem");
        env.issue_to("seal-signing", &csr, &cert, &[]);
        let (chain, root) = env.chain("seal");
        let nss = env.path("nss");
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
        // The seal CA and the signer as known (not trusted) certificates: poppler 22.12 reports
        // "Unknown issue" for the second of two signatures by the same certificate when NSS only
        // has it from the signatures — documents signed twice by pyHanko alone too — a quirk of its
        // NSS use, not of the signatures. Trust still comes from the root alone.
        for (nick, pem) in [("seal-ca", first_cert(&chain)), ("signer", cert.clone())] {
            ok(
                &run(Command::new("certutil")
                    .args(["-A", "-d", &db, "-n", nick, "-t", ",,", "-i"])
                    .arg(&pem)),
                "certutil -A",
            );
        }
        ok(
            &run(Command::new(tool("python3"))
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pdf_fixtures.py"))
                .arg(env.dir.path())),
            "pdf_fixtures.py",
        );
        let server = env.serve();
        Fx {
            env,
            server,
            key,
            cert,
            chain,
            root,
            nss,
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.env.path(name)
    }

    fn sign(&self, input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
        let key = self.key.display().to_string();
        let cert = self.cert.display().to_string();
        self.sign_as(&["--key-file", &key, "--cert", &cert], input, out, extra)
    }

    /// `pdf sign` with the given key and certificate arguments.
    fn sign_as(
        &self,
        who: &[&str],
        input: &Path,
        out: &Path,
        extra: &[&str],
    ) -> std::process::Output {
        let mut args: Vec<String> = vec!["pdf".into(), "sign".into(), "--in".into()];
        args.push(input.display().to_string());
        args.push("--out".into());
        args.push(out.display().to_string());
        args.extend(who.iter().map(|s| s.to_string()));
        args.extend(["--chain".into(), self.chain.display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        run(self.env.cmd().args(&args))
    }

    fn sign_ok(&self, input: &Path, out: &Path, extra: &[&str]) {
        ok(
            &self.sign(input, out, extra),
            &format!("pdf sign {}", input.display()),
        );
    }

    /// pdfsig: every signature valid and its certificate trusted; returns the report.
    fn pdfsig_all_valid(&self, file: &Path, password: Option<&str>, count: usize) -> String {
        let mut c = Command::new("pdfsig");
        c.arg("-nssdir").arg(format!("sql:{}", self.nss.display()));
        if let Some(p) = password {
            c.args(["-upw", p]);
        }
        let out = run(c.arg(file));
        let t = text(&out);
        assert_eq!(
            t.matches("Signature Validation: Signature is Valid.")
                .count(),
            count,
            "pdfsig on {}:\n{t}",
            file.display()
        );
        assert_eq!(
            t.matches("Certificate Validation: Certificate is Trusted.")
                .count(),
            count,
            "pdfsig on {}:\n{t}",
            file.display()
        );
        t
    }

    /// `pyhanko sign validate` summary lines, one per signature.
    fn pyhanko(&self, file: &Path, password: Option<&str>, extra: &[&str]) -> (bool, String) {
        let mut c = Command::new(tool("pyhanko"));
        c.args(["sign", "validate", "--trust"]).arg(&self.root);
        c.args(["--trust-replace"]);
        if let Some(p) = password {
            c.args(["--password", p]);
        }
        c.args(extra);
        let out = run(c.arg(file));
        (out.status.success(), text(&out))
    }

    /// `pyhanko sign adesverify` (ETSI EN 319 102-1 validation, revocation data required): the one
    /// pyHanko command that reads the DSS — `sign validate` builds its revocation data from network
    /// fetches alone (pyHanko 0.38 has no `--ltv-profile` any more), so `--force-revinfo` there
    /// cannot pass with every server stopped, whatever the document holds.
    fn pyhanko_ades(&self, file: &Path) -> (bool, String) {
        let mut c = Command::new(tool("pyhanko"));
        c.args(["sign", "adesverify", "--trust"]).arg(&self.root);
        c.args(["--trust-replace"]);
        let out = run(c.arg(file));
        (out.status.success(), text(&out))
    }

    /// `pdf verify --extract-images` into a new folder `dir`; returns the folder.
    fn extract_images(&self, file: &Path, dir: &str) -> PathBuf {
        let out = self.p(dir);
        ok(
            &run(self
                .env
                .cmd()
                .args(["pdf", "verify", "--trust"])
                .arg(&self.root)
                .arg(file)
                .arg("--extract-images")
                .arg(&out)),
            "pdf verify --extract-images",
        );
        out
    }

    fn qpdf_clean(&self, file: &Path, password: Option<&str>) {
        let mut c = Command::new("qpdf");
        if let Some(p) = password {
            c.arg(format!("--password={p}"));
        }
        let out = run(c.arg("--check").arg(file));
        assert!(
            out.status.success() && text(&out).contains("No syntax or stream encoding errors"),
            "qpdf --check {}: {}",
            file.display(),
            text(&out)
        );
    }

    fn ours(&self, file: &Path, password: Option<&str>) -> (i32, serde_json::Value) {
        let mut c = self.env.cmd();
        c.args(["--json", "pdf", "verify", "--trust"])
            .arg(&self.root);
        if let Some(p) = password {
            c.args(["--password", p]);
        }
        let out = run(c.arg(file));
        let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code().unwrap_or(-1), v)
    }
}

/// The page rendered at 72 dpi (1 px = 1 pt) as RGB rows.
fn render(file: &Path, page: usize, password: Option<&str>) -> (usize, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("page");
    let mut c = Command::new("pdftoppm");
    if let Some(p) = password {
        c.args(["-upw", p]);
    }
    let p = page.to_string();
    ok(
        &run(c
            .args(["-r", "72", "-f", &p, "-l", &p, "-singlefile"])
            .arg(file)
            .arg(&base)),
        "pdftoppm",
    );
    let data = std::fs::read(base.with_extension("ppm")).unwrap();
    // P6\n<w> <h>\n255\n<rgb…>
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[s..i]).to_string());
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[i + 1..].to_vec())
}

fn pixel(img: &(usize, usize, Vec<u8>), x: f64, y: f64) -> [u8; 3] {
    let (w, _, d) = img;
    let i = (y as usize * w + x as usize) * 3;
    [d[i], d[i + 1], d[i + 2]]
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 150 && p[1] < 110 && p[2] < 110
}

fn is_white(p: [u8; 3]) -> bool {
    p.iter().all(|c| *c > 230)
}

const MM: f64 = 72.0 / 25.4;

#[test]
fn documents_from_real_producers_are_sealed_and_accepted_by_pdfsig_pyhanko_qpdf() {
    let fx = Fx::new();
    let src = fx.p("contract.pdf");
    // qpdf variants of the same document.
    let variants: &[(&str, &[&str], Option<&str>)] = &[
        ("objstm.pdf", &["--object-streams=generate"], None),
        ("pdf20.pdf", &["--force-version=2.0"], None),
        ("linearized.pdf", &["--linearize"], None),
        (
            "linearized-objstm.pdf",
            &["--linearize", "--object-streams=generate"],
            None,
        ),
        (
            "aes256.pdf",
            &["--encrypt", "user", "owner", "256", "--"],
            Some("user"),
        ),
        (
            "aes128.pdf",
            &["--encrypt", "user", "owner", "128", "--use-aes=y", "--"],
            Some("user"),
        ),
        (
            "rc4.pdf",
            &[
                "--allow-weak-crypto",
                "--encrypt",
                "user",
                "owner",
                "128",
                "--use-aes=n",
                "--",
            ],
            Some("user"),
        ),
        (
            "aes256-owner.pdf",
            &[
                "--object-streams=generate",
                "--encrypt",
                "",
                "owner",
                "256",
                "--",
            ],
            None,
        ),
    ];
    let mut inputs: Vec<(PathBuf, Option<&str>)> = vec![(src.clone(), None)];
    for (name, args, pw) in variants {
        let out = fx.p(name);
        ok(
            &run(Command::new("qpdf").args(*args).arg(&src).arg(&out)),
            &format!("qpdf {name}"),
        );
        inputs.push((out, *pw));
    }
    for (input, pw) in &inputs {
        let out = fx.p(&format!(
            "sealed-{}",
            input.file_name().unwrap().to_string_lossy()
        ));
        let mut extra = vec!["--image", "seal.png", "--page", "2", "--at", "150,120"];
        let seal = fx.p("seal.png");
        extra[1] = seal.to_str().unwrap();
        if let Some(p) = pw {
            extra.extend(["--password", p]);
        }
        fx.sign_ok(input, &out, &extra);
        fx.pdfsig_all_valid(&out, *pw, 1);
        let (okay, t) = fx.pyhanko(&out, *pw, &[]);
        assert!(
            okay && t.contains("INTACT:TRUSTED,UNTOUCHED"),
            "pyhanko on {}: {t}",
            out.display()
        );
        fx.qpdf_clean(&out, *pw);
        let (code, v) = fx.ours(&out, *pw);
        assert_eq!(code, 0, "our verify on {}: {v}", out.display());
        // The seal is where it was asked: centre 150 mm from the left, 120 mm from the top of page 2.
        let img = render(&out, 2, *pw);
        assert!(
            is_red(pixel(&img, 150.0 * MM, 120.0 * MM)),
            "seal centre on {}",
            out.display()
        );
        // Transparent between ring and centre: the page shows through (the PNG alpha is an /SMask).
        assert!(
            is_white(pixel(&img, 150.0 * MM + 12.0 * MM, 120.0 * MM)),
            "transparency on {}",
            out.display()
        );
        assert!(
            is_white(pixel(&img, 40.0 * MM, 120.0 * MM)),
            "no seal elsewhere on {}",
            out.display()
        );
    }
    // Chromium's print to PDF (Skia): sealed on a keyword it laid out.
    let html = fx.p("page.html");
    std::fs::write(
        &html,
        "<!doctype html><meta charset=utf-8><body style='font-family:sans-serif'><h1>Contract</h1>\
         <p style='page-break-after:always'>Page one.</p><p>Page two.</p>\
         <div style='position:absolute;top:200mm;left:120mm'>Seal here</div></body>",
    )
    .unwrap();
    let chrome = fx.p("chromium.pdf");
    let out = chromium::run(&[
        "--no-pdf-header-footer".into(),
        format!("--print-to-pdf={}", chrome.display()),
        html.display().to_string(),
    ]);
    assert!(chrome.exists(), "chromium --print-to-pdf: {}", text(&out));
    let sealed = fx.p("chromium-sealed.pdf");
    fx.sign_ok(
        &chrome,
        &sealed,
        &[
            "--image",
            fx.p("seal.png").to_str().unwrap(),
            "--keyword",
            "Seal here",
        ],
    );
    fx.pdfsig_all_valid(&sealed, None, 1);
    let (okay, t) = fx.pyhanko(&sealed, None, &[]);
    assert!(
        okay && t.contains("INTACT:TRUSTED,UNTOUCHED"),
        "chromium: {t}"
    );
    fx.qpdf_clean(&sealed, None);
    let doc = Document::open(Box::new(std::fs::read(&chrome).unwrap()), None).unwrap();
    let page = doc.pages().unwrap()[0].clone();
    let hit = sealpki_pki::pdf::text::find(&doc, &page, "Seal here").unwrap()[0];
    let img = render(&sealed, 1, None);
    let (_, h, _) = img;
    let (cx, cy) = ((hit[0] + hit[2]) / 2.0, h as f64 - (hit[1] + hit[3]) / 2.0);
    assert!(
        is_red(pixel(&img, cx, cy)),
        "seal centred on Chromium's text at ({cx}, {cy})"
    );

    // An encrypted document opened with its owner password.
    let by_owner = fx.p("sealed-by-owner.pdf");
    fx.sign_ok(&fx.p("aes256.pdf"), &by_owner, &["--password", "owner"]);
    fx.pdfsig_all_valid(&by_owner, Some("user"), 1);
    let (code, v) = fx.ours(&by_owner, Some("owner"));
    assert_eq!(code, 0, "{v}");

    // A document pyHanko signed first: we add a second signature; both stay valid for both tools.
    let ph = fx.p("pyhanko-signed.pdf");
    ok(
        &run(Command::new(tool("pyhanko"))
            .args([
                "sign",
                "addsig",
                "--field",
                "PyHanko1",
                "pemder",
                "--no-pass",
                "--key",
            ])
            .arg(&fx.key)
            .arg("--cert")
            .arg(&fx.cert)
            .arg("--chain")
            .arg(&fx.chain)
            .arg(&src)
            .arg(&ph)),
        "pyhanko addsig",
    );
    let (code, v) = fx.ours(&ph, None);
    assert_eq!(
        code, 0,
        "our verifier agrees with pyHanko on its own signature: {v}"
    );
    let both = fx.p("pyhanko-then-us.pdf");
    fx.sign_ok(
        &ph,
        &both,
        &["--image", fx.p("seal.jpg").to_str().unwrap(), "--page", "3"],
    );
    fx.pdfsig_all_valid(&both, None, 2);
    let (okay, t) = fx.pyhanko(&both, None, &[]);
    assert!(okay, "pyhanko on two signatures: {t}");
    assert!(
        t.contains("PyHanko1") && t.contains("ACCEPTABLE_MODIFICATIONS") && t.contains("UNTOUCHED"),
        "{t}"
    );
    let (code, v) = fx.ours(&both, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2);
    // The seal pictures come back out: the JPEG byte for byte, the PNG with its transparency.
    let pics = fx.extract_images(&both, "pictures");
    assert_eq!(
        std::fs::read(pics.join("Signature1-1.jpg")).unwrap(),
        std::fs::read(fx.p("seal.jpg")).unwrap()
    );
    let sealed_png = fx.p("sealed-contract.pdf");
    let pics2 = fx.extract_images(&sealed_png, "pictures2");
    let probe = ok(
        &run(Command::new(tool("python3")).arg("-c").arg(format!(
            "from PIL import Image; a=Image.open({:?}); b=Image.open({:?}).convert('RGBA'); print(a.size, a.mode, list(a.getdata())==list(b.getdata()))",
            pics2.join("Signature1-1.png").display().to_string(),
            fx.p("seal.png").display().to_string()
        ))),
        "PIL reads the extracted PNG",
    );
    assert_eq!(probe.trim(), "(400, 400) RGBA True", "{probe}");
}

#[test]
fn keyword_cross_page_rotated_and_timestamped_seals() {
    let mut fx = Fx::new();
    let src = fx.p("contract.pdf");
    let seal = fx.p("seal.png");
    let seal = seal.to_str().unwrap();

    // Keyword: 盖章处 is drawn at (300, 200) pt on page 2 in 14 pt type, three glyphs after 甲方（.
    let kw = fx.p("keyword.pdf");
    fx.sign_ok(
        &src,
        &kw,
        &["--image", seal, "--keyword", "盖章处", "--size-mm", "30"],
    );
    fx.pdfsig_all_valid(&kw, None, 1);
    let (okay, t) = fx.pyhanko(&kw, None, &[]);
    assert!(okay && t.contains("INTACT:TRUSTED,UNTOUCHED"), "{t}");
    fx.qpdf_clean(&kw, None);
    let img = render(&kw, 2, None);
    let (_, h, _) = img;
    // 盖章处 spans x ≈ 300+3·14 … 300+6·14; its centre ≈ (363, 200+5) in PDF space.
    assert!(
        is_red(pixel(&img, 363.0, h as f64 - 205.0)),
        "seal on the keyword"
    );
    assert!(
        is_white(pixel(&img, 363.0, h as f64 - 500.0)),
        "not elsewhere"
    );
    let missing = fx.sign(
        &src,
        &fx.p("none.pdf"),
        &["--image", seal, "--keyword", "不存在"],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("not found"), "{}", text(&missing));
    assert!(!fx.p("none.pdf").exists());

    // 骑缝章: one slice per page at the right edge, together the whole seal.
    let cp = fx.p("cross.pdf");
    fx.sign_ok(
        &src,
        &cp,
        &[
            "--image",
            seal,
            "--cross-page",
            "--size-mm",
            "42",
            "--at",
            "0,100",
        ],
    );
    fx.pdfsig_all_valid(&cp, None, 3);
    let (okay, t) = fx.pyhanko(&cp, None, &[]);
    assert!(okay && t.contains("UNTOUCHED"), "{t}");
    fx.qpdf_clean(&cp, None);
    let (code, v) = fx.ours(&cp, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["signatures"][0]["seal_images"].as_array().unwrap().len(),
        3
    );
    let slice = 42.0 * MM / 3.0;
    for (page, frac) in [(1, 0.5), (2, 1.5), (3, 2.5)] {
        let img = render(&cp, page, None);
        let (w, _, _) = img;
        // The slice of page N shows part N of the ring: the ring crosses y = 100 mm at the seal's
        // left and right edges (page 1 and 3) and passes through the centre disk on page 2.
        let seal_x = frac * slice; // distance from the seal's left edge
        let red_expected = seal_x < 3.0 * MM
            || (seal_x > 21.0 * MM - 6.0 * MM && seal_x < 21.0 * MM + 6.0 * MM)
            || seal_x > 39.0 * MM;
        // Each page shows its own slice at the right edge: the slice's middle column, on the
        // seal's centre line, is red exactly where that part of the seal is.
        let px = pixel(&img, w as f64 - slice / 2.0, 100.0 * MM);
        assert_eq!(
            is_red(px),
            red_expected,
            "page {page}: {px:?} at {seal_x:.1} pt from the seal's left edge"
        );
        assert!(
            is_white(pixel(&img, w as f64 - slice - 20.0, 100.0 * MM)),
            "nothing left of the slice on page {page}"
        );
        // Somewhere in the slice's column the ring is red.
        let red_rows = (0..(42.0 * MM) as usize)
            .filter(|dy| {
                is_red(pixel(
                    &img,
                    w as f64 - slice / 2.0,
                    100.0 * MM - 21.0 * MM + *dy as f64,
                ))
            })
            .count();
        assert!(red_rows > 0, "slice on page {page}");
    }

    // On a document that is already signed a cross-page seal is refused (its extra fields would read
    // as changes to the earlier signature), with no output.
    let again = fx.sign(
        &cp,
        &fx.p("cross-again.pdf"),
        &["--image", seal, "--cross-page"],
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        text(&again).contains("must be the first signature"),
        "{}",
        text(&again)
    );
    assert!(!fx.p("cross-again.pdf").exists());

    // A landscape MediaBox shown upright by /Rotate 90: --at is measured on the page as seen.
    let rot = fx.p("rotated-sealed.pdf");
    fx.sign_ok(
        &fx.p("rotated.pdf"),
        &rot,
        &["--image", seal, "--at", "150,60", "--size-mm", "40"],
    );
    fx.pdfsig_all_valid(&rot, None, 1);
    let img = render(&rot, 1, None);
    let (w, h, _) = img;
    assert!(h > w, "pdftoppm shows the turned page upright");
    assert!(
        is_red(pixel(&img, 150.0 * MM, 60.0 * MM)),
        "seal centre where asked on the rotated page"
    );
    assert!(
        is_white(pixel(&img, 60.0 * MM, 150.0 * MM)),
        "not at the unrotated position"
    );

    // B-T with this deployment's TSA: the timestamp is seen by pyHanko and by us.
    let bt = fx.p("bt.pdf");
    fx.sign_ok(&src, &bt, &["--level", "b-t"]);
    fx.pdfsig_all_valid(&bt, None, 1);
    let (okay, t) = fx.pyhanko(&bt, None, &[]);
    assert!(
        okay && t.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "pyhanko sees the timestamp: {t}"
    );
    let (code, v) = fx.ours(&bt, None);
    assert_eq!(code, 0, "{v}");
    assert!(v["signatures"][0]["timestamp"].is_string(), "{v}");

    // B-LT: a DSS with the chains of the signer and the TSA and a fresh OCSP answer (or CRL) for
    // each certificate below the root, fetched from the URLs they carry; B-LTA: then a document
    // timestamp. poppler 22.12 checks the CAdES signature and cannot validate RFC 3161 document
    // timestamps ("Unable to validate this type of signature"); pyHanko sees the LTA updates.
    for (level, name) in [("b-lt", "blt.pdf"), ("b-lta", "blta.pdf")] {
        let f = fx.p(name);
        fx.sign_ok(&src, &f, &["--level", level]);
        fx.pdfsig_all_valid(&f, None, 1);
        // Strict online: every certificate on both paths, the CAs' included, has revocation data
        // pyHanko can fetch from the URLs it carries.
        let (okay, t) = fx.pyhanko(&f, None, &["--force-revinfo"]);
        assert!(
            okay && t.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
            "{level}: {t}"
        );
        if level == "b-lta" {
            assert!(t.contains("EXTENDED_WITH_LTA_UPDATES"), "{t}");
        }
        fx.qpdf_clean(&f, None);
        let (code, v) = fx.ours(&f, None);
        assert_eq!(code, 0, "{level}: {v}");
        let checks = v["signatures"][0]["checks"].to_string();
        assert!(
            checks.contains(r#""name":"revocation","state":"pass""#)
                && checks.contains(r#""name":"timestamp-revocation","state":"pass""#)
                && checks.contains("not revoked at"),
            "{level}: {checks}"
        );
        if level == "b-lta" {
            assert!(
                v["signatures"][1]["checks"]
                    .to_string()
                    .contains(r#""name":"revocation","state":"pass""#),
                "the document timestamp's TSA is covered: {v}"
            );
            assert_eq!(v["signatures"][1]["kind"], "document-timestamp", "{v}");
            assert_eq!(v["signatures"][1]["verdict"], "valid", "{v}");
        }
    }

    // B-T from a TSA over HTTP (our server's RFC 3161 endpoint, reached as any TSA would be), written as
    // adbe.pkcs7.detached on request; a P=3 certification.
    let http_tsa = fx.p("bt-http.pdf");
    let tsa_url = format!("{}/tsa", fx.server.url);
    fx.sign_ok(
        &src,
        &http_tsa,
        &["--level", "b-t", "--tsa", &tsa_url, "--pkcs7"],
    );
    fx.pdfsig_all_valid(&http_tsa, None, 1);
    let (okay, t) = fx.pyhanko(&http_tsa, None, &[]);
    assert!(okay && t.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), "{t}");
    let (code, v) = fx.ours(&http_tsa, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["signatures"][0]["sub_filter"], "adbe.pkcs7.detached",
        "{v}"
    );
    let bad_tsa = fx.sign(
        &src,
        &fx.p("no-tsa.pdf"),
        &["--level", "b-t", "--tsa", "http://127.0.0.1:9/tsa"],
    );
    assert_ne!(bad_tsa.status.code(), Some(0), "{}", text(&bad_tsa));
    assert!(!fx.p("no-tsa.pdf").exists());
    let p3 = fx.p("certified-p3.pdf");
    fx.sign_ok(&src, &p3, &["--certify", "3"]);
    let (okay, t) = fx.pyhanko(&p3, None, &[]);
    assert!(okay && t.contains("UNTOUCHED"), "{t}");

    // A revoked signer: B-LT refuses (LTV data would only prove the signature void) and writes nothing;
    // a B-T signature given the OCSP answer "revoked" in its DSS is invalid for our verifier.
    let csr = openssl_csr(
        fx.env.dir.path(),
        "p256",
        "/C=CN/O=示例有限公司/CN=已吊销印章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
        &[],
    );
    let revoked_pem = fx.p("revoked.pem");
    let issued: serde_json::Value = serde_json::from_str(&ok(
        &fx.env.sealpki(&[
            "--json",
            "cert",
            "issue",
            "--profile",
            "seal-signing",
            "--csr",
            csr.to_str().unwrap(),
            "--out",
            revoked_pem.to_str().unwrap(),
        ]),
        "cert issue",
    ))
    .unwrap();
    let serial = issued["serial"].as_str().unwrap().to_string();
    ok(
        &fx.env
            .sealpki(&["cert", "revoke", &serial, "--reason", "keyCompromise"]),
        "cert revoke",
    );
    let key = fx.key.display().to_string();
    let rp = revoked_pem.display().to_string();
    let who = ["--key-file", key.as_str(), "--cert", rp.as_str()];
    let refused = fx.sign_as(&who, &src, &fx.p("revoked-lt.pdf"), &["--level", "b-lt"]);
    assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
    assert!(text(&refused).contains("is revoked"), "{}", text(&refused));
    assert!(!fx.p("revoked-lt.pdf").exists() && !fx.p("revoked-lt.pdf.partial").exists());
    let revoked_bt = fx.p("revoked-bt.pdf");
    ok(
        &fx.sign_as(&who, &src, &revoked_bt, &["--level", "b-t"]),
        "B-T by the revoked signer",
    );
    let answer = fx.p("revoked-ocsp.der");
    ok(
        &run(Command::new("openssl")
            .args(["ocsp", "-issuer"])
            .arg(first_cert(&fx.chain))
            .arg("-cert")
            .arg(&revoked_pem)
            .args([
                "-url",
                &format!("{}/ocsp/seal", fx.server.url),
                "-noverify",
                "-respout",
            ])
            .arg(&answer)),
        "openssl ocsp",
    );
    let with_dss = fx.p("revoked-dss.pdf");
    {
        let doc = Document::open(Box::new(std::fs::read(&revoked_bt).unwrap()), None).unwrap();
        let mut out = Vec::new();
        let data = sealpki_pki::pdf::ltv::Validation {
            ocsps: vec![std::fs::read(&answer).unwrap()],
            ..Default::default()
        };
        sealpki_pki::pdf::ltv::add_dss(&doc, &mut out, &data).unwrap();
        std::fs::write(&with_dss, out).unwrap();
    }
    let (code, v) = fx.ours(&with_dss, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("was revoked"), "{v}");

    // Certification: P=2 allows a later (invisible) signature; a visible one is refused, as pyHanko
    // counts a new visible widget as a change after certification; P=1 refuses any.
    let p2 = fx.p("certified-p2.pdf");
    fx.sign_ok(&src, &p2, &["--certify", "2", "--image", seal]);
    let visible = fx.sign(&p2, &fx.p("p2-visible.pdf"), &["--image", seal]);
    assert_eq!(visible.status.code(), Some(1), "{}", text(&visible));
    assert!(
        text(&visible).contains("must be invisible"),
        "{}",
        text(&visible)
    );
    let p2b = fx.p("certified-p2-signed.pdf");
    fx.sign_ok(&p2, &p2b, &[]);
    let (okay, t) = fx.pyhanko(&p2b, None, &[]);
    assert!(okay, "{t}");
    fx.pdfsig_all_valid(&p2b, None, 2);
    let (code, v) = fx.ours(&p2b, None);
    assert_eq!(code, 0, "{v}");
    let p1 = fx.p("certified-p1.pdf");
    fx.sign_ok(&src, &p1, &["--certify", "1"]);
    let refused = fx.sign(&p1, &fx.p("p1-again.pdf"), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("DocMDP P=1"), "{}", text(&refused));
    assert!(!fx.p("p1-again.pdf").exists());

    // Offline, every server stopped: the B-LT and B-LTA files stand on their DSS alone — pyHanko's
    // AdES validation requires revocation data for the signer, the TSA and the CAs above them
    // (its OCSP fetches fail, and stored OCSP answers are not looked at then: the DSS carries the
    // CRLs too), and for B-LTA validates the document timestamp's TSA path from the same DSS as
    // proof of existence; our verifier passes its revocation check from the DSS.
    fx.server.kill();
    for (level, name) in [("b-lt", "blt.pdf"), ("b-lta", "blta.pdf")] {
        let f = fx.p(name);
        let (okay, t) = fx.pyhanko_ades(&f);
        assert!(
            okay && t.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                && !t.contains("no revocation information")
                && !t.contains("revocation checks failed"),
            "{level} offline: {t}"
        );
        if level == "b-lta" {
            assert!(
                !t.contains("Document timestamp chain failed to validate")
                    && !t.contains("No document timestamps"),
                "{level} offline: the document timestamp is proof of existence: {t}"
            );
        }
        let (code, v) = fx.ours(&f, None);
        assert_eq!(code, 0, "{level} offline: {v}");
        let checks = v["signatures"][0]["checks"].to_string();
        assert!(
            checks.contains(r#""name":"revocation","state":"pass""#),
            "{level} offline: {checks}"
        );
    }
}

/// A form XObject dictionary with a `w`×`h` bounding box.
fn form_xobject(w: i64, h: i64) -> Dict {
    Dict::new()
        .with(b"Type", Object::name("XObject"))
        .with(b"Subtype", Object::name("Form"))
        .with(b"BBox", rect(0, 0, w, h))
}

fn rect(a: i64, b: i64, c: i64, d: i64) -> Object {
    Object::Array(vec![
        Object::Int(a),
        Object::Int(b),
        Object::Int(c),
        Object::Int(d),
    ])
}

/// Append an incremental update built by `f` to `file`, writing `out`.
fn tamper(file: &Path, out: &Path, f: impl FnOnce(&Document<Vec<u8>>, &mut Update)) {
    let bytes = std::fs::read(file).unwrap();
    let doc = Document::open(Box::new(bytes.clone()), None).unwrap();
    let mut up = Update::new(&doc).unwrap();
    f(&doc, &mut up);
    let w = up.finish();
    let mut all = bytes;
    all.extend(w.bytes);
    std::fs::write(out, all).unwrap();
}

fn reasons(v: &serde_json::Value) -> String {
    v["reasons"].to_string()
}

#[test]
fn attacks_are_flagged_and_bad_input_is_refused_cleanly() {
    let fx = Fx::new();
    let src = fx.p("contract.pdf");
    let signed = fx.p("signed.pdf");
    fx.sign_ok(
        &src,
        &signed,
        &["--image", fx.p("seal.png").to_str().unwrap(), "--page", "1"],
    );
    let doc = Document::open(Box::new(std::fs::read(&signed).unwrap()), None).unwrap();
    let page1 = doc.pages().unwrap()[0].clone();

    // 1. Page content replaced in a later incremental update.
    let content = fx.p("attack-content.pdf");
    tamper(&signed, &content, |doc, up| {
        let r = page1
            .dict
            .get(b"Contents")
            .and_then(Object::as_ref)
            .unwrap();
        up.put_stream(
            doc,
            r,
            Dict::new(),
            b"BT /F1 48 Tf 100 400 Td (PAID IN FULL) Tj ET",
        );
    });
    let (code, v) = fx.ours(&content, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("modified after signing"), "{v}");
    let (okay, t) = fx.pyhanko(&content, None, &[]);
    assert!(
        !okay && !t.contains("UNTOUCHED") && !t.contains("ACCEPTABLE"),
        "pyhanko agrees: {t}"
    );

    // 2. An overlay annotation (a white box over the text) added after signing.
    let overlay = fx.p("attack-overlay.pdf");
    tamper(&signed, &overlay, |doc, up| {
        let ap = up.reserve();
        up.put_stream(
            doc,
            ap,
            form_xobject(300, 100),
            b"1 1 1 rg 0 0 300 100 re f",
        );
        let a = up.reserve();
        up.put(
            doc,
            a,
            Object::Dict(
                Dict::new()
                    .with(b"Type", Object::name("Annot"))
                    .with(b"Subtype", Object::name("Square"))
                    .with(b"Rect", rect(60, 600, 360, 700))
                    .with(b"AP", Object::Dict(Dict::new().with(b"N", Object::Ref(ap)))),
            ),
        );
        let mut pd = page1.dict.clone();
        let mut annots = pd
            .get(b"Annots")
            .and_then(Object::as_array)
            .unwrap_or_default()
            .to_vec();
        annots.push(Object::Ref(a));
        pd.set(b"Annots", Object::Array(annots));
        up.put(doc, page1.id, Object::Dict(pd));
    });
    let (code, v) = fx.ours(&overlay, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("Square annotation added"), "{v}");
    let (okay, t) = fx.pyhanko(&overlay, None, &[]);
    assert!(
        !okay && !t.contains("UNTOUCHED") && !t.contains("ACCEPTABLE"),
        "pyhanko agrees: {t}"
    );

    // 3. Shadow attack: the seal's appearance stream swapped after signing.
    let sig_widget = doc.pages().unwrap()[0]
        .dict
        .get(b"Annots")
        .and_then(Object::as_array)
        .unwrap()
        .last()
        .and_then(Object::as_ref)
        .unwrap();
    let widget = doc.get(sig_widget).unwrap();
    let ap = widget
        .as_dict()
        .unwrap()
        .get(b"AP")
        .and_then(Object::as_dict)
        .unwrap()
        .get(b"N")
        .and_then(Object::as_ref)
        .unwrap();
    let shadow = fx.p("attack-shadow.pdf");
    tamper(&signed, &shadow, |doc, up| {
        up.put_stream(
            doc,
            ap,
            form_xobject(100, 100),
            b"0 0 1 rg 0 0 100 100 re f",
        );
    });
    let (code, v) = fx.ours(&shadow, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("Form stream changed"), "{v}");
    // And the widget moved (/Rect): named a shadow attack.
    let moved = fx.p("attack-rect.pdf");
    tamper(&signed, &moved, |doc, up| {
        let mut w = widget.as_dict().unwrap().clone();
        w.set(b"Rect", rect(0, 0, 10, 10));
        up.put(doc, sig_widget, Object::Dict(w));
    });
    let (code, v) = fx.ours(&moved, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("shadow attack"), "{v}");

    // 4. A /ByteRange that leaves a gap: one byte before /Contents is no longer covered.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes
        .windows(12)
        .rposition(|w| w == b"/ByteRange [")
        .unwrap();
    let end = at + bytes[at..].iter().position(|b| *b == b']').unwrap();
    let nums: Vec<u64> = String::from_utf8_lossy(&bytes[at + 12..end])
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let forged = format!("/ByteRange [0 {} {} {}", nums[1] - 1, nums[2], nums[3]);
    let mut patch = forged.into_bytes();
    patch.resize(end - at, b' ');
    bytes[at..end].copy_from_slice(&patch);
    let gap = fx.p("attack-gap.pdf");
    std::fs::write(&gap, &bytes).unwrap();
    let (code, v) = fx.ours(&gap, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("gap"), "{v}");

    // 5. Signature wrapping: a later revision redefines the signature dictionary with other contents.
    let sig_ref = widget
        .as_dict()
        .unwrap()
        .get(b"V")
        .and_then(Object::as_ref)
        .unwrap();
    let wrap = fx.p("attack-wrap.pdf");
    tamper(&signed, &wrap, |doc, up| {
        let mut sd = doc.get(sig_ref).unwrap().as_dict().unwrap().clone();
        sd.set(
            b"Contents",
            Object::Str {
                bytes: vec![0x30, 0x03, 0x02, 0x01, 0x01],
                hex: true,
            },
        );
        up.put(doc, sig_ref, Object::Dict(sd));
    });
    let (code, v) = fx.ours(&wrap, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("wrapping"), "{v}");

    // Untrusted root: indeterminate (2), not valid.
    let out = run(fx.env.cmd().args(["--json", "pdf", "verify"]).arg(&signed));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Bad input: precise errors, no output file.
    let half = fx.p("truncated.pdf");
    let full = std::fs::read(&src).unwrap();
    std::fs::write(&half, &full[..full.len() / 2]).unwrap();
    let garbage = fx.p("garbage.pdf");
    std::fs::write(&garbage, b"this is not a PDF at all, just words\n").unwrap();
    let enc = fx.p("locked.pdf");
    ok(
        &run(Command::new("qpdf")
            .args(["--encrypt", "secret", "owner", "256", "--"])
            .arg(&src)
            .arg(&enc)),
        "qpdf encrypt",
    );
    for (input, extra, want) in [
        (&half, vec![], "malformed PDF"),
        (&garbage, vec![], "not a PDF"),
        (&enc, vec![], "needs a password"),
        (&enc, vec!["--password", "wrong"], "password is wrong"),
    ] {
        let out_file = fx.p("never.pdf");
        let out = fx.sign(input, &out_file, &extra);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            input.display(),
            text(&out)
        );
        assert!(
            text(&out).contains(want),
            "{}: {}",
            input.display(),
            text(&out)
        );
        assert!(
            !out_file.exists() && !fx.p("never.pdf.partial").exists(),
            "no output for {}",
            input.display()
        );
        let v = run(fx.env.cmd().args(["pdf", "verify"]).arg(input).args(&extra));
        assert_eq!(
            v.status.code(),
            Some(3),
            "verify {}: {}",
            input.display(),
            text(&v)
        );
    }
    // A folder: progress and a summary; one bad file makes the exit code 1, the others are signed.
    let inbox = fx.p("inbox");
    let outbox = fx.p("outbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(&src, inbox.join("a.pdf")).unwrap();
    std::fs::copy(fx.p("rotated.pdf"), inbox.join("b.pdf")).unwrap();
    std::fs::copy(&garbage, inbox.join("c.pdf")).unwrap();
    let out = fx.sign(&inbox, &outbox, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("signed 2 of 3") && text(&out).contains("c.pdf"),
        "{}",
        text(&out)
    );
    assert!(
        outbox.join("a.pdf").exists()
            && outbox.join("b.pdf").exists()
            && !outbox.join("c.pdf").exists()
    );
    let v = run(fx
        .env
        .cmd()
        .args(["pdf", "verify", "--trust"])
        .arg(&fx.root)
        .arg(&outbox));
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    assert!(text(&v).contains("2 file(s): 2 valid"), "{}", text(&v));

    // A forged seal: the holder of an app-client certificate (an end-entity key under our root)
    // certifies "财务专用章" of another company with its own key and ships its real certificate as
    // the intermediate. pyHanko calls it untrusted; ours must not call it valid (CLI and HTTP).
    let app_csr = openssl_csr(fx.env.dir.path(), "p256", "/C=CN/O=App Co/CN=oa-app", &[]);
    let app_cert = fx.p("app-client.pem");
    fx.env.issue_to("app-client", &app_csr, &app_cert, &[]);
    let (service_chain, _) = fx.env.chain("service");
    let forged_key = fx.p("forged.key");
    openssl_p256_key(&forged_key);
    let ext = fx.p("forged.cnf");
    std::fs::write(
        &ext,
        "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n[ext]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    let forged_csr = fx.p("forged.csr");
    ok(
        &run(Command::new("openssl")
            .args(["req", "-new", "-key"])
            .arg(&forged_key)
            .args(["-subj", "/C=CN/O=Victim Co/CN=财务专用章", "-config"])
            .arg(&ext)
            .arg("-out")
            .arg(&forged_csr)),
        "forged csr",
    );
    let forged_cert = fx.p("forged.pem");
    ok(
        &run(Command::new("openssl")
            .args(["x509", "-req", "-sha256", "-days", "30", "-in"])
            .arg(&forged_csr)
            .arg("-CA")
            .arg(&app_cert)
            .arg("-CAkey")
            .arg(openssl_key("p256"))
            .args(["-CAcreateserial", "-extfile"])
            .arg(&ext)
            .args(["-extensions", "ext", "-out"])
            .arg(&forged_cert)),
        "forged certificate",
    );
    let forged_chain = fx.p("forged-chain.pem");
    std::fs::write(
        &forged_chain,
        std::fs::read_to_string(&app_cert).unwrap()
            + &std::fs::read_to_string(&service_chain).unwrap(),
    )
    .unwrap();
    let forged_pdf = fx.p("forged.pdf");
    ok(
        &run(fx
            .env
            .cmd()
            .args(["pdf", "sign", "--in"])
            .arg(&src)
            .arg("--out")
            .arg(&forged_pdf)
            .arg("--key-file")
            .arg(&forged_key)
            .arg("--cert")
            .arg(&forged_cert)
            .arg("--chain")
            .arg(&forged_chain)),
        "pdf sign with the forged certificate",
    );
    let (code, v) = fx.ours(&forged_pdf, None);
    assert_eq!(code, 1, "{v}");
    assert!(reasons(&v).contains("not a CA"), "{v}");
    let (okay, t) = fx.pyhanko(&forged_pdf, None, &[]);
    assert!(!okay && t.contains("UNTRUSTED"), "pyhanko agrees: {t}");
    let (status, _, report) = http_post(
        &format!("{}/api/v1/pdf/verify", fx.server.url),
        None,
        "application/pdf",
        &std::fs::read(&forged_pdf).unwrap(),
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(v["verdict"], "invalid", "{v}");
}

fn http_post(url: &str, token: Option<&str>, ctype: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut req = ureq::post(url).set("Content-Type", ctype);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = match req.send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = resp.status();
    let ctype = resp.content_type().to_string();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut out).unwrap();
    (status, ctype, out)
}

#[test]
fn sealing_and_verifying_over_http_with_a_key_the_service_holds() {
    use base64::Engine;
    let fx = Fx::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: serde_json::Value = serde_json::from_str(&ok(
        &fx.env
            .sealpki(&["--json", "keys", "generate", "--name", "cloud-seal"]),
        "keys generate",
    ))
    .unwrap();
    let key_ref = key["key"].as_str().unwrap().to_string();
    let issued: serde_json::Value = serde_json::from_str(&ok(
        &fx.env.sealpki(&[
            "--json",
            "cert",
            "issue",
            "--profile",
            "seal-signing",
            "--key",
            &key_ref,
            "--subject",
            "CN=示例云签章,O=示例有限公司,C=CN,organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
            "--out",
            fx.p("cloud.pem").to_str().unwrap(),
        ]),
        "cert issue --key",
    ))
    .unwrap();
    let serial = issued["serial"].as_str().unwrap().to_string();
    let url = &fx.server.url;
    let token = fx.server.login();
    let pdf = std::fs::read(fx.p("contract.pdf")).unwrap();
    let image = std::fs::read(fx.p("seal.png")).unwrap();
    let body = serde_json::json!({
        "pdf": b64.encode(&pdf), "key": key_ref, "cert_serial": serial, "image": b64.encode(&image),
        "page": 3, "at_mm": [100.0, 200.0], "level": "b-t", "reason": "合同签署",
    })
    .to_string();
    // Without a login: 401 problem+json, nothing signed — the whole upload is read first, so the
    // client gets the answer rather than a connection closed while it writes.
    for _ in 0..5 {
        let (status, ctype, _) = http_post(
            &format!("{url}/api/v1/pdf/sign"),
            None,
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(status, 401);
        assert!(ctype.contains("problem+json"), "{ctype}");
    }
    let (status, ctype, _) = http_post(
        &format!("{url}/api/v1/pdf/sign"),
        None,
        "application/json",
        b"{}",
    );
    assert_eq!(status, 401);
    assert!(ctype.contains("problem+json"), "{ctype}");
    let (status, ctype, signed) = http_post(
        &format!("{url}/api/v1/pdf/sign"),
        Some(&token),
        "application/json",
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&signed));
    assert_eq!(ctype, "application/pdf");
    let out = fx.p("http-signed.pdf");
    std::fs::write(&out, &signed).unwrap();
    fx.pdfsig_all_valid(&out, None, 1);
    let (okay, t) = fx.pyhanko(&out, None, &[]);
    assert!(
        okay && t.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>") && t.contains("UNTOUCHED"),
        "{t}"
    );
    assert!(
        is_red(pixel(&render(&out, 3, None), 100.0 * MM, 200.0 * MM)),
        "seal where asked"
    );
    // The public verifier: no login, our root as trust anchor.
    let (status, _, report) = http_post(
        &format!("{url}/api/v1/pdf/verify"),
        None,
        "application/pdf",
        &signed,
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert!(v["signatures"][0]["timestamp"].is_string(), "{v}");
    assert_eq!(v["signatures"][0]["seal_images"][0]["page"], 3, "{v}");
    // B-LTA over HTTP: the DSS and the document timestamp follow the signature.
    let lta_body = serde_json::json!({
        "pdf": b64.encode(&pdf), "key": key_ref, "cert_serial": serial, "level": "b-lta",
    })
    .to_string();
    let (status, _, lta) = http_post(
        &format!("{url}/api/v1/pdf/sign"),
        Some(&token),
        "application/json",
        lta_body.as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&lta));
    let lta_file = fx.p("http-lta.pdf");
    std::fs::write(&lta_file, &lta).unwrap();
    let (okay, t) = fx.pyhanko(&lta_file, None, &[]);
    assert!(okay && t.contains("EXTENDED_WITH_LTA_UPDATES"), "{t}");
    let (status, _, report) = http_post(
        &format!("{url}/api/v1/pdf/verify"),
        None,
        "application/pdf",
        &lta,
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["signatures"][1]["kind"], "document-timestamp", "{v}");
    // Garbage: a precise 400.
    let (status, ctype, body) = http_post(
        &format!("{url}/api/v1/pdf/verify"),
        None,
        "application/pdf",
        b"%PDF-1.7 but nothing else",
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(
        ctype.contains("problem+json") && String::from_utf8_lossy(&body).contains("startxref"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // A certificate of this deployment that is for another key: refused, naming both.
    let other_serial = ok(
        &run(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&fx.cert)),
        "openssl x509 -serial",
    );
    let other_serial = other_serial
        .trim()
        .trim_start_matches("serial=")
        .to_string();
    let sign_with = |serial: &str| {
        let body =
            serde_json::json!({"pdf": b64.encode(&pdf), "key": key_ref, "cert_serial": serial});
        http_post(
            &format!("{url}/api/v1/pdf/sign"),
            Some(&token),
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    let (status, ctype, body) = sign_with(&other_serial);
    let body = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 400, "{body}");
    assert!(
        ctype.contains("problem+json") && body.contains("is not for key"),
        "{body}"
    );
    // A serial this deployment never issued: 404.
    let (status, _, _) = sign_with("01");
    assert_eq!(status, 404);
    // Numbers and names from the request are checked before any work is done: a position off the
    // page and a field name with '.' are 400 problems; a field name in Chinese comes back
    // percent-encoded in X-Signature-Field (not a 500 after the signature was made).
    let ask = |extra: serde_json::Value| {
        let mut body = serde_json::json!({"pdf": b64.encode(&pdf), "key": key_ref, "cert_serial": serial,
            "image": b64.encode(&image)});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        // (status, X-Signature-Field, body)
        let r = match ureq::post(&format!("{url}/api/v1/pdf/sign"))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
        {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST pdf/sign: {e}"),
        };
        let field = r.header("x-signature-field").map(str::to_string);
        (r.status(), field, r.into_string().unwrap_or_default())
    };
    for (extra, says) in [
        (serde_json::json!({"at_mm": [5000.0, 10.0]}), "outside page"),
        (serde_json::json!({"at_mm": [10.0, -1.0]}), "non-negative"),
        (serde_json::json!({"field": "a.b"}), "without '.'"),
        (serde_json::json!({"keyword": ""}), "keyword"),
    ] {
        let (status, _, t) = ask(extra.clone());
        assert_eq!(status, 400, "{extra}: {t}");
        assert!(t.contains(says), "{extra}: {t}");
    }
    let (status, field, _) = ask(serde_json::json!({"field": "合同章"}));
    assert_eq!(status, 200, "a field named in Chinese");
    assert_eq!(field.as_deref(), Some("%E5%90%88%E5%90%8C%E7%AB%A0"));
    // Every signature made here is in the audit chain, with the digests of what went in and out;
    // the refused ones are not.
    let signs: Vec<_> = audit_log(&fx.env)
        .into_iter()
        .filter(|(_, action, _)| action == "pdf.sign")
        .collect();
    assert_eq!(signs.len(), 3, "{signs:?}");
    let input = sealpki_pki::alg::sha256_hex(&pdf);
    for (actor, _, detail) in &signs {
        assert_eq!(actor, "admin", "{detail}");
        assert_eq!(
            detail["certificate"].as_str(),
            Some(serial.as_str()),
            "{detail}"
        );
        assert_eq!(
            detail["input_sha256"].as_str(),
            Some(input.as_str()),
            "{detail}"
        );
    }
    assert_eq!(
        signs[0].2["output_sha256"].as_str(),
        Some(sealpki_pki::alg::sha256_hex(&signed).as_str()),
        "the first signature's output is the file served"
    );
    ok(&fx.env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn rsa_pkcs1_rsa_pss_and_token_keys_seal_pdfs() {
    let label = softhsm_token("pdf");
    let tokens = [label.as_str()];
    let with_token = softhsm_module().is_some();
    let fx = Fx::with(EnvOptions {
        tokens: if with_token { &tokens } else { &[] },
        ..EnvOptions::default()
    });
    let src = fx.p("contract.pdf");
    let seal = fx.p("seal.png");
    let subj = "/C=CN/O=示例有限公司/CN=示例有限公司财务专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q";
    // RSA-3072 from a PEM key file, PKCS#1 v1.5 and PSS.
    let rsa_key = openssl_key("rsa3072");
    let csr = openssl_csr(fx.env.dir.path(), "rsa3072", subj, &[]);
    let rsa_cert = fx.p("rsa.pem");
    fx.env.issue_to("seal-signing", &csr, &rsa_cert, &[]);
    // NSS learns the signer certificates as known (not trusted), as for the P-256 signer.
    let db = format!("sql:{}", fx.nss.display());
    let mut cases: Vec<(String, Vec<String>, PathBuf)> = vec![
        (
            "rsa-pkcs1".into(),
            vec!["--key-file".into(), rsa_key.display().to_string()],
            rsa_cert.clone(),
        ),
        (
            "rsa-pss".into(),
            vec![
                "--key-file".into(),
                rsa_key.display().to_string(),
                "--scheme".into(),
                "rsa-pss-sha256".into(),
            ],
            rsa_cert.clone(),
        ),
    ];
    if with_token {
        // A P-256 key made on the token, certified by our seal CA, signing through C_Sign.
        let key: serde_json::Value = serde_json::from_str(&ok(
            &fx.env.sealpki(&[
                "--json",
                "keys",
                "generate",
                "--name",
                "pdf-seal",
                "--backend",
                &format!("pkcs11:{label}"),
            ]),
            "keys generate on the token",
        ))
        .unwrap();
        let key_ref = key["key"].as_str().unwrap().to_string();
        let token_cert = fx.p("token.pem");
        ok(
            &fx.env.sealpki(&[
                "cert", "issue", "--profile", "seal-signing", "--key", &key_ref,
                "--subject", "CN=示例令牌印章,O=示例有限公司,C=CN,organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
                "--out", token_cert.to_str().unwrap(),
            ]),
            "cert issue for the token key",
        );
        cases.push(("pkcs11".into(), vec!["--key".into(), key_ref], token_cert));
    }
    for (name, who, cert) in &cases {
        ok(
            &run(Command::new("certutil")
                .args(["-A", "-d", &db, "-n", name, "-t", ",,", "-i"])
                .arg(cert)),
            "certutil -A",
        );
        let out = fx.p(&format!("{name}.pdf"));
        let mut args: Vec<&str> = who.iter().map(String::as_str).collect();
        let c = cert.display().to_string();
        args.extend(["--cert", &c]);
        let s = seal.display().to_string();
        ok(
            &fx.sign_as(&args, &src, &out, &["--image", &s, "--page", "3"]),
            &format!("pdf sign {name}"),
        );
        fx.pdfsig_all_valid(&out, None, 1);
        let (okay, t) = fx.pyhanko(&out, None, &[]);
        assert!(
            okay && t.contains("INTACT:TRUSTED,UNTOUCHED"),
            "{name}: {t}"
        );
        let (code, v) = fx.ours(&out, None);
        assert_eq!(code, 0, "{name}: {v}");
        let sig = v["signatures"][0]["checks"].to_string();
        let want = match name.as_str() {
            "rsa-pkcs1" => "rsa-pkcs1-sha256",
            "rsa-pss" => "rsa-pss-sha256",
            _ => "ecdsa-sha256",
        };
        assert!(sig.contains(want), "{name}: {sig}");
    }
}

/// `--key-file` reads the key forms openssl writes: SEC1 "EC PRIVATE KEY" after "EC PARAMETERS"
/// (`openssl ecparam -genkey`, P-256 and SM2), PKCS#1 "RSA PRIVATE KEY" (`genrsa -traditional`), and
/// refuses an encrypted key by name.
#[test]
fn key_files_in_sec1_and_pkcs1_form_seal_pdfs() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("in.pdf"), minimal_pdf()).unwrap();
    for (name, gen) in [
        (
            "p256",
            vec!["ecparam", "-genkey", "-name", "prime256v1", "-out", "KEY"],
        ),
        (
            "sm2",
            vec!["ecparam", "-genkey", "-name", "SM2", "-out", "KEY"],
        ),
        ("rsa", vec!["genrsa", "-traditional", "-out", "KEY", "3072"]),
    ] {
        let key = p(&format!("{name}.key"));
        let args: Vec<String> = gen
            .iter()
            .map(|a| {
                if *a == "KEY" {
                    key.display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        ok(&run(Command::new("openssl").args(&args)), "openssl keygen");
        let text = std::fs::read_to_string(&key).unwrap();
        let form = match name {
            "rsa" => "RSA PRIVATE KEY",
            "p256" => "EC PRIVATE KEY",
            _ => "SM2 PARAMETERS",
        };
        assert!(text.contains(form), "{text}");
        let cert = p(&format!("{name}.pem"));
        let mut req = Command::new("openssl");
        req.args(["req", "-new", "-x509", "-days", "2", "-key"])
            .arg(&key);
        req.args([
            "-subj",
            "/CN=Key file seal/O=t/C=CN",
            "-addext",
            "keyUsage=critical,nonRepudiation",
        ]);
        if name == "sm2" {
            req.args(["-sm3", "-sigopt", "distid:1234567812345678"]);
        }
        ok(&run(req.arg("-out").arg(&cert)), "openssl req -x509");
        let out = p(&format!("{name}-signed.pdf"));
        let data = p(&format!("data-{name}"));
        let o = run(Command::new(bin())
            .arg("--data")
            .arg(&data)
            .args(["pdf", "sign", "--in"])
            .arg(p("in.pdf"))
            .arg("--out")
            .arg(&out)
            .arg("--key-file")
            .arg(&key)
            .arg("--cert")
            .arg(&cert));
        ok(&o, &format!("pdf sign with a {name} key file"));
        let v = run(Command::new(bin())
            .arg("--data")
            .arg(&data)
            .args(["--json", "pdf", "verify", "--trust"])
            .arg(&cert)
            .arg(&out));
        let t = String::from_utf8_lossy(&v.stdout);
        assert!(t.contains("\"integrity\""), "{name}: {t}");
    }
    let enc = p("enc.key");
    ok(
        &run(Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes-128-cbc",
                "-pass",
                "pass:x",
                "-out",
            ])
            .arg(&enc)),
        "genpkey encrypted",
    );
    let o = run(Command::new(bin())
        .arg("--data")
        .arg(p("data-enc"))
        .args(["pdf", "sign", "--in"])
        .arg(p("in.pdf"))
        .arg("--out")
        .arg(p("enc.pdf"))
        .arg("--key-file")
        .arg(&enc)
        .arg("--cert")
        .arg(p("p256.pem")));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ENCRYPTED PRIVATE KEY"),
        "{o:?}"
    );
    assert!(!p("enc.pdf").exists());
}

/// A PDF whose DSS names one 64 MB Flate bomb 10,000 times, posted to the public verifier: an
/// answer (not a 5xx), the server still up, and its peak memory far below what decoding the bomb
/// each time would take.
#[test]
fn the_public_verifier_survives_a_dss_bomb_within_its_memory_budget() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    let server = env.serve();
    let bomb = env.path("bomb.pdf");
    let script = r#"
import sys, zlib
data = zlib.compress(b"\0" * (64 << 20), 9)
objs = [b"<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /CRLs [" + b"5 0 R " * 10000 + b"] /OCSPs [" + b"5 0 R " * 10000 + b"] >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"]
out = bytearray(b"%PDF-1.7\n")
offs = []
for i, o in enumerate(objs):
    offs.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
x = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    out += b"%010d 00000 n \n" % o
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
open(sys.argv[1], "wb").write(out)
"#;
    ok(
        &run(Command::new("python3").args(["-c", script]).arg(&bomb)),
        "write the bomb",
    );
    let body = std::fs::read(&bomb).unwrap();
    assert!(
        body.len() < 1 << 20,
        "the bomb is small: {} bytes",
        body.len()
    );
    let (status, ctype, answer) = http_post(
        &format!("{}/api/v1/pdf/verify", server.url),
        None,
        "application/pdf",
        &body,
    );
    assert!(
        status == 200 || status == 400,
        "{status} {ctype} {}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        ureq::get(&format!("{}/healthz", server.url)).call().is_ok(),
        "still up"
    );
    let status_file =
        std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let hwm_kb: u64 = status_file
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hwm_kb < 512 * 1024, "peak RSS {hwm_kb} kB");
}
