//! The durable spool: every event and snapshot waits here until the NOC has acknowledged it.
//!
//! # On-disk layout
//!
//! ```text
//! <state_dir>/spool/
//!   ledger                      epoch, seq offset, acked positions, counters (ledger.rs); replaced atomically
//!   segments/<seq:020>.seg      the event log, split into segments named by their first spool seq (segment.rs)
//!   snapshot.pending            the newest snapshot not yet sent (snapshots.rs)
//!   snapshot.inflight           the exact frame being sent until the NOC acknowledges it
//!   snapshot.base               the last snapshot the NOC acknowledged: the base for the next delta
//!   quarantine/<segment>.<ms>   bytes cut out of a damaged segment, kept for a human to look at
//!   lock                        flock(2) held by whoever has the spool open (daemon or `satellite ship`)
//! ```
//!
//! A record is `len | crc32c | MessagePack(Event)` (record.rs).
//! Spool seqs count up forever; the seq on the wire is `spool seq - ledger.seq_offset`.
//!
//! # Invariants
//!
//! - An append returns only after the bytes are fsynced (one fsync per batch: group commit, `writer.rs`).
//! - A segment is deleted only when the NOC's acknowledgement covers its last record,
//!   or when the byte/age budget forces a drop (counted, reported, and a new epoch begun).
//! - A written record changes only when the byte budget strips its perfdata (counted and reported);
//!   its seq, time and everything else stay.
//! - Spool seqs in the log are consecutive with no holes: a damaged range is replaced by
//!   `SpoolCorruption` placeholder events with the same seqs, so the NOC never sees a gap it cannot explain.
//! - After a crash, a torn tail (file ends inside a record) is truncated at the last whole record.
//!   A record that is whole but fails its checksum is corruption, never silently skipped.
//! - All unacknowledged events belong to the current epoch: a drop renumbers the survivors
//!   by moving `seq_offset` and choosing a new random epoch, so the NOC restarts both streams cleanly
//!   instead of waiting for seqs that no longer exist.
//!
//! # Budgets
//!
//! Over `max_bytes`, in this order: the pending snapshot goes (a newer one supersedes it anyway); then the
//! perfdata of queued events, oldest segment first, the events kept (`strip.rs`, a crash-safe rewrite that keeps
//! every seq); then the oldest segments, whole. A sealed segment whose newest event is older than `max_age`
//! is dropped too. Each pass that gave way appends a `Lifecycle::SpoolOverflow` event with its counts, so the
//! NOC learns what it will never see. A drop that discards earlier reports before they were acknowledged adds
//! their counts to its own (`Ledger::unacked_overflow`), so the reports that reach the NOC always add up to
//! everything dropped and stripped. Events are dropped at segment granularity: set `segment_bytes` well below
//! `max_bytes`.

#[cfg(test)]
mod ack_tests;
mod ledger;
#[cfg(test)]
mod overflow_tests;
mod record;
mod segment;
mod snapshots;
mod strip;
mod writer;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use outpost_format::event::Lifecycle;
use outpost_format::{Event, EventKind, UnixMillis};
use tokio::sync::Notify;

pub use ledger::Ledger;
pub use snapshots::{SnapshotFrame, SnapshotSlots};
pub use writer::{WriterHandle, spawn_writer};

use segment::{Problem, SEGMENT_HEADER_LEN};

/// Default byte budget: 256 MiB holds hours of events at a busy site.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;
/// Default segment size; the budget is enforced in whole segments.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 << 20;
/// A hole in the log larger than this is not damage to one segment (that holds at most a few hundred thousand
/// records); refuse to paper over it with placeholders.
const MAX_PLACEHOLDERS: u64 = 1 << 20;
/// Longest an acknowledgement should live only in memory before the ledger is rewritten
/// (by whoever calls [`Spool::flush_if_lagging`]: the sender, on a timer).
pub const LEDGER_LAG: Duration = Duration::from_millis(200);
/// Default age budget: a week.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct SpoolConfig {
    pub max_bytes: u64,
    pub max_age: Option<Duration>,
    pub segment_bytes: u64,
    /// Off only in tests and benchmarks that say so (`--no-fsync`).
    pub fsync: bool,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: DEFAULT_MAX_BYTES,
            max_age: Some(DEFAULT_MAX_AGE),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            fsync: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The disk refused a read or write. Usually not recoverable without an operator (disk full, read-only).
    #[error("spool I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Another process (the daemon, or `satellite ship`) has the spool open.
    #[error("the spool at {0} is in use by another satellite process (daemon or ship); stop it or wait for it")]
    Locked(PathBuf),
    /// The ledger exists but cannot be read. Move it aside to start a new epoch.
    #[error("spool ledger: {0}")]
    Ledger(String),
    /// An event could not be encoded (should not happen for events this build produced).
    #[error("spool record: {0}")]
    Encode(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io { path: path.to_path_buf(), source }
}

/// Something `open` found and repaired; the caller logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    TornTailTruncated { segment: String, cut_bytes: u64 },
    SegmentQuarantined { segment: String, lost_bytes: u64, placeholder_events: u64, reason: String },
    LedgerRebuilt { reason: String },
}

/// Consecutive events read for sending, already numbered for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub epoch: u64,
    /// Events with wire seqs.
    pub events: Vec<Event>,
    /// The spool seq to ask for next.
    pub next_spool_seq: u64,
}

/// What `satellite status` and the backlog header show.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct SpoolStats {
    pub epoch: u64,
    pub pending_events: u64,
    pub pending_snapshots: u64,
    pub bytes: u64,
    pub oldest_ms: Option<UnixMillis>,
    pub last_delivery_ms: Option<UnixMillis>,
    pub acked_seq: u64,
    pub next_seq: u64,
    pub dropped_events: u64,
    pub dropped_snapshots: u64,
    pub perfdata_stripped: u64,
    pub quarantined_segments: u64,
}

pub struct Spool {
    dir: PathBuf,
    cfg: SpoolConfig,
    inner: Mutex<Inner>,
    /// Woken after every append, so the sender pushes at once.
    appended: Notify,
    /// Woken (all waiters) whenever the acknowledged position moves; see [`Spool::wait_acked`].
    acked: Notify,
    /// Serializes writes of the ledger file, so an older state written outside `inner` ([`Spool::flush`])
    /// never replaces a newer one. Lock order: `inner` first, then this; never `inner` while holding this.
    ledger_io: Mutex<()>,
    /// flock held for the spool's lifetime: one process at a time; released when the spool is dropped.
    _lock: nix::fcntl::Flock<File>,
}

struct SegMeta {
    path: PathBuf,
    next_seq: u64,
    len: u64,
    first_time: Option<i64>,
    /// Its perfdata has been stripped (or it had none) since the spool was opened: nothing more to gain.
    stripped: bool,
}

struct ReadCursor {
    first: u64,
    offset: u64,
    next_seq: u64,
}

struct Inner {
    ledger: Ledger,
    segments: BTreeMap<u64, SegMeta>,
    /// The newest segment, open for append; `None` until the next append creates one.
    active: Option<File>,
    next_seq: u64,
    cursor: Option<ReadCursor>,
    slots: SnapshotSlots,
    /// Segments dropped from `segments` whose files are unlinked only after the ledger that no longer
    /// needs them is durable (a crash in between must not leave the ledger pointing into a deleted file).
    doomed: Vec<PathBuf>,
    /// The in-memory ledger is ahead of the file (acks only; re-sending them after a crash is harmless).
    dirty: bool,
    last_store: Instant,
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Best effort: an acknowledgement not yet in the ledger only costs a duplicate the NOC drops.
        let _ = self.flush();
    }
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, repairing torn tails and quarantining damage.
    pub fn open(dir: &Path, cfg: SpoolConfig) -> Result<(Spool, Vec<Recovery>), SpoolError> {
        let seg_dir = dir.join("segments");
        fs::create_dir_all(&seg_dir).map_err(io_err(&seg_dir))?;
        fs::create_dir_all(dir.join("quarantine")).map_err(io_err(dir))?;
        let lock = lock_dir(dir)?;
        strip::remove_leftovers(&seg_dir).map_err(io_err(&seg_dir))?;
        let mut recoveries = Vec::new();
        let ledger_path = dir.join("ledger");
        let listed = segment::list(&seg_dir).map_err(io_err(&seg_dir))?;
        let mut ledger = match Ledger::load(&ledger_path) {
            Ok(Some(l)) => l,
            Ok(None) if listed.is_empty() => Ledger::new(random_epoch()),
            Ok(None) | Err(_) => {
                let reason = match Ledger::load(&ledger_path) {
                    Err(e) => e,
                    _ => "ledger missing while segments exist".into(),
                };
                // Without a ledger nothing says what the NOC holds: start a new epoch at the oldest record,
                // so everything still spooled is sent again under it and the NOC restarts its streams.
                let mut l = Ledger::new(random_epoch());
                if let Some((first, _)) = listed.first() {
                    l.acked_seq = first.saturating_sub(1);
                    l.seq_offset = l.acked_seq;
                    l.next_seq = *first;
                }
                recoveries.push(Recovery::LedgerRebuilt { reason });
                l
            }
        };

        let mut segments = BTreeMap::new();
        let n = listed.len();
        for (i, (first, path)) in listed.iter().enumerate() {
            let scan = segment::scan(path, *first).map_err(io_err(path))?;
            let is_last = i + 1 == n;
            // Where the next segment says this one must end; for the last one, what the ledger has seen.
            let must_reach = match listed.get(i + 1) {
                Some((next_first, _)) => *next_first,
                None => scan.next_seq.max(ledger.next_seq),
            };
            let name = segment::file_name(*first);
            let mut meta = SegMeta {
                path: path.clone(),
                next_seq: scan.next_seq,
                len: scan.valid_len,
                first_time: scan.first_time,
                stripped: false,
            };
            match (&scan.problem, is_last) {
                (None, _) => {}
                (Some(Problem::Torn), true) => {
                    truncate(path, scan.valid_len.max(SEGMENT_HEADER_LEN), *first, cfg.fsync)?;
                    meta.len = scan.valid_len.max(SEGMENT_HEADER_LEN);
                    recoveries.push(Recovery::TornTailTruncated {
                        segment: name.clone(),
                        cut_bytes: scan.file_len - scan.valid_len,
                    });
                }
                (Some(problem), _) => {
                    let reason = match problem {
                        Problem::Torn => "torn record in a sealed segment".to_string(),
                        Problem::Corrupt(why) => why.clone(),
                    };
                    let lost = quarantine(dir, path, &scan, cfg.fsync)?;
                    meta.len = scan.valid_len.max(SEGMENT_HEADER_LEN);
                    ledger.quarantined_segments += 1;
                    recoveries.push(Recovery::SegmentQuarantined {
                        segment: name.clone(),
                        lost_bytes: lost,
                        placeholder_events: must_reach.saturating_sub(scan.next_seq),
                        reason,
                    });
                }
            }
            if must_reach.saturating_sub(meta.next_seq) > MAX_PLACEHOLDERS {
                return Err(SpoolError::Ledger(format!(
                    "segment {name} ends at seq {} but the next part of the log starts at {must_reach}: \
                     too large a hole to be damage; move the spool directory aside to start a new epoch",
                    meta.next_seq
                )));
            }
            if meta.next_seq < must_reach && must_reach > ledger.acked_seq + 1 {
                let lost = scan.file_len - scan.valid_len;
                fill_placeholders(&mut meta, must_reach, &name, lost, cfg.fsync)?;
            }
            segments.insert(*first, meta);
        }

        if let Some((&first, _)) = segments.iter().next()
            && first > ledger.acked_seq + 1
        {
            // Records the NOC never acknowledged are gone from the front of the log (deleted by hand?).
            // Nothing can resend them: start a new epoch at the oldest record still here, as for a lost ledger.
            recoveries.push(Recovery::LedgerRebuilt {
                reason: format!("spool seqs {}..{} are missing from the front of the log", ledger.acked_seq + 1, first),
            });
            ledger.epoch = random_epoch();
            ledger.acked_seq = first - 1;
            ledger.seq_offset = first - 1;
            ledger.snapshot_acked_seq = 0;
        }
        let next_seq = segments.values().next_back().map_or(ledger.next_seq, |m| m.next_seq).max(ledger.acked_seq + 1);
        ledger.next_seq = next_seq;
        let slots = SnapshotSlots::load(dir).map_err(SpoolError::Ledger)?;
        let inner = Inner {
            ledger,
            segments,
            active: None,
            next_seq,
            cursor: None,
            slots,
            doomed: Vec::new(),
            dirty: false,
            last_store: Instant::now(),
        };
        let spool = Spool {
            dir: dir.to_path_buf(),
            cfg,
            inner: Mutex::new(inner),
            appended: Notify::new(),
            acked: Notify::new(),
            ledger_io: Mutex::new(()),
            _lock: lock,
        };
        {
            let mut g = spool.lock();
            spool.reclaim(&mut g);
            spool.commit(&mut g)?;
        }
        Ok((spool, recoveries))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // std Mutex: never held across .await. A poisoned lock means a panic mid-write; the on-disk
        // state is still recoverable by reopening, so carry on with what is there.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until something is appended (or returns at once if something was since the last call).
    pub async fn wait_appended(&self) {
        self.appended.notified().await
    }

    /// Waits until the NOC's acknowledgement covers `spool_seq` (returns at once if it already does).
    /// For callers that must know an event is durably applied at the NOC (benchmarks, `satellite ship` progress).
    ///
    /// # Cancel safety
    /// Safe: it only observes.
    pub async fn wait_acked(&self, spool_seq: u64) {
        loop {
            let notified = self.acked.notified();
            tokio::pin!(notified);
            // Register before checking, so an ack between the check and the await is not missed.
            notified.as_mut().enable();
            if self.acked_spool_seq() >= spool_seq {
                return;
            }
            notified.await;
        }
    }

    /// Appends events, fsyncs once, and returns their wire seqs. Then applies the budgets.
    pub fn append(&self, events: &[(UnixMillis, EventKind)]) -> Result<Vec<u64>, SpoolError> {
        let mut g = self.lock();
        let seqs = self.append_locked(&mut g, events)?;
        // The events are durable; a failing budget pass must not make their producers think otherwise.
        if let Err(e) = self.enforce_budget(&mut g, now_ms()) {
            tracing::error!(error = %e, "spool budget enforcement failed; retrying at the next append");
        }
        drop(g);
        self.appended.notify_one();
        // A budget drop may have moved the acked position past events someone waits for.
        self.acked.notify_waiters();
        Ok(seqs)
    }

    fn append_locked(&self, g: &mut Inner, events: &[(UnixMillis, EventKind)]) -> Result<Vec<u64>, SpoolError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let need_roll = match g.segments.values().next_back() {
            Some(m) => g.active.is_none() || m.len >= self.cfg.segment_bytes || m.next_seq != g.next_seq,
            None => true,
        };
        if need_roll {
            self.roll(g)?;
        }
        let mut buf = Vec::with_capacity(events.len() * 256);
        let mut seqs = Vec::with_capacity(events.len());
        let mut first_time = None;
        for (i, (time, kind)) in events.iter().enumerate() {
            let seq = g.next_seq + i as u64;
            let ev = Event { seq, time: *time, kind: kind.clone() };
            buf.extend_from_slice(&record::encode(&ev).map_err(SpoolError::Encode)?);
            seqs.push(seq - g.ledger.seq_offset);
            first_time.get_or_insert(*time);
        }
        let (_, meta) = g.segments.iter_mut().next_back().expect("roll created a segment");
        let file = g.active.as_mut().expect("roll opened the active segment");
        let res = file.write_all(&buf).and_then(|()| if self.cfg.fsync { file.sync_data() } else { Ok(()) });
        if let Err(e) = res {
            // Cut back whatever part landed, so the log never holds an unacknowledged half-batch.
            let _ = file.set_len(meta.len);
            let _ = file.seek(SeekFrom::Start(meta.len));
            return Err(SpoolError::Io { path: meta.path.clone(), source: e });
        }
        meta.len += buf.len() as u64;
        meta.next_seq += events.len() as u64;
        meta.first_time = meta.first_time.or(first_time);
        g.next_seq += events.len() as u64;
        Ok(seqs)
    }

    /// Seals the active segment and starts a new one at `next_seq`.
    fn roll(&self, g: &mut Inner) -> Result<(), SpoolError> {
        let first = g.next_seq;
        let path = self.dir.join("segments").join(segment::file_name(first));
        if let Some(i) = g.doomed.iter().position(|p| *p == path) {
            // A freed segment that held no records (first == next_seq): its file can go now.
            let doomed = g.doomed.swap_remove(i);
            fs::remove_file(&doomed).map_err(io_err(&doomed))?;
        }
        if let Some(m) = g.segments.get(&first) {
            // An empty segment left from before (e.g. all its records were torn): reuse it.
            let file = OpenOptions::new().append(true).open(&m.path).map_err(io_err(&m.path))?;
            g.active = Some(file);
            return Ok(());
        }
        let mut file = OpenOptions::new().create_new(true).append(true).open(&path).map_err(io_err(&path))?;
        file.write_all(&segment::header(first)).map_err(io_err(&path))?;
        if self.cfg.fsync {
            file.sync_all().map_err(io_err(&path))?;
            crate::durable::sync_dir(&self.dir.join("segments")).map_err(io_err(&path))?;
        }
        g.segments.insert(
            first,
            SegMeta { path, next_seq: first, len: SEGMENT_HEADER_LEN, first_time: None, stripped: false },
        );
        g.active = Some(file);
        Ok(())
    }

    /// Reads up to `max_events` (and about `max_bytes`) consecutive unacknowledged events from `from`
    /// (a spool seq; anything at or below the acked position is skipped).
    pub fn read(&self, from: u64, max_events: usize, max_bytes: usize) -> Result<Batch, SpoolError> {
        let mut g = self.lock();
        let g = &mut *g;
        let from = from.max(g.ledger.acked_seq + 1);
        let mut batch = Batch { epoch: g.ledger.epoch, events: Vec::new(), next_spool_seq: from };
        if from >= g.next_seq {
            return Ok(batch);
        }
        let Some((&first, meta)) = g.segments.range(..=from).next_back() else {
            return Ok(batch);
        };
        if from >= meta.next_seq {
            return Ok(batch);
        }
        let (mut offset, mut seq) = match &g.cursor {
            Some(c) if c.first == first && c.next_seq <= from => (c.offset, c.next_seq),
            _ => (SEGMENT_HEADER_LEN, first),
        };
        let mut file = File::open(&meta.path).map_err(io_err(&meta.path))?;
        let mut bytes = 0usize;
        let mut chunk = max_bytes.clamp(64 << 10, 4 << 20);
        'outer: while seq < meta.next_seq && batch.events.len() < max_events && bytes < max_bytes {
            let want = chunk.min((meta.len - offset) as usize);
            let mut buf = vec![0u8; want];
            file.seek(SeekFrom::Start(offset)).map_err(io_err(&meta.path))?;
            file.read_exact(&mut buf).map_err(io_err(&meta.path))?;
            let mut pos = 0;
            loop {
                match record::decode(&buf[pos..]) {
                    record::Decoded::Record { mut event, len } => {
                        if event.seq != seq {
                            return Err(corrupt_read(&meta.path, &format!("seq {} where {seq} expected", event.seq)));
                        }
                        pos += len;
                        offset += len as u64;
                        seq += 1;
                        if event.seq >= from {
                            event.seq -= g.ledger.seq_offset;
                            bytes += len;
                            batch.events.push(event);
                            if batch.events.len() >= max_events || bytes >= max_bytes || seq >= meta.next_seq {
                                break 'outer;
                            }
                        }
                    }
                    record::Decoded::Short if pos > 0 => break,
                    record::Decoded::Short => {
                        // A single record larger than the chunk: read it whole next time round.
                        let need = buf
                            .get(..4)
                            .map(|b| record::RECORD_HEADER_LEN + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
                        match need {
                            Some(n) if n > buf.len() && (n as u64) <= meta.len - offset => {
                                chunk = n;
                                continue 'outer;
                            }
                            _ => return Err(corrupt_read(&meta.path, "record runs past the end of the segment")),
                        }
                    }
                    record::Decoded::Bad(why) => return Err(corrupt_read(&meta.path, &why)),
                }
                if seq >= meta.next_seq {
                    break;
                }
            }
        }
        batch.next_spool_seq = seq;
        g.cursor = Some(ReadCursor { first, offset, next_seq: seq });
        Ok(batch)
    }

    /// The spool seq for a wire seq of the current epoch.
    pub fn spool_seq(&self, wire_seq: u64) -> u64 {
        wire_seq + self.lock().ledger.seq_offset
    }

    /// Applies the NOC's acknowledgement of the events stream; frees fully covered segments.
    /// Returns whether the position moved. An ack for another epoch is ignored.
    pub fn ack_events(&self, epoch: u64, wire_seq: u64) -> Result<bool, SpoolError> {
        let mut g = self.lock();
        if epoch != g.ledger.epoch {
            return Ok(false);
        }
        let spool_seq = (wire_seq + g.ledger.seq_offset).min(g.next_seq - 1);
        if spool_seq <= g.ledger.acked_seq {
            return Ok(false);
        }
        g.ledger.acked_seq = spool_seq;
        g.ledger.last_delivery_ms = now_ms();
        self.reclaim(&mut g);
        g.dirty = true;
        // Persist at once when files are to be freed (the ledger must stop pointing at them first). Otherwise
        // the ledger is written later by `flush_if_lagging` (the sender runs it every LEDGER_LAG, off its
        // request path): a lost ack only means the NOC sees a duplicate after a crash, which it drops. Writing
        // it here put a temp-file fsync, a rename and a directory fsync (8 ms p50, 46 ms p99 on a busy disk)
        // into the delivery of every 20th event at 100 events/s.
        if !g.doomed.is_empty() {
            self.commit(&mut g)?;
        }
        drop(g);
        self.acked.notify_waiters();
        Ok(true)
    }

    /// Writes the ledger if it is behind, then unlinks the segments it no longer needs.
    ///
    /// When only acknowledgements are new (the common case), the file is written without holding the spool's
    /// lock, so appends (the event path) and reads (the sender) are not held up by its three fsyncs.
    pub fn flush(&self) -> Result<(), SpoolError> {
        let mut g = self.lock();
        if !g.doomed.is_empty() {
            return self.commit(&mut g);
        }
        if !g.dirty {
            return Ok(());
        }
        g.ledger.next_seq = g.next_seq;
        let snapshot = g.ledger.clone();
        g.dirty = false;
        g.last_store = Instant::now();
        // Taken before `inner` is released: a commit that starts after this point waits for this write,
        // then writes its newer state, so the file never goes backwards.
        let io = self.ledger_io.lock().unwrap_or_else(|p| p.into_inner());
        drop(g);
        let res = snapshot.store(&self.dir.join("ledger"), self.cfg.fsync).map_err(io_err(&self.dir));
        drop(io);
        if res.is_err() {
            self.lock().dirty = true;
        }
        res
    }

    /// [`Spool::flush`] if acknowledgements have waited in memory for [`LEDGER_LAG`] or longer.
    pub fn flush_if_lagging(&self) -> Result<(), SpoolError> {
        let lagging = {
            let g = self.lock();
            !g.doomed.is_empty() || (g.dirty && g.last_store.elapsed() >= LEDGER_LAG)
        };
        if lagging { self.flush() } else { Ok(()) }
    }

    /// Stores the ledger durably, then deletes the doomed segment files.
    fn commit(&self, g: &mut Inner) -> Result<(), SpoolError> {
        let _io = self.ledger_io.lock().unwrap_or_else(|p| p.into_inner());
        g.ledger.next_seq = g.next_seq;
        g.ledger.store(&self.dir.join("ledger"), self.cfg.fsync).map_err(io_err(&self.dir))?;
        g.dirty = false;
        g.last_store = Instant::now();
        for path in std::mem::take(&mut g.doomed) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot delete a freed spool segment"),
            }
        }
        Ok(())
    }

    /// Drops segments whose every record is acknowledged (files go at the next commit).
    fn reclaim(&self, g: &mut Inner) {
        let acked = g.ledger.acked_seq;
        let done: Vec<u64> = g.segments.iter().filter(|(_, m)| m.next_seq <= acked + 1).map(|(f, _)| *f).collect();
        for first in done {
            self.delete_segment(g, first);
        }
    }

    fn delete_segment(&self, g: &mut Inner, first: u64) {
        let is_last = g.segments.keys().next_back() == Some(&first);
        if let Some(m) = g.segments.remove(&first) {
            if is_last {
                g.active = None;
            }
            if g.cursor.as_ref().is_some_and(|c| c.first == first) {
                g.cursor = None;
            }
            g.doomed.push(m.path);
        }
    }

    /// Applies the byte and age budgets: pending snapshot first, then perfdata, then whole segments, oldest first.
    fn enforce_budget(&self, g: &mut Inner, now: UnixMillis) -> Result<(), SpoolError> {
        let mut dropped_events = 0u64;
        let mut dropped_snapshots = 0u64;
        let mut perfdata_stripped = 0u64;
        let mut dropped_bytes = 0u64;
        let mut first_dropped = None;
        let mut last_dropped = 0u64;
        let old_offset = g.ledger.seq_offset;
        let acked_before = g.ledger.acked_seq;
        loop {
            let total = g.segments.values().map(|m| m.len).sum::<u64>() + g.slots.bytes();
            let over_bytes = total > self.cfg.max_bytes;
            let too_old = self.cfg.max_age.is_some_and(|age| {
                let cutoff = now - age.as_millis() as i64;
                // A sealed segment's newest event is older than the next segment's first event.
                let mut it = g.segments.values();
                matches!((it.next(), it.next()), (Some(_), Some(next)) if next.first_time.is_some_and(|t| t < cutoff))
            });
            if !over_bytes && !too_old {
                break;
            }
            if over_bytes
                && let Some(freed) = g.slots.drop_pending(&self.dir, self.cfg.fsync).map_err(io_err(&self.dir))?
            {
                dropped_snapshots += 1;
                dropped_bytes += freed;
                continue;
            }
            if over_bytes && let Some((events, freed)) = self.strip_oldest(g)? {
                perfdata_stripped += events;
                dropped_bytes += freed;
                continue;
            }
            let Some((&first, meta)) = g.segments.iter().next() else { break };
            let lo = first.max(g.ledger.acked_seq + 1);
            let hi = meta.next_seq;
            if hi > lo {
                dropped_events += hi - lo;
                first_dropped.get_or_insert(lo);
                last_dropped = hi - 1;
                g.ledger.acked_seq = hi - 1;
            }
            dropped_bytes += meta.len;
            self.delete_segment(g, first);
        }
        if dropped_events == 0 && dropped_snapshots == 0 && perfdata_stripped == 0 {
            return Ok(());
        }
        if dropped_events > 0 {
            // The NOC would wait forever for the dropped seqs: begin a new epoch whose seq 1 is the next survivor.
            g.ledger.epoch = random_epoch();
            g.ledger.seq_offset = g.ledger.acked_seq;
            g.slots.reset_for_new_epoch(&self.dir, self.cfg.fsync).map_err(io_err(&self.dir))?;
            g.ledger.snapshot_acked_seq = 0;
            g.ledger.deltas_since_full = 0;
            g.cursor = None;
        }
        g.ledger.dropped_events += dropped_events;
        g.ledger.dropped_snapshots += dropped_snapshots;
        g.ledger.dropped_bytes += dropped_bytes;
        g.ledger.perfdata_stripped += perfdata_stripped;
        tracing::warn!(
            dropped_events,
            dropped_snapshots,
            perfdata_stripped,
            dropped_bytes,
            "spool over budget: gave way, oldest first"
        );
        // Earlier reports this drop discarded before the NOC acknowledged them are carried forward: otherwise a
        // long outage (drop after drop) would tell the NOC only about the last drop.
        let acked_now = g.ledger.acked_seq;
        for prev in std::mem::take(&mut g.ledger.unacked_overflow) {
            if prev.spool_seq <= acked_before {
                continue; // delivered
            }
            if first_dropped.is_some() && prev.spool_seq <= acked_now {
                dropped_events += prev.dropped_events;
                dropped_snapshots += prev.dropped_snapshots;
                dropped_bytes += prev.dropped_bytes;
                perfdata_stripped += prev.perfdata_stripped;
            } else {
                g.ledger.unacked_overflow.push(prev);
            }
        }
        g.ledger.unacked_overflow.push(ledger::OverflowReport {
            spool_seq: g.next_seq,
            dropped_events,
            dropped_snapshots,
            dropped_bytes,
            perfdata_stripped,
        });
        let report = Lifecycle::SpoolOverflow {
            dropped_events,
            dropped_snapshots,
            dropped_bytes,
            first_dropped_seq: first_dropped.map_or(0, |s| s - old_offset),
            last_dropped_seq: if dropped_events > 0 { last_dropped - old_offset } else { 0 },
            perfdata_stripped,
        };
        self.append_locked(g, &[(now, EventKind::Lifecycle(report))])?;
        self.commit(g)
    }

    /// Strips the perfdata of the oldest segment that may still hold some. Returns the unacknowledged events
    /// stripped and the bytes freed, or `None` when no segment is left to strip.
    fn strip_oldest(&self, g: &mut Inner) -> Result<Option<(u64, u64)>, SpoolError> {
        let count_from = g.ledger.acked_seq + 1;
        loop {
            let Some((&first, meta)) = g.segments.iter_mut().find(|(_, m)| !m.stripped) else {
                return Ok(None);
            };
            meta.stripped = true;
            let done = match strip::strip_segment(&meta.path, first, meta.len, count_from, self.cfg.fsync) {
                Ok(None) => continue,
                Ok(Some(done)) => done,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    // Damage is for the next open to quarantine; here the segment simply gives nothing.
                    tracing::warn!(segment = %meta.path.display(), error = %e, "spool segment not stripped");
                    continue;
                }
                Err(e) => return Err(SpoolError::Io { path: meta.path.clone(), source: e }),
            };
            let freed = meta.len.saturating_sub(done.len);
            meta.len = done.len;
            // The open append handle and the read cursor point into the replaced file: let go of both.
            if g.segments.keys().next_back() == Some(&first) {
                g.active = None;
            }
            if g.cursor.as_ref().is_some_and(|c| c.first == first) {
                g.cursor = None;
            }
            return Ok(Some((done.events, freed)));
        }
    }

    /// Applies the budgets now (the daemon calls this periodically so the age budget acts when idle).
    pub fn enforce_budgets(&self) -> Result<(), SpoolError> {
        let mut g = self.lock();
        self.enforce_budget(&mut g, now_ms())
    }

    pub fn stats(&self) -> SpoolStats {
        let g = self.lock();
        let oldest_ms = g.segments.values().find_map(|m| m.first_time).filter(|_| g.next_seq > g.ledger.acked_seq + 1);
        SpoolStats {
            epoch: g.ledger.epoch,
            pending_events: g.next_seq - 1 - g.ledger.acked_seq,
            pending_snapshots: g.slots.pending_count(),
            bytes: g.segments.values().map(|m| m.len).sum::<u64>() + g.slots.bytes(),
            oldest_ms: oldest_ms.or(g.slots.oldest_ms()),
            last_delivery_ms: (g.ledger.last_delivery_ms > 0).then_some(g.ledger.last_delivery_ms),
            acked_seq: g.ledger.acked_seq - g.ledger.seq_offset,
            next_seq: g.next_seq - g.ledger.seq_offset,
            dropped_events: g.ledger.dropped_events,
            dropped_snapshots: g.ledger.dropped_snapshots,
            perfdata_stripped: g.ledger.perfdata_stripped,
            quarantined_segments: g.ledger.quarantined_segments,
        }
    }

    /// The next spool seq an append will get.
    pub fn next_spool_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// The acked position as a spool seq.
    pub fn acked_spool_seq(&self) -> u64 {
        self.lock().ledger.acked_seq
    }

    pub fn epoch(&self) -> u64 {
        self.lock().ledger.epoch
    }
}

fn corrupt_read(path: &Path, why: &str) -> SpoolError {
    SpoolError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("damaged record: {why}; restart the satellite to quarantine it"),
        ),
    }
}

fn truncate(path: &Path, len: u64, first: u64, fsync: bool) -> Result<(), SpoolError> {
    let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
    let on_disk = file.metadata().map_err(io_err(path))?.len();
    if on_disk < SEGMENT_HEADER_LEN {
        // Torn inside the header itself: rewrite it.
        file.set_len(0).map_err(io_err(path))?;
        (&file).write_all(&segment::header(first)).map_err(io_err(path))?;
    }
    file.set_len(len).map_err(io_err(path))?;
    if fsync {
        file.sync_all().map_err(io_err(path))?;
    }
    Ok(())
}

/// Copies the damaged tail of a segment into quarantine/ and cuts the segment at its valid prefix.
fn quarantine(dir: &Path, path: &Path, scan: &segment::SegmentScan, fsync: bool) -> Result<u64, SpoolError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let start = (scan.valid_len as usize).min(bytes.len());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("segment");
    let q = dir.join("quarantine").join(format!("{name}.{}", now_ms()));
    let mut f = File::create(&q).map_err(io_err(&q))?;
    f.write_all(&bytes[start..]).map_err(io_err(&q))?;
    if fsync {
        f.sync_all().map_err(io_err(&q))?;
    }
    truncate(path, scan.valid_len.max(SEGMENT_HEADER_LEN), scan.first_seq, fsync)?;
    Ok((bytes.len() - start) as u64)
}

/// Writes `SpoolCorruption` events for the seqs a damaged segment lost, keeping the log gap-free.
fn fill_placeholders(
    meta: &mut SegMeta,
    until: u64,
    name: &str,
    lost_bytes: u64,
    fsync: bool,
) -> Result<(), SpoolError> {
    let mut buf = Vec::new();
    let now = now_ms();
    for seq in meta.next_seq..until {
        let lost = if seq == meta.next_seq { lost_bytes } else { 0 };
        let kind = EventKind::Lifecycle(Lifecycle::SpoolCorruption { segment: name.to_string(), lost_bytes: lost });
        buf.extend_from_slice(&record::encode(&Event { seq, time: now, kind }).map_err(SpoolError::Encode)?);
    }
    let mut f = OpenOptions::new().append(true).open(&meta.path).map_err(io_err(&meta.path))?;
    f.write_all(&buf).map_err(io_err(&meta.path))?;
    if fsync {
        f.sync_all().map_err(io_err(&meta.path))?;
    }
    meta.len += buf.len() as u64;
    meta.next_seq = until;
    meta.first_time = meta.first_time.or(Some(now));
    Ok(())
}

fn lock_dir(dir: &Path) -> Result<nix::fcntl::Flock<File>, SpoolError> {
    let path = dir.join("lock");
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| SpoolError::Locked(dir.to_path_buf()))
}

fn random_epoch() -> u64 {
    // Never 0: the NOC reads 0 as "no epoch yet".
    rand::random::<u64>().max(1)
}

pub fn now_ms() -> UnixMillis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Writes a small status file atomically (no fsync: it is rewritten every few seconds and losing it is harmless).
pub fn write_status_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::durable::write_atomic(path, bytes, false)
}
