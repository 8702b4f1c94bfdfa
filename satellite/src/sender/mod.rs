//! The sender: moves what the spool holds to the NOC over HTTPS, and turns acknowledgements into freed spool space.
//!
//! One request is in flight at a time, and each batch starts right after the acknowledged position,
//! so a retry after any failure (timeout, reset, NOC restart) resends exactly what the NOC has not
//! acknowledged, and the NOC's dedupe by (location, epoch, stream, seq) makes the effect exactly once.
//! Events go out as soon as they are appended (the spool wakes the sender); under load a batch
//! carries everything waiting, up to `max_batch_events`. Snapshot frames come from the spool's slots
//! (`spool/snapshots.rs`), which also decides delta versus full.
//!
//! What this module does not own: taking snapshots (`ship.rs`), the spool's on-disk rules (`spool/`).

mod backoff;
mod http;
pub mod identity;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outpost_format::event::Lifecycle;
use outpost_format::frame::{Ack, Frame, NocRequest, Payload};
use outpost_format::{EventKind, Stream};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;
pub use http::{Enrollment, FrameHeaders, NocClient, SendError, Trust};

use crate::spool::{LEDGER_LAG, Spool, SpoolError, now_ms};

/// Default most events per frame: large enough that a replay is not request-bound, small enough for the NOC's limit.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 5000;
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 << 20;
pub const DEFAULT_FULL_EVERY: u32 = 60;
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_millis(500);
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub location: String,
    /// Tried in order; the first that answers is used until it fails.
    pub urls: Vec<reqwest::Url>,
    pub trust: Trust,
    /// Announced to the NOC so it knows when this satellite is silent.
    pub ship_interval_s: u32,
    /// A full snapshot after this many deltas.
    pub full_every: u32,
    pub max_batch_events: usize,
    pub max_batch_bytes: usize,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub request_timeout: Duration,
}

impl SenderConfig {
    pub fn new(location: &str, urls: Vec<reqwest::Url>, trust: Trust) -> SenderConfig {
        SenderConfig {
            location: location.to_string(),
            urls,
            trust,
            ship_interval_s: 60,
            full_every: DEFAULT_FULL_EVERY,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            backoff_min: DEFAULT_BACKOFF_MIN,
            backoff_max: DEFAULT_BACKOFF_MAX,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What `satellite status` shows about delivery. Shared with the status writer; std Mutex, never held across .await.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SenderStatus {
    pub noc_url: String,
    /// `None` until the first attempt.
    pub reachable: Option<bool>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub enrollment: Option<String>,
    pub delivered_events: u64,
    /// Smoothed delivery rate, for the time-to-drain estimate.
    pub events_per_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

pub struct Sender {
    cfg: SenderConfig,
    client: NocClient,
    spool: Arc<Spool>,
    status: Arc<Mutex<SenderStatus>>,
    backoff: Backoff,
    /// Shrinks on 413, so an oversized batch cannot block the stream.
    batch_limit: usize,
    /// When the NOC became unreachable, for the NocReconnected event.
    down_since: Option<Instant>,
    /// Set after an answer that moved nothing, so a NOC that keeps refusing is not hammered.
    stalled: bool,
}

/// Progress of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepOutcome {
    /// Something was sent.
    pub sent: bool,
    /// An acknowledgement moved a position.
    pub progressed: bool,
    pub events_acked: u64,
}

impl Sender {
    pub fn new(cfg: SenderConfig, key: &str, spool: Arc<Spool>) -> anyhow::Result<Sender> {
        let client = NocClient::new(cfg.urls.clone(), &cfg.trust, &cfg.location, key, cfg.request_timeout)?;
        let status = SenderStatus { noc_url: client.current_url().to_string(), ..SenderStatus::default() };
        Ok(Sender {
            backoff: Backoff::new(cfg.backoff_min, cfg.backoff_max),
            batch_limit: cfg.max_batch_events.max(1),
            cfg,
            client,
            spool,
            status: Arc::new(Mutex::new(status)),
            down_since: None,
            stalled: false,
        })
    }

    pub fn status(&self) -> Arc<Mutex<SenderStatus>> {
        self.status.clone()
    }

    /// Sends the snapshot frames waiting in the spool, then the next events batch, and applies the acknowledgements.
    ///
    /// Snapshots go first because of how the NOC applies them: a snapshot overwrites the objects it lists, and a
    /// state change updates an object only if the NOC already holds it and its last check is not newer. An event
    /// appended after a snapshot was taken and delivered before it is therefore undone by it (or, for an object the
    /// NOC does not hold yet, lost from the object table), and the NOC shows a stale state until a later snapshot
    /// happens to change that object again. The batch is read before the slots are looked at, so every snapshot
    /// taken before one of its events goes first; one taken meanwhile is newer than the whole batch.
    pub async fn step(&mut self) -> Result<StepOutcome, StepError> {
        let mut out = StepOutcome::default();
        let acked_before = self.spool.acked_spool_seq();
        let batch = self.spool.read(acked_before + 1, self.batch_limit, self.cfg.max_batch_bytes)?;
        let refused = self.send_snapshots(&mut out).await?;
        if let Some(last) = batch.events.last() {
            let frame = Frame {
                location: self.cfg.location.clone(),
                epoch: batch.epoch,
                seq: last.seq,
                payload: Payload::Events(batch.events),
            };
            let bytes = frame.encode().map_err(|e| SpoolError::Encode(e.to_string()))?;
            let ack = self.client.post_frame(bytes, &self.headers()).await?;
            out.sent = true;
            out.progressed |= self.apply_ack(&ack)?;
            out.events_acked = self.spool.acked_spool_seq().saturating_sub(acked_before);
        }
        if let Some(e) = refused {
            return Err(e.into());
        }
        if out.sent {
            self.note_success(out.events_acked);
        }
        self.stalled = out.sent && !out.progressed;
        Ok(out)
    }

    /// Sends the in-flight snapshot frame and then the pending one, as long as each is acknowledged: the two slots
    /// are all the snapshots that can predate the events batch read before. A snapshot the NOC refuses outright
    /// (too large, malformed) is returned instead of failing the step, so it cannot hold the events back.
    async fn send_snapshots(&mut self, out: &mut StepOutcome) -> Result<Option<SendError>, StepError> {
        for _ in 0..2 {
            let Some(sf) = self.next_snapshot_frame().await? else { break };
            let ack = match self.client.post_frame(sf.bytes, &self.headers()).await {
                Ok(ack) => ack,
                Err(e @ (SendError::TooLarge | SendError::Malformed(_))) => return Ok(Some(e)),
                Err(e) => return Err(e.into()),
            };
            out.sent = true;
            let moved = self.apply_ack(&ack)?;
            out.progressed |= moved;
            if !moved {
                break;
            }
        }
        Ok(None)
    }

    /// [`Spool::next_snapshot_frame`] on the blocking pool: building a frame decodes two snapshots and compresses
    /// one (about 0.2 s of CPU at 100,000 services), which would stall every task on a runtime thread.
    async fn next_snapshot_frame(&self) -> Result<Option<crate::spool::SnapshotFrame>, SpoolError> {
        let spool = self.spool.clone();
        let (location, full_every) = (self.cfg.location.clone(), self.cfg.full_every);
        match tokio::task::spawn_blocking(move || spool.next_snapshot_frame(&location, full_every)).await {
            Ok(frame) => frame,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down, and whatever the spool did is on disk already.
            Err(_) => Ok(None),
        }
    }

    fn headers(&self) -> FrameHeaders {
        let s = self.spool.stats();
        FrameHeaders {
            backlog_items: s.pending_events + s.pending_snapshots,
            backlog_bytes: s.bytes,
            backlog_oldest_ms: s.oldest_ms.unwrap_or(0),
            ship_interval_s: self.cfg.ship_interval_s,
        }
    }

    /// Applies one acknowledgement; returns whether any position moved.
    fn apply_ack(&mut self, ack: &Ack) -> Result<bool, SpoolError> {
        let mut moved = false;
        for a in &ack.acks {
            moved |= match a.stream {
                Stream::Events => self.spool.ack_events(a.epoch, a.seq)?,
                Stream::Snapshots => self.spool.ack_snapshots(a.epoch, a.seq)?,
            };
        }
        for r in &ack.requests {
            match r {
                NocRequest::FullSnapshot | NocRequest::Gap { stream: Stream::Snapshots, .. } => {
                    moved |= self.spool.request_full_snapshot()?;
                }
                NocRequest::Gap { stream: Stream::Events, expected, got } => {
                    // We always send from our acked position + 1, so the NOC expects less than we hold only if
                    // it lost what it acknowledged (e.g. restored from backup). Nothing to resend: say so loudly.
                    tracing::error!(
                        expected,
                        got,
                        "the NOC reports a gap in events below our acknowledged position; those events are gone from the spool"
                    );
                }
                NocRequest::RetryAfterMs(_) => {}
            }
        }
        for note in &ack.notes {
            tracing::info!(note, "NOC note");
        }
        Ok(moved)
    }

    fn note_success(&mut self, events_acked: u64) {
        if let Some(since) = self.down_since.take() {
            let outage_ms = since.elapsed().as_millis() as u64;
            let ev = EventKind::Lifecycle(Lifecycle::NocReconnected { outage_ms });
            if let Err(e) = self.spool.append(&[(now_ms(), ev)]) {
                tracing::warn!(error = %e, "could not record the reconnect event");
            }
            tracing::info!(outage_ms, url = %self.client.current_url(), "NOC reachable again");
        }
        self.backoff.reset();
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        st.reachable = Some(true);
        st.noc_url = self.client.current_url().to_string();
        st.last_success_ms = Some(now_ms());
        st.last_error = None;
        st.delivered_events += events_acked;
        // Rate: events acked per step, smoothed; good enough for an ETA.
        st.events_per_s = 0.8 * st.events_per_s + 0.2 * events_acked as f64;
    }

    fn note_failure(&mut self, err: &StepError) {
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            let ev = EventKind::Lifecycle(Lifecycle::NocDisconnected);
            if let Err(e) = self.spool.append(&[(now_ms(), ev)]) {
                tracing::warn!(error = %e, "could not record the disconnect event");
            }
        }
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        st.reachable = Some(false);
        st.last_error = Some(err.to_string());
    }

    /// Decides what to do after a failed step and waits accordingly (cancellable).
    async fn recover(&mut self, err: StepError, cancel: &CancellationToken) {
        let wait = match &err {
            StepError::Send(SendError::Unreachable { .. }) => {
                // Try the next URL at once; back off only after a full round failed.
                if self.client.n_urls() > 1 && !self.client.fail_over() {
                    tracing::warn!(error = %err, next = %self.client.current_url(), "NOC unreachable; failing over");
                    return;
                }
                self.backoff.next_delay()
            }
            StepError::Send(SendError::TooLarge) => {
                self.batch_limit = (self.batch_limit / 2).max(1);
                tracing::warn!(
                    batch_limit = self.batch_limit,
                    "NOC refused a batch as too large; sending smaller ones"
                );
                return;
            }
            StepError::Send(SendError::RateLimited(d)) => *d,
            StepError::Send(SendError::Forbidden(_) | SendError::Unauthorized) => {
                // 401 is an unknown key ("enroll first"), 403 pending or rejected: (re-)enroll, keep spooling.
                if self.try_enroll().await == Enrollment::Accepted {
                    return;
                }
                self.backoff.next_delay()
            }
            _ => self.backoff.next_delay(),
        };
        self.note_failure(&err);
        tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "delivery failed");
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }

    /// Asks the NOC to enroll this satellite and records the answer in the status.
    async fn try_enroll(&mut self) -> Enrollment {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let result = self.client.enroll(hostname.trim()).await;
        let state = match &result {
            Ok(Enrollment::Accepted) => "accepted".to_string(),
            Ok(Enrollment::Pending) => {
                format!("pending: accept it at the NOC (noc satellites accept {})", self.cfg.location)
            }
            Ok(Enrollment::Rejected(why)) => format!("rejected: {why}"),
            Err(e) => format!("enrollment failed: {e}"),
        };
        self.set_enrollment(&state);
        tracing::warn!(enrollment = %state, "the NOC does not accept this satellite's key yet");
        result.unwrap_or(Enrollment::Rejected(state))
    }

    fn set_enrollment(&self, state: &str) {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).enrollment = Some(state.to_string());
    }

    /// The daemon loop: deliver until cancelled. Never gives up; the spool holds everything meanwhile.
    pub async fn run(mut self, cancel: CancellationToken) {
        // Acknowledgements reach the ledger file from a task of their own, so its fsyncs never sit between an
        // answer from the NOC and the next request.
        let flusher = tokio::spawn(flush_ledger(self.spool.clone(), cancel.clone()));
        while !cancel.is_cancelled() {
            match self.step().await {
                Ok(o) if o.sent && !self.stalled => {}
                Ok(o) => {
                    let idle = if o.sent { self.backoff.next_delay() } else { Duration::from_secs(30) };
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = self.spool.wait_appended(), if !o.sent => {}
                        _ = tokio::time::sleep(idle) => {}
                    }
                }
                Err(e) => self.recover(e, &cancel).await,
            }
        }
        let _ = flusher.await;
    }

    /// Delivers everything spooled, retrying until `deadline`. For `satellite ship`.
    /// `progress` is called after each step with (events pending, bytes pending).
    pub async fn drain(&mut self, deadline: Instant, mut progress: impl FnMut(u64, u64)) -> Result<(), StepError> {
        let cancel = CancellationToken::new();
        loop {
            let res = self.step().await;
            let spool = self.spool.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || spool.flush_if_lagging()).await {
                return Err(e.into());
            }
            let s = self.spool.stats();
            progress(s.pending_events, s.bytes);
            match res {
                Ok(o) if !o.sent => return Ok(()),
                Ok(_) if self.stalled && Instant::now() >= deadline => {
                    return Err(SendError::Malformed("the NOC keeps answering without acknowledging".into()).into());
                }
                Ok(_) if self.stalled => {
                    tokio::time::sleep(self.backoff.next_delay().min(deadline - Instant::now())).await
                }
                Ok(_) => {}
                Err(e @ (StepError::Spool(_) | StepError::Send(SendError::Malformed(_)))) => return Err(e),
                Err(StepError::Send(e @ (SendError::Unauthorized | SendError::Forbidden(_)))) => {
                    // A one-shot cannot wait for an operator: enroll (so the NOC lists us as pending) and say so.
                    match self.try_enroll().await {
                        Enrollment::Accepted => continue,
                        other => {
                            let state = self.status.lock().unwrap_or_else(|p| p.into_inner()).enrollment.clone();
                            let why = state.unwrap_or_else(|| format!("{other:?}"));
                            return Err(SendError::Forbidden(format!("{e}; enrollment {why}")).into());
                        }
                    }
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    tokio::select! {
                        _ = self.recover(e, &cancel) => {}
                        _ = tokio::time::sleep(remaining) => {}
                    }
                }
            }
        }
    }
}

/// Writes acknowledgements to the spool's ledger every [`LEDGER_LAG`], off the request path, until cancelled.
async fn flush_ledger(spool: Arc<Spool>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(LEDGER_LAG);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let s = spool.clone();
        match tokio::task::spawn_blocking(move || s.flush_if_lagging()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "spool ledger write failed; retrying"),
            Err(e) => tracing::error!(error = %e, "spool ledger writer task failed"),
        }
    }
    let s = spool.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.flush()).await {
        tracing::error!(error = %e, "spool ledger write failed at shutdown");
    }
}
