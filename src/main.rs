//! `sealpki` binary: parse arguments, set up logging, run the command, turn errors into exit codes.

use clap::Parser;

/// Verifiers answer 0 valid, 1 invalid, 2 indeterminate; usage errors and unreadable input are 3.
fn is_verifier(args: &[String]) -> bool {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    words.windows(2).any(|w| {
        (w[0] == "ses" && matches!(w[1], "verify" | "inspect"))
            || (matches!(w[0], "pdf" | "cert" | "tsa") && w[1] == "verify")
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let verifier = is_verifier(&args);
    let cli = match sealpki::cli::Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if verifier && e.use_stderr() => {
            let _ = e.print();
            std::process::exit(3);
        }
        Err(e) => e.exit(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALPKI_LOG")
                .unwrap_or_else(|_| "warn,sealpki=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(3);
        }
    };
    let code = match rt.block_on(sealpki::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                _ if verifier => 3,
                sealpki::error::AppError::BadRequest(_) => 2,
                _ => 1,
            }
        }
    };
    // Stop every task (the server's, the committer) so the stores they hold are dropped, then
    // finalise PKCS#11 modules before the process's exit handlers run.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    sealpki_pki::keys::pkcs11::finalize_all();
    std::process::exit(code);
}
