//! The single writer thread and its group commit.
//!
//! Every change to the store's frame-derived state goes through this thread. It takes the first queued job,
//! then everything else already queued (up to [`MAX_BATCH`]), applies each in its own savepoint inside one
//! `BEGIN IMMEDIATE` transaction, commits once (one fsync for the whole batch), and only then answers every job.
//! While it commits, new jobs queue up, so batches grow with load: that is what makes durable applies fast.
//!
//! Shutdown: [`WriterHandle::shutdown`] closes the queue; the thread drains what is queued, commits, and exits.

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::apply::{self, ApplyError, BatchCtx, FrameMeta, FrameOutcome};
use super::snapshot::Prepared;
use super::{Change, StoreOptions, now_ms};

/// Most jobs in one transaction; bounds the latency a single batch adds.
pub const MAX_BATCH: usize = 512;
/// Queue depth before senders wait (backpressure to the HTTP handlers).
const QUEUE_DEPTH: usize = 4096;
/// Batches of garbage queued for the reaper thread; beyond this the writer frees inline (bounds memory).
const REAPER_DEPTH: usize = 4;

enum Job {
    Frame {
        frame: Box<outpost_format::Frame>,
        prepared: Option<Prepared>,
        meta: FrameMeta,
        reply: oneshot::Sender<Result<FrameOutcome, ApplyError>>,
    },
    Release {
        location: String,
        reply: oneshot::Sender<Result<bool, ApplyError>>,
    },
    Maintain {
        reply: oneshot::Sender<Result<(), ApplyError>>,
    },
    /// An event the NOC raises itself (epoch 0, seq 0); answers with its event id.
    Raise {
        location: String,
        lifecycle: outpost_format::event::Lifecycle,
        reply: oneshot::Sender<Result<i64, ApplyError>>,
    },
}

pub struct WriterHandle {
    /// `None` after shutdown; std Mutex: only held to clone the sender.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    pub fn spawn(conn: Connection, opts: StoreOptions, changes: broadcast::Sender<Change>) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        // The reaper frees what the writer is done with; it ends when the writer drops its sender.
        let (garbage, reaper_rx) = std::sync::mpsc::sync_channel::<Vec<Box<dyn Send>>>(REAPER_DEPTH);
        std::thread::Builder::new().name("store-reaper".into()).spawn(move || {
            while let Ok(batch) = reaper_rx.recv() {
                drop(batch);
            }
        })?;
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, opts, changes, rx, garbage))?;
        Ok(WriterHandle { queue: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)) })
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, ApplyError> {
        self.queue
            .lock()
            .expect("writer queue lock poisoned")
            .clone()
            .ok_or_else(|| ApplyError::Unavailable("the NOC is shutting down".into()))
    }

    async fn call<T>(&self, job: impl FnOnce(oneshot::Sender<Result<T, ApplyError>>) -> Job) -> Result<T, ApplyError> {
        let (reply, rx) = oneshot::channel();
        self.sender()?
            .send(job(reply))
            .await
            .map_err(|_| ApplyError::Unavailable("the store writer has stopped".into()))?;
        rx.await.map_err(|_| ApplyError::Unavailable("the store writer has stopped".into()))?
    }

    pub async fn apply_frame(
        &self,
        frame: outpost_format::Frame,
        prepared: Option<Prepared>,
        meta: FrameMeta,
    ) -> Result<FrameOutcome, ApplyError> {
        self.call(|reply| Job::Frame { frame: Box::new(frame), prepared, meta, reply }).await
    }

    pub async fn release(&self, location: String) -> Result<bool, ApplyError> {
        self.call(|reply| Job::Release { location, reply }).await
    }

    pub async fn maintain(&self) -> Result<(), ApplyError> {
        self.call(|reply| Job::Maintain { reply }).await
    }

    pub async fn raise(
        &self,
        location: String,
        lifecycle: outpost_format::event::Lifecycle,
    ) -> Result<i64, ApplyError> {
        self.call(|reply| Job::Raise { location, lifecycle, reply }).await
    }

    /// Closes the queue and waits until the thread has committed everything queued before.
    pub fn shutdown(&self) {
        self.queue.lock().expect("writer queue lock poisoned").take();
        let thread = self.thread.lock().expect("writer thread lock poisoned").take();
        if let Some(t) = thread {
            // Senders still in flight keep the channel open until they finish; the thread ends after them.
            if t.join().is_err() {
                tracing::error!("store writer thread panicked");
            }
        }
    }
}

enum Reply {
    Frame(oneshot::Sender<Result<FrameOutcome, ApplyError>>, Result<FrameOutcome, ApplyError>),
    Release(oneshot::Sender<Result<bool, ApplyError>>, Result<bool, ApplyError>),
    Maintain(oneshot::Sender<Result<(), ApplyError>>, Result<(), ApplyError>),
    Raise(oneshot::Sender<Result<i64, ApplyError>>, Result<i64, ApplyError>),
}

impl Reply {
    fn fail(self, why: &str) {
        let e = || ApplyError::Unavailable(why.to_string());
        // A dropped receiver means the request went away; the result (a rollback) is the same either way.
        let _ = match self {
            Reply::Frame(r, _) => r.send(Err(e())).map_err(drop),
            Reply::Release(r, _) => r.send(Err(e())).map_err(drop),
            Reply::Maintain(r, _) => r.send(Err(e())).map_err(drop),
            Reply::Raise(r, _) => r.send(Err(e())).map_err(drop),
        };
    }
    fn send(self) {
        let _ = match self {
            Reply::Frame(r, v) => r.send(v).map_err(drop),
            Reply::Release(r, v) => r.send(v).map_err(drop),
            Reply::Maintain(r, v) => r.send(v).map_err(drop),
            Reply::Raise(r, v) => r.send(v).map_err(drop),
        };
    }
}

fn run(
    mut conn: Connection,
    opts: StoreOptions,
    changes: broadcast::Sender<Change>,
    mut rx: mpsc::Receiver<Job>,
    garbage: std::sync::mpsc::SyncSender<Vec<Box<dyn Send>>>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let trash = run_batch(&mut conn, &opts, &changes, jobs);
        if let Err(std::sync::mpsc::TrySendError::Full(trash) | std::sync::mpsc::TrySendError::Disconnected(trash)) =
            garbage.try_send(trash)
        {
            drop(trash);
        }
    }
    tracing::debug!("store writer stopped");
}

fn run_batch(
    conn: &mut Connection,
    opts: &StoreOptions,
    changes: &broadcast::Sender<Change>,
    jobs: Vec<Job>,
) -> Vec<Box<dyn Send>> {
    let started = Instant::now();
    let n_jobs = jobs.len();
    let mut ctx = BatchCtx { now: now_ms(), ..Default::default() };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "store: cannot begin transaction");
            for job in jobs {
                reply_of(job).fail("store busy: cannot begin a transaction");
            }
            return Vec::new();
        }
    };
    let mut replies = Vec::with_capacity(n_jobs);
    let mut frames = 0u64;
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        if let Err(e) = tx.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "store: savepoint failed");
            reply_of(job).fail("store error");
            continue;
        }
        let reply = match job {
            Job::Frame { frame, prepared, meta, reply } => {
                frames += 1;
                Reply::Frame(reply, apply::apply_frame(&tx, &mut ctx, opts, *frame, prepared, &meta))
            }
            Job::Release { location, reply } => {
                Reply::Release(reply, super::snapshot::release_held(&tx, &mut ctx, opts, &location))
            }
            Job::Maintain { reply } => Reply::Maintain(reply, apply::maintain(&tx, &mut ctx, opts)),
            Job::Raise { location, lifecycle, reply } => {
                let event = outpost_format::Event {
                    seq: 0,
                    time: ctx.now,
                    kind: outpost_format::EventKind::Lifecycle(lifecycle),
                };
                let now = ctx.now;
                Reply::Raise(reply, apply::insert_event(&tx, &mut ctx, &location, 0, &event, now, None, None))
            }
        };
        let ok = match &reply {
            Reply::Frame(_, r) => r.is_ok(),
            Reply::Release(_, r) => r.is_ok(),
            Reply::Maintain(_, r) => r.is_ok(),
            Reply::Raise(_, r) => r.is_ok(),
        };
        let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if tx.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error): every job of this batch so far is
            // undone, and a further SAVEPOINT would open a new transaction that its RELEASE commits behind our
            // back. Fail the whole batch; satellites resend and the next batch begins afresh.
            tracing::error!(
                "store: the transaction was rolled back by SQLite (disk full or I/O error?); nothing in this batch was applied"
            );
            metrics::counter!("outpost_noc_store_batches_rolled_back_total").increment(1);
            replies.push(reply);
            let why = "store error: the transaction was rolled back (disk full or I/O error); retry";
            replies.into_iter().for_each(|r| r.fail(why));
            jobs.for_each(|j| reply_of(j).fail(why));
            return ctx.garbage;
        }
        if let Err(e) = tx.execute_batch(end) {
            tracing::error!(error = %e, "store: savepoint end failed");
        }
        replies.push(reply);
    }
    if let Err(e) = tx.commit() {
        tracing::error!(error = %e, "store: commit failed; nothing in this batch was applied");
        for r in replies {
            r.fail("store commit failed; retry");
        }
        return ctx.garbage;
    }
    // Durable now: answer, then tell live views.
    for r in replies {
        r.send();
    }
    let elapsed = started.elapsed();
    metrics::histogram!("outpost_noc_apply_batch_seconds").record(elapsed.as_secs_f64());
    metrics::counter!("outpost_noc_frames_committed_total").increment(frames);
    metrics::counter!("outpost_noc_object_updates_total").increment(ctx.object_ops);
    if let Some(last_id) = ctx.last_event_id {
        // No subscribers is fine: the log is the source of truth.
        let _ = changes.send(Change::Events { last_id });
    }
    if !ctx.changed_locations.is_empty() {
        let _ = changes.send(Change::Objects { locations: ctx.changed_locations.into_iter().collect() });
    }
    ctx.garbage
}

fn reply_of(job: Job) -> Reply {
    match job {
        Job::Frame { reply, .. } => Reply::Frame(reply, Err(ApplyError::Unavailable(String::new()))),
        Job::Release { reply, .. } => Reply::Release(reply, Err(ApplyError::Unavailable(String::new()))),
        Job::Maintain { reply } => Reply::Maintain(reply, Err(ApplyError::Unavailable(String::new()))),
        Job::Raise { reply, .. } => Reply::Raise(reply, Err(ApplyError::Unavailable(String::new()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_format::event::Lifecycle;

    fn raise(location: &str) -> (Job, oneshot::Receiver<Result<i64, ApplyError>>) {
        let (reply, rx) = oneshot::channel();
        let lifecycle = Lifecycle::ConfigChanged { added: 1, changed: 0, removed: 0 };
        (Job::Raise { location: location.into(), lifecycle, reply }, rx)
    }

    fn events(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).expect("count events")
    }

    /// A full disk (here: SQLite's page limit) fails the batch cleanly, and the writer applies again, exactly
    /// once, as soon as there is room.
    #[test]
    fn a_full_store_fails_the_batch_and_the_next_batch_applies_once_there_is_room() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = super::super::open_connection(&dir.path().join("noc.db"), 1024).expect("open");
        super::super::schema::migrate(&mut conn).expect("migrate");
        let (changes, _) = broadcast::channel(16);
        let opts = StoreOptions::default();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).expect("page_count");
        conn.execute_batch(&format!("PRAGMA max_page_count = {pages}")).expect("cap");

        // Enough events to need new pages: the store is "full".
        let (jobs, replies): (Vec<_>, Vec<_>) = (0..200).map(|_| raise("FRA1")).unzip();
        run_batch(&mut conn, &opts, &changes, jobs);
        let answers: Vec<_> = replies.into_iter().map(|mut r| r.try_recv().expect("answered")).collect();
        assert!(answers.iter().any(|a| a.is_err()), "a full store must refuse some of the batch");
        assert!(conn.is_autocommit(), "no transaction may be left open");
        let applied = events(&conn);
        let acked = answers.iter().filter(|a| a.is_ok()).count() as i64;
        assert_eq!(applied, acked, "exactly the acknowledged jobs are in the store");

        // Room again: the next batch applies in full.
        conn.execute_batch("PRAGMA max_page_count = 1073741823").expect("uncap");
        let (jobs, replies): (Vec<_>, Vec<_>) = (0..200).map(|_| raise("FRA1")).unzip();
        run_batch(&mut conn, &opts, &changes, jobs);
        for mut r in replies {
            assert!(r.try_recv().expect("answered").is_ok());
        }
        assert_eq!(events(&conn), applied + 200);
    }
}
