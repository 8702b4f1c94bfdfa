//! The check engine: owns the site's [`Table`] and the tasks that run checks on schedule, start and end
//! downtimes, and keep the retention file current. [`EngineHandle`] is what the daemon, the control
//! socket and tests hold.
//!
//! Tasks (each one loop, all stopped by the `CancellationToken`):
//! - scheduler: pops due checks, takes a permit of the global semaphore (`max_concurrent_checks`), and
//!   spawns one lightweight tokio task per running check (no thread per check);
//! - ticker: once a second, downtime transitions and latency reporting;
//! - retention: writes changed state every `retention_interval` (and once more at shutdown).
//!
//! Events are emitted after the table lock is released, in the order the table produced them.
//! The lock is a `std::sync::Mutex`: it is never held across `.await`.
//!
//! Shutdown (cancel): the scheduler stops launching, running checks are abandoned (their plugins killed; the
//! checks run again after a restart), retention is written once more, and then the engine drops its
//! [`EventSink`], so the spool writer can finish as soon as the engine is done rather than waiting for every
//! [`EngineHandle`] clone (control socket, `main`) to go away. Events emitted after that are refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use outpost_format::event::Lifecycle;
use outpost_format::model::{Acknowledgement, Downtime};
use outpost_format::{EventKind, ObjectKey, Snapshot, UnixMillis};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::check::{self, RunOptions};
use crate::config::Config;
use crate::outbox::EventSink;
use crate::state::retention;
use crate::state::table::{Launch, OpError, ReloadCounts, Table};

/// The longest the scheduler sleeps without looking at the schedule again.
const MAX_IDLE: Duration = Duration::from_secs(1);
/// Checks taken off the schedule per lock acquisition.
const LAUNCH_BATCH: usize = 256;

/// Namespace for [`Engine::start`].
pub struct Engine;

/// Cheap to clone; every clone talks to the same engine.
#[derive(Clone)]
pub struct EngineHandle {
    shared: Arc<Shared>,
    tracker: TaskTracker,
}

struct Shared {
    table: Mutex<Table>,
    /// `None` once the engine has stopped (see the module comment on shutdown).
    sink: Mutex<Option<EventSink>>,
    state_dir: PathBuf,
    /// Wakes the scheduler when something became due earlier than it planned for.
    wake: Notify,
    /// Global concurrency limit; resized on reload by adding permits (never shrinks below running checks).
    permits: Arc<Semaphore>,
    permits_total: AtomicU64,
    /// State changed since the last retention write.
    dirty: AtomicBool,
    /// Serialises retention writes (periodic and on operator commands).
    save_lock: tokio::sync::Mutex<()>,
    checks_run: AtomicU64,
    cancel: CancellationToken,
}

/// Counters for `status` and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineStats {
    pub checks_run: u64,
    pub latency_p50_ms: u64,
    pub latency_p99_ms: u64,
    pub latency_max_ms: u64,
    pub scheduled: u64,
    pub paused: bool,
}

/// Tunes glibc malloc for a long-running daemon holding many small objects. Call first thing in `main`
/// (the engine calls it again; it is idempotent).
///
/// - A fixed mmap threshold of 128 KiB: large short-lived buffers (retention payloads, snapshots, config
///   text) are mmapped and returned to the OS when freed. With glibc's default dynamic threshold they move
///   onto the heap after the first free and pin ~10 MiB at 10,000 services (measured: steady RSS 33 -> 24 MiB).
/// - At most two arenas: check tasks hop between worker threads, and per-thread arenas fragment.
pub fn tune_allocator() {
    // SAFETY: mallopt has no preconditions; it only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

pub fn now_ms() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Engine {
    /// Loads retention from `state_dir`, starts the engine's tasks and returns its handle.
    /// Must be called inside a tokio runtime. Lifecycle `Started`/`Stopping` events are the daemon's to emit.
    /// Stops when `cancel` is cancelled; [`EngineHandle::join`] waits for that (and the final retention write).
    pub fn start(
        config: Arc<Config>,
        state_dir: &Path,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> anyhow::Result<EngineHandle> {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("create the state directory {} (or pass --state-dir)", state_dir.display()))?;
        let now = now_ms();
        // Retained objects go into the table as they are decoded: the retained state is never held twice.
        let mut table = Table::unscheduled(config.clone());
        let mut restored = 0usize;
        match retention::load_each(state_dir, |o| restored += usize::from(table.restore(o))) {
            Ok(Some(settings)) => table.restore_settings(settings),
            Ok(None) => {}
            Err(e @ retention::RetentionError::Corrupt { .. }) => {
                let moved = retention::quarantine(state_dir, now).context("move the damaged retention file aside")?;
                tracing::error!(error = %e, moved_to = %moved.display(), "starting with fresh state: the retention file is damaged");
                // What was restored before the damage showed is not to be trusted.
                table = Table::unscheduled(config.clone());
                restored = 0;
            }
            Err(e) => return Err(e).context("read retention"),
        }
        table.begin(now);
        tracing::info!(
            location = %config.location,
            hosts = config.hosts.len(),
            services = config.services.len(),
            restored,
            "check engine starting"
        );
        let n_permits = config.engine.max_concurrent_checks;
        let shared = Arc::new(Shared {
            table: Mutex::new(table),
            sink: Mutex::new(Some(sink)),
            state_dir: state_dir.to_path_buf(),
            wake: Notify::new(),
            permits: Arc::new(Semaphore::new(n_permits)),
            permits_total: AtomicU64::new(n_permits as u64),
            dirty: AtomicBool::new(true),
            save_lock: tokio::sync::Mutex::new(()),
            checks_run: AtomicU64::new(0),
            cancel,
        });
        // Parsing the config allocated far more than the table keeps; hand the freed pages back
        // (glibc keeps them otherwise, and RSS at 10,000 services is a target).
        tune_allocator();
        // SAFETY: malloc_trim has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
        check::reaper::start();
        let handle = EngineHandle { shared: shared.clone(), tracker: TaskTracker::new() };
        handle.tracker.spawn(scheduler_loop(shared.clone(), handle.tracker.clone()));
        handle.tracker.spawn(ticker_loop(shared.clone()));
        handle.tracker.spawn(retention_loop(shared.clone()));
        handle.tracker.close();
        let (stopped, tracker) = (shared, handle.tracker.clone());
        tokio::spawn(async move {
            tracker.wait().await;
            stopped.sink.lock().unwrap_or_else(|p| p.into_inner()).take();
        });
        Ok(handle)
    }
}

impl crate::ship::SnapshotSource for EngineHandle {
    fn snapshot(&self) -> std::io::Result<crate::snapshot_blob::SnapshotBlob> {
        self.snapshot_blob()
    }
}

impl EngineHandle {
    fn table(&self) -> MutexGuard<'_, Table> {
        lock(&self.shared)
    }

    async fn emit(&self, events: Vec<EventKind>) {
        emit_all(&self.shared, events).await;
    }

    /// After an operator command: write retention now, so the command survives a crash.
    async fn commit(&self, events: Vec<EventKind>) -> anyhow::Result<()> {
        self.shared.dirty.store(true, Ordering::Release);
        save_retention(&self.shared).await.context("write retention")?;
        self.emit(events).await;
        Ok(())
    }

    /// The whole site: configuration, status, acknowledgements, downtimes and comments of every object.
    pub fn snapshot(&self) -> Snapshot {
        self.table().snapshot(now_ms())
    }

    /// The whole site encoded as the snapshot shipper takes it (see `snapshot_blob`), under the table's lock.
    pub fn snapshot_blob(&self) -> std::io::Result<crate::snapshot_blob::SnapshotBlob> {
        self.table().snapshot_blob(now_ms())
    }

    /// `satellite status`, read from the table under its lock (no copy of the site).
    pub fn status_report(&self, all: bool) -> crate::control::status::StatusReport {
        use crate::control::status::{ObjectView, build};
        let stats = self.stats();
        let t = self.table();
        let objects = t.slots.iter().map(|s| ObjectView {
            key: &s.def.key,
            max_attempts: s.def.config.max_attempts,
            state: &s.obj,
        });
        build(&t.config.location, now_ms(), objects, stats, all)
    }

    pub fn config(&self) -> Arc<Config> {
        self.table().config.clone()
    }

    pub fn stats(&self) -> EngineStats {
        let t = self.table();
        EngineStats {
            checks_run: self.shared.checks_run.load(Ordering::Relaxed),
            latency_p50_ms: t.latency.quantile_ms(0.5),
            latency_p99_ms: t.latency.quantile_ms(0.99),
            latency_max_ms: t.latency.max_ms(),
            scheduled: t.schedule.len() as u64,
            paused: t.paused,
        }
    }

    /// Applies a new config, keeping the state of objects that still exist; emits `ConfigChanged`.
    pub async fn reload(&self, new: Arc<Config>) -> anyhow::Result<ReloadCounts> {
        let counts = {
            let mut t = self.table();
            let counts = t.reload(new.clone(), now_ms());
            let want = new.engine.max_concurrent_checks as u64;
            let have = self.shared.permits_total.load(Ordering::Acquire);
            if want > have {
                self.shared.permits.add_permits((want - have) as usize);
                self.shared.permits_total.store(want, Ordering::Release);
            } else if want < have {
                // Shrink by retiring permits as running checks return them.
                let permits = self.shared.permits.clone();
                let retire = (have - want) as u32;
                self.shared.permits_total.store(want, Ordering::Release);
                tokio::spawn(async move {
                    if let Ok(p) = permits.acquire_many(retire).await {
                        p.forget();
                    }
                });
            }
            counts
        };
        tracing::info!(
            added = counts.added,
            changed = counts.changed,
            removed = counts.removed,
            "configuration reloaded"
        );
        self.shared.wake.notify_one();
        let ev = EventKind::Lifecycle(Lifecycle::ConfigChanged {
            added: counts.added,
            changed: counts.changed,
            removed: counts.removed,
        });
        self.commit(vec![ev]).await?;
        Ok(counts)
    }

    pub async fn acknowledge(
        &self,
        key: &ObjectKey,
        author: &str,
        comment: &str,
        sticky: bool,
    ) -> Result<(), CommandError> {
        let ack = Acknowledgement { author: author.into(), comment: comment.into(), sticky, time: now_ms() };
        let events = self.table().acknowledge(key, ack)?;
        Ok(self.commit(events).await?)
    }

    pub async fn remove_acknowledgement(&self, key: &ObjectKey) -> Result<(), CommandError> {
        let events = self.table().remove_acknowledgement(key)?;
        Ok(self.commit(events).await?)
    }

    /// Schedules downtime; `fixed = false` makes it flexible, lasting `duration_s` from the first problem.
    #[allow(clippy::too_many_arguments)]
    pub async fn schedule_downtime(
        &self,
        key: &ObjectKey,
        author: &str,
        comment: &str,
        start: UnixMillis,
        end: UnixMillis,
        fixed: bool,
        duration_s: u32,
    ) -> Result<u64, CommandError> {
        let d = Downtime {
            id: 0,
            author: author.into(),
            comment: comment.into(),
            start,
            end,
            fixed,
            duration_s,
            started_at: None,
        };
        let (id, events) = self.table().schedule_downtime(key, d, now_ms())?;
        self.commit(events).await?;
        Ok(id)
    }

    pub async fn cancel_downtime(&self, id: u64) -> Result<(), CommandError> {
        let events = self.table().cancel_downtime(id, now_ms())?;
        Ok(self.commit(events).await?)
    }

    pub async fn add_comment(&self, key: &ObjectKey, author: &str, text: &str) -> Result<u64, CommandError> {
        let (id, events) = self.table().add_comment(key, author.into(), text.into(), now_ms())?;
        self.commit(events).await?;
        Ok(id)
    }

    pub async fn remove_comment(&self, id: u64) -> Result<(), CommandError> {
        let events = self.table().remove_comment(id)?;
        Ok(self.commit(events).await?)
    }

    /// Runs the object's check now (and a host's services' too with `with_services`). Returns how many.
    pub fn check_now(&self, key: &ObjectKey, with_services: bool) -> Result<usize, CommandError> {
        let n = self.table().check_now(key, with_services, now_ms())?;
        self.shared.wake.notify_one();
        Ok(n)
    }

    /// Applies a passive result, as Nagios's PROCESS_SERVICE_CHECK_RESULT does: through the same SOFT/HARD state
    /// machine as an active result. Returns the events it raised without recording them, so that a caller that
    /// must know when they are durable (the trap receiver answers an inform only then) records them itself.
    pub fn process_passive_result(
        &self,
        key: &ObjectKey,
        code: u8,
        output: &str,
        received: UnixMillis,
    ) -> Result<Vec<EventKind>, OpError> {
        let output = outpost_format::plugin_output::parse(output.as_bytes());
        let events = self.table().apply_passive(key, code, output, received)?;
        self.shared.dirty.store(true, Ordering::Release);
        Ok(events)
    }

    /// Pauses (true) or resumes (false) all active checks; emits `Paused`/`Resumed` when it changes.
    pub async fn set_paused(&self, paused: bool) -> anyhow::Result<bool> {
        let changed = self.table().set_paused(paused, now_ms());
        if changed {
            let ev = EventKind::Lifecycle(if paused { Lifecycle::Paused } else { Lifecycle::Resumed });
            self.commit(vec![ev]).await?;
            self.shared.wake.notify_one();
        }
        Ok(changed)
    }

    /// Waits until every task has stopped (after cancellation) and the final retention write is done.
    pub async fn join(&self) {
        self.tracker.wait().await;
    }

    /// Loads the config at `path` and applies it; on any config error nothing changes and the errors are returned.
    pub async fn reload_from(&self, path: &Path) -> anyhow::Result<ReloadCounts> {
        let p = path.to_path_buf();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&p)).await.context("config loader task")?;
        let config = loaded.map_err(|errors| anyhow::anyhow!("{errors}"))?;
        self.reload(Arc::new(config)).await
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.shared.cancel.clone()
    }
}

/// Why an operator command failed: refused (fix the request) or not recorded (fix the machine).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] OpError),
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

fn lock(shared: &Shared) -> MutexGuard<'_, Table> {
    // A panic while holding the lock would already have ended the engine's task; keep serving what is left.
    shared.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn emit_all(shared: &Shared, events: Vec<EventKind>) {
    let now = now_ms();
    let sink = shared.sink.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(sink) = sink else {
        tracing::warn!(events = events.len(), "the engine has stopped; events not recorded");
        return;
    };
    for ev in events {
        if let Err(e) = sink.emit(now, ev).await {
            tracing::warn!(error = %e, "event not recorded");
        }
    }
}

async fn scheduler_loop(shared: Arc<Shared>, tracker: TaskTracker) {
    let mut batch: Vec<Launch> = Vec::with_capacity(LAUNCH_BATCH);
    loop {
        let now = now_ms();
        let next_at = {
            let mut t = lock(&shared);
            t.due_checks(now, LAUNCH_BATCH, &mut batch);
            // While paused, overdue entries stay queued: sleep instead of spinning on them.
            if t.paused { None } else { t.schedule.next_at() }
        };
        if batch.is_empty() {
            let wait = next_at
                .map_or(MAX_IDLE, |at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(MAX_IDLE));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shared.wake.notified() => {}
                _ = shared.cancel.cancelled() => return,
            }
            continue;
        }
        for launch in batch.drain(..) {
            let permit = tokio::select! {
                p = shared.permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
                _ = shared.cancel.cancelled() => return,
            };
            let latency = u64::try_from(now_ms() - launch.due).unwrap_or(0);
            let shared = shared.clone();
            tracker.spawn(async move {
                let (shell, max_output) = {
                    let t = lock(&shared);
                    (t.config.engine.shell.clone(), t.config.engine.max_output_bytes)
                };
                let outcome = {
                    let Some(command) = launch.def.command.as_ref() else { return };
                    let opts = RunOptions {
                        timeout: launch.def.timeout,
                        timeout_state: launch.def.timeout_state,
                        max_output_bytes: max_output,
                        shell: &shell,
                        is_host: launch.def.is_host(),
                    };
                    // At shutdown, dropping the run kills the plugin: a 60 s timeout must not hold up the exit.
                    tokio::select! {
                        outcome = check::run(command, opts) => outcome,
                        _ = shared.cancel.cancelled() => return,
                    }
                };
                drop(permit);
                let events = {
                    let mut t = lock(&shared);
                    t.latency.record(latency);
                    t.latency_window.record(latency);
                    t.apply(&launch, outcome, now_ms())
                };
                shared.checks_run.fetch_add(1, Ordering::Relaxed);
                shared.dirty.store(true, Ordering::Release);
                if !events.is_empty() {
                    emit_all(&shared, events).await;
                }
            });
        }
    }
}

async fn ticker_loop(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_report = now_ms();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shared.cancel.cancelled() => return,
        }
        let now = now_ms();
        let (events, report) = {
            let mut t = lock(&shared);
            let events = t.tick(now);
            let report = if now - last_report >= 60_000 {
                let r = (
                    t.latency_window.quantile_ms(0.5),
                    t.latency_window.quantile_ms(0.99),
                    t.latency_window.max_ms(),
                    t.config.engine.latency_warn,
                );
                t.latency_window = Default::default();
                Some(r)
            } else {
                None
            };
            (events, report)
        };
        if let Some((p50, p99, max, warn)) = report {
            last_report = now;
            metrics::gauge!("outpost_check_latency_p99_seconds").set(p99 as f64 / 1000.0);
            metrics::gauge!("outpost_check_latency_p50_seconds").set(p50 as f64 / 1000.0);
            if Duration::from_millis(p99) > warn {
                tracing::warn!(
                    p50_ms = p50,
                    p99_ms = p99,
                    max_ms = max,
                    "checks are running late: more checks are due than the satellite can run; raise max_concurrent_checks or lengthen intervals"
                );
            } else {
                tracing::debug!(p50_ms = p50, p99_ms = p99, max_ms = max, "check latency");
            }
        }
        if !events.is_empty() {
            shared.dirty.store(true, Ordering::Release);
            emit_all(&shared, events).await;
        }
    }
}

async fn retention_loop(shared: Arc<Shared>) {
    loop {
        let every = lock(&shared).config.engine.retention_interval;
        let stop = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = shared.cancel.cancelled() => true,
        };
        if let Err(e) = save_retention(&shared).await {
            tracing::error!(error = %format!("{e:#}"), "could not write retention; state since the last write would be lost in a crash");
        }
        if stop {
            return;
        }
    }
}

async fn save_retention(shared: &Arc<Shared>) -> anyhow::Result<()> {
    let _serial = shared.save_lock.lock().await;
    if !shared.dirty.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    let (shared2, dir) = (shared.clone(), shared.state_dir.clone());
    let result = tokio::task::spawn_blocking(move || {
        // Encoded under the table's lock and streamed to the file as it is encoded: neither a copy of the state
        // nor its encoding is held in memory. Only the fsync and rename happen after the lock is released.
        let mut w = retention::RetentionWriter::create(&dir)?;
        let written = lock(&shared2).write_retained(now_ms(), w.payload());
        written.map_err(|e| anyhow::anyhow!("encode retention: {e}"))?;
        w.commit()?;
        // The snapshots the ship loop takes leave short-lived allocations; glibc would keep their pages.
        // Returning them keeps RSS near the live state (a few ms of CPU per interval).
        // SAFETY: malloc_trim has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            shared.dirty.store(true, Ordering::Release);
            Err(e)
        }
        Err(e) => {
            shared.dirty.store(true, Ordering::Release);
            Err(anyhow::anyhow!("retention writer task failed: {e}"))
        }
    }
}
