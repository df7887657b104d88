//! The e-seal application form (电子印章申请表) as an A4 PDF, laid out with [`super::compose`]: to be
//! printed, stamped at 单位盖章, signed and scanned back. Labels are bilingual, Chinese first.

use super::compose::{Align, ComposeError, Composer, Font, PageBuilder, Style};

/// What the applicant filled in, as it is to be printed (the caller formats and masks: a phone
/// number arrives as `138****5678`).
#[derive(Clone, Debug, Default)]
pub struct FormData {
    /// Printed at the top and encoded in the QR code.
    pub application_no: String,
    /// 申请单位.
    pub unit_name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// 印章名称, e.g. 杭州示例科技有限公司合同专用章.
    pub seal_name: String,
    /// 印章类型, e.g. 合同专用章.
    pub seal_type: String,
    /// 签章方式: 云签章 (cloud) or UKey.
    pub signing_mode: String,
    /// 有效期: one or two years.
    pub validity: String,
    /// 审批机关.
    pub authority: String,
    /// 申请人.
    pub applicant: String,
    /// 联系电话, already masked.
    pub phone: String,
    /// 申请日期.
    pub date: String,
}

/// The declaration the applicant signs.
pub const DECLARATION: &str = "本单位申请制作上述电子印章，承诺所填信息真实、准确、完整，\
并已知悉电子印章使用与管理的有关规定。本单位将妥善保管电子印章及其签章介质（UKey）或云签章账户，\
因保管不善或违规使用造成的一切后果由本单位承担。";
pub const DECLARATION_EN: &str = "We apply for the electronic seal above, declare that the \
information given is true, accurate and complete, and accept the rules for the use and custody of \
electronic seals.";

const LEFT: f64 = 18.0;
const RIGHT: f64 = 192.0;
const LABEL_W: f64 = 50.0;
const PAD: f64 = 3.0;
const VALUE_PT: f64 = 11.0;
const VALUE_LH: f64 = 5.5;
/// A value may take this many lines before the form refuses it.
const VALUE_MAX_LINES: usize = 3;
const BOTTOM: f64 = 285.0;

/// The form for `data` in `regular`, with `bold` for the title and headings when given (else the
/// regular face is emboldened). Fails on a character the font lacks, naming it, and on a value
/// too long for its row.
pub fn application_form(
    regular: &Font,
    bold: Option<&Font>,
    data: &FormData,
) -> Result<Vec<u8>, ComposeError> {
    let mut doc = Composer::new();
    doc.set_title(&format!("电子印章申请表 {}", data.application_no));
    doc.set_language("zh-CN");
    let reg = doc.add_font(regular);
    let (strong, synthetic) = match bold {
        Some(b) => (doc.add_font(b), false),
        None => (reg, true),
    };
    let heading = |size| Style::new(strong, size).bold(synthetic);
    let text = |size| Style::new(reg, size);
    let mut page = doc.add_page();
    let p = &mut page;

    // Title, centred; the QR code of the application number in the top right corner, clear of it.
    p.text(
        105.0,
        27.0,
        "电子印章申请表",
        heading(22.0).align(Align::Centre),
    )?;
    p.text(
        105.0,
        35.0,
        "Electronic Seal Application Form",
        text(10.5).align(Align::Centre).gray(0.25),
    )?;
    let qr = 24.0;
    p.qr(RIGHT - qr, 12.0, qr, data.application_no.as_bytes())?;
    let no_at = RIGHT - qr / 2.0;
    if regular.text_width(&data.application_no, 6.5)? <= qr + 8.0 {
        p.text(
            no_at,
            39.5,
            &data.application_no,
            text(6.5).align(Align::Centre),
        )?;
    }

    let mut y = 50.0;
    let w = p.text(LEFT, y, "申请编号", heading(10.5))?;
    let w2 = p.text(LEFT + w + 1.5, y, "Application No.", text(7.5).gray(0.3))?;
    p.text(LEFT + w + w2 + 4.0, y, &data.application_no, text(VALUE_PT))?;
    y += 5.0;

    let rows: [(&str, &str, &'static str, &str); 10] = [
        (
            "申请单位",
            "Applicant organisation",
            "unit_name",
            &data.unit_name,
        ),
        (
            "统一社会信用代码",
            "Unified social credit code",
            "credit_code",
            &data.credit_code,
        ),
        ("印章名称", "Seal name", "seal_name", &data.seal_name),
        ("印章类型", "Seal type", "seal_type", &data.seal_type),
        (
            "签章方式",
            "Signing mode (cloud / UKey)",
            "signing_mode",
            &data.signing_mode,
        ),
        ("有效期", "Validity", "validity", &data.validity),
        (
            "审批机关",
            "Approving authority",
            "authority",
            &data.authority,
        ),
        ("申请人", "Applicant", "applicant", &data.applicant),
        ("联系电话", "Phone", "phone", &data.phone),
        ("申请日期", "Date of application", "date", &data.date),
    ];
    let value_w = RIGHT - LEFT - LABEL_W - 2.0 * PAD;
    let table_top = y;
    let mut rules = Vec::with_capacity(rows.len());
    for (zh, en, field, value) in rows {
        let lines = regular.wrap(value, VALUE_PT, value_w)?;
        if lines.len() > VALUE_MAX_LINES {
            return Err(ComposeError::DoesNotFit {
                field,
                lines: lines.len(),
                max: VALUE_MAX_LINES,
            });
        }
        let h = (lines.len() as f64 * VALUE_LH + 5.0).max(11.0);
        p.fill_rect(LEFT, y, LABEL_W, h, 0.93);
        label(
            p,
            LEFT + PAD,
            y,
            h,
            zh,
            en,
            heading(10.5),
            text(7.0).gray(0.3),
        )?;
        let first = y + (h - lines.len() as f64 * VALUE_LH) / 2.0 + VALUE_LH * 0.72;
        for (i, line) in lines.iter().enumerate() {
            let at = first + i as f64 * VALUE_LH;
            p.text(LEFT + LABEL_W + PAD, at, line, text(VALUE_PT))?;
        }
        y += h;
        rules.push(y);
    }
    // Rules after all fills: a row's gray fill would cover half the rule above it.
    for &r in &rules {
        p.line(LEFT, r, RIGHT, r, 0.5);
    }
    p.line(LEFT + LABEL_W, table_top, LEFT + LABEL_W, y, 0.5);

    // The declaration spans the table's width, under the rows.
    let decl_top = y;
    let inner = RIGHT - LEFT - 2.0 * PAD;
    y += 7.0;
    let w = p.text(LEFT + PAD, y, "申请声明", heading(10.5))?;
    p.text(LEFT + PAD + w + 1.5, y, "Declaration", text(7.5).gray(0.3))?;
    y += 6.5;
    for line in regular.wrap(DECLARATION, 10.5, inner)? {
        p.text(LEFT + PAD, y, &line, text(10.5))?;
        y += 5.6;
    }
    y += 0.5;
    for line in regular.wrap(DECLARATION_EN, 7.5, inner)? {
        p.text(LEFT + PAD, y, &line, text(7.5).gray(0.3))?;
        y += 3.8;
    }
    y += 1.5;
    p.rect(LEFT, table_top, RIGHT - LEFT, y - table_top, 0.9);
    p.line(LEFT, decl_top, RIGHT, decl_top, 0.5);

    // Two boxes for the stamp and the signature, each with a date line.
    y += 6.0;
    // Room for a 42 mm round seal between the heading and the date line.
    let box_h = 60.0;
    if y + box_h > BOTTOM {
        return Err(ComposeError::DoesNotFit {
            field: "form",
            lines: ((y + box_h - BOTTOM) / VALUE_LH).ceil() as usize,
            max: 0,
        });
    }
    let gap = 6.0;
    let box_w = (RIGHT - LEFT - gap) / 2.0;
    for (i, (zh, en)) in [("单位盖章", "(unit stamp)"), ("经办人签字", "(signature)")]
        .into_iter()
        .enumerate()
    {
        let x = LEFT + i as f64 * (box_w + gap);
        p.rect(x, y, box_w, box_h, 0.9);
        let w = p.text(x + PAD, y + 7.0, zh, heading(11.0))?;
        p.text(x + PAD + w + 1.5, y + 7.0, en, text(8.0).gray(0.3))?;
        date_line(p, x, y + box_h - 6.0, box_w, text(9.0))?;
    }
    doc.finish()
}

/// A two-line label (Chinese above, English below) centred vertically in a row `h` mm high.
#[allow(clippy::too_many_arguments)]
fn label(
    p: &mut PageBuilder<'_>,
    x: f64,
    top: f64,
    h: f64,
    zh: &str,
    en: &str,
    zh_style: Style,
    en_style: Style,
) -> Result<(), ComposeError> {
    // Heights of the two lines' ink (about 0.8 and 0.75 of their sizes) and the gap between them.
    let zh_h = zh_style.size_pt * 0.8 * 25.4 / 72.0;
    let en_h = en_style.size_pt * 0.75 * 25.4 / 72.0;
    let block = zh_h + 1.6 + en_h;
    let base = top + (h - block) / 2.0 + zh_h;
    p.text(x, base, zh, zh_style)?;
    p.text(x, base + 1.6 + en_h, en, en_style)?;
    Ok(())
}

/// "日期 Date" and a line with 年 月 日 set along it.
fn date_line(
    p: &mut PageBuilder<'_>,
    x: f64,
    base: f64,
    box_w: f64,
    style: Style,
) -> Result<(), ComposeError> {
    let w = p.text(x + PAD, base, "日期 Date", style)?;
    let start = x + PAD + w + 2.0;
    let end = x + box_w - PAD;
    p.line(start, base + 1.0, end, base + 1.0, 0.4);
    let span = end - start;
    for (frac, ch) in [(0.42, "年"), (0.7, "月"), (0.97, "日")] {
        p.text(start + span * frac, base, ch, style.align(Align::Right))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTO: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

    #[test]
    fn values_too_long_or_without_glyphs_are_refused_by_field() {
        let Ok(bytes) = std::fs::read(NOTO) else {
            eprintln!("skipping: {NOTO} is missing");
            return;
        };
        let Ok(font) = Font::from_collection(bytes, "CJKsc") else {
            panic!("no SC face in {NOTO}");
        };
        let mut data = FormData {
            application_no: "SQ-1".into(),
            seal_name: "印".repeat(200),
            ..FormData::default()
        };
        let e = application_form(&font, None, &data).unwrap_err();
        assert!(
            matches!(
                e,
                ComposeError::DoesNotFit {
                    field: "seal_name",
                    max: 3,
                    ..
                }
            ),
            "{e}"
        );
        // A character outside the font (a private-use code point) is named, not dropped.
        data.seal_name = "合同专用章\u{E000}".into();
        let e = application_form(&font, None, &data).unwrap_err();
        assert!(e.to_string().contains("U+E000"), "{e}");
        // Empty values make a blank form, which still lays out.
        data.seal_name.clear();
        assert!(application_form(&font, None, &data).is_ok());
    }
}
