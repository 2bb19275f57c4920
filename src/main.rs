use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vitrine::cli::Cli;
use vitrine::commands;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("VITRINE_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,hnsw_rs=warn,sqlx::postgres::notice=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
