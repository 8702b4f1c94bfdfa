//! `satellite run`: wires the producers (check engine, trap receiver) to the spool, the spool to the sender,
//! and the shipping schedule, then runs until cancelled and drains in order.
//!
//! Shutdown order: the edges (engine, traps, ship schedule, sender) watch the cancel token; the spool writer
//! stops when the last [`EventSink`] is dropped, after answering everything queued, so no produced event is lost.
//! The engine drops its sink as soon as its tasks have ended (running checks are abandoned at cancel), so the
//! writer normally finishes within milliseconds; [`WRITER_GRACE`] only bounds a producer that misbehaves.
//!
//! Delivery status for `satellite status` is written every couple of seconds to `<state_dir>/delivery.json`
//! (atomically), because the spool is locked by the daemon and `status` is another process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use outpost_format::EventKind;
use outpost_format::event::Lifecycle;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::outbox::EventSink;
use crate::sender::{Sender, SenderConfig, SenderStatus, Trust};
use crate::ship::{ShipSchedule, SnapshotSource};
use crate::spool::{Recovery, Spool, SpoolConfig, SpoolStats, now_ms};

/// File in the state dir where the daemon publishes delivery status.
pub const STATUS_FILE: &str = "delivery.json";
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// How long shutdown waits for producers to drop their sinks so the writer can drain.
const WRITER_GRACE: Duration = Duration::from_secs(2);

/// Everything delivery needs, already validated (built from `config::Config` by [`DeliverySettings::from_parts`]).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub location: String,
    pub state_dir: PathBuf,
    pub spool_dir: PathBuf,
    pub spool: SpoolConfig,
    /// Empty: no NOC (spool only, e.g. for file-drop export).
    pub urls: Vec<reqwest::Url>,
    pub trust: Trust,
    pub schedule: ShipSchedule,
    pub full_every: Duration,
    pub request_timeout: Duration,
}

impl DeliverySettings {
    /// Validates the NOC part of the configuration: URLs parse, the pin is 64 hex digits.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        location: &str,
        state_dir: &Path,
        spool_dir: &Path,
        spool: SpoolConfig,
        urls: &[String],
        ca_file: Option<&Path>,
        pinned_sha256: Option<&str>,
        schedule: ShipSchedule,
        full_every: Duration,
        request_timeout: Duration,
    ) -> anyhow::Result<DeliverySettings> {
        let urls = urls
            .iter()
            .map(|u| reqwest::Url::parse(u).with_context(|| format!("NOC URL {u:?} is not a URL")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let trust = match (ca_file, pinned_sha256) {
            (Some(_), Some(_)) => anyhow::bail!("set either noc.ca_file or noc.pinned_cert_sha256, not both"),
            (Some(ca), None) => Trust::CaFile(ca.to_path_buf()),
            (None, Some(pin)) => {
                let bytes = hex::decode(pin.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
                Trust::Pinned(
                    bytes.context("noc.pinned_cert_sha256 must be 64 hex digits (sha256 of the DER certificate)")?,
                )
            }
            (None, None) => Trust::System,
        };
        Ok(DeliverySettings {
            location: location.to_string(),
            state_dir: state_dir.to_path_buf(),
            spool_dir: spool_dir.to_path_buf(),
            spool,
            urls,
            trust,
            schedule,
            full_every,
            request_timeout,
        })
    }

    pub fn sender_config(&self) -> SenderConfig {
        let interval = crate::ship::typical_interval(&self.schedule);
        let mut c = SenderConfig::new(&self.location, self.urls.clone(), self.trust.clone());
        c.ship_interval_s = interval.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
        c.full_every = crate::ship::deltas_per_full(self.full_every, interval);
        c.request_timeout = self.request_timeout;
        c
    }
}

/// What `delivery.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DeliveryStatus {
    pub written_ms: i64,
    pub spool: SpoolStatsView,
    pub sender: Option<SenderStatusView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SpoolStatsView {
    pub pending_events: u64,
    pub pending_snapshots: u64,
    pub bytes: u64,
    pub oldest_ms: Option<i64>,
    pub last_delivery_ms: Option<i64>,
    pub dropped_events: u64,
    pub dropped_snapshots: u64,
    /// Queued events whose perfdata gave way to the byte budget (absent in status files of older versions).
    #[serde(default)]
    pub perfdata_stripped: u64,
    pub quarantined_segments: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SenderStatusView {
    pub noc_url: String,
    pub reachable: Option<bool>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub enrollment: Option<String>,
    pub events_per_s: f64,
}

impl From<&SpoolStats> for SpoolStatsView {
    fn from(s: &SpoolStats) -> Self {
        SpoolStatsView {
            pending_events: s.pending_events,
            pending_snapshots: s.pending_snapshots,
            bytes: s.bytes,
            oldest_ms: s.oldest_ms,
            last_delivery_ms: s.last_delivery_ms,
            dropped_events: s.dropped_events,
            dropped_snapshots: s.dropped_snapshots,
            perfdata_stripped: s.perfdata_stripped,
            quarantined_segments: s.quarantined_segments,
        }
    }
}

impl From<&SenderStatus> for SenderStatusView {
    fn from(s: &SenderStatus) -> Self {
        SenderStatusView {
            noc_url: s.noc_url.clone(),
            reachable: s.reachable,
            last_success_ms: s.last_success_ms,
            last_error: s.last_error.clone(),
            enrollment: s.enrollment.clone(),
            events_per_s: s.events_per_s,
        }
    }
}

/// Opens the spool and logs what recovery repaired.
pub fn open_spool(settings: &DeliverySettings) -> anyhow::Result<Arc<Spool>> {
    let (spool, recoveries) = Spool::open(&settings.spool_dir, settings.spool.clone())
        .with_context(|| format!("open spool {}", settings.spool_dir.display()))?;
    for r in recoveries {
        match r {
            Recovery::TornTailTruncated { segment, cut_bytes } => {
                tracing::warn!(
                    segment,
                    cut_bytes,
                    "spool: cut a torn write at the end of the log (crash during append)"
                )
            }
            Recovery::SegmentQuarantined { segment, lost_bytes, placeholder_events, reason } => tracing::error!(
                segment,
                lost_bytes,
                placeholder_events,
                reason,
                "spool: damaged segment quarantined; lost records are reported to the NOC as SpoolCorruption events"
            ),
            Recovery::LedgerRebuilt { reason } => {
                tracing::error!(reason, "spool: ledger unreadable; started a new epoch and will resend what is spooled")
            }
        }
    }
    Ok(Arc::new(spool))
}

/// Runs delivery until `cancel`: spool writer, sender, snapshot schedule, status file.
/// `start_producers` gets the event sink and returns the snapshot source (the engine), if any.
pub async fn run(
    settings: DeliverySettings,
    cancel: CancellationToken,
    start_producers: impl FnOnce(EventSink) -> anyhow::Result<Option<Arc<dyn SnapshotSource>>>,
) -> anyhow::Result<()> {
    let spool = open_spool(&settings)?;
    let key = crate::sender::identity::load_or_create(&settings.state_dir)?;
    let (sink, rx) = EventSink::channel();
    let writer = crate::spool::spawn_writer(spool.clone(), rx);
    sink.emit(now_ms(), EventKind::Lifecycle(Lifecycle::Started { version: env!("CARGO_PKG_VERSION").into() }))
        .await
        .context("record the start event")?;

    let tracker = tokio_util::task::TaskTracker::new();
    let source = start_producers(sink.clone())?;
    if let Some(source) = source {
        tracker.spawn(crate::ship::run(source, spool.clone(), settings.schedule.clone(), cancel.clone()));
    }
    let sender_status = if settings.urls.is_empty() {
        tracing::warn!("no NOC URL configured: spooling only (use `satellite export` to move data)");
        None
    } else {
        let sender = Sender::new(settings.sender_config(), &key, spool.clone())?;
        let status = sender.status();
        tracker.spawn(sender.run(cancel.clone()));
        Some(status)
    };
    tracker.spawn(status_loop(settings.state_dir.clone(), spool.clone(), sender_status, cancel.clone()));
    tracker.close();

    cancel.cancelled().await;
    let _ = sink.emit(now_ms(), EventKind::Lifecycle(Lifecycle::Stopping)).await;
    drop(sink);
    tracker.wait().await;
    // The writer exits once every producer has dropped its sink. A producer that keeps its sink past
    // cancellation must not hold up the exit: every event whose emit() returned is already fsynced.
    let join = tokio::task::spawn_blocking(move || writer.join());
    if tokio::time::timeout(WRITER_GRACE, join).await.is_err() {
        tracing::debug!("a producer still holds an event sink at exit; events it already emitted are durable");
    }
    Ok(())
}

async fn status_loop(
    state_dir: PathBuf,
    spool: Arc<Spool>,
    sender: Option<Arc<Mutex<SenderStatus>>>,
    cancel: CancellationToken,
) {
    loop {
        let status = DeliveryStatus {
            written_ms: now_ms(),
            spool: (&spool.stats()).into(),
            sender: sender.as_ref().map(|s| (&*s.lock().unwrap_or_else(|p| p.into_inner())).into()),
        };
        crate::metrics::record_delivery(&status, status.written_ms);
        let path = state_dir.join(STATUS_FILE);
        if let Ok(bytes) = serde_json::to_vec_pretty(&status) {
            let _ = tokio::task::spawn_blocking(move || crate::spool::write_status_file(&path, &bytes)).await;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(STATUS_EVERY) => {}
        }
        if let Err(e) = spool.flush() {
            tracing::error!(error = %e, "spool ledger write failed");
        }
        if let Err(e) = spool.enforce_budgets() {
            tracing::error!(error = %e, "spool budget check failed");
        }
    }
}

/// The "Delivery" section of `satellite status`: from the daemon's status file when it runs,
/// otherwise read directly from the spool (read-only).
pub fn status_section(state_dir: &Path, spool_dir: &Path) -> String {
    let now = now_ms();
    let from_daemon = std::fs::read(state_dir.join(STATUS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<DeliveryStatus>(&b).ok())
        .filter(|s| now - s.written_ms < 10_000);
    let status = match from_daemon {
        Some(s) => s,
        None => match Spool::open(spool_dir, SpoolConfig { fsync: false, ..SpoolConfig::default() }) {
            Ok((spool, _)) => DeliveryStatus { written_ms: now, spool: (&spool.stats()).into(), sender: None },
            Err(e) => return format!("Delivery\n  spool: {e}\n"),
        },
    };
    render_status(&status, now)
}

pub fn render_status(s: &DeliveryStatus, now: i64) -> String {
    use std::fmt::Write;
    let ago = |t: Option<i64>| t.map_or("never".to_string(), |t| format!("{} ago", human_ms(now - t)));
    let mut out = String::from("Delivery\n");
    let sp = &s.spool;
    let _ = writeln!(
        out,
        "  spool depth:        {} events, {} snapshots, {} bytes",
        sp.pending_events, sp.pending_snapshots, sp.bytes
    );
    let _ = writeln!(out, "  oldest undelivered: {}", sp.oldest_ms.map_or("-".to_string(), |t| ago(Some(t))));
    let _ = writeln!(out, "  last delivery:      {}", ago(sp.last_delivery_ms));
    match &s.sender {
        None => {
            let _ = writeln!(out, "  NOC:                daemon not running (no live delivery status)");
        }
        Some(snd) => {
            let reach = match snd.reachable {
                None => "not tried yet".to_string(),
                Some(true) => format!("reachable ({})", snd.noc_url),
                Some(false) => format!("unreachable ({}): {}", snd.noc_url, snd.last_error.as_deref().unwrap_or("?")),
            };
            let _ = writeln!(out, "  NOC:                {reach}");
            if let Some(e) = &snd.enrollment {
                let _ = writeln!(out, "  enrollment:         {e}");
            }
            let eta = if sp.pending_events == 0 {
                "drained".to_string()
            } else if snd.events_per_s > 0.5 && snd.reachable == Some(true) {
                format!("~{}", human_ms((sp.pending_events as f64 / snd.events_per_s * 1000.0) as i64))
            } else {
                "unknown (not delivering)".to_string()
            };
            let _ = writeln!(out, "  time to drain:      {eta}");
        }
    }
    if sp.dropped_events + sp.dropped_snapshots + sp.quarantined_segments > 0 {
        let _ = writeln!(
            out,
            "  losses:             {} events and {} snapshots dropped over budget, {} segments quarantined",
            sp.dropped_events, sp.dropped_snapshots, sp.quarantined_segments
        );
    }
    if sp.perfdata_stripped > 0 {
        let _ = writeln!(
            out,
            "  perfdata stripped:  {} queued events kept without their perfdata to stay within the spool budget",
            sp.perfdata_stripped
        );
    }
    out
}

fn human_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl DeliverySettings {
    /// From the validated satellite configuration. `no_fsync` is the test/benchmark-only runtime flag.
    pub fn from_config(c: &crate::config::Config, no_fsync: bool) -> anyhow::Result<DeliverySettings> {
        let schedule = match &c.noc.ship {
            crate::config::ShipSchedule::Interval(d) => ShipSchedule::Interval(*d),
            crate::config::ShipSchedule::Cron(e) => ShipSchedule::Cron(e.clone()),
        };
        let spool = SpoolConfig {
            max_bytes: c.spool.max_bytes,
            max_age: c.spool.max_age,
            segment_bytes: c.spool.segment_bytes,
            fsync: !no_fsync,
        };
        DeliverySettings::from_parts(
            &c.location,
            &c.state_dir,
            &c.spool.dir,
            spool,
            &c.noc.urls,
            c.noc.ca_file.as_deref(),
            c.noc.pinned_cert_sha256.as_deref(),
            schedule,
            c.noc.full_every,
            c.noc.request_timeout,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shows_depth_oldest_reachability_and_time_to_drain() {
        let now = 1_000_000_000;
        let s = DeliveryStatus {
            written_ms: now,
            spool: SpoolStatsView {
                pending_events: 6000,
                pending_snapshots: 1,
                bytes: 1_500_000,
                oldest_ms: Some(now - 125_000),
                last_delivery_ms: Some(now - 3_000),
                ..SpoolStatsView::default()
            },
            sender: Some(SenderStatusView {
                noc_url: "https://noc:8443/".into(),
                reachable: Some(true),
                events_per_s: 100.0,
                ..SenderStatusView::default()
            }),
        };
        let text = render_status(&s, now);
        assert!(text.contains("6000 events, 1 snapshots, 1500000 bytes"), "{text}");
        assert!(text.contains("oldest undelivered: 2m05s ago"), "{text}");
        assert!(text.contains("last delivery:      3s ago"), "{text}");
        assert!(text.contains("reachable (https://noc:8443/)"), "{text}");
        assert!(text.contains("time to drain:      ~1m00s"), "{text}");
        assert!(!text.contains("losses"), "{text}");
        assert!(!text.contains("perfdata stripped"), "{text}");
    }

    #[test]
    fn status_shows_losses_and_stripped_perfdata() {
        let now = 1_000_000_000;
        let spool = SpoolStatsView { dropped_events: 7, perfdata_stripped: 1200, ..SpoolStatsView::default() };
        let text = render_status(&DeliveryStatus { written_ms: now, spool, sender: None }, now);
        assert!(text.contains("7 events and 0 snapshots dropped over budget"), "{text}");
        assert!(text.contains("perfdata stripped:  1200 queued events"), "{text}");
        // A status file written by an older version has no perfdata_stripped field.
        let old: SpoolStatsView = serde_json::from_str(
            r#"{"pending_events":1,"pending_snapshots":0,"bytes":9,
            "oldest_ms":null,"last_delivery_ms":null,"dropped_events":0,"dropped_snapshots":0,
            "quarantined_segments":0}"#,
        )
        .expect("an older status file still reads");
        assert_eq!(old.perfdata_stripped, 0);
    }
}
