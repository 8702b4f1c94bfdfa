//! The NOC's embedded store: SQLite in WAL mode in the data directory, behind the small API of [`Store`].
//!
//! Owns: the schema ([`schema`]), the single writer thread that applies frames with group commit ([`writer`]),
//! and the read queries other parts of the NOC use (objects, events, locations, satellites, held snapshots,
//! sink cursors). It does not own HTTP, authentication policy or rate limits.
//!
//! Durability: every connection runs `journal_mode=WAL` and `synchronous=FULL`, so a transaction is on disk
//! when `COMMIT` returns; the writer acknowledges frames only after that. Group commit (many frames per
//! transaction) is what makes FULL affordable: one fsync covers a whole batch.
//!
//! Readers use a small pool of connections; WAL lets them read while the writer writes.
//! WAL checkpoints run on their own thread ([`checkpoint`]), never inside the writer's commits.
//! A networked store for multi-node NOCs would implement the same methods.

pub mod apply;
pub mod checkpoint;
mod codec;
pub mod queries;
pub mod schema;
pub mod snapshot;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use outpost_format::frame::Payload;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use tokio::sync::broadcast;

pub use apply::{ApplyError, FrameMeta, FrameOutcome};
pub use queries::{
    EventFilter, HeldRow, LocationRow, ObjectFilter, ObjectPage, ObjectRow, Problems, SatelliteRow, SatelliteStatus,
    SinkLag,
};

/// The `location` of events the NOC raises about itself rather than about a satellite (for example
/// `Lifecycle::NorthboundConfigRejected`). It cannot clash with a satellite: location IDs start with a letter or digit.
pub const NOC_LOCATION: &str = "_noc";

/// Capacity of the change broadcast: a slow subscriber that falls this far behind gets `Lagged` and
/// should re-read from the store (`events_after`) rather than expect every notification.
pub const CHANGE_CHANNEL_CAPACITY: usize = 4096;

/// SQLite page cache of the writer: the objects b-tree's upper levels and hot leaves stay in memory.
const WRITER_CACHE_KIB: i64 = 64 << 10;
/// Page cache of each reader and of the admin connection (up to 8 readers are pooled).
const READER_CACHE_KIB: i64 = 8 << 10;
/// Snapshot frames prepared at once (decode, delta, diff): one per core bounds both CPU and memory.
const MAX_CONCURRENT_PREPARES: usize = 2;

/// One row of the event log. `id` increases monotonically with commit order (never reused).
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub location: String,
    /// The satellite's epoch; 0 for events the NOC raises itself (silence, return).
    pub epoch: u64,
    pub seq: u64,
    /// When it happened, satellite clock, Unix ms.
    pub time: i64,
    /// When the NOC committed it, NOC clock, Unix ms.
    pub received_at: i64,
    pub kind: String,
    /// The prefixed object name the event is about, if any.
    pub object: Option<String>,
    pub state: Option<u8>,
    pub summary: String,
    /// `"future"` or `"past"` when the satellite's timestamp is implausible (see docs/protocol.md).
    pub time_flag: Option<String>,
    #[serde(skip)]
    pub event: outpost_format::Event,
}

/// What a commit changed, broadcast to live views and sinks after the transaction is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Events up to and including `last_id` are committed; read them with [`Store::events_after`].
    Events { last_id: i64 },
    /// Objects of these locations changed (created, updated, deleted, flagged stale).
    Objects { locations: Vec<String> },
}

/// Store tuning that comes from the NOC config.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub prefixer: outpost_format::naming::Prefixer,
    pub max_delete_share: f64,
    pub events_max_age: Duration,
    pub events_max_rows: u64,
    pub tombstone_grace: Duration,
    pub silent_factor: f64,
    pub default_ship_interval: Duration,
    pub clock_tolerance: Duration,
    pub far_past: Duration,
}

impl StoreOptions {
    pub fn from_config(c: &crate::config::Config) -> StoreOptions {
        StoreOptions {
            prefixer: c.prefixer.clone(),
            max_delete_share: c.max_delete_share,
            events_max_age: c.events_max_age,
            events_max_rows: c.events_max_rows,
            tombstone_grace: c.tombstone_grace,
            silent_factor: c.silent_factor,
            default_ship_interval: c.default_ship_interval,
            clock_tolerance: c.clock_tolerance,
            far_past: c.far_past,
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        use crate::config as c;
        StoreOptions {
            prefixer: Default::default(),
            max_delete_share: c::DEFAULT_MAX_DELETE_SHARE,
            events_max_age: Duration::from_secs(c::DEFAULT_EVENTS_MAX_AGE_DAYS * 86_400),
            events_max_rows: c::DEFAULT_EVENTS_MAX_ROWS,
            tombstone_grace: Duration::from_secs(c::DEFAULT_TOMBSTONE_GRACE_SECS),
            silent_factor: c::DEFAULT_SILENT_FACTOR,
            default_ship_interval: Duration::from_secs(c::DEFAULT_SHIP_INTERVAL_SECS),
            clock_tolerance: Duration::from_secs(c::DEFAULT_CLOCK_TOLERANCE_SECS),
            far_past: Duration::from_secs(c::DEFAULT_FAR_PAST_DAYS * 86_400),
        }
    }
}

/// Handle to the store. Cheap to clone; all clones share the writer thread and the reader pool.
///
/// Read methods are synchronous SQLite queries taking microseconds to milliseconds; from async code, call the
/// heavy ones (large pages) inside `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Idle read connections; a reader takes one and puts it back (std Mutex: never held across .await).
    readers: Mutex<Vec<Connection>>,
    /// Small operator writes (accept a satellite, set a sink cursor); SQLite serialises them with the writer.
    admin: Mutex<Connection>,
    /// `None` for a client store (CLI) that never applies frames.
    writer: Option<writer::WriterHandle>,
    /// Copies the WAL into the database beside the writer; `None` with the writer. Stopped at shutdown.
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    changes: broadcast::Sender<Change>,
    options: StoreOptions,
    /// Bounds concurrent snapshot preparation (see [`MAX_CONCURRENT_PREPARES`]).
    prepares: Arc<tokio::sync::Semaphore>,
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `path` and starts the writer thread.
    pub fn open(path: &Path, options: StoreOptions) -> anyhow::Result<Store> {
        Self::open_inner(path, options, true)
    }

    /// Opens the store without a writer thread, for the CLI beside a running daemon.
    /// Frame applies are refused; operator writes (accept, reject, release requests) work.
    pub fn open_client(path: &Path) -> anyhow::Result<Store> {
        Self::open_inner(path, StoreOptions::default(), false)
    }

    fn open_inner(path: &Path, options: StoreOptions, with_writer: bool) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create data directory {}", dir.display()))?;
        }
        let mut admin =
            open_connection(path, READER_CACHE_KIB).with_context(|| format!("open store {}", path.display()))?;
        schema::migrate(&mut admin).with_context(|| format!("migrate store {}", path.display()))?;
        let (changes, _) = broadcast::channel(CHANGE_CHANNEL_CAPACITY);
        let (writer, checkpointer) = if with_writer {
            let mut conn = open_connection(path, WRITER_CACHE_KIB)?;
            let wal = Arc::new(checkpoint::WalState::default());
            checkpoint::install_hook(&mut conn, wal.clone())?;
            let checkpointer = checkpoint::Checkpointer::spawn(open_connection(path, READER_CACHE_KIB)?, path, wal)?;
            let writer = writer::WriterHandle::spawn(conn, options.clone(), changes.clone())?;
            (Some(writer), Some(checkpointer))
        } else {
            (None, None)
        };
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                readers: Mutex::new(Vec::new()),
                admin: Mutex::new(admin),
                writer,
                checkpointer: Mutex::new(checkpointer),
                changes,
                options,
                prepares: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_PREPARES)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// Subscribes to commit notifications. See [`Change`] and [`CHANGE_CHANNEL_CAPACITY`].
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Applies one decoded frame exactly once and returns the acknowledgement to send, after the commit.
    ///
    /// # Cancel safety
    /// Dropping the future does not cancel the apply: the writer commits it anyway, and a retry is a duplicate.
    pub async fn apply_frame(&self, frame: outpost_format::Frame, meta: FrameMeta) -> Result<FrameOutcome, ApplyError> {
        let writer = self.inner.writer.as_ref().ok_or(ApplyError::Unavailable("store opened read-only".into()))?;
        // Heavy snapshot work runs here, on the blocking pool, so the writer thread only runs SQL.
        let (frame, prepared) = if matches!(frame.payload, Payload::Full(_) | Payload::Delta(_)) {
            let store = self.clone();
            let permit = self.inner.prepares.clone().acquire_owned().await;
            let job = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let prepared = store
                    .with_reader(|c| snapshot::prepare(c, &store.inner.options, &frame.location, &frame.payload))
                    .ok()
                    .and_then(Result::ok);
                (frame, prepared)
            });
            job.await.map_err(|_| ApplyError::Unavailable("snapshot preparation failed".into()))?
        } else {
            (frame, None)
        };
        writer.apply_frame(frame, prepared, meta).await
    }

    /// Releases the held snapshot of `location` now (daemon only); returns false when none is held.
    pub async fn release_held(&self, location: &str) -> Result<bool, ApplyError> {
        let writer = self.inner.writer.as_ref().ok_or(ApplyError::Unavailable("store opened read-only".into()))?;
        writer.release(location.to_string()).await
    }

    /// Runs housekeeping now: silence detection, retention, tombstone purge, release requests from the CLI.
    pub async fn maintain(&self) -> Result<(), ApplyError> {
        let writer = self.inner.writer.as_ref().ok_or(ApplyError::Unavailable("store opened read-only".into()))?;
        writer.maintain().await
    }

    /// Appends an event the NOC raises itself (epoch 0, seq 0, NOC clock) to the event log in the writer's
    /// transaction, so the API, the web UI and the sinks see it like any other event; returns its id once committed.
    /// `location` is a satellite's location, or [`NOC_LOCATION`] for events about the NOC itself.
    pub async fn raise_lifecycle(
        &self,
        location: &str,
        lifecycle: outpost_format::event::Lifecycle,
    ) -> Result<i64, ApplyError> {
        let writer = self.inner.writer.as_ref().ok_or(ApplyError::Unavailable("store opened read-only".into()))?;
        writer.raise(location.to_string(), lifecycle).await
    }

    /// Stops accepting new work, lets the writer finish what is queued, and waits for it.
    pub fn shutdown(&self) {
        if let Some(w) = &self.inner.writer {
            w.shutdown();
        }
        if let Some(mut c) = self.inner.checkpointer.lock().expect("checkpointer lock poisoned").take() {
            c.stop();
        }
    }

    /// Runs `f` on a pooled read connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        Ok(self.with_reader(f)??)
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> T) -> anyhow::Result<T> {
        let conn = self.inner.readers.lock().expect("reader pool lock poisoned").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.inner.path, READER_CACHE_KIB)?,
        };
        let result = f(&conn);
        let mut pool = self.inner.readers.lock().expect("reader pool lock poisoned");
        if pool.len() < 8 {
            pool.push(conn);
        }
        Ok(result)
    }

    /// Runs `f` on the operator-write connection.
    pub fn admin<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        let conn = self.inner.admin.lock().expect("admin connection lock poisoned");
        Ok(f(&conn)?)
    }

    // ---- the event log ----

    /// Events with `id > after_id`, oldest first, at most `limit`.
    pub fn events_after(&self, after_id: i64, limit: usize) -> anyhow::Result<Vec<StoredEvent>> {
        self.read(|c| queries::events_after(c, after_id, limit))
    }

    /// Filtered, paged events: newest first unless `after_id` is set (then oldest first).
    pub fn query_events(&self, filter: &EventFilter) -> anyhow::Result<Vec<StoredEvent>> {
        self.read(|c| queries::query_events(c, filter))
    }

    /// The highest committed event id (0 when the log is empty).
    pub fn last_event_id(&self) -> anyhow::Result<i64> {
        self.read(|c| c.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0)))
    }

    // ---- sink cursors ----

    /// The durable cursor of sink `name`: the last event id it has fully handled (0 if never set).
    pub fn sink_cursor(&self, name: &str) -> anyhow::Result<i64> {
        self.read(|c| queries::sink_cursor(c, name))
    }

    /// Durably records that sink `name` has handled every event up to `id`.
    pub fn set_sink_cursor(&self, name: &str, id: i64) -> anyhow::Result<()> {
        self.admin(|c| queries::set_sink_cursor(c, name, id))
    }

    /// How many events retention deleted before sink `name` handled them, not reported yet; marks them reported.
    pub fn take_sink_losses(&self, name: &str) -> anyhow::Result<u64> {
        // The read is the common case (nothing lost); only a loss needs the write connection.
        let (lost, reported) = self.sink_losses(name)?;
        if lost <= reported {
            return Ok(0);
        }
        self.admin(|c| queries::take_sink_losses(c, name))
    }

    /// How far a sink at `cursor` is behind the end of the log (a few index look-ups, whatever the lag).
    pub fn sink_lag(&self, cursor: i64) -> anyhow::Result<SinkLag> {
        self.read(|c| queries::sink_lag(c, cursor))
    }

    /// (lost, reported) for sink `name` since its cursor was created; see [`Store::take_sink_losses`].
    pub fn sink_losses(&self, name: &str) -> anyhow::Result<(u64, u64)> {
        self.read(|c| queries::sink_losses(c, name))
    }

    // ---- objects and locations ----

    /// Every live (not tombstoned) object, all locations, ordered by location then name.
    pub fn all_objects(&self) -> anyhow::Result<Vec<ObjectRow>> {
        self.read(|c| queries::objects_where(c, None))
    }

    /// Live objects of one location, ordered by name.
    pub fn location_objects(&self, location: &str) -> anyhow::Result<Vec<ObjectRow>> {
        self.read(|c| queries::objects_where(c, Some(location)))
    }

    /// Filtered, paged objects; problems sort worst first.
    pub fn query_objects(&self, filter: &ObjectFilter) -> anyhow::Result<ObjectPage> {
        self.read(|c| queries::query_objects(c, filter))
    }

    /// Every known location with its health summary.
    pub fn locations(&self, now_ms: i64) -> anyhow::Result<Vec<LocationRow>> {
        let opts = self.inner.options.clone();
        self.read(|c| queries::locations(c, now_ms, &opts))
    }

    /// The last applied snapshot of `location` (local names), if any.
    pub fn base_snapshot(&self, location: &str) -> anyhow::Result<Option<outpost_format::Snapshot>> {
        let blob: Option<Vec<u8>> = self.read(|c| {
            use rusqlite::OptionalExtension;
            c.query_row("SELECT snapshot FROM bases WHERE location = ?1", [location], |r| r.get(0)).optional()
        })?;
        blob.map(|b| codec::decode_snapshot(&b)).transpose()
    }

    // ---- satellites and held snapshots ----

    pub fn satellites(&self) -> anyhow::Result<Vec<SatelliteRow>> {
        self.read(queries::satellites)
    }

    /// Looks up a satellite key by its SHA-256; `None` when unknown.
    pub fn satellite_by_key(&self, key_sha256: &str) -> anyhow::Result<Option<SatelliteRow>> {
        self.read(|c| queries::satellite_by_key(c, key_sha256))
    }

    /// Records an enrollment request; returns the key's status afterwards.
    pub fn enroll(
        &self,
        key_sha256: &str,
        location: &str,
        hostname: &str,
        version: &str,
        now_ms: i64,
    ) -> anyhow::Result<SatelliteRow> {
        self.admin(|c| queries::enroll(c, key_sha256, location, hostname, version, now_ms))
    }

    /// Sets the status of every key of `location` that may move to `to` (see [`SatelliteStatus::may_become`]).
    /// Returns how many keys changed.
    pub fn set_satellite_status(&self, location: &str, to: SatelliteStatus, now_ms: i64) -> anyhow::Result<usize> {
        self.admin(|c| queries::set_satellite_status(c, location, to, now_ms))
    }

    pub fn held(&self) -> anyhow::Result<Vec<HeldRow>> {
        self.read(queries::held)
    }

    /// Marks the held snapshot of `location` for release by the running daemon (CLI path).
    pub fn request_release(&self, location: &str) -> anyhow::Result<bool> {
        self.admin(|c| {
            c.execute("UPDATE held SET release_requested = 1 WHERE location = ?1", [location]).map(|n| n > 0)
        })
    }

    /// Size of the database and its WAL in bytes.
    pub fn size_bytes(&self) -> u64 {
        let db = std::fs::metadata(&self.inner.path).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.inner.path.clone().into_os_string();
        wal.push("-wal");
        db + std::fs::metadata(PathBuf::from(wal)).map(|m| m.len()).unwrap_or(0)
    }
}

/// Opens a connection with the pragmas every connection needs.
fn open_connection(path: &Path, cache_kib: i64) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // WAL: readers never block the writer. FULL: a commit is durable when it returns (we ack after commit).
    // No automatic checkpoints: they would run inside commits; the checkpoint thread does them (checkpoint.rs).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 0;",
    )?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    Ok(conn)
}

/// The current time, Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
