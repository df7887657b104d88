//! Crash points for the crash tests: `SEALPKI_FAILPOINT=NAME` makes the process abort, as a
//! power cut or SIGKILL would, when it reaches `hit(NAME)`. Unset (always, outside tests), a
//! `hit` is one comparison with a value read once.

use std::sync::OnceLock;

pub fn hit(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("SEALPKI_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
