//! The SNMP trap receiver: a task that listens on UDP, admits v1 traps, v2c traps and informs and
//! SNMPv3 (USM authNoPriv/authPriv) notifications, and hands each one to the spool as an
//! [`EventKind::Trap`] event (plus an [`EventKind::CheckResult`] when an OID rule matches).
//!
//! Pipeline: async-snmp `NotificationReceiver::recv_deferred` (decode, USM; an inform's Response is built but
//! not sent) → [`admission`] (source networks, community/user allow-lists, token-bucket flood limit; refusals
//! counted) → [`convert`] and [`rules`] (a match goes through the check engine, [`passive`]) → a bounded queue →
//! a forwarder that keeps up to [`MAX_IN_FLIGHT`] spool appends in flight, in order, so group commit can batch
//! them. Malformed datagrams never stop the receiver: the library skips them and [`parse_failures`] counts them.
//!
//! Invariant: an inform is answered only after every event it produced is durable in the spool (fsynced).
//! The Response is sent by the forwarder once those appends complete; if the queue to the spool is full or the
//! spool refuses an append, the Response is dropped unsent and the sender retries. `recv_deferred` is our patch to
//! async-snmp 0.18.1 (vendor/async-snmp/VENDORED.md): upstream answers the inform before returning it.
//!
//! Not here: the `[traps]` table of the satellite config lives in [`config`] until the config module
//! takes it over; sending traps northbound is the NOC's job (`noc/src/sinks/snmp.rs`).

pub mod admission;
pub mod config;
pub mod convert;
pub mod engine_state;
mod parse_failures;
pub mod passive;
pub mod rules;
mod socket_buffer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use async_snmp::InformResponder;
use async_snmp::notification::NotificationReceiver;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use outpost_format::event::StateChange;
use outpost_format::{EventKind, UnixMillis};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

pub use admission::TrapStats;
pub use config::TrapConfig;
pub use passive::PassiveResults;

use crate::outbox::EventSink;
use config::ReceiverSettings;

/// Traps whose spool appends are awaited at once (each with its rule's events and, for an inform, its unsent
/// Response). Enough for group commit to batch a burst; bounded so memory is too.
pub const MAX_IN_FLIGHT: usize = 1024;

/// A running receiver.
pub struct TrapReceiver {
    /// The bound address (useful when the config asked for port 0).
    pub local_addr: SocketAddr,
    pub stats: Arc<TrapStats>,
    /// Ends after cancellation, once every admitted trap has been handed to the spool.
    pub task: JoinHandle<()>,
}

/// Starts the receiver task without a check engine (rule results go to the NOC as they are); see [`prepare`].
/// Must be called within a tokio runtime.
pub fn spawn(config: &TrapConfig, sink: EventSink, cancel: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
    Ok(prepare(config)?.spawn(sink, None, cancel))
}

/// A receiver whose config is valid, SNMPv3 engine state loaded and address test-bound, not yet started.
pub struct Prepared {
    /// `None` when `traps.enabled` is false.
    ready: Option<(ReceiverSettings, Option<async_snmp::AuthoritativeEngine>)>,
}

/// What the daemon calls first: a bad config, an unreadable engine file, a privileged port or an address in use
/// fail start-up here with a clear error, before any check runs. Synchronous so it fits a non-async start-up hook.
pub fn prepare(config: &TrapConfig) -> anyhow::Result<Prepared> {
    if !config.enabled {
        return Ok(Prepared { ready: None });
    }
    let settings = config.validate()?;
    std::net::UdpSocket::bind(settings.listen).map_err(|e| bind_error(&settings, &e))?;
    let engine = load_engine(&settings)?;
    Ok(Prepared { ready: Some((settings, engine)) })
}

impl Prepared {
    /// Starts the receiver task (it binds for real); a finished task when `traps.enabled` is false.
    /// Rule results go through `passive` (the check engine) when given. Must be called within a tokio runtime.
    pub fn spawn(
        self,
        sink: EventSink,
        passive: Option<Arc<dyn PassiveResults>>,
        cancel: CancellationToken,
    ) -> JoinHandle<()> {
        let Some((settings, engine)) = self.ready else {
            tracing::debug!("SNMP trap receiver disabled ([traps] enabled = false)");
            return tokio::spawn(async {});
        };
        tokio::spawn(async move {
            match start_validated(settings, engine, Pipeline { sink, passive }, cancel).await {
                Ok(receiver) => {
                    if let Err(e) = receiver.task.await {
                        tracing::error!(error = %e, "SNMP trap receiver task failed");
                    }
                }
                Err(e) => tracing::error!(error = format!("{e:#}"), "SNMP trap receiver did not start"),
            }
        })
    }
}

/// Binds and starts the receiver (whatever `enabled` says), returning the bound address and the counters.
pub async fn start(
    config: &TrapConfig,
    sink: EventSink,
    passive: Option<Arc<dyn PassiveResults>>,
    cancel: CancellationToken,
) -> anyhow::Result<TrapReceiver> {
    let settings = config.validate()?;
    let engine = load_engine(&settings)?;
    start_validated(settings, engine, Pipeline { sink, passive }, cancel).await
}

/// Where admitted traps go: the spool, and rule results through the check engine when there is one.
#[derive(Clone)]
struct Pipeline {
    sink: EventSink,
    passive: Option<Arc<dyn PassiveResults>>,
}

async fn start_validated(
    settings: ReceiverSettings,
    engine: Option<async_snmp::AuthoritativeEngine>,
    pipeline: Pipeline,
    cancel: CancellationToken,
) -> anyhow::Result<TrapReceiver> {
    let stats = Arc::new(TrapStats::default());
    let (tx, rx) = mpsc::channel::<Admitted>(settings.queue);
    let receiver = build_receiver(&settings, engine, stats.clone()).await?;
    let local_addr = receiver.local_addr();
    match socket_buffer::enlarge_receive_buffer(local_addr, settings.receive_buffer_bytes) {
        Ok(Some(granted)) => tracing::debug!(granted, "trap receiver socket buffer set"),
        Ok(None) => {
            tracing::warn!(%local_addr, "trap receiver socket not found; its receive buffer keeps the default size")
        }
        Err(e) => tracing::warn!(error = %e, "could not enlarge the trap receiver's socket buffer"),
    }
    tracing::info!(%local_addr, users = settings.users.len(), rules = settings.rules.len(), "SNMP trap receiver listening");
    let dispatch = parse_failures::CountingDispatch::wrap_current(stats.clone());
    let queue = Queue { tx, rx };
    let task = tokio::spawn(run(receiver, settings, queue, pipeline, cancel, stats.clone()).with_subscriber(dispatch));
    Ok(TrapReceiver { local_addr, stats, task })
}

fn load_engine(settings: &ReceiverSettings) -> anyhow::Result<Option<async_snmp::AuthoritativeEngine>> {
    if settings.users.is_empty() {
        return Ok(None);
    }
    let path = settings.engine_state_file.as_deref().context("traps.engine_state_file is required with users")?;
    engine_state::load_or_install(path).map(Some)
}

fn bind_error(settings: &ReceiverSettings, e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "bind the SNMP trap receiver to {}: {e} (port 162 needs root or CAP_NET_BIND_SERVICE; \
         or set traps.listen to a port above 1023)",
        settings.listen
    )
}

async fn build_receiver(
    settings: &ReceiverSettings,
    engine: Option<async_snmp::AuthoritativeEngine>,
    stats: Arc<TrapStats>,
) -> anyhow::Result<NotificationReceiver> {
    let admission = admission::Admission::new(settings);
    let mut builder = NotificationReceiver::builder()
        .bind(settings.listen.to_string())
        .acceptance_policy(move |envelope| admission.evaluate(envelope, &stats));
    if let Some(engine) = engine {
        builder = builder.authoritative_engine(engine);
        for user in &settings.users {
            let u = user.clone();
            builder = builder
                .usm_user(user.name.clone().into_bytes(), move |b| match &u.privacy {
                    None => b.auth(u.auth, u.auth_password.as_bytes()),
                    Some((p, pw)) => b.auth_priv(u.auth, u.auth_password.as_bytes(), *p, pw.as_bytes()),
                })
                .map_err(|e| anyhow::anyhow!("traps.users: user {:?}: {e}", user.name))?;
        }
    }
    builder.build().await.map_err(|e| bind_error(settings, &e))
}

/// Both ends of the queue between the receive loop and the forwarder.
struct Queue {
    tx: mpsc::Sender<Admitted>,
    rx: mpsc::Receiver<Admitted>,
}

/// What the receive loop hands the forwarder: the trap event, the passive result if a rule matched, and for an
/// inform the Response to send once all of that is durable.
struct Admitted {
    time: UnixMillis,
    trap: EventKind,
    passive: Option<StateChange>,
    ack: Option<InformResponder>,
}

async fn run(
    receiver: NotificationReceiver,
    settings: ReceiverSettings,
    queue: Queue,
    pipeline: Pipeline,
    cancel: CancellationToken,
    stats: Arc<TrapStats>,
) {
    let Queue { tx, rx } = queue;
    let forwarder = tokio::spawn(forward(rx, pipeline, stats.clone()));
    let mut usm_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = usm_tick.tick() => {
                copy_usm_failures(&receiver, &stats);
                continue;
            }
            r = receiver.recv_deferred() => r,
        };
        copy_usm_failures(&receiver, &stats);
        match received {
            Ok((received, ack)) => {
                let trap = convert::to_trap(&received.notification, received.source);
                let passive = rules::apply(&settings.rules, &trap, received.source);
                if passive.is_some() {
                    stats.rule_results.fetch_add(1, Ordering::Relaxed);
                }
                let item = Admitted { time: now_millis(), trap: EventKind::Trap(trap), passive, ack };
                match tx.try_send(item) {
                    Ok(()) => {
                        stats.received.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("outpost_traps_received_total").increment(1);
                    }
                    // The item, with an inform's Response, is dropped unsent: the sender will retry.
                    Err(_) => stats.count_drop(admission::DropReason::QueueFull),
                }
            }
            Err(e) => {
                // A socket error (e.g. ICMP-induced) or failing engine-state persistence; keep receiving,
                // but not in a hot loop.
                tracing::warn!(error = %e, "SNMP trap receive failed; retrying in 100 ms");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
    drop(tx);
    if let Err(e) = forwarder.await {
        tracing::error!(error = %e, "trap forwarder task failed");
    }
    tracing::info!(
        received = stats.received.load(Ordering::Relaxed),
        dropped = stats.dropped(),
        malformed = stats.malformed.load(Ordering::Relaxed),
        "SNMP trap receiver stopped"
    );
}

/// Hands admitted traps to the spool in arrival order, with up to [`MAX_IN_FLIGHT`] traps awaiting fsync, and
/// answers each inform once all of its events are durable.
/// Ends when the receive loop drops its sender and everything queued has been recorded.
async fn forward(mut rx: mpsc::Receiver<Admitted>, pipeline: Pipeline, stats: Arc<TrapStats>) {
    let mut in_flight = FuturesOrdered::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            biased;
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            item = rx.recv(), if open && in_flight.len() < MAX_IN_FLIGHT => match item {
                Some(item) => in_flight.push_back(record(item, pipeline.clone(), stats.clone())),
                None => open = false,
            },
        }
    }
}

/// Records one admitted trap (the trap event first, then what its rule raised), then answers it if it is an
/// inform and every append succeeded.
async fn record(item: Admitted, pipeline: Pipeline, stats: Arc<TrapStats>) {
    let Admitted { time, trap, passive, ack } = item;
    let mut events = vec![trap];
    if let Some(result) = passive {
        events.extend(passive::events_for(pipeline.passive.as_ref(), result, time));
    }
    // Queued in order on this future's first poll, so group commit batches them with their neighbours.
    let appends = events.into_iter().map(|kind| pipeline.sink.emit(time, kind));
    let mut durable = true;
    for result in futures_util::future::join_all(appends).await {
        match result {
            Ok(_) => {
                stats.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                durable = false;
                stats.not_recorded.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "a received trap was not recorded; an inform is left unanswered");
            }
        }
    }
    if let Some(ack) = ack.filter(|_| durable) {
        match ack.send().await {
            async_snmp::InformAckOutcome::Sent => {
                stats.informs_answered.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("outpost_traps_informs_answered_total").increment(1);
            }
            outcome => tracing::warn!(?outcome, "could not answer an inform; its sender will retry"),
        }
    }
}

/// USM failures worth an operator's attention. Unknown engine IDs and time-window reports are left out:
/// every SNMPv3 inform sender triggers them once while discovering this engine.
fn copy_usm_failures(receiver: &NotificationReceiver, stats: &TrapStats) {
    let failures = u64::from(receiver.usm_wrong_digests())
        + u64::from(receiver.usm_unknown_usernames())
        + u64::from(receiver.usm_unsupported_sec_levels())
        + u64::from(receiver.usm_decryption_errors());
    let before = stats.usm_failures.swap(failures, Ordering::Relaxed);
    if failures > before {
        metrics::counter!("outpost_traps_usm_failures_total").increment(failures - before);
    }
}

fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
