use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vitrine::cli::Cli;
use vitrine::commands;
use vitrine::config::LogFormat;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("VITRINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,hnsw_rs=warn,sqlx::postgres::notice=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.global.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
