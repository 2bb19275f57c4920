//! What each command of the command line does: one module per command (`bench/` and `eval/`
//! hold one per subcommand). The commands parse nothing themselves ([`crate::cli`] does) and hold
//! no engine logic: they read files, call the engine crates, print and serve.

use std::path::PathBuf;

use vitrine_models::DataDir;

use crate::cli::{BenchCommand, Cli, Command, EvalCommand, ImportCommand, PublishCommand, ServeArgs};
use crate::config::ConfigFile;

mod bench;
mod demo;
mod dump;
mod eval;
mod import;
mod index;
mod publish;
mod runtime;
mod serve;
mod snapshot;
mod train;

/// The data directory used when neither flag, environment nor config file names one.
pub const DEFAULT_DATA_DIR: &str = "./vitrine-data";

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.global.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile { version: crate::config::CONFIG_VERSION, ..ConfigFile::default() },
    };
    let data_dir =
        DataDir::new(cli.global.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)));
    match cli.command {
        Command::Serve(ServeArgs { server, kafka }) => {
            serve::run(data_dir, server.layered_over(file.server), kafka.layered_over(file.kafka))
        }
        Command::Index(args) => index::run(&data_dir, args, file.kafka),
        Command::Publish(PublishCommand::Products(args)) => publish::products(&args, &file.kafka),
        Command::Demo(options) => demo::run(data_dir, options.layered_over(file.server)),
        Command::Import(ImportCommand::Products(args)) => import::products(&data_dir, &args),
        Command::Import(ImportCommand::Interactions(args)) => import::interactions(&data_dir, &args),
        Command::Train(args) => train::run(&data_dir, &args),
        Command::Dump(args) => dump::dump(&data_dir, &args),
        Command::Load(args) => dump::load(&data_dir, &args),
        Command::Snapshot(command) => snapshot::run(&data_dir, command),
        Command::Openapi => {
            let document = serde_json::to_string_pretty(&crate::http::openapi_document())?;
            println!("{document}");
            Ok(())
        }
        Command::Eval(EvalCommand::Search(args)) => eval::search::run(&data_dir, &args),
        Command::Bench(BenchCommand::Search(args)) => bench::search::run(&data_dir, &args),
        Command::Bench(BenchCommand::Recs(args)) => bench::recs::run(&data_dir, &args),
        Command::Bench(BenchCommand::Ann(args)) => bench::ann::run(&args),
        Command::Bench(BenchCommand::Checkout(args)) => bench::checkout::run(&data_dir, &args),
        Command::Bench(BenchCommand::Indexer(args)) => bench::indexer::run(&data_dir, &args),
        Command::Bench(BenchCommand::Scale(args)) => bench::scale::run(&data_dir, &args),
        Command::Bench(BenchCommand::Snapshot(args)) => bench::snapshot::run(&data_dir, &args),
        Command::Bench(BenchCommand::Experiments(args)) => bench::experiments::run(&data_dir, &args),
        Command::Eval(EvalCommand::Recs(args)) => eval::recs::run(&data_dir, &args),
    }
}
