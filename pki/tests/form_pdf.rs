//! The e-seal application form rendered with the system Noto CJK font and checked by tools we did not
//! write (qpdf, poppler's pdftotext / pdffonts / pdftoppm, zbar's zbarimg) and by our own reader.
//!
//! Without the font the test is skipped, unless SEALPKI_REQUIRE_FONTS=1; a missing tool skips its
//! check, unless SEALPKI_REQUIRE_TOOLS=1. The PDF and its rendering stay under
//! `$SEALPKI_TEST_RUN/forms/` (else the system temp directory) for a person to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use sealpki_pki::pdf::compose::{Align, Composer, Font, Style};
use sealpki_pki::pdf::form::{application_form, FormData};
use sealpki_pki::pdf::{text, Document};

const REGULAR: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const BOLD: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc";
const SEAL_NAME: &str = "杭州示例科技有限公司合同专用章";
const APPLICATION_NO: &str = "SQ-2026-000123";

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

fn out_dir() -> PathBuf {
    let base = std::env::var_os("SEALPKI_TEST_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sealpki-form-test"));
    let d = base.join("forms");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether `tool` runs; a skip message (or, under SEALPKI_REQUIRE_TOOLS=1, a failure) when not.
fn have(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool).arg(version_arg).output().is_ok();
    if !ok {
        assert!(
            !required("SEALPKI_REQUIRE_TOOLS"),
            "SEALPKI_REQUIRE_TOOLS=1 but {tool} is not installed"
        );
        eprintln!("skipping the {tool} check: {tool} is not installed");
    }
    ok
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn data() -> FormData {
    FormData {
        application_no: APPLICATION_NO.into(),
        unit_name: "杭州示例科技有限公司".into(),
        credit_code: "91330100MA2XXXXX7K".into(),
        seal_name: SEAL_NAME.into(),
        seal_type: "合同专用章 Contract seal".into(),
        signing_mode: "云签章 Cloud signing".into(),
        validity: "2 年 (2 years)".into(),
        authority: "杭州市公安局西湖区分局".into(),
        applicant: "张三".into(),
        phone: "138****5678".into(),
        date: "2026年12月1日".into(),
    }
}

#[test]
fn application_form_passes_outside_tools_and_our_reader() {
    let Ok(bytes) = std::fs::read(REGULAR) else {
        assert!(
            !required("SEALPKI_REQUIRE_FONTS"),
            "SEALPKI_REQUIRE_FONTS=1 but {REGULAR} is missing (apt package fonts-noto-cjk)"
        );
        eprintln!("skipping: {REGULAR} is missing (apt package fonts-noto-cjk)");
        return;
    };
    let regular = Font::from_collection(bytes, "CJKsc").unwrap();
    assert!(regular.is_cff());
    let bold = std::fs::read(BOLD)
        .ok()
        .map(|b| Font::from_collection(b, "CJKsc").unwrap());
    let pdf = application_form(&regular, bold.as_ref(), &data()).unwrap();
    // Two subsets of a few hundred glyphs each, compressed.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    let dir = out_dir();
    let path = dir.join("application.pdf");
    std::fs::write(&path, &pdf).unwrap();

    // Our reader: the page, and the keyword the service will put the unit's seal on.
    let doc = Document::open(Box::new(pdf.clone()), None).unwrap();
    let pages = doc.pages().unwrap();
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    let stamp = text::find(&doc, page, "单位盖章").unwrap();
    assert_eq!(stamp.len(), 1, "{stamp:?}");
    // In the lower half, on the left (y is from the bottom in PDF space).
    assert!(
        stamp[0][1] < 842.0 / 2.0 && stamp[0][0] < 595.0 / 2.0,
        "{stamp:?}"
    );
    assert_eq!(text::find(&doc, page, SEAL_NAME).unwrap().len(), 1);
    assert_eq!(text::find(&doc, page, APPLICATION_NO).unwrap().len(), 2);
    assert_eq!(text::find(&doc, page, "经办人签字").unwrap().len(), 1);

    if have("qpdf", "--version") {
        run(Command::new("qpdf").arg("--check").arg(&path));
    }
    if have("pdftotext", "-v") {
        let t = run(Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-"));
        assert!(t.contains(SEAL_NAME), "{t}");
        assert!(t.contains(APPLICATION_NO), "{t}");
        assert!(t.contains("电子印章申请表"), "{t}");
        assert!(t.contains("统一社会信用代码"), "{t}");
    }
    if have("pdffonts", "-v") {
        check_fonts(&run(Command::new("pdffonts").arg(&path)), bold.is_some());
    }
    if have("pdftoppm", "-v") {
        let png = dir.join("application");
        run(Command::new("pdftoppm")
            .args(["-r", "200", "-png", "-singlefile"])
            .arg(&path)
            .arg(&png));
        let png = png.with_extension("png");
        if have("zbarimg", "--version") {
            let decoded = run(Command::new("zbarimg").args(["--raw", "-q"]).arg(&png));
            assert_eq!(decoded.trim_end(), APPLICATION_NO);
        }
        eprintln!("the form is at {}", Path::new(&png).display());
    }
}

/// Every font embedded and a subset, with a ToUnicode map.
fn check_fonts(listing: &str, bold: bool) {
    // name type encoding emb sub uni object ID, after two header lines.
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), if bold { 2 } else { 1 }, "{listing}");
    for r in rows {
        let n = r.len();
        assert!(n >= 7, "{listing}");
        assert_eq!(&r[n - 5..n - 2], ["yes", "yes", "yes"], "{listing}");
        assert!(r[0].len() > 7 && r[0].as_bytes()[6] == b'+', "{listing}");
        assert!(r[0].contains("NotoSansCJKsc"), "{listing}");
    }
}

/// Long values take more lines and taller rows; without a bold face the headings are emboldened.
#[test]
fn long_values_wrap_inside_their_rows() {
    let Ok(bytes) = std::fs::read(REGULAR) else {
        assert!(
            !required("SEALPKI_REQUIRE_FONTS"),
            "SEALPKI_REQUIRE_FONTS=1 but {REGULAR} is missing (apt package fonts-noto-cjk)"
        );
        eprintln!("skipping: {REGULAR} is missing (apt package fonts-noto-cjk)");
        return;
    };
    let regular = Font::from_collection(bytes, "CJKsc").unwrap();
    let mut d = data();
    d.unit_name = "杭州示例科技有限公司（浙江省杭州市西湖区文三路示例大厦十八层）\
                   Hangzhou Example Technology Co., Ltd."
        .into();
    d.authority = "杭州市公安局西湖区分局治安管理大队印章业管理中队".into();
    let pdf = application_form(&regular, None, &d).unwrap();
    let path = out_dir().join("application-long.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let doc = Document::open(Box::new(pdf), None).unwrap();
    let page = &doc.pages().unwrap()[0];
    // The wrapped value is still found as one text (the reader joins lines in content order).
    assert_eq!(text::find(&doc, page, &d.unit_name).unwrap().len(), 1);
    assert_eq!(text::find(&doc, page, "单位盖章").unwrap().len(), 1);
    if have("qpdf", "--version") {
        run(Command::new("qpdf").arg("--check").arg(&path));
    }
    if have("pdftoppm", "-v") {
        run(Command::new("pdftoppm")
            .args(["-r", "100", "-png", "-singlefile"])
            .arg(&path)
            .arg(path.with_extension("")));
    }
}

/// The TrueType (glyf) path: CIDFontType2 with FontFile2, checked by the same outside tools.
#[test]
fn truetype_fonts_pass_outside_tools() {
    const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let Ok(bytes) = std::fs::read(DEJAVU) else {
        assert!(
            !required("SEALPKI_REQUIRE_FONTS"),
            "SEALPKI_REQUIRE_FONTS=1 but {DEJAVU} is missing (apt package fonts-dejavu-core)"
        );
        eprintln!("skipping: {DEJAVU} is missing (apt package fonts-dejavu-core)");
        return;
    };
    let font = Font::new(bytes, 0).unwrap();
    assert!(!font.is_cff());
    let mut c = Composer::new();
    let f = c.add_font(&font);
    {
        let mut p = c.add_page();
        p.text(20.0, 30.0, "Seal here: Größe № 42", Style::new(f, 14.0))
            .unwrap();
        p.text(
            190.0,
            40.0,
            "right aligned",
            Style::new(f, 9.0).align(Align::Right),
        )
        .unwrap();
    }
    let path = out_dir().join("truetype.pdf");
    std::fs::write(&path, c.finish().unwrap()).unwrap();
    if have("qpdf", "--version") {
        run(Command::new("qpdf").arg("--check").arg(&path));
    }
    if have("pdftotext", "-v") {
        let t = run(Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-"));
        assert!(t.contains("Seal here: Größe № 42"), "{t}");
        assert!(t.contains("right aligned"), "{t}");
    }
    if have("pdffonts", "-v") {
        let listing = run(Command::new("pdffonts").arg(&path));
        assert!(listing.contains("CID TrueType"), "{listing}");
        let row = listing.lines().nth(2).unwrap_or_default();
        assert!(
            row.contains("+DejaVuSans") && row.contains("yes yes yes"),
            "{listing}"
        );
    }
}
