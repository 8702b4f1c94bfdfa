//! `satellite`: runs Nagios-plugin checks at a site and ships state and events to the NOC.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use outpost_satellite::config::Config;
use outpost_satellite::daemon::{self, DeliverySettings};
use outpost_satellite::oneshot;

/// Outpost satellite: schedules and runs Nagios-compatible checks locally and ships state and events to the NOC.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The satellite's configuration file.
    #[arg(short, long, global = true, env = "OUTPOST_SATELLITE_CONFIG", default_value = "/etc/outpost/satellite.toml")]
    config: PathBuf,
    /// Do not fsync the spool (tests and benchmarks only: a crash loses events).
    #[arg(long, global = true, hide = true)]
    no_fsync: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: check, spool, send and ship continuously.
    Run,
    /// One-shot for cron: take a snapshot, deliver everything spooled, exit (0: all delivered).
    Ship(ShipArgs),
    /// Write pending frames as files into DIR for the NOC's file-drop inbox.
    Export(ExportArgs),
}

#[derive(Args)]
struct ShipArgs {
    /// Give up (exit 4) if the NOC has not acknowledged everything within this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Deliver what is spooled without taking a new snapshot.
    #[arg(long)]
    no_snapshot: bool,
    /// No progress line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// Directory to write `*.opf` frame files into (created if missing).
    #[arg(long)]
    to: PathBuf,
    /// Count exported data as delivered and free its spool space (one-way links with no acknowledgement).
    #[arg(long)]
    mark_delivered: bool,
    /// Most events per file.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OUTPOST_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("satellite: {e}");
            return ExitCode::from(oneshot::EXIT_CONFIG as u8);
        }
    };
    let settings = match DeliverySettings::from_config(&config, cli.no_fsync) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("satellite: {}: {e:#}", cli.config.display());
            return ExitCode::from(oneshot::EXIT_CONFIG as u8);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("satellite: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run => rt.block_on(async {
            let cancel = tokio_util::sync::CancellationToken::new();
            let c = cancel.clone();
            tokio::spawn(async move {
                wait_for_signal().await;
                c.cancel();
            });
            // HOOK (engine): start the check engine and trap receiver with the sink; return the engine as snapshot source.
            daemon::run(settings, cancel, |_sink| Ok(None))
                .await
                .map_err(|e| oneshot::Exit { code: 1, reason: format!("{e:#}") })
        }),
        Command::Ship(a) => {
            let snapshot = if a.no_snapshot { None } else { current_snapshot(&config) };
            rt.block_on(oneshot::ship(&settings, snapshot, Duration::from_secs(a.timeout_secs), a.quiet))
        }
        Command::Export(a) => oneshot::export(&settings, &a.to, a.mark_delivered, a.batch).map(|r| {
            println!(
                "exported {} events and {} snapshots in {} files to {}",
                r.events,
                r.snapshots,
                r.files.len(),
                a.to.display()
            );
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("satellite: {}", e.reason);
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}

/// The site's current snapshot from the engine's retained state (what `ship` sends when no daemon runs).
fn current_snapshot(config: &Config) -> Option<outpost_format::Snapshot> {
    let now = outpost_satellite::spool::now_ms();
    let retained = match outpost_satellite::state::retention::load(&config.state_dir) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read retained state; shipping configuration with pending states");
            None
        }
    };
    let table = outpost_satellite::state::table::Table::new(std::sync::Arc::new(config.clone()), retained, now);
    Some(table.snapshot(now))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
