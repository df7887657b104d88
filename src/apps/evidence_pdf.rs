//! The evidence report (存证报告) as an A4 PDF, in Simplified Chinese or in English (one
//! language a document): the title, a QR code of the verification URL, a summary table, one
//! table per sealing with every hash in full, the audit-chain entry and its checkpoint, and a
//! closing note naming the platform's signing certificate. Pure layout over
//! `sealpki_pki::pdf::compose`: rows are measured first, then paginated (a heading stays with
//! its first row), then drawn, each page with a footer and its number. Text the font cannot
//! show (an app's keyword, a name) is printed with `?` in its place rather than refused.

use sealpki_pki::pdf::compose::{Align, ComposeError, Composer, Font, Style};

use super::evidence::{EvidenceReport, ReportLang, SealingEvidence};

/// The certificate the report is signed with, for the closing note.
pub struct Signer {
    pub subject: String,
    pub serial: String,
}

/// The report's title in `lang`.
pub fn title(lang: ReportLang) -> &'static str {
    match lang {
        ReportLang::Zh => "电子印章使用存证报告",
        ReportLang::En => "Electronic seal evidence report",
    }
}

const LEFT: f64 = 18.0;
const RIGHT: f64 = 192.0;
const LABEL_W: f64 = 46.0;
const PAD: f64 = 2.5;
const VPAD: f64 = 1.9;
const SIZE: f64 = 9.0;
const LH: f64 = 4.4;
/// Where page 1's content starts, under the title and the QR code.
const FIRST_TOP: f64 = 44.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 278.0;
const HEADING_H: f64 = 10.0;

/// One thing on a page, measured.
enum Item {
    Heading(String),
    Row {
        label: Vec<String>,
        value: Vec<String>,
        h: f64,
    },
    Note {
        lines: Vec<String>,
        h: f64,
    },
    Gap(f64),
}

impl Item {
    fn height(&self) -> f64 {
        match self {
            Item::Heading(_) => HEADING_H,
            Item::Row { h, .. } | Item::Note { h, .. } => *h,
            Item::Gap(g) => *g,
        }
    }
}

/// `s` with every character `font` has no glyph for replaced by `?`.
fn printable(font: &Font, s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\n' || font.text_width(&c.to_string(), SIZE).is_ok() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn mm(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A Unix time as the report shows it: Beijing time in Chinese, UTC in English.
fn when(lang: ReportLang, unix: i64) -> String {
    match lang {
        ReportLang::Zh => {
            let t = super::evidence::rfc3339(unix + 8 * 3600);
            format!("{}（北京时间）", t.replace('T', " ").trim_end_matches('Z'))
        }
        ReportLang::En => super::evidence::rfc3339(unix),
    }
}

fn when_unix(lang: ReportLang, unix: i64) -> String {
    format!("{} · Unix {unix}", when(lang, unix))
}

/// One placement asked for, in words.
fn placement(lang: ReportLang, p: &serde_json::Value) -> String {
    let num = |k: &str| p.get(k).and_then(serde_json::Value::as_f64);
    let int = |k: &str| p.get(k).and_then(serde_json::Value::as_u64);
    let zh = lang == ReportLang::Zh;
    match p.get("kind").and_then(|k| k.as_str()) {
        Some("at") => match (int("page"), num("x_mm"), num("y_mm")) {
            (Some(page), Some(x), Some(y)) if zh => {
                format!("第 {page} 页，距左 {} mm、距顶 {} mm", mm(x), mm(y))
            }
            (Some(page), Some(x), Some(y)) => format!(
                "page {page}, {} mm from the left, {} mm from the top",
                mm(x),
                mm(y)
            ),
            _ => p.to_string(),
        },
        Some("keyword") => {
            let text = p.get("text").and_then(|t| t.as_str()).unwrap_or("");
            let n = int("occurrence").unwrap_or(1);
            match (zh, int("page")) {
                (true, Some(page)) => format!("关键字“{text}”第 {n} 处（第 {page} 页）"),
                (true, None) => format!("关键字“{text}”第 {n} 处"),
                (false, Some(page)) => {
                    format!("keyword “{text}”, occurrence {n} on page {page}")
                }
                (false, None) => format!("keyword “{text}”, occurrence {n}"),
            }
        }
        Some("cross-page") => {
            let pages = match p.get("pages") {
                Some(serde_json::Value::String(s)) => match (zh, s.as_str()) {
                    (true, "all") => "全部页".to_string(),
                    (true, "odd") => "奇数页".to_string(),
                    (true, "even") => "偶数页".to_string(),
                    (false, "all") => "all pages".to_string(),
                    (false, "odd") => "odd pages".to_string(),
                    (false, "even") => "even pages".to_string(),
                    (_, other) => other.to_string(),
                },
                Some(v) => {
                    let list: Vec<String> = v
                        .get("list")
                        .and_then(|l| l.as_array())
                        .map(|a| a.iter().map(|n| n.to_string()).collect())
                        .unwrap_or_default();
                    if zh {
                        format!("第 {} 页", list.join("、"))
                    } else {
                        format!("pages {}", list.join(", "))
                    }
                }
                None => String::new(),
            };
            match (zh, num("y_mm")) {
                (true, Some(y)) => format!("骑缝章：{pages}，距顶 {} mm", mm(y)),
                (true, None) => format!("骑缝章：{pages}，页面中部"),
                (false, Some(y)) => {
                    format!("cross-page seal over {pages}, {} mm from the top", mm(y))
                }
                (false, None) => format!("cross-page seal over {pages}, half-way down"),
            }
        }
        _ => p.to_string(),
    }
}

/// The labels of one language.
struct Words {
    summary: &'static str,
    document: &'static str,
    app: &'static str,
    sealings: &'static str,
    made: &'static str,
    verification: &'static str,
    signed_by: &'static str,
    sealing: &'static str,
    evidence_id: &'static str,
    sealed_at: &'static str,
    seal: &'static str,
    seal_code: &'static str,
    seal_type: &'static str,
    organisation: &'static str,
    cert_serial: &'static str,
    cert_subject: &'static str,
    cert_issuer: &'static str,
    cert_validity: &'static str,
    input: &'static str,
    output: &'static str,
    output_size: &'static str,
    level: &'static str,
    field: &'static str,
    placements: &'static str,
    client: &'static str,
    grant: &'static str,
    audit: &'static str,
    audit_hash: &'static str,
    audit_prev: &'static str,
    checkpoint: &'static str,
    check: &'static str,
    notes: &'static str,
    page: &'static str,
}

const ZH: Words = Words {
    summary: "概要",
    document: "文件 SHA-256",
    app: "应用",
    sealings: "盖章记录数",
    made: "报告生成时间",
    verification: "核验地址",
    signed_by: "报告签名",
    sealing: "盖章记录",
    evidence_id: "存证编号",
    sealed_at: "盖章时间",
    seal: "印章名称",
    seal_code: "印章编码",
    seal_type: "印章类型",
    organisation: "用章单位",
    cert_serial: "签章证书序列号",
    cert_subject: "证书主题",
    cert_issuer: "证书颁发者",
    cert_validity: "证书有效期",
    input: "原文件 SHA-256",
    output: "盖章后文件 SHA-256",
    output_size: "盖章后文件大小",
    level: "签章级别",
    field: "签名域",
    placements: "盖章位置",
    client: "来源地址",
    grant: "授权编号",
    audit: "审计链记录",
    audit_hash: "记录哈希",
    audit_prev: "前一记录哈希",
    checkpoint: "签名检查点",
    check: "核对结果",
    notes: "说明",
    page: "第 {p} 页 / 共 {n} 页",
};

const EN: Words = Words {
    summary: "Summary",
    document: "Document SHA-256",
    app: "Application",
    sealings: "Sealings",
    made: "Report made",
    verification: "Verification",
    signed_by: "Report signed by",
    sealing: "Sealing",
    evidence_id: "Evidence id",
    sealed_at: "Sealed at",
    seal: "Seal",
    seal_code: "Seal code",
    seal_type: "Seal type",
    organisation: "Organisation",
    cert_serial: "Certificate serial",
    cert_subject: "Certificate subject",
    cert_issuer: "Certificate issuer",
    cert_validity: "Certificate validity",
    input: "Original SHA-256",
    output: "Sealed document SHA-256",
    output_size: "Sealed document size",
    level: "Signature level",
    field: "Signature field",
    placements: "Placements",
    client: "Client address",
    grant: "Authorization",
    audit: "Audit chain entry",
    audit_hash: "Entry hash",
    audit_prev: "Previous entry hash",
    checkpoint: "Signed checkpoint",
    check: "Check",
    notes: "Notes",
    page: "Page {p} of {n}",
};

fn words(lang: ReportLang) -> &'static Words {
    match lang {
        ReportLang::Zh => &ZH,
        ReportLang::En => &EN,
    }
}

fn seal_type(lang: ReportLang, t: &str) -> String {
    use crate::workflow::Named;
    match (lang, crate::seals::SealType::parse(t)) {
        (ReportLang::Zh, Some(st)) => st.zh().to_string(),
        _ => t.to_string(),
    }
}

/// The rows of one sealing.
fn sealing_rows(lang: ReportLang, s: &SealingEvidence) -> Vec<(&'static str, String)> {
    let w = words(lang);
    let zh = lang == ReportLang::Zh;
    let places: Vec<String> = match &s.placements {
        serde_json::Value::Array(a) => a.iter().map(|p| placement(lang, p)).collect(),
        other => vec![other.to_string()],
    };
    let validity = if zh {
        format!(
            "{} 至 {}",
            when(lang, s.certificate.not_before_unix),
            when(lang, s.certificate.not_after_unix)
        )
    } else {
        format!(
            "{} to {}",
            when(lang, s.certificate.not_before_unix),
            when(lang, s.certificate.not_after_unix)
        )
    };
    let mut rows = vec![
        (w.evidence_id, s.evidence_id.clone()),
        (w.sealed_at, when_unix(lang, s.sealed_at_unix)),
        (w.seal, s.seal.name.clone()),
        (w.seal_code, s.seal.code.clone()),
        (w.seal_type, seal_type(lang, &s.seal.seal_type)),
        (
            w.organisation,
            if zh {
                format!(
                    "{}（统一社会信用代码 {}）",
                    s.seal.organisation.name, s.seal.organisation.credit_code
                )
            } else {
                format!(
                    "{} (unified social credit code {})",
                    s.seal.organisation.name, s.seal.organisation.credit_code
                )
            },
        ),
        (w.cert_serial, s.certificate.serial.clone()),
        // Room to break a line between attributes (the JSON keeps RFC 4514 as it is).
        (w.cert_subject, s.certificate.subject.replace(',', ", ")),
        (w.cert_issuer, s.certificate.issuer.replace(',', ", ")),
        (w.cert_validity, validity),
        (w.input, s.input_sha256.clone()),
        (w.output, s.output_sha256.clone()),
        (
            w.output_size,
            if zh {
                format!("{} 字节", s.output_bytes)
            } else {
                format!("{} bytes", s.output_bytes)
            },
        ),
        (w.level, format!("PAdES {}", s.level.to_ascii_uppercase())),
        (w.field, s.field.clone()),
        (w.placements, places.join("\n")),
        (w.client, s.client.clone()),
        (w.grant, s.grant_id.clone()),
    ];
    match &s.audit {
        Some(a) => {
            let actor = a.actor.clone().unwrap_or_default();
            let action = a.action.clone().unwrap_or_default();
            let at = a.at_unix.map(|t| when(lang, t)).unwrap_or_default();
            rows.push((
                w.audit,
                if zh {
                    format!("第 {} 条 · {action} · {actor} · {at}", a.seq)
                } else {
                    format!("entry {} · {action} · {actor} · {at}", a.seq)
                },
            ));
            rows.push((w.audit_hash, a.hash.clone()));
            rows.push((
                w.audit_prev,
                a.prev_hash.clone().unwrap_or_else(|| "—".into()),
            ));
            rows.push((
                w.checkpoint,
                match &a.checkpoint {
                    Some(c) if zh => format!(
                        "第 {} 条 · {}\n链头哈希 {}",
                        c.seq,
                        when(lang, c.signed_at_unix),
                        c.head_hash
                    ),
                    Some(c) => format!(
                        "entry {} · {}\nhead hash {}",
                        c.seq,
                        when(lang, c.signed_at_unix),
                        c.head_hash
                    ),
                    None if zh => "尚无（下一个检查点签署后覆盖本记录）".into(),
                    None => "none yet (the next checkpoint will cover this entry)".into(),
                },
            ));
            rows.push((
                w.check,
                match (zh, a.verified) {
                    (true, true) => "一致：记录存在，哈希与其内容相符，且记载本次盖章".into(),
                    (true, false) => "不一致：记录缺失或与存证不符".into(),
                    (false, true) => "consistent: the entry exists, its hash matches its content and it records this sealing".into(),
                    (false, false) => "INCONSISTENT: the entry is missing or does not match the evidence".into(),
                },
            ));
        }
        None => rows.push((
            w.audit,
            if zh {
                "未关联（早于存证记录审计链序号的盖章）".into()
            } else {
                "not linked (sealed before evidence named its audit entry)".into()
            },
        )),
    }
    rows
}

/// The report as a PDF.
pub fn compose(
    regular: &Font,
    bold: Option<&Font>,
    report: &EvidenceReport,
    lang: ReportLang,
    signer: &Signer,
) -> Result<Vec<u8>, ComposeError> {
    let w = words(lang);
    let zh = lang == ReportLang::Zh;
    let value_w = RIGHT - LEFT - LABEL_W - 2.0 * PAD;
    let label_w = LABEL_W - 2.0 * PAD;
    let row = |label: &str, value: &str| -> Result<Item, ComposeError> {
        let label = regular.wrap(&printable(regular, label), SIZE, label_w)?;
        let value = regular.wrap(&printable(regular, value), SIZE, value_w)?;
        let h = label.len().max(value.len()) as f64 * LH + 2.0 * VPAD;
        Ok(Item::Row { label, value, h })
    };

    let mut items = vec![Item::Heading(w.summary.to_string())];
    let n = report.sealings.len();
    for (label, value) in [
        (w.document, report.document_sha256.clone()),
        (w.app, format!("{}\n{}", report.app.name, report.app.id)),
        (w.sealings, n.to_string()),
        (w.made, when_unix(lang, report.generated_at_unix)),
        (w.verification, report.verification_url.clone()),
        (
            w.signed_by,
            if zh {
                format!("{}\n证书序列号 {}", signer.subject, signer.serial)
            } else {
                format!("{}\ncertificate serial {}", signer.subject, signer.serial)
            },
        ),
    ] {
        items.push(row(label, &value)?);
    }
    for (i, s) in report.sealings.iter().enumerate() {
        items.push(Item::Gap(4.0));
        items.push(Item::Heading(if zh {
            format!("{} {} / {n}", w.sealing, i + 1)
        } else {
            format!("{} {} of {n}", w.sealing, i + 1)
        }));
        for (label, value) in sealing_rows(lang, s) {
            items.push(row(label, &value)?);
        }
    }
    let note = if zh {
        format!(
            "本报告根据 sealpki 电子印章平台保存的存证记录及审计链生成，列出上述应用对该文件的全部盖章记录。\
             报告由平台存证报告签名证书（{}，序列号 {}）签名，并加盖平台时间戳服务的时间戳（PAdES B-T），\
             任何改动都会使签名失效。可在 {} 核验本报告或已盖章的文件；文件的 SHA-256 可用 sha256sum 等工具自行计算比对。",
            signer.subject, signer.serial, report.verification_url
        )
    } else {
        format!(
            "This report is made from the evidence records and the audit chain kept by the sealpki \
             electronic seal platform and lists every sealing of the document by the application \
             above. It is signed with the platform's evidence report certificate ({}, serial {}) \
             and time-stamped by the platform's time-stamping service (PAdES B-T); any change \
             invalidates the signature. Verify this report or a sealed document at {}; a \
             document's SHA-256 can be computed with sha256sum or any similar tool.",
            signer.subject, signer.serial, report.verification_url
        )
    };
    items.push(Item::Gap(5.0));
    items.push(Item::Heading(w.notes.to_string()));
    let lines = regular.wrap(&printable(regular, &note), SIZE, RIGHT - LEFT)?;
    let h = lines.len() as f64 * LH + 2.0;
    items.push(Item::Note { lines, h });

    // Paginate: a heading stays with the item after it; a gap at the top of a page is dropped.
    let mut pages: Vec<Vec<(f64, usize)>> = vec![Vec::new()];
    let mut y = FIRST_TOP;
    for (i, item) in items.iter().enumerate() {
        let need = match item {
            Item::Heading(_) => item.height() + items.get(i + 1).map_or(0.0, Item::height),
            _ => item.height(),
        };
        if y + need > BOTTOM && pages.last().is_some_and(|p| !p.is_empty()) {
            pages.push(Vec::new());
            y = TOP;
        }
        if matches!(item, Item::Gap(_)) && pages.last().is_some_and(Vec::is_empty) {
            continue;
        }
        if let Some(p) = pages.last_mut() {
            p.push((y, i));
        }
        y += item.height();
    }

    let mut doc = Composer::new();
    doc.set_title(&format!("{} {}", title(lang), report.document_sha256));
    doc.set_language(if zh { "zh-CN" } else { "en" });
    let reg = doc.add_font(regular);
    let (strong, synthetic) = match bold {
        Some(b) => (doc.add_font(b), false),
        None => (reg, true),
    };
    let text = |size| Style::new(reg, size);
    let heading = |size| Style::new(strong, size).bold(synthetic);
    let count = pages.len();
    for (pi, placed) in pages.iter().enumerate() {
        let mut page = doc.add_page();
        let p = &mut page;
        if pi == 0 {
            p.text(105.0, 24.0, title(lang), heading(20.0).align(Align::Centre))?;
            p.text(
                105.0,
                32.0,
                &when(lang, report.generated_at_unix),
                text(9.0).align(Align::Centre).gray(0.3),
            )?;
            let qr = 22.0;
            p.qr(RIGHT - qr, 10.0, qr, report.verification_url.as_bytes())?;
            let url = printable(regular, &report.verification_url);
            if regular.text_width(&url, 5.5)? <= qr + 14.0 {
                p.text(
                    RIGHT - qr / 2.0,
                    35.0,
                    &url,
                    text(5.5).align(Align::Centre).gray(0.3),
                )?;
            }
        }
        // Fills first, then text, then rules: a fill would cover half of the rule above it.
        for &(y, i) in placed {
            if let Item::Row { h, .. } = &items[i] {
                p.fill_rect(LEFT, y, LABEL_W, *h, 0.93);
            }
        }
        for &(y, i) in placed {
            match &items[i] {
                Item::Heading(t) => {
                    p.text(LEFT, y + 6.5, &printable(regular, t), heading(11.5))?;
                }
                Item::Row { label, value, .. } => {
                    let base = y + VPAD + LH * 0.75;
                    for (k, l) in label.iter().enumerate() {
                        p.text(LEFT + PAD, base + k as f64 * LH, l, text(SIZE).gray(0.2))?;
                    }
                    for (k, v) in value.iter().enumerate() {
                        p.text(LEFT + LABEL_W + PAD, base + k as f64 * LH, v, text(SIZE))?;
                    }
                }
                Item::Note { lines, .. } => {
                    for (k, l) in lines.iter().enumerate() {
                        p.text(LEFT, y + LH * (k as f64 + 0.8), l, text(SIZE).gray(0.2))?;
                    }
                }
                Item::Gap(_) => {}
            }
        }
        for &(y, i) in placed {
            if let Item::Row { h, .. } = &items[i] {
                p.rect(LEFT, y, RIGHT - LEFT, *h, 0.5);
                p.line(LEFT + LABEL_W, y, LEFT + LABEL_W, y + h, 0.5);
            }
        }
        let foot = 289.0;
        p.line(LEFT, foot - 4.5, RIGHT, foot - 4.5, 0.3);
        p.text(
            LEFT,
            foot,
            &format!(
                "{} · SHA-256 {}…",
                title(lang),
                report.document_sha256.get(..16).unwrap_or_default()
            ),
            text(7.0).gray(0.4),
        )?;
        p.text(
            RIGHT,
            foot,
            &w.page
                .replace("{p}", &(pi + 1).to_string())
                .replace("{n}", &count.to_string()),
            text(7.0).gray(0.4).align(Align::Right),
        )?;
    }
    doc.finish()
}
