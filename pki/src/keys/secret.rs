//! Secrets (PINs, passphrases): read from environment or file, never printed.

use std::path::Path;

use zeroize::Zeroizing;

/// A PIN or passphrase. Deliberately has no `Debug` or `Display`, so it cannot reach a log or an error.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// Read a secret from the environment variable `var`; `None` when unset or empty.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }

    /// Read a secret from a file; one trailing newline is dropped so `echo pin > file` works.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        let mut s = std::fs::read_to_string(path)?;
        if s.ends_with('\n') {
            s.pop();
            if s.ends_with('\r') {
                s.pop();
            }
        }
        Ok(Secret::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}
