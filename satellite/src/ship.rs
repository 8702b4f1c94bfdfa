//! Snapshot shipping: when to take a snapshot (an interval or a cron expression) and handing it to the spool.
//!
//! The spool's snapshot slots (`spool/snapshots.rs`) decide delta versus full and keep the in-flight frame;
//! this module only owns the schedule and the count of deltas between full snapshots.

use std::sync::Arc;
use std::time::Duration;

use outpost_format::Snapshot;
use tokio_util::sync::CancellationToken;

use crate::snapshot_blob::SnapshotBlob;
use crate::spool::Spool;

/// When snapshots ship. Mirrors `config::ShipSchedule` (the daemon converts), so this module
/// and its tests do not depend on config loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipSchedule {
    Interval(Duration),
    /// Five-field cron expression, evaluated in UTC.
    Cron(String),
}

/// Something that can produce the site's current snapshot (the check engine), encoded.
pub trait SnapshotSource: Send + Sync {
    fn snapshot(&self) -> std::io::Result<SnapshotBlob>;
}

impl<F: Fn() -> Snapshot + Send + Sync> SnapshotSource for F {
    fn snapshot(&self) -> std::io::Result<SnapshotBlob> {
        SnapshotBlob::from_snapshot(&self())
    }
}

/// How long from `now` (UTC) until the schedule next fires. Pure, for tests.
/// A cron expression that never fires again, or does not parse, falls back to one minute (and logs once at start).
pub fn next_due(schedule: &ShipSchedule, now: chrono::NaiveDateTime) -> Duration {
    match schedule {
        ShipSchedule::Interval(d) => *d,
        ShipSchedule::Cron(expr) => {
            let next = expr
                .parse::<croner::Cron>()
                .ok()
                .and_then(|c| c.find_next_occurrence(&now, false).ok())
                .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO));
            next.unwrap_or(Duration::from_secs(60))
        }
    }
}

/// The typical gap between two shipments, to announce to the NOC and to turn "full every T" into a count.
pub fn typical_interval(schedule: &ShipSchedule) -> Duration {
    match schedule {
        ShipSchedule::Interval(d) => *d,
        ShipSchedule::Cron(_) => {
            let now = chrono::Utc::now().naive_utc();
            let first = next_due(schedule, now);
            let then = now + chrono::Duration::from_std(first).unwrap_or_default();
            first.max(next_due(schedule, then)).max(Duration::from_secs(1))
        }
    }
}

/// Deltas between full snapshots, from "a full snapshot at least every `full_every`".
pub fn deltas_per_full(full_every: Duration, interval: Duration) -> u32 {
    let n = full_every.as_secs_f64() / interval.as_secs_f64().max(0.001);
    (n.floor() as u32).saturating_sub(1)
}

/// Takes one snapshot and stores it durably as the pending one.
pub fn ship_once(source: &dyn SnapshotSource, spool: &Spool) -> Result<(), crate::spool::SpoolError> {
    let blob = source.snapshot().map_err(|e| crate::spool::SpoolError::Encode(e.to_string()))?;
    spool.put_snapshot_blob(blob)
}

/// Ships on schedule until cancelled: once at start, then whenever the schedule fires.
pub async fn run(
    source: Arc<dyn SnapshotSource>,
    spool: Arc<Spool>,
    schedule: ShipSchedule,
    cancel: CancellationToken,
) {
    loop {
        let (src, sp) = (source.clone(), spool.clone());
        // put_snapshot fsyncs: keep it off the async workers.
        match tokio::task::spawn_blocking(move || ship_once(src.as_ref(), &sp)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "could not spool a snapshot; retrying at the next shipment"),
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
        let wait = next_due(&schedule, chrono::Utc::now().naive_utc());
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32, s: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).and_then(|d| d.and_hms_opt(h, m, s)).expect("valid time")
    }

    #[test]
    fn interval_is_the_interval() {
        assert_eq!(next_due(&ShipSchedule::Interval(Duration::from_secs(10)), at(3, 0, 0)), Duration::from_secs(10));
    }

    #[test]
    fn cron_every_five_minutes() {
        let s = ShipSchedule::Cron("*/5 * * * *".into());
        assert_eq!(next_due(&s, at(3, 2, 30)), Duration::from_secs(150));
        assert_eq!(next_due(&s, at(3, 5, 0)), Duration::from_secs(300));
    }

    #[test]
    fn full_every_hour_at_ten_second_interval_is_359_deltas() {
        assert_eq!(deltas_per_full(Duration::from_secs(3600), Duration::from_secs(10)), 359);
        assert_eq!(deltas_per_full(Duration::from_secs(5), Duration::from_secs(10)), 0);
    }
}
