//! `sealpki` binary: parse arguments, set up logging, run the command, turn errors into exit codes.

use clap::Parser;

fn main() {
    let cli = sealpki::cli::Cli::parse();
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
                sealpki::error::AppError::BadRequest(_) => 2,
                _ => 1,
            }
        }
    };
    std::process::exit(code);
}
