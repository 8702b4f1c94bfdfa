//! `satellite`: runs Nagios-plugin checks at a site and ships state and events to the NOC.
//!
//! This file only parses arguments and calls into the library: `config` (check-config), `engine` +
//! `daemon` (run), and `control` (the operator commands, which talk to a running satellite).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use outpost_satellite::config::Config;
use outpost_satellite::control::{self, Request, client};
use outpost_satellite::daemon;
use outpost_satellite::engine::{Engine, EngineHandle, now_ms};
use tokio_util::sync::CancellationToken;

const DEFAULT_CONFIG: &str = "/etc/outpost/satellite.toml";

/// Outpost satellite: schedules and runs Nagios-compatible checks locally and ships state and events to the NOC.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Every subcommand has --help. Operator commands talk to the running daemon (`satellite run`) \
                  through <state_dir>/control.sock. Troubleshooting by symptom: docs/operations.md."
)]
struct Cli {
    /// The config file; `conf.d/*.toml` beside it is read too.
    #[arg(long, short, global = true, env = "OUTPOST_SATELLITE_CONFIG", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// The state directory (retention, spool, control socket); overrides `state_dir` in the config.
    #[arg(long, global = true, env = "OUTPOST_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Log filter, e.g. `info`, `debug`, `outpost_satellite=debug`.
    #[arg(long, global = true, env = "OUTPOST_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config (every file, every error with file, line and a hint) and exit.
    CheckConfig,
    /// Run the satellite: checks, operator socket, spool and delivery to the NOC. SIGHUP reloads the config.
    Run(RunArgs),
    /// One-shot for cron: take a snapshot, deliver everything spooled to the NOC, exit (0: all delivered; codes in docs/delivery.md).
    Ship(outpost_satellite::oneshot::ShipArgs),
    /// Write pending frames as files into a directory, for the NOC's file-drop inbox.
    Export(outpost_satellite::oneshot::ExportArgs),
    /// Make the running satellite re-read its config (same as SIGHUP). A bad config is refused, not half-applied.
    Reload,
    /// Show a summary and the current problems, worst first.
    Status {
        /// List every host and service, not only problems.
        #[arg(long)]
        all: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a problem (suppresses its notifications until it changes state or recovers).
    Ack {
        /// `host` or `host/service`.
        object: String,
        /// Why, for the other operators (shown with the acknowledgement).
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        /// Who acknowledges; defaults to $SUDO_USER or $USER.
        #[arg(long, default_value_t = default_author())]
        author: String,
        /// Keep the acknowledgement until the object recovers, not just until its next state change.
        #[arg(long)]
        sticky: bool,
        /// Remove the acknowledgement instead.
        #[arg(long, conflicts_with_all = ["sticky"])]
        remove: bool,
    },
    /// Schedule scheduled downtime (fixed, or flexible with --flexible), or cancel one with --cancel ID.
    Downtime(DowntimeArgs),
    /// Add a comment to a host or service, or remove one with --remove ID.
    Comment {
        /// `host` or `host/service`.
        #[arg(required_unless_present = "remove")]
        object: Option<String>,
        /// The comment.
        #[arg(required_unless_present = "remove")]
        text: Option<String>,
        /// Who writes it; defaults to $SUDO_USER or $USER.
        #[arg(long, default_value_t = default_author())]
        author: String,
        /// Remove the comment with this id instead (ids are shown by `satellite status --all`).
        #[arg(long, value_name = "ID")]
        remove: Option<u64>,
    },
    /// Run a check now instead of at its scheduled time.
    CheckNow {
        /// `host` or `host/service`.
        object: String,
        /// For a host: check all its services too.
        #[arg(long)]
        services: bool,
    },
    /// Pause all active checks (state is kept; nothing is checked until `resume`).
    Pause,
    /// Resume active checks after `pause`.
    Resume,
}

#[derive(Args)]
struct RunArgs {
    /// Do not fsync the spool. Only for tests and benchmarks: a crash can lose events.
    #[arg(long)]
    no_fsync: bool,
}

#[derive(Args)]
struct DowntimeArgs {
    /// `host` or `host/service`.
    #[arg(required_unless_present = "cancel")]
    object: Option<String>,
    /// Why, for the other operators.
    #[arg(long, short = 'm', default_value = "")]
    comment: String,
    /// Who schedules it; defaults to $SUDO_USER or $USER.
    #[arg(long, default_value_t = default_author())]
    author: String,
    /// Start: `now`, an offset such as `+10m`, or a time such as `2026-11-22 18:00:00` (UTC).
    #[arg(long, default_value = "now")]
    start: String,
    /// End: an offset from start such as `2h`, or a time.
    #[arg(long, default_value = "2h")]
    end: String,
    /// Flexible: starts at the first problem between start and end, and lasts --duration.
    #[arg(long, requires = "duration")]
    flexible: bool,
    /// Length of a flexible downtime, e.g. `30m`.
    #[arg(long)]
    duration: Option<String>,
    /// Cancel the downtime with this id instead (ids are shown by `satellite status --all`).
    #[arg(long, value_name = "ID")]
    cancel: Option<u64>,
}

fn default_author() -> String {
    std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "operator".into())
}

fn main() -> ExitCode {
    outpost_satellite::engine::tune_allocator();
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let request = match cli.command {
        Command::CheckConfig => return check_config(&cli.config),
        Command::Run(args) => {
            let rt = tokio::runtime::Runtime::new().context("start the async runtime")?;
            rt.block_on(run(&cli.config, cli.state_dir.as_deref(), args))?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Ship(args) => {
            return Ok(outpost_satellite::oneshot::ship_command(&cli.config, cli.state_dir.as_deref(), args));
        }
        Command::Export(args) => {
            return Ok(outpost_satellite::oneshot::export_command(&cli.config, cli.state_dir.as_deref(), args));
        }
        Command::Reload => Request::Reload,
        Command::Status { all, json } => {
            let state_dir = state_dir(&cli.config, cli.state_dir.as_deref());
            let resp = client::request(&state_dir.join(control::SOCKET_NAME), &Request::Status { all })?;
            let Some(report) = resp.status.filter(|_| resp.ok) else {
                anyhow::bail!("{}", resp.message);
            };
            if json {
                out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
            } else {
                out(&control::status::render(&report));
                let spool_dir =
                    Config::load(&cli.config).map(|c| c.spool.dir).unwrap_or_else(|_| state_dir.join("spool"));
                out(&daemon::status_section(&state_dir, &spool_dir));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Ack { object, comment, author, sticky, remove } => {
            if remove {
                Request::RemoveAck { object }
            } else {
                Request::Ack { object, author, comment, sticky }
            }
        }
        Command::Downtime(d) => downtime_request(d)?,
        Command::Comment { object, text, author, remove } => match (remove, object, text) {
            (Some(id), _, _) => Request::RemoveComment { id },
            (None, Some(object), Some(text)) => Request::Comment { object, author, text },
            _ => anyhow::bail!("give OBJECT and TEXT, or --remove ID"),
        },
        Command::CheckNow { object, services } => Request::CheckNow { object, with_services: services },
        Command::Pause => Request::Pause,
        Command::Resume => Request::Resume,
    };
    let state_dir = state_dir(&cli.config, cli.state_dir.as_deref());
    let resp = client::request(&state_dir.join(control::SOCKET_NAME), &request)?;
    if resp.ok {
        out(&format!("{}\n", resp.message));
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {}", resp.message);
        Ok(ExitCode::FAILURE)
    }
}

/// Prints to stdout; a closed pipe (`satellite status | head`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn check_config(path: &Path) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(c) => {
            println!(
                "{}: OK: location {}, {} hosts, {} services, {} file(s)",
                path.display(),
                c.location,
                c.hosts.len(),
                c.services.len(),
                c.files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The state dir: the flag, else the config's `state_dir`, else the default.
fn state_dir(config: &Path, flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match Config::load(config) {
        Ok(c) => c.state_dir,
        Err(_) => PathBuf::from(outpost_satellite::config::DEFAULT_STATE_DIR),
    }
}

fn parse_time(text: &str, base: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if text == "now" {
        return Ok(base);
    }
    if let Some(offset) =
        text.strip_prefix('+').or_else(|| (!text.contains('-') && !text.contains(':')).then_some(text))
    {
        let d =
            humantime::parse_duration(offset).with_context(|| format!("`{text}` is not an offset like +10m or 2h"))?;
        return Ok(base + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    let t = humantime::parse_rfc3339_weak(text)
        .with_context(|| format!("`{text}` is not a time: use `now`, `+10m`, or `2026-11-22 18:00:00` (UTC)"))?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn downtime_request(d: DowntimeArgs) -> anyhow::Result<Request> {
    if let Some(id) = d.cancel {
        return Ok(Request::CancelDowntime { id });
    }
    let object = d.object.context("give the OBJECT to put in downtime, or --cancel ID")?;
    let now = now_ms();
    let start = parse_time(&d.start, now)?;
    let end = parse_time(&d.end, start)?;
    let duration_s = match &d.duration {
        Some(text) => humantime::parse_duration(text)
            .with_context(|| format!("--duration `{text}` is not a duration like 30m"))?
            .as_secs()
            .try_into()
            .unwrap_or(u32::MAX),
        None => u32::try_from((end - start).max(0) / 1000).unwrap_or(u32::MAX),
    };
    Ok(Request::Downtime { object, author: d.author, comment: d.comment, start, end, fixed: !d.flexible, duration_s })
}

async fn run(config_path: &Path, state_dir_flag: Option<&Path>, args: RunArgs) -> anyhow::Result<()> {
    let mut config = Config::load(config_path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    if let Some(dir) = state_dir_flag {
        if config.spool.dir == config.state_dir.join("spool") {
            config.spool.dir = dir.join("spool");
        }
        config.state_dir = dir.to_path_buf();
    }
    let config = Arc::new(config);
    let cancel = CancellationToken::new();
    spawn_signal_handlers(cancel.clone());
    if let Some(addr) = config.metrics.listen {
        outpost_satellite::metrics::serve(addr, cancel.clone()).await?;
    }
    let settings = daemon::DeliverySettings::from_config(&config, args.no_fsync)?;
    let engine: Arc<OnceLock<EngineHandle>> = Arc::new(OnceLock::new());
    let slot = engine.clone();
    let path = config_path.to_path_buf();
    let token = cancel.clone();
    daemon::run(settings, cancel.clone(), move |sink| {
        // Traps first: a bad trap config or a busy port fails start-up before any check runs.
        let traps = outpost_satellite::traps::prepare(&config.traps)?;
        let handle = start_engine(config, &path, sink.clone(), token.clone())?;
        // Trap rule results go through the engine, so the service's state follows the trap.
        traps.spawn(sink, Some(Arc::new(handle.clone())), token);
        let _ = slot.set(handle.clone());
        Ok(Some(Arc::new(handle)))
    })
    .await?;
    if let Some(handle) = engine.get() {
        // Let the final retention write finish; a stuck plugin must not hold up shutdown for long.
        if tokio::time::timeout(Duration::from_secs(15), handle.join()).await.is_err() {
            tracing::warn!("checks still running after 15 s; exiting anyway (retention was written periodically)");
        }
    }
    Ok(())
}

/// Starts the engine, its control socket and the SIGHUP reload handler.
fn start_engine(
    config: Arc<Config>,
    config_path: &Path,
    sink: outpost_satellite::outbox::EventSink,
    cancel: CancellationToken,
) -> anyhow::Result<EngineHandle> {
    let state_dir = config.state_dir.clone();
    let handle = Engine::start(config, &state_dir, sink, cancel.clone())?;
    control::server::spawn(
        handle.clone(),
        &state_dir.join(control::SOCKET_NAME),
        config_path.to_path_buf(),
        cancel.clone(),
    )?;
    let reloader = handle.clone();
    let path = config_path.to_path_buf();
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::error!("cannot install the SIGHUP handler; use `satellite reload`");
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {}
                _ = cancel.cancelled() => return,
            }
            match reloader.reload_from(&path).await {
                Ok(c) => {
                    tracing::info!(added = c.added, changed = c.changed, removed = c.removed, "SIGHUP: config reloaded")
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "SIGHUP: the new config was not applied"),
            }
        }
    });
    Ok(handle)
}

fn spawn_signal_handlers(cancel: CancellationToken) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            tracing::error!("cannot install SIGTERM/SIGINT handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        cancel.cancel();
    });
}
