//! Cheap project rules, enforced by `cargo test`: every Rust file opens with a `//!` line saying what
//! it owns; SQL stays in `src/store`; only `pki/src/keys/pkcs11.rs` imports cryptoki in the library.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn files(under: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(under), &mut v);
    v
}

#[test]
fn every_file_says_what_it_owns() {
    for f in ["src", "pki/src", "tests"].iter().flat_map(|d| files(d)) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a //! line",
            f.display()
        );
    }
}

#[test]
fn sql_lives_only_in_the_store() {
    for f in files("src")
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("/src/store/"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("sqlx"),
            "{} names sqlx outside src/store (SQL and the driver stay in the store)",
            f.display()
        );
    }
}

#[test]
fn only_the_token_backend_touches_cryptoki() {
    for f in files("pki/src")
        .into_iter()
        .filter(|f| !f.ends_with("keys/pkcs11.rs"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("cryptoki::"),
            "{} imports cryptoki",
            f.display()
        );
    }
    for f in files("src") {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("cryptoki"),
            "{}: the service reaches tokens only through pki",
            f.display()
        );
    }
}

/// The command line lives in `src/cli/` (every command, benchmarks included); the HTTP API, the
/// console and the services below them never import it.
#[test]
fn nothing_but_main_imports_the_command_line() {
    for f in files("src")
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("/src/cli/") && !f.ends_with("main.rs"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("crate::cli"),
            "{} names crate::cli",
            f.display()
        );
    }
}

/// Every chain is judged by the one path validator: no module but `validate` walks issuer links by
/// itself (`verify_signed_by` is for issuance self-checks and path *building* in the service).
#[test]
fn verifiers_use_the_one_path_validator() {
    for f in files("pki/src")
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("/validate/") && !f.ends_with("issue.rs"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("verify_signed_by"),
            "{} checks issuer signatures outside pki::validate",
            f.display()
        );
    }
}

/// The web console is a front end beside the HTTP API: it never names the command line's modules
/// nor the API's (both reach the same services: `App`, `public`, `store` reads); `http/` names
/// `crate::web` only where its router is wired (`http/mod.rs`).
#[test]
fn the_web_console_and_the_api_do_not_import_each_other() {
    let web = files("src/web");
    assert!(!web.is_empty());
    for f in web {
        let text = std::fs::read_to_string(&f).unwrap();
        for m in ["crate::cli", "crate::http", "super::super::http"] {
            assert!(!text.contains(m), "{} names {m}", f.display());
        }
    }
    for f in files("src/http")
        .into_iter()
        .filter(|f| !f.ends_with("http/mod.rs"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("crate::web"),
            "{} names crate::web outside the router wiring",
            f.display()
        );
    }
}

/// The layers point one way: workflows call the CA and the signing service, which never name a
/// workflow, an account service or a front end; the store names no service.
#[test]
fn the_core_does_not_import_what_is_built_on_it() {
    for (dir, banned) in [
        (
            "src/ca",
            &["crate::workflow", "crate::http", "crate::web", "crate::cli"][..],
        ),
        (
            "src/signing",
            &["crate::workflow", "crate::http", "crate::web", "crate::cli"][..],
        ),
        (
            "src/store",
            &[
                "crate::workflow",
                "crate::accounts",
                "crate::http",
                "crate::web",
                "crate::cli",
                "crate::ca",
            ][..],
        ),
    ] {
        let fs = files(dir);
        assert!(!fs.is_empty(), "{dir}");
        for f in fs {
            let text = std::fs::read_to_string(&f).unwrap();
            for m in banned {
                assert!(!text.contains(m), "{} names {m}", f.display());
            }
        }
    }
}

/// API routes are registered only with their documentation: through the route table in
/// `src/http/mod.rs` (`routes!` of `#[utoipa::path]` handlers). Nothing outside the web console
/// calls axum's `.route(` family, and the console's own routes are pages, never API-looking paths.
#[test]
fn api_routes_are_registered_with_their_documentation() {
    let calls = [".route(", ".route_service(", ".nest(", ".nest_service("];
    for f in files("src")
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("/src/web/"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for c in calls {
                assert!(
                    !line.contains(c),
                    "{}:{}: `{c}` registers a route without its documentation; add a \
                     `#[utoipa::path]` to the handler and a line to the table in src/http/mod.rs",
                    f.display(),
                    n + 1
                );
            }
        }
    }
    let api = [
        "/api", "/ocsp", "/crl", "/ca/", "/tsa", "/healthz", "/readyz", "/metrics",
    ];
    for f in files("src/web") {
        let text = std::fs::read_to_string(&f).unwrap();
        for chunk in text.split(".route(").skip(1) {
            let path = chunk
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split_once('"'))
                .map(|(p, _)| p)
                .unwrap_or_else(|| panic!("{}: a .route( without a literal path", f.display()));
            assert!(
                !api.iter().any(|a| path.starts_with(a)),
                "{}: console route {path} looks like an API route; API routes go in the table of \
                 src/http/mod.rs with their documentation",
                f.display()
            );
        }
    }
}
