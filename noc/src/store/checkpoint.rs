//! WAL checkpoints on their own thread, off the writer's commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: with one-event
//! commits that was every 70-120 commits, and its two fsyncs and page copy landed on the p99 of event latency.
//! Here every connection has `wal_autocheckpoint = 0`; the writer's WAL hook only records how many frames the
//! WAL holds after each commit ([`WalState`]), and the checkpointer thread copies them into the database with
//! its own connection. A `PASSIVE` checkpoint never blocks the writer, which keeps appending meanwhile.
//!
//! Bounds on the WAL:
//! - a checkpoint starts once the WAL holds [`CHECKPOINT_FRAMES`] frames (about 16 MiB), or [`CHECKPOINT_EVERY`]
//!   after the last one when anything was committed since; after a complete checkpoint the next commit starts
//!   the WAL over from its beginning, so the file stays near that size;
//! - a reader that holds an old snapshot stops a checkpoint short; when the WAL file has nonetheless grown past
//!   [`TRUNCATE_BYTES`], the checkpointer runs `TRUNCATE`, which waits for readers (up to the busy timeout,
//!   blocking new commits meanwhile) and cuts the file to zero;
//! - should this thread stall, the writer's hook checkpoints inline past [`BACKSTOP_FRAMES`], as SQLite would.
//!
//! Cost left on the commit path: the first commit after a complete checkpoint rewrites the WAL header and
//! fsyncs it once more (SQLite does so in `synchronous=FULL` to order the restart), about one commit in
//! `CHECKPOINT_FRAMES / frames per commit` (one in several hundred at one event per commit).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// Frames in the WAL that make a checkpoint due (4 KiB pages: about 16 MiB).
pub const CHECKPOINT_FRAMES: u64 = 4096;
/// A checkpoint also runs this long after the previous one when anything was committed since.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);
/// A WAL file larger than this is truncated (see the module docs).
pub const TRUNCATE_BYTES: u64 = 256 << 20;
/// The writer checkpoints inline once the WAL holds this many frames (256 MiB): only if this thread is stuck.
pub const BACKSTOP_FRAMES: u64 = 65_536;
/// How often the thread looks at [`WalState`].
const POLL: Duration = Duration::from_millis(50);
/// How soon a checkpoint that readers stopped short is tried again.
const RETRY_PARTIAL: Duration = Duration::from_secs(1);

/// What the writer's WAL hook reports, read by the checkpointer.
#[derive(Debug, Default)]
pub struct WalState {
    /// Frames in the WAL after the latest commit.
    frames: AtomicU64,
    /// Commits seen by the hook; tells the checkpointer whether anything is new.
    commits: AtomicU64,
}

/// Installs the hook on the writer's connection (replacing SQLite's automatic checkpoint there).
pub fn install_hook(conn: &mut Connection, state: Arc<WalState>) -> rusqlite::Result<()> {
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
        let frames = frames.max(0) as u64;
        state.frames.store(frames, Ordering::Relaxed);
        state.commits.fetch_add(1, Ordering::Release);
        metrics::gauge!("outpost_noc_wal_frames").set(frames as f64);
        if frames >= BACKSTOP_FRAMES {
            tracing::warn!(frames, "WAL checkpointer is behind; checkpointing inside the writer");
            // The commit has already succeeded; a failed checkpoint is retried at the next commit.
            if let Err(e) = wal.checkpoint() {
                tracing::warn!(error = %e, "inline WAL checkpoint failed");
            }
        }
        Ok(())
    }))
}

/// The checkpointer thread; dropping or [`Checkpointer::stop`] ends it.
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn spawn(conn: Connection, db_path: &Path, state: Arc<WalState>) -> std::io::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel();
        let wal_path = wal_path(db_path);
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || run(&conn, &wal_path, &state, &stopped))?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }

    /// Ends the thread and waits for it (a checkpoint in progress finishes first).
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("store checkpoint thread panicked");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn wal_path(db_path: &Path) -> PathBuf {
    let mut p = db_path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

fn run(conn: &Connection, wal_path: &Path, state: &WalState, stopped: &mpsc::Receiver<()>) {
    let mut seen_commits = 0u64;
    let mut last = Instant::now();
    let mut complete = true;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(POLL) {
        let commits = state.commits.load(Ordering::Acquire);
        let frames = state.frames.load(Ordering::Relaxed);
        let elapsed = last.elapsed();
        let due = if commits != seen_commits {
            frames >= CHECKPOINT_FRAMES || elapsed >= CHECKPOINT_EVERY || (!complete && elapsed >= RETRY_PARTIAL)
        } else {
            !complete && elapsed >= RETRY_PARTIAL
        };
        if !due {
            continue;
        }
        seen_commits = commits;
        last = Instant::now();
        complete = checkpoint(conn, wal_path).unwrap_or(false);
    }
    tracing::debug!("store checkpoint thread stopped");
}

/// Runs one checkpoint; returns whether it copied every frame of the WAL.
fn checkpoint(conn: &Connection, wal_path: &Path) -> rusqlite::Result<bool> {
    let wal_bytes = std::fs::metadata(wal_path).map_or(0, |m| m.len());
    let mode = if wal_bytes > TRUNCATE_BYTES { "TRUNCATE" } else { "PASSIVE" };
    let started = Instant::now();
    // Columns: busy (1 when readers or writers stopped it short), frames in the WAL, frames checkpointed.
    let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    metrics::histogram!("outpost_noc_wal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    let (busy, log, done) = match result {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("outpost_noc_wal_checkpoints_total", "mode" => mode, "result" => "error").increment(1);
            tracing::warn!(error = %e, mode, "WAL checkpoint failed; retrying");
            return Err(e);
        }
    };
    let complete = busy == 0 && done >= log;
    let result = if complete { "complete" } else { "partial" };
    metrics::counter!("outpost_noc_wal_checkpoints_total", "mode" => mode, "result" => result).increment(1);
    metrics::counter!("outpost_noc_wal_checkpointed_frames_total").increment(done.max(0) as u64);
    metrics::gauge!("outpost_noc_wal_bytes").set(std::fs::metadata(wal_path).map_or(0, |m| m.len()) as f64);
    if mode == "TRUNCATE" {
        tracing::info!(wal_bytes, complete, "WAL grew past its bound; truncated");
    }
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Connection {
        let c = Connection::open(path).expect("open");
        // NORMAL only to keep the test quick; the frames and checkpoints are the same as under FULL.
        c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;")
            .expect("pragmas");
        c
    }

    fn insert_rows(c: &mut Connection, n: usize) {
        let tx = c.transaction().expect("begin");
        for _ in 0..n {
            tx.execute("INSERT INTO t (v) VALUES (?1)", [&vec![7u8; 4000]]).expect("insert");
        }
        tx.commit().expect("commit");
    }

    #[test]
    fn the_wal_is_checkpointed_by_the_thread_and_restarts_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let mut writer = open(&path);
        writer.execute_batch("CREATE TABLE t (v BLOB)").expect("create");
        let state = Arc::new(WalState::default());
        install_hook(&mut writer, state.clone()).expect("hook");
        // Past CHECKPOINT_FRAMES (one 4 KiB page per row), in 50 commits.
        for _ in 0..50 {
            insert_rows(&mut writer, CHECKPOINT_FRAMES as usize / 40);
        }
        assert_eq!(state.commits.load(Ordering::Acquire), 50, "the hook sees every commit");
        let grown = state.frames.load(Ordering::Relaxed);
        assert!(grown >= CHECKPOINT_FRAMES, "the writer must not checkpoint by itself: {grown} frames");
        let mut ckpt = Checkpointer::spawn(open(&path), &path, state.clone()).expect("spawn");
        // Once the thread has copied the WAL, the writer's next commit starts it over from the beginning.
        let deadline = Instant::now() + Duration::from_secs(60);
        while state.frames.load(Ordering::Relaxed) >= grown {
            assert!(Instant::now() < deadline, "the WAL never restarted: no complete checkpoint");
            std::thread::sleep(Duration::from_millis(20));
            insert_rows(&mut writer, 1);
        }
        ckpt.stop();
        assert!(state.frames.load(Ordering::Relaxed) < 10, "the WAL restarts small after a complete checkpoint");
        let rows: i64 = open(&path).query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count");
        assert!(rows as u64 > CHECKPOINT_FRAMES, "nothing lost: {rows} rows");
    }
}
