//! The console's languages: Simplified Chinese (the default) and English, each one message catalogue
//! (`i18n/zh-CN.toml`, `i18n/en.toml`, embedded), and the choice per request — the `lang` cookie set
//! by the switch, else `Accept-Language`, else Chinese.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

const ZH_CN: &str = include_str!("i18n/zh-CN.toml");
const EN: &str = include_str!("i18n/en.toml");

/// A language of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    /// The BCP 47 tag (the `lang` attribute and the cookie value).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "zh" || t.starts_with("zh-") {
            Some(Lang::ZhCn)
        } else if t == "en" || t.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    pub fn catalog(self) -> &'static Catalog {
        static ZH: LazyLock<Catalog> = LazyLock::new(|| Catalog::parse(ZH_CN));
        static EN_: LazyLock<Catalog> = LazyLock::new(|| Catalog::parse(EN));
        match self {
            Lang::ZhCn => &ZH,
            Lang::En => &EN_,
        }
    }

    /// The language of a request: the `lang` cookie, else the most preferred supported language of
    /// `Accept-Language`, else Chinese.
    pub fn of(headers: &axum::http::HeaderMap) -> Lang {
        for v in headers.get_all(header::COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            for c in v.split(';') {
                if let Some(("lang", val)) = c.trim().split_once('=') {
                    if let Some(l) = Lang::parse(val) {
                        return l;
                    }
                }
            }
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        accept_language(accept).unwrap_or(Lang::ZhCn)
    }
}

/// The supported language with the highest weight in an `Accept-Language` value (ties: the first).
fn accept_language(v: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in v.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("");
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .map(|q| q.parse::<f32>().unwrap_or(0.0))
            })
            .unwrap_or(1.0);
        if let Some(l) = Lang::parse(tag) {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map(|(_, l)| l)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(&parts.headers))
    }
}

/// One language's messages, by dotted key (`[verify] title` is `verify.title`).
pub struct Catalog {
    messages: BTreeMap<String, String>,
}

impl Catalog {
    fn parse(text: &str) -> Catalog {
        let table: toml::Table = text
            .parse()
            .expect("embedded message catalogue is valid TOML");
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages);
        Catalog { messages }
    }

    /// The message for `key`; the key itself when missing (a test keeps every used key present).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The message for `key` when there is one.
    pub fn find(&self, key: &str) -> Option<&str> {
        self.messages.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

fn flatten(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => panic!("message {key} is not a string: {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let zh: Vec<&str> = Lang::ZhCn.catalog().keys().collect();
        let en: Vec<&str> = Lang::En.catalog().keys().collect();
        let only_zh: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
        );
        assert!(zh.len() > 50);
    }

    /// Every key the templates and the web code hand to `tr` exists in the catalogue.
    #[test]
    fn every_used_key_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for dir in ["templates", "src/web"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "html" || x == "rs") {
                    texts.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        let cat = Lang::ZhCn.catalog();
        let mut seen = 0;
        for (path, text) in texts {
            for piece in text.split("tr(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                if key.ends_with('.') || key.is_empty() {
                    continue; // a prefix completed at run time
                }
                seen += 1;
                assert!(
                    cat.find(key).is_some(),
                    "{}: no message {key}",
                    path.display()
                );
            }
        }
        assert!(seen > 40, "only {seen} keys found in the templates");
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::ZhCn));
        assert_eq!(accept_language("fr, en;q=0.5, zh;q=0.7"), Some(Lang::ZhCn));
        assert_eq!(accept_language("fr"), None);
        assert_eq!(accept_language("en;q=0"), None);
    }
}
