//! Northbound sinks: SNMP notifications ([`snmp`]), Nagios external commands and object config ([`nagios`],
//! built on [`nagios_cmd`], [`nagios_config`] and [`nagios_status`]) and webhooks ([`webhook`]).
//!
//! Every sink is a task that follows the store's event log with its own durable cursor
//! (`Store::sink_cursor`/`set_sink_cursor`, named `<kind>:<name>`), so a sink whose destination is down
//! catches up later and a NOC restart resumes where each sink stopped. Delivery is at least once: the cursor
//! moves only past events that were delivered (or filtered out).
//! A new sink starts at the end of the log unless `replay_history = true` (cursor value -1 marks
//! "initialised on an empty log", because 0 means "never started").
//!
//! The order within one sink is the log's commit order. Sinks do not wait for each other.
//!
//! Retention (`[retention]`) does not wait for sinks either: events it deletes before a sink handled them are
//! counted against that sink's cursor in the deleting transaction, and the sink reports them on its next round
//! (an ERROR log line with its name and the count, and `outpost_noc_sink_events_lost_total{sink}`), then carries on with the oldest
//! event left.
//!
//! The early warning before such a loss: every sink exports how far behind the log it is,
//! `outpost_noc_sink_lag_events{sink}` and `outpost_noc_sink_oldest_undelivered_age_seconds{sink}` (0 when caught up),
//! refreshed at each round and every [`LAG_REFRESH`] besides, so a sink stuck on a down destination shows them grow.

pub mod filter;
pub mod nagios;
pub mod nagios_cmd;
pub mod nagios_config;
pub mod nagios_status;
pub mod snmp;
pub mod webhook;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{Change, SinkLag, Store, StoredEvent, now_ms};
pub use filter::{Filter, FilterConfig};

/// Events read from the log per round.
pub const BATCH: usize = 500;
/// Longest wait between retries of a failing destination.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Polling fallback if a change notification was missed.
pub const IDLE_POLL: Duration = Duration::from_secs(5);
/// How often a sink's lag gauges are refreshed besides each round (a delivery can hang for its timeout, and the
/// retry backoff grows to [`MAX_BACKOFF`]).
pub const LAG_REFRESH: Duration = Duration::from_secs(2);

/// A delivery that stopped part-way.
#[derive(Debug)]
pub struct DeliveryError {
    /// How many of the events handed in were delivered, in order, before the failure.
    pub delivered: usize,
    pub error: anyhow::Error,
}

/// One northbound destination.
pub trait Sink: Send {
    /// Cursor name, `<kind>:<name>`.
    fn name(&self) -> &str;
    fn filter(&self) -> &Filter;
    /// Delivers `events` (already filtered) in order.
    fn deliver(&mut self, events: &[StoredEvent]) -> impl Future<Output = Result<(), DeliveryError>> + Send;
    /// Called at start, when objects changed, and every [`IDLE_POLL`] while idle.
    fn objects_changed(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// `[sinks]` of `noc.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksConfig {
    #[serde(default)]
    pub snmp: Vec<snmp::SnmpSinkConfig>,
    #[serde(default)]
    pub webhook: Vec<webhook::WebhookConfig>,
    #[serde(default)]
    pub nagios: Option<nagios::NagiosConfig>,
    /// Deliver the event log from its beginning to a sink that has never run (default: start at the end).
    #[serde(default)]
    pub replay_history: bool,
}

impl SinksConfig {
    pub fn from_table(table: &toml::Table) -> anyhow::Result<SinksConfig> {
        SinksConfig::deserialize(toml::Value::Table(table.clone())).context("the [sinks] section")
    }
}

/// Starts one task per configured sink. `sinks` is the raw `[sinks]` table of the NOC config.
pub fn spawn_all(
    store: &Store,
    sinks: &toml::Table,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let config = SinksConfig::from_table(sinks)?;
    let mut names = std::collections::BTreeSet::new();
    let mut handles = Vec::new();
    let replay = config.replay_history;
    for c in config.snmp {
        let sink = snmp::SnmpSink::new(c)?;
        anyhow::ensure!(names.insert(sink.name().to_string()), "two sinks are named {:?}", sink.name());
        handles.push(tokio::spawn(run_sink(store.clone(), sink, replay, cancel.clone())));
    }
    for c in config.webhook {
        let sink = webhook::WebhookSink::new(c)?;
        anyhow::ensure!(names.insert(sink.name().to_string()), "two sinks are named {:?}", sink.name());
        handles.push(tokio::spawn(run_sink(store.clone(), sink, replay, cancel.clone())));
    }
    if let Some(c) = config.nagios {
        let sink = nagios::NagiosSink::new(c, store.clone())?;
        handles.push(tokio::spawn(run_sink(store.clone(), sink, replay, cancel.clone())));
    }
    Ok(handles)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await.context("store task panicked")?
}

/// The cursor loop every sink runs. Returns when `cancel` fires.
pub async fn run_sink<S: Sink>(store: Store, mut sink: S, replay_history: bool, cancel: CancellationToken) {
    let name = sink.name().to_string();
    // Subscribe before the first read, so no commit between the read and the wait is missed.
    let mut changes = store.subscribe();
    let mut backoff = Duration::from_millis(200);
    let cursor_name = name.clone();
    let st = store.clone();
    let init = blocking(move || {
        let cursor = st.sink_cursor(&cursor_name)?;
        if cursor != 0 {
            return Ok(cursor);
        }
        let start = if replay_history { -1 } else { st.last_event_id()?.max(0) };
        let start = if start == 0 { -1 } else { start };
        st.set_sink_cursor(&cursor_name, start)?;
        Ok(start)
    })
    .await;
    let mut cursor = match init {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(sink = %name, error = format!("{e:#}"), "sink cannot read its cursor; it will not run");
            return;
        }
    };
    tracing::info!(sink = %name, cursor, "sink started");
    let position = Arc::new(AtomicI64::new(cursor));
    let stop_lag = cancel.child_token();
    let lag_task = tokio::spawn(refresh_lag(store.clone(), name.clone(), position.clone(), stop_lag.clone()));
    if let Err(e) = sink.objects_changed().await {
        tracing::warn!(sink = %name, error = format!("{e:#}"), "sink could not sync objects at start");
    }
    while !cancel.is_cancelled() {
        let st = store.clone();
        let n = name.clone();
        // Losses first: whatever retention deleted before this read is counted by now.
        let read = blocking(move || {
            let lost = st.take_sink_losses(&n)?;
            Ok((lost, st.sink_lag(cursor), st.events_after(cursor, BATCH)))
        })
        .await
        .and_then(|(lost, lag, batch)| {
            report_lost(&name, cursor, lost);
            // A failed lag read must not hold up delivery; `refresh_lag` retries it.
            if let Ok(lag) = lag {
                report_lag(&name, &lag);
            }
            batch
        });
        let batch = match read {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(sink = %name, error = format!("{e:#}"), "sink cannot read the event log");
                if sleep_or_cancel(&cancel, backoff).await {
                    break;
                }
                continue;
            }
        };
        let Some(last) = batch.last().map(|e| e.id) else {
            // Idle: wait for a commit, an object change, the poll fallback, or shutdown.
            let woke = tokio::select! {
                _ = cancel.cancelled() => break,
                r = changes.recv() => r,
                _ = tokio::time::sleep(IDLE_POLL) => Ok(Change::Objects { locations: Vec::new() }),
            };
            match woke {
                Ok(Change::Objects { .. }) | Err(RecvError::Lagged(_)) => {
                    if let Err(e) = sink.objects_changed().await {
                        tracing::warn!(sink = %name, error = format!("{e:#}"), "sink could not sync objects");
                    }
                }
                Ok(Change::Events { .. }) => {}
                Err(RecvError::Closed) => break,
            }
            continue;
        };
        let matching: Vec<StoredEvent> = batch.into_iter().filter(|e| sink.filter().matches(e)).collect();
        let (new_cursor, failure) = match sink.deliver(&matching).await {
            Ok(()) => (last, None),
            Err(DeliveryError { delivered, error }) => {
                // Everything before the first undelivered event was delivered or filtered out.
                (matching.get(delivered).map_or(last, |e| e.id - 1), Some(error))
            }
        };
        if new_cursor > cursor {
            let st = store.clone();
            let n = name.clone();
            match blocking(move || st.set_sink_cursor(&n, new_cursor)).await {
                Ok(()) => {
                    cursor = new_cursor;
                    position.store(cursor, Ordering::Relaxed);
                }
                Err(e) => tracing::error!(sink = %name, error = format!("{e:#}"), "sink cannot save its cursor"),
            }
        }
        match failure {
            None => backoff = Duration::from_millis(200),
            Some(error) => {
                metrics::counter!("outpost_sink_failures_total", "sink" => name.clone()).increment(1);
                tracing::warn!(sink = %name, cursor, retry_in_ms = backoff.as_millis() as u64, error = format!("{error:#}"),
                    "sink delivery failed; will retry from its cursor");
                if sleep_or_cancel(&cancel, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    stop_lag.cancel();
    let _ = lag_task.await;
    tracing::info!(sink = %name, cursor, "sink stopped");
}

/// Refreshes the lag gauges of sink `name` every [`LAG_REFRESH`] from its cursor `position` until `stop`.
async fn refresh_lag(store: Store, name: String, position: Arc<AtomicI64>, stop: CancellationToken) {
    while !sleep_or_cancel(&stop, LAG_REFRESH).await {
        let st = store.clone();
        let cursor = position.load(Ordering::Relaxed);
        match blocking(move || st.sink_lag(cursor)).await {
            Ok(lag) => report_lag(&name, &lag),
            // Debug only: a store that cannot be read is already logged by the sink's own read of the log.
            Err(e) => tracing::debug!(sink = %name, error = format!("{e:#}"), "sink cannot read its lag"),
        }
    }
}

/// Sets the lag gauges: events after the cursor, and the age of the oldest of them by NOC receive time.
fn report_lag(name: &str, lag: &SinkLag) {
    let age_ms = lag.oldest_received_at.map_or(0, |t| now_ms().saturating_sub(t).max(0));
    metrics::gauge!("outpost_noc_sink_lag_events", "sink" => name.to_string()).set(lag.events as f64);
    metrics::gauge!("outpost_noc_sink_oldest_undelivered_age_seconds", "sink" => name.to_string())
        .set(age_ms as f64 / 1000.0);
}

/// Logs and counts events retention deleted before this sink handled them.
fn report_lost(name: &str, cursor: i64, lost: u64) {
    if lost == 0 {
        return;
    }
    metrics::counter!("outpost_noc_sink_events_lost_total", "sink" => name.to_string()).increment(lost);
    tracing::error!(
        sink = %name,
        lost,
        cursor,
        "retention deleted events this sink had not delivered yet; they will not be delivered. Keep the destination \
         reachable, or raise [retention] events_max_age_days / events_max_rows to cover its outages"
    );
}

/// True if cancelled.
async fn sleep_or_cancel(cancel: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
