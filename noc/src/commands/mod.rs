//! The `noc` command line: argument definitions and dispatch to one function per subcommand.
//! Operator commands (`satellites`, `held`, `status`, `events`, `backup`) open the store directly (SQLite WAL lets them
//! run beside a serving daemon); `serve` is the daemon.

mod admin;
pub mod backup;
mod init;
mod report;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Outpost NOC: authenticates satellites, applies their snapshots and events, and serves operators.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Every subcommand has --help. Start with `noc init`, then `noc serve`. Backup, upgrades and \
                  troubleshooting by symptom: docs/operations.md."
)]
pub struct Cli {
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `outpost_noc=debug`.
    #[arg(long, global = true, env = "NOC_LOG", default_value = "info")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the NOC daemon: HTTPS ingest, operator API, web view.
    ///
    /// What one client may hold is bounded by `[connections]` in noc.toml: `max` open connections in all (more wait
    /// to be accepted), `max_per_address` from one source IP (more are closed at once), and the header, body and
    /// idle timeouts. Every key is described in docs/noc-config.md; Prometheus metrics are at /metrics.
    Serve(ConfigArg),
    /// Write a first configuration, a self-signed TLS certificate and an operator API token into a directory.
    Init(init::InitArgs),
    /// List satellites and decide on enrollment requests.
    Satellites {
        #[command(flatten)]
        config: ConfigArg,
        #[command(subcommand)]
        action: admin::SatelliteAction,
    },
    /// List snapshots held by the suspect-snapshot guard rail, or release one.
    Held {
        #[command(flatten)]
        config: ConfigArg,
        #[command(subcommand)]
        action: admin::HeldAction,
    },
    /// Print the problems table (objects not OK/UP, worst first) and location health.
    Status(report::StatusArgs),
    /// Print the event log, newest last; `--follow` keeps printing new events.
    Events(report::EventsArgs),
    /// Read a password from stdin and print its Argon2 hash for `[[web.operators]] password_hash`.
    HashPassword,
    /// Copy the store to a new file while the NOC runs (a consistent snapshot of one commit).
    Backup(backup::BackupArgs),
    /// Replace the store with a `noc backup` file; the NOC must be stopped. See docs/operations.md.
    Restore(backup::RestoreArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// Path to noc.toml.
    #[arg(long, short, env = "NOC_CONFIG", default_value = "noc.toml")]
    pub config: PathBuf,
}

impl ConfigArg {
    pub fn load(&self) -> anyhow::Result<Config> {
        Config::load(&self.config)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(&cli.log);
    match cli.command {
        Command::Serve(c) => {
            let config = c.load()?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::server::serve(config))
        }
        Command::Init(args) => init::run(&args),
        Command::Satellites { config, action } => admin::satellites(&config.load()?, action),
        Command::Held { config, action } => admin::held(&config.load()?, action),
        Command::Status(args) => report::status(&args),
        Command::Events(args) => report::events(&args),
        Command::Backup(args) => backup::run(&args),
        Command::Restore(args) => backup::restore_command(&args),
        Command::HashPassword => {
            let hash = crate::web::password::hash_password_from_reader(&mut std::io::stdin().lock())?;
            println!("{hash}");
            Ok(())
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    // A second init (tests) fails harmlessly.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
