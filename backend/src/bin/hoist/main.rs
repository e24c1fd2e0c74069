//! The `hoist` binary: `serve`, `operator`, `demo`, `repo`, `list`, `show`, `install`,
//! `status`, `cluster`, `usage`, `retry`, `upgrade`, `uninstall`, `configure`, `open`, `get`,
//! `suspend`, `resume`, `bootstrap`, `version`, `crdgen`. `main` parses
//! and dispatches; each command is its own small function, `run` in the file named after
//! it (`repo lint` in `lint.rs`), over the library (`hoist::cli`, `hoist::serve`,
//! `hoist::demo`, `hoist::operator`). The clap types, and so the `--help` text, are in
//! `args.rs`. anyhow lives only here.

mod args;
mod bootstrap;
mod client;
mod cluster;
mod configure;
mod crdgen;
mod demo;
mod get;
mod install;
mod lint;
mod list;
mod open;
mod operator;
mod repo;
mod retry;
mod serve;
mod show;
mod status;
mod suspend;
mod taskdump;
mod uninstall;
mod upgrade;
mod usage;

use args::{Cli, Command};
use clap::Parser;

/// Errors are printed as what went wrong and why, one line per cause; a backtrace is a
/// developer's tool, not a user's answer, whatever `RUST_BACKTRACE` says.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Servers log what they do; one-shot commands only what went wrong. Logs go to
    // stderr, so a command's output can be piped.
    let default_filter = match cli.command {
        Command::Serve(_) | Command::Demo(_) | Command::Operator(_) => "info,kube=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    taskdump::install();
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Operator(args) => operator::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Repo(args) => repo::run(args).await,
        Command::List(args) => list::run(args).await,
        Command::Show(args) => show::run(args).await,
        Command::Install(args) => install::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Cluster(args) => cluster::run(args).await,
        Command::Usage(args) => usage::run(args).await,
        Command::Retry(args) => retry::run(args).await,
        Command::Upgrade(args) => upgrade::run(args).await,
        Command::Uninstall(args) => uninstall::run(args).await,
        Command::Configure(args) => configure::run(args).await,
        Command::Open(args) => open::run(args).await,
        Command::Get(args) => get::run(args).await,
        Command::Suspend(args) => suspend::run(args, true).await,
        Command::Resume(args) => suspend::run(args, false).await,
        Command::Bootstrap(args) => bootstrap::run(args).await,
        Command::Version(args) => bootstrap::version(args).await,
        Command::Crdgen => crdgen::run(),
    }
}
