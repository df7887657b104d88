//! Static assets embedded in the binary (the hand-written CSS, vendored htmx 2.0.11 and the
//! drawing pad's script), served at
//! `/static/NAME.HASH.EXT` — the hash of the content in the URL, so they can be cached for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    url: String,
    mime: &'static str,
    bytes: &'static [u8],
}

fn asset(stem: &str, ext: &str, mime: &'static str, bytes: &'static [u8]) -> Asset {
    let hash = hex::encode(&Sha256::digest(bytes)[..6]);
    Asset {
        url: format!("/static/{stem}.{hash}.{ext}"),
        mime,
        bytes,
    }
}

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        asset(
            "style",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("static/style.css"),
        ),
        asset(
            "htmx-2.0.11",
            "min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/htmx-2.0.11.min.js"),
        ),
        asset(
            "drawing-pad",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("static/drawing-pad.js"),
        ),
    ]
});

/// The URL of the style sheet.
pub fn css() -> &'static str {
    &ASSETS[0].url
}

/// The URL of htmx.
pub fn htmx() -> &'static str {
    &ASSETS[1].url
}

/// The URL of the drawing pad's script (hand-drawn name seals).
pub fn drawing_pad() -> &'static str {
    &ASSETS[2].url
}

/// `GET /static/{file}`: an asset by its hashed name, cached for a year; anything else 404.
pub async fn serve(Path(file): Path<String>) -> Response {
    let want = format!("/static/{file}");
    match ASSETS.iter().find(|a| a.url == want) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.mime)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
