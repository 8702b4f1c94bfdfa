//! The cron-style commands: `satellite ship` (snapshot, drain to the NOC, exit) and `satellite export --to DIR`
//! (write pending frames as files for the NOC's inbox).
//!
//! Both open the spool exclusively (flock), so they refuse clearly beside a running daemon instead of racing it.
//! Exit codes of `ship` (one line on stderr says why):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything spooled was delivered and acknowledged |
//! | 2 | configuration unusable |
//! | 3 | the spool is held by a running daemon (it delivers continuously; nothing to do) |
//! | 4 | the NOC was unreachable until the deadline; data stays spooled |
//! | 5 | the NOC refused this satellite (credential unknown, pending enrollment, rejected) |
//! | 6 | the NOC rejected a frame as malformed (a bug: report it) |
//! | 7 | spool I/O failure (disk full, read-only, damaged beyond repair) |

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use outpost_format::frame::{Frame, Payload};

use crate::daemon::{self, DeliverySettings};
use crate::sender::{SendError, Sender, StepError};
use crate::spool::{Spool, SpoolError, now_ms};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CONFIG: i32 = 2;
pub const EXIT_LOCKED: i32 = 3;
pub const EXIT_UNREACHABLE: i32 = 4;
pub const EXIT_REFUSED: i32 = 5;
pub const EXIT_MALFORMED: i32 = 6;
pub const EXIT_SPOOL: i32 = 7;

/// Why a command stopped, with its exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub reason: String,
}

impl Exit {
    fn new(code: i32, reason: impl Into<String>) -> Exit {
        Exit { code, reason: reason.into() }
    }
}

fn open_or_exit(settings: &DeliverySettings) -> Result<Arc<Spool>, Exit> {
    daemon::open_spool(settings).map_err(|e| match e.downcast_ref::<SpoolError>() {
        Some(SpoolError::Locked(dir)) => Exit::new(
            EXIT_LOCKED,
            format!(
                "the spool at {} is held by a running satellite daemon, which delivers continuously; stop it to ship by hand",
                dir.display()
            ),
        ),
        _ => Exit::new(EXIT_SPOOL, format!("{e:#}")),
    })
}

/// `satellite ship`: stores `snapshot` (when given) as the pending one, then drains everything to the NOC.
pub async fn ship(
    settings: &DeliverySettings,
    snapshot: Option<outpost_format::Snapshot>,
    timeout: Duration,
    quiet: bool,
) -> Result<(), Exit> {
    if settings.urls.is_empty() {
        return Err(Exit::new(
            EXIT_CONFIG,
            "no NOC URL configured (noc.urls); use `satellite export --to DIR` instead",
        ));
    }
    let spool = open_or_exit(settings)?;
    if let Some(s) = snapshot {
        spool.put_snapshot(&s).map_err(|e| Exit::new(EXIT_SPOOL, format!("cannot spool the snapshot: {e}")))?;
    }
    let key = crate::sender::identity::load_or_create(&settings.state_dir)
        .map_err(|e| Exit::new(EXIT_CONFIG, format!("{e:#}")))?;
    let mut sender = Sender::new(settings.sender_config(), &key, spool.clone())
        .map_err(|e| Exit::new(EXIT_CONFIG, format!("{e:#}")))?;
    let start = spool.stats();
    let total = start.pending_events.max(1);
    let show = !quiet && std::io::stderr().is_terminal() && start.pending_events > 10_000;
    let started = Instant::now();
    let mut last_shown = Instant::now();
    let res = sender
        .drain(Instant::now() + timeout, |pending, bytes| {
            // Long drains show progress (only on a terminal, at most twice a second).
            if show && last_shown.elapsed() > Duration::from_millis(500) {
                last_shown = Instant::now();
                let done = total.saturating_sub(pending);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                let eta = if rate > 0.0 { pending as f64 / rate } else { f64::INFINITY };
                let _ = write!(
                    std::io::stderr(),
                    "\rshipping: {done}/{total} events ({:.0}%), {bytes} bytes left, {rate:.0} events/s, ETA {eta:.0}s   ",
                    100.0 * done as f64 / total as f64
                );
            }
        })
        .await;
    if show {
        let _ = writeln!(std::io::stderr());
    }
    match res {
        Ok(()) => Ok(()),
        Err(StepError::Spool(e)) => Err(Exit::new(EXIT_SPOOL, format!("spool: {e}"))),
        Err(StepError::Send(e)) => Err(match &e {
            SendError::Unauthorized | SendError::Forbidden(_) => Exit::new(EXIT_REFUSED, e.to_string()),
            SendError::Malformed(_) | SendError::BadAck { .. } => Exit::new(EXIT_MALFORMED, e.to_string()),
            _ => Exit::new(
                EXIT_UNREACHABLE,
                format!("{e}; {} events stay spooled for the next run", spool.stats().pending_events),
            ),
        }),
    }
}

/// What `export` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub files: Vec<PathBuf>,
    pub events: u64,
    pub snapshots: u64,
}

/// `satellite export --to DIR`: writes every pending frame as a file (temp name, fsync, rename, fsync dir).
///
/// Without `mark_delivered` the spool keeps everything (a later export writes it again; the NOC dedupes).
/// With it, exported data counts as delivered and its space is freed: for one-way links with no acknowledgement.
pub fn export(
    settings: &DeliverySettings,
    to: &Path,
    mark_delivered: bool,
    batch: usize,
) -> Result<ExportReport, Exit> {
    let spool = open_or_exit(settings)?;
    std::fs::create_dir_all(to).map_err(|e| Exit::new(EXIT_SPOOL, format!("create {}: {e}", to.display())))?;
    let io = |e: anyhow::Error| Exit::new(EXIT_SPOOL, format!("{e:#}"));
    let mut report = ExportReport::default();
    // The export time leads the name, so files of successive exports (and epochs) sort in the order written, and
    // the NOC's inbox applies them in name order. The snapshot goes first, named one millisecond before the events:
    // it was taken before some of them, and a snapshot applied after a newer state change would undo it (the order
    // the HTTP sender keeps too, see `Sender::step`).
    let stamp = now_ms();
    let loc = &settings.location;
    let full_every = settings.sender_config().full_every;
    if let Some(sf) = spool.next_snapshot_frame(loc, full_every).map_err(|e| Exit::new(EXIT_SPOOL, e.to_string()))? {
        let name = format!("{loc}.{stamp:013}.{:016x}.2.{:020}.opf", sf.epoch, sf.seq);
        report.files.push(write_file(to, &name, &sf.bytes).map_err(io)?);
        report.snapshots += 1;
        if mark_delivered {
            spool.ack_snapshots(sf.epoch, sf.seq).map_err(|e| Exit::new(EXIT_SPOOL, e.to_string()))?;
        }
    }
    let events_stamp = stamp + 1;
    let mut from = 0;
    loop {
        let b = spool.read(from, batch.max(1), 4 << 20).map_err(|e| Exit::new(EXIT_SPOOL, e.to_string()))?;
        let (Some(first), Some(last)) = (b.events.first(), b.events.last()) else { break };
        let (first, last) = (first.seq, last.seq);
        let n = b.events.len() as u64;
        let frame = Frame { location: loc.clone(), epoch: b.epoch, seq: last, payload: Payload::Events(b.events) };
        let bytes = frame.encode().map_err(|e| Exit::new(EXIT_SPOOL, e.to_string()))?;
        let name = format!("{loc}.{events_stamp:013}.{:016x}.1.{first:020}-{last:020}.opf", b.epoch);
        report.files.push(write_file(to, &name, &bytes).map_err(io)?);
        report.events += n;
        from = b.next_spool_seq;
        if mark_delivered {
            spool.ack_events(b.epoch, last).map_err(|e| Exit::new(EXIT_SPOOL, e.to_string()))?;
        }
    }
    Ok(report)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("rename into {}", path.display()))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("sync {}", dir.display()))?;
    Ok(path)
}

/// `satellite ship` arguments.
#[derive(Debug, clap::Args)]
pub struct ShipArgs {
    /// Give up (exit 4) if the NOC has not acknowledged everything within this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Deliver what is spooled without taking a new snapshot.
    #[arg(long)]
    pub no_snapshot: bool,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not fsync the spool (tests and benchmarks only).
    #[arg(long, hide = true)]
    pub no_fsync: bool,
}

/// `satellite export` arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Directory to write `*.opf` frame files into (created if missing).
    #[arg(long)]
    pub to: PathBuf,
    /// Count exported data as delivered and free its spool space (one-way links with no acknowledgement).
    #[arg(long)]
    pub mark_delivered: bool,
    /// Most events per file.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
}

fn load_settings(
    config_path: &Path,
    state_dir: Option<&Path>,
    no_fsync: bool,
) -> Result<(crate::config::Config, DeliverySettings), Exit> {
    let mut config = crate::config::Config::load(config_path).map_err(|e| Exit::new(EXIT_CONFIG, format!("{e}")))?;
    if let Some(dir) = state_dir {
        if config.spool.dir == config.state_dir.join("spool") {
            config.spool.dir = dir.join("spool");
        }
        config.state_dir = dir.to_path_buf();
    }
    let settings = DeliverySettings::from_config(&config, no_fsync)
        .map_err(|e| Exit::new(EXIT_CONFIG, format!("{}: {e:#}", config_path.display())))?;
    Ok((config, settings))
}

fn finish(res: Result<(), Exit>) -> std::process::ExitCode {
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("satellite: {}", e.reason);
            std::process::ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}

/// Entry point of `satellite ship` (main.rs calls this).
pub fn ship_command(config_path: &Path, state_dir: Option<&Path>, args: ShipArgs) -> std::process::ExitCode {
    finish((|| {
        let (config, settings) = load_settings(config_path, state_dir, args.no_fsync)?;
        let snapshot = if args.no_snapshot { None } else { Some(current_snapshot(&config)) };
        let rt = tokio::runtime::Runtime::new().map_err(|e| Exit::new(1, format!("start the async runtime: {e}")))?;
        rt.block_on(ship(&settings, snapshot, Duration::from_secs(args.timeout_secs), args.quiet))
    })())
}

/// Entry point of `satellite export` (main.rs calls this).
pub fn export_command(config_path: &Path, state_dir: Option<&Path>, args: ExportArgs) -> std::process::ExitCode {
    finish((|| {
        let (_, settings) = load_settings(config_path, state_dir, false)?;
        let r = export(&settings, &args.to, args.mark_delivered, args.batch)?;
        println!(
            "exported {} events and {} snapshots in {} files to {}",
            r.events,
            r.snapshots,
            r.files.len(),
            args.to.display()
        );
        Ok(())
    })())
}

/// The site's current snapshot from the engine's retained state (what `ship` sends when no daemon runs).
fn current_snapshot(config: &crate::config::Config) -> outpost_format::Snapshot {
    let now = now_ms();
    let retained = crate::state::retention::load(&config.state_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read retained state; shipping the configuration with pending states");
        None
    });
    crate::state::table::Table::new(Arc::new(config.clone()), retained, now).snapshot(now)
}
